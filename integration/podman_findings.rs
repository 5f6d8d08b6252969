//! Issue 13, findings 4 and 5 under podman, to the behaviour decided for them:
//! - 4: `podman exec` inherits the container's environment, so with the env switch on the
//!   container a later `rich-init -- cmd` sees it too. The switch selects rich mode for pid 1
//!   only, and only pid 1 claims the default control socket, env file and profile hook: the
//!   second init runs its command, and pid 1's socket and env file stay as they were.
//! - 5: `podman stop` during boot (init.d still running, or services coming up before CMD)
//!   ends the container with 128+SIGTERM, as a stop while CMD runs does.

use crate::podman_ctr::{Ctr, Init, Oci};
use crate::podman_rich::{rich_entrypoint, states, wait_services_running, IN_IMAGE};
use crate::podman_rig::Podman;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

const ENV_FILE: &str = "/run/rich-init/env";
const SOCKET: &str = "/run/rich-init/control.sock";

fn ctl_ok(ctr: &Ctr, when: &str) {
    let out = ctr.exec(&[], &[IN_IMAGE, "ctl", "status"]);
    assert_eq!(out.code(), Some(0), "ctl status {when}\n{out}");
    assert_eq!(states(&out).len(), 2, "both services listed {when}\n{out}");
}

fn second_init_does_not_take_over(switch: &str) {
    let rig = Podman::new();
    let mut flags = Init::Ours.flags();
    flags.extend(["-e", switch, "-e", "RICH_INIT_SERVICES=crond,syslogd"].map(String::from));
    let ctr = rig.start(Oci::Runc, &flags, &["sleep", "1000"]);
    wait_services_running(&ctr);
    let env_before = ctr.exec(&[], &["cat", ENV_FILE]);
    assert_eq!(env_before.code(), Some(0), "pid 1's env file\n{env_before}");
    // A variable only the second init has: its env file would differ from pid 1's.
    let second = ctr.exec(&["-e", "SECOND_INIT=1"], &[IN_IMAGE, "--", "true"]);
    assert_eq!(
        second.code(),
        Some(0),
        "the second init ({switch} inherited, not pid 1) runs its command\n{second}"
    );
    ctl_ok(&ctr, &format!("after a second init ({switch})"));
    let sock = ctr.exec(&[], &["test", "-S", SOCKET]);
    assert_eq!(sock.code(), Some(0), "{SOCKET} is still there\n{sock}");
    let env_after = ctr.exec(&[], &["cat", ENV_FILE]);
    assert_eq!(
        env_after.stdout, env_before.stdout,
        "pid 1's env file is unchanged ({switch})"
    );
    drop(ctr);
    rig.finish();
}

#[test]
fn podman_exec_second_init_does_not_take_over_rich_init_rich() {
    second_init_does_not_take_over("RICH_INIT_RICH=1");
}

#[test]
fn podman_exec_second_init_does_not_take_over_rich_mode() {
    second_init_does_not_take_over("rich_mode=true");
}

/// A host dir with `files` (path under /etc/rich-init, text; all executable), for
/// `-v DIR:/etc/rich-init`.
fn etc_rich_init(rig: &Podman, label: &str, files: &[(&str, &str)]) -> (PathBuf, String) {
    let dir = rig.dir().join(format!("etc-rich-init-{label}"));
    for (path, text) in files {
        let at = dir.join(path);
        std::fs::create_dir_all(at.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&at, text).expect("write");
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let flag = format!("{}:/etc/rich-init", dir.display());
    (dir, flag)
}

/// Start rich mode with `files` in /etc/rich-init, wait for `marker` in /shared, stop.
fn stop_during_boot(rig: &Podman, label: &str, files: &[(&str, &str)], marker: &str) {
    let (_dir, volume) = etc_rich_init(rig, label, files);
    let mut flags = rich_entrypoint(&[]);
    flags.extend(["-v".to_string(), volume]);
    let ctr = rig.start(Oci::Runc, &flags, &["sh", "-c", "echo ran > /shared/cmd"]);
    ctr.wait_shared(marker);
    let (out, took) = ctr.stop(10);
    assert_eq!(out.code(), Some(0), "podman stop ({label})\n{out}");
    let code = ctr.wait();
    eprintln!("podman stop during boot ({label}): exit {code}, {took:?}");
    assert_eq!(ctr.shared("cmd"), "", "CMD never started ({label})");
    assert_eq!(
        code,
        143,
        "a stop during boot ({label}) is 128+SIGTERM, as while CMD runs\n{}",
        ctr.logs()
    );
}

#[test]
fn podman_stop_while_init_d_runs_exits_143() {
    let rig = Podman::new();
    let slow = "#!/bin/sh\necho started > /shared/init-d\nsleep 1000\n";
    stop_during_boot(&rig, "init.d", &[("init.d/10-slow", slow)], "init-d");
    rig.finish();
}

#[test]
fn podman_stop_while_services_come_up_exits_143() {
    let rig = Podman::new();
    let never = r#"command = ["/bin/sh", "-c", "echo up > /shared/svc; exec sleep 1000"]
ready = { command = ["/bin/false"], interval = "100ms", timeout = "10m" }
"#;
    stop_during_boot(&rig, "services", &[("services.d/never.toml", never)], "svc");
    rig.finish();
}
