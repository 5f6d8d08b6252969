//! Edge cases: a missing program with `-`, unknown pids, a start queued behind a stop, an
//! operator start during auto-restart, sd_notify STOPPING=1 and RELOADING=1, ExecStartPost=
//! before the PID file is read, and the queries.

use super::*;

fn notify(reloading: bool, stopping: bool) -> Event {
    Event::Notify {
        ready: false,
        reloading,
        stopping,
        main_pid: None,
    }
}

/// systemd.service(5) "Command lines": with "-", a missing executable is skipped (service.c
/// logs "Executable missing, skipping"); other spawn failures still fail.
#[test]
fn dash_skips_a_missing_program() {
    let mut s = spec(ServiceType::Simple);
    s.commands.start_pre = vec![true];
    let skipped = Action::Log(Note::SpawnFailed {
        exec: r(X::StartPre, 0),
        errno: 2,
    });
    run(
        s.clone(),
        &[
            (
                0,
                Start,
                vec![spawn(X::StartPre, 0)],
                (A::Activating, S::StartPre),
            ),
            (
                0,
                Event::SpawnFailed { errno: 2 },
                vec![skipped, spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
        ],
    );
    let failed = Action::Log(Note::SpawnFailed {
        exec: r(X::StartPre, 0),
        errno: 11,
    });
    let (u, _) = run(
        s,
        &[
            (
                0,
                Start,
                vec![spawn(X::StartPre, 0)],
                (A::Activating, S::StartPre),
            ),
            (
                0,
                Event::SpawnFailed { errno: 11 },
                vec![failed, finished(UnitResult::Resources), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
    assert!(!u.is_up());
}

/// Exits of pids that are neither main nor control are ignored; so are stale answers.
#[test]
fn unknown_pids_and_stale_answers() {
    run(
        spec(ServiceType::Simple),
        &[
            (0, Spawned { pid: 3 }, vec![], (A::Inactive, S::Dead)),
            (
                0,
                Event::PidFile { pid: Some(3) },
                vec![],
                (A::Inactive, S::Dead),
            ),
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
            (1, exited(99, code(1)), vec![], (A::Active, S::Running)),
            (1, GroupEmpty, vec![], (A::Active, S::Running)),
            (1, Event::ResetFailed, vec![], (A::Active, S::Running)),
        ],
    );
}

/// A start during a stop waits for the stop to end (systemd's job queue), then runs; a stop
/// after it cancels it.
#[test]
fn start_queued_behind_stop() {
    let steps = |then_stop: bool| -> Vec<Step> {
        let mut v: Vec<Step> = vec![
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
            (11, Start, vec![], (A::Deactivating, S::StopSigterm)),
        ];
        if then_stop {
            v.push((12, Stop, vec![], (A::Deactivating, S::StopSigterm)));
        }
        v.push((
            20,
            exited(10, sig(TERM)),
            vec![main_note(0, sig(TERM), true), all(TERM)],
            (A::Deactivating, S::FinalSigterm),
        ));
        v.push(if then_stop {
            (
                20,
                GroupEmpty,
                vec![finished(UnitResult::Success), Stopped],
                (A::Inactive, S::Dead),
            )
        } else {
            (
                20,
                GroupEmpty,
                vec![finished(UnitResult::Success), spawn(X::Start, 0)],
                (A::Activating, S::Start),
            )
        });
        v
    };
    run(spec(ServiceType::Simple), &steps(false));
    run(spec(ServiceType::Simple), &steps(true));
}

/// An operator start during auto-restart starts at once and keeps the restart count.
#[test]
fn start_during_auto_restart() {
    let mut s = spec(ServiceType::Simple);
    s.restart = Restart::Always;
    s.restart_sec = ms(5000);
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
                10,
                exited(10, code(1)),
                vec![main_note(0, code(1), false), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                10,
                GroupEmpty,
                vec![
                    finished(UnitResult::ExitCode),
                    Action::Log(Note::RestartScheduled {
                        delay: ms(5000),
                        count: 1,
                    }),
                ],
                (A::Activating, S::AutoRestart),
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
            (5010, Timer, vec![], (A::Active, S::Running)),
        ],
    );
    assert_eq!(u.result(), UnitResult::Success);
    assert_eq!(u.next_deadline(), None);
}

/// sd_notify(3) STOPPING=1: stop-sigterm without a signal (the service stops itself), and
/// Restart= still applies; RELOADING=1 ... READY=1 is a reload without ExecReload=.
#[test]
fn notify_stopping_and_reloading() {
    let mut s = spec(ServiceType::Notify);
    s.restart = Restart::OnSuccess;
    let up: Vec<Step> = vec![
        (
            0,
            Start,
            vec![spawn(X::Start, 0)],
            (A::Activating, S::Start),
        ),
        (0, Spawned { pid: 10 }, vec![], (A::Activating, S::Start)),
        (5, ready(), vec![BecameActive], (A::Active, S::Running)),
    ];
    let mut steps = up.clone();
    steps.extend([
        (10, notify(true, false), vec![], (A::Reloading, S::Reload)),
        (20, ready(), vec![], (A::Active, S::Running)),
        (30, notify(true, false), vec![], (A::Reloading, S::Reload)),
        (
            1030,
            Timer,
            vec![
                timed_out(S::Reload),
                Action::Log(Note::ReloadFailed {
                    result: UnitResult::Timeout,
                }),
            ],
            (A::Active, S::Running),
        ),
        (
            1040,
            notify(false, true),
            vec![],
            (A::Deactivating, S::StopSigterm),
        ),
        (
            1050,
            exited(10, code(0)),
            vec![main_note(0, code(0), true), all(TERM)],
            (A::Deactivating, S::FinalSigterm),
        ),
        (
            1050,
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
    ]);
    run(s.clone(), &steps);
    // STOPPING=1 and then TimeoutStopSec=: SIGKILL, result timeout.
    let mut steps = up;
    steps.extend([
        (
            10,
            notify(false, true),
            vec![],
            (A::Deactivating, S::StopSigterm),
        ),
        (
            2010,
            Timer,
            vec![timed_out(S::StopSigterm), all(KILL)],
            (A::Deactivating, S::StopSigkill),
        ),
    ]);
    run(s, &steps);
}

/// Type=forking with ExecStartPost=: the PID file may be written by it, so it is read after
/// (service.c: "The PID file might actually be created by a START_POST script").
#[test]
fn forking_reads_pid_file_after_start_post() {
    let mut s = spec(ServiceType::Forking);
    s.has_pid_file = true;
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
            (0, Spawned { pid: 10 }, vec![], (A::Activating, S::Start)),
            (
                10,
                exited(10, code(0)),
                vec![ctl_note(X::Start, 0, code(0), true), ReadPidFile],
                (A::Activating, S::Start),
            ),
            (
                10,
                Event::PidFile { pid: None },
                vec![Action::Log(Note::NoPidFile), spawn(X::StartPost, 0)],
                (A::Activating, S::StartPost),
            ),
            (
                10,
                Spawned { pid: 12 },
                vec![],
                (A::Activating, S::StartPost),
            ),
            (
                20,
                exited(12, code(0)),
                vec![ctl_note(X::StartPost, 0, code(0), true), ReadPidFile],
                (A::Activating, S::StartPost),
            ),
            (
                20,
                Event::PidFile { pid: Some(11) },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
        ],
    );
    assert_eq!(u.main_pid(), Some(11));
    assert!(u.settled() && u.is_up());
}

/// systemd.unit(5) StartLimitBurst=: an operator's starts count too; the result says so.
#[test]
fn start_limit_on_operator_starts() {
    let mut s = spec(ServiceType::Oneshot);
    s.start_limit_burst = 1;
    s.commands.start = vec![];
    s.remain_after_exit = true;
    let (u, _) = run(
        s,
        &[
            (0, Start, vec![BecameActive], (A::Active, S::Exited)),
            (
                1,
                Stop,
                vec![finished(UnitResult::Success), Stopped],
                (A::Inactive, S::Dead),
            ),
            (
                2,
                Start,
                vec![
                    Action::Log(Note::StartLimitHit),
                    finished(UnitResult::StartLimitHit),
                    FailedForGood,
                ],
                (A::Failed, S::Failed),
            ),
        ],
    );
    assert_eq!(u.result().as_str(), "start-limit-hit");
    assert!(u.settled() && !u.is_up());
}
