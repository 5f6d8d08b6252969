//! Rich mode's side of `rich-init ctl`: a non-blocking unix socket in the same poll as
//! everything else. Only root or our own uid may talk to it (SO_PEERCRED). A request
//! that is already there when the connection is accepted is answered at once. A client
//! that connects and never sends costs a slot; past MAX_CONNS the oldest is dropped
//! (its request, never read, was not carried out: `ctl` sends it again), so no client can
//! stall or exhaust the init. Out of descriptors (EMFILE), the oldest connection or a spare
//! descriptor kept for this is closed to make room; with nothing to close, the listener
//! rests for PAUSE instead of waking the loop again at once.

use crate::control::{self, ProtocolError, Request, Response};
use crate::error::Error;
use crate::logging::{Level, Logger, Msg};
use crate::sys::{io, unix_socket, Errno};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Clients connected at once, at most.
const MAX_CONNS: usize = 64;

/// How long the listener rests when no descriptor can be freed for accept.
const PAUSE: Duration = Duration::from_millis(100);

pub(super) struct ControlServer {
    listener: OwnedFd,
    path: PathBuf,
    /// What `path` was when we bound it (see `file_id`).
    id: Option<(u64, u64)>,
    conns: Vec<Conn>,
    /// A descriptor held in reserve (a close-on-exec duplicate of the listener), closed to
    /// accept when there is no other left.
    spare: Option<OwnedFd>,
    /// The listener is left out of the poll until then (EMFILE with nothing to close).
    paused_until: Option<Instant>,
    /// accept failed for want of descriptors in the last turn that tried: warn once per
    /// episode.
    starved: bool,
    /// Connections whose answer the driver sends later; polled only to see them close.
    held: Vec<Conn>,
    /// Held connections the client has closed since the driver last asked.
    gone: Vec<u64>,
    next_id: u64,
}

struct Conn {
    fd: OwnedFd,
    buf: Vec<u8>,
    /// Names it to the driver when its answer comes later ([`Reply::Later`]).
    id: u64,
}

/// How a request is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reply {
    /// These lines, then the connection is closed.
    Now(String),
    /// The driver answers later ([`ControlServer::send`], [`ControlServer::finish`]): a
    /// `systemctl start` that waits for its job, a `journalctl -f`.
    Later,
    /// A hand-over's take: these lines, each with its descriptor, then the end line.
    Take(super::handover::Take),
}

/// What answers a request (with the id of its connection): the driver, with the fleet's
/// state.
pub(super) type Answer<'a> = dyn FnMut(Request, u64) -> Reply + 'a;

/// How long one answer may take to go out to a client that does not read.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// Held connections, at most: past this, a request that would wait is refused.
const MAX_HELD: usize = 64;

fn warn(log: &Logger, text: &str) {
    log.emit(Msg::Rich {
        level: Level::Warn,
        text,
    });
}

impl ControlServer {
    /// Listen for `ctl`. A live socket at `path` belongs to another init (pid 1, most
    /// likely): that is an error, and nothing may have been written before it. Any other
    /// failure is a warning: rich mode runs on without `ctl`.
    pub fn open(path: &std::path::Path, log: &Logger) -> Result<Option<ControlServer>, Error> {
        match unix_socket::listen(path) {
            Err(Errno::EADDRINUSE) => Err(Error::ControlSocketInUse {
                path: path.to_path_buf(),
            }),
            Ok(listener) => {
                let spare = listener.try_clone().ok();
                Ok(Some(ControlServer {
                    listener,
                    path: path.to_path_buf(),
                    id: file_id(path),
                    conns: Vec::new(),
                    spare,
                    paused_until: None,
                    starved: false,
                    held: Vec::new(),
                    gone: Vec::new(),
                    next_id: 0,
                }))
            }
            Err(e) => {
                warn(
                    log,
                    &format!(
                        "cannot open the control socket {}: {e}; rich-init ctl will not work",
                        path.display()
                    ),
                );
                Ok(None)
            }
        }
    }

    /// The listening socket (for the wait at boot for a hand-over).
    pub fn listener(&self) -> RawFd {
        self.listener.as_raw_fd()
    }

    /// Until when the listener rests (out of descriptors): the poll's deadline too.
    pub fn paused_until(&self) -> Option<Instant> {
        self.paused_until
    }

