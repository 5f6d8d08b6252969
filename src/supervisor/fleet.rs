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

//!
//! Its parts: `members.rs` (the services and their order), `cmd.rs` (CMD's own steps),
//! `scripts.rs` (the script running now), `types.rs` (events, actions, exit reasons).

use std::time::Instant;

use super::service::{self, Service};
use super::unit;
use crate::wait_status::WaitStatus;

mod cmd;
mod members;
mod scripts;
mod types;

use cmd::Cmd;
pub use members::Machine;
use members::{Asked, Feed, Members};
use scripts::{Kind, Runner};
pub use types::{
    Action, Config, Event, ExitReason, Member, MemberKind, Note, Op, Phase, EXIT_CMD_NOT_STARTED,
    EXIT_CONFIG, EXIT_CRITICAL, EXIT_INIT_SCRIPT,
};

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
    members: Members,
    init_scripts: usize,
    stage: Stage,
    script: Runner,
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
        Fleet {
            config,
            members: Members::new(members, now),
            init_scripts,
            stage: Stage::Idle,
            script: Runner::default(),
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
        self.members.service(name)
    }

    /// Every service's machine, by name.
    pub fn services(&self) -> impl Iterator<Item = (&str, &Service)> {
        self.members.services()
    }

    /// Every member's machine (services, units, targets), in start order.
    pub fn machines(&self) -> impl Iterator<Item = (&str, &Machine)> {
        self.members
            .order()
            .iter()
            .filter_map(|n| self.members.machine(n).map(|m| (n.as_str(), m)))
    }

    /// One member's machine.
    pub fn machine(&self, name: &str) -> Option<&Machine> {
        self.members.machine(name)
    }

    /// Add a member after the start (a unit loaded on demand by `systemctl start`); it
    /// starts when an operator asks. During the shutdown it is stopped with the others. False
    /// when the name is taken.
    pub fn add_member(&mut self, member: Member, now: Instant) -> bool {
        self.members.add(member, now)
    }

    /// CMD's pid while it runs (stop signal sent or not).
    pub fn cmd_pid(&self) -> Option<i32> {
        self.cmd.pid()
    }

    /// Whether an operator's `op` is still carried out: no starts once stopping.
    pub fn accepts(&self, op: Op) -> bool {
        op == Op::Stop || self.phase() < Phase::Stopping
    }

    /// The nearest instant at which a [`Event::Timer`] is wanted; `None` = never.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.members.next_deadline(),
            self.cmd.deadline(),
            self.script.deadline(),
        ]
        .into_iter()
        .flatten()
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
            Event::ScriptSpawned { pid } => self.script.got_pid(pid),
            Event::ScriptSpawnFailed => self.script_ended(WaitStatus::exited(1), &mut out),
            Event::ScriptExited { pid, status } => {
                if self.script.runs_as(pid) {
                    self.script_ended(status, &mut out);
                }
            }
            Event::StopScriptsListed { count } => {
                if self.stage == Stage::ListingStopScripts {
                    self.stage = Stage::StopScripts { next: 0, count };
                }
            }
            Event::Service { name, event } => self.feed(&name, Feed::Service(event), now, &mut out),
            Event::Unit { name, event } => self.unit_event(&name, event, now, &mut out),
            Event::Control { name, op } => self.control(&name, op, now, &mut out),
            Event::CmdSpawned { pid } => self.cmd.spawned(pid),
            Event::CmdSpawnFailed => {
                if self.cmd.spawn_failed() {
                    self.request_stop();
                }
            }
            Event::CmdExited { status } => {
                let news = self.cmd.exited(status);
                if news && self.stage == Stage::Up && self.config.cmd_exit_shuts_down {
                    self.request_stop();
                }
            }
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
        if !self.config.has_cmd {
            return ExitReason::Clean;
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

    fn script_ended(&mut self, status: WaitStatus, out: &mut Vec<Action>) {
        let Some((kind, index)) = self.script.finish() else {
            return;
        };
        let stopped = match kind {
            Kind::Init => self.stop_requested,
            Kind::Stop => self.scripts_aborted,
        };
        if stopped || status.success() {
            return;
        }
        out.push(Action::Log(match kind {
            Kind::Init => {
                self.init_script_failed = true;
                Note::InitScriptFailed { index, status }
            }
            Kind::Stop => Note::StopScriptFailed { index, status },
        }));
    }

    /// Feed one member's machine and pass on what it asks for.
    fn feed(&mut self, name: &str, feed: Feed, now: Instant, out: &mut Vec<Action>) {
        let Some((asked, settled_now)) = self.members.feed(name, feed, now) else {
            return;
        };
        let mut service_actions = Vec::new();
        for a in asked {
            match a {
                Asked::Service(action) => service_actions.push(action),
                Asked::Unit(action) => out.push(Action::Unit {
                    name: name.to_string(),
                    action,
                }),
            }
        }
        self.pass_on(name, service_actions, out);
        if settled_now {
            self.start_ready(now, out);
        }
    }

    /// An event for a unit: its operator requests (start, stop, restart) follow the rules
    /// of `ctl` requests; the rest goes to its machine.
    fn unit_event(&mut self, name: &str, event: unit::Event, now: Instant, out: &mut Vec<Action>) {
        let op = match event {
            unit::Event::Start => Some(Op::Start),
            unit::Event::Stop => Some(Op::Stop),
            unit::Event::Restart | unit::Event::TryRestart => Some(Op::Restart),
            _ => None,
        };
        if let Some(op) = op {
            let known = match op {
                Op::Stop => self.members.machine(name).is_some(),
                Op::Start | Op::Restart => self.members.take_over(name),
            };
            if !self.accepts(op) || !known {
                return;
            }
        }
        self.feed(name, Feed::Unit(event), now, out);
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

    /// Start every service not started yet whose `after` are all settled. (Start on a
    /// stopped service only asks for Spawn: nothing settles here, so one pass will do.)
    fn start_ready(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.stage != Stage::Up || self.stop_requested {
            return;
        }
        for name in self.members.take_startable() {
            self.feed(&name, Feed::Start, now, out);
        }
    }

    fn control(&mut self, name: &str, op: Op, now: Instant, out: &mut Vec<Action>) {
        // An operator's start takes the service over from the boot; a stop of one the boot
        // has not reached yet does not keep it from starting later.
        let known = match op {
            Op::Stop => self.members.machine(name).is_some(),
            Op::Start | Op::Restart => self.members.take_over(name),
        };
        if !self.accepts(op) || !known {
            return;
        }
        match op {
            Op::Start => self.feed(name, Feed::Start, now, out),
            Op::Stop => self.feed(name, Feed::Stop, now, out),
            Op::Restart => match self.members.machine(name) {
                Some(Machine::Unit(_)) => {
                    self.feed(name, Feed::Unit(unit::Event::Restart), now, out)
                }
                // Nothing runs to stop: start it now. Stopping first would end it for
                // good for a moment, and that empties its fd store.
                Some(Machine::Service(s)) if s.phase() == service::Phase::Backoff => {
                    self.feed(name, Feed::Start, now, out)
                }
                _ => {
                    self.feed(name, Feed::Stop, now, out);
                    self.feed(name, Feed::Start, now, out);
                }
            },
        }
    }

    fn timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        for name in self.members.due(now) {
            self.feed(&name, Feed::Timer, now, out);
        }
        self.cmd.timer(now, self.config.after_kill, out);
        self.script.timer(now, out);
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
        let grace = self.config.grace;
        match self.stage {
            Stage::Idle | Stage::Done | Stage::ListingStopScripts => {}
            Stage::InitScripts { next, count } => {
                if self.script.busy() {
                    if self.stop_requested {
                        self.script.stop(now, grace, out);
                    }
                } else if self.init_script_failed {
                    self.stage = Stage::Sweeping { asked: false };
                } else if self.stop_requested {
                    self.stage = self.first_stop_stage();
                } else if next < count {
                    out.push(self.script.start(Kind::Init, next));
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
                } else if self.cmd == Cmd::NotStarted
                    && self.members.settled(self.config.cmd_after.as_deref())
                {
                    if self.config.has_cmd {
                        self.cmd = Cmd::Spawning;
                        out.push(Action::StartCmd);
                    } else {
                        self.cmd = Cmd::Absent;
                    }
                }
            }
            Stage::CmdFirst => {
                if self.cmd.stop(now, grace, out) {
                    self.stage = Stage::Services;
                }
            }
            Stage::Services => {
                if self.stop_services(now, out) {
                    self.stage = Stage::CmdLast;
                }
            }
            Stage::CmdLast => {
                if self.cmd.stop(now, grace, out) {
                    self.stage = Stage::Sweeping { asked: false };
                }
            }
            Stage::Sweeping { asked: false } => {
                out.push(Action::Sweep);
                self.stage = Stage::Sweeping { asked: true };
            }
            Stage::Sweeping { asked: true } => {}
            Stage::StopScripts { next, count } => {
                if self.script.busy() {
                    if self.scripts_aborted {
                        self.script.stop(now, grace, out);
                    }
                } else if self.scripts_aborted || next >= count {
                    self.stage = Stage::Done;
                } else {
                    out.push(self.script.start(Kind::Stop, next));
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

    /// Ask each service to stop as soon as no service that is `after` it is up:
    /// independent ones stop together. True once every one is down.
    fn stop_services(&mut self, now: Instant, out: &mut Vec<Action>) -> bool {
        loop {
            let free = self.members.take_stoppable();
            if free.is_empty() {
                return self.members.all_down();
            }
            for name in free {
                self.feed(&name, Feed::Stop, now, out);
            }
        }
    }
}

#[cfg(test)]
mod tests;
