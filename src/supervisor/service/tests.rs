use super::*;
use crate::wait_status::WaitStatus;
use std::time::Duration;
use Action::*;
use Event::*;

pub(super) const TERM: i32 = 15;
pub(super) const KILL: i32 = 9;
pub(super) const EAGAIN: i32 = 11;

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Raw wait status of `exit(code)`.
pub(super) fn raw(status: i32) -> WaitStatus {
    WaitStatus::from_raw(status)
}

/// Wait status of `exit(code)`.
pub(super) fn code(c: i32) -> WaitStatus {
    WaitStatus::from_raw(c << 8)
}

pub(super) fn restarting(delay_ms: u64) -> Action {
    Log(Note::Restarting {
        delay: ms(delay_ms),
    })
}

pub(super) fn exited(status: WaitStatus, ready: bool) -> Action {
    Log(Note::Exited { status, ready })
}

pub(crate) const CHECK: Readiness = Readiness::Check {
    interval: Duration::from_millis(100),
    timeout: Duration::from_millis(1000),
};
pub(super) const NOTIFY: Readiness = Readiness::Notify {
    timeout: Duration::from_millis(1000),
};

pub(crate) fn policy(restart: Restart, ready: Readiness) -> Policy {
    Policy {
        restart,
        restart_delay: ms(100),
        restart_delay_max: ms(1000),
        ready,
        stop_signal: TERM,
        stop_timeout: ms(5000),
        critical: false,
    }
}

/// At `t` ms, feed the event; expect these actions, then this phase.
pub(super) type Step<'a> = (u64, Event, &'a [Action], Phase);

pub(super) fn run(policy: Policy, steps: &[Step]) -> (Service, Instant) {
    let t0 = Instant::now();
    let mut s = Service::new(policy, t0);
    for (i, (at, event, want, phase)) in steps.iter().enumerate() {
        let got = s.handle(*event, t0 + ms(*at));
        assert_eq!(got, *want, "step {i}: {event:?} at {at}ms");
        assert_eq!(s.phase(), *phase, "step {i}: phase after {event:?}");
    }
    (s, t0)
}

#[test]
fn immediate_start_and_clean_stop() {
    let (s, _) = run(
        policy(Restart::Always, Readiness::Immediately),
        &[
            (0, Start, &[Spawn], Phase::Starting),
            (0, Spawned { pid: 7 }, &[BecameReady], Phase::Running),
            (0, Start, &[], Phase::Running),
            (50, Stop, &[Signal(TERM)], Phase::Stopping),
            (
                60,
                Exited {
                    status: WaitStatus::from_raw(TERM),
                },
                &[Stopped],
                Phase::Stopped,
            ),
            (70, Stop, &[], Phase::Stopped),
            (80, Timer, &[], Phase::Stopped),
        ],
    );
    assert_eq!(s.next_deadline(), None);
    assert!(!s.is_up());
}

#[test]
fn stop_timeout_sends_kill_once() {
    let stop_timeout = Log(Note::StopTimeout {
        after: ms(5000),
        signal: TERM,
    });
    let (s, t0) = run(
        policy(Restart::Always, Readiness::Immediately),
        &[
            (0, Start, &[Spawn], Phase::Starting),
            (0, Spawned { pid: 7 }, &[BecameReady], Phase::Running),
            (1000, Stop, &[Signal(TERM)], Phase::Stopping),
            (5999, Timer, &[], Phase::Stopping),
            (6000, Timer, &[Kill, stop_timeout], Phase::Stopping),
            (6001, Timer, &[], Phase::Stopping),
        ],
    );
    assert_eq!(s.next_deadline(), None, "no more wake-ups after SIGKILL");
    let mut s = s;
    let got = s.handle(
        Exited {
            status: WaitStatus::from_raw(KILL),
        },
        t0 + ms(6002),
    );
    assert_eq!(got, [Stopped]);
}

#[test]
fn restart_policies() {
    let fail = |c| FailedForGood { critical: c };
    // (policy, raw status, actions after the exit apart from the Exited note, phase)
    let cases: &[(Restart, WaitStatus, &[Action], Phase)] = &[
        (Restart::Always, code(0), &[restarting(100)], Phase::Backoff),
        (Restart::Always, code(1), &[restarting(100)], Phase::Backoff),
        (
            Restart::Always,
            raw(KILL),
            &[restarting(100)],
            Phase::Backoff,
        ),
        (Restart::OnFailure, code(0), &[Stopped], Phase::Stopped),
        (
            Restart::OnFailure,
            code(3),
            &[restarting(100)],
            Phase::Backoff,
        ),
        (
            Restart::OnFailure,
            raw(KILL),
            &[restarting(100)],
            Phase::Backoff,
        ),
        (
            Restart::OnFailure,
            raw(KILL | 0x80),
            &[restarting(100)],
            Phase::Backoff,
        ),
        (Restart::Never, code(0), &[Stopped], Phase::Stopped),
        (Restart::Never, code(1), &[fail(false)], Phase::Failed),
        (Restart::Never, raw(TERM), &[fail(false)], Phase::Failed),
    ];
    for (restart, status, tail, phase) in cases {
        let mut want = vec![exited(*status, true)];
        want.extend_from_slice(tail);
        let (s, _) = run(
            policy(*restart, Readiness::Immediately),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Spawned { pid: 7 }, &[BecameReady], Phase::Running),
                (500, Exited { status: *status }, &want, *phase),
            ],
        );
        assert_eq!(s.status().last_exit, Some(*status));
    }
    let mut p = policy(Restart::Never, Readiness::Immediately);
    p.critical = true;
    run(
        p,
        &[
            (0, Start, &[Spawn], Phase::Starting),
            (0, Spawned { pid: 7 }, &[BecameReady], Phase::Running),
            (
                9,
                Exited { status: code(2) },
                &[exited(code(2), true), fail(true)],
                Phase::Failed,
            ),
        ],
    );
}