    /// The listener (-1 while it rests: poll ignores it), then each connection, then each
    /// held one.
    pub fn fds(&self) -> Vec<RawFd> {
        let listener = match self.paused_until {
            Some(_) => -1,
            None => self.listener.as_raw_fd(),
        };
        std::iter::once(listener)
            .chain(self.conns.iter().map(|c| c.fd.as_raw_fd()))
            .chain(self.held.iter().map(|c| c.fd.as_raw_fd()))
            .collect()
    }

    /// Send `text` on held connection `id`; false (and the connection dropped) when the
    /// client is gone or does not read.
    pub fn send(&mut self, id: u64, text: &str) -> bool {
        let Some(i) = self.held.iter().position(|c| c.id == id) else {
            return false;
        };
        let sent = self
            .held
            .get(i)
            .is_some_and(|c| send_all(c.fd.as_raw_fd(), text.as_bytes()));
        if !sent {
            self.held.remove(i);
        }
        sent
    }

    /// Send the last of the answer on held connection `id` and close it.
    pub fn finish(&mut self, id: u64, text: &str) {
        if self.send(id, text) {
            self.held.retain(|c| c.id != id);
        }
    }

    /// Held connections closed by their clients since the last call.
    pub fn take_gone(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.gone)
    }

    /// Answer what `conn` sent if it is complete: at once, or later (the connection is then
    /// held). False while the request is still incomplete.
    fn handle(&mut self, mut conn: Conn, log: &Logger, answer: &mut Answer) -> Option<Conn> {
        match read_request(&mut conn, answer) {
            None => Some(conn),
            Some(Reply::Now(text)) => {
                let _ = send_all(conn.fd.as_raw_fd(), text.as_bytes());
                None
            }
            Some(Reply::Take(take)) => {
                if !take.skipped.is_empty() {
                    log.emit(Msg::Rich {
                        level: Level::Warn,
                        text: &take.skipped,
                    });
                }
                let deadline = Instant::now() + SEND_TIMEOUT;
                let n = take.lines.len();
                let text = match super::handover::send_take(conn.fd.as_raw_fd(), &take, deadline) {
                    Ok(()) => format!("hand-over: gave {n} descriptors ({})", take.summary),
                    Err(sent) => format!("hand-over: the client stopped reading after {sent} of {n} descriptors; connection dropped"),
                };
                log.emit(Msg::Rich {
                    level: Level::Info,
                    text: &text,
                });
                None
            }
            Some(Reply::Later) => {
                if self.held.len() >= MAX_HELD {
                    self.held.remove(0);
                }
                self.held.push(conn);
                None
            }
        }
    }
}

/// Write all of `bytes`, waiting at most SEND_TIMEOUT for room.
fn send_all(fd: RawFd, bytes: &[u8]) -> bool {
    send_until(fd, bytes, Instant::now() + SEND_TIMEOUT)
}

