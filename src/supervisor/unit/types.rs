//! The vocabulary of a `.service` unit's state machine: what it needs from the unit file
//! ([`Spec`]), the events it is fed, the actions it asks for, and systemctl's state words.

use std::time::Duration;

use crate::units::service::{ExitStatusSet, KillMode, Restart, ServiceType, ServiceUnit};
use crate::wait_status::WaitStatus;

/// Which `Exec*=` list a command comes from (systemd.service(5), "Options").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecKind {
    Condition,
    StartPre,
    Start,
    StartPost,
    Reload,
    Stop,
    StopPost,
}

impl ExecKind {
    /// The directive's name, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecKind::Condition => "ExecCondition",
            ExecKind::StartPre => "ExecStartPre",
            ExecKind::Start => "ExecStart",
            ExecKind::StartPost => "ExecStartPost",
            ExecKind::Reload => "ExecReload",
            ExecKind::Stop => "ExecStop",
            ExecKind::StopPost => "ExecStopPost",
        }
    }
}

/// One command: the `index`-th line of the `kind` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecRef {
    pub kind: ExecKind,
    pub index: usize,
}

/// Per command of each `Exec*=` list, in order: whether its failure is ignored (the `-`
/// prefix). The length of a list is the number of commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commands {
    pub condition: Vec<bool>,
    pub start_pre: Vec<bool>,
    pub start: Vec<bool>,
    pub start_post: Vec<bool>,
    pub reload: Vec<bool>,
    pub stop: Vec<bool>,
    pub stop_post: Vec<bool>,
}

impl Commands {
    pub fn list(&self, kind: ExecKind) -> &[bool] {
        match kind {
            ExecKind::Condition => &self.condition,
            ExecKind::StartPre => &self.start_pre,
            ExecKind::Start => &self.start,
            ExecKind::StartPost => &self.start_post,
            ExecKind::Reload => &self.reload,
            ExecKind::Stop => &self.stop,
            ExecKind::StopPost => &self.stop_post,
        }
    }

    /// The command has the `-` prefix (an unknown command is not ignored).
    pub fn ignores_failure(&self, r: ExecRef) -> bool {
        self.list(r.kind).get(r.index).copied().unwrap_or(false)
    }
}

/// What the machine needs from a [`ServiceUnit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Type=; `Idle` is run as `Simple` (rich-init has no job queue to wait for).
    pub kind: ServiceType,
    pub commands: Commands,
    pub remain_after_exit: bool,
    /// Kept for the driver: the machine never guesses (see the module doc).
    pub guess_main_pid: bool,
    pub has_pid_file: bool,
    pub restart: Restart,
    pub restart_sec: Duration,
    /// StartLimitIntervalSec= (zero disables the limit) and StartLimitBurst= (zero too).
    pub start_limit_interval: Duration,
    pub start_limit_burst: u32,
    pub success_exit_status: ExitStatusSet,
    pub restart_prevent_exit_status: ExitStatusSet,
    /// `None` is infinity.
    pub timeout_start: Option<Duration>,
    pub timeout_stop: Option<Duration>,
    pub kill_mode: KillMode,
    pub kill_signal: i32,
    pub send_sigkill: bool,
    pub final_kill_signal: i32,
    /// WatchdogSec=; not acted on yet.
    pub watchdog: Option<Duration>,
    /// It has Condition…=/Assert…= lines: each start first asks the driver to check them.
    pub has_conditions: bool,
}

