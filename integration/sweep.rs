//! rich-init after CMD exits: everything CMD left (its group, other sessions below us,
//! or the whole pid namespace as pid 1) gets SIGTERM, and SIGKILL at the grace deadline.

use crate::harness::{bin, read_or_empty, wait_for, PidNs, Run, TempDir};

/// Whether `pid` is still a process whose environment holds `marker` (pids are reused).
fn alive_and_ours(pid: i32, marker: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|var| var == marker.as_bytes()))
        .unwrap_or(false)
}

/// CMD starts `daemon` in the background (with `launch`, e.g. `setsid`), waits until it
/// wrote its pid, and exits 3.
fn cmd_leaving(launch: &str, daemon: &str) -> String {
    format!(
        r#"{launch} sh -c '{daemon}' >/dev/null 2>&1 &
while [ ! -e "$D/pid" ]; do sleep 0.01; done
exit 3"#
    )
}

/// Records SIGTERM and exits on it.
const POLITE: &str = r#"trap "echo TERM >> \"\$D/got\"; exit 0" TERM; echo $$ > "$D/pid.tmp"; mv "$D/pid.tmp" "$D/pid"; while :; do sleep 0.05; done"#;
/// Ignores SIGTERM.
const STUBBORN: &str = r#"trap "" TERM; echo $$ > "$D/pid.tmp"; mv "$D/pid.tmp" "$D/pid"; while :; do sleep 0.05; done"#;

fn run(ns: PidNs, args: &[&str], cmd: &str, dir: &TempDir) -> crate::harness::Outcome {
    Run::in_ns(ns, bin())
        .args(args)
        .args(["--", "sh", "-c", cmd])
        .env("D", dir.path())
        .without_own_group()
        .output()
}

fn daemon_pid(dir: &TempDir, out: &crate::harness::Outcome) -> i32 {
    read_or_empty(&dir.join("pid"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the daemon did not start\n{out}"))
}

#[test]
fn a_leftover_in_another_session_gets_sigterm() {
    for ns in [PidNs::Host, PidNs::Init] {
        let dir = TempDir::new("sweep-polite");
        let out = run(ns, &["-v"], &cmd_leaving("setsid", POLITE), &dir);
        assert_eq!(out.code(), Some(3), "{ns:?}: CMD's code\n{out}");
        let pid = daemon_pid(&dir, &out);
        let marker = format!("D={}", dir.path().display());
        wait_for("the daemon to be gone", || {
            (!alive_and_ours(pid, &marker)).then_some(())
        });
        assert_eq!(
            read_or_empty(&dir.join("got")),
            "TERM\n",
            "{ns:?}: the daemon got SIGTERM\n{out}"
        );
        assert!(
            !out.stderr.contains("grace ran out"),
            "{ns:?}: no SIGKILL needed\n{out}"
        );
    }
}

#[test]
fn a_leftover_that_ignores_sigterm_is_killed_at_the_grace() {
    for ns in [PidNs::Host, PidNs::Init] {
        let dir = TempDir::new("sweep-stubborn");
        let out = run(
            ns,
            &["--grace", "300ms"],
            &cmd_leaving("setsid", STUBBORN),
            &dir,
        );
        assert_eq!(out.code(), Some(3), "{ns:?}: CMD's code\n{out}");
        let pid = daemon_pid(&dir, &out);
        let marker = format!("D={}", dir.path().display());
        assert!(
            !alive_and_ours(pid, &marker),
            "{ns:?}: the daemon survived rich-init\n{out}"
        );
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("[rich-init WARN] the grace ran out")),
            "{ns:?}: one warning line says SIGKILL was needed\n{out}"
        );
    }
}

#[test]
fn no_term_on_exit_leaves_leftovers_alone() {
    let dir = TempDir::new("sweep-off");
    let out = run(
        PidNs::Host,
        &["--no-term-on-exit"],
        &cmd_leaving("setsid", POLITE),
        &dir,
    );
    assert_eq!(out.code(), Some(3), "{out}");
    let pid = daemon_pid(&dir, &out);
    let marker = format!("D={}", dir.path().display());
    let alive = alive_and_ours(pid, &marker);
    if alive {
        // SAFETY: kill takes plain integers; the pid is checked to be our daemon.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(alive, "the daemon must still run\n{out}");
    assert_eq!(read_or_empty(&dir.join("got")), "", "no SIGTERM was sent");
}
