//! One systemd `.service` unit's lifecycle as a pure state machine: `(event, now) ->
//! Vec<Action>`, with systemd's semantics (systemd.service(5), systemd.kill(5),
//! systemd.unit(5) StartLimit*=, systemctl(1) states). No syscalls, no clocks.
//!
//! ```text
//!  dead/failed --Start--> condition -> start-pre -> start -> start-post -> running | exited
//!       ^                     |  (each step: its Exec*= commands one by one)     |
//!       |               fail/timeout/Stop                                  main exits (ok)
//!       |                     v                                           or Stop: stop
//!       |                stop-sigterm <-------------- (ExecStop=) stop <---------+
//!       |                     | timeout: stop-sigkill     main exits (failure) --> stop-sigterm
//!       |                     v
//!       |                 stop-post (ExecStopPost=) -> final-sigterm -> final-sigkill
//!       |                                                    |
//!       +---- dead (success, skipped) / failed <-------------+--> auto-restart --RestartSec--> Start
//!  running/exited --Reload--> reload (ExecReload=) --> running/exited
//! ```
//! The sub-states are systemd's service states ([`SubState`]); [`ActiveState`] follows
//! systemd's translation table. `Result=` ([`UnitResult`]) keeps the first failure of a
//! run, as systemd's `s->result` does.
//!
//! Decisions where the documents leave room (service.c was read for the facts):
//! - ExecStop= runs after the main process exits cleanly on its own, not after it fails,
//!   and not after a failed start (systemd.service(5) ExecStop=: "the stop operation is
//!   always performed if the service started successfully"; service.c service_enter_running).
//! - TimeoutStartSec= is armed again for each command of the start steps, and for
//!   ExecReload=; TimeoutStopSec= for each stop step (service.c arms the timer per spawn).
//!   Type=simple's ExecStart= has no start timeout.
//! - A stop timeout makes the run fail with result `timeout`, as in systemd.
//! - A [`Event::SpawnFailed`] is the command failing with result `resources`; with the `-`
//!   prefix and ENOENT it is skipped as a success ("executable missing, skipping").
//! - PIDFile= that names nothing: no main pid; the unit is then active until
//!   [`Event::GroupEmpty`]; if the group is already empty, the start fails (`protocol`).
//!   The machine does not follow a daemon that moves to a new pid (service.c re-reads the
//!   PID file when the main pid exits); GuessMainPID= is left to the driver.
//! - Hitting the start limit sets `Result=start-limit-hit` even after a failed run (systemd
//!   keeps the earlier failure there); ResetFailed clears the limit.
//! - Notify RELOADING=1 in running enters `reload` until READY=1; STOPPING=1 enters
//!   `stop-sigterm` without sending a signal, as service.c does.
//!
//! - Stop while activating kills the start command at once (no ExecStop=). A control
//!   command killed by SIGTERM is a failure (only a daemon's main process exits cleanly on
//!   SIGTERM), so that run ends `failed` (result `signal`), as systemd's does.
//! - As service.c, the kill steps go on once the main and control processes have exited
//!   (or, with neither known, on `GroupEmpty`); the final-sigterm step then signals what
//!   may be left, so a `Signal { target: All }` may find the group already empty.
//!
//! Additions to the brief's interface: [`Spec::commands`] ([`Commands`], the `-` flag per
//! command), `Unit::spec()`, [`UnitResult::ExecCondition`] and [`UnitResult::Watchdog`]
//! (systemd's `exec-condition` and `watchdog`), [`SubState::active_state`], and `as_str()`
//! on [`ExecKind`].
//!
//! Driving it: perform the actions in order. `Spawn` and `ReadPidFile` must be answered
//! before the next event for this unit. Send `Exited` for every exit of `main_pid()` or
//! `control_pid()`, and `GroupEmpty` when the unit has no process left at all (after that
//! exit's `Exited`; promptly when the main exits and nothing else is left). Sleep until
//! `next_deadline()` and send `Timer`.

use std::time::{Duration, Instant};

/// How often a missing PIDFile= is read again while the unit runs without a main pid.
const PID_FILE_RETRY: Duration = Duration::from_millis(50);

