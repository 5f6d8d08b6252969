//! The Starting state: waiting until a spawned service is ready (at once, by a check command
//! retried every `interval`, or by sd_notify), or killing it at the ready timeout.

use std::time::{Duration, Instant};

use super::{Action, Note, Readiness, Service, State, Then};
use crate::supervisor::backoff::{deadline, MIN_DELAY};

/// The readiness check command, when the policy has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Readiness by notification: no check command.
    Unused,
    InFlight,
    Due(Instant),
}

impl Check {
    /// Leaving Starting: a check still running must be killed.
    pub(super) fn cancel(self, out: &mut Vec<Action>) {
        if self == Check::InFlight {
            out.push(Action::CancelReadyCheck);
        }
    }
}

impl Service {
    /// Just spawned: ready at once, or start waiting (and checking) until the ready timeout.
    pub(super) fn begin_readiness(&mut self, pid: i32, now: Instant, out: &mut Vec<Action>) {
        let (timeout, check) = match self.policy.ready {
            Readiness::Immediately => return self.become_ready(pid, now, out),
            Readiness::Check { timeout, .. } => {
                out.push(Action::RunReadyCheck);
                (timeout, Check::InFlight)
            }
            Readiness::Notify { timeout } => (timeout, Check::Unused),
        };
        let ready_by = deadline(now, timeout);
        self.set(
            State::Starting {
                pid,
                ready_by,
                check,
            },
            now,
        );
    }

    /// A readiness check passed (`by_check`) or a READY=1 notification came; only the kind
    /// the policy asks for counts.
    pub(super) fn ready_signal(&mut self, by_check: bool, now: Instant, out: &mut Vec<Action>) {
        let wanted = match self.policy.ready {
            Readiness::Check { .. } => by_check,
            Readiness::Notify { .. } => !by_check,
            Readiness::Immediately => false,
        };
        if let (State::Starting { pid, .. }, true) = (self.state, wanted) {
            self.become_ready(pid, now, out);
        }
    }

    /// The check failed: run it again `interval` later (never sooner than [`MIN_DELAY`]).
    pub(super) fn check_failed(&mut self, now: Instant) {
        if let (State::Starting { check, .. }, Readiness::Check { interval, .. }) =
            (&mut self.state, self.policy.ready)
        {
            if *check == Check::InFlight {
                *check = Check::Due(deadline(now, interval.max(MIN_DELAY)));
            }
        }
    }

    fn become_ready(&mut self, pid: i32, now: Instant, out: &mut Vec<Action>) {
        self.set(State::Running { pid }, now);
        out.push(Action::BecameReady);
    }

