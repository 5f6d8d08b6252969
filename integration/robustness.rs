//! Start-up conditions a pid 1 inherits from whoever exec'd it: SIGCHLD ignored, signals
//! already pending, signals 32/33, a busy start directory. Regression tests for review
//! findings; each says what went wrong before.

use crate::differential::{like_the_peer_both_ways, Pair};
use crate::harness::{bin, personality_dir, Run};
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use std::os::unix::process::CommandExt;
use std::time::Duration;

/// A run of `program args` whose process starts with SIGCHLD set to SIG_IGN.
fn with_sigchld_ignored(program: &std::path::Path, args: &[&str]) -> Run {
    let mut run = Run::new(program)
        .args(args)
        .timeout(Duration::from_secs(30));
    // SAFETY: pre_exec runs in the forked child; signal(2) is async-signal-safe.
    unsafe {
        run.command_mut().pre_exec(|| {
            libc::signal(libc::SIGCHLD, libc::SIG_IGN);
            Ok(())
        });
    }
    run
}

/// Before: the kernel auto-reaped CMD, waitpid said ECHILD, and the init waited for
/// CMD's status for ever (Debian's tini does too; dumb-init does not).
#[test]
fn inherited_sigchld_ignore_does_not_hang() {
    let names = personality_dir();
    let cases: [(std::path::PathBuf, &[&str]); 3] = [
        (bin(), &["--", "sh", "-c", "exit 3"]),
        (names.path("dumb-init"), &["sh", "-c", "exit 3"]),
        (names.path("tini"), &["-s", "--", "sh", "-c", "exit 3"]),
    ];
    for (program, args) in cases {
        let out = with_sigchld_ignored(&program, args).output();
        assert_eq!(out.code(), Some(3), "{} {args:?}: {out}", program.display());
    }
}

/// A run whose process starts with `sig` blocked and already pending.
fn with_pending(program: &std::path::Path, args: &[&str], sig: Signal) -> Run {
    let mut run = Run::new(program)
        .args(args)
        .timeout(Duration::from_secs(30));
    // SAFETY: pre_exec runs in the forked child; sigprocmask and raise are
    // async-signal-safe.
    unsafe {
        run.command_mut().pre_exec(move || {
            let mut set = SigSet::empty();
            set.add(sig);
            sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
            libc::raise(sig as i32);
            Ok(())
        });
    }
    run
}

/// CMD for rich-init and tini (which hand CMD the mask they were started with, USR1
/// blocked here): succeed once SIGUSR1 is pending for this process, give up after ~10 s
/// (exit 1: the signal was lost). dash briefly unblocks signals while it waits for
/// `sleep`, so a SIGUSR1 that comes after the first check kills it instead (exit 138):
/// that, too, means CMD got it.
const WAIT_FOR_PENDING_USR1: &str = r#"
i=0
while [ $i -lt 1000 ]; do
    v=$(sed -n 's/^ShdPnd:[[:space:]]*//p' /proc/$$/status)
    [ $(( 0x$v & 0x200 )) -ne 0 ] && exit 0
    i=$((i + 1)); sleep 0.01
done
exit 1"#;

/// Before: the signal was read at once and sent to CMD's process group, which CMD had
/// not made yet (setsid/setpgid run after fork): ESRCH, and it was dropped.
#[test]
fn a_signal_pending_at_start_reaches_cmd() {
    let names = personality_dir();
    let tini = names.path("tini");
    let cases: [(std::path::PathBuf, Vec<&str>); 3] = [
        (bin(), vec!["--", "sh", "-c", WAIT_FOR_PENDING_USR1]),
        (
            bin(),
            vec![
                "--isolation",
                "group",
                "--",
                "sh",
                "-c",
                WAIT_FOR_PENDING_USR1,
            ],
        ),
        (
            tini,
            vec!["-s", "-g", "--", "sh", "-c", WAIT_FOR_PENDING_USR1],
        ),
    ];
    for (program, args) in cases {
        for round in 0..10 {
            let out = with_pending(&program, &args, Signal::SIGUSR1).output();
            assert!(
                matches!(out.code(), Some(0) | Some(138)),
                "round {round}: {} {args:?}: SIGUSR1 did not reach CMD: {out}",
                program.display()
            );
        }
    }
    // As dumb-init, CMD starts with nothing blocked, so the pending SIGUSR1 kills it.
    let dumb = names.path("dumb-init");
    for round in 0..10 {
        let out = with_pending(&dumb, &["sh", "-c", "sleep 10"], Signal::SIGUSR1).output();
        assert_eq!(
            out.code(),
            Some(128 + 10),
            "round {round}: dumb-init: {out}"
        );
    }
}

