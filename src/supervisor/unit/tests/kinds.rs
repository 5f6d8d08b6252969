//! Type=forking (PIDFile=), Type=oneshot (several ExecStart=, RemainAfterExit=) and
//! Type=notify (READY=1, MAINPID=, the start timeout).

use super::*;

/// systemd.service(5) Type=forking: "the service is considered started once the parent
/// process exits"; PIDFile= names the main process.
#[test]
fn forking_with_pid_file() {
    let mut s = spec(ServiceType::Forking);
    s.has_pid_file = true;
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
                30,
                exited(10, code(0)),
                vec![ctl_note(X::Start, 0, code(0), true), ReadPidFile],
                (A::Activating, S::Start),
            ),
            (
                30,
                Event::PidFile { pid: Some(12) },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
            (40, Stop, vec![all(TERM)], (A::Deactivating, S::StopSigterm)),
            (
                45,
                exited(12, sig(TERM)),
                vec![main_note(0, sig(TERM), true), all(TERM)],
                (A::Deactivating, S::FinalSigterm),
            ),
            (
                45,
                GroupEmpty,
                vec![finished(UnitResult::Success), Stopped],
                (A::Inactive, S::Dead),
            ),
        ],
    );
    assert_eq!(u.exec_main_status(), Some(sig(TERM)));
}

/// A PID file naming nothing: no main pid, so (service.c service_good) the unit is up
/// while its group is; it then stops, successfully.
#[test]
fn forking_without_pid_runs_until_group_empty() {
    let mut s = spec(ServiceType::Forking);
    s.has_pid_file = true;
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
                30,
                exited(10, code(0)),
                vec![ctl_note(X::Start, 0, code(0), true), ReadPidFile],
                (A::Activating, S::Start),
            ),
            (
                30,
                Event::PidFile { pid: None },
                vec![Action::Log(Note::NoPidFile), BecameActive],
                (A::Active, S::Running),
            ),
            (
                500,
                GroupEmpty,
                vec![finished(UnitResult::Success), Stopped],
                (A::Inactive, S::Dead),
            ),
        ],
    );
    assert_eq!(u.main_pid(), None);
}

/// A daemon that writes its PID file a moment after its start process exits: systemd
/// watches the file ("PID file not readable (yet?) after start"); it is read again every
/// 50 ms while the unit runs without a main pid, and its pid becomes the main one.
#[test]
fn forking_pid_file_written_late_is_read_again() {
    let mut s = spec(ServiceType::Forking);
    s.has_pid_file = true;
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
                5,
                exited(10, code(0)),
                vec![ctl_note(X::Start, 0, code(0), true), ReadPidFile],
                (A::Activating, S::Start),
            ),
            (
                5,
                Event::PidFile { pid: None },
                vec![Action::Log(Note::NoPidFile), BecameActive],
                (A::Active, S::Running),
            ),
            (30, Timer, vec![], (A::Active, S::Running)),
            (55, Timer, vec![ReadPidFile], (A::Active, S::Running)),
            (
                56,
                Event::PidFile { pid: None },
                vec![],
                (A::Active, S::Running),
            ),
            (106, Timer, vec![ReadPidFile], (A::Active, S::Running)),
            (
                107,
                Event::PidFile { pid: Some(42) },
                vec![],
                (A::Active, S::Running),
            ),
        ],
    );
    assert_eq!(u.main_pid(), Some(42));
    assert_eq!(u.next_deadline(), None, "no more reading once it is known");
}

