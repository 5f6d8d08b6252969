//! Issue 15: `rich-init --systemd` boots an image's own systemd units and SysV scripts as
//! pid 1 of a runc container (Docker's default capabilities, no cgroup write access), and
//! answers `systemctl`, `service` and `journalctl` from inside it.
//!
//! Each scenario's CMD is a script that runs the operators' commands and prints what they
//! said as `key=value` lines; the assertions are on those, never on timing.

use crate::oci_rig::write_file as write;
use crate::runc::{Bundle, Container, Runtime, Spec};

/// A bundle whose rootfs has `systemctl`, `journalctl` and `service` as links to rich-init
/// in /usr/bin, and these unit files under /lib/systemd/system.
fn bundle_with(units: &[(&str, &str)], wanted: &[&str]) -> Bundle {
    let bundle = Bundle::new();
    let root = bundle.rootfs();
    std::fs::create_dir_all(root.join("usr/bin")).expect("usr/bin");
    for name in ["systemctl", "journalctl", "service"] {
        let at = root.join("usr/bin").join(name);
        let _ = std::fs::remove_file(&at);
        std::os::unix::fs::symlink("/sbin/rich-init", &at).expect("client link");
    }
    for (name, text) in units {
        write(&root.join("lib/systemd/system").join(name), text, 0o644);
    }
    let wants = root.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).expect("wants dir");
    for name in wanted {
        std::os::unix::fs::symlink(format!("/lib/systemd/system/{name}"), wants.join(name))
            .expect("wants link");
    }
    bundle
}

/// Run `--systemd -- /bin/sh -c SCRIPT` with Docker's capabilities to its end.
fn run_script(bundle: &Bundle, script: &str) -> crate::harness::Outcome {
    write(&bundle.rootfs().join("check.sh"), script, 0o755);
    let spec = Spec::new(&[
        "/sbin/rich-init",
        "--systemd",
        "-v",
        "--",
        "/bin/sh",
        "/check.sh",
    ])
    .env("PATH=/usr/bin:/sbin:/bin");
    bundle.write_config(&spec);
    bundle.edit_config(|c| {
        let caps: Vec<serde_json::Value> = crate::harness::DOCKER_CAPS
            .iter()
            .map(|c| (*c).into())
            .collect();
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = caps.clone().into();
        }
        c["process"]["capabilities"]["ambient"] = serde_json::Value::Array(Vec::new());
    });
    Container::run_bundle(Runtime::Runc, bundle).wait()
}

/// The value of `key=` in the script's output (the last one).
fn value<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("{key}=");
    out.lines()
        .rev()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
}

fn order(bundle: &Bundle) -> Vec<String> {
    std::fs::read_to_string(bundle.shared().join("order"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

const SIMPLE: &str = "[Unit]
Description=Hello simple service
After=base.service
[Service]
ExecStartPre=/bin/sh -c 'echo hello-pre >> /shared/order; echo hello-pre'
ExecStart=/bin/sh -c 'echo hello >> /shared/order; exec sleep 1000'
ExecStop=/bin/sh -c 'echo hello-stop $MAINPID >> /shared/order'
RuntimeDirectory=hello
[Install]
WantedBy=multi-user.target
";

const BASE: &str = "[Unit]
Description=Base oneshot
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo base >> /shared/order'
";

/// A vendor daemon: double-forks, writes a PID file, leaves a helper behind.
const FORKING: &str = "[Unit]
Description=Vendor forking daemon
After=hello.service
[Service]
Type=forking
PIDFile=/run/forky.pid
ExecStart=/bin/sh -c '(sleep 1001 & echo $! > /run/forky.pid; sleep 1002 &); echo forky >> /shared/order'
";

const SKIPPED: &str = "[Unit]
Description=Needs a file that is not there
ConditionPathExists=/etc/not-there
[Service]
ExecStart=/bin/sleep 1003
";

const DISABLED: &str = "[Unit]
Description=Installed but not enabled
[Service]
ExecStart=/bin/sleep 1004
[Install]
WantedBy=multi-user.target
";

const LEGACY: &str = r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          legacy
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Legacy vendor daemon
### END INIT INFO
case "$1" in
  start) echo legacy >> /shared/order; (sleep 1005 &) ;;
  stop) for p in $(ps | grep 'sleep 100[5]' | while read pid rest; do echo $pid; done); do kill $p; done; echo legacy-stop >> /shared/order ;;
  status) ps | grep -q 'sleep 100[5]' ;;
  *) echo "Usage: $0 {start|stop|status}"; exit 2 ;;