impl Spec {
    pub fn from_unit(u: &ServiceUnit) -> Spec {
        let s = &u.service;
        let flags = |list: &[crate::units::exec::Command]| {
            list.iter()
                .map(|c| c.prefixes.ignore_failure)
                .collect::<Vec<_>>()
        };
        Spec {
            kind: match s.kind {
                ServiceType::Idle => ServiceType::Simple,
                other => other,
            },
            commands: Commands {
                condition: flags(&s.exec_condition),
                start_pre: flags(&s.exec_start_pre),
                start: flags(&s.exec_start),
                start_post: flags(&s.exec_start_post),
                reload: flags(&s.exec_reload),
                stop: flags(&s.exec_stop),
                stop_post: flags(&s.exec_stop_post),
            },
            remain_after_exit: s.remain_after_exit,
            guess_main_pid: s.guess_main_pid,
            has_pid_file: s.pid_file.is_some(),
            restart: s.restart,
            restart_sec: s.restart_sec,
            start_limit_interval: s.start_limit_interval,
            start_limit_burst: s.start_limit_burst,
            success_exit_status: s.success_exit_status.clone(),
            restart_prevent_exit_status: s.restart_prevent_exit_status.clone(),
            timeout_start: s.timeout_start,
            timeout_stop: s.timeout_stop,
            kill_mode: s.kill_mode,
            kill_signal: s.kill_signal,
            send_sigkill: s.send_sigkill,
            final_kill_signal: s.final_kill_signal,
            watchdog: s.watchdog,
            has_conditions: !u.unit.conditions.is_empty() || !u.unit.asserts.is_empty(),
        }
    }
}

/// Whom a [`Action::Signal`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The main process, [`super::Unit::main_pid`].
    Main,
    /// The control process, [`super::Unit::control_pid`].
    Control,
    /// Every process of the unit (its control group).
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// systemctl start.
    Start,
    /// systemctl stop.
    Stop,
    /// systemctl restart: stop (as an operator stop, never auto-restarted), then start.
    Restart,
    /// systemctl try-restart: a `Restart` if the unit is active, activating or reloading;
    /// otherwise nothing.
    TryRestart,
    /// systemctl reload: run ExecReload=.
    Reload,
    /// systemctl reset-failed: failed becomes inactive; the result, the restart count and
    /// the start-rate limit are cleared.
    ResetFailed,
    /// Answer to [`Action::Spawn`]: the command runs as `pid`.
    Spawned { pid: i32 },
    /// Answer to [`Action::Spawn`]: set-up failed before the program ran.
    SpawnFailed { errno: i32 },
    /// A process the machine knows as main or control exited; others are ignored.
    Exited { pid: i32, status: WaitStatus },
    /// Answer to [`Action::ReadPidFile`]: `None` if missing, unreadable or not running.
    PidFile { pid: Option<i32> },
    /// An sd_notify datagram, already filtered by NotifyAccess=.
    Notify {
        ready: bool,
        reloading: bool,
        stopping: bool,
        main_pid: Option<i32>,
    },
    /// No process of the unit is left (sent after the `Exited` of the last one).
    GroupEmpty,
    /// A deadline from `next_deadline()` may have come; early ones are ignored.
    Timer,
    /// Answer to [`Action::CheckConditions`]: whether the Condition…= lines hold, and
    /// whether the Assert…= lines do.
    ConditionsChecked { met: bool, asserted: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run that command; answer `Spawned`/`SpawnFailed` before the next event for this unit.
    Spawn(ExecRef),
    /// Read PIDFile=; answer `PidFile` before the next event for this unit.
    ReadPidFile,
    /// Evaluate the unit's Condition…=/Assert…= now (systemd.unit(5)); answer
    /// `ConditionsChecked` before the next event for this unit.
    CheckConditions,
    /// Send `signal`; `Main`/`Control` are resolved with `main_pid()`/`control_pid()`
    /// after `handle` returns (they are still set then).
    Signal {
        target: Target,
        signal: i32,
    },
    /// The unit became active: units after it may start.
    BecameActive,
    /// Down and will not come back by itself (inactive/dead; a start that ends here, as a
    /// skipped ExecCondition= or a oneshot without RemainAfterExit=, is done).
    Stopped,
    /// Failed and will not be restarted (`result()` tells why).
    FailedForGood,
    Log(Note),
}