/// The start process of Type=forking failing fails the start.
#[test]
fn forking_start_process_failure() {
    run(
        spec(ServiceType::Forking),
        &[
            (
                0,
                Start,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (0, Spawned { pid: 10 }, vec![], (A::Activating, S::Start)),
            (
                30,
                exited(10, code(2)),
                vec![ctl_note(X::Start, 0, code(2), false), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                30,
                GroupEmpty,
                vec![finished(UnitResult::ExitCode), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
}

/// systemd.service(5) Type=oneshot: several ExecStart= run one after another; without
/// RemainAfterExit= the unit goes from activating to inactive (BecameActive then Stopped,
/// so that units after it start); with it, it stays active (exited).
#[test]
fn oneshot_runs_each_exec_start() {
    for remain in [false, true] {
        let mut s = spec(ServiceType::Oneshot);
        s.commands.start = vec![false, false];
        s.remain_after_exit = remain;
        let end: Vec<Action> = if remain {
            vec![main_note(1, code(0), true), BecameActive]
        } else {
            vec![main_note(1, code(0), true), BecameActive, all(TERM)]
        };
        let end_state = if remain {
            (A::Active, S::Exited)
        } else {
            (A::Deactivating, S::StopSigterm)
        };
        let (mut u, t0) = run(
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
                    vec![main_note(0, code(0), true), spawn(X::Start, 1)],
                    (A::Activating, S::Start),
                ),
                (10, Spawned { pid: 11 }, vec![], (A::Activating, S::Start)),
                (20, exited(11, code(0)), end, end_state),
            ],
        );
        let last = u.handle(GroupEmpty, t0 + ms(20));
        if remain {
            assert_eq!(last, []);
            assert_eq!(u.sub_state(), S::Exited);
        } else {
            assert_eq!(last, [finished(UnitResult::Success), Stopped]);
            assert_eq!(u.sub_state(), S::Dead);
        }
    }
}

/// Type=oneshot: a failing ExecStart= stops the list; no clean signals for oneshot
/// (SuccessExitStatus=: "except for Type=oneshot").
#[test]
fn oneshot_failure_and_timeout() {
    let mut s = spec(ServiceType::Oneshot);
    s.commands.start = vec![false, false];
    run(
        s.clone(),
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
                exited(10, sig(TERM)),
                vec![main_note(0, sig(TERM), false), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                10,
                GroupEmpty,
                vec![finished(UnitResult::Signal), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
    // TimeoutStartSec= applies to each ExecStart= of a oneshot.
    run(
        s,
        &[
            (
                0,
                Start,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (0, Spawned { pid: 10 }, vec![], (A::Activating, S::Start)),
            (999, Timer, vec![], (A::Activating, S::Start)),
            (
                1000,
                Timer,
                vec![timed_out(S::Start), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                1010,
                exited(10, sig(TERM)),
                vec![main_note(0, sig(TERM), false), all(TERM)],
                (A::Deactivating, S::FinalSigterm),
            ),
            (
                1010,
                GroupEmpty,
                vec![finished(UnitResult::Timeout), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
}

/// systemd.service(5) Type=notify: started on READY=1; MAINPID= sets the main pid; the
/// start times out after TimeoutStartSec=; exiting before READY=1 is a failure.
#[test]
fn notify_ready_mainpid_timeout_and_early_exit() {
    let s = spec(ServiceType::Notify);
    let (u, _) = run(
        s.clone(),
        &[
            (
                0,
                Start,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (0, Spawned { pid: 10 }, vec![], (A::Activating, S::Start)),
            (
                100,
                Event::Notify {
                    ready: true,
                    reloading: false,
                    stopping: false,
                    main_pid: Some(11),
                },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
        ],
    );
    assert_eq!(u.main_pid(), Some(11));
    run(
        s.clone(),
        &[
            (
                0,
                Start,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (0, Spawned { pid: 10 }, vec![], (A::Activating, S::Start)),
            (
                1000,
                Timer,
                vec![timed_out(S::Start), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (1000, ready(), vec![], (A::Deactivating, S::StopSigterm)),
            (
                3000,
                Timer,
                vec![timed_out(S::StopSigterm), all(KILL)],
                (A::Deactivating, S::StopSigkill),
            ),
            (
                3001,
                exited(10, sig(KILL)),
                vec![main_note(0, sig(KILL), false), all(TERM)],
                (A::Deactivating, S::FinalSigterm),
            ),
            (
                3001,
                GroupEmpty,
                vec![finished(UnitResult::Timeout), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
    run(
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
                vec![
                    main_note(0, code(0), true),
                    Action::Log(Note::ExitedBeforeReady),
                    all(TERM),
                ],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                10,
                GroupEmpty,
                vec![finished(UnitResult::Protocol), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
}
