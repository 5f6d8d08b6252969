//! What CMD starts with and where everyone stands, under each flag and variable of
//! dumb-init and tini in each setsid mode, ours (as a symlink and as a copy) next to the
//! Debian peer: CMD's signal mask, ignored and caught signals (/proc/PID/status SigBlk,
//! SigIgn, SigCgt, read by CMD's own shell with builtins), the working directory of the
//! init and of CMD (/proc/PID/cwd), and the exit status; each with a clean parent and with
//! a parent that left signals blocked and ignored.

use crate::differential::{Ours, Pair};
use crate::harness::{only_child, read_or_empty, wait_for, Run, TempDir};
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use std::os::unix::process::CommandExt;
use std::path::Path;

/// CMD: record its own signal state with builtins only, then wait to be killed.
const PROBE: &str = r#"while read -r key value; do
    case $key in SigBlk:|SigIgn:|SigCgt:) echo "$key $value" ;; esac
done < /proc/$$/status > "$RIG/sig.tmp"
mv "$RIG/sig.tmp" "$RIG/sig"
exec sleep 1000"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parent {
    /// As the test harness starts processes.
    Clean,
    /// SIGTERM, SIGUSR2 and SIGRTMIN blocked; SIGHUP, SIGUSR1, SIGPIPE, SIGTTIN and
    /// SIGTTOU ignored.
    Dirty,
}

#[derive(Debug, PartialEq, Eq)]
struct View {
    signals: String,
    init_cwd: String,
    cmd_cwd: String,
    exit: Option<i32>,
}

fn cwd(pid: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/cwd"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("unreadable: {e}"))
}

/// Whether `pid` sleeps in its signal wait (then it is past its start-up, chdir included).
fn in_signal_wait(pid: i32) -> bool {
    let wchan = read_or_empty(Path::new(&format!("/proc/{pid}/wchan")));
    ["sigtimedwait", "signalfd", "sigsuspend"]
        .iter()
        .any(|w| wchan.contains(w))
}

fn observe(program: &Path, args: &[&str], env: &[(&str, &str)], parent: Parent) -> View {
    let rig = TempDir::new("matrix");
    let start = TempDir::new("start-dir");
    let mut run = Run::new(program)
        .args(args)
        .args(["--", "sh", "-c", PROBE])
        .env("RIG", rig.path());
    for (k, v) in env {
        run = run.env(k, v);
    }
    run.command_mut().current_dir(start.path());
    if parent == Parent::Dirty {
        // SAFETY: pre_exec runs in the forked child; sigprocmask and signal are
        // async-signal-safe.
        unsafe {
            run.command_mut().pre_exec(|| {
                let mut set = SigSet::empty();
                set.add(Signal::SIGTERM);
                set.add(Signal::SIGUSR2);
                sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
                let mut raw = std::mem::zeroed::<libc::sigset_t>();
                libc::sigemptyset(&mut raw);
                libc::sigaddset(&mut raw, libc::SIGRTMIN());
                libc::sigprocmask(libc::SIG_BLOCK, &raw, std::ptr::null_mut());
                for sig in [
                    libc::SIGHUP,
                    libc::SIGUSR1,
                    libc::SIGPIPE,
                    libc::SIGTTIN,
                    libc::SIGTTOU,
                ] {
                    libc::signal(sig, libc::SIG_IGN);
                }
                Ok(())
            });
        }
    }
    let mut running = run.spawn();
    let label = running.label().to_string();
    let sig = rig.join("sig");
    wait_for(&format!("CMD to record its signal state ({label})"), || {
        running.assert_running("CMD's probe");
        sig.exists().then_some(())
    });
    let init = running.pid();
    let cmd = only_child(init);
    wait_for(&format!("the init to wait for signals ({label})"), || {
        in_signal_wait(init).then_some(())
    });
    let start_dir = start.path().display().to_string();
    let view = |text: String| text.replace(&start_dir, "START");
    let (init_cwd, cmd_cwd) = (view(cwd(init)), view(cwd(cmd)));
    // SAFETY: kill(2) with a plain pid and signal number.
    unsafe { libc::kill(cmd, libc::SIGKILL) };
    let out = running.wait();
    View {
        signals: read_or_empty(&sig),
        init_cwd,
        cmd_cwd,
        exit: out.code(),
    }
}

