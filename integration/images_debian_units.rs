//! Issue 15 on rich-debian: a legacy image boots from its packages' own systemd units (no
//! presets, no services.d), plus a vendor-style `Type=forking` service with a PID file and
//! a SysV-only script, both written here; under a private containerd, in a netns, without
//! privileges. Then a package installed into the running container with `dpkg -i`
//! (redis-server, fetched on the host with `apt-get download`) starts its service as on a
//! VM, through its maintainer scripts and our `systemctl`, and `dpkg -r` stops it.

use crate::containerd::Containerd;
use crate::ctr_run::CtrRun;
use crate::harness::{require, wait_for, Outcome, Run, TempDir};
use crate::images_debian::{build, descendants, ok, read, Vm, REF};
use crate::leaks::cmdline;
use crate::netns::NetNs;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// The vendor's daemon: the old double fork, a PID file, a process named for monitoring.
const VENDORD: &str = r#"#!/bin/sh
# vendord start: detach twice, write /run/vendord.pid, serve (here: sleep).
case "$1" in
start)
    ( setsid sh -c 'echo $$ > /run/vendord.pid; exec sleep 2147483' </dev/null >/dev/null 2>&1 & )
    logger -t vendord "vendord started"
    ;;
*) echo "usage: vendord start" >&2; exit 2 ;;
esac
"#;

const VENDOR_UNIT: &str = "[Unit]
Description=Vendor daemon (forking, PID file)
After=network.target rsyslog.service

[Service]
Type=forking
PIDFile=/run/vendord.pid
ExecStart=/opt/vendor/vendord start
ExecStop=/bin/kill $MAINPID

[Install]
WantedBy=multi-user.target
";

/// Enables vendor.service the way a drop-in can (the image has its own .wants links).
const WANTS_VENDOR: &str = "[Unit]\nWants=vendor.service\n";

/// A SysV-only service, as old vendor packages ship them.
const LEGACYD: &str = r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          legacyd
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Legacy SysV-only daemon
### END INIT INFO
PIDFILE=/run/legacyd.pid
case "$1" in
start) start-stop-daemon --start --background --make-pidfile --pidfile $PIDFILE --exec /bin/sleep -- 2147484 ;;
stop) start-stop-daemon --stop --pidfile $PIDFILE --remove-pidfile --retry TERM/5 ;;
status) start-stop-daemon --status --pidfile $PIDFILE ;;
restart|force-reload) $0 stop; $0 start ;;
*) echo "Usage: /etc/init.d/legacyd {start|stop|status|restart|force-reload}" >&2; exit 2 ;;
esac
"#;

/// `ctr tasks exec` of `sh -c SCRIPT` in `id`.
fn exec(vm: &Vm, id: &str, exec_id: &str, script: &str) -> Outcome {
    vm.ctd.ctr([
        "tasks",
        "exec",
        "--exec-id",
        exec_id,
        id,
        "/bin/sh",
        "-c",
        script,
    ])
}

/// The value of `key=` in `text`.
fn value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("{key}=");
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
}

/// An HTTP GET / on port 80 of `ip`: the status line and whether nginx's page came back.
fn http_get(ip: &std::net::Ipv4Addr) -> Result<String, String> {
    let mut s = std::net::TcpStream::connect((*ip, 80)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: rd\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut body = String::new();
    s.read_to_string(&mut body).map_err(|e| e.to_string())?;
    Ok(body)
}

fn vm() -> (Vm, TempDir) {
    let out = TempDir::new("debian-units");
    build(out.path(), None);
    let ctd = Containerd::start();
    ctd.import(&out.join("rich-debian-1.tar"), &[]);
    let vm = Vm {
        ctd,
        ns: NetNs::new(),
        dir: TempDir::new("debian-units-vm"),
    };
    let keygen = require("ssh-keygen");
    ok(Run::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "it", "-f"])
        .arg(vm.dir.join("key")));
    (vm, out)
}

fn public_key(vm: &Vm) -> String {
    String::from_utf8_lossy(&read(&vm.dir.join("key.pub")))
        .trim()
        .to_string()
}

fn file_mount(src: &Path, dst: &str) -> String {
    format!(
        "--mount=type=bind,src={},dst={dst},options=rbind:ro",
        src.display()
    )
}

