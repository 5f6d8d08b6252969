//! Restart= (systemd.service(5), "Table 2. Exit causes and the effect of the Restart=
//! settings"), RestartSec=, RestartPreventExitStatus=, SuccessExitStatus=, and the start
//! limit (systemd.unit(5) StartLimitIntervalSec=, StartLimitBurst=) with reset-failed.

use super::*;

#[derive(Debug, Clone, Copy)]
enum Cause {
    CleanCode,
    CleanSignal,
    UncleanCode,
    UncleanSignal,
    CoreDump,
    Timeout,
}

/// Run a unit that ends by `cause`; return it, settled, and the time.
fn end_by(cause: Cause, restart: Restart) -> (Unit, Instant) {
    let kind = match cause {
        Cause::Timeout => ServiceType::Notify,
        _ => ServiceType::Simple,
    };
    let mut s = spec(kind);
    s.restart = restart;
    let t0 = Instant::now();
    let mut u = Unit::new(s, t0);
    u.handle(Start, t0);
    u.handle(Spawned { pid: 10 }, t0);
    let status = match cause {
        Cause::CleanCode => code(0),
        Cause::CleanSignal => sig(TERM),
        Cause::UncleanCode => code(1),
        Cause::UncleanSignal => sig(KILL),
        Cause::CoreDump => WaitStatus::from_raw(11 | 0x80),
        Cause::Timeout => {
            u.handle(Timer, t0 + ms(1000));
            sig(TERM)
        }
    };
    u.handle(exited(10, status), t0 + ms(1000));
    u.handle(GroupEmpty, t0 + ms(1000));
    (u, t0)
}

/// Table 2: which exit causes restart under which Restart= value (watchdog is not run yet).
#[test]
fn restart_matrix() {
    use Restart::*;
    let values = [
        No, Always, OnSuccess, OnFailure, OnAbnormal, OnAbort, OnWatchdog,
    ];
    // The table's rows: X for each column in `values` order.
    let rows: [(Cause, UnitResult, [bool; 7]); 6] = [
        (
            Cause::CleanCode,
            UnitResult::Success,
            [false, true, true, false, false, false, false],
        ),
        (
            Cause::CleanSignal,
            UnitResult::Success,
            [false, true, true, false, false, false, false],
        ),
        (
            Cause::UncleanCode,
            UnitResult::ExitCode,
            [false, true, false, true, false, false, false],
        ),
        (
            Cause::UncleanSignal,
            UnitResult::Signal,
            [false, true, false, true, true, true, false],
        ),
        (
            Cause::CoreDump,
            UnitResult::CoreDump,
            [false, true, false, true, true, true, false],
        ),
        (
            Cause::Timeout,
            UnitResult::Timeout,
            [false, true, false, true, true, false, false],
        ),
    ];
    for (cause, result, row) in rows {
        for (restart, want) in values.into_iter().zip(row) {
            let (u, _) = end_by(cause, restart);
            let got = u.sub_state() == S::AutoRestart;
            assert_eq!(got, want, "{cause:?} with {restart:?}");
            assert_eq!(u.result(), result, "{cause:?} with {restart:?}");
            if !want {
                let end = if result.is_failure() {
                    S::Failed
                } else {
                    S::Dead
                };
                assert_eq!(u.sub_state(), end, "{cause:?} with {restart:?}");
            }
        }
    }
}

