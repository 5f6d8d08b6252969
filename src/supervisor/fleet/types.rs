//! The fleet machine's vocabulary: what it is built from, the events it is fed, the
//! actions it asks for, and why it ended.

use crate::supervisor::service::{self, Note as ServiceNote, Policy};
use crate::supervisor::unit;
use crate::wait_status::WaitStatus;
use std::time::Duration;

/// A service definition file or preset is wrong: every problem was printed, nothing ran.
pub const EXIT_CONFIG: i32 = 78;
/// An init script failed: nothing else was started.
pub const EXIT_INIT_SCRIPT: i32 = 79;
/// A `critical` service failed for good and the container was shut down.
pub const EXIT_CRITICAL: i32 = 80;
/// CMD could not be started at all (fork failed), as for the single-child init.
pub const EXIT_CMD_NOT_STARTED: i32 = 1;

/// How the whole fleet behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How long CMD gets between its stop signal and SIGKILL; also an init script's.
    pub grace: Duration,
    /// How long a SIGKILLed CMD may take to be reaped before the shutdown moves on.
    pub after_kill: Duration,
    /// On shutdown, stop CMD before the services (true) or after them.
    pub stop_cmd_first: bool,
    /// CMD's exit shuts everything down (true) or services keep running until a stop.
    pub cmd_exit_shuts_down: bool,
    /// The services CMD starts after; `None`: all of them.
    pub cmd_after: Option<Vec<String>>,
    /// Exit codes of CMD (or 128+the stop signal) that become 0.
    pub remap_to_zero: Vec<u8>,
    /// There is a CMD. Without one (`--systemd`, as /sbin/init) the fleet runs until a stop
    /// request, and a stop is a clean exit (0).
    pub has_cmd: bool,
}

/// One service as the fleet sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// It starts once these are ready (or have given up starting); it stops before them.
    pub after: Vec<String>,
    pub kind: MemberKind,
}

/// Which machine runs a member: a services.d/preset service, a systemd service unit, or a
/// target (a synchronisation point with no process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    Service(Policy),
    Unit(Box<unit::Spec>),
    Target,
}

/// An operator's request for one service (`rich-init ctl start|stop|restart NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Start,
    Stop,
    Restart,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Start: init scripts, then services and CMD.
    Boot,
    /// The script asked for by `RunInitScript`/`RunStopScript` runs as this pid.
    ScriptSpawned {
        pid: i32,
    },
    /// It could not be started (the driver has said why): it counts as exit status 1.
    ScriptSpawnFailed,
    /// The script running as `pid` has exited.
    ScriptExited {
        pid: i32,
        status: WaitStatus,
    },
    /// The answer to [`Action::ListStopScripts`].
    StopScriptsListed {
        count: usize,
    },
    /// For one service's own machine (`Spawned`, `Exited`, readiness, …).
    Service {
        name: String,
        event: service::Event,
    },
    /// For one systemd unit's machine (`Spawned`, `Exited`, `GroupEmpty`, `Reload`, …).
    Unit {
        name: String,
        event: unit::Event,
    },
    Control {
        name: String,
        op: Op,
    },
    CmdSpawned {
        pid: i32,
    },
    /// CMD could not be forked (the driver has said why).
    CmdSpawnFailed,
    CmdExited {
        status: WaitStatus,
    },
    /// SIGTERM or SIGINT reached the init.
    StopSignal {
        signal: i32,
    },
    /// `rich-init ctl shutdown [CODE]`.
    Shutdown {
        code: Option<u8>,
    },
    /// The answer to [`Action::Sweep`].
    Swept,
    /// A deadline from [`super::Fleet::next_deadline`] may have come.
    Timer,
}

impl Event {
    /// `event` for service `name`'s machine.
    pub fn service(name: &str, event: service::Event) -> Event {
        Event::Service {
            name: name.to_string(),
            event,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start init script number `i` (of the driver's list); answer `ScriptSpawned` or
    /// `ScriptSpawnFailed`, later `ScriptExited`.
    RunInitScript(usize),
    /// Find the stop scripts; answer `StopScriptsListed`.
    ListStopScripts,
    /// Start stop script number `i`, answered as for init scripts.
    RunStopScript(usize),
    /// Send a signal to the running script's process group.
    SignalScript {
        pid: i32,
        signal: i32,
    },
    /// Carry out one service's action (`Spawn`, `Signal`, …) for its machine.
    Service {
        name: String,
        action: service::Action,
    },
    /// Carry out one systemd unit's action for its machine (its failures included: a
    /// unit is never critical).
    Unit {
        name: String,
        action: unit::Action,
    },
    /// A service failed and will not be restarted (with what happened to it, when its
    /// machine said); when `critical`, the fleet is shutting down.
    ServiceFailed {
        name: String,
        why: Option<ServiceNote>,
        critical: bool,
    },
    /// Fork and exec CMD; answer `CmdSpawned` or `CmdSpawnFailed`.
    StartCmd,
    /// Send CMD its stop signal (SIGTERM as the forwarding rules rewrite it).
    StopCmd,
    /// SIGKILL to CMD's group and to CMD.
    KillCmd,
    /// Stop everything left (stop signal, SIGKILL at the grace, output flushed); answer
    /// `Swept`.
    Sweep,
    Log(Note),
}

/// What the driver words for the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// The first stop signal: "SIGTERM: shutting down".
    ShuttingDown {
        signal: i32,
    },
    InitScriptFailed {
        index: usize,
        status: WaitStatus,
    },
    StopScriptFailed {
        index: usize,
        status: WaitStatus,
    },
}

/// Where the fleet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Init scripts, then services up to what CMD waits for.
    Boot,
    /// CMD has been started (or asked for).
    Running,
    /// CMD, services, leftovers and stop scripts are being stopped.
    Stopping,
    Done,
}

/// Why the fleet ended; it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    InitScriptFailed,
    CriticalFailed,
    /// `ctl shutdown CODE`.
    Requested(u8),
    CmdNotStarted,
    Cmd(WaitStatus),
    /// Stopped by this signal before CMD ever ran.
    StoppedBeforeCmd {
        signal: i32,
    },
    /// Stopped before CMD ran, by no signal (`ctl shutdown` without a code).
    Clean,
}

impl ExitReason {
    /// The exit code; CMD's code and 128+signal are subject to `remap_to_zero`.
    pub fn exit_code(self, remap_to_zero: &[u8]) -> i32 {
        let remap = |code: i32| {
            if remap_to_zero.iter().any(|c| i32::from(*c) == code) {
                0
            } else {
                code
            }
        };
        match self {
            ExitReason::InitScriptFailed => EXIT_INIT_SCRIPT,
            ExitReason::CriticalFailed => EXIT_CRITICAL,
            ExitReason::Requested(code) => i32::from(code),
            ExitReason::CmdNotStarted => EXIT_CMD_NOT_STARTED,
            ExitReason::Cmd(status) => remap(status.exit_code()),
            ExitReason::StoppedBeforeCmd { signal } => remap(128 + signal),
            ExitReason::Clean => remap(0),
        }
    }
}
