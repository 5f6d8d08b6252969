//! What a process exit, a failed spawn, a PID file, a notification or an empty group
//! moves the unit to (service.c's service_sigchld_event and friends).

use std::time::Instant;

use super::{Action, ExecKind, ExecRef, Note, SubState, Unit, UnitResult};
use crate::units::service::ServiceType;
use crate::wait_status::WaitStatus;

const ENOENT: i32 = 2;

/// Signals that end a daemon cleanly (systemd.service(5) SuccessExitStatus=: "exit code 0
/// and, except for Type=oneshot, the signals SIGHUP, SIGINT, SIGTERM, and SIGPIPE").
const CLEAN_SIGNALS: [i32; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGTERM, libc::SIGPIPE];

impl Unit {
    pub(super) fn is_main(&self, r: ExecRef) -> bool {
        r.kind == ExecKind::Start && self.kind() != ServiceType::Forking
    }

    /// How an exit counts; `daemon` allows the clean signals.
    pub(super) fn classify(&self, status: WaitStatus, daemon: bool) -> UnitResult {
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
                self.pid_watch_until = None;
            }
            None if self.state == SubState::Running => {
                // Still not there: read it again soon, until the watch ends.
                if self.pid_watch_until.is_some_and(|until| now < until) {
                    self.deadline = now.checked_add(super::PID_FILE_RETRY);
                }
                return;
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
                // The daemon may write it a moment later (systemd then watches it).
                let limit = self
                    .spec
                    .timeout_start
                    .unwrap_or(crate::units::service::DEFAULT_TIMEOUT);
                self.pid_watch_until = now.checked_add(limit);
            }
        }
        match self.state {
            SubState::Start => self.enter_start_post(now, out),
            SubState::StartPost => self.enter_running(UnitResult::Success, true, now, out),
            _ => {}
        }
        if self.state == SubState::Running && self.main.is_none() && self.pid_watch_until.is_some()
        {
            self.deadline = now.checked_add(super::PID_FILE_RETRY);
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
}
