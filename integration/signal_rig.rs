//! A rig that checks signal forwarding from the receiving end. The init's CMD is a shell
//! (the "child") that traps signals and appends each one's number to a file; it starts a
//! "grandchild" in the child's process group that does the same. Both stay alive until
//! told to quit. Everything runs in a fresh pid namespace (the init is not pid 1 there),
//! so nothing outlives the test.
//!
//! Each signal is sent to the init and followed by fences instead of sleeps. Standard
//! signals are dequeued lowest number first, before any real-time one, by the init and by
//! the receivers alike, and a receiving shell runs pending traps in ascending order; so a
//! fence with a higher number than every signal under test, once recorded, proves that the
//! signal before it has been handled (forwarded or not) and, if delivered, recorded:
//! 1. the init forwards FENCE to the child; we wait until the child recorded it;
//! 2. we send DIRECT ourselves to the grandchild and wait until it recorded it.

use crate::harness::{all_stats, wait_for, PidNs, Run, Running, TempDir};
use nix::sys::signal::kill;
use nix::unistd::Pid;
use std::ffi::OsString;
use std::path::Path;

/// Signal numbers, as the receivers record them.
pub const HUP: i32 = 1;
pub const INT: i32 = 2;
pub const USR1: i32 = 10;
pub const USR2: i32 = 12;
pub const TERM: i32 = 15;
pub const CHLD: i32 = 17;
pub const WINCH: i32 = 28;
/// A real-time signal (SIGRTMIN+6 with glibc).
pub const RT: i32 = 40;

/// The fences: SIGRTMAX, forwarded by the init, and SIGRTMAX-1, sent directly to the
/// grandchild; above every signal under test, real-time ones included.
const FENCE: i32 = 64;
const DIRECT: i32 = 63;

/// Sent directly to a receiver to make it exit 0.
const QUIT: i32 = 62;

/// Shell code that starts `keeper`: a child that ignores every catchable signal and sleeps.
/// A shell that waits for it with `wait` runs each trap as soon as its signal arrives:
/// dash's `wait` blocks signals while it checks for pending traps (sigsuspend), whereas a
/// signal that lands just before a blocking `read` leaves its trap pending until the next
/// one. Run it before setting any trap: it waits for the keeper with `sleep` (the sleeps'
/// SIGCHLDs must not be recorded), until `$mark` exists.
pub const KEEPER: &str = r#"(
    i=1
    while [ $i -le 64 ]; do
        case $i in 9|19|32|33) ;; *) trap '' $i ;; esac
        i=$((i + 1))
    done
    : > "$mark"
    exec sleep 100000
) &
keeper=$!
while [ ! -e "$mark" ]; do sleep 0.01; done
"#;

fn receiver_script() -> String {
    format!(
        r#"# receiver LOG: append the number of every trapped signal to LOG.
log=$1
mark="$log.keeper"
{KEEPER}
for s in 1 2 10 12 15 17 28 29 30 40 63 64; do trap "echo $s >> '$log'" "$s"; done
trap 'kill -KILL $keeper; exit 0' 62
: > "$log.ready"
while :; do
    wait $keeper
done
"#
    )
}

/// What the receivers recorded, in order, fences left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipts {
    pub child: Vec<i32>,
    pub grandchild: Vec<i32>,
}

pub struct SignalRig {
    running: Running,
    /// The init's pid (in the test's pid namespace).
    pub init: i32,
    child: i32,
    grandchild: i32,
    rounds: usize,
    dir: TempDir,
}

