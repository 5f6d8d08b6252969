//! The `orphans` helper, run as the init's CMD: leave N orphans with the init, release
//! them all at once, and time until the init has reaped every one. Prints
//! `reap_ns=N left=K`.
//!
//! An intermediate child makes the orphans, each asleep on a futex gate, sends their pids
//! back and exits, so they are re-parented to the init. Opening the gate (one
//! FUTEX_WAKE) releases all of them at once; they exit, and we poll kill(pid, 0) until
//! each answers ESRCH (a zombie still answers). A futex rather than EOF on a shared pipe:
//! every reader of one pipe takes the pipe's mutex in turn, which would make the orphans
//! queue up to exit one by one, and time that convoy rather than the init.
//!
//! Two kinds of orphan:
//! - `fork`: ordinary processes, each with its own copy of the address space. Their exit
//!   tears down 10,000 address spaces, kernel work that dominates the figure and its noise.
//! - `light`: clone(CLONE_VM | CLONE_FILES | ...) without CLONE_THREAD: still separate
//!   processes that become zombies and must be reaped by the init, but with nothing of
//!   their own to tear down, so the figure is mostly the init's reaping.

use crate::sys;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult};
use std::fs::File;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How long we wait for the init to reap everything before counting what is left.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);
/// Stack for each light orphan: it only makes two raw syscalls.
const LIGHT_STACK: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Fork,
    Light,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "fork" => Some(Kind::Fork),
            "light" => Some(Kind::Light),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Fork => "fork",
            Kind::Light => "light",
        }
    }
}

pub fn run(count: usize, kind: Kind) -> Result<(), String> {
    let gate = Gate::new().ok_or("cannot map the release gate")?;
    let (pids_r, pids_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: this helper is single-threaded; the child only forks, reads and writes.
    match unsafe { fork() }.map_err(|e| format!("fork of the intermediate: {e}"))? {
        ForkResult::Child => {
            drop(pids_r);
            intermediate(count, kind, gate, File::from(pids_w))
        }
        ForkResult::Parent { child } => {
            drop(pids_w);
            let pids = read_pids(File::from(pids_r))?;
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, 0)) => {}
                other => return Err(format!("intermediate ended with {other:?}")),
            }
            if pids.len() != count {
                return Err(format!("made {} orphans of {count}", pids.len()));
            }
            // Give the last orphans time to fall asleep (a late one finds the gate open).
            std::thread::sleep(Duration::from_millis(50));
            let t0 = sys::monotonic_ns();
            gate.open();
            let (t1, left) = wait_all_gone(&pids, t0);
            println!("reap_ns={} left={left}", t1 - t0);
            Ok(())
        }
    }
}

/// The intermediate: make the orphans, report their pids, end with a 0 record, exit.
fn intermediate(count: usize, kind: Kind, gate: Gate, mut pids: File) -> ! {
    let stacks = match kind {
        Kind::Light => match Stacks::new(count) {
            Some(s) => Some(s),
            None => sys::exit_now(1),
        },
        Kind::Fork => None,
    };
    for i in 0..count {
        let pid = match &stacks {
            Some(stacks) => stacks.clone_light(i, gate),
            // SAFETY: single-threaded; the child only waits on the gate and `_exit`s.
            None => match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    gate.wait();
                    sys::exit_now(0)
                }
                Ok(ForkResult::Parent { child }) => child.as_raw(),
                Err(_) => -1,
            },
        };
        if pid <= 0 || pids.write_all(&pid.to_le_bytes()).is_err() {
            break;
        }
    }
    let code = i32::from(pids.write_all(&0i32.to_le_bytes()).is_err());
    // The light orphans share our memory: it stays mapped until the last of them exits.
    sys::exit_now(code)
}

/// A 32-bit word in shared memory that the orphans sleep on (FUTEX_WAIT, a shared
/// futex, so it works across fork too) until it turns 1.
#[derive(Clone, Copy)]
struct Gate {
    word: *const AtomicU32,
}

