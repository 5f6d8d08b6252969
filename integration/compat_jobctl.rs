//! The job-control signals (SIGTSTP, SIGTTIN, SIGTTOU) sent to the init, ours next to
//! the Debian peers, in each setsid mode: does the init stop itself, as its parent (this
//! test, in waitid(WSTOPPED), like a shell's waitpid(WUNTRACED)) sees it; is CMD stopped;
//! and what CMD receives, SIGCONT to the init included.
//!
//! CMD traps the job-control signals, SIGUSR1, SIGCONT and a fence (SIGRTMAX) and records
//! each. After the signal under test we send the fence: the init dequeues it after the
//! lower-numbered job-control signal, so once CMD has recorded it, or the init is seen
//! stopped, the signal has been dealt with. Then SIGCONT and a second fence (a lower
//! number, which the init dequeues after SIGCONT).

use crate::differential::{Ours, Pair};
use crate::harness::{only_child, read_or_empty, stat, wait_for, Run, TempDir};
use crate::signal_rig::KEEPER;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::path::Path;

const USR1: i32 = 10;
const CONT: i32 = 18;
const TSTP: i32 = 20;
const TTIN: i32 = 21;
const TTOU: i32 = 22;
const FENCE: i32 = 64;
/// A different number for the second fence: a shell runs a trap once for two deliveries
/// of one signal that arrive before it gets to run it.
const FENCE2: i32 = 63;
const QUIT: i32 = 62;
/// Sent by the test straight to CMD.
const DIRECT: i32 = 61;

fn cmd_script() -> String {
    format!(
        r#"log="$RIG/log"
mark="$RIG/keeper"
{KEEPER}
for s in {USR1} {CONT} {TSTP} {TTIN} {TTOU} {DIRECT} {FENCE2} {FENCE}; do trap "echo $s >> '$log'" $s; done
trap 'kill -KILL $keeper; exit 0' {QUIT}
: > "$RIG/ready"
while :; do
    wait $keeper
done
"#
    )
}

/// What one run shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    /// The init's parent saw it stopped (waitid WSTOPPED).
    init_stopped: bool,
    /// CMD was stopped when the signal had been dealt with.
    cmd_stopped: bool,
    /// Signals CMD recorded (fences left out), SIGCONT to the init included.
    received: Vec<i32>,
    exit: Option<i32>,
}

fn send(pid: i32, sig: i32) {
    // SAFETY: kill(2) with a plain pid and signal number (real-time ones have no nix name).
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

/// Whether the init's parent (we) can collect a stop report for it, without consuming it.
fn reported_stopped(init: i32) -> bool {
    let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    matches!(
        waitid(Id::Pid(Pid::from_raw(init)), flags),
        Ok(WaitStatus::Stopped(..))
    )
}

fn is_stopped(pid: i32) -> bool {
    stat(pid).is_some_and(|s| matches!(s.state, 'T' | 't'))
}

fn observe(program: &Path, args: &[&str], env: &[(&str, &str)], sig: i32) -> View {
    let dir = TempDir::new("jobctl");
    let mut run = Run::new(program)
        .args(args)
        .args(["--", "sh", "-c", &cmd_script()])
        .env("RIG", dir.path());
    for (k, v) in env {
        run = run.env(k, v);
    }
    let mut running = run.spawn();
    let label = running.label().to_string();
    let ready = dir.join("ready");
    wait_for(&format!("CMD to set its traps ({label})"), || {
        running.assert_running("CMD's traps");
        ready.exists().then_some(())
    });
    let init = running.pid();
    let cmd = only_child(init);
    let log = dir.join("log");
    let recorded = |s: i32| {
        read_or_empty(&log)
            .lines()
            .filter(|l| l.trim().parse() == Ok(s))
            .count()
    };

    send(init, sig);
    send(init, FENCE);
    let init_stopped = wait_for(
        &format!("the init to stop or CMD to record the fence ({label})"),
        || {
            if reported_stopped(init) {
                Some(true)
            } else {
                (recorded(FENCE) >= 1).then_some(false)
            }
        },
    );
    // Whatever the init sent CMD came before a signal we now send CMD directly: CMD
    // either records it or (a stop being taken first) is stopped.
    send(cmd, DIRECT);
    let cmd_stopped = wait_for(&format!("CMD to record DIRECT or stop ({label})"), || {
        if recorded(DIRECT) >= 1 {
            Some(false)
        } else {
            is_stopped(cmd).then_some(true)
        }
    });

    kill(Pid::from_raw(init), Signal::SIGCONT).expect("SIGCONT to the init");
    wait_for(&format!("the init to run again ({label})"), || {
        (!is_stopped(init)).then_some(())
    });
    send(init, FENCE2);
    wait_for(&format!("CMD to record the second fence ({label})"), || {
        (recorded(FENCE2) >= 1).then_some(())
    });
    let received = read_or_empty(&log)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|s| ![FENCE, FENCE2, DIRECT].contains(s))
        .collect();
    send(cmd, QUIT);
    let out = running.wait();
    View {
        init_stopped,
        cmd_stopped,
        received,
        exit: out.code(),
    }
}

