//! Issue 13: rich mode under podman. rich-init as the ENTRYPOINT (`--entrypoint`, the
//! binary the image has at /sbin/rich-init) and as `--init --init-path` with the env switch
//! (`RICH_INIT_RICH=1`, PouchContainer's `rich_mode=true`); the busybox presets
//! `crond,syslogd` listed by `podman exec C rich-init ctl status`, found by name (finding
//! 10), and `ctl` as another uid (finding 9).

use crate::harness::{Outcome, HANDSHAKE_LIMIT};
use crate::podman_ctr::{Ctr, Init, Oci};
use crate::podman_rig::Podman;
use std::time::{Duration, Instant};

/// The image's copy of our binary (rootfs.rs).
pub const IN_IMAGE: &str = "/sbin/rich-init";

/// `--entrypoint` for rich mode with the two busybox presets.
pub fn rich_entrypoint(extra: &[&str]) -> Vec<String> {
    let mut argv = vec![IN_IMAGE, "--rich", "--services", "crond,syslogd"];
    argv.extend_from_slice(extra);
    argv.push("--");
    let json: Vec<String> = argv
        .iter()
        .map(|a| serde_json::Value::String(a.to_string()).to_string())
        .collect();
    vec!["--entrypoint".into(), format!("[{}]", json.join(","))]
}

/// `ctl status` rows as (NAME, STATE).
pub fn states(out: &Outcome) -> Vec<(String, String)> {
    out.stdout
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

/// Wait until `ctl status` in the container lists crond and syslogd running.
pub fn wait_services_running(ctr: &Ctr) {
    let want = vec![
        ("crond".to_string(), "running".to_string()),
        ("syslogd".to_string(), "running".to_string()),
    ];
    let start = Instant::now();
    loop {
        let out = ctr.exec(&[], &[IN_IMAGE, "ctl", "status"]);
        let mut got = states(&out);
        got.sort();
        if out.code() == Some(0) && got == want {
            return;
        }
        assert!(
            start.elapsed() < HANDSHAKE_LIMIT,
            "crond and syslogd not both running in {} after {HANDSHAKE_LIMIT:?}\n{out}\nlogs:\n{}",
            ctr.name(),
            ctr.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn entrypoint(oci: Oci) {
    let rig = Podman::new();
    let ctr = rig.start(oci, &rich_entrypoint(&[]), &["sleep", "1000"]);
    wait_services_running(&ctr);
    let (out, took) = ctr.stop(10);
    assert_eq!(out.code(), Some(0), "podman stop\n{out}");
    let code = ctr.wait();
    eprintln!(
        "podman stop of rich mode (2 services) under {}: exit {code}, {took:?}",
        oci.name()
    );
    assert_eq!(
        code,
        143,
        "stop while CMD runs: 128+SIGTERM\n{}",
        ctr.logs()
    );
    drop(ctr);
    rig.finish();
}

#[test]
fn podman_rich_entrypoint_runs_the_presets_runc() {
    entrypoint(Oci::Runc);
}

#[test]
fn podman_rich_entrypoint_runs_the_presets_crun() {
    entrypoint(Oci::Crun);
}

/// `--init --init-path` plus the env switch: the init podman mounts at /run/podman-init
/// goes rich.
#[test]
fn podman_rich_via_init_path_and_the_env_switch() {
    let rig = Podman::new();
    for switch in ["RICH_INIT_RICH=1", "rich_mode=true"] {
        let mut flags = Init::Ours.flags();
        flags.extend(["-e", switch, "-e", "RICH_INIT_SERVICES=crond,syslogd"].map(String::from));
        let ctr = rig.start(Oci::Runc, &flags, &["sleep", "1000"]);
        wait_services_running(&ctr);
        let pid1 = ctr.exec(&[], &["cat", "/proc/1/cmdline"]);
        assert!(
            pid1.stdout.starts_with("/run/podman-init\0"),
            "pid 1 is the init podman mounted ({switch})\n{pid1}"
        );
    }
    rig.finish();
}

/// Finding 10: the presets run under their own names, as the applet symlinks do.
#[test]
fn podman_busybox_presets_run_under_their_own_names() {
    let rig = Podman::new();
    let ctr = rig.start(Oci::Runc, &rich_entrypoint(&[]), &["sleep", "1000"]);
    wait_services_running(&ctr);
    for name in ["crond", "syslogd"] {
        // "running" comes as the service's shell starts; it execs the daemon just after.
        let out = crate::harness::wait_for(&format!("pidof {name}"), || {
            let out = ctr.exec(&[], &["pidof", name]);
            (out.code() == Some(0)).then_some(out)
        });
        let pid = out.stdout.split_whitespace().next().unwrap_or_default();
        let comm = ctr.exec(&[], &["cat", &format!("/proc/{pid}/comm")]);
        assert_eq!(comm.stdout, format!("{name}\n"), "/proc/PID/comm\n{comm}");
    }
    drop(ctr);
    rig.finish();
}

/// Finding 9: README promises "permission denied" and exit 1 for a uid the init does not
/// answer.
#[test]
fn podman_ctl_as_another_uid_says_permission_denied() {
    let rig = Podman::new();
    let ctr = rig.start(Oci::Runc, &rich_entrypoint(&[]), &["sleep", "1000"]);
    wait_services_running(&ctr);
    let out = ctr.exec(&["--user", "65534"], &[IN_IMAGE, "ctl", "status"]);
    assert!(
        out.stderr.contains("permission denied"),
        "ctl as uid 65534 says permission denied\n{out}"
    );
    assert_eq!(out.code(), Some(1), "the init refused: exit 1\n{out}");
    drop(ctr);
    rig.finish();
}