esac
"#;

fn boot_bundle() -> Bundle {
    let bundle = bundle_with(
        &[
            ("base.service", BASE),
            ("hello.service", SIMPLE),
            ("forky.service", FORKING),
            ("skipped.service", SKIPPED),
            ("disabled.service", DISABLED),
        ],
        &[
            "base.service",
            "hello.service",
            "forky.service",
            "skipped.service",
        ],
    );
    let root = bundle.rootfs();
    write(&root.join("etc/init.d/legacy"), LEGACY, 0o755);
    std::fs::create_dir_all(root.join("etc/rc2.d")).expect("rc2.d");
    std::os::unix::fs::symlink("../init.d/legacy", root.join("etc/rc2.d/S01legacy"))
        .expect("rc link");
    bundle
}

fn count(text: &str, what: &str) -> usize {
    text.lines().filter(|l| l.contains(what)).count()
}

#[test]
fn units_and_a_sysv_script_boot_in_order_and_systemctl_answers_for_them() {
    let bundle = boot_bundle();
    let script = r#"
systemctl is-system-running; echo "running_rc=$?"
echo "list=$(systemctl list-units --type=service --state=running --no-legend | tr -s ' ' | cut -d' ' -f2 | tr '\n' ,)"
systemctl is-active hello.service forky legacy >/dev/null; echo "is_active_rc=$?"
echo "skipped=$(systemctl is-active skipped.service)"
echo "show=$(systemctl show -p ActiveState,SubState,LoadState,UnitFileState,Type forky | tr '\n' ,)"
echo "mainpid=$(systemctl show -p MainPID --value forky)"
echo "pidfile=$(cat /run/forky.pid)"
systemctl status hello > /tmp/status; echo "status_rc=$?"
echo "status_head=$(head -1 /tmp/status)"
echo "status_loaded=$(grep 'Loaded:' /tmp/status)"
echo "status_active=$(grep 'Active:' /tmp/status | cut -d';' -f1)"
echo "status_log=$(grep -c 'Started Hello simple service' /tmp/status)"
echo "rundir=$(test -d /run/hello && echo yes)"
systemctl stop forky; echo "stop_rc=$?"
echo "forky_left=$(ps | grep -c 'sleep 100[12]')"
echo "forky_state=$(systemctl is-active forky)"
systemctl start forky; echo "start_rc=$?"
# The helper is forked in the background of the start command: give it time to exec.
i=0; while [ "$(ps | grep -c 'sleep 100[12]')" -lt 2 ] && [ $i -lt 200 ]; do i=$((i+1)); sleep 0.01; done
echo "forky_back=$(ps | grep -c 'sleep 100[12]')"
systemctl status nosuch.service >/dev/null 2>&1; echo "unknown_rc=$?"
systemctl start nosuch.service 2>/tmp/err; echo "start_unknown_rc=$?"; echo "start_unknown=$(cat /tmp/err)"
echo "disabled_before=$(systemctl is-active disabled)"
systemctl start disabled; echo "disabled_start_rc=$?"
echo "disabled_after=$(systemctl is-active disabled)"
echo "disabled_enabled=$(systemctl is-enabled disabled)"
service legacy status >/dev/null; echo "legacy_status_rc=$?"
echo "journal=$(journalctl -u hello --no-pager | grep -c hello-pre)"
echo "legacy_file=$(systemctl list-unit-files --no-legend legacy.service | tr -s ' ' | cut -d' ' -f2)"
"#;
    let out = run_script(&bundle, script);
    let text = out.stdout.clone();
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(value(&text, "running_rc"), Some("0"), "{out}");
    assert!(text.lines().any(|l| l == "running"), "{out}");
    let list = value(&text, "list").unwrap_or_default();
    for unit in ["hello.service", "forky.service", "legacy.service"] {
        assert!(
            list.contains(unit),
            "{unit} in list-units --state=running: {list}\n{out}"
        );
    }
    assert!(!list.contains("skipped.service"), "{out}");
    assert_eq!(value(&text, "is_active_rc"), Some("0"), "{out}");
    assert_eq!(value(&text, "skipped"), Some("inactive"), "{out}");
    let show = value(&text, "show").unwrap_or_default();
    for field in [
        "Type=forking",
        "LoadState=loaded",
        "ActiveState=active",
        "SubState=running",
        "UnitFileState=enabled",
    ] {
        assert!(show.contains(field), "{field} in show: {show}\n{out}");
    }
    assert_eq!(value(&text, "mainpid"), value(&text, "pidfile"), "{out}");
    assert_eq!(value(&text, "status_rc"), Some("0"), "{out}");
    assert_eq!(
        value(&text, "status_head"),
        Some("● hello.service - Hello simple service"),
        "{out}"
    );
    assert!(value(&text, "status_loaded")
        .unwrap_or_default()
        .contains("loaded (/lib/systemd/system/hello.service; enabled; preset: enabled)"));
    assert!(
        value(&text, "status_active")
            .unwrap_or_default()
            .trim()
            .starts_with("Active: active (running) since "),
        "{out}"
    );
    assert_eq!(value(&text, "status_log"), Some("1"), "{out}");
    assert_eq!(value(&text, "rundir"), Some("yes"), "{out}");
    // KillMode=control-group without a cgroup: the double-forked helper goes too.
    assert_eq!(value(&text, "stop_rc"), Some("0"), "{out}");
    assert_eq!(value(&text, "forky_left"), Some("0"), "{out}");
    assert_eq!(value(&text, "forky_state"), Some("inactive"), "{out}");
    assert_eq!(value(&text, "start_rc"), Some("0"), "{out}");
    assert_eq!(value(&text, "forky_back"), Some("2"), "{out}");
    assert_eq!(value(&text, "unknown_rc"), Some("4"), "{out}");
    assert_eq!(value(&text, "start_unknown_rc"), Some("5"), "{out}");
    assert_eq!(
        value(&text, "start_unknown"),
        Some("Failed to start nosuch.service: Unit nosuch.service not found."),
        "{out}"
    );
    assert_eq!(value(&text, "disabled_before"), Some("inactive"), "{out}");
    assert_eq!(value(&text, "disabled_start_rc"), Some("0"), "{out}");
    assert_eq!(value(&text, "disabled_after"), Some("active"), "{out}");
    assert_eq!(value(&text, "disabled_enabled"), Some("disabled"), "{out}");
    assert_eq!(value(&text, "legacy_status_rc"), Some("0"), "{out}");
    assert_eq!(value(&text, "journal"), Some("1"), "{out}");
    assert_eq!(value(&text, "legacy_file"), Some("generated"), "{out}");

    let order = order(&bundle);
    let at = |name: &str| {
        order
            .iter()
            .position(|l| l == name)
            .unwrap_or_else(|| panic!("{name} ran: {order:?}\n{out}"))
    };
    // After= orders the boot: base, then hello (ExecStartPre first), then forky.
    assert!(at("base") < at("hello-pre"), "{order:?}");
    assert!(at("hello-pre") < at("hello"), "{order:?}");
    assert!(at("hello") < at("forky"), "{order:?}");
    // The shutdown runs ExecStop= with $MAINPID and the SysV script's stop, in reverse.
    let stop = order
        .iter()
        .find(|l| l.starts_with("hello-stop "))
        .unwrap_or_else(|| panic!("hello's ExecStop ran: {order:?}"));
    assert!(stop.len() > "hello-stop ".len(), "$MAINPID given: {stop}");
    assert!(order.iter().any(|l| l == "legacy-stop"), "{order:?}");
    // What the init said, as systemd words it.
    for line in [
        "Started Hello simple service.",
        "Started LSB: Legacy vendor daemon.",
        "Needs a file that is not there was skipped because of an unmet condition check.",
        "hello.service: Deactivated successfully.",
        "Stopped Hello simple service.",
    ] {
        assert!(out.stderr.contains(line), "{line}\n{out}");
    }
    assert_eq!(
        count(&out.stderr, "Deactivated successfully"),
        count(&out.stderr, "Stopped "),
        "{out}"
    );
}