#[test]
fn rich_debian_boots_its_packages_units_a_vendor_service_and_a_sysv_script() {
    let (vm, _out) = vm();
    let vendord = vm.dir.write("vendord", VENDORD);
    let unit = vm.dir.write("vendor.service", VENDOR_UNIT);
    let dropin_dir = vm.dir.join("multi-user.target.d");
    std::fs::create_dir(&dropin_dir).expect("drop-in dir");
    std::fs::write(dropin_dir.join("vendor.conf"), WANTS_VENDOR).expect("drop-in");
    let legacyd = vm.dir.write("legacyd", LEGACYD);
    for f in [&vendord, &legacyd] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let keys = vm.dir.join("host-keys");
    std::fs::create_dir(&keys).expect("host key volume");
    let run = CtrRun::new(&format!("{REF}:1"), "ru1")
        .netns(&vm.ns.path())
        .bind(&keys, "/etc/ssh/host-keys")
        .bind(&dropin_dir, "/etc/systemd/system/multi-user.target.d")
        .flag(&file_mount(&vendord, "/opt/vendor/vendord"))
        .flag(&file_mount(&unit, "/etc/systemd/system/vendor.service"))
        .flag(&file_mount(&legacyd, "/etc/init.d/legacyd"))
        // The generator counts an `S??name` entry in rc2.d, whatever it is.
        .flag(&file_mount(&legacyd, "/etc/rc2.d/S02legacyd"))
        .env(&format!("SSH_AUTHORIZED_KEYS={}", public_key(&vm)));
    vm.ctd.run_detached(&run);
    let pid = vm.wait_booted("ru1");
    let log = || vm.ctd.task_log("ru1");

    // Booted: is-system-running says so, and every service is in list-units.
    let probe = exec(
        &vm,
        "ru1",
        "probe",
        "i=0; until systemctl -q is-system-running; do i=$((i+1)); [ $i -gt 300 ] && break; sleep 0.1; done; \
         echo state=$(systemctl is-system-running); \
         echo running=$(systemctl list-units --type=service --state=running --no-legend | awk '{print $1}' | sort | tr '\\n' ,)",
    );
    assert_eq!(
        value(&probe.stdout, "state"),
        Some("running"),
        "{probe}\n{}",
        log()
    );
    let running = value(&probe.stdout, "running").unwrap_or_default();
    for unit in [
        "cron.service",
        "legacyd.service",
        "nginx.service",
        "rsyslog.service",
        "ssh.service",
        "vendor.service",
    ] {
        assert!(
            running.contains(unit),
            "{unit} running: {running}\n{}",
            log()
        );
    }
    assert!(
        !running.contains("e2scrub_reap"),
        "ConditionCapability=CAP_SYS_ADMIN keeps it off: {running}"
    );
    let all: Vec<String> = descendants(pid)
        .iter()
        .map(|p| cmdline(*p).join(" "))
        .collect();
    for process in ["sleep 2147483", "/bin/sleep 2147484"] {
        assert!(all.iter().any(|a| a == process), "{process} in {all:?}");
    }

    // nginx answers on port 80; `systemctl stop nginx` leaves no nginx, start brings it back.
    let ip = vm.ns.inside_ip();
    let page = http_get(&ip).unwrap_or_else(|e| panic!("GET / on {ip}:80: {e}\n{}", log()));
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains("Welcome to nginx"), "{page}");
    let stop = exec(
        &vm,
        "ru1",
        "stop-nginx",
        "systemctl stop nginx; echo rc=$?; echo left=$(pgrep -c nginx); echo state=$(systemctl is-active nginx)",
    );
    assert_eq!(value(&stop.stdout, "rc"), Some("0"), "{stop}");
    assert_eq!(value(&stop.stdout, "left"), Some("0"), "{stop}");
    assert_eq!(value(&stop.stdout, "state"), Some("inactive"), "{stop}");
    assert!(
        http_get(&ip).is_err(),
        "nothing listens on 80 once nginx is stopped"
    );
    let start = exec(
        &vm,
        "ru1",
        "start-nginx",
        "systemctl start nginx; echo rc=$?",
    );
    assert_eq!(value(&start.stdout, "rc"), Some("0"), "{start}\n{}", log());
    assert!(http_get(&ip).is_ok_and(|p| p.contains("Welcome to nginx")));

    // show and status give the documented fields.
    let show = exec(
        &vm,
        "ru1",
        "show",
        "systemctl show -p ActiveState,SubState,MainPID,LoadState,UnitFileState,Type nginx; \
         echo pidfile=$(cat /run/nginx.pid); systemctl status vendor > /tmp/st; echo status_rc=$?; cat /tmp/st",
    );
    let text = &show.stdout;
    for field in [
        "ActiveState=active",
        "SubState=running",
        "LoadState=loaded",
        "UnitFileState=enabled",
        "Type=forking",
    ] {
        assert!(text.contains(field), "{field}\n{show}");
    }
    assert_eq!(value(text, "MainPID"), value(text, "pidfile"), "{show}");
    assert_eq!(value(text, "status_rc"), Some("0"), "{show}");
    assert!(
        text.contains("● vendor.service - Vendor daemon (forking, PID file)"),
        "{show}"
    );
    assert!(text.contains("Active: active (running) since "), "{show}");
    assert!(text.contains("Main PID: "), "{show}");
    assert!(text.contains("sleep 2147483"), "the process list\n{show}");

    // logger reaches syslog (rsyslog as its Type=notify unit), and the vendor's line too.
    vm.wait_syslog(pid, "vendord: vendord started");
    exec(&vm, "ru1", "logger", "logger -t it hello-from-units");
    vm.wait_syslog(pid, "it: hello-from-units");

    // ssh logs in; `systemctl restart ssh` keeps the open session (KillMode=process).
    let host_pub = read(&keys.join("ssh_host_ed25519_key.pub"));
    vm.dir.write(
        "known_hosts",
        &format!("{} {}\n", ip, String::from_utf8_lossy(&host_pub).trim()),
    );
    let session = vm
        .ssh_run(
            "echo session-open; i=0; until [ -e /tmp/go ]; do i=$((i+1)); [ $i -gt 600 ] && exit 7; \
             sleep 0.1; done; echo still-here-after-restart",
        )
        .timeout(Duration::from_secs(120))
        .spawn();
    wait_for("the ssh session to open", || {
        session
            .stdout_so_far()
            .contains("session-open")
            .then_some(())
    });
    let restart = exec(
        &vm,
        "ru1",
        "restart-ssh",
        "old=$(systemctl show -p MainPID --value ssh); systemctl restart ssh; echo rc=$?; \
         new=$(systemctl show -p MainPID --value ssh); [ \"$old\" != \"$new\" ] && echo moved=yes",
    );
    assert_eq!(
        value(&restart.stdout, "rc"),
        Some("0"),
        "{restart}\n{}",
        log()
    );
    assert_eq!(value(&restart.stdout, "moved"), Some("yes"), "{restart}");
    exec(&vm, "ru1", "go", "touch /tmp/go");
    let ended = session.wait();
    assert_eq!(ended.code(), Some(0), "{ended}");
    assert!(ended.stdout.contains("still-here-after-restart"), "{ended}");
    let again = vm.ssh("systemctl is-active ssh");
    assert_eq!(again.stdout, "active\n", "{again}");

    // The SysV script answers through Debian's service(8) and our systemctl.
    let sysv = exec(
        &vm,
        "ru1",
        "sysv",
        "service legacyd status >/dev/null; echo status_rc=$?; systemctl stop legacyd; \
         service legacyd status >/dev/null; echo stopped_rc=$?; echo left=$(pgrep -cf 'sleep 214748[4]')",
    );
    assert_eq!(value(&sysv.stdout, "status_rc"), Some("0"), "{sysv}");
    assert_eq!(value(&sysv.stdout, "stopped_rc"), Some("3"), "{sysv}");
    assert_eq!(value(&sysv.stdout, "left"), Some("0"), "{sysv}");

    // journalctl has the units' lines.
    let journal = exec(&vm, "ru1", "journal", "journalctl -u nginx --no-pager");
    assert!(
        journal
            .stdout
            .contains("Started A high performance web server and a reverse proxy server."),
        "{journal}"
    );
    vm.stop("ru1");
}

