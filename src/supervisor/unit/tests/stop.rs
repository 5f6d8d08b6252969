//! Stopping (systemd.kill(5) KillMode=, SendSIGKILL=, TimeoutStopSec=), Restart and
//! TryRestart, and Reload.

use super::*;

/// A Type=simple unit running as pid 10 at t=0.
fn running() -> Vec<Step> {
    vec![
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
    ]
}

fn script(s: Spec, more: Vec<Step>) -> (Unit, Instant) {
    let mut steps = running();
    steps.extend(more);
    run(s, &steps)
}

fn main_sig(signal: i32) -> Action {
    Action::Signal {
        target: Target::Main,
        signal,
    }
}

/// systemd.kill(5) KillMode=: control-group signals every process; mixed sends SIGTERM to
/// the main process and SIGKILL to the rest at the end; process only the main process;
/// none nothing (the processes stay).
#[test]
fn each_kill_mode() {
    let done = vec![finished(UnitResult::Success), Stopped];
    let dead = (A::Inactive, S::Dead);
    let cases: Vec<(KillMode, Vec<Step>)> = vec![
        (
            KillMode::ControlGroup,
            vec![
                (10, Stop, vec![all(TERM)], (A::Deactivating, S::StopSigterm)),
                (
                    20,
                    exited(10, sig(TERM)),
                    vec![main_note(0, sig(TERM), true), all(TERM)],
                    (A::Deactivating, S::FinalSigterm),
                ),
                (20, GroupEmpty, done.clone(), dead),
            ],
        ),
        (
            KillMode::Mixed,
            vec![
                (
                    10,
                    Stop,
                    vec![main_sig(TERM)],
                    (A::Deactivating, S::StopSigterm),
                ),
                (
                    20,
                    exited(10, sig(TERM)),
                    vec![main_note(0, sig(TERM), true), all(KILL)],
                    (A::Deactivating, S::FinalSigkill),
                ),
                (20, GroupEmpty, done.clone(), dead),
            ],
        ),
        (
            KillMode::Process,
            vec![
                (
                    10,
                    Stop,
                    vec![main_sig(TERM)],
                    (A::Deactivating, S::StopSigterm),
                ),
                (
                    20,
                    exited(10, sig(TERM)),
                    {
                        let mut v = vec![main_note(0, sig(TERM), true)];
                        v.extend(done.clone());
                        v
                    },
                    dead,
                ),
            ],
        ),
        (KillMode::None, vec![(10, Stop, done.clone(), dead)]),
    ];
    for (mode, steps) in cases {
        let mut s = spec(ServiceType::Simple);
        s.kill_mode = mode;
        s.restart = Restart::Always;
        let (u, _) = script(s, steps);
        assert_eq!(u.main_pid(), None, "{mode:?}");
        assert_eq!(u.result(), UnitResult::Success, "{mode:?}");
        // Process and none may leave processes: up until GroupEmpty.
        let left = matches!(mode, KillMode::Process | KillMode::None);
        assert_eq!(u.is_up(), left, "{mode:?}");
    }
}