type Case = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// Every case with each parent, under the peer and ours (link and copy).
/// `keeps_mask`: CMD gets the mask the init was started with (tini), or an empty one.
fn check(name: &'static str, cases: &[Case], want_init_cwd: &str, keeps_mask: bool) {
    let [link, copy] = Pair::both(name);
    let mut diffs = Vec::new();
    for (args, env) in cases {
        for parent in [Parent::Clean, Parent::Dirty] {
            let what = format!("{name} {args:?} {env:?} ({parent:?} parent)");
            let peer = observe(&link.peer, args, env, parent);
            if peer.init_cwd != want_init_cwd || peer.cmd_cwd != "START" {
                diffs.push(format!(
                    "{what}: the peer's directories are unexpected: {peer:?}"
                ));
            }
            let empty_mask = peer.signals.contains("SigBlk: 0000000000000000");
            if empty_mask != (!keeps_mask || parent == Parent::Clean) {
                diffs.push(format!(
                    "{what}: the peer's CMD mask is unexpected: {peer:?}"
                ));
            }
            for (how, program) in [(Ours::Link, &link.ours), (Ours::Copy, &copy.ours)] {
                let ours = observe(program, args, env, parent);
                if ours != peer {
                    diffs.push(format!(
                        "{what} (ours as a {how:?}):\n  peer: {peer:?}\n  ours: {ours:?}"
                    ));
                }
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} case(s) differ:\n\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

/// dumb-init moves itself to / and leaves CMD in the start directory; CMD starts with
/// nothing blocked and signals 1-31 at their defaults, in each setsid mode.
#[test]
fn dumb_init_start_state_of_cmd_and_cwd_like_the_peer() {
    const NO_SETSID: &[(&str, &str)] = &[("DUMB_INIT_SETSID", "0")];
    const DEBUG: &[(&str, &str)] = &[("DUMB_INIT_DEBUG", "1")];
    check(
        "dumb-init",
        &[
            (&[], &[]),
            (&["-c"], &[]),
            (&[], NO_SETSID),
            (&["-v"], &[]),
            (&["-c", "-v"], &[]),
            (&[], DEBUG),
            (&["-r", "15:10"], &[]),
            (&["-c", "-r", "1:0"], &[]),
            (&["--single-child", "--rewrite", "10:12"], NO_SETSID),
        ],
        "/",
        false,
    );
}

/// tini stays where it was started; CMD gets the mask and the SIGTTIN/SIGTTOU
/// dispositions tini was started with, and inherits every other ignored signal.
#[test]
fn tini_start_state_of_cmd_and_cwd_like_the_peer() {
    check(
        "tini",
        &[
            (&[], &[]),
            (&["-s"], &[]),
            (&["-s", "-g"], &[]),
            (&["-s"], &[("TINI_KILL_PROCESS_GROUP", "1")]),
            (&[], &[("TINI_SUBREAPER", "1")]),
            (&["-s", "-p", "SIGKILL"], &[]),
            (&["-s", "-w"], &[]),
            (&["-s", "-e", "137"], &[]),
            (&["-s", "-v"], &[]),
            (&["-s", "-vv"], &[]),
            (&["-s", "-vvv"], &[]),
            (&["-s"], &[("TINI_VERBOSITY", "0")]),
            (&["-s"], &[("TINI_VERBOSITY", "3")]),
        ],
        "START",
        true,
    );
}

/// What CMD got once the init's parent died (`-p SIG`), as pid 1 of a pid namespace
/// (a shell) sees it: CMD records the signal and exits; "none" if nothing came in ~10 s.
fn parent_death(program: &Path, args: &[&str]) -> String {
    let rig = TempDir::new("pdeath");
    rig.write(
        "cmd.sh",
        "for s in HUP USR1 TERM; do trap \"echo $s >> '$RIG/out'; exit 7\" $s; done\n\
         : > \"$RIG/ready\"\nwhile :; do sleep 0.01; done\n",
    );
    rig.write(
        "parent.sh",
        "\"$INIT\" \"$@\" -- sh \"$RIG/cmd.sh\" &\n\
         while [ ! -e \"$RIG/ready\" ]; do sleep 0.01; done\n",
    );
    let top = "sh \"$RIG/parent.sh\" \"$@\"\n\
               i=0; while [ ! -e \"$RIG/out\" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done\n\
               cat \"$RIG/out\" 2>/dev/null || echo none";
    let out = Run::in_ns(crate::harness::PidNs::Init, crate::harness::require("sh"))
        .args(["-c", top, "top"])
        .args(args)
        .env("RIG", rig.path())
        .env("INIT", program)
        .output();
    assert_eq!(out.code(), Some(0), "{out}");
    out.stdout
}

/// tini -p: the signal that the kernel sends tini when its parent dies is forwarded to CMD.
#[test]
fn tini_parent_death_signal_like_the_peer() {
    let [link, copy] = Pair::both("tini");
    for sig in ["SIGUSR1", "SIGTERM", "SIGHUP"] {
        let args = ["-s", "-p", sig];
        let peer = parent_death(&link.peer, &args);
        assert_eq!(peer, format!("{}\n", &sig[3..]), "the peer, -p {sig}");
        for pair in [&link, &copy] {
            let ours = parent_death(&pair.ours, &args);
            assert_eq!(ours, peer, "-p {sig}, ours as a {:?}", pair.how);
        }
    }
}