fn numbers(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// Whether `pid` is `ancestor` or one of its descendants.
fn descends_from(pid: i32, ancestor: i32) -> bool {
    let mut p = pid;
    for _ in 0..64 {
        if p == ancestor {
            return true;
        }
        match crate::harness::stat(p) {
            Some(s) if s.ppid > 0 => p = s.ppid,
            _ => return false,
        }
    }
    false
}

impl SignalRig {
    /// Start `init` (its argv without CMD) with `env`; `-- sh -c SCRIPT` is appended.
    pub fn start(init: &[OsString], env: &[(&str, &str)]) -> SignalRig {
        let dir = TempDir::new("signals");
        let receiver = dir.write("receiver.sh", &receiver_script());
        let d = dir.path().display();
        let r = receiver.display();
        let script = format!(
            "env --default-signal sh '{r}' '{d}/grandchild' &\n\
             exec sh '{r}' '{d}/child'"
        );
        let (program, rest) = init.split_first().expect("an init command line");
        let mut run = Run::in_ns(PidNs::Wrapped, program)
            .args(rest)
            .args(["--", "sh", "-c", &script]);
        for (k, v) in env {
            run = run.env(k, v);
        }
        let mut running = run.spawn();
        for who in ["child", "grandchild"] {
            let ready = dir.join(format!("{who}.ready"));
            let what = format!("the {who} to install its traps ({})", running.label());
            wait_for(&what, || {
                running.assert_running(&what);
                ready.exists().then_some(())
            });
        }
        // A receiver's exact command line (the init and the shells above it mention the
        // same paths inside their `-c` script).
        let find = |who: &str| {
            let want = format!("sh {r} {d}/{who} ");
            wait_for(&format!("the {who} receiver process"), || {
                all_stats()
                    .iter()
                    .map(|s| s.pid)
                    .find(|p| cmdline(*p) == want)
            })
        };
        let child = find("child");
        let grandchild = find("grandchild");
        let init = crate::harness::stat(child)
            .expect("the child is alive")
            .ppid;
        assert!(
            descends_from(init, running.pid()),
            "the child's parent {init} is not inside the test's pid namespace run"
        );
        SignalRig {
            running,
            init,
            child,
            grandchild,
            rounds: 0,
            dir,
        }
    }

    fn count(&self, who: &str, sig: i32) -> usize {
        numbers(&self.dir.join(who))
            .into_iter()
            .filter(|n| *n == sig)
            .count()
    }

    fn send_to(&self, pid: i32, sig: i32) {
        let signal = nix::sys::signal::Signal::try_from(sig).ok();
        let rc = match signal {
            Some(s) => kill(Pid::from_raw(pid), s).map_err(|e| e.to_string()),
            // Real-time signals have no nix::Signal variant.
            // SAFETY: kill(2) with a plain pid and signal number.
            None => match unsafe { libc::kill(pid, sig) } {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error().to_string()),
            },
        };
        if let Err(e) = rc {
            panic!(
                "cannot send signal {sig} to pid {pid} ({}): {e}",
                self.running.label()
            );
        }
    }

    /// Send `sig` to the init, then fence it (see the module comment).
    pub fn send(&mut self, sig: i32) {
        let (fence, direct) = (FENCE, DIRECT);
        self.rounds += 1;
        self.send_to(self.init, sig);
        self.send_to(self.init, fence);
        let n = self.rounds;
        let label = self.running.label().to_string();
        wait_for(&format!("the child to record fence #{n} ({label})"), || {
            (self.count("child", fence) >= n).then_some(())
        });
        self.send_to(self.grandchild, direct);
        wait_for(
            &format!("the grandchild to record fence #{n} ({label})"),
            || (self.count("grandchild", direct) >= n).then_some(()),
        );
    }

    pub fn receipts(&self) -> Receipts {
        let (fence, direct) = (FENCE, DIRECT);
        let keep = |n: &i32| *n != fence && *n != direct;
        Receipts {
            child: numbers(&self.dir.join("child"))
                .into_iter()
                .filter(keep)
                .collect(),
            grandchild: numbers(&self.dir.join("grandchild"))
                .into_iter()
                .filter(keep)
                .collect(),
        }
    }

    /// Tell the grandchild, then the child, to exit 0; return the init's exit status
    /// (as the pid namespace's shell reports it: 128+N for a signal).
    pub fn finish(self) -> Option<i32> {
        for pid in [self.grandchild, self.child] {
            // Gone already (the init died and took the namespace with it) is fine.
            // SAFETY: kill(2) with a plain pid and signal number.
            unsafe { libc::kill(pid, QUIT) };
        }
        let out = self.running.wait();
        out.code()
    }
}
