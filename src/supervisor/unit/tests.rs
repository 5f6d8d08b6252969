//! Step scripts: at `t` ms feed the event, expect exactly these actions, then this
//! (ActiveState, SubState). Starting, per Type=; stopping and restarting are in
//! `tests/stop.rs` and `tests/restart.rs`.

use super::*;
use crate::units::service::{ExitStatusSet, KillMode, Restart, ServiceType};
use crate::wait_status::WaitStatus;
use std::time::Duration;
use ActiveState as A;
use SubState as S;

mod restart;
mod stop;

pub(super) const TERM: i32 = 15;
pub(super) const KILL: i32 = 9;

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Spec with one ExecStart=, TimeoutStartSec=1s, TimeoutStopSec=2s, RestartSec=100ms,
/// Restart=no, StartLimit 10s/5, KillMode=control-group.
pub(super) fn spec(kind: ServiceType) -> Spec {
    Spec {
        kind,
        commands: Commands {
            start: vec![false],
            ..Commands::default()
        },
        remain_after_exit: false,
        guess_main_pid: true,
        has_pid_file: false,
        restart: Restart::No,
        restart_sec: ms(100),
        start_limit_interval: ms(10_000),
        start_limit_burst: 5,
        success_exit_status: ExitStatusSet::default(),
        restart_prevent_exit_status: ExitStatusSet::default(),
        timeout_start: Some(ms(1000)),
        timeout_stop: Some(ms(2000)),
        kill_mode: KillMode::ControlGroup,
        kill_signal: TERM,
        send_sigkill: true,
        final_kill_signal: KILL,
        watchdog: None,
    }
}

pub(super) fn code(c: u8) -> WaitStatus {
    WaitStatus::exited(c)
}

pub(super) fn sig(s: i32) -> WaitStatus {
    WaitStatus::killed(s)
}

pub(super) fn r(kind: ExecKind, index: usize) -> ExecRef {
    ExecRef { kind, index }
}

pub(super) fn spawn(kind: ExecKind, index: usize) -> Action {
    Action::Spawn(r(kind, index))
}

pub(super) fn exited(pid: i32, status: WaitStatus) -> Event {
    Event::Exited { pid, status }
}

/// The note of a main process exit of ExecStart= number `index`.
pub(super) fn main_note(index: usize, status: WaitStatus, success: bool) -> Action {
    Action::Log(Note::Exited {
        exec: r(ExecKind::Start, index),
        main: true,
        status,
        success,
    })
}

/// The note of a control process exit.
pub(super) fn ctl_note(kind: ExecKind, index: usize, status: WaitStatus, success: bool) -> Action {
    Action::Log(Note::Exited {
        exec: r(kind, index),
        main: false,
        status,
        success,
    })
}

pub(super) fn finished(result: UnitResult) -> Action {
    Action::Log(Note::Finished { result })
}

pub(super) fn all(signal: i32) -> Action {
    Action::Signal {
        target: Target::All,
        signal,
    }
}

pub(super) fn timed_out(state: SubState) -> Action {
    Action::Log(Note::TimedOut { state })
}

pub(super) fn ready() -> Event {
    Event::Notify {
        ready: true,
        reloading: false,
        stopping: false,
        main_pid: None,
    }
}

pub(super) type Step = (u64, Event, Vec<Action>, (ActiveState, SubState));

pub(super) fn run(spec: Spec, steps: &[Step]) -> (Unit, Instant) {
    let t0 = Instant::now();
    let mut u = Unit::new(spec, t0);
    for (i, (at, event, want, state)) in steps.iter().enumerate() {
        let got = u.handle(*event, t0 + ms(*at));
        assert_eq!(&got, want, "step {i}: {event:?} at {at}ms");
        let now = (u.active_state(), u.sub_state());
        assert_eq!(now, *state, "step {i}: state after {event:?}");
    }
    (u, t0)
}

use Action::{BecameActive, FailedForGood, ReadPidFile, Stopped};
use Event::{GroupEmpty, Spawned, Start, Stop, Timer};
use ExecKind as X;

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

/// Spec::from_unit: Idle runs as Simple; the `-` flags per command; the rest copied.
#[test]
fn spec_from_unit() {
    use crate::units::exec::{Command, Prefixes};
    use crate::units::service::{ServiceSection, ServiceUnit, UnitSection};
    let cmd = |ignore: bool| Command {
        prefixes: Prefixes {
            ignore_failure: ignore,
            ..Prefixes::default()
        },
        path: "/bin/true".into(),
        args: vec!["/bin/true".into()],
    };
    let service = ServiceSection {
        kind: ServiceType::Idle,
        exec_start: vec![cmd(false)],
        exec_start_pre: vec![cmd(true), cmd(false)],
        exec_stop_post: vec![cmd(true)],
        pid_file: Some("/run/x.pid".into()),
        timeout_stop: None,
        ..ServiceSection::default()
    };
    let u = ServiceUnit {
        name: "x.service".into(),
        unit: UnitSection::default(),
        service,
        warnings: vec![],
    };
    let s = Spec::from_unit(&u);
    assert_eq!(s.kind, ServiceType::Simple);
    assert_eq!(s.commands.start, [false]);
    assert_eq!(s.commands.start_pre, [true, false]);
    assert_eq!(s.commands.stop_post, [true]);
    assert!(s.commands.stop.is_empty());
    assert!(s.has_pid_file);
    assert_eq!(s.timeout_stop, None);
    assert_eq!(s.timeout_start, Some(Duration::from_secs(90)));
    assert_eq!((s.start_limit_burst, s.kill_signal), (5, TERM));
    assert!(s.commands.ignores_failure(r(X::StartPre, 0)));
    assert!(!s.commands.ignores_failure(r(X::StartPre, 7)));
}

/// systemctl(1)'s words.
#[test]
fn state_words() {
    let subs = [
        (S::Dead, "dead", A::Inactive),
        (S::Condition, "condition", A::Activating),
        (S::StartPre, "start-pre", A::Activating),
        (S::Start, "start", A::Activating),
        (S::StartPost, "start-post", A::Activating),
        (S::Running, "running", A::Active),
        (S::Exited, "exited", A::Active),
        (S::Reload, "reload", A::Reloading),
        (S::Stop, "stop", A::Deactivating),
        (S::StopSigterm, "stop-sigterm", A::Deactivating),
        (S::StopSigkill, "stop-sigkill", A::Deactivating),
        (S::StopPost, "stop-post", A::Deactivating),
        (S::FinalSigterm, "final-sigterm", A::Deactivating),
        (S::FinalSigkill, "final-sigkill", A::Deactivating),
        (S::Failed, "failed", A::Failed),
        (S::AutoRestart, "auto-restart", A::Activating),
    ];
    for (sub, word, active) in subs {
        assert_eq!((sub.as_str(), sub.active_state()), (word, active));
    }
    let actives = [
        (A::Inactive, "inactive"),
        (A::Activating, "activating"),
        (A::Active, "active"),
        (A::Reloading, "reloading"),
        (A::Deactivating, "deactivating"),
        (A::Failed, "failed"),
    ];
    for (a, word) in actives {
        assert_eq!(a.as_str(), word);
    }
    assert_eq!(UnitResult::StartLimitHit.as_str(), "start-limit-hit");
    assert_eq!(UnitResult::CoreDump.as_str(), "core-dump");
    assert_eq!(ExecKind::StopPost.as_str(), "ExecStopPost");
}
