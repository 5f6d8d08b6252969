//! Issue 13, findings 4 and 5, found under podman: rich mode where a second init and an
//! early stop meet it.
//! - `podman exec` inherits the container's environment, so a second `rich-init` started
//!   there must not take pid 1's control socket or rewrite its env file. The switches
//!   (RICH_INIT_RICH, rich_mode) make rich mode of pid 1 only; a live control socket is
//!   refused with one line and exit 1, before anything is written; an init removes only a
//!   socket that is still its own. (The default paths under a real engine:
//!   `podman.rs`/`docker.rs`.)
//! - A stop while init.d runs, or while services come up before CMD, exits 128+signal,
//!   as a stop while CMD runs does (restart policies such as on-failure must see it).

use crate::harness::{bin, PidNs, Run};
use crate::rich::{init_pid, polite, ready_on_pid, Rig, NS};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// pid 1's rich-init (in a pid namespace) with a service, its env file and control
/// socket in the rig; CMD waits for `$D/release`.
fn start_first(rig: &Rig) -> crate::harness::Running {
    rig.service("svc", &polite("svc", "TERM"), &ready_on_pid(rig, "svc"));
    let mut first = rig
        .run(
            PidNs::Init,
            &[],
            ": > \"$D/cmd.up\"; wait_file \"$D/release\"; exit 7",
        )
        .env("FIRST_ONLY", "pid-1-value")
        .spawn();
    rig.wait_file(&mut first, "cmd.up");
    first
}

fn ctl_status(rig: &Rig) -> crate::harness::Outcome {
    Run::new(bin())
        .args([
            "ctl",
            "--socket",
            &format!("{}/ctl.sock", rig.d()),
            "status",
        ])
        .output()
}

#[test]
fn a_second_init_cannot_take_a_live_control_socket() {
    let rig = Rig::new("rich-second-socket");
    let first = start_first(&rig);
    let env_before = rig.read("env");
    assert!(env_before.contains("pid-1-value"), "{env_before}");

    // Explicitly in rich mode, pointed at the same socket and env file: refused.
    let second = rig
        .run(PidNs::Host, &[], ": > \"$D/second.ran\"")
        .env("FIRST_ONLY", "second-value")
        .output();
    assert_eq!(second.code(), Some(1), "refused\n{second}");
    assert_eq!(second.stderr.lines().count(), 1, "one line\n{second}");
    assert!(
        second.stderr.contains(&format!(
            "the control socket {}/ctl.sock belongs to a running rich-init",
            rig.d()
        )),
        "{second}"
    );
    assert!(!rig.exists("second.ran"), "nothing started\n{second}");
    assert_eq!(rig.read("env"), env_before, "pid 1's env file is untouched");

    let status = ctl_status(&rig);
    assert_eq!(status.code(), Some(0), "pid 1 still answers\n{status}");
    assert!(status.stdout.contains("svc"), "{status}");

    std::fs::write(rig.d().to_string() + "/release", "").expect("release CMD");
    let out = first.wait();
    assert_eq!(out.code(), Some(7), "{out}");
    assert!(!rig.exists("ctl.sock"), "pid 1 removed its own socket");
}

/// With the switch inherited from pid 1's environment (as `podman exec` gives it), a
/// second init that is not pid 1 runs CMD alone: no rich mode, nothing of pid 1's touched.
#[test]
fn an_inherited_switch_makes_no_second_rich_init() {
    for (var, value) in [("RICH_INIT_RICH", "1"), ("rich_mode", "true")] {
        let rig = Rig::new("rich-second-switch");
        let first = start_first(&rig);
        let env_before = rig.read("env");
        let d = rig.d().to_string();
        let second = Run::new(bin())
            .args(["-vv", "--", "/bin/sh", "-c", "echo alone; exit 4"])
            .env(var, value)
            .env("RICH_INIT_SERVICES_DIR", format!("{d}/services.d"))
            .env("RICH_INIT_ENV_FILE", format!("{d}/env"))
            .env("RICH_INIT_INITSCRIPT", "/nonexistent/initscript")
            .env("FIRST_ONLY", "second-value")
            .output();
        assert_eq!(second.code(), Some(4), "{var}: CMD's code\n{second}");
        assert_eq!(second.stdout, "alone\n", "{second}");
        assert!(
            second
                .stderr
                .contains("applies to pid 1 only: running CMD alone"),
            "{var}: said so at debug level\n{second}"
        );
        assert_eq!(rig.read("env"), env_before, "{var}: env file untouched");
        let status = ctl_status(&rig);
        assert_eq!(status.code(), Some(0), "{var}\n{status}");
        std::fs::write(format!("{d}/release"), "").expect("release CMD");
        assert_eq!(first.wait().code(), Some(7));
    }
}

/// An init whose socket was replaced by another's leaves that one in place at exit.
#[test]
fn an_init_removes_only_its_own_socket() {
    let rig = Rig::new("rich-own-socket");
    let first = start_first(&rig);
    let path = format!("{}/ctl.sock", rig.d());
    std::fs::remove_file(&path).expect("remove pid 1's socket");
    let other = std::os::unix::net::UnixListener::bind(&path).expect("bind another socket");
    std::fs::write(rig.d().to_string() + "/release", "").expect("release CMD");
    assert_eq!(first.wait().code(), Some(7));
    assert!(
        rig.exists("ctl.sock"),
        "the other socket is still there after pid 1's exit"
    );
    drop(other);
}

/// SIGTERM while an init.d script runs: 143, nothing after it started.
#[test]
fn a_stop_during_init_d_exits_128_plus_the_signal() {
    for ns in NS {
        for sig in [Signal::SIGTERM, Signal::SIGINT] {
            let rig = Rig::new("rich-stop-initd");
            rig.script("init.d/10-slow", ": > \"$D/initd.up\"; exec sleep 1000");
            rig.service("svc", ": > \"$D/svc.marker\"; exec sleep 1000", "");
            let mut running = rig.run(ns, &[], ": > \"$D/cmd.marker\"").spawn();
            rig.wait_file(&mut running, "initd.up");
            kill(Pid::from_raw(init_pid(&running, ns)), sig).expect("signal rich-init");
            let out = running.wait();
            assert_eq!(out.code(), Some(128 + sig as i32), "{ns:?} {sig}\n{out}");
            assert!(!rig.exists("svc.marker"), "{ns:?}: no service\n{out}");
            assert!(!rig.exists("cmd.marker"), "{ns:?}: no CMD\n{out}");
            rig.assert_nothing_left(ns, &out);
        }
    }
}

/// SIGTERM while a service is still coming up (its ready check never passes): 143.
#[test]
fn a_stop_while_services_come_up_exits_128_plus_the_signal() {
    for ns in NS {
        let rig = Rig::new("rich-stop-boot");
        rig.service(
            "slow",
            ": > \"$D/slow.up\"; exec sleep 1000",
            "ready = { command = [\"/bin/false\"], interval = \"50ms\", timeout = \"1h\" }\n",
        );
        let mut running = rig.run(ns, &[], ": > \"$D/cmd.marker\"").spawn();
        rig.wait_file(&mut running, "slow.up");
        kill(Pid::from_raw(init_pid(&running, ns)), Signal::SIGTERM).expect("signal rich-init");
        let out = running.wait();
        assert_eq!(out.code(), Some(143), "{ns:?}\n{out}");
        assert!(!rig.exists("cmd.marker"), "{ns:?}: no CMD\n{out}");
        rig.assert_nothing_left(ns, &out);
    }
}
