//! Starting: Type=simple and Type=exec, ExecCondition=, ExecStartPre= with and without
//! the `-` prefix, a failed spawn.

use super::*;

/// systemd.service(5) Type=simple: "the service manager will consider the unit started
/// immediately after the main service process has been forked off". A clean exit on its
/// own runs the stop steps (ExecStop= "is always performed if the service started
/// successfully"), and ends dead, not failed.
#[test]
fn simple_runs_until_its_main_exits() {
    let mut s = spec(ServiceType::Simple);
    s.commands.stop = vec![false];
    let (u, t0) = run(
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
            (0, Start, vec![], (A::Active, S::Running)),
            (
                50,
                exited(10, code(0)),
                vec![main_note(0, code(0), true), spawn(X::Stop, 0)],
                (A::Deactivating, S::Stop),
            ),
            (50, Spawned { pid: 11 }, vec![], (A::Deactivating, S::Stop)),
            (
                60,
                exited(11, code(0)),
                vec![ctl_note(X::Stop, 0, code(0), true), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                60,
                GroupEmpty,
                vec![finished(UnitResult::Success), Stopped],
                (A::Inactive, S::Dead),
            ),
        ],
    );
    assert_eq!(u.exec_main_status(), Some(code(0)));
    assert_eq!(u.result(), UnitResult::Success);
    assert_eq!(u.active_since(), Some(t0));
    assert_eq!(u.since(), t0 + ms(60));
    assert!(!u.is_up());
    assert_eq!(u.next_deadline(), None);
}

/// systemd.service(5) Type=exec: started once execve() succeeded; the driver reports an
/// exec failure as SpawnFailed, so Spawned means started. A failing main process skips
/// ExecStop= (service.c service_enter_running) and the unit ends failed.
#[test]
fn exec_fails_when_main_exits_non_zero() {
    let mut s = spec(ServiceType::Exec);
    s.commands.stop = vec![false];
    s.commands.start_post = vec![false];
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
                vec![spawn(X::StartPost, 0)],
                (A::Activating, S::StartPost),
            ),
            (
                0,
                Spawned { pid: 11 },
                vec![],
                (A::Activating, S::StartPost),
            ),
            (
                5,
                exited(11, code(0)),
                vec![ctl_note(X::StartPost, 0, code(0), true), BecameActive],
                (A::Active, S::Running),
            ),
            (
                50,
                exited(10, code(3)),
                vec![main_note(0, code(3), false), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                50,
                GroupEmpty,
                vec![finished(UnitResult::ExitCode), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
    assert_eq!(u.result(), UnitResult::ExitCode);
    assert_eq!(u.main_pid(), None);
}

/// The driver's exec failure: result `resources`, the unit fails.
#[test]
fn spawn_failure_is_resources() {
    let (u, _) = run(
        spec(ServiceType::Exec),
        &[
            (
                0,
                Start,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (
                0,
                Event::SpawnFailed { errno: 13 },
                vec![
                    Action::Log(Note::SpawnFailed {
                        exec: r(X::Start, 0),
                        errno: 13,
                    }),
                    finished(UnitResult::Resources),
                    FailedForGood,
                ],
                (A::Failed, S::Failed),
            ),
        ],
    );
    assert_eq!(u.result().as_str(), "resources");
}

/// systemd.service(5) ExecStartPre=: "If any of those commands (not prefixed with "-")
/// fail, the rest are not executed and the unit is considered failed"; service.c then
/// skips ExecStop= and runs ExecStopPost=.
#[test]
fn start_pre_failure_fails_the_start() {
    let mut s = spec(ServiceType::Simple);
    s.commands.start_pre = vec![false, false];
    s.commands.stop = vec![false];
    s.commands.stop_post = vec![false];
    run(
        s,
        &[
            (
                0,
                Start,
                vec![spawn(X::StartPre, 0)],
                (A::Activating, S::StartPre),
            ),
            (0, Spawned { pid: 5 }, vec![], (A::Activating, S::StartPre)),
            (
                10,
                exited(5, code(1)),
                vec![ctl_note(X::StartPre, 0, code(1), false), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                10,
                GroupEmpty,
                vec![spawn(X::StopPost, 0)],
                (A::Deactivating, S::StopPost),
            ),
            (
                10,
                Spawned { pid: 6 },
                vec![],
                (A::Deactivating, S::StopPost),
            ),
            (
                20,
                exited(6, code(0)),
                vec![ctl_note(X::StopPost, 0, code(0), true), all(TERM)],
                (A::Deactivating, S::FinalSigterm),
            ),
            (
                20,
                GroupEmpty,
                vec![finished(UnitResult::ExitCode), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
}

/// systemd.service(5) "Command lines": with the "-" prefix "an exit code of the command
/// normally considered a failure ... is recorded, but has no further effect".
#[test]
fn start_pre_failure_ignored_with_dash() {
    let mut s = spec(ServiceType::Simple);
    s.commands.start_pre = vec![true, false];
    run(
        s,
        &[
            (
                0,
                Start,
                vec![spawn(X::StartPre, 0)],
                (A::Activating, S::StartPre),
            ),
            (0, Spawned { pid: 5 }, vec![], (A::Activating, S::StartPre)),
            (
                10,
                exited(5, code(1)),
                vec![
                    ctl_note(X::StartPre, 0, code(1), true),
                    spawn(X::StartPre, 1),
                ],
                (A::Activating, S::StartPre),
            ),
            (10, Spawned { pid: 6 }, vec![], (A::Activating, S::StartPre)),
            (
                20,
                exited(6, code(0)),
                vec![ctl_note(X::StartPre, 1, code(0), true), spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (
                20,
                Spawned { pid: 7 },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
        ],
    );
}

/// systemd.service(5) ExecCondition=: exit 1..254 "the remaining commands are skipped and
/// the unit is not marked as failed"; 255 or a signal fails it. Restart=always does not
/// apply to a skip.
#[test]
fn exec_condition_skips_or_fails() {
    // (status, final actions, end state, result)
    let skip = code(1);
    let cases: [(WaitStatus, Action, SubState, UnitResult); 3] = [
        (skip, Stopped, S::Dead, UnitResult::ExecCondition),
        (code(255), FailedForGood, S::Failed, UnitResult::ExitCode),
        (sig(KILL), FailedForGood, S::Failed, UnitResult::Signal),
    ];
    for (status, last, end, result) in cases {
        let mut s = spec(ServiceType::Simple);
        s.commands.condition = vec![false];
        s.restart = if end == S::Dead {
            Restart::Always
        } else {
            Restart::No
        };
        let mut want = vec![];
        if end == S::Dead {
            want.push(Action::Log(Note::ConditionFailed { status }));
        }
        want.extend([ctl_note(X::Condition, 0, status, false), all(TERM)]);
        let (u, _) = run(
            s,
            &[
                (
                    0,
                    Start,
                    vec![spawn(X::Condition, 0)],
                    (A::Activating, S::Condition),
                ),
                (0, Spawned { pid: 5 }, vec![], (A::Activating, S::Condition)),
                (
                    10,
                    exited(5, status),
                    want,
                    (A::Deactivating, S::StopSigterm),
                ),
                (
                    10,
                    GroupEmpty,
                    vec![finished(result), last],
                    (end.active_state(), end),
                ),
            ],
        );
        assert_eq!(u.result(), result, "{status}");
    }
}
