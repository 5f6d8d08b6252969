//! The one init or stop script that may run at a time.

use super::types::Action;
use crate::supervisor::backoff::deadline;
use std::time::{Duration, Instant};

const TERM: i32 = 15;
const KILL: i32 = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Init,
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Script {
    kind: Kind,
    index: usize,
    /// `None` until it is reported spawned.
    pid: Option<i32>,
    /// It got the stop signal.
    signaled: bool,
    /// SIGKILL then (after the stop signal).
    kill_at: Option<Instant>,
}

#[derive(Debug, Default)]
pub(super) struct Runner {
    current: Option<Script>,
}

impl Runner {
    pub fn busy(&self) -> bool {
        self.current.is_some()
    }

    /// It runs as `pid`: that exit is news.
    pub fn runs_as(&self, pid: i32) -> bool {
        self.current.is_some_and(|s| s.pid == Some(pid))
    }

    pub fn start(&mut self, kind: Kind, index: usize) -> Action {
        self.current = Some(Script {
            kind,
            index,
            pid: None,
            signaled: false,
            kill_at: None,
        });
        match kind {
            Kind::Init => Action::RunInitScript(index),
            Kind::Stop => Action::RunStopScript(index),
        }
    }

    pub fn got_pid(&mut self, pid: i32) {
        if let Some(script) = self.current.as_mut().filter(|s| s.pid.is_none()) {
            script.pid = Some(pid);
        }
    }

    /// It has ended (or never started): which it was.
    pub fn finish(&mut self) -> Option<(Kind, usize)> {
        self.current.take().map(|s| (s.kind, s.index))
    }

    /// The stop signal once, and SIGKILL at the grace.
    pub fn stop(&mut self, now: Instant, grace: Duration, out: &mut Vec<Action>) {
        if let Some(script) = self.current.as_mut() {
            if let (Some(pid), false) = (script.pid, script.signaled) {
                script.signaled = true;
                script.kill_at = Some(deadline(now, grace));
                out.push(Action::SignalScript { pid, signal: TERM });
            }
        }
    }

    pub fn timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Some(script) = self.current.as_mut() {
            if let (Some(pid), Some(at)) = (script.pid, script.kill_at) {
                if now >= at {
                    script.kill_at = None;
                    out.push(Action::SignalScript { pid, signal: KILL });
                }
            }
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.current.and_then(|s| s.pid.and(s.kill_at))
    }
}