/// systemd.service(5) ExecStop= and TimeoutStopSec=: a stop step that times out moves on
/// (ExecStop= -> SIGTERM -> SIGKILL, systemd.kill(5) SendSIGKILL=), and the run ends
/// failed with result `timeout` (service.c service_dispatch_timer).
#[test]
fn exec_stop_then_timeouts_then_sigkill() {
    let mut s = spec(ServiceType::Simple);
    s.commands.stop = vec![false];
    let (u, _) = script(
        s,
        vec![
            (
                10,
                Stop,
                vec![spawn(X::Stop, 0)],
                (A::Deactivating, S::Stop),
            ),
            (10, Spawned { pid: 11 }, vec![], (A::Deactivating, S::Stop)),
            (2009, Timer, vec![], (A::Deactivating, S::Stop)),
            (
                2010,
                Timer,
                vec![timed_out(S::Stop), all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                4010,
                Timer,
                vec![timed_out(S::StopSigterm), all(KILL)],
                (A::Deactivating, S::StopSigkill),
            ),
            (
                4011,
                exited(11, sig(KILL)),
                vec![ctl_note(X::Stop, 0, sig(KILL), false)],
                (A::Deactivating, S::StopSigkill),
            ),
            (
                4011,
                exited(10, sig(KILL)),
                vec![main_note(0, sig(KILL), false), all(TERM)],
                (A::Deactivating, S::FinalSigterm),
            ),
            (
                4011,
                GroupEmpty,
                vec![finished(UnitResult::Timeout), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
    assert_eq!(u.result(), UnitResult::Timeout);
    assert_eq!(u.exec_main_status(), Some(sig(KILL)));
}

/// systemd.kill(5) SendSIGKILL=no: after TimeoutStopSec= the processes are left, and the
/// unit fails with result `timeout`.
#[test]
fn no_sigkill() {
    let mut s = spec(ServiceType::Simple);
    s.send_sigkill = false;
    s.timeout_stop = Some(ms(500));
    let (u, _) = script(
        s,
        vec![
            (10, Stop, vec![all(TERM)], (A::Deactivating, S::StopSigterm)),
            (
                510,
                Timer,
                vec![timed_out(S::StopSigterm), all(TERM)],
                (A::Deactivating, S::FinalSigterm),
            ),
            (
                1010,
                Timer,
                vec![
                    timed_out(S::FinalSigterm),
                    finished(UnitResult::Timeout),
                    FailedForGood,
                ],
                (A::Failed, S::Failed),
            ),
        ],
    );
    assert_eq!(u.main_pid(), None);
    assert!(u.is_up(), "the group may still have processes");
}

/// Stop while activating: service.c kills the start command at once (no ExecStop=), and
/// runs ExecStopPost=. A control process killed by SIGTERM is a failure (only daemons
/// exit cleanly on SIGTERM), so the unit ends failed, as systemd's does.
#[test]
fn stop_while_activating() {
    let mut s = spec(ServiceType::Simple);
    s.commands.start_pre = vec![false];
    s.commands.stop = vec![false];
    s.commands.stop_post = vec![false];
    s.restart = Restart::Always;
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
            (10, Stop, vec![all(TERM)], (A::Deactivating, S::StopSigterm)),
            (
                20,
                exited(5, sig(TERM)),
                vec![
                    ctl_note(X::StartPre, 0, sig(TERM), false),
                    spawn(X::StopPost, 0),
                ],
                (A::Deactivating, S::StopPost),
            ),
            (
                20,
                Spawned { pid: 6 },
                vec![],
                (A::Deactivating, S::StopPost),
            ),
            (
                30,
                exited(6, code(0)),
                vec![ctl_note(X::StopPost, 0, code(0), true), all(TERM)],
                (A::Deactivating, S::FinalSigterm),
            ),
            (
                30,
                GroupEmpty,
                vec![finished(UnitResult::Signal), FailedForGood],
                (A::Failed, S::Failed),
            ),
        ],
    );
}

/// systemctl(1) restart: stop, then start; an operator stop, so no auto-restart between,
/// and no Stopped (it comes back). Stop/Start/TryRestart on an inactive unit do nothing
/// but start.
#[test]
fn restart_and_try_restart() {
    let mut s = spec(ServiceType::Simple);
    s.restart = Restart::Always;
    let (u, _) = script(
        s.clone(),
        vec![
            (
                10,
                Event::Restart,
                vec![all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            (
                20,
                exited(10, sig(TERM)),
                vec![main_note(0, sig(TERM), true), all(TERM)],
                (A::Deactivating, S::FinalSigterm),
            ),
            (
                20,
                GroupEmpty,
                vec![finished(UnitResult::Success), spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (
                20,
                Spawned { pid: 12 },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
        ],
    );
    assert_eq!(u.n_restarts(), 0);
    assert_eq!(u.main_pid(), Some(12));
    run(
        s,
        &[
            (0, Event::TryRestart, vec![], (A::Inactive, S::Dead)),
            (0, Stop, vec![], (A::Inactive, S::Dead)),
            (
                0,
                Event::Restart,
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
                5,
                Event::TryRestart,
                vec![all(TERM)],
                (A::Deactivating, S::StopSigterm),
            ),
            // Start while deactivating waits for the stop (systemd's job queue).
            (6, Start, vec![], (A::Deactivating, S::StopSigterm)),
        ],
    );
}

/// systemctl(1) reload: ExecReload= while running; a failing or timed-out reload leaves
/// the unit running (service.c service_reload_finish); without ExecReload= it is refused.
#[test]
fn reload() {
    let mut s = spec(ServiceType::Simple);
    run(
        s.clone(),
        &[
            (
                0,
                Start,
                vec![spawn(X::Start, 0)],
                (A::Activating, S::Start),
            ),
            (
                0,
                Event::Reload,
                vec![Action::Log(Note::CannotReload { state: S::Start })],
                (A::Activating, S::Start),
            ),
            (
                0,
                Spawned { pid: 10 },
                vec![BecameActive],
                (A::Active, S::Running),
            ),
            (
                1,
                Event::Reload,
                vec![Action::Log(Note::CannotReload { state: S::Running })],
                (A::Active, S::Running),
            ),
        ],
    );
    s.commands.reload = vec![false];
    let (u, t0) = script(
        s,
        vec![
            (
                10,
                Event::Reload,
                vec![spawn(X::Reload, 0)],
                (A::Reloading, S::Reload),
            ),
            (10, Spawned { pid: 11 }, vec![], (A::Reloading, S::Reload)),
            (
                20,
                exited(11, code(0)),
                vec![ctl_note(X::Reload, 0, code(0), true)],
                (A::Active, S::Running),
            ),
            (
                30,
                Event::Reload,
                vec![spawn(X::Reload, 0)],
                (A::Reloading, S::Reload),
            ),
            (30, Spawned { pid: 12 }, vec![], (A::Reloading, S::Reload)),
            (
                40,
                exited(12, code(1)),
                vec![
                    ctl_note(X::Reload, 0, code(1), false),
                    Action::Log(Note::ReloadFailed {
                        result: UnitResult::ExitCode,
                    }),
                ],
                (A::Active, S::Running),
            ),
            (
                50,
                Event::Reload,
                vec![spawn(X::Reload, 0)],
                (A::Reloading, S::Reload),
            ),
            (50, Spawned { pid: 13 }, vec![], (A::Reloading, S::Reload)),
            (
                1050,
                Timer,
                vec![
                    timed_out(S::Reload),
                    Action::Signal {
                        target: Target::Control,
                        signal: KILL,
                    },
                    Action::Log(Note::ReloadFailed {
                        result: UnitResult::Timeout,
                    }),
                ],
                (A::Active, S::Running),
            ),
        ],
    );
    assert_eq!(u.result(), UnitResult::Success);
    assert_eq!(
        u.control_pid(),
        Some(13),
        "still to be signalled and reaped"
    );
    let mut u = u;
    assert_eq!(u.handle(exited(13, sig(KILL)), t0 + ms(1051)), []);
    assert_eq!(u.control_pid(), None);
    assert_eq!(u.sub_state(), S::Running);
}