struct Case {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    sig: i32,
    want: (bool, bool, &'static [i32]),
}

/// Each case under the peer (which must do what the table says) and ours as a symlink
/// and as a copy (which must do what the peer does). Every mismatch is reported at once.
fn check(name: &'static str, cases: &[Case]) {
    let [link, copy] = Pair::both(name);
    let mut diffs = Vec::new();
    for c in cases {
        let what = format!("{name} {:?} {:?} signal {}", c.args, c.env, c.sig);
        let peer = observe(&link.peer, c.args, c.env, c.sig);
        let (stopped, cmd_stopped, received) = c.want;
        let want = View {
            init_stopped: stopped,
            cmd_stopped,
            received: received.to_vec(),
            exit: Some(0),
        };
        if peer != want {
            diffs.push(format!(
                "{what}: the peer does not do what the table says\n  peer: {peer:?}\n  want: {want:?}"
            ));
        }
        for (how, program) in [(Ours::Link, &link.ours), (Ours::Copy, &copy.ours)] {
            let ours = observe(program, c.args, c.env, c.sig);
            if ours != peer {
                diffs.push(format!(
                    "{what} (ours as a {how:?}):\n  peer: {peer:?}\n  ours: {ours:?}"
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} job-control case(s) differ:\n\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

/// dumb-init forwards the signal (in setsid mode rewritten to SIGSTOP, unless -r says
/// otherwise, to CMD's group) and then stops itself with SIGSTOP, in both setsid modes.
/// SIGCONT to it is forwarded like any signal.
#[test]
fn dumb_init_stops_itself_on_job_control_signals_like_the_peer() {
    const NO_SETSID: &[(&str, &str)] = &[("DUMB_INIT_SETSID", "0")];
    let mut cases = Vec::new();
    for sig in [TSTP, TTIN, TTOU] {
        cases.push(Case {
            args: &[],
            env: &[],
            sig,
            want: (true, true, &[CONT]),
        });
        let forwarded: &'static [i32] = match sig {
            TSTP => &[TSTP, CONT],
            TTIN => &[TTIN, CONT],
            _ => &[TTOU, CONT],
        };
        for (args, env) in [(&["-c"][..], &[][..]), (&[], NO_SETSID)] {
            cases.push(Case {
                args,
                env,
                sig,
                want: (true, false, forwarded),
            });
        }
    }
    cases.push(Case {
        args: &["-r", "20:10"],
        env: &[],
        sig: TSTP,
        want: (true, false, &[USR1, CONT]),
    });
    cases.push(Case {
        args: &["-c", "-r", "20:0"],
        env: &[],
        sig: TSTP,
        want: (true, false, &[CONT]),
    });
    cases.push(Case {
        args: &["-r", "21:0"],
        env: NO_SETSID,
        sig: TTIN,
        want: (true, false, &[CONT]),
    });
    check("dumb-init", &cases);
}

/// tini forwards SIGTSTP to CMD and keeps running; it ignores SIGTTIN and SIGTTOU.
#[test]
fn tini_never_stops_itself_like_the_peer() {
    let mut cases = Vec::new();
    for args in [&["-s"][..], &["-s", "-g"]] {
        cases.push(Case {
            args,
            env: &[],
            sig: TSTP,
            want: (false, false, &[TSTP, CONT]),
        });
        for sig in [TTIN, TTOU] {
            cases.push(Case {
                args,
                env: &[],
                sig,
                want: (false, false, &[CONT]),
            });
        }
    }
    check("tini", &cases);
}