/// What happened, as data; the driver words it, prefixed with the unit's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// A main (`main`) or control process exited; `success` after SuccessExitStatus= and
    /// the `-` prefix.
    Exited {
        exec: ExecRef,
        main: bool,
        status: WaitStatus,
        success: bool,
    },
    /// The command could not be started (result `resources`, or skipped with `-` and
    /// ENOENT).
    SpawnFailed { exec: ExecRef, errno: i32 },
    /// ExecCondition= exited 1..254: the unit is skipped, not failed.
    ConditionFailed { status: WaitStatus },
    /// A Condition…= does not hold: the start is skipped, the unit stays inactive.
    ConditionUnmet,
    /// An Assert…= does not hold: the start fails, the unit stays inactive.
    AssertFailed,
    /// The state's timeout passed; what follows is in the next actions.
    TimedOut { state: SubState },
    /// The PID file named no running process: no main pid.
    NoPidFile,
    /// Type=notify: the main process exited without READY=1.
    ExitedBeforeReady,
    /// Auto-restart in `delay`; `count` is the restart number it will be.
    RestartScheduled { delay: Duration, count: u32 },
    /// More than StartLimitBurst= starts within StartLimitIntervalSec=.
    StartLimitHit,
    /// A reload ended with this result; the unit stays up.
    ReloadFailed { result: UnitResult },
    /// Reload asked in a state where it cannot run, or without ExecReload=.
    CannotReload { state: SubState },
    /// The unit ended its run (dead or failed) with this result.
    Finished { result: UnitResult },
}

/// systemctl's ACTIVE column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveState {
    Inactive,
    Activating,
    Active,
    Reloading,
    Deactivating,
    Failed,
}

impl ActiveState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActiveState::Inactive => "inactive",
            ActiveState::Activating => "activating",
            ActiveState::Active => "active",
            ActiveState::Reloading => "reloading",
            ActiveState::Deactivating => "deactivating",
            ActiveState::Failed => "failed",
        }
    }
}

/// systemctl's SUB column for a service: systemd's service states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubState {
    Dead,
    Condition,
    StartPre,
    Start,
    StartPost,
    Running,
    Exited,
    Reload,
    Stop,
    StopSigterm,
    StopSigkill,
    StopPost,
    FinalSigterm,
    FinalSigkill,
    Failed,
    AutoRestart,
}

impl SubState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubState::Dead => "dead",
            SubState::Condition => "condition",
            SubState::StartPre => "start-pre",
            SubState::Start => "start",
            SubState::StartPost => "start-post",
            SubState::Running => "running",
            SubState::Exited => "exited",
            SubState::Reload => "reload",
            SubState::Stop => "stop",
            SubState::StopSigterm => "stop-sigterm",
            SubState::StopSigkill => "stop-sigkill",
            SubState::StopPost => "stop-post",
            SubState::FinalSigterm => "final-sigterm",
            SubState::FinalSigkill => "final-sigkill",
            SubState::Failed => "failed",
            SubState::AutoRestart => "auto-restart",
        }
    }

    /// systemd's state translation table (auto-restart counts as activating).
    pub fn active_state(self) -> ActiveState {
        use SubState::*;
        match self {
            Dead => ActiveState::Inactive,
            Condition | StartPre | Start | StartPost | AutoRestart => ActiveState::Activating,
            Running | Exited => ActiveState::Active,
            Reload => ActiveState::Reloading,
            Stop | StopSigterm | StopSigkill | StopPost | FinalSigterm | FinalSigkill => {
                ActiveState::Deactivating
            }
            Failed => ActiveState::Failed,
        }
    }
}

/// systemctl show's `Result=`: the first failure of the current run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitResult {
    Success,
    ExitCode,
    Signal,
    CoreDump,
    Timeout,
    StartLimitHit,
    Resources,
    Protocol,
    Watchdog,
    /// ExecCondition= skipped the unit (not a failure).
    ExecCondition,
}

impl UnitResult {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitResult::Success => "success",
            UnitResult::ExitCode => "exit-code",
            UnitResult::Signal => "signal",
            UnitResult::CoreDump => "core-dump",
            UnitResult::Timeout => "timeout",
            UnitResult::StartLimitHit => "start-limit-hit",
            UnitResult::Resources => "resources",
            UnitResult::Protocol => "protocol",
            UnitResult::Watchdog => "watchdog",
            UnitResult::ExecCondition => "exec-condition",
        }
    }

    /// Counts as a failure: the unit ends `failed`, not `inactive`.
    pub fn is_failure(self) -> bool {
        !matches!(self, UnitResult::Success | UnitResult::ExecCondition)
    }
}