#[test]
fn crash_loop_backs_off_exponentially() {
    let t0 = Instant::now();
    let mut s = Service::new(policy(Restart::Always, Readiness::Immediately), t0);
    assert_eq!(s.handle(Start, t0), [Spawn]);
    let mut now = t0;
    let mut wakeups = 0;
    for (n, want) in [100, 200, 400, 800, 1000, 1000].into_iter().enumerate() {
        s.handle(Spawned { pid: 100 }, now);
        let got = s.handle(Exited { status: code(1) }, now);
        assert_eq!(got, [exited(code(1), true), restarting(want)], "exit {n}");
        let at = s.next_deadline().unwrap_or(now);
        assert_eq!(at.saturating_duration_since(now), ms(want));
        assert_eq!(s.status().next_start, Some(at));
        // Woken early (another service's deadline): nothing happens.
        assert_eq!(s.handle(Timer, at - ms(1)), []);
        now = at;
        assert_eq!(s.handle(Timer, now), [Spawn]);
        wakeups += 1;
        assert_eq!(s.status().restarts, wakeups);
    }
}

#[test]
fn stable_run_resets_backoff() {
    // Three quick exits (100, 200, 400), then one run of `uptime` ms, then the next delay.
    let cases: &[(u64, u64)] = &[(50, 800), (9_999, 800), (10_000, 100), (3_600_000, 100)];
    for (uptime, want) in cases {
        let t0 = Instant::now();
        let mut s = Service::new(policy(Restart::Always, Readiness::Immediately), t0);
        s.handle(Start, t0);
        let mut now = t0;
        for _ in 0..3 {
            s.handle(Spawned { pid: 5 }, now);
            s.handle(Exited { status: code(1) }, now);
            now = s.next_deadline().unwrap_or(now);
            s.handle(Timer, now);
        }
        s.handle(Spawned { pid: 5 }, now);
        let got = s.handle(Exited { status: code(1) }, now + ms(*uptime));
        assert_eq!(got[1], restarting(*want), "uptime {uptime}ms");
    }
}

#[test]
fn spawn_failure_backs_off_like_a_crash() {
    let failed = Log(Note::SpawnFailed { errno: EAGAIN });
    run(
        policy(Restart::OnFailure, Readiness::Immediately),
        &[
            (0, Start, &[Spawn], Phase::Starting),
            (
                0,
                SpawnFailed { errno: EAGAIN },
                &[failed, restarting(100)],
                Phase::Backoff,
            ),
            (50, Timer, &[], Phase::Backoff),
            (100, Timer, &[Spawn], Phase::Starting),
            (
                100,
                SpawnFailed { errno: EAGAIN },
                &[failed, restarting(200)],
                Phase::Backoff,
            ),
            (300, Timer, &[Spawn], Phase::Starting),
            (
                300,
                SpawnFailed { errno: EAGAIN },
                &[failed, restarting(400)],
                Phase::Backoff,
            ),
        ],
    );
    run(
        policy(Restart::Never, Readiness::Immediately),
        &[
            (0, Start, &[Spawn], Phase::Starting),
            (
                0,
                SpawnFailed { errno: EAGAIN },
                &[failed, FailedForGood { critical: false }],
                Phase::Failed,
            ),
            // An operator's start tries again.
            (10, Start, &[Spawn], Phase::Starting),
        ],
    );
}

#[test]
fn stop_during_backoff_is_immediate() {
    run(
        policy(Restart::Always, Readiness::Immediately),
        &[
            (0, Start, &[Spawn], Phase::Starting),
            (0, Spawned { pid: 7 }, &[BecameReady], Phase::Running),
            (
                5,
                Exited { status: code(1) },
                &[exited(code(1), true), restarting(100)],
                Phase::Backoff,
            ),
            (10, Stop, &[Stopped], Phase::Stopped),
            (200, Timer, &[], Phase::Stopped),
            (300, Start, &[Spawn], Phase::Starting),
        ],
    );
}

#[test]
fn operator_start_during_backoff_spawns_now() {
    run(
        policy(Restart::Always, Readiness::Immediately),
        &[
            (0, Start, &[Spawn], Phase::Starting),
            (0, Spawned { pid: 7 }, &[BecameReady], Phase::Running),
            (
                5,
                Exited { status: code(1) },
                &[exited(code(1), true), restarting(100)],
                Phase::Backoff,
            ),
            (10, Start, &[Spawn], Phase::Starting),
        ],
    );
}