mod events;
mod steps;
mod types;

pub use types::{
    Action, ActiveState, Commands, Event, ExecKind, ExecRef, Note, Spec, SubState, Target,
    UnitResult,
};

use crate::units::service::ServiceType;
use crate::wait_status::WaitStatus;

/// The start-rate limit's window (systemd's ratelimit: `burst` starts per `interval`).
#[derive(Debug, Clone, Copy, Default)]
struct StartLimit {
    begin: Option<Instant>,
    count: u32,
}

#[derive(Debug, Clone)]
pub struct Unit {
    spec: Spec,
    state: SubState,
    since: Instant,
    active_since: Option<Instant>,
    result: UnitResult,
    main: Option<i32>,
    /// A main pid was set in this run (so "no main pid" means it exited, not unknown).
    main_known: bool,
    control: Option<i32>,
    /// The command running or last run as control (or oneshot's main), for sequencing.
    step: Option<ExecRef>,
    /// A `Spawn` is waiting for its answer.
    spawning: bool,
    /// A `ReadPidFile` is waiting for its answer.
    reading_pid_file: bool,
    /// A `CheckConditions` is waiting for its answer.
    checking_conditions: bool,
    /// PIDFile= was not there when the start process exited: it is read again every
    /// PID_FILE_RETRY while running, until then (systemd watches the file with inotify).
    pid_watch_until: Option<Instant>,
    /// The unit may have processes (set by `Spawned`, cleared by `GroupEmpty`).
    group: bool,
    deadline: Option<Instant>,
    exec_main_status: Option<WaitStatus>,
    /// The main exit of this run, for RestartPreventExitStatus=.
    run_main_status: Option<WaitStatus>,
    n_restarts: u32,
    /// An operator stopped it: no auto-restart at the end of this stop.
    forbid_restart: bool,
    /// Start again when the stop ends (Restart, or Start while deactivating).
    then_start: bool,
    limit: StartLimit,
}

