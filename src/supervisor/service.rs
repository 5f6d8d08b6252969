//! One service's lifecycle as a pure state machine: `(event, now) -> Vec<Action>`.
//!
//! No syscalls, no clocks: the init loop performs the actions, feeds back what happened, and
//! sleeps until [`Service::next_deadline`], then sends [`Event::Timer`]. Nothing here needs
//! polling except the readiness check's own `interval` while a service is starting.
//!
//! ```text
//! Stopped/Failed --Start--> (spawning) --Spawned--> Starting --ready--> Running
//!      ^                        |                     |                   |
//!      |                  SpawnFailed          exit / ready timeout      exit
//!      |                        v                     v                   v
//!      +------ Stop ------- Backoff <------------ (policy: restart?) --> Stopped/Failed
//!  Stop in Starting/Running: Stopping --exit--> Stopped (never restarted)
//! ```
//! "Ready" is not a state of its own: it is the Starting -> Running transition, reported as
//! [`Action::BecameReady`]. `Failed` is kept apart from `Stopped` so that `ctl status` tells
//! "gave up" from "stopped as asked" (or "finished with 0").
//!
//! Driving it: after every event, perform the actions in order; `Spawn` must be answered
//! (`Spawned`/`SpawnFailed`) before the next event for this service. `Signal`/`Kill` go to the
//! service's process group. Sleep at most until the earliest `next_deadline()` of all
//! services, then send `Timer` to those whose deadline has come (an early `Timer` is a no-op).

use std::time::Instant;

use super::backoff::{deadline, Backoff, STABLE_AFTER};
use crate::wait_status::WaitStatus;

mod readiness;
mod types;

use readiness::Check;

pub use types::{Action, Event, Note, Phase, Policy, Readiness, Restart, Status};

/// What to do once the process being stopped has exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Stop,
    Start,
    /// It was killed for not becoming ready: a failed start.
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Stopped,
    Failed,
    /// `Spawn` asked for, its outcome not reported yet.
    Spawning,
    Starting {
        pid: i32,
        ready_by: Instant,
        check: Check,
    },
    Running {
        pid: i32,
    },
    Backoff {
        until: Instant,
    },
    /// `pid` is `None` while the spawn asked for before the stop is still pending.
    Stopping {
        pid: Option<i32>,
        kill_at: Option<Instant>,
        then: Then,
    },
}

#[derive(Debug, Clone)]
pub struct Service {
    policy: Policy,
    state: State,
    since: Instant,
    spawns: u32,
    last_exit: Option<WaitStatus>,
    backoff: Backoff,
}

