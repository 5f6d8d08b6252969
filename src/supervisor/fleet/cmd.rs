//! CMD as the fleet sees it: not started, being spawned, running, being stopped (its
//! stop signal, SIGKILL at the grace, given up on `after_kill` later), exited.

use super::types::Action;
use crate::supervisor::backoff::deadline;
use crate::wait_status::WaitStatus;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmd {
    NotStarted,
    Spawning,
    Running {
        pid: i32,
    },
    /// Its stop signal was sent; SIGKILL at `kill_at`, given up at `give_up_at`.
    Stopping {
        pid: i32,
        kill_at: Option<Instant>,
        give_up_at: Option<Instant>,
    },
    Exited(WaitStatus),
    /// Not reaped in time after SIGKILL.
    Gone,
    /// Could not be forked.
    NotForked,
    /// There is none (`Config::has_cmd` false): the boot is over.
    Absent,
}

impl Cmd {
    pub fn pid(self) -> Option<i32> {
        match self {
            Cmd::Running { pid } | Cmd::Stopping { pid, .. } => Some(pid),
            _ => None,
        }
    }

    pub fn deadline(self) -> Option<Instant> {
        match self {
            Cmd::Stopping {
                kill_at,
                give_up_at,
                ..
            } => kill_at.or(give_up_at),
            _ => None,
        }
    }

    pub fn spawned(&mut self, pid: i32) {
        if *self == Cmd::Spawning {
            *self = Cmd::Running { pid };
        }
    }

    /// True when it was being spawned (the fleet then stops).
    pub fn spawn_failed(&mut self) -> bool {
        let was = *self == Cmd::Spawning;
        if was {
            *self = Cmd::NotForked;
        }
        was
    }

    /// True when this is news (it ran, or was being stopped or given up on).
    pub fn exited(&mut self, status: WaitStatus) -> bool {
        match *self {
            Cmd::Spawning | Cmd::Running { .. } | Cmd::Stopping { .. } | Cmd::Gone => {
                *self = Cmd::Exited(status);
                true
            }
            Cmd::NotStarted | Cmd::NotForked | Cmd::Exited(_) | Cmd::Absent => false,
        }
    }

    /// Send the stop signal if it runs; true once it is gone (or never ran).
    pub fn stop(&mut self, now: Instant, grace: Duration, out: &mut Vec<Action>) -> bool {
        match *self {
            Cmd::NotStarted | Cmd::NotForked | Cmd::Exited(_) | Cmd::Gone | Cmd::Absent => true,
            Cmd::Spawning | Cmd::Stopping { .. } => false,
            Cmd::Running { pid } => {
                out.push(Action::StopCmd);
                *self = Cmd::Stopping {
                    pid,
                    kill_at: Some(deadline(now, grace)),
                    give_up_at: None,
                };
                false
            }
        }
    }

    /// SIGKILL at the grace; given up `after_kill` later.
    pub fn timer(&mut self, now: Instant, after_kill: Duration, out: &mut Vec<Action>) {
        if let Cmd::Stopping {
            pid,
            kill_at,
            give_up_at,
        } = *self
        {
            if kill_at.is_some_and(|at| now >= at) {
                out.push(Action::KillCmd);
                *self = Cmd::Stopping {
                    pid,
                    kill_at: None,
                    give_up_at: Some(deadline(now, after_kill)),
                };
            } else if give_up_at.is_some_and(|at| now >= at) {
                *self = Cmd::Gone;
            }
        }
    }
}
