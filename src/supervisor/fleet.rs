//! Rich mode's whole lifecycle as one pure state machine: init scripts, every service, CMD
//! and the shutdown, `(event, now) -> Vec<Action>`. No syscalls and no clocks; the driver
//! in `init/rich/` performs the actions, feeds back what happened, and sleeps until
//! [`Fleet::next_deadline`].
//!
//! ```text
//!  Boot:     init scripts, one at a time ──a script fails──────────────────┐
//!              │ all exited 0                                               │
//!            services start as soon as all of their `after` are settled    │
//!            (ready, or given up starting): independent ones together      │
//!              │ everything CMD waits for is settled                        │
//!  Running:  StartCmd; services keep coming up behind it                    │
//!              │ stop signal · ctl shutdown · critical failure · CMD exit   │
//!  Stopping: [CMD first] → services, each once no up service is `after` it  │
//!            → CMD (if not first) → Sweep ◄─────────────────────────────────┘
//!            → stop scripts, one at a time (not after a failed init script)
//!  Done:     ExitReason
//! ```
//! A stop request in Boot stops the running init script (stop signal, SIGKILL at the
//! grace) and goes straight to Stopping. A service is "settled" once it has left Starting
//! for the first time; a dependency that failed to start does not hold its dependents
//! back (they start, as they would after a ready one).

use std::collections::BTreeMap;
use std::time::Instant;

use super::backoff::deadline;
use super::service::{self, Phase as ServicePhase, Service};
use crate::wait_status::WaitStatus;

mod types;

pub use types::{
    Action, Config, Event, ExitReason, Member, Note, Op, Phase, EXIT_CMD_NOT_STARTED, EXIT_CONFIG,
    EXIT_CRITICAL, EXIT_INIT_SCRIPT,
};

const TERM: i32 = 15;

/// One service and what the fleet knows of it.
#[derive(Debug)]
struct Unit {
    machine: Service,
    after: Vec<String>,
    /// Those whose `after` names this one: they stop first.
    dependents: Vec<String>,
    /// Asked to start (by the boot or an operator).
    started: bool,
    /// Has left Starting since it was first asked to start.
    settled: bool,
    /// Asked to stop by the shutdown.
    stop_asked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    NotStarted,
    Spawning,
    Running {
        pid: i32,
    },
    /// Its stop signal was sent; SIGKILL at `kill_at`, given up at `give_up_at`.
    Stopping {
        pid: i32,
        kill_at: Option<Instant>,
        give_up_at: Option<Instant>,
    },
    Exited(WaitStatus),
    /// Not reaped in time after SIGKILL.
    Gone,
    /// Could not be forked.
    NotForked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScriptKind {
    Init,
    Stop,
}

/// The one script that may run at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Script {
    kind: ScriptKind,
    index: usize,
    /// `None` until `ScriptSpawned`.
    pid: Option<i32>,
    /// It got the stop signal.
    signaled: bool,
    /// SIGKILL then (after the stop signal).
    kill_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Idle,
    /// Init script `next` is the next to run.
    InitScripts {
        next: usize,
        count: usize,
    },
    Up,
    CmdFirst,
    Services,
    CmdLast,
    Sweeping {
        asked: bool,
    },
    ListingStopScripts,
    StopScripts {
        next: usize,
        count: usize,
    },
    Done,
}

#[derive(Debug)]
pub struct Fleet {
    config: Config,
    units: BTreeMap<String, Unit>,
    /// Start order (each after its `after`); the shutdown walks it backwards.
    order: Vec<String>,
    init_scripts: usize,
    stage: Stage,
    script: Option<Script>,
    cmd: Cmd,
    stop_requested: bool,
    /// The signal of the first stop request: 128+it when CMD never ran.
    stop_signal: Option<i32>,
    requested_code: Option<u8>,
    init_script_failed: bool,
    critical_failed: bool,
    /// A stop request while stop scripts run: the one running is stopped, no more start.
    scripts_aborted: bool,
}