impl Service {
    /// A service that has not been started.
    pub fn new(policy: Policy, now: Instant) -> Service {
        let backoff = Backoff::new(policy.restart_delay, policy.restart_delay_max);
        Service {
            policy,
            state: State::Stopped,
            since: now,
            spawns: 0,
            last_exit: None,
            backoff,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn status(&self) -> Status {
        Status {
            phase: self.phase(),
            pid: self.pid(),
            since: self.since,
            restarts: self.spawns.saturating_sub(1),
            last_exit: self.last_exit,
            next_start: match self.state {
                State::Backoff { until } => Some(until),
                _ => None,
            },
        }
    }

    pub fn phase(&self) -> Phase {
        match self.state {
            State::Stopped => Phase::Stopped,
            State::Failed => Phase::Failed,
            State::Spawning | State::Starting { .. } => Phase::Starting,
            State::Running { .. } => Phase::Running,
            State::Backoff { .. } => Phase::Backoff,
            State::Stopping { .. } => Phase::Stopping,
        }
    }

    pub fn pid(&self) -> Option<i32> {
        match self.state {
            State::Starting { pid, .. } | State::Running { pid } => Some(pid),
            State::Stopping { pid, .. } => pid,
            _ => None,
        }
    }

    /// A process exists (or is being spawned): shutdown must wait for its exit.
    pub fn is_up(&self) -> bool {
        matches!(
            self.state,
            State::Spawning
                | State::Starting { .. }
                | State::Running { .. }
                | State::Stopping { .. }
        )
    }

    /// The nearest instant at which this service wants an [`Event::Timer`]; `None` = never.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Backoff { until } => Some(until),
            State::Starting {
                ready_by,
                check: Check::Due(at),
                ..
            } => Some(ready_by.min(at)),
            State::Starting { ready_by, .. } => Some(ready_by),
            State::Stopping { kill_at, .. } => kill_at,
            _ => None,
        }
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Start => self.start(now, &mut out),
            Event::Spawned { pid } => self.spawned(pid, now, &mut out),
            Event::SpawnFailed { errno } => self.spawn_failed(errno, now, &mut out),
            Event::ReadyCheckPassed => self.ready_signal(true, now, &mut out),
            Event::Notified => self.ready_signal(false, now, &mut out),
            Event::ReadyCheckFailed => self.check_failed(now),
            Event::Exited { status } => self.exited(status, now, &mut out),
            Event::Stop => self.stop(now, &mut out),
            Event::Timer => self.timer(now, &mut out),
        }
        out
    }

    fn set(&mut self, state: State, now: Instant) {
        self.state = state;
        self.since = now;
    }

    fn spawn(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.spawns = self.spawns.saturating_add(1);
        self.set(State::Spawning, now);
        out.push(Action::Spawn);
    }

    fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        match &mut self.state {
            State::Stopped | State::Failed => {
                self.backoff.reset();
                self.spawn(now, out);
            }
            // An operator's start does not wait out the backoff; the count stays.
            State::Backoff { .. } => self.spawn(now, out),
            State::Stopping { then, .. } => *then = Then::Start,
            State::Spawning | State::Starting { .. } | State::Running { .. } => {}
        }
    }

    fn spawned(&mut self, pid: i32, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Spawning => self.begin_readiness(pid, now, out),
            // Stopped before the spawn was reported: stop what was spawned.
            State::Stopping {
                pid: None, then, ..
            } => self.signal_stop(pid, then, now, out),
            _ => {}
        }
    }

    fn spawn_failed(&mut self, errno: i32, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Spawning
            | State::Stopping {
                pid: None,
                then: Then::Start | Then::Fail,
                ..
            } => {
                out.push(Action::Log(Note::SpawnFailed { errno }));
                self.ended(false, false, now, out);
            }
            State::Stopping {
                pid: None,
                then: Then::Stop,
                ..
            } => {
                out.push(Action::Log(Note::SpawnFailed { errno }));
                self.stopped(now, out);
            }
            _ => {}
        }
    }

    fn exited(&mut self, status: WaitStatus, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Starting { check, .. } => {
                self.last_exit = Some(status);
                check.cancel(out);
                out.push(Action::Log(Note::Exited {
                    status,
                    ready: false,
                }));
                self.ended(false, false, now, out);
            }
            State::Running { .. } => {
                self.last_exit = Some(status);
                let stable = now.saturating_duration_since(self.since) >= STABLE_AFTER;
                out.push(Action::Log(Note::Exited {
                    status,
                    ready: true,
                }));
                self.ended(status.success(), stable, now, out);
            }
            State::Stopping {
                pid: Some(_), then, ..
            } => {
                self.last_exit = Some(status);
                match then {
                    Then::Stop => self.stopped(now, out),
                    Then::Start => {
                        self.backoff.reset();
                        self.spawn(now, out);
                    }
                    Then::Fail => self.ended(false, false, now, out),
                }
            }
            // No process of ours: a stale report.
            _ => {}
        }
    }

    /// The process is gone (or never came): restart after a backoff, or stay down.
    fn ended(&mut self, success: bool, stable: bool, now: Instant, out: &mut Vec<Action>) {
        if stable {
            self.backoff.reset();
        }
        let restart = match self.policy.restart {
            Restart::Always => true,
            Restart::OnFailure => !success,
            Restart::Never => false,
        };
        if restart {
            let delay = self.backoff.next_delay();
            self.set(
                State::Backoff {
                    until: deadline(now, delay),
                },
                now,
            );
            out.push(Action::Log(Note::Restarting { delay }));
        } else if success {
            self.stopped(now, out);
        } else {
            self.set(State::Failed, now);
            out.push(Action::FailedForGood {
                critical: self.policy.critical,
            });
        }
    }

    fn stopped(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.set(State::Stopped, now);
        out.push(Action::Stopped);
    }

    fn stop(&mut self, now: Instant, out: &mut Vec<Action>) {
        match &mut self.state {
            State::Spawning => {
                let stopping = State::Stopping {
                    pid: None,
                    kill_at: None,
                    then: Then::Stop,
                };
                self.set(stopping, now);
            }
            State::Starting { pid, check, .. } => {
                let pid = *pid;
                check.cancel(out);
                self.signal_stop(pid, Then::Stop, now, out);
            }
            State::Running { pid } => {
                let pid = *pid;
                self.signal_stop(pid, Then::Stop, now, out);
            }
            State::Backoff { .. } => self.stopped(now, out),
            State::Stopping { then, .. } => *then = Then::Stop,
            State::Stopped | State::Failed => {}
        }
    }

    fn signal_stop(&mut self, pid: i32, then: Then, now: Instant, out: &mut Vec<Action>) {
        out.push(Action::Signal(self.policy.stop_signal));
        let kill_at = Some(deadline(now, self.policy.stop_timeout));
        let pid = Some(pid);
        self.set(State::Stopping { pid, kill_at, then }, now);
    }

    fn timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        match &mut self.state {
            State::Backoff { until } if now >= *until => self.spawn(now, out),
            State::Starting { .. } => self.starting_timer(now, out),
            State::Stopping {
                pid: Some(_),
                kill_at,
                ..
            } if kill_at.is_some_and(|at| now >= at) => {
                *kill_at = None;
                out.push(Action::Kill);
                out.push(Action::Log(Note::StopTimeout {
                    after: self.policy.stop_timeout,
                    signal: self.policy.stop_signal,
                }));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