/// Before: glibc's sigfillset/sigprocmask leave out signals 32 and 33, so `kill -33`
/// killed the init itself (and orphaned CMD). Now the signal is forwarded like any
/// other: CMD dies of it and the init exits with 128+N.
#[test]
fn signals_32_and_33_are_forwarded_not_fatal() {
    for sig in [32, 33] {
        let mut run = Run::new(bin())
            .args(["--", "sh", "-c", "echo ready; exec sleep 30"])
            .timeout(Duration::from_secs(30));
        // The caller may have left 32/33 ignored (this test harness does), and glibc's
        // sigaction refuses to touch them: reset them with the raw syscall.
        // SAFETY: pre_exec runs in the forked child; rt_sigaction is async-signal-safe
        // and reads a zeroed kernel sigaction (SIG_DFL, no flags, empty mask).
        unsafe {
            run.command_mut().pre_exec(|| {
                let default_action = [0u64; 4];
                for s in [32, 33] {
                    libc::syscall(
                        libc::SYS_rt_sigaction,
                        s,
                        default_action.as_ptr(),
                        std::ptr::null_mut::<u64>(),
                        8,
                    );
                }
                Ok(())
            });
        }
        let running = run.spawn();
        crate::harness::wait_for("CMD ready", || {
            running.stdout_so_far().contains("ready").then_some(())
        });
        // SAFETY: kill takes plain integers.
        let rc = unsafe { libc::kill(running.pid(), sig) };
        assert_eq!(rc, 0, "kill -{sig}");
        let out = running.wait();
        assert_eq!(
            (out.code(), out.signal()),
            (Some(128 + sig), None),
            "signal {sig}: {out}"
        );
    }
}

/// tini exits 1 (not 126) when exec fails with anything but ENOENT or EACCES.
#[test]
fn tini_exec_error_other_than_enoent_eacces_is_1() {
    for pair in Pair::both("tini") {
        pair.assert_same(&["-s", "--", "/etc/passwd/x"], &[]);
    }
}

/// dumb-init gives CMD an empty signal mask and default dispositions for signals 1-31,
/// whatever it got itself.
#[test]
fn dumb_init_resets_cmd_signal_state_like_the_peer() {
    let show = "grep -E '^(SigBlk|SigIgn)' /proc/self/status";
    // Ours, as a symlink and as a copy, must show what the peer shows.
    like_the_peer_both_ways("dumb-init", "SigBlk and SigIgn of CMD", |program, who| {
        let mut run = Run::new(program)
            .args(["sh", "-c", show])
            .timeout(Duration::from_secs(30));
        // SAFETY: pre_exec runs in the forked child; sigprocmask and signal are
        // async-signal-safe.
        unsafe {
            run.command_mut().pre_exec(|| {
                let mut set = SigSet::empty();
                set.add(Signal::SIGTERM);
                sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            });
        }
        let out = run.output();
        assert_eq!(out.code(), Some(0), "{who}: {out}");
        assert!(
            out.stdout.contains("SigBlk:\t0000000000000000"),
            "{who}: CMD must start with nothing blocked: {}",
            out.stdout
        );
        // Signals 1-31 are back to their defaults (SIGHUP was ignored); anything else
        // that the caller ignored (32+) is left alone by both.
        assert!(
            out.stdout
                .lines()
                .find_map(|l| l.strip_prefix("SigIgn:\t"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                .is_some_and(|bits| bits & 0x7fff_ffff == 0),
            "{who}: SIGHUP still ignored: {}",
            out.stdout
        );
        out.stdout
    });
}