/// `package`'s Depends/PreDepends (no recommends), each a list of alternatives.
fn depends(package: &str) -> Vec<Vec<String>> {
    let out = Run::new(require("apt-cache"))
        .args([
            "depends",
            "--no-recommends",
            "--no-suggests",
            "--no-conflicts",
            "--no-breaks",
            "--no-replaces",
            "--no-enhances",
            package,
        ])
        .output();
    assert_eq!(out.code(), Some(0), "{out}");
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut in_alternatives = false;
    for line in out.stdout.lines().skip(1) {
        let line = line.trim();
        let (alt, rest) = match line.strip_prefix('|') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let Some(name) = rest
            .strip_prefix("Depends:")
            .or_else(|| rest.strip_prefix("PreDepends:"))
        else {
            continue;
        };
        let name = name.trim().to_string();
        match groups.last_mut() {
            Some(group) if in_alternatives => group.push(name),
            _ => groups.push(vec![name]),
        }
        in_alternatives = alt;
    }
    groups
}

/// The packages to download so that `package` installs on rich-debian: what it depends on,
/// recursively, that the image lacks (an alternative the image has satisfies its group;
/// otherwise the first real one is taken).
fn closure(package: &str, image_packages: &str) -> Vec<String> {
    let have: Vec<&str> = image_packages
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut need = Vec::new();
    let mut queue = vec![package.to_string()];
    while let Some(p) = queue.pop() {
        if need.contains(&p) || (p != package && have.contains(&p.as_str())) {
            continue;
        }
        for group in depends(&p) {
            let satisfied = group
                .iter()
                .any(|g| have.contains(&g.trim_matches(|c| c == '<' || c == '>')));
            if let Some(first) = group.iter().find(|g| !g.starts_with('<')) {
                if !satisfied {
                    queue.push(first.clone());
                }
            }
        }
        need.push(p);
    }
    need.sort();
    need
}

