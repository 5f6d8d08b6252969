//! The unit's steps, as service.c names them: entering each state, and what a process
//! exit, a PID file, a notification or an empty group moves it to.

use std::time::{Duration, Instant};

use super::{Action, ExecKind, ExecRef, Note, SubState, Target, Unit, UnitResult};
use crate::units::service::{KillMode, Restart, ServiceType};
use crate::wait_status::WaitStatus;

const ENOENT: i32 = 2;

/// Signals that end a daemon cleanly (systemd.service(5) SuccessExitStatus=: "exit code 0
/// and, except for Type=oneshot, the signals SIGHUP, SIGINT, SIGTERM, and SIGPIPE").
const CLEAN_SIGNALS: [i32; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGTERM, libc::SIGPIPE];

impl Unit {
    /// ExecStart= of every type but forking runs as the main process.
    fn is_main(&self, r: ExecRef) -> bool {
        r.kind == ExecKind::Start && self.kind() != ServiceType::Forking
    }

    /// How an exit counts; `daemon` allows the clean signals.
    fn classify(&self, status: WaitStatus, daemon: bool) -> UnitResult {
        let set = &self.spec.success_exit_status;
        let clean = match (status.code(), status.signal()) {
            (Some(code), _) => {
                code == 0 || u8::try_from(code).is_ok_and(|c| set.codes.contains(&c))
            }
            (None, Some(sig)) => {
                set.signals.contains(&sig) || (daemon && CLEAN_SIGNALS.contains(&sig))
            }
            (None, None) => false,
        };
        match (clean, status.code(), status.signal()) {
            (true, _, _) => UnitResult::Success,
            (false, Some(_), _) => UnitResult::ExitCode,
            (false, None, Some(_)) if status.raw() & 0x80 != 0 => UnitResult::CoreDump,
            _ => UnitResult::Signal,
        }
    }

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
    fn run_first(
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
    fn run_next(&mut self, r: ExecRef, now: Instant, out: &mut Vec<Action>) -> bool {
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

    pub(super) fn spawned(&mut self, pid: i32, now: Instant, out: &mut Vec<Action>) {
        let Some(r) = self.step.filter(|_| self.spawning) else {
            return;
        };
        self.spawning = false;
        self.group = true;
        if self.is_main(r) {
            self.main = Some(pid);
            self.main_known = true;
            // simple, idle and exec are started once spawned (exec: the driver reports an
            // exec failure as SpawnFailed, so Spawned means execve succeeded).
            if matches!(self.kind(), ServiceType::Simple | ServiceType::Exec) {
                self.enter_start_post(now, out);
            }
        } else {
            self.control = Some(pid);
        }
    }

    pub(super) fn spawn_failed(&mut self, errno: i32, now: Instant, out: &mut Vec<Action>) {
        let Some(r) = self.step.filter(|_| self.spawning) else {
            return;
        };
        self.spawning = false;
        out.push(Action::Log(Note::SpawnFailed { exec: r, errno }));
        let f = if errno == ENOENT && self.spec.commands.ignores_failure(r) {
            UnitResult::Success
        } else {
            UnitResult::Resources
        };
        if self.is_main(r) {
            self.main_known = true;
            self.fail_with(f);
            self.main_done(r, f, now, out);
        } else {
            self.control_done(r, f, now, out);
        }
    }

    pub(super) fn exited(
        &mut self,
        pid: i32,
        status: WaitStatus,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.main == Some(pid) {
            self.main = None;
            self.exec_main_status = Some(status);
            self.run_main_status = Some(status);
            let r = match self.step {
                Some(r) if self.is_main(r) => r,
                _ => ExecRef {
                    kind: ExecKind::Start,
                    index: 0,
                },
            };
            let mut f = self.classify(status, self.kind() != ServiceType::Oneshot);
            if self.spec.commands.ignores_failure(r) {
                f = UnitResult::Success;
            }
            out.push(Action::Log(Note::Exited {
                exec: r,
                main: true,
                status,
                success: f == UnitResult::Success,
            }));
            self.fail_with(f);
            self.main_done(r, f, now, out);
        } else if self.control == Some(pid) {
            self.control = None;
            let stale = matches!(
                self.state,
                SubState::Running | SubState::Exited | SubState::Dead | SubState::Failed
            ) || self.state == SubState::AutoRestart;
            let Some(r) = self.step.filter(|_| !stale) else {
                return;
            };
            let daemon = r.kind == ExecKind::Start;
            let mut f = self.classify(status, daemon);
            if self.spec.commands.ignores_failure(r) {
                f = UnitResult::Success;
            }
            // systemd.service(5) ExecCondition=: exit 1..254 skips, 255 or a signal fails.
            let skip = self.state == SubState::Condition
                && f == UnitResult::ExitCode
                && status.code().is_some_and(|c| c < 255);
            if skip {
                f = UnitResult::ExecCondition;
                out.push(Action::Log(Note::ConditionFailed { status }));
            }
            out.push(Action::Log(Note::Exited {
                exec: r,
                main: false,
                status,
                success: f == UnitResult::Success,
            }));
            self.control_done(r, f, now, out);
        }
    }

    /// The main process is gone with `f` (already recorded).
    fn main_done(&mut self, r: ExecRef, f: UnitResult, now: Instant, out: &mut Vec<Action>) {
        let ok = f == UnitResult::Success;
        match self.state {
            SubState::Start if self.kind() == ServiceType::Oneshot => {
                if !ok {
                    self.enter_signal(SubState::StopSigterm, f, now, out);
                } else if !self.run_next(r, now, out) {
                    self.enter_start_post(now, out);
                }
            }
            SubState::Start if self.kind() == ServiceType::Notify => {
                if ok {
                    out.push(Action::Log(Note::ExitedBeforeReady));
                }
                let f = if ok { UnitResult::Protocol } else { f };
                self.enter_signal(SubState::StopSigterm, f, now, out);
            }
            SubState::Start | SubState::Running => {
                let from_start = self.state == SubState::Start;
                self.enter_running(f, from_start, now, out)
            }
            SubState::StartPost | SubState::Reload if self.control.is_none() => {
                self.enter_stop(f, now, out)
            }
            SubState::StopSigterm | SubState::StopSigkill if self.control.is_none() => {
                self.enter_stop_post(f, now, out)
            }
            SubState::StopPost if self.control.is_none() => {
                self.enter_signal(SubState::FinalSigterm, f, now, out)
            }
            SubState::FinalSigterm | SubState::FinalSigkill if self.control.is_none() => {
                self.enter_dead(f, true, now, out)
            }
            // Stop, or a control process still running: wait for it.
            _ => {}
        }
    }

    /// The control command `r` ended with `f` (exit or failed spawn).
    fn control_done(&mut self, r: ExecRef, f: UnitResult, now: Instant, out: &mut Vec<Action>) {
        let ok = f == UnitResult::Success;
        if self.state != SubState::Reload {
            self.fail_with(f);
        }
        if ok && self.run_next(r, now, out) {
            return;
        }
        match self.state {
            SubState::Condition if ok => self.enter_start_pre(now, out),
            SubState::StartPre if ok => self.enter_start(now, out),
            SubState::Start if ok => {
                // Type=forking: the start process has exited.
                if self.spec.has_pid_file {
                    self.reading_pid_file = true;
                    out.push(Action::ReadPidFile);
                } else {
                    self.enter_start_post(now, out);
                }
            }
            SubState::StartPost if ok => {
                if self.spec.has_pid_file && !self.main_known {
                    self.reading_pid_file = true;
                    out.push(Action::ReadPidFile);
                } else {
                    self.enter_running(UnitResult::Success, true, now, out);
                }
            }
            SubState::Condition | SubState::StartPre | SubState::Start | SubState::StartPost => {
                self.enter_signal(SubState::StopSigterm, f, now, out)
            }
            SubState::Reload => self.reload_finish(f, now, out),
            SubState::Stop => self.enter_signal(SubState::StopSigterm, f, now, out),
            SubState::StopSigterm | SubState::StopSigkill if self.main.is_none() => {
                self.enter_stop_post(f, now, out)
            }
            SubState::StopPost if self.main.is_none() => {
                self.enter_signal(SubState::FinalSigterm, f, now, out)
            }
            SubState::FinalSigterm | SubState::FinalSigkill if self.main.is_none() => {
                self.enter_dead(f, true, now, out)
            }
            _ => {}
        }
    }

    pub(super) fn pid_file(&mut self, pid: Option<i32>, now: Instant, out: &mut Vec<Action>) {
        if !std::mem::take(&mut self.reading_pid_file) {
            return;
        }
        match pid {
            Some(pid) => {
                self.main = Some(pid);
                self.main_known = true;
                self.group = true;
            }
            None => {
                out.push(Action::Log(Note::NoPidFile));
                if !self.group {
                    return self.enter_signal(
                        SubState::StopSigterm,
                        UnitResult::Protocol,
                        now,
                        out,
                    );
                }
            }
        }
        match self.state {
            SubState::Start => self.enter_start_post(now, out),
            SubState::StartPost => self.enter_running(UnitResult::Success, true, now, out),
            _ => {}
        }
    }

    pub(super) fn notify(
        &mut self,
        ready: bool,
        reloading: bool,
        stopping: bool,
        main_pid: Option<i32>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let alive = matches!(
            self.state,
            SubState::Start | SubState::StartPost | SubState::Running | SubState::Reload
        );
        if let Some(pid) = main_pid.filter(|_| alive) {
            self.main = Some(pid);
            self.main_known = true;
            self.group = true;
        }
        match self.state {
            SubState::Start if ready && self.kind() == ServiceType::Notify => {
                self.enter_start_post(now, out)
            }
            // RELOADING=1 … READY=1 (no ExecReload= running).
            SubState::Reload if ready && self.control.is_none() && !self.spawning => {
                self.reload_finish(UnitResult::Success, now, out)
            }
            SubState::Running if stopping => {
                self.set(SubState::StopSigterm, now);
                self.deadline = self.after(self.spec.timeout_stop, now);
            }
            SubState::Running if reloading => {
                self.step = None;
                self.set(SubState::Reload, now);
                self.deadline = self.after(self.spec.timeout_start, now);
            }
            _ => {}
        }
    }

    pub(super) fn group_empty(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.group = false;
        let none = self.main.is_none() && self.control.is_none() && !self.spawning;
        match self.state {
            SubState::Start if none && self.kind() == ServiceType::Notify => {
                self.enter_stop_post(UnitResult::Protocol, now, out)
            }
            SubState::Running if none => self.enter_running(UnitResult::Success, false, now, out),
            SubState::StopSigterm | SubState::StopSigkill if none => {
                self.enter_stop_post(UnitResult::Success, now, out)
            }
            SubState::StopPost | SubState::FinalSigterm | SubState::FinalSigkill if none => {
                self.enter_dead(UnitResult::Success, true, now, out)
            }
            _ => {}
        }
    }

    pub(super) fn enter_condition(&mut self, now: Instant, out: &mut Vec<Action>) {
        let t = self.spec.timeout_start;
        if !self.run_first(ExecKind::Condition, SubState::Condition, t, now, out) {
            self.enter_start_pre(now, out);
        }
    }

    fn enter_start_pre(&mut self, now: Instant, out: &mut Vec<Action>) {
        let t = self.spec.timeout_start;
        if !self.run_first(ExecKind::StartPre, SubState::StartPre, t, now, out) {
            self.enter_start(now, out);
        }
    }

    fn enter_start(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.main = None;
        self.control = None;
        self.set(SubState::Start, now);
        let t = self.step_timeout();
        if !self.run_first(ExecKind::Start, SubState::Start, t, now, out) {
            // Only Type=oneshot may have no ExecStart= (service_verify).
            self.enter_start_post(now, out);
        }
    }

    fn enter_start_post(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.control = None;
        self.deadline = None;
        let t = self.spec.timeout_start;
        if !self.run_first(ExecKind::StartPost, SubState::StartPost, t, now, out) {
            self.enter_running(UnitResult::Success, true, now, out);
        }
    }

    /// service_enter_running: running while the main process (or, with no main pid, the
    /// group) lives; else exited with RemainAfterExit=, else stop.
    fn enter_running(
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