/// Restart=on-failure brings a crashed service back and counts it; Restart=always after a
/// SIGKILL too; a crash loop hits the start limit and fails for good until reset-failed.
#[test]
fn restart_policies_the_start_limit_and_reset_failed() {
    let bundle = bundle_with(
        &[
            (
                "crashy.service",
                "[Unit]\nDescription=Crashes once\n[Service]\nRestart=on-failure\nRestartSec=50ms\n\
                 ExecStart=/bin/sh -c 'if [ -e /tmp/crashed ]; then exec sleep 1010; fi; touch /tmp/crashed; exit 3'\n",
            ),
            (
                "always.service",
                "[Service]\nRestart=always\nRestartSec=50ms\nExecStart=/bin/sleep 1011\n",
            ),
            (
                "loop.service",
                "[Unit]\nStartLimitIntervalSec=10s\nStartLimitBurst=3\n[Service]\nRestart=always\n\
                 RestartSec=10ms\nExecStart=/bin/false\n",
            ),
        ],
        &["crashy.service", "always.service", "loop.service"],
    );
    let script = r#"
wait_for() { i=0; while [ "$(systemctl show -p $2 --value $1)" != "$3" ]; do i=$((i+1)); [ $i -gt 500 ] && break; sleep 0.02; done; }
wait_for crashy NRestarts 1
wait_for crashy ActiveState active
echo "crashy=$(systemctl is-active crashy) restarts=$(systemctl show -p NRestarts --value crashy)"
echo "crashy_exec=$(systemctl show -p ExecMainStatus --value crashy)"
old=$(systemctl show -p MainPID --value always)
kill -9 $old
wait_for always NRestarts 1
wait_for always ActiveState active
new=$(systemctl show -p MainPID --value always)
echo "always=$(systemctl is-active always) moved=$([ "$old" != "$new" ] && echo yes)"
wait_for loop ActiveState failed
echo "loop=$(systemctl is-active loop) result=$(systemctl show -p Result --value loop)"
systemctl is-failed loop >/dev/null; echo "is_failed_rc=$?"
systemctl is-system-running; echo "degraded_rc=$?"
systemctl reset-failed loop
echo "after_reset=$(systemctl is-active loop)"
"#;
    let out = run_script(&bundle, script);
    let text = &out.stdout;
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(
        text.contains("crashy=active restarts=1"),
        "on-failure restarted it once\n{out}"
    );
    assert!(text.contains("always=active moved=yes"), "{out}");
    assert!(
        text.contains("loop=failed result=start-limit-hit"),
        "the crash loop hit its start limit\n{out}"
    );
    assert_eq!(value(text, "is_failed_rc"), Some("0"), "{out}");
    assert!(text.lines().any(|l| l == "degraded"), "{out}");
    assert_eq!(value(text, "degraded_rc"), Some("1"), "{out}");
    assert_eq!(value(text, "after_reset"), Some("inactive"), "{out}");
    assert!(
        out.stderr
            .contains("loop.service: Start request repeated too quickly."),
        "{out}"
    );
}

