//! The vocabulary of a service's state machine: its policy, the events it is fed, the
//! actions it asks for, and the status it reports.

use crate::wait_status::WaitStatus;
use std::fmt;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// After every exit, 0 included.
    Always,
    /// After a non-zero exit, a death by signal, or a failed start; not after exit 0.
    OnFailure,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Ready as soon as it is spawned.
    Immediately,
    /// Ready when the check command succeeds; retried `interval` after each failure.
    Check {
        interval: Duration,
        timeout: Duration,
    },
    /// Ready when it says so (sd_notify `READY=1`).
    Notify { timeout: Duration },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub restart: Restart,
    /// The first backoff delay.
    pub restart_delay: Duration,
    /// The cap; the delay doubles after each quick exit.
    pub restart_delay_max: Duration,
    pub ready: Readiness,
    pub stop_signal: i32,
    pub stop_timeout: Duration,
    /// When it fails for good, the container shuts down.
    pub critical: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Start it (boot, or `ctl start`). During Stopping: start again once it has exited.
    Start,
    /// The [`Action::Spawn`] asked for produced this pid.
    Spawned {
        pid: i32,
    },
    /// The [`Action::Spawn`] failed before a child existed (fork: EAGAIN under a pids limit).
    SpawnFailed {
        errno: i32,
    },
    ReadyCheckPassed,
    ReadyCheckFailed,
    /// sd_notify `READY=1`.
    Notified,
    /// The service's process has exited.
    Exited {
        status: WaitStatus,
    },
    Stop,
    /// A deadline asked for by `Service::next_deadline` may have come; early ones are ignored.
    Timer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Fork/exec the service now, then send `Spawned` or `SpawnFailed`.
    Spawn,
    /// Run the readiness check once, then send `ReadyCheckPassed` or `ReadyCheckFailed`.
    RunReadyCheck,
    /// Kill the readiness check still running: the service is no longer starting.
    CancelReadyCheck,
    /// Send this signal to the service.
    Signal(i32),
    /// Send SIGKILL to the service.
    Kill,
    /// It is ready: services and a CMD that come `after` it may start.
    BecameReady,
    /// It is down and will not come back by itself (stopped as asked, or finished with 0).
    Stopped,
    /// It failed and the policy will not restart it; when `critical`, shut the container down.
    FailedForGood {
        critical: bool,
    },
    Log(Note),
}

/// What happened, as data; the caller words it, prefixed with the service's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    SpawnFailed { errno: i32 },
    Exited { status: WaitStatus, ready: bool },
    Restarting { delay: Duration },
    ReadyTimeout { after: Duration },
    StopTimeout { after: Duration, signal: i32 },
}

/// The state's name as `ctl status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Running,
    Backoff,
    Stopping,
    Stopped,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Backoff => "backoff",
            Phase::Stopping => "stopping",
            Phase::Stopped => "stopped",
            Phase::Failed => "failed",
        }
    }
}

/// A snapshot for `ctl status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub phase: Phase,
    pub pid: Option<i32>,
    /// When it entered this phase (Running: when it became ready).
    pub since: Instant,
    /// Spawns after the first.
    pub restarts: u32,
    /// How it last exited.
    pub last_exit: Option<WaitStatus>,
    /// In Backoff: when it will be started again.
    pub next_start: Option<Instant>,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Note::SpawnFailed { errno } => write!(
                f,
                "could not be started: {}",
                std::io::Error::from_raw_os_error(errno)
            ),
            Note::Exited { status, ready } => {
                match (status.code(), status.signal()) {
                    (Some(code), _) => write!(f, "exited with code {code}")?,
                    (None, Some(sig)) => write!(f, "was killed by {}", crate::signame::name(sig))?,
                    (None, None) => write!(f, "ended with wait status {:#x}", status.raw())?,
                }
                if ready {
                    Ok(())
                } else {
                    f.write_str(" before it was ready")
                }
            }
            Note::Restarting { delay } => write!(f, "restarting in {delay:?}"),
            Note::ReadyTimeout { after } => write!(f, "not ready after {after:?}: killing it"),
            Note::StopTimeout { after, signal } => write!(
                f,
                "still running {after:?} after {}: killing it",
                crate::signame::name(signal)
            ),
        }
    }
}
