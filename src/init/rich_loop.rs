//! Rich mode's one loop turn: poll the signalfd and the output pipes with the nearest
//! deadline as the timeout, then route what arrived: exits to their owners, signals to
//! CMD (or to shutdown), output lines to our stdout/stderr, due timers to services.

use super::forward::{self, Route};
use super::rich::{Rich, Svc};
use crate::logging::{Level, Msg};
use crate::logsink::{frame, Line, LineBuffer};
use crate::procs::Owner;
use crate::supervisor::service::{Action, Event};
use crate::sys::reap::{self, Exit};
use crate::sys::signals::{self, Received};
use crate::sys::{self, io, Errno};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

/// The read end of a child's stdout or stderr, framed as `[name] line` on ours.
pub(crate) struct Pipe {
    pub read: OwnedFd,
    pub name: String,
    /// 1 or 2: where the framed lines go.
    pub to: i32,
    pub buf: LineBuffer,
    /// `log = "syslog"`: lines go to /dev/log instead (framed to `to` if that fails).
    pub syslog: bool,
}

impl Rich<'_> {
    /// Turn until `done` or `deadline`; true when `done`.
    pub(crate) fn turn_until(
        &mut self,
        deadline: Option<Instant>,
        done: &dyn Fn(&Self) -> bool,
    ) -> bool {
        loop {
            if done(self) {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            self.turn(deadline);
        }
    }

    /// One blocking wait and what follows from it.
    pub(crate) fn turn(&mut self, extra: Option<Instant>) {
        let now = Instant::now();
        let next = self
            .services
            .values()
            .filter_map(|s| s.machine.next_deadline())
            .chain(extra)
            .chain(self.control.as_ref().and_then(|c| c.paused_until))
            .min();
        let timeout = next.map(|d| d.saturating_duration_since(now));
        let mut fds = vec![self.sigfd.raw()];
        fds.extend(self.pipes.iter().map(|p| p.read.as_raw_fd()));
        let pipes_end = fds.len();
        let notifiers: Vec<String> = self
            .services
            .iter()
            .filter(|(_, s)| s.notify.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        fds.extend(
            self.services
                .values()
                .filter_map(|s| s.notify.as_ref())
                .map(|(sock, _)| sock.as_raw_fd()),
        );
        let notify_end = fds.len();
        if let Some(ctl) = &self.control {
            fds.extend(ctl.fds());
        }
        let mut ready = Vec::with_capacity(fds.len());
        match io::poll_readable(&fds, timeout, &mut ready) {
            Ok(()) => {}
            Err(Errno::EINTR) => return,
            Err(e) => {
                self.line(Level::Warn, &format!("poll failed ({e}); retrying"));
                let _ = self.sigfd.wait(std::time::Duration::from_millis(100));
                return;
            }
        }
        // Pipes first (draining only removes them, from the back), then the control
        // socket, whose requests may start services and add pipes.
        for i in (1..pipes_end.min(ready.len())).rev() {
            if ready.get(i) == Some(&true) {
                self.drain_pipe(i - 1);
            }
        }
        for (i, name) in notifiers.iter().enumerate() {
            if ready.get(pipes_end + i) == Some(&true) {
                self.on_notify(name);
            }
        }
        if ready.len() > notify_end {
            let control_ready = ready.get(notify_end..).unwrap_or_default().to_vec();
            self.on_control(&control_ready);
        }
        if ready.first() == Some(&true) {
            let mut batch: Vec<Received> = Vec::with_capacity(16);
            if self.sigfd.read(&mut batch).is_ok() {
                for r in batch {
                    self.on_signal(r);
                }
            }
        }
        let now = Instant::now();
        let due: Vec<String> = self
            .services
            .iter()
            .filter(|(_, s)| s.machine.next_deadline().is_some_and(|d| d <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            self.dispatch(&name, Event::Timer);
        }
    }

    /// Read what a pipe holds; at end of file, flush its last line and drop it.
    pub(crate) fn drain_pipe(&mut self, index: usize) {
        let Some(pipe) = self.pipes.get_mut(index) else {
            return;
        };
        let mut chunk = [0u8; 4096];
        let mut lines: Vec<Line> = Vec::new();
        let mut eof = false;
        loop {
            match io::read_some(pipe.read.as_raw_fd(), &mut chunk) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => pipe
                    .buf
                    .push(chunk.get(..n).unwrap_or_default(), &mut lines),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => break,
                Err(_) => {
                    eof = true;
                    break;
                }
            }
            if lines.len() > 256 {
                break;
            }
        }
        if eof {
            pipe.buf.finish(&mut lines);
        }
        for line in &lines {
            if pipe.syslog {
                let datagram =
                    crate::logsink::syslog_datagram(&pipe.name, pipe.to == 2, &line.text);
                let sent = self
                    .syslog
                    .as_ref()
                    .is_some_and(|sock| sock.send_to(&datagram, "/dev/log").is_ok());
                if sent {
                    continue;
                }
            }
            sys::write_all_raw(pipe.to, &frame(&pipe.name, line));
        }
        if eof {
            self.pipes.remove(index);
        }
    }

    /// Datagrams on a service's NOTIFY_SOCKET: a `READY=1` line makes it ready.
    fn on_notify(&mut self, name: &str) {
        let mut ready = false;
        if let Some((sock, _)) = self.services.get(name).and_then(|s| s.notify.as_ref()) {
            let mut buf = [0u8; 4096];
            while let Ok(n) = sock.recv(&mut buf) {
                let text = buf.get(..n).unwrap_or_default();
                ready |= text.split(|b| *b == b'\n').any(|l| l == b"READY=1");
            }
        }
        if ready {
            self.dispatch(name, Event::Notified);
        }
    }

    /// Drain every pipe that still has data (at the end, before exiting).
    pub(crate) fn drain_all_pipes(&mut self) {
        for i in (0..self.pipes.len()).rev() {
            self.drain_pipe(i);
        }
    }

    fn on_signal(&mut self, r: Received) {
        self.log.emit(Msg::Received(r.signo));
        let me = u32::try_from(sys::getpid()).unwrap_or(0);
        match forward::route(&self.rules, &mut self.handoff, r.signo, r.pid == me) {
            Route::Reap => self.reap(),
            Route::HandoffIgnored | Route::Skip => {}
            Route::Forward { .. } if matches!(r.signo, libc::SIGTERM | libc::SIGINT) => {
                if !self.stopping {
                    self.line(
                        Level::Info,
                        &format!("{}: shutting down", crate::signame::name(r.signo)),
                    );
                    self.stop_signal.get_or_insert(r.signo);
                }
                self.stopping = true;
            }
            Route::Forward { sig, .. } => match (self.cmd, self.cmd_status) {
                (Some(pid), None) if sig != 0 => {
                    let _ = super::signal_cmd(&self.rules, pid, sig);
                    self.log.emit(Msg::Forwarded {
                        sig,
                        target: self.rules.target(pid),
                    });
                }
                _ => self.log.emit(Msg::Dropped(r.signo)),
            },
        }
    }

    fn reap(&mut self) {
        let mut exits: Vec<Exit> = Vec::with_capacity(16);
        reap::drain(&mut exits);
        for e in exits {
            match self.procs.exited(e.pid) {
                Some(Owner::Cmd) => {
                    self.cmd_status = Some(e.status);
                    self.log.emit(Msg::CmdExited {
                        status: e.status,
                        code: reap::exit_code(e.status),
                    });
                }
                Some(Owner::Service(name)) => {
                    self.dispatch(&name, Event::Exited { status: e.status })
                }
                Some(Owner::Check(name)) => {
                    let current = self
                        .services
                        .get(&name)
                        .is_some_and(|s| s.check == Some(e.pid));
                    if current {
                        if let Some(s) = self.services.get_mut(&name) {
                            s.check = None;
                        }
                        let passed = reap::exit_code(e.status) == 0;
                        let event = if passed {
                            Event::ReadyCheckPassed
                        } else {
                            Event::ReadyCheckFailed
                        };
                        self.dispatch(&name, event);
                    }
                }
                Some(Owner::Script(_)) => self.script_exits.push((e.pid, e.status)),
                None => self.log.emit(Msg::Reaped {
                    pid: e.pid,
                    status: e.status,
                    main: false,
                    warn: self.settings.warn_on_reap,
                }),
            }
        }
    }

    /// Feed `event` to a service and carry out what it asks for.
    pub(crate) fn dispatch(&mut self, name: &str, event: Event) {
        let now = Instant::now();
        let Some(svc) = self.services.get_mut(name) else {
            return;
        };
        let actions = svc.machine.handle(event, now);
        let mut iter = actions.into_iter().peekable();
        while let Some(action) = iter.next() {
            // "exited with code 3" then "failed for good": one line says both.
            if let (Action::Log(note), Some(Action::FailedForGood { critical })) =
                (action, iter.peek().copied())
            {
                iter.next();
                self.failed_for_good(name, critical, &format!("{note}"));
                continue;
            }
            self.perform(name, action);
        }
    }

    fn failed_for_good(&mut self, name: &str, critical: bool, why: &str) {
        let then = if critical {
            "; it is critical: shutting down"
        } else {
            ""
        };
        self.line(
            Level::Error,
            &format!("service {name} {why} and will not be restarted{then}"),
        );
        if critical {
            self.critical_failed = true;
            self.stopping = true;
        }
    }

    fn perform(&mut self, name: &str, action: Action) {
        match action {
            Action::Spawn => match self.spawn_service(name) {
                Ok(pid) => {
                    self.procs.register(pid, Owner::Service(name.to_string()));
                    self.dispatch(name, Event::Spawned { pid });
                }
                Err(e) => self.dispatch(name, Event::SpawnFailed { errno: e as i32 }),
            },
            Action::RunReadyCheck => match self.spawn_check(name) {
                Ok(pid) => {
                    self.procs.register(pid, Owner::Check(name.to_string()));
                    if let Some(s) = self.services.get_mut(name) {
                        s.check = Some(pid);
                    }
                }
                Err(_) => self.dispatch(name, Event::ReadyCheckFailed),
            },
            Action::CancelReadyCheck => {
                if let Some(pid) = self.services.get_mut(name).and_then(|s| s.check.take()) {
                    let _ = signals::kill(-pid, libc::SIGKILL);
                }
            }
            Action::Signal(sig) => self.signal_service(name, sig),
            Action::Kill => self.signal_service(name, libc::SIGKILL),
            Action::BecameReady => self.line(Level::Info, &format!("service {name} is ready")),
            Action::Stopped => self.line(Level::Debug, &format!("service {name} stopped")),
            Action::FailedForGood { critical } => self.failed_for_good(name, critical, "failed"),
            Action::Log(note) => {
                use crate::supervisor::service::Note;
                let level = match note {
                    Note::Exited { status: 0, .. } => Level::Info,
                    Note::Restarting { .. } => Level::Info,
                    _ => Level::Warn,
                };
                self.line(level, &format!("service {name}: {note}"));
            }
        }
    }

    /// A service's process group (it leads one); the process itself if the group is gone.
    fn signal_service(&self, name: &str, sig: i32) {
        if let Some(pid) = self.services.get(name).and_then(|s: &Svc| s.machine.pid()) {
            if signals::kill(-pid, sig) == Err(Errno::ESRCH) {
                let _ = signals::kill(pid, sig);
            }
        }
    }

    pub(crate) fn line(&self, level: Level, text: &str) {
        self.log.emit(Msg::Rich { level, text });
    }
}

#[cfg(test)]
mod tests {
    use crate::logsink::syslog_datagram;

    #[test]
    fn syslog_lines() {
        assert_eq!(
            syslog_datagram("crond", false, b"started"),
            b"<30>crond: started"
        );
        assert_eq!(syslog_datagram("web", true, b"oops"), b"<27>web: oops");
    }
}