/// Write all of `bytes`, waiting for room until `deadline` at most.
pub(super) fn send_until(fd: RawFd, mut bytes: &[u8], deadline: Instant) -> bool {
    while !bytes.is_empty() {
        match unix_socket::send_some(fd, bytes) {
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || io::poll_writable(fd, left) != Ok(true) {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    true
}

/// The file's identity (device, inode), to tell our socket from one put in its place.
fn file_id(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        // Only our own socket: another init may have taken the path since (after ours
        // was removed by hand), and its socket must stay.
        if self.id.is_some() && file_id(&self.path) == self.id {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl ControlServer {
    /// `ready[0]` is the listener, then one flag per connection, as [`Control::fds`].
    pub fn serve(&mut self, ready: &[bool], log: &Logger, answer: &mut Answer) {
        let ctl = self;
        if ctl.paused_until.is_some_and(|t| Instant::now() >= t) {
            ctl.paused_until = None;
        }
        let held_at = 1 + ctl.conns.len();
        for i in (0..ctl.held.len()).rev() {
            if ready.get(held_at + i) == Some(&true) {
                // A held client sends nothing more: readable means it closed (or broke).
                let mut chunk = [0u8; 256];
                let fd = ctl.held.get(i).map(|c| c.fd.as_raw_fd());
                let closed = match fd.map(|fd| io::read_some(fd, &mut chunk)) {
                    // More from the client is ignored.
                    Some(Ok(n)) if n > 0 => false,
                    Some(Err(Errno::EAGAIN | Errno::EINTR)) => false,
                    _ => true,
                };
                if closed {
                    let conn = ctl.held.remove(i);
                    ctl.gone.push(conn.id);
                }
            }
        }
        for i in (0..ctl.conns.len()).rev() {
            if ready.get(i + 1) == Some(&true) {
                let conn = ctl.conns.remove(i);
                if let Some(conn) = ctl.handle(conn, log, answer) {
                    ctl.conns.insert(i, conn);
                }
            }
        }
        if ready.first() == Some(&true) {
            let mut out_of_fds = false;
            // At most MAX_CONNS per turn: a flood of connections cannot keep the loop
            // from its other work, and leaves the rest in the backlog for the next turn.
            for _ in 0..MAX_CONNS {
                match unix_socket::accept(ctl.listener.as_raw_fd()) {
                    Ok(fd) => {
                        if !peer_allowed(fd.as_raw_fd()) {
                            continue;
                        }
                        // A client sends its request as soon as it is connected, so it is
                        // usually here already: answer it now, before later connections
                        // can push this one out.
                        ctl.next_id += 1;
                        let conn = Conn {
                            fd,
                            buf: Vec::new(),
                            id: ctl.next_id,
                        };
                        let Some(conn) = ctl.handle(conn, log, answer) else {
                            continue;
                        };
                        if ctl.conns.len() >= MAX_CONNS {
                            ctl.conns.remove(0);
                        }
                        ctl.conns.push(conn);
                    }
                    Err(Errno::EINTR) => continue,
                    Err(e @ (Errno::EMFILE | Errno::ENFILE)) => {
                        // The backlog stays readable: make room, or poll wakes at once.
                        out_of_fds = true;
                        if !ctl.starved {
                            ctl.starved = true;
                            warn(
                                log,
                                &format!("control socket: cannot accept a connection ({e}); closing the oldest control connections to make room; raise the open files limit (ulimit -n)"),
                            );
                        }
                        if !ctl.conns.is_empty() {
                            ctl.conns.remove(0);
                        } else if ctl.spare.take().is_none() {
                            ctl.paused_until = Some(Instant::now() + PAUSE);
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
            ctl.starved = out_of_fds;
        }
        if ctl.spare.is_none() {
            ctl.spare = ctl.listener.try_clone().ok();
        }
    }
}

/// Whether the client at `fd` is root or our own uid (SO_PEERCRED); if not, it is told
/// so.
pub(super) fn peer_allowed(fd: RawFd) -> bool {
    let me = unix_socket::euid();
    match unix_socket::peer_uid(fd) {
        Ok(uid) if uid == 0 || uid == me => true,
        _ => {
            let message = format!("permission denied: only root or uid {me} may control rich-init");
            let reply = control::render_response(&Response::Error { message });
            let _ = unix_socket::send_some(fd, reply.as_bytes());
            false
        }
    }
}

/// Read what the client sent; Some(reply) once the request is complete (or broken).
/// Descriptors a client sends along (SCM_RIGHTS) are never installed: read(2) has no
/// room for them, so the kernel drops them (and closing the connection drops the rest).
fn read_request(conn: &mut Conn, answer: &mut Answer) -> Option<Reply> {
    let mut chunk = [0u8; 1024];
    let error = |e: ProtocolError| {
        Reply::Now(control::render_response(&Response::Error {
            message: e.to_string(),
        }))
    };
    loop {
        match io::read_some(conn.fd.as_raw_fd(), &mut chunk) {
            Ok(0) => return Some(Reply::Now(String::new())),
            Ok(n) => conn
                .buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return None,
            Err(_) => return Some(Reply::Now(String::new())),
        }
        if let Some(end) = conn.buf.iter().position(|b| *b == b'\n') {
            let line = conn.buf.get(..end).unwrap_or_default().to_vec();
            return Some(match control::parse_request(&line) {
                Ok(request) => answer(request, conn.id),
                Err(e) => error(e),
            });
        }
        if conn.buf.len() > control::MAX_LINE {
            return Some(error(ProtocolError::TooLong {
                what: "request line",
                len: conn.buf.len(),
                limit: control::MAX_LINE,
            }));
        }
    }
}