/// KillMode=process leaves the rest of the unit running; a process that ignores SIGTERM
/// gets SIGKILL at TimeoutStopSec=; SendSIGKILL=no leaves it; ExecStop= runs first.
#[test]
fn kill_modes_and_stop_timeouts() {
    let stubborn = "trap '' TERM; echo stubborn-up >> /shared/order; while :; do sleep 1; done";
    let bundle = bundle_with(
        &[
            (
                "procmode.service",
                "[Service]\nKillMode=process\nExecStart=/bin/sh -c 'sleep 1020 & exec sleep 1021'\n",
            ),
            (
                "stubborn.service",
                &format!("[Service]\nTimeoutStopSec=300ms\nExecStart=/bin/sh -c \"{stubborn}\"\n"),
            ),
            (
                "mixed.service",
                "[Service]\nKillMode=mixed\nExecStop=/bin/sh -c 'echo mixed-stop >> /shared/order'\n\
                 ExecStart=/bin/sh -c 'sleep 1022 & exec sleep 1023'\n",
            ),
        ],
        &["procmode.service", "stubborn.service", "mixed.service"],
    );
    let script = r#"
# Each unit's background child has exec'd before anything is stopped.
for p in 'sleep 102[0]' 'sleep 102[2]'; do
    i=0; while ! ps | grep -q "$p" && [ $i -lt 300 ]; do i=$((i+1)); sleep 0.01; done
done
systemctl stop procmode
echo "procmode_left=$(ps | grep -c 'sleep 102[0]') main_left=$(ps | grep -c 'sleep 102[1]')"
systemctl stop stubborn
echo "stubborn=$(systemctl is-active stubborn) result=$(systemctl show -p Result --value stubborn)"
echo "stubborn_left=$(ps | grep -c 'while [:]')"
systemctl stop mixed
echo "mixed_left=$(ps | grep -c 'sleep 102[23]')"
"#;
    let out = run_script(&bundle, script);
    let text = &out.stdout;
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(text.contains("procmode_left=1 main_left=0"), "{out}");
    // systemd.kill(5): SIGKILL after TimeoutStopSec=; the run counts as failed (timeout).
    assert!(text.contains("stubborn=failed result=timeout"), "{out}");
    assert_eq!(value(text, "stubborn_left"), Some("0"), "{out}");
    assert_eq!(value(text, "mixed_left"), Some("0"), "{out}");
    assert!(order(&bundle).iter().any(|l| l == "mixed-stop"), "{out}");
}

