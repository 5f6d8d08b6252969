//! The init's start and end: what CMD's exit does to the helpers it left in its process
//! group (dumb-init sends them SIGTERM, tini does not), and the parent-death signal.

use crate::differential::like_the_peer_both_ways;
use crate::harness::{bin, read_or_empty, wait_for, PidNs, Run, TempDir};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;

/// Whether `pid` is still our helper: its environment holds `marker` (pids are reused).
fn is_ours(pid: i32, marker: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|var| var == marker.as_bytes()))
        .unwrap_or(false)
}

/// SIGKILLs our helper on drop, if it is still there (it may outlive the init we ran).
struct KillOnDrop(i32, String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if is_ours(self.0, &self.1) {
            let _ = kill(Pid::from_raw(self.0), Signal::SIGKILL);
        }
    }
}

/// CMD starts a helper in its process group that records SIGTERM (and exits) or SIGWINCH,
/// waits until the helper is ready, and exits 5. The TERM trap first drops the WINCH trap:
/// dash runs pending traps between the commands of a running trap, so a WINCH arriving
/// during the TERM trap would be recorded too.
const LEAVE_A_HELPER: &str = r#"sh -c '
    trap "trap - WINCH; echo TERM >> \"$D/got\"; exit 0" TERM
    trap "echo WINCH >> \"$D/got\"" WINCH
    echo $$ > "$D/pid.tmp"; mv "$D/pid.tmp" "$D/pid"
    while :; do sleep 0.01; done' >/dev/null 2>&1 &
while [ ! -e "$D/pid" ]; do sleep 0.01; done
exit 5"#;

/// Run `init` with CMD = LEAVE_A_HELPER; after the init has exited, fence the helper with
/// SIGWINCH: a SIGTERM sent by the init arrived first and ends it before the fence is
/// recorded (pending signals run lowest number first). Returns (exit status, what the
/// helper recorded); `who` names `init` in failure messages.
fn helper_after_exit(init: &Path, who: &str, args: &[&str]) -> (Option<i32>, String) {
    let dir = TempDir::new("leftover");
    // Not in a process group of its own: the runner would SIGKILL what is left in that
    // group when the init exits, and with `-c` the helper is in the init's group.
    let out = Run::new(init)
        .args(args)
        .args(["--", "sh", "-c", LEAVE_A_HELPER])
        .env("D", dir.path())
        .without_own_group()
        .output();
    let pid_text = read_or_empty(&dir.join("pid"));
    let pid: i32 = pid_text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{who} {args:?}: the helper did not start\n{out}"));
    let marker = format!("D={}", dir.path().display());
    let _guard = KillOnDrop(pid, marker.clone());
    let got = dir.join("got");
    // The helper may be gone already (its TERM trap exits); only fence it if it is there.
    if is_ours(pid, &marker) && kill(Pid::from_raw(pid), Signal::SIGWINCH).is_ok() {
        wait_for(
            &format!("the helper of {who} {args:?} to record a signal"),
            || {
                let text = read_or_empty(&got);
                (!text.is_empty()).then_some(())
            },
        );
    }
    (out.code(), read_or_empty(&got))
}

#[test]
fn cmd_exit_terminates_its_group_like_dumb_init() {
    for (args, want) in [(&[][..], "TERM\n"), (&["-c"], "WINCH\n")] {
        let peer = like_the_peer_both_ways("dumb-init", &format!("{args:?}"), |init, who| {
            helper_after_exit(init, who, args)
        });
        assert_eq!(
            peer,
            (Some(5), want.to_string()),
            "dumb-init {args:?}: the peer"
        );
    }
}

#[test]
fn cmd_exit_leaves_its_group_alone_like_tini() {
    for args in [&["-s"][..], &["-s", "-g"]] {
        let peer = like_the_peer_both_ways("tini", &format!("{args:?}"), |init, who| {
            helper_after_exit(init, who, args)
        });
        assert_eq!(
            peer,
            (Some(5), "WINCH\n".to_string()),
            "tini {args:?}: the peer"
        );
    }
}

#[test]
fn rich_init_terminates_cmds_group_unless_told_not_to() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "TERM\n"),
        (&["--no-term-on-exit"], "WINCH\n"),
        (&["--isolation", "group"], "TERM\n"),
        (&["--forward-to", "child"], "WINCH\n"),
    ];
    for (args, want) in cases {
        let got = helper_after_exit(&bin(), "rich-init", args);
        assert_eq!(got, (Some(5), want.to_string()), "rich-init {args:?}");
    }
}

/// In a pid namespace, a parent starts `init ARGS -- sh -c ...` in the background, waits
/// until CMD runs (the parent-death signal is set before CMD starts), and exits; a
/// watcher then waits (boundedly) for the init to disappear and prints `init-gone`. `who`
/// names `init` in failure messages.
fn parent_dies(init: &Path, who: &str, args: &[&str]) -> String {
    let dir = TempDir::new("pdeath");
    let init_line = std::iter::once(init.display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let script = format!(
        r#"gone() {{ [ ! -e /proc/$1/stat ] || {{ read -r _ _ s _ < /proc/$1/stat; [ "$s" = Z ]; }}; }}
sh -c '{init_line} -- sh -c ": > \"$D/ready\"; exec sleep 1000" &
    echo $! > "$D/init"
    while [ ! -e "$D/ready" ]; do sleep 0.01; done'
init=$(cat "$D/init")
i=0
while ! gone "$init" && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
if gone "$init"; then echo init-gone; else echo init-alive; fi"#
    );
    let out = Run::in_ns(PidNs::Wrapped, "/bin/sh")
        .args(["-c", &script])
        .env("D", dir.path())
        .output();
    assert_eq!(out.code(), Some(0), "{who} {args:?}\n{out}");
    out.stdout
}

#[test]
fn parent_death_signal_kills_the_init() {
    let peer = like_the_peer_both_ways("tini", "-p SIGKILL", |init, who| {
        parent_dies(init, who, &["-s", "-p", "SIGKILL"])
    });
    assert_eq!(peer, "init-gone\n");
    let rich = parent_dies(&bin(), "rich-init", &["--parent-death-signal", "KILL"]);
    assert_eq!(rich, "init-gone\n", "rich-init --parent-death-signal KILL");
}
