//! The wait at boot for an upgrade's descriptor hand-over (`RICH_INIT_HANDOVER_UNTIL`,
//! `control::handover`): before anything is bound or started, the control socket takes
//! one `fds-give`; any other request is told to come back. A pending signal (docker
//! stop's SIGTERM) ends the wait at once, unread: the driver handles it as usual.
//!
//! Each connection has its own deadline (never past the wait's): a client that stalls
//! costs a slot, never the boot. Descriptors arrive with the first byte of their line;
//! one recvmsg returns at most one message that carries descriptors, and stops after it,
//! so they belong to the last line that starts in what it returned.

use super::control::{peer_allowed, send_until};
use crate::control::handover::{parse_hand_line, HandLine, Handed, HANDOVER_VAR, MAX_HAND_LINE};
use crate::control::{self, render_response, Request, Response};
use crate::logging::{Level, Logger, Msg};
use crate::sys::signals::SignalFd;
use crate::sys::{io, unix_socket, Errno};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// How long one connection may take to send its give.
const CONN_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections at once while waiting; past this the oldest is dropped.
const MAX_CONNS: usize = 8;
/// Descriptors in one give, at most.
const MAX_FDS: usize = 4096;
/// How long an answer may take to go out.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// A give that came whole: its connection (for the answer) and what it brought.
pub(super) struct Give {
    pub conn: OwnedFd,
    pub fds: Vec<(Handed, OwnedFd)>,
}

fn line(log: &Logger, level: Level, text: &str) {
    log.emit(Msg::Rich { level, text });
}

/// The variable, taken out of our environment (no child may see it): how long to wait.
/// None when it is not set, malformed (a warning), or without a control socket (a
/// warning).
pub(super) fn wanted(has_control: bool, log: &Logger) -> Option<Duration> {
    let value = std::env::var_os(HANDOVER_VAR)?;
    std::env::remove_var(HANDOVER_VAR);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let wait = match crate::control::handover::wait_for(&value.to_string_lossy(), now) {
        Ok(wait) => wait,
        Err(e) => {
            line(
                log,
                Level::Warn,
                &format!("{e}; not waiting for a descriptor hand-over"),
            );
            return None;
        }
    };
    if !has_control {
        let text = format!("{HANDOVER_VAR} is set but there is no control socket: not waiting for a descriptor hand-over");
        line(log, Level::Warn, &text);
        return None;
    }
    Some(wait)
}

/// Wait up to `wait` for a give on `listener`; None at the deadline or on a signal.
pub(super) fn wait(
    listener: RawFd,
    sigfd: &SignalFd,
    wait: Duration,
    log: &Logger,
) -> Option<Give> {
    let text = format!(
        "waiting up to {} ms for the descriptor hand-over of an upgrade",
        wait.as_millis()
    );
    line(log, Level::Info, &text);
    let deadline = Instant::now() + wait;
    let mut conns: Vec<(OwnedFd, Reader, Instant)> = Vec::new();
    let mut ready = Vec::new();
    // Out of descriptors with no connection to close: the listener rests until then.
    let mut rest: Option<Instant> = None;
    loop {
        let now = Instant::now();
        conns.retain(|(_, _, until)| *until > now);
        if now >= deadline {
            line(
                log,
                Level::Info,
                "descriptor hand-over: deadline passed: binding afresh",
            );
            return None;
        }
        rest = rest.filter(|t| *t > now);
        let next = conns
            .iter()
            .map(|c| c.2)
            .chain(rest)
            .fold(deadline, Instant::min);
        let mut fds = vec![sigfd.raw(), rest.map_or(listener, |_| -1)];
        fds.extend(conns.iter().map(|c| c.0.as_raw_fd()));
        match io::poll_readable(&fds, Some(next.saturating_duration_since(now)), &mut ready) {
            Ok(()) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => {
                line(
                    log,
                    Level::Warn,
                    &format!("descriptor hand-over: poll failed ({e}): binding afresh"),
                );
                return None;
            }
        }
        if ready.first() == Some(&true) {
            line(
                log,
                Level::Info,
                "descriptor hand-over: a signal came: binding afresh",
            );
            return None;
        }
        for i in (0..conns.len()).rev() {
            if ready.get(2 + i) != Some(&true) {
                continue;
            }
            let (fd, mut reader, until) = conns.remove(i);
            match reader.pump(fd.as_raw_fd()) {
                Step::More => conns.insert(i, (fd, reader, until)),
                Step::Gone => {}
                Step::Answer(text) => {
                    let _ = send_until(
                        fd.as_raw_fd(),
                        text.as_bytes(),
                        deadline.min(Instant::now() + ANSWER_TIMEOUT),
                    );
                }
                Step::Give(fds) => return Some(Give { conn: fd, fds }),
            }
        }
        if ready.get(1) == Some(&true) {
            // At most MAX_CONNS a turn: a flood cannot keep the wait past its deadline.
            for _ in 0..MAX_CONNS {
                let fd = match unix_socket::accept(listener) {
                    Ok(fd) => fd,
                    Err(Errno::EMFILE | Errno::ENFILE) if conns.is_empty() => {
                        rest = Some(Instant::now() + Duration::from_millis(100));
                        break;
                    }
                    Err(Errno::EMFILE | Errno::ENFILE) => {
                        conns.remove(0);
                        continue;
                    }
                    Err(Errno::EINTR) => continue,
                    Err(_) => break,
                };
                if !peer_allowed(fd.as_raw_fd()) {
                    continue;
                }
                if conns.len() >= MAX_CONNS {
                    conns.remove(0);
                }
                let until = deadline.min(Instant::now() + CONN_TIMEOUT);
                conns.push((fd, Reader::default(), until));
            }
        }
    }
}