/// User=/Group= from /etc/passwd and /etc/group, RuntimeDirectory= owned by them,
/// Environment=, EnvironmentFile= (with `-`), WorkingDirectory= and specifiers.
#[test]
fn identity_environment_and_directories() {
    let bundle = bundle_with(
        &[(
            "app@.service",
            "[Unit]\nDescription=App instance %i\n[Service]\nUser=app\nGroup=app\n\
             RuntimeDirectory=app-%i\nStateDirectory=app\nWorkingDirectory=/srv\n\
             Environment=GREETING=hello \"SPACED=a b\"\nEnvironmentFile=/etc/default/app\n\
             EnvironmentFile=-/etc/default/missing\n\
             ExecStart=/bin/sh -c 'echo \"$(id -u):$(id -g) $PWD $GREETING [$SPACED] $FROMFILE %n %i\" > /tmp/app-%i; exec sleep 1030'\n",
        )],
        &[],
    );
    let root = bundle.rootfs();
    let wants = root.join("etc/systemd/system/multi-user.target.wants");
    std::os::unix::fs::symlink(
        "/lib/systemd/system/app@.service",
        wants.join("app@one.service"),
    )
    .expect("instance link");
    write(
        &root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345:app:/srv:/bin/sh\n",
        0o644,
    );
    write(&root.join("etc/group"), "root:x:0:\napp:x:2345:\n", 0o644);
    write(
        &root.join("etc/default/app"),
        "# app\nFROMFILE='from file'\n",
        0o644,
    );
    std::fs::create_dir_all(root.join("srv")).expect("srv");
    let script = r#"
echo "owner=$(stat -c %u:%g /run/app-one) mode=$(stat -c %a /run/app-one)"
echo "state=$(stat -c %u /var/lib/app)"
echo "active=$(systemctl is-active app@one.service)"
i=0; while [ ! -s /tmp/app-one ] && [ $i -lt 300 ]; do i=$((i+1)); sleep 0.01; done
echo "said=$(cat /tmp/app-one)"
"#;
    let out = run_script(&bundle, script);
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(
        value(&out.stdout, "said"),
        Some("1234:2345 /srv hello [a b] from file app@one.service one"),
        "{out}"
    );
    assert!(out.stderr.contains("Started App instance one."), "{out}");
    assert_eq!(
        value(&out.stdout, "owner"),
        Some("1234:2345 mode=755"),
        "{out}"
    );
    assert_eq!(value(&out.stdout, "state"), Some("1234"), "{out}");
    assert_eq!(value(&out.stdout, "active"), Some("active"), "{out}");
}