impl Fleet {
    /// `members` in start order (each after everything in its `after`); `init_scripts`
    /// is how many init scripts the driver has, run in its order by index.
    pub fn new(config: Config, members: Vec<Member>, init_scripts: usize, now: Instant) -> Fleet {
        let order: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
        let mut units: BTreeMap<String, Unit> = members
            .into_iter()
            .map(|m| {
                let unit = Unit {
                    machine: Service::new(m.policy, now),
                    after: m.after,
                    dependents: Vec::new(),
                    started: false,
                    settled: false,
                    stop_asked: false,
                };
                (m.name, unit)
            })
            .collect();
        let edges: Vec<(String, String)> = units
            .iter()
            .flat_map(|(name, u)| u.after.iter().map(move |a| (a.clone(), name.clone())))
            .collect();
        for (dependency, dependent) in edges {
            if let Some(u) = units.get_mut(&dependency) {
                if !u.dependents.contains(&dependent) {
                    u.dependents.push(dependent);
                }
            }
        }
        Fleet {
            config,
            units,
            order,
            init_scripts,
            stage: Stage::Idle,
            script: None,
            cmd: Cmd::NotStarted,
            stop_requested: false,
            stop_signal: None,
            requested_code: None,
            init_script_failed: false,
            critical_failed: false,
            scripts_aborted: false,
        }
    }

    pub fn phase(&self) -> Phase {
        match self.stage {
            Stage::Idle | Stage::InitScripts { .. } => Phase::Boot,
            Stage::Up if self.cmd == Cmd::NotStarted => Phase::Boot,
            Stage::Up => Phase::Running,
            Stage::Done => Phase::Done,
            _ => Phase::Stopping,
        }
    }

    /// Why it ended, once [`Phase::Done`].
    pub fn exit_reason(&self) -> Option<ExitReason> {
        (self.stage == Stage::Done).then(|| self.reason())
    }