/// Send the give's answer.
pub(super) fn answer(conn: &OwnedFd, text: &str) {
    let _ = send_until(
        conn.as_raw_fd(),
        text.as_bytes(),
        Instant::now() + ANSWER_TIMEOUT,
    );
}

/// What a connection's reader has come to.
#[derive(Debug)]
pub(super) enum Step {
    More,
    /// Closed before it was whole: dropped, its descriptors closed.
    Gone,
    /// Answer this and close (an error, or another request than fds-give).
    Answer(String),
    Give(Vec<(Handed, OwnedFd)>),
}

/// One connection's give as it comes: the request line, then the hand-over lines.
#[derive(Debug, Default)]
pub(super) struct Reader {
    /// The unfinished line.
    buf: Vec<u8>,
    /// Complete lines so far.
    lines: usize,
    /// Descriptors by the number of the line they came with.
    fds: Vec<(usize, OwnedFd)>,
    got: Vec<(Handed, OwnedFd)>,
}

fn error(message: String) -> Step {
    Step::Answer(render_response(&Response::Error { message }))
}

impl Reader {
    /// Read what is there (without blocking).
    fn pump(&mut self, fd: RawFd) -> Step {
        let mut chunk = vec![0u8; MAX_HAND_LINE + 1];
        loop {
            let mut fds = Vec::new();
            match unix_socket::recv_fds(fd, &mut chunk, &mut fds) {
                Ok(0) => return Step::Gone,
                Ok(n) => match self.feed(chunk.get(..n).unwrap_or_default(), fds) {
                    Step::More => {}
                    step => return step,
                },
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Step::More,
                Err(_) => return Step::Gone,
            }
        }
    }

    /// What one recvmsg returned: `bytes`, and the descriptors that came with them.
    pub(super) fn feed(&mut self, bytes: &[u8], fds: Vec<OwnedFd>) -> Step {
        if !fds.is_empty() {
            // The last line that starts in `bytes` is theirs.
            let starts = bytes
                .iter()
                .enumerate()
                .filter(|(i, b)| **b == b'\n' && i + 1 < bytes.len());
            let last_nl = starts.map(|(i, _)| i).next_back();
            let newlines_before =
                |end: usize| bytes.iter().take(end).filter(|b| **b == b'\n').count();
            let line = match last_nl {
                Some(i) => self.lines + newlines_before(i + 1),
                None if self.buf.is_empty() => self.lines,
                None => return error("descriptors came in the middle of a line".into()),
            };
            self.fds.extend(fds.into_iter().map(|fd| (line, fd)));
        }
        for b in bytes {
            if *b != b'\n' {
                self.buf.push(*b);
                if self.buf.len() > MAX_HAND_LINE {
                    return error(format!(
                        "a hand-over line is longer than {MAX_HAND_LINE} bytes"
                    ));
                }
                continue;
            }
            let text = std::mem::take(&mut self.buf);
            let number = self.lines;
            self.lines += 1;
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.fds)
                .into_iter()
                .partition(|(l, _)| *l == number);
            self.fds = rest;
            let step = self.line(number, &text, mine.into_iter().map(|(_, fd)| fd).collect());
            if !matches!(step, Step::More) {
                return step;
            }
        }
        Step::More
    }

    fn line(&mut self, number: usize, text: &[u8], mut fds: Vec<OwnedFd>) -> Step {
        if number == 0 {
            return match control::parse_request(text) {
                _ if !fds.is_empty() => error("descriptors came with the request line".into()),
                Ok(Request::FdsGive) => Step::More,
                Ok(_) => error("rich-init is waiting for an upgrade's descriptor hand-over; try again in a moment".into()),
                Err(e) => error(e.to_string()),
            };
        }
        match parse_hand_line(text) {
            Ok(HandLine::Fd(h)) => match (fds.pop(), fds.is_empty()) {
                (Some(fd), true) if self.got.len() < MAX_FDS => {
                    self.got.push((h, fd));
                    Step::More
                }
                (Some(_), true) => error(format!("more than {MAX_FDS} descriptors in one hand-over")),
                (got, _) => error(format!(
                    "hand-over line {number} came with {} descriptors; it must come with exactly one",
                    fds.len() + usize::from(got.is_some())
                )),
            },
            Ok(HandLine::End { count }) => {
                let n = self.got.len();
                if !fds.is_empty() {
                    return error("descriptors came with the end line".into());
                }
                if u64::try_from(n) != Ok(count) {
                    return error(format!("the hand-over ended with {count} but {n} descriptors came"));
                }
                Step::Give(std::mem::take(&mut self.got))
            }
            Err(e) => error(e.to_string()),
        }
    }
}

#[cfg(test)]
#[path = "awaiting_tests.rs"]
mod tests;