#[test]
fn never_restarted_while_stopping() {
    for status in [code(0), code(1), raw(TERM), raw(KILL)] {
        run(
            policy(Restart::Always, Readiness::Immediately),
            &[
                (0, Start, &[Spawn], Phase::Starting),
                (0, Spawned { pid: 7 }, &[BecameReady], Phase::Running),
                (10, Stop, &[Signal(TERM)], Phase::Stopping),
                (10, Stop, &[], Phase::Stopping),
                (20, Exited { status }, &[Stopped], Phase::Stopped),
            ],
        );
    }
}

#[test]
fn stop_then_start_restarts_after_exit() {
    let (s, _) = run(
        policy(Restart::Never, Readiness::Immediately),
        &[
            (0, Start, &[Spawn], Phase::Starting),
            (0, Spawned { pid: 7 }, &[BecameReady], Phase::Running),
            (10, Stop, &[Signal(TERM)], Phase::Stopping),
            (11, Start, &[], Phase::Stopping),
            (
                20,
                Exited {
                    status: WaitStatus::from_raw(TERM),
                },
                &[Spawn],
                Phase::Starting,
            ),
            (20, Spawned { pid: 8 }, &[BecameReady], Phase::Running),
        ],
    );
    assert_eq!(s.status().restarts, 1);
    assert_eq!(s.pid(), Some(8));
}

#[test]
fn status_snapshot() {
    let (s, t0) = run(
        policy(Restart::Always, Readiness::Immediately),
        &[
            (0, Start, &[Spawn], Phase::Starting),
            (0, Spawned { pid: 7 }, &[BecameReady], Phase::Running),
            (
                5,
                Exited { status: code(4) },
                &[exited(code(4), true), restarting(100)],
                Phase::Backoff,
            ),
            (105, Timer, &[Spawn], Phase::Starting),
            (105, Spawned { pid: 9 }, &[BecameReady], Phase::Running),
        ],
    );
    let want = Status {
        phase: Phase::Running,
        pid: Some(9),
        since: t0 + ms(105),
        restarts: 1,
        last_exit: Some(code(4)),
        next_start: None,
    };
    assert_eq!(s.status(), want);
    assert_eq!(want.phase.as_str(), "running");
    assert!(s.is_up());
}

#[test]
fn unexpected_events_change_nothing() {
    let t0 = Instant::now();
    let mut s = Service::new(policy(Restart::Always, CHECK), t0);
    for event in [
        Spawned { pid: 3 },
        SpawnFailed { errno: 1 },
        Exited {
            status: WaitStatus::from_raw(0),
        },
    ] {
        assert_eq!(s.handle(event, t0), [], "{event:?}");
    }
    for event in [ReadyCheckPassed, ReadyCheckFailed, Notified, Timer, Stop] {
        assert_eq!(s.handle(event, t0), [], "{event:?}");
        assert_eq!(s.phase(), Phase::Stopped);
    }
    assert_eq!(s.status().last_exit, None);
}

#[test]
fn absurd_durations_do_not_panic() {
    let huge = Readiness::Check {
        interval: Duration::MAX,
        timeout: Duration::MAX,
    };
    let mut p = policy(Restart::Always, huge);
    p.restart_delay = Duration::MAX;
    p.restart_delay_max = Duration::MAX;
    p.stop_timeout = Duration::MAX;
    let t0 = Instant::now();
    let mut s = Service::new(p, t0);
    s.handle(Start, t0);
    s.handle(Spawned { pid: 7 }, t0);
    s.handle(ReadyCheckFailed, t0);
    assert!(s.next_deadline() > Some(t0));
    s.handle(Exited { status: code(1) }, t0);
    assert!(s.next_deadline() > Some(t0));
    s.handle(Start, t0);
    s.handle(Spawned { pid: 8 }, t0);
    s.handle(Stop, t0);
    assert!(s.next_deadline() > Some(t0));
}

#[test]
fn notes_read_well() {
    let cases: &[(Note, &str)] = &[
        (
            Note::Exited {
                status: code(1),
                ready: true,
            },
            "exited with code 1",
        ),
        (
            Note::Exited {
                status: WaitStatus::from_raw(KILL | 0x80),
                ready: false,
            },
            "was killed by SIGKILL before it was ready",
        ),
        (Note::Restarting { delay: ms(400) }, "restarting in 400ms"),
        (
            Note::ReadyTimeout { after: ms(10_000) },
            "not ready after 10s: killing it",
        ),
        (
            Note::StopTimeout {
                after: ms(5000),
                signal: TERM,
            },
            "still running 5s after SIGTERM: killing it",
        ),
    ];
    for (note, want) in cases {
        assert_eq!(note.to_string(), *want);
    }
    let spawn = Note::SpawnFailed { errno: EAGAIN }.to_string();
    assert!(spawn.starts_with("could not be started: "), "{spawn}");
}