    /// The exit code, once [`Phase::Done`].
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_reason()
            .map(|r| r.exit_code(&self.config.remap_to_zero))
    }

    /// One service's machine (for its status and pid).
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.units.get(name).map(|u| &u.machine)
    }

    /// Every service's machine, by name.
    pub fn services(&self) -> impl Iterator<Item = (&str, &Service)> {
        self.units.iter().map(|(n, u)| (n.as_str(), &u.machine))
    }

    /// CMD's pid while it runs (stop signal sent or not).
    pub fn cmd_pid(&self) -> Option<i32> {
        match self.cmd {
            Cmd::Running { pid } | Cmd::Stopping { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Whether an operator's `op` is still carried out: no starts once stopping.
    pub fn accepts(&self, op: Op) -> bool {
        op == Op::Stop || self.phase() < Phase::Stopping
    }

    /// The nearest instant at which a [`Event::Timer`] is wanted; `None` = never.
    pub fn next_deadline(&self) -> Option<Instant> {
        let cmd = match self.cmd {
            Cmd::Stopping {
                kill_at,
                give_up_at,
                ..
            } => kill_at.or(give_up_at),
            _ => None,
        };
        let script = self.script.and_then(|s| s.pid.and(s.kill_at));
        self.units
            .values()
            .filter_map(|u| u.machine.next_deadline())
            .chain(cmd)
            .chain(script)
            .min()
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Boot => {
                if self.stage == Stage::Idle {
                    self.stage = Stage::InitScripts {
                        next: 0,
                        count: self.init_scripts,
                    };
                }
            }
            Event::ScriptSpawned { pid } => {
                if let Some(script) = self.script.as_mut().filter(|s| s.pid.is_none()) {
                    script.pid = Some(pid);
                }
            }
            Event::ScriptSpawnFailed => self.script_ended(WaitStatus::exited(1), &mut out),
            Event::ScriptExited { status } => {
                if self.script.is_some_and(|s| s.pid.is_some()) {
                    self.script_ended(status, &mut out);
                }
            }
            Event::StopScriptsListed { count } => {
                if self.stage == Stage::ListingStopScripts {
                    self.stage = Stage::StopScripts { next: 0, count };
                }
            }
            Event::Service { name, event } => self.feed(&name, event, now, &mut out),
            Event::Control { name, op } => self.control(&name, op, now, &mut out),
            Event::CmdSpawned { pid } => {
                if self.cmd == Cmd::Spawning {
                    self.cmd = Cmd::Running { pid };
                }
            }
            Event::CmdSpawnFailed => {
                if self.cmd == Cmd::Spawning {
                    self.cmd = Cmd::NotForked;
                    self.request_stop();
                }
            }
            Event::CmdExited { status } => self.cmd_exited(status),
            Event::StopSignal { signal } => {
                let in_stop_scripts = matches!(
                    self.stage,
                    Stage::ListingStopScripts | Stage::StopScripts { .. }
                ) && !self.scripts_aborted;
                if !self.stop_requested || in_stop_scripts {
                    out.push(Action::Log(Note::ShuttingDown { signal }));
                    self.stop_signal.get_or_insert(signal);
                }
                self.request_stop();
            }
            Event::Shutdown { code } => {
                self.requested_code = code;
                self.request_stop();
            }
            Event::Swept => {
                if self.stage == (Stage::Sweeping { asked: true }) {
                    if self.init_script_failed {
                        self.stage = Stage::Done;
                    } else {
                        out.push(Action::ListStopScripts);
                        self.stage = Stage::ListingStopScripts;
                    }
                }
            }
            Event::Timer => self.timer(now, &mut out),
        }
        self.advance(now, &mut out);
        out
    }

    fn reason(&self) -> ExitReason {
        if self.init_script_failed {
            return ExitReason::InitScriptFailed;
        }
        if self.critical_failed {
            return ExitReason::CriticalFailed;
        }
        if let Some(code) = self.requested_code {
            return ExitReason::Requested(code);
        }
        match (self.cmd, self.stop_signal) {
            (Cmd::NotForked, _) => ExitReason::CmdNotStarted,
            (Cmd::Exited(status), _) => ExitReason::Cmd(status),
            (_, Some(signal)) => ExitReason::StoppedBeforeCmd { signal },
            (_, None) => ExitReason::Clean,
        }
    }

    fn request_stop(&mut self) {
        self.stop_requested = true;
        if matches!(
            self.stage,
            Stage::ListingStopScripts | Stage::StopScripts { .. }
        ) {
            self.scripts_aborted = true;
        }
    }

    fn cmd_exited(&mut self, status: WaitStatus) {
        match self.cmd {
            Cmd::Spawning | Cmd::Running { .. } | Cmd::Stopping { .. } | Cmd::Gone => {
                self.cmd = Cmd::Exited(status);
                if self.stage == Stage::Up && self.config.cmd_exit_shuts_down {
                    self.request_stop();
                }
            }
            Cmd::NotStarted | Cmd::NotForked | Cmd::Exited(_) => {}
        }
    }

    fn script_ended(&mut self, status: WaitStatus, out: &mut Vec<Action>) {
        let Some(script) = self.script.take() else {
            return;
        };
        let stopped = match script.kind {
            ScriptKind::Init => self.stop_requested,
            ScriptKind::Stop => self.scripts_aborted,
        };
        if stopped || status.success() {
            return;
        }
        let index = script.index;
        out.push(Action::Log(match script.kind {
            ScriptKind::Init => {
                self.init_script_failed = true;
                Note::InitScriptFailed { index, status }
            }
            ScriptKind::Stop => Note::StopScriptFailed { index, status },
        }));
    }

    /// Feed one service's machine and pass on what it asks for.
    fn feed(&mut self, name: &str, event: service::Event, now: Instant, out: &mut Vec<Action>) {
        let Some(unit) = self.units.get_mut(name) else {
            return;
        };
        let actions = unit.machine.handle(event, now);
        let settled_now =
            unit.started && !unit.settled && unit.machine.phase() != ServicePhase::Starting;
        if settled_now {
            unit.settled = true;
        }
        self.pass_on(name, actions, out);
        if settled_now {
            self.start_ready(now, out);
        }
    }

    /// A service's actions for the driver; "exited with code 3" followed by "failed for
    /// good" becomes one `ServiceFailed`, and a critical one stops the fleet.
    fn pass_on(&mut self, name: &str, actions: Vec<service::Action>, out: &mut Vec<Action>) {
        let mut iter = actions.into_iter().peekable();
        while let Some(action) = iter.next() {
            let failed = match (action, iter.peek()) {
                (
                    service::Action::Log(note),
                    Some(&service::Action::FailedForGood { critical }),
                ) => {
                    iter.next();
                    Some((Some(note), critical))
                }
                (service::Action::FailedForGood { critical }, _) => Some((None, critical)),
                _ => None,
            };
            let name = name.to_string();
            match failed {
                Some((why, critical)) => {
                    if critical {
                        self.critical_failed = true;
                        self.request_stop();
                    }
                    out.push(Action::ServiceFailed {
                        name,
                        why,
                        critical,
                    });
                }
                None => out.push(Action::Service { name, action }),
            }
        }
    }

    /// Start every service not started yet whose `after` are all settled.
    fn start_ready(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.stage != Stage::Up || self.stop_requested {
            return;
        }
        for name in self.order.clone() {
            let Some(unit) = self.units.get(&name) else {
                continue;
            };
            let ready = !unit.started
                && unit
                    .after
                    .iter()
                    .all(|a| self.units.get(a).is_none_or(|d| d.settled));
            if ready {
                if let Some(unit) = self.units.get_mut(&name) {
                    unit.started = true;
                }
                // Start on a stopped service only asks for Spawn: nothing settles here,
                // so one pass in start order is enough.
                self.feed(&name, service::Event::Start, now, out);
            }
        }
    }

    fn control(&mut self, name: &str, op: Op, now: Instant, out: &mut Vec<Action>) {
        if !self.accepts(op) {
            return;
        }
        let Some(unit) = self.units.get_mut(name) else {
            return;
        };
        // The operator has it now: the boot no longer starts it.
        unit.started = true;
        match op {
            Op::Start => self.feed(name, service::Event::Start, now, out),
            Op::Stop => self.feed(name, service::Event::Stop, now, out),
            Op::Restart => {
                self.feed(name, service::Event::Stop, now, out);
                self.feed(name, service::Event::Start, now, out);
            }
        }
    }

    fn timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        let due: Vec<String> = self
            .units
            .iter()
            .filter(|(_, u)| u.machine.next_deadline().is_some_and(|d| d <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            self.feed(&name, service::Event::Timer, now, out);
        }
        if let Cmd::Stopping {
            pid,
            kill_at,
            give_up_at,
        } = self.cmd
        {
            if kill_at.is_some_and(|at| now >= at) {
                out.push(Action::KillCmd);
                self.cmd = Cmd::Stopping {
                    pid,
                    kill_at: None,
                    give_up_at: Some(deadline(now, self.config.after_kill)),
                };
            } else if give_up_at.is_some_and(|at| now >= at) {
                self.cmd = Cmd::Gone;
            }
        }
        if let Some(script) = self.script.as_mut() {
            if let (Some(pid), Some(at)) = (script.pid, script.kill_at) {
                if now >= at {
                    script.kill_at = None;
                    out.push(Action::SignalScript { pid, signal: KILL });
                }
            }
        }
    }

    /// Move through the stages for as long as one finishes.
    fn advance(&mut self, now: Instant, out: &mut Vec<Action>) {
        loop {
            let before = self.stage;
            self.step(now, out);
            if self.stage == before {
                return;
            }
        }
    }

    fn step(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.stage {
            Stage::Idle | Stage::Done | Stage::ListingStopScripts => {}
            Stage::InitScripts { next, count } => {
                if self.script.is_some() {
                    if self.stop_requested {
                        self.stop_script(now, out);
                    }
                } else if self.init_script_failed {
                    self.stage = Stage::Sweeping { asked: false };
                } else if self.stop_requested {
                    self.stage = self.first_stop_stage();
                } else if next < count {
                    self.run_script(ScriptKind::Init, next, out);
                    self.stage = Stage::InitScripts {
                        next: next + 1,
                        count,
                    };
                } else {
                    self.stage = Stage::Up;
                    self.start_ready(now, out);
                }
            }
            Stage::Up => {
                if self.stop_requested {
                    self.stage = self.first_stop_stage();
                } else if self.cmd == Cmd::NotStarted && self.cmd_may_start() {
                    self.cmd = Cmd::Spawning;
                    out.push(Action::StartCmd);
                }
            }
            Stage::CmdFirst => {
                if self.stop_cmd(now, out) {
                    self.stage = Stage::Services;
                }
            }
            Stage::Services => {
                if self.stop_services(now, out) {
                    self.stage = Stage::CmdLast;
                }
            }
            Stage::CmdLast => {
                if self.stop_cmd(now, out) {
                    self.stage = Stage::Sweeping { asked: false };
                }
            }
            Stage::Sweeping { asked: false } => {
                out.push(Action::Sweep);
                self.stage = Stage::Sweeping { asked: true };
            }
            Stage::Sweeping { asked: true } => {}
            Stage::StopScripts { next, count } => {
                if self.script.is_some() {
                    if self.scripts_aborted {
                        self.stop_script(now, out);
                    }
                } else if self.scripts_aborted || next >= count {
                    self.stage = Stage::Done;
                } else {
                    self.run_script(ScriptKind::Stop, next, out);
                    self.stage = Stage::StopScripts {
                        next: next + 1,
                        count,
                    };
                }
            }
        }
    }

    fn first_stop_stage(&self) -> Stage {
        if self.config.stop_cmd_first {
            Stage::CmdFirst
        } else {
            Stage::Services
        }
    }

    fn cmd_may_start(&self) -> bool {
        let settled = |name: &String| self.units.get(name).is_none_or(|u| u.settled);
        match &self.config.cmd_after {
            None => self.units.keys().all(settled),
            Some(names) => names.iter().all(settled),
        }
    }

    fn run_script(&mut self, kind: ScriptKind, index: usize, out: &mut Vec<Action>) {
        self.script = Some(Script {
            kind,
            index,
            pid: None,
            signaled: false,
            kill_at: None,
        });
        out.push(match kind {
            ScriptKind::Init => Action::RunInitScript(index),
            ScriptKind::Stop => Action::RunStopScript(index),
        });
    }

    /// The running script gets the stop signal once, and SIGKILL at the grace.
    fn stop_script(&mut self, now: Instant, out: &mut Vec<Action>) {
        let grace = self.config.grace;
        if let Some(script) = self.script.as_mut() {
            if let (Some(pid), false) = (script.pid, script.signaled) {
                script.signaled = true;
                script.kill_at = Some(deadline(now, grace));
                out.push(Action::SignalScript { pid, signal: TERM });
            }
        }
    }

    /// CMD gets its stop signal, SIGKILL at the grace, and `after_kill` to be reaped.
    /// True once it is gone (or never ran).
    fn stop_cmd(&mut self, now: Instant, out: &mut Vec<Action>) -> bool {
        match self.cmd {
            Cmd::NotStarted | Cmd::NotForked | Cmd::Exited(_) | Cmd::Gone => true,
            Cmd::Spawning | Cmd::Stopping { .. } => false,
            Cmd::Running { pid } => {
                out.push(Action::StopCmd);
                self.cmd = Cmd::Stopping {
                    pid,
                    kill_at: Some(deadline(now, self.config.grace)),
                    give_up_at: None,
                };
                false
            }
        }
    }

    /// Ask each service to stop as soon as no service that is `after` it is up:
    /// independent ones stop together. True once every one is down.
    fn stop_services(&mut self, now: Instant, out: &mut Vec<Action>) -> bool {
        loop {
            let free: Vec<String> = self
                .order
                .iter()
                .rev()
                .filter(|name| {
                    self.units.get(*name).is_some_and(|u| {
                        !u.stop_asked
                            && u.dependents
                                .iter()
                                .all(|d| self.units.get(d).is_none_or(|d| !d.machine.is_up()))
                    })
                })
                .cloned()
                .collect();
            if free.is_empty() {
                break;
            }
            for name in free {
                if let Some(unit) = self.units.get_mut(&name) {
                    unit.stop_asked = true;
                }
                self.feed(&name, service::Event::Stop, now, out);
            }
        }
        self.units
            .values()
            .all(|u| u.stop_asked && !u.machine.is_up())
    }
}

const KILL: i32 = 9;

#[cfg(test)]
mod tests;