/// RestartSec= then a new start, counted in n_restarts; the start resets Result=.
#[test]
fn auto_restart_after_restart_sec() {
    let mut s = spec(ServiceType::Simple);
    s.restart = Restart::OnFailure;
    let scheduled = Action::Log(Note::RestartScheduled {
        delay: ms(100),
        count: 1,
    });
    let (u, _) = run(
        s,
        &[
            (
                0,
                Start,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (
                0,
                Spawned { pid: 10 },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
            (
                50,
                exited(10, code(1)),
                vec![main_note(0, code(1), false), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                50,
                GroupEmpty,
                vec![finished(UnitResult::ExitCode), scheduled],
                (A::Activating, S::AutoRestart),
            ),
            (149, Timer, vec![], (A::Activating, S::AutoRestart)),
            (
                150,
                Timer,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (
                150,
                Spawned { pid: 11 },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
        ],
    );
    assert_eq!(u.n_restarts(), 1);
    assert_eq!(u.result(), UnitResult::Success);
    assert_eq!(
        u.exec_main_status(),
        Some(code(1)),
        "kept from the last run"
    );
}

/// Restart=: "the service will not be restarted if the exit code or signal is specified
/// in RestartPreventExitStatus= or the service is stopped with systemctl stop"; and
/// SuccessExitStatus= makes an exit clean.
#[test]
fn restart_exceptions() {
    // RestartPreventExitStatus=3
    let mut s = spec(ServiceType::Simple);
    s.restart = Restart::Always;
    s.restart_prevent_exit_status.codes = vec![3];
    let t0 = Instant::now();
    let mut u = Unit::new(s, t0);
    u.handle(Start, t0);
    u.handle(Spawned { pid: 10 }, t0);
    u.handle(exited(10, code(3)), t0);
    assert_eq!(
        u.handle(GroupEmpty, t0),
        [finished(UnitResult::ExitCode), FailedForGood]
    );
    // SuccessExitStatus=3 SIGKILL with Restart=on-failure: clean, so not restarted.
    for status in [code(3), sig(KILL)] {
        let mut s = spec(ServiceType::Simple);
        s.restart = Restart::OnFailure;
        s.success_exit_status.codes = vec![3];
        s.success_exit_status.signals = vec![KILL];
        let mut u = Unit::new(s, t0);
        u.handle(Start, t0);
        u.handle(Spawned { pid: 10 }, t0);
        let got = u.handle(exited(10, status), t0);
        assert_eq!(got, [main_note(0, status, true), all(TERM)]);
        assert_eq!(
            u.handle(GroupEmpty, t0),
            [finished(UnitResult::Success), Stopped]
        );
    }
    // An operator stop with Restart=always, also during auto-restart.
    let mut s = spec(ServiceType::Simple);
    s.restart = Restart::Always;
    run(
        s,
        &[
            (
                0,
                Start,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (
                0,
                Spawned { pid: 10 },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
            (10, Stop, vec![all(TERM)], (A::Deactivating, S::StopSigterm)),
            (
                10,
                exited(10, code(1)),
                vec![main_note(0, code(1), false), all(TERM)],
                (A::Deactivating, S::FinalSigterm),
            ),
            (
                10,
                GroupEmpty,
                vec![finished(UnitResult::ExitCode), FailedForGood],
                (A::Failed, S::Failed),
            ),
            (
                20,
                Start,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (
                20,
                Spawned { pid: 11 },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
            (
                30,
                exited(11, code(0)),
                vec![main_note(0, code(0), true), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                30,
                GroupEmpty,
                vec![
                    finished(UnitResult::Success),
                    Action::Log(Note::RestartScheduled {
                        delay: ms(100),
                        count: 1,
                    }),
                ],
                (A::Activating, S::AutoRestart),
            ),
            (40, Stop, vec![Stopped], (A::Inactive, S::Dead)),
            (200, Timer, vec![], (A::Inactive, S::Dead)),
        ],
    );
}

/// systemd.unit(5) StartLimitBurst=: "units which are started more than burst times
/// within an interval time span are not permitted to start any more"; reset-failed
/// (systemctl(1)) clears the counter.
#[test]
fn start_limit_and_reset_failed() {
    let mut s = spec(ServiceType::Simple);
    s.restart = Restart::Always;
    s.start_limit_burst = 2;
    let crash = |pid: i32, at: u64| -> [Step; 2] {
        [
            (
                at,
                exited(pid, code(1)),
                vec![main_note(0, code(1), false), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                at,
                GroupEmpty,
                vec![
                    finished(UnitResult::ExitCode),
                    Action::Log(Note::RestartScheduled {
                        delay: ms(100),
                        count: 1 + (at / 1000) as u32,
                    }),
                ],
                (A::Activating, S::AutoRestart),
            ),
        ]
    };
    let hit = vec![
        Action::Log(Note::StartLimitHit),
        finished(UnitResult::StartLimitHit),
        FailedForGood,
    ];
    let mut steps: Vec<Step> = vec![
        (
            0,
            Start,
            vec![spawn(X::Start, 0)],
            (A::Activating, S::Start),
        ),
        (
            0,
            Spawned { pid: 10 },
            vec![BecameActive],
            (A::Active, S::Running),
        ),
    ];
    steps.extend(crash(10, 0));
    steps.extend([
        (
            100,
            Timer,
            vec![spawn(X::Start, 0)],
            (A::Activating, S::Start),
        ),
        (
            100,
            Spawned { pid: 11 },
            vec![BecameActive],
            (A::Active, S::Running),
        ),
    ]);
    steps.extend(crash(11, 1000));
    steps.extend([
        // The third start within 10s: refused, for good.
        (1100, Timer, hit.clone(), (A::Failed, S::Failed)),
        (1200, Start, hit.clone(), (A::Failed, S::Failed)),
        (1300, Event::ResetFailed, vec![], (A::Inactive, S::Dead)),
        (
            1400,
            Start,
            vec![spawn(X::Start, 0)],
            (A::Activating, S::Start),
        ),
    ]);
    let (u, _) = run(s.clone(), &steps);
    assert_eq!(u.n_restarts(), 0, "an operator start after reset-failed");
    // The window passes: starting is allowed again without reset-failed.
    let mut steps: Vec<Step> = steps[..9].to_vec();
    steps.push((
        10_000,
        Start,
        vec![spawn(X::Start, 0)],
        (A::Activating, S::Start),
    ));
    run(s, &steps);
}