    /// A timer in Starting: the ready timeout (kill it: a failed start), or the next check.
    pub(super) fn starting_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        let State::Starting {
            pid,
            ready_by,
            check,
        } = self.state
        else {
            return;
        };
        if now >= ready_by {
            check.cancel(out);
            out.push(Action::Kill);
            let after = match self.policy.ready {
                Readiness::Check { timeout, .. } | Readiness::Notify { timeout } => timeout,
                Readiness::Immediately => Duration::ZERO,
            };
            out.push(Action::Log(Note::ReadyTimeout { after }));
            let (pid, kill_at, then) = (Some(pid), None, Then::Fail);
            self.set(State::Stopping { pid, kill_at, then }, now);
        } else if matches!(check, Check::Due(at) if now >= at) {
            let check = Check::InFlight;
            self.state = State::Starting {
                pid,
                ready_by,
                check,
            };
            out.push(Action::RunReadyCheck);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::super::{Event::*, Phase, Restart, Service};
    use super::*;
    use crate::wait_status::WaitStatus;
    use Action::*;

    #[test]
    fn ready_check_retries_until_it_passes() {
        let (s, t0) = run(
            policy(Restart::Always, CHECK),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Spawned { pid: 7 }, &[RunReadyCheck], Phase::Starting),
                // No second check while one is in flight, however often we are woken.
                (50, Timer, &[], Phase::Starting),
                (60, ReadyCheckFailed, &[], Phase::Starting),
                (100, Timer, &[], Phase::Starting),
                (160, Timer, &[RunReadyCheck], Phase::Starting),
                (170, ReadyCheckFailed, &[], Phase::Starting),
                (270, Timer, &[RunReadyCheck], Phase::Starting),
                (280, Notified, &[], Phase::Starting),
                (290, ReadyCheckPassed, &[BecameReady], Phase::Running),
                (300, ReadyCheckPassed, &[], Phase::Running),
            ],
        );
        assert_eq!(s.next_deadline(), None);
        assert_eq!(s.status().since, t0 + ms(290));
    }

    #[test]
    fn ready_check_deadlines() {
        let t0 = Instant::now();
        let mut s = Service::new(policy(Restart::Always, CHECK), t0);
        s.handle(Start, t0);
        s.handle(Spawned { pid: 7 }, t0);
        // Check in flight: only the ready timeout.
        assert_eq!(s.next_deadline(), Some(t0 + ms(1000)));
        s.handle(ReadyCheckFailed, t0 + ms(10));
        assert_eq!(s.next_deadline(), Some(t0 + ms(110)));
        s.handle(Timer, t0 + ms(110));
        s.handle(ReadyCheckFailed, t0 + ms(950));
        // The next check would come after the timeout: the timeout is nearer.
        assert_eq!(s.next_deadline(), Some(t0 + ms(1000)));
    }

    #[test]
    fn ready_timeout_is_a_failed_start() {
        let timeout = Log(Note::ReadyTimeout { after: ms(1000) });
        run(
            policy(Restart::OnFailure, CHECK),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Spawned { pid: 7 }, &[RunReadyCheck], Phase::Starting),
                (
                    1000,
                    Timer,
                    &[CancelReadyCheck, Kill, timeout],
                    Phase::Stopping,
                ),
                (1001, ReadyCheckPassed, &[], Phase::Stopping),
                (1002, Timer, &[], Phase::Stopping),
                (
                    1003,
                    Exited {
                        status: WaitStatus::from_raw(KILL),
                    },
                    &[restarting(100)],
                    Phase::Backoff,
                ),
                (1103, Timer, &[Spawn], Phase::Starting),
            ],
        );
    }

    #[test]
    fn stop_during_ready_timeout_kill_is_not_restarted() {
        let timeout = Log(Note::ReadyTimeout { after: ms(1000) });
        run(
            policy(Restart::Always, NOTIFY),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Spawned { pid: 7 }, &[], Phase::Starting),
                (1000, Timer, &[Kill, timeout], Phase::Stopping),
                (1001, Stop, &[], Phase::Stopping),
                (
                    1002,
                    Exited {
                        status: WaitStatus::from_raw(KILL),
                    },
                    &[Stopped],
                    Phase::Stopped,
                ),
            ],
        );
    }

    #[test]
    fn notify_readiness() {
        let timeout = Log(Note::ReadyTimeout { after: ms(1000) });
        let (s, t0) = run(
            policy(Restart::Always, NOTIFY),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Spawned { pid: 7 }, &[], Phase::Starting),
                (10, ReadyCheckPassed, &[], Phase::Starting),
                (20, Notified, &[BecameReady], Phase::Running),
            ],
        );
        assert_eq!(s.status().since, t0 + ms(20));
        let mut p = policy(Restart::Never, NOTIFY);
        p.critical = true;
        let (s, t0) = run(
            p,
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Spawned { pid: 7 }, &[], Phase::Starting),
                (1000, Timer, &[Kill, timeout], Phase::Stopping),
                (
                    1001,
                    Exited {
                        status: WaitStatus::from_raw(KILL),
                    },
                    &[FailedForGood { critical: true }],
                    Phase::Failed,
                ),
            ],
        );
        assert_eq!(s.status().since, t0 + ms(1001));
    }

    #[test]
    fn exit_before_ready_is_a_failed_start() {
        run(
            policy(Restart::OnFailure, CHECK),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Spawned { pid: 7 }, &[RunReadyCheck], Phase::Starting),
                (
                    5,
                    Exited { status: code(0) },
                    &[CancelReadyCheck, exited(code(0), false), restarting(100)],
                    Phase::Backoff,
                ),
            ],
        );
    }

    #[test]
    fn stop_while_starting() {
        run(
            policy(Restart::Always, CHECK),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Spawned { pid: 7 }, &[RunReadyCheck], Phase::Starting),
                (10, Stop, &[CancelReadyCheck, Signal(TERM)], Phase::Stopping),
                (20, ReadyCheckPassed, &[], Phase::Stopping),
                (
                    30,
                    Exited {
                        status: WaitStatus::from_raw(TERM),
                    },
                    &[Stopped],
                    Phase::Stopped,
                ),
            ],
        );
        // Stopped before the spawn was reported: what was spawned is stopped.
        run(
            policy(Restart::Always, Readiness::Immediately),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Stop, &[], Phase::Stopping),
                (1, Spawned { pid: 7 }, &[Signal(TERM)], Phase::Stopping),
                (
                    5001,
                    Timer,
                    &[
                        Kill,
                        Log(Note::StopTimeout {
                            after: ms(5000),
                            signal: TERM,
                        }),
                    ],
                    Phase::Stopping,
                ),
                (
                    5002,
                    Exited {
                        status: WaitStatus::from_raw(KILL),
                    },
                    &[Stopped],
                    Phase::Stopped,
                ),
            ],
        );
        run(
            policy(Restart::Always, Readiness::Immediately),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Stop, &[], Phase::Stopping),
                (
                    1,
                    SpawnFailed { errno: EAGAIN },
                    &[Log(Note::SpawnFailed { errno: EAGAIN }), Stopped],
                    Phase::Stopped,
                ),
            ],
        );
    }

    #[test]
    fn zero_durations_never_spin() {
        let mut p = policy(
            Restart::Always,
            Readiness::Check {
                interval: Duration::ZERO,
                timeout: ms(1000),
            },
        );
        p.restart_delay = Duration::ZERO;
        p.restart_delay_max = Duration::ZERO;
        let t0 = Instant::now();
        let mut s = Service::new(p, t0);
        s.handle(Start, t0);
        s.handle(Spawned { pid: 7 }, t0);
        s.handle(ReadyCheckFailed, t0);
        assert_eq!(s.next_deadline(), Some(t0 + MIN_DELAY));
        s.handle(Exited { status: code(1) }, t0);
        assert_eq!(s.next_deadline(), Some(t0 + MIN_DELAY));
    }
}
