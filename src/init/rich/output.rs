//! The output of services and scripts: each is spawned in its own process group with its
//! stdout and stderr as `log` says; for `prefix` and `syslog` we hold the read ends of
//! two pipes and frame every line as `[name] line` on our own stdout/stderr (or send it
//! to /dev/log).

use super::super::child_exit_code;
use crate::cli::Personality;
use crate::config::LogTarget;
use crate::logging::{Logger, Msg};
use crate::logsink::{frame, Line, LineBuffer};
use crate::sys::signals::SigSet;
use crate::sys::spawn::{self, ChildEvent, ChildSignals, Placement, Setup};
use crate::sys::{self, io, keeper, Errno};
use crate::units::journal::{Journal, Source};
pub(super) use crate::units::status::now_us;
use crate::units::status::JournalEntry;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;

/// What every spawn needs from the init.
pub(super) struct SpawnCtx<'a> {
    pub log: &'a Logger,
    pub personality: Personality,
    /// The signal mask we were started with: children get it back.
    pub mask: SigSet,
}

/// The read end of a child's stdout or stderr.
struct Pipe {
    read: OwnedFd,
    name: String,
    /// 1 or 2: where the framed lines go.
    to: i32,
    buf: LineBuffer,
    /// `log = "syslog"`: lines go to /dev/log instead (framed to `to` if that fails).
    syslog: bool,
    /// A systemd unit's output: its lines also go to the journal as this source.
    source: Option<Source>,
}

#[derive(Default)]
pub(super) struct Output {
    pipes: Vec<Pipe>,
    /// For `log = "syslog"` services: a datagram socket to send to /dev/log.
    syslog: Option<UnixDatagram>,
    /// `--systemd`: what `journalctl` and `systemctl status` show.
    pub journal: Option<Journal>,
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd, Errno> {
    fd.try_clone()
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EMFILE)))
}

impl Output {
    pub fn with_journal(journal: Option<Journal>) -> Output {
        Output {
            journal,
            ..Output::default()
        }
    }

    /// Fork and exec `argv` in its own group, with its output per `log`.
    pub fn spawn(
        &mut self,
        ctx: &SpawnCtx,
        name: &str,
        argv: &[CString],
        setup: &Setup,
        log: &LogTarget,
    ) -> Result<i32, Errno> {
        self.spawn_with(ctx, name, argv, setup, log, None)
            .map(|(_, pid)| pid)
    }

    /// As [`Output::spawn`], through a keeper (`sys::keeper`) that reports to `records`:
    /// (keeper pid, command pid).
    /// Its lines also go to the journal as `source` (its pid filled in here).
    #[allow(clippy::too_many_arguments)]
    pub fn spawn_kept(
        &mut self,
        ctx: &SpawnCtx,
        name: &str,
        argv: &[CString],
        setup: &Setup,
        log: &LogTarget,
        records: RawFd,
        source: Source,
    ) -> Result<(i32, i32), Errno> {
        let before = self.pipes.len();
        let (keeper, pid) = self.spawn_with(ctx, name, argv, setup, log, Some(records))?;
        for pipe in self.pipes.iter_mut().skip(before) {
            pipe.source = Some(Source {
                pid,
                ..source.clone()
            });
        }
        Ok((keeper, pid))
    }

    /// A line the init says about a unit, in that unit's journal (as systemd's own lines
    /// are: identifier `systemd`, pid 1).
    pub fn journal_line(&mut self, unit: &str, message: &str) {
        if let Some(journal) = self.journal.as_mut() {
            journal.push(JournalEntry {
                time_us: now_us(),
                unit: unit.to_string(),
                ident: "systemd".to_string(),
                pid: 1,
                message: message.to_string(),
            });
        }
    }

    fn spawn_with(
        &mut self,
        ctx: &SpawnCtx,
        name: &str,
        argv: &[CString],
        setup: &Setup,
        log: &LogTarget,
        records: Option<RawFd>,
    ) -> Result<(i32, i32), Errno> {
        let null = io::null()?;
        let mut setup = *setup;
        setup.stdin = Some(null.as_raw_fd());
        let mut keep = Vec::new();
        let (out, err) = match log {
            LogTarget::Inherit => (None, None),
            LogTarget::None => (Some(dup(&null)?), Some(dup(&null)?)),
            LogTarget::File(path) => {
                let f = io::append(path)?;
                (Some(dup(&f)?), Some(f))
            }
            LogTarget::Prefix | LogTarget::Syslog => {
                let (r1, w1) = io::pipe()?;
                let (r2, w2) = io::pipe()?;
                keep.push((r1, 1));
                keep.push((r2, 2));
                (Some(w1), Some(w2))
            }
        };
        setup.stdout = out.as_ref().map(AsRawFd::as_raw_fd);
        setup.stderr = err.as_ref().map(AsRawFd::as_raw_fd);
        let report = |event: ChildEvent| {
            ctx.log.emit(Msg::Child { cmd: name, event });
            child_exit_code(ctx.personality, event)
        };
        let signals = ChildSignals::Restore(ctx.mask);
        let (keeper, pid) = match records {
            None => {
                let pid = spawn::spawn(argv, Placement::OwnGroup, signals, &setup, &report)?;
                (0, pid)
            }
            Some(fd) => {
                keeper::spawn_kept(argv, Placement::OwnGroup, signals, &setup, &report, fd)?
            }
        };
        let syslog = *log == LogTarget::Syslog;
        if syslog && self.syslog.is_none() {
            self.syslog = UnixDatagram::unbound().ok();
        }
        for (read, to) in keep {
            self.pipes.push(Pipe {
                read,
                name: name.to_string(),
                to,
                buf: LineBuffer::default(),
                syslog,
                source: None,
            });
        }
        Ok((keeper, pid))
    }

    /// The pipes' read ends, in the order [`Output::drain`] takes indexes.
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.pipes.iter().map(|p| p.read.as_raw_fd())
    }

    /// Read what pipe `index` holds; at end of file, flush its last line and drop it (so
    /// drain higher indexes first).
    pub fn drain(&mut self, index: usize) {
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
        if let (Some(source), Some(journal)) = (&pipe.source, self.journal.as_mut()) {
            let now = now_us();
            for line in &lines {
                journal.push(source.entry(line, now));
            }
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

    /// Drain every pipe that still has data (after a script, before exiting).
    pub fn drain_all(&mut self) {
        for i in (0..self.pipes.len()).rev() {
            self.drain(i);
        }
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
