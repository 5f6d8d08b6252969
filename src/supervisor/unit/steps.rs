//! The unit's steps as service.c names them (service_enter_*): running each step's
//! commands in order, the kill steps per KillMode=, and the Restart= decision.

use std::time::{Duration, Instant};

use super::{Action, ExecKind, ExecRef, Note, SubState, Target, Unit, UnitResult};
use crate::units::service::{KillMode, Restart, ServiceType};

impl Unit {
    pub(super) fn spawn(
        &mut self,
        kind: ExecKind,
        index: usize,
        timeout: Option<Duration>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let r = ExecRef { kind, index };
        self.step = Some(r);
        self.spawning = true;
        self.deadline = self.after(timeout, now);
        out.push(Action::Spawn(r));
    }

    /// Run the first command of `kind` in `state`; false if there is none.
    pub(super) fn run_first(
        &mut self,
        kind: ExecKind,
        state: SubState,
        timeout: Option<Duration>,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> bool {
        if self.spec.commands.list(kind).is_empty() {
            return false;
        }
        self.set(state, now);
        self.spawn(kind, 0, timeout, now, out);
        true
    }

    /// Run the command after `r` of the same list; false if `r` was the last.
    pub(super) fn run_next(&mut self, r: ExecRef, now: Instant, out: &mut Vec<Action>) -> bool {
        let next = r.index + 1;
        if next >= self.spec.commands.list(r.kind).len() {
            return false;
        }
        let timeout = self.step_timeout();
        self.spawn(r.kind, next, timeout, now, out);
        true
    }

    fn step_timeout(&self) -> Option<Duration> {
        match self.state.active_state() {
            super::ActiveState::Deactivating => self.spec.timeout_stop,
            _ if self.state == SubState::Start && self.kind() == ServiceType::Simple => None,
            _ => self.spec.timeout_start,
        }
    }

    pub(super) fn enter_condition(&mut self, now: Instant, out: &mut Vec<Action>) {
        let t = self.spec.timeout_start;
        if !self.run_first(ExecKind::Condition, SubState::Condition, t, now, out) {
            self.enter_start_pre(now, out);
        }
    }

    pub(super) fn enter_start_pre(&mut self, now: Instant, out: &mut Vec<Action>) {
        let t = self.spec.timeout_start;
        if !self.run_first(ExecKind::StartPre, SubState::StartPre, t, now, out) {
            self.enter_start(now, out);
        }
    }

    pub(super) fn enter_start(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.main = None;
        self.control = None;
        self.set(SubState::Start, now);
        let t = self.step_timeout();
        if !self.run_first(ExecKind::Start, SubState::Start, t, now, out) {
            // Only Type=oneshot may have no ExecStart= (service_verify).
            self.enter_start_post(now, out);
        }
    }

    pub(super) fn enter_start_post(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.control = None;
        self.deadline = None;
        let t = self.spec.timeout_start;
        if !self.run_first(ExecKind::StartPost, SubState::StartPost, t, now, out) {
            self.enter_running(UnitResult::Success, true, now, out);
        }
    }

    /// service_enter_running: running while the main process (or, with no main pid, the
    /// group) lives; else exited with RemainAfterExit=, else stop.
    pub(super) fn enter_running(
        &mut self,
        f: UnitResult,
        from_start: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.fail_with(f);
        self.deadline = None;
        if self.result != UnitResult::Success {
            return self.enter_signal(SubState::StopSigterm, f, now, out);
        }
        if from_start {
            out.push(Action::BecameActive);
        }
        let good = self.main.is_some() || (!self.main_known && self.group);
        let up = if good {
            SubState::Running
        } else if self.spec.remain_after_exit {
            SubState::Exited
        } else {
            return self.enter_stop(UnitResult::Success, now, out);
        };
        if from_start {
            self.active_since = Some(now);
        }
        self.set(up, now);
    }

    pub(super) fn reload_finish(&mut self, f: UnitResult, now: Instant, out: &mut Vec<Action>) {
        if f != UnitResult::Success {
            out.push(Action::Log(Note::ReloadFailed { result: f }));
        }
        self.enter_running(UnitResult::Success, false, now, out);
    }

    pub(super) fn enter_stop(&mut self, f: UnitResult, now: Instant, out: &mut Vec<Action>) {
        self.fail_with(f);
        self.control = None;
        let t = self.spec.timeout_stop;
        if !self.run_first(ExecKind::Stop, SubState::Stop, t, now, out) {
            self.enter_signal(SubState::StopSigterm, UnitResult::Success, now, out);
        }
    }

    /// Send the state's signal per KillMode= (systemd.kill(5)) and wait, or go on at once
    /// when there is nothing to wait for.
    pub(super) fn enter_signal(
        &mut self,
        state: SubState,
        f: UnitResult,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.fail_with(f);
        let last = matches!(state, SubState::StopSigkill | SubState::FinalSigkill);
        let signal = if last {
            self.spec.final_kill_signal
        } else {
            self.spec.kill_signal
        };
        if self.kill(signal, last, out) {
            self.set(state, now);
            self.deadline = self.after(self.spec.timeout_stop, now);
            return;
        }
        let sigkill = self.spec.send_sigkill;
        match state {
            SubState::StopSigterm if sigkill => {
                self.enter_signal(SubState::StopSigkill, UnitResult::Success, now, out)
            }
            SubState::StopSigterm | SubState::StopSigkill => {
                self.enter_stop_post(UnitResult::Success, now, out)
            }
            SubState::FinalSigterm if sigkill => {
                self.enter_signal(SubState::FinalSigkill, UnitResult::Success, now, out)
            }
            _ => self.enter_dead(UnitResult::Success, true, now, out),
        }
    }

    /// systemd's unit_kill_context: true if there is something to wait for.
    fn kill(&mut self, signal: i32, last: bool, out: &mut Vec<Action>) -> bool {
        let (main, control) = (self.main.is_some(), self.control.is_some());
        let group = match self.spec.kill_mode {
            KillMode::None => return false,
            KillMode::ControlGroup => true,
            KillMode::Mixed => last,
            KillMode::Process => false,
        };
        if group {
            if main || control || self.group {
                out.push(Action::Signal {
                    target: Target::All,
                    signal,
                });
            }
            return main || control || self.group;
        }
        for (known, target) in [(main, Target::Main), (control, Target::Control)] {
            if known {
                out.push(Action::Signal { target, signal });
            }
        }
        main || control
    }

    pub(super) fn enter_stop_post(&mut self, f: UnitResult, now: Instant, out: &mut Vec<Action>) {
        self.fail_with(f);
        self.control = None;
        let t = self.spec.timeout_stop;
        if !self.run_first(ExecKind::StopPost, SubState::StopPost, t, now, out) {
            self.enter_signal(SubState::FinalSigterm, UnitResult::Success, now, out);
        }
    }

    /// service_enter_dead: auto-restart, a queued start, or dead/failed for good.
    pub(super) fn enter_dead(
        &mut self,
        f: UnitResult,
        allow_restart: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.fail_with(f);
        self.main = None;
        self.control = None;
        self.step = None;
        self.spawning = false;
        self.reading_pid_file = false;
        self.pid_watch_until = None;
        self.deadline = None;
        out.push(Action::Log(Note::Finished {
            result: self.result,
        }));
        let end = if self.result.is_failure() {
            SubState::Failed
        } else {
            SubState::Dead
        };
        if allow_restart && self.shall_restart() {
            let delay = self.spec.restart_sec;
            let count = self.n_restarts.saturating_add(1);
            self.set(SubState::AutoRestart, now);
            self.deadline = Some(now.checked_add(delay).unwrap_or(now));
            out.push(Action::Log(Note::RestartScheduled { delay, count }));
        } else if std::mem::take(&mut self.then_start) {
            self.set(end, now);
            self.start(false, now, out);
        } else {
            self.set(end, now);
            out.push(if end == SubState::Failed {
                Action::FailedForGood
            } else {
                Action::Stopped
            });
        }
        self.forbid_restart = false;
    }

    /// systemd.service(5) Restart=, its table, and RestartPreventExitStatus=.
    fn shall_restart(&self) -> bool {
        if self.forbid_restart || self.then_start {
            return false;
        }
        let prevent = &self.spec.restart_prevent_exit_status;
        if let Some(st) = self.run_main_status {
            let code = st.code().and_then(|c| u8::try_from(c).ok());
            let hit = code.is_some_and(|c| prevent.codes.contains(&c))
                || st.signal().is_some_and(|s| prevent.signals.contains(&s));
            if hit {
                return false;
            }
        }
        use UnitResult as R;
        let r = self.result;
        match self.spec.restart {
            Restart::No => false,
            Restart::Always => r != R::ExecCondition,
            Restart::OnSuccess => r == R::Success,
            Restart::OnFailure => r.is_failure(),
            Restart::OnAbnormal => r.is_failure() && r != R::ExitCode,
            Restart::OnWatchdog => r == R::Watchdog,
            Restart::OnAbort => matches!(r, R::Signal | R::CoreDump),
        }
    }
}