#[test]
fn a_package_installed_into_a_running_container_starts_as_on_a_vm() {
    let (vm, out) = vm();
    let debs = vm.dir.join("debs");
    std::fs::create_dir(&debs).expect("debs dir");
    let packages =
        std::fs::read_to_string(out.join("rich-debian.packages")).expect("packages list");
    // redis-server: Type=notify, User=, RuntimeDirectory=, LimitNOFILE=, sandboxing lines
    // (warned and ignored), and maintainer scripts that call deb-systemd-helper and
    // deb-systemd-invoke. (memcached needs perl, which pins perl-base to the mirror's point
    // release: an image from an older cached download could not take it.)
    let wanted = closure("redis-server", &packages);
    assert!(wanted.iter().any(|p| p == "redis-server"), "{wanted:?}");
    let mut download = Run::new(require("apt-get"))
        .arg("download")
        .args(&wanted)
        .timeout(Duration::from_secs(300));
    download.command_mut().current_dir(&debs);
    let download = download.output();
    assert_eq!(
        download.code(),
        Some(0),
        "apt-get download {wanted:?} (CI runs apt-get update first)\n{download}"
    );
    let run = CtrRun::new(&format!("{REF}:1"), "rp1")
        .netns(&vm.ns.path())
        .bind(&debs, "/debs");
    vm.ctd.run_detached(&run);
    vm.wait_booted("rp1");
    let install = exec(
        &vm,
        "rp1",
        "dpkg-i",
        "dpkg -i /debs/*.deb > /tmp/dpkg.log 2>&1; echo dpkg_rc=$?; \
         i=0; until systemctl -q is-active redis-server; do i=$((i+1)); [ $i -gt 100 ] && break; sleep 0.1; done; \
         echo active=$(systemctl is-active redis-server); echo enabled=$(systemctl is-enabled redis-server); \
         echo procs=$(pgrep -c -x redis-server); echo user=$(ps -o user= -C redis-server); \
         echo ping=$(redis-cli ping)",
    );
    let text = &install.stdout;
    let dpkg_log = exec(&vm, "rp1", "dpkg-log", "cat /tmp/dpkg.log").stdout;
    assert_eq!(value(text, "dpkg_rc"), Some("0"), "{install}\n{dpkg_log}");
    assert_eq!(
        value(text, "active"),
        Some("active"),
        "{install}\n{dpkg_log}\n{}",
        vm.ctd.task_log("rp1")
    );
    assert_eq!(value(text, "enabled"), Some("enabled"), "{install}");
    assert_eq!(value(text, "procs"), Some("1"), "{install}");
    assert_eq!(value(text, "user"), Some("redis"), "{install}");
    assert_eq!(value(text, "ping"), Some("PONG"), "{install}");
    let remove = exec(
        &vm,
        "rp1",
        "dpkg-r",
        "dpkg -r redis-server > /tmp/dpkg-r.log 2>&1; echo rc=$?; echo procs=$(pgrep -c -x redis-server); \
         echo active=$(systemctl is-active redis-server); cat /tmp/dpkg-r.log",
    );
    assert_eq!(value(&remove.stdout, "rc"), Some("0"), "{remove}");
    assert_eq!(value(&remove.stdout, "procs"), Some("0"), "{remove}");
    assert_ne!(value(&remove.stdout, "active"), Some("active"), "{remove}");
    vm.stop("rp1");
}