impl Unit {
    /// A unit that has not been started (inactive/dead).
    pub fn new(spec: Spec, now: Instant) -> Unit {
        Unit {
            spec,
            state: SubState::Dead,
            since: now,
            active_since: None,
            result: UnitResult::Success,
            main: None,
            main_known: false,
            control: None,
            step: None,
            spawning: false,
            reading_pid_file: false,
            checking_conditions: false,
            pid_watch_until: None,
            group: false,
            deadline: None,
            exec_main_status: None,
            run_main_status: None,
            n_restarts: 0,
            forbid_restart: false,
            then_start: false,
            limit: StartLimit::default(),
        }
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    pub fn active_state(&self) -> ActiveState {
        self.state.active_state()
    }

    pub fn sub_state(&self) -> SubState {
        self.state
    }

    pub fn result(&self) -> UnitResult {
        self.result
    }

    pub fn main_pid(&self) -> Option<i32> {
        self.main
    }

    pub fn control_pid(&self) -> Option<i32> {
        self.control
    }

    /// How the main process last exited (kept across runs).
    pub fn exec_main_status(&self) -> Option<WaitStatus> {
        self.exec_main_status
    }

    /// Automatic restarts since the last operator start or reset-failed.
    pub fn n_restarts(&self) -> u32 {
        self.n_restarts
    }

    /// The last change of sub-state.
    pub fn since(&self) -> Instant {
        self.since
    }

    /// When it last became active, if ever.
    pub fn active_since(&self) -> Option<Instant> {
        self.active_since
    }

    /// A process may exist, or it is neither inactive nor failed: shutdown must wait.
    pub fn is_up(&self) -> bool {
        self.main.is_some()
            || self.control.is_some()
            || self.group
            || !matches!(self.state, SubState::Dead | SubState::Failed)
    }

    /// Not activating: a start has come to an end (one way or another).
    pub fn settled(&self) -> bool {
        self.active_state() != ActiveState::Activating
    }

    /// The instant at which it wants an [`Event::Timer`]; `None` = never.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Start => self.start(false, now, &mut out),
            Event::Stop => self.stop(false, now, &mut out),
            Event::Restart => self.restart(now, &mut out),
            Event::TryRestart => {
                if matches!(
                    self.active_state(),
                    ActiveState::Active | ActiveState::Activating | ActiveState::Reloading
                ) {
                    self.restart(now, &mut out);
                }
            }
            Event::Reload => self.reload(now, &mut out),
            Event::ResetFailed => self.reset_failed(now),
            Event::Spawned { pid } => self.spawned(pid, now, &mut out),
            Event::SpawnFailed { errno } => self.spawn_failed(errno, now, &mut out),
            Event::Exited { pid, status } => self.exited(pid, status, now, &mut out),
            Event::PidFile { pid } => self.pid_file(pid, now, &mut out),
            Event::Notify {
                ready,
                reloading,
                stopping,
                main_pid,
            } => self.notify(ready, reloading, stopping, main_pid, now, &mut out),
            Event::GroupEmpty => self.group_empty(now, &mut out),
            Event::Timer => self.timer(now, &mut out),
            Event::ConditionsChecked { met, asserted } => {
                self.conditions_checked(met, asserted, now, &mut out)
            }
        }
        out
    }

    fn set(&mut self, state: SubState, now: Instant) {
        if state != self.state {
            self.since = now;
        }
        self.state = state;
    }

    /// Keep the first failure of the run.
    fn fail_with(&mut self, f: UnitResult) {
        if self.result == UnitResult::Success {
            self.result = f;
        }
    }

    fn kind(&self) -> ServiceType {
        match self.spec.kind {
            ServiceType::Idle => ServiceType::Simple,
            other => other,
        }
    }

    fn after(&self, timeout: Option<Duration>, now: Instant) -> Option<Instant> {
        timeout.and_then(|t| now.checked_add(t))
    }

    /// Start, by the operator (`auto` false) or after RestartSec= (`auto` true).
    fn start(&mut self, auto: bool, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            SubState::Dead | SubState::Failed | SubState::AutoRestart => {}
            SubState::Stop
            | SubState::StopSigterm
            | SubState::StopSigkill
            | SubState::StopPost
            | SubState::FinalSigterm
            | SubState::FinalSigkill => {
                // systemd queues the start job after the stop job.
                self.then_start = true;
                return;
            }
            _ => return,
        }
        if !self.start_allowed(now) {
            out.push(Action::Log(Note::StartLimitHit));
            self.result = UnitResult::StartLimitHit;
            self.enter_dead(UnitResult::StartLimitHit, false, now, out);
            return;
        }
        if !auto && self.state != SubState::AutoRestart {
            self.n_restarts = 0;
        }
        self.result = UnitResult::Success;
        self.main_known = false;
        self.run_main_status = None;
        self.forbid_restart = false;
        self.then_start = false;
        if self.spec.has_conditions {
            // systemd.unit(5): conditions are checked when the start job runs; the unit is
            // activating (sub-state `condition`) until they are.
            self.set(SubState::Condition, now);
            self.checking_conditions = true;
            out.push(Action::CheckConditions);
        } else {
            self.enter_condition(now, out);
        }
    }

    /// Unmet conditions skip the start (inactive, success); a failed assertion fails the
    /// start job but leaves the unit inactive too (systemd.unit(5), "Conditions and Asserts").
    fn conditions_checked(
        &mut self,
        met: bool,
        asserted: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if !self.checking_conditions || self.state != SubState::Condition {
            return;
        }
        self.checking_conditions = false;
        if met && asserted {
            self.enter_condition(now, out);
            return;
        }
        out.push(Action::Log(if asserted {
            Note::ConditionUnmet
        } else {
            Note::AssertFailed
        }));
        self.set(SubState::Dead, now);
        out.push(Action::Stopped);
    }

    /// systemd's ratelimit_below() on the unit's start limit.
    fn start_allowed(&mut self, now: Instant) -> bool {
        let (interval, burst) = (self.spec.start_limit_interval, self.spec.start_limit_burst);
        if interval.is_zero() || burst == 0 {
            return true;
        }
        match self.limit.begin {
            Some(begin) if now.saturating_duration_since(begin) < interval => {
                if self.limit.count < burst {
                    self.limit.count += 1;
                    true
                } else {
                    false
                }
            }
            _ => {
                self.limit = StartLimit {
                    begin: Some(now),
                    count: 1,
                };
                true
            }
        }
    }

    /// Stop (systemctl stop); `then_start` for a restart.
    fn stop(&mut self, then_start: bool, now: Instant, out: &mut Vec<Action>) {
        self.then_start = then_start;
        match self.state {
            SubState::Condition
            | SubState::StartPre
            | SubState::Start
            | SubState::StartPost
            | SubState::Reload => {
                self.forbid_restart = true;
                self.enter_signal(SubState::StopSigterm, UnitResult::Success, now, out);
            }
            SubState::Running | SubState::Exited => {
                self.forbid_restart = true;
                self.enter_stop(UnitResult::Success, now, out);
            }
            SubState::AutoRestart => {
                self.deadline = None;
                self.set(SubState::Dead, now);
                if then_start {
                    self.then_start = false;
                    self.start(false, now, out);
                } else {
                    out.push(Action::Stopped);
                }
            }
            SubState::Dead | SubState::Failed => {
                if then_start {
                    self.then_start = false;
                    self.start(false, now, out);
                }
            }
            // Already stopping: it ends as it is.
            _ => self.forbid_restart = true,
        }
    }

    fn restart(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.stop(true, now, out);
    }

    fn reload(&mut self, now: Instant, out: &mut Vec<Action>) {
        let can = matches!(self.state, SubState::Running | SubState::Exited)
            && !self.spec.commands.reload.is_empty();
        if !can {
            out.push(Action::Log(Note::CannotReload { state: self.state }));
            return;
        }
        self.set(SubState::Reload, now);
        self.spawn(ExecKind::Reload, 0, self.spec.timeout_start, now, out);
    }

    fn reset_failed(&mut self, now: Instant) {
        if self.state == SubState::Failed {
            self.set(SubState::Dead, now);
        }
        self.result = UnitResult::Success;
        self.n_restarts = 0;
        self.limit = StartLimit::default();
    }

    fn timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.deadline {
            Some(at) if now >= at => self.deadline = None,
            _ => return,
        }
        if self.state == SubState::Running && self.main.is_none() {
            if self.pid_watch_until.is_some_and(|until| now < until) {
                self.reading_pid_file = true;
                out.push(Action::ReadPidFile);
            } else {
                self.pid_watch_until = None;
            }
            return;
        }
        let state = self.state;
        if state != SubState::AutoRestart {
            out.push(Action::Log(Note::TimedOut { state }));
        }
        let timeout = UnitResult::Timeout;
        match state {
            SubState::Condition | SubState::StartPre | SubState::Start | SubState::StartPost => {
                self.enter_signal(SubState::StopSigterm, timeout, now, out)
            }
            SubState::Reload => {
                if self.control.is_some() {
                    let signal = libc::SIGKILL;
                    out.push(Action::Signal {
                        target: Target::Control,
                        signal,
                    });
                }
                self.reload_finish(timeout, now, out);
            }
            SubState::Stop => self.enter_signal(SubState::StopSigterm, timeout, now, out),
            SubState::StopSigterm if self.spec.send_sigkill => {
                self.enter_signal(SubState::StopSigkill, timeout, now, out)
            }
            SubState::StopSigterm | SubState::StopSigkill => {
                self.enter_stop_post(timeout, now, out)
            }
            SubState::StopPost => self.enter_signal(SubState::FinalSigterm, timeout, now, out),
            SubState::FinalSigterm if self.spec.send_sigkill => {
                self.enter_signal(SubState::FinalSigkill, timeout, now, out)
            }
            SubState::FinalSigterm => self.enter_dead(timeout, false, now, out),
            SubState::FinalSigkill => self.enter_dead(timeout, true, now, out),
            SubState::AutoRestart => {
                self.n_restarts = self.n_restarts.saturating_add(1);
                self.start(true, now, out);
            }
            SubState::Dead | SubState::Failed | SubState::Running | SubState::Exited => {}
        }
    }
}

#[cfg(test)]
mod tests;
