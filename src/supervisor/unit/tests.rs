//! Step scripts: at `t` ms feed the event, expect exactly these actions, then this
//! (ActiveState, SubState). Starting is in `tests/start.rs` and `tests/kinds.rs`, stopping in
//! `tests/stop.rs`, restarting in `tests/restart.rs`.

use super::*;
use crate::units::service::{ExitStatusSet, KillMode, Restart, ServiceType};
use crate::wait_status::WaitStatus;
use std::time::Duration;
use ActiveState as A;
use SubState as S;

mod conditions;
mod edges;
mod kinds;
mod restart;
mod start;
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
        has_conditions: false,
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