/// `systemctl enable --now` links and starts; `daemon-reload` picks up an edited unit;
/// `disable --now` unlinks and stops; `mask` refuses a start.
#[test]
fn enable_daemon_reload_disable_and_mask() {
    let bundle = bundle_with(
        &[(
            "late.service",
            "[Service]\nExecStart=/bin/sleep 1040\n[Install]\nWantedBy=multi-user.target\n",
        )],
        &[],
    );
    let script = r#"
systemctl enable --now late.service 2>/tmp/enable; echo "enable_rc=$?"
echo "enable_msg=$(cat /tmp/enable)"
echo "link=$(readlink /etc/systemd/system/multi-user.target.wants/late.service)"
echo "late=$(systemctl is-active late) enabled=$(systemctl is-enabled late)"
sed -i 's/sleep 1040/sleep 1041/' /lib/systemd/system/late.service
systemctl daemon-reload; echo "reload_rc=$?"
systemctl restart late
echo "new_cmd=$(ps | grep -c 'sleep 104[1]')"
systemctl disable --now late 2>/dev/null; echo "disable_rc=$?"
echo "after_disable=$(systemctl is-active late) enabled=$(systemctl is-enabled late)"
systemctl mask late 2>/dev/null
systemctl start late 2>/tmp/masked; echo "masked_rc=$?"
echo "masked_msg=$(cat /tmp/masked)"
"#;
    let out = run_script(&bundle, script);
    let text = &out.stdout;
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(value(text, "enable_rc"), Some("0"), "{out}");
    assert_eq!(
        value(text, "enable_msg"),
        Some("Created symlink /etc/systemd/system/multi-user.target.wants/late.service → /lib/systemd/system/late.service."),
        "{out}"
    );
    assert_eq!(
        value(text, "link"),
        Some("/lib/systemd/system/late.service"),
        "{out}"
    );
    assert!(text.contains("late=active enabled=enabled"), "{out}");
    assert_eq!(value(text, "reload_rc"), Some("0"), "{out}");
    assert_eq!(value(text, "new_cmd"), Some("1"), "{out}");
    assert_eq!(value(text, "disable_rc"), Some("0"), "{out}");
    assert!(
        text.contains("after_disable=inactive enabled=disabled"),
        "{out}"
    );
    assert_ne!(value(text, "masked_rc"), Some("0"), "{out}");
    assert!(
        value(text, "masked_msg")
            .unwrap_or_default()
            .contains("masked"),
        "{out}"
    );
}

/// systemd.unit(5) between units on a job: a start pulls in Wants=, stops Conflicts=; a stop
/// or restart reaches the PartOf= units.
#[test]
fn wants_conflicts_and_part_of_follow_a_job() {
    let bundle = bundle_with(
        &[
            (
                "app.service",
                "[Unit]\nWants=helper.service\nConflicts=old.service\n[Service]\nExecStart=/bin/sleep 1050\n",
            ),
            ("helper.service", "[Service]\nExecStart=/bin/sleep 1051\n"),
            ("old.service", "[Service]\nExecStart=/bin/sleep 1052\n"),
            (
                "part.service",
                "[Unit]\nPartOf=app.service\n[Service]\nExecStart=/bin/sleep 1053\n",
            ),
        ],
        &["old.service", "part.service"],
    );
    let script = r#"
echo "before=$(systemctl is-active app helper old part | tr '\n' ,)"
systemctl start app
echo "started=$(systemctl is-active app helper old part | tr '\n' ,)"
systemctl stop app
echo "stopped=$(systemctl is-active app helper old part | tr '\n' ,)"
"#;
    let out = run_script(&bundle, script);
    let text = &out.stdout;
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(
        value(text, "before"),
        Some("inactive,inactive,active,active,"),
        "{out}"
    );
    assert_eq!(
        value(text, "started"),
        Some("active,active,inactive,active,"),
        "{out}"
    );
    assert_eq!(
        value(text, "stopped"),
        Some("inactive,active,inactive,inactive,"),
        "{out}"
    );
}
