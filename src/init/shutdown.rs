//! After CMD has exited: stop what it left behind. Everything below us gets the stop
//! signal; we reap until nothing is left (then return at once: no fixed sleep), or
//! until the grace deadline, when what is left gets SIGKILL. A second SIGTERM/SIGINT
//! skips the rest of the grace.
//!
//! As pid 1 of a namespace, kill(-1) reaches every other process in it. Otherwise
//! (subreaper) the targets are our descendants found in /proc.

use crate::logging::{Logger, Msg};
use crate::sys::reap::{self, Drained, Exit};
use crate::sys::signals::{self, Received, SignalFd};
use crate::sys::{self, procs_scan, subreaper, Errno};
use std::time::{Duration, Instant};

/// How long we still wait for SIGKILLed processes to be reaped before giving up on
/// them (one stuck in uninterruptible sleep cannot be helped).
pub const AFTER_KILL: Duration = Duration::from_secs(2);

/// Send `sig` to everything below us. Returns whether anyone got it, and how many
/// when we counted them (as pid 1, kill(-1) does not say).
fn signal_everything(sig: i32) -> (bool, Option<usize>) {
    if subreaper::is_pid1() {
        return (signals::kill(-1, sig).is_ok(), None);
    }
    let count = procs_scan::descendants(sys::getpid())
        .into_iter()
        .filter(|pid| signals::kill(*pid, sig).is_ok())
        .count();
    (count > 0, Some(count))
}

/// Reap every leftover that has exited (logging each), and say how draining ended.
fn reap_leftovers(log: &Logger, exits: &mut Vec<Exit>) -> Drained {
    exits.clear();
    let end = reap::drain(exits);
    for e in exits.iter() {
        log.emit(Msg::Reaped {
            pid: e.pid,
            status: e.status,
            main: false,
            warn: false,
        });
    }
    end
}

/// Reap until there are no children left or `deadline`; true when none are left.
/// Returns early (false) on a second stop request.
fn reap_until(log: &Logger, sigfd: &SignalFd, deadline: Instant) -> bool {
    let mut exits: Vec<Exit> = Vec::with_capacity(64);
    let mut batch: Vec<Received> = Vec::with_capacity(16);
    loop {
        if reap_leftovers(log, &mut exits) == Drained::NoChildren {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        match sigfd.wait(deadline.saturating_duration_since(now)) {
            Ok(true) => {
                batch.clear();
                if sigfd.read(&mut batch).is_ok()
                    && batch
                        .iter()
                        .any(|r| r.signo == libc::SIGTERM || r.signo == libc::SIGINT)
                {
                    log.emit(Msg::SweepHurried);
                    return false;
                }
            }
            Ok(false) => {}
            Err(Errno::EINTR) => {}
            // poll cannot fail on one valid fd otherwise; do not spin if it does.
            Err(_) => return false,
        }
    }
}

/// Stop everything CMD left: `sig` (0: skip straight to waiting), then SIGKILL at `grace`.
pub fn sweep(log: &Logger, sigfd: &SignalFd, sig: i32, grace: Duration) {
    let start = Instant::now();
    // No children left means nothing below us at all (every living descendant has an
    // ancestor that is our child): the common case costs one waitpid, not a /proc scan.
    if reap_leftovers(log, &mut Vec::new()) == Drained::NoChildren {
        return;
    }
    if sig != 0 && signal_everything(sig).0 {
        log.emit(Msg::Sweeping { sig, grace });
    }
    if grace.is_zero() {
        return;
    }
    if reap_until(log, sigfd, start.checked_add(grace).unwrap_or(start)) {
        log.emit(Msg::SweepDone);
        return;
    }
    let (_, killed) = signal_everything(libc::SIGKILL);
    log.emit(Msg::SweepKilled(killed));
    let later = Instant::now();
    if !reap_until(log, sigfd, later.checked_add(AFTER_KILL).unwrap_or(later)) {
        log.emit(Msg::SweepStuck);
    }
}