impl Gate {
    fn new() -> Option<Gate> {
        // SAFETY: a fresh shared anonymous page (zero-filled); it is never unmapped, so
        // `word` stays valid in every process that inherits it.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (page != libc::MAP_FAILED).then_some(Gate {
            word: page.cast::<AtomicU32>(),
        })
    }

    fn word(&self) -> &AtomicU32 {
        // SAFETY: page-aligned, mapped for the life of the process (see `new`).
        unsafe { &*self.word }
    }

    /// Sleep until the gate is open. Raw syscalls only: light orphans run it too.
    fn wait(self) {
        while self.word().load(Ordering::Acquire) == 0 {
            // SAFETY: FUTEX_WAIT on a valid u32; it returns at once if the word is not 0.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.word,
                    libc::FUTEX_WAIT,
                    0u32,
                    std::ptr::null::<libc::timespec>(),
                )
            };
        }
    }

    /// Open the gate and wake every sleeper with one call.
    fn open(self) {
        self.word().store(1, Ordering::Release);
        // SAFETY: FUTEX_WAKE on a valid u32.
        unsafe { libc::syscall(libc::SYS_futex, self.word, libc::FUTEX_WAKE, i32::MAX) };
    }
}

/// One mapping holding every light orphan's stack.
struct Stacks {
    base: *mut libc::c_void,
}

impl Stacks {
    fn new(count: usize) -> Option<Stacks> {
        // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                count * LIGHT_STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        (base != libc::MAP_FAILED).then_some(Stacks { base })
    }

    /// Start light orphan `i`, asleep on `gate`; its pid, or -1.
    fn clone_light(&self, i: usize, gate: Gate) -> i32 {
        // The stack grows down: hand clone the top of slot i.
        let top = self.base.wrapping_byte_add((i + 1) * LIGHT_STACK);
        let arg = gate.word.cast_mut().cast::<libc::c_void>();
        let flags = libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::SIGCHLD;
        // SAFETY: `light_orphan` runs on its own slot of the mapping, which is never
        // unmapped (the process that maps it exits without unmapping), and makes only
        // raw syscalls on its own stack and the gate word.
        unsafe { libc::clone(light_orphan, top, flags, arg) }
    }
}

/// A light orphan: sleep on the gate (the argument is its word), then exit(2) directly,
/// skipping libc's exit path (atexit handlers, stdio) in memory shared with the others.
extern "C" fn light_orphan(word: *mut libc::c_void) -> libc::c_int {
    Gate {
        word: word.cast_const().cast::<AtomicU32>(),
    }
    .wait();
    // SAFETY: exit(2) ends this process; it never returns.
    unsafe { libc::syscall(libc::SYS_exit, 0) };
    0
}

fn read_pids(mut from: File) -> Result<Vec<i32>, String> {
    let mut pids = Vec::new();
    let mut record = [0u8; 4];
    loop {
        from.read_exact(&mut record)
            .map_err(|e| format!("reading orphan pids: {e}"))?;
        match i32::from_le_bytes(record) {
            0 => return Ok(pids),
            pid => pids.push(pid),
        }
    }
}

/// Poll until every pid is gone or REAP_TIMEOUT passes; returns the time of the last
/// check and how many are left. Pids are checked in order and never revisited: in a
/// fresh namespace a reaped pid is not reused this soon. Sleeping between checks leaves
/// the CPU to the init and the exiting processes.
fn wait_all_gone(pids: &[i32], t0: u64) -> (u64, usize) {
    let deadline = t0 + u64::try_from(REAP_TIMEOUT.as_nanos()).unwrap_or(u64::MAX);
    let mut next = 0;
    loop {
        while next < pids.len() && !sys::exists(pids[next]) {
            next += 1;
        }
        let now = sys::monotonic_ns();
        if next == pids.len() {
            return (now, 0);
        }
        if now > deadline {
            let left = pids[next..].iter().filter(|&&p| sys::exists(p)).count();
            return (now, left);
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}
