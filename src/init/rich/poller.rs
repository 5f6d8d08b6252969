//! The driver's one blocking wait: poll the signalfd, the output pipes, the services'
//! notify sockets and the control socket, with the nearest deadline as the timeout, and
//! say what woke us as [`Wakeup`]s, in the order they are to be handled.

use super::fdstore::FdMessage;
use crate::sys::signals::{Received, SignalFd};
use crate::sys::Errno;
use crate::sys::{io, unix_socket};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// What the datagrams waiting on a notify socket said (sd_notify(3)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Notified {
    pub ready: bool,
    pub reloading: bool,
    pub stopping: bool,
    pub main_pid: Option<i32>,
}

#[derive(Debug)]
pub(super) enum Wakeup {
    /// Output pipe `index` is readable (these come highest index first: draining one
    /// at end of file removes it).
    Output(usize),
    /// A service (or unit) sent sd_notify datagrams on its socket.
    Notified(String, Notified),
    /// A service (or unit) sent fd-store messages or descriptors (sd_notify FDSTORE=1).
    FdStore(String, Vec<FdMessage>),
    /// A keeper wrote records (`sys::keeper`).
    Records,
    /// The control socket: readiness of the listener, then of each connection.
    Control(Vec<bool>),
    Signal(Received),
    /// poll failed (not EINTR); the driver says so and tries again.
    Failed(Errno),
}

pub(super) struct Poller<'a> {
    sigfd: &'a SignalFd,
    /// Each service's sd_notify socket, by name.
    notify: Vec<(String, UnixDatagram)>,
}

impl<'a> Poller<'a> {
    pub fn new(sigfd: &'a SignalFd, notify: Vec<(String, UnixDatagram)>) -> Poller<'a> {
        Poller { sigfd, notify }
    }

    /// A notify socket for a unit loaded after the start.
    pub fn add_notify(&mut self, name: String, sock: UnixDatagram) {
        self.notify.push((name, sock));
    }

    pub fn sigfd(&self) -> &SignalFd {
        self.sigfd
    }

    /// Sleep until something is readable or `deadline`; what woke us.
    pub fn wait(
        &self,
        deadline: Option<Instant>,
        output: &[RawFd],
        control: &[RawFd],
        records: Option<RawFd>,
    ) -> Vec<Wakeup> {
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let mut fds = Vec::with_capacity(1 + output.len() + self.notify.len() + control.len());
        fds.push(self.sigfd.raw());
        fds.extend_from_slice(output);
        fds.extend(self.notify.iter().map(|(_, s)| s.as_raw_fd()));
        fds.extend_from_slice(control);
        fds.extend(records);
        let mut ready = Vec::with_capacity(fds.len());
        match io::poll_readable(&fds, timeout, &mut ready) {
            Ok(()) => {}
            Err(Errno::EINTR) => return Vec::new(),
            Err(e) => {
                // Whatever it is, do not spin: rest a little (a signal ends the rest).
                let _ = self.sigfd.wait(Duration::from_millis(100));
                return vec![Wakeup::Failed(e)];
            }
        }
        let is = |i: usize| ready.get(i) == Some(&true);
        let mut out = Vec::new();
        let notify_at = 1 + output.len();
        let control_at = notify_at + self.notify.len();
        out.extend(
            (0..output.len())
                .rev()
                .filter(|i| is(1 + i))
                .map(Wakeup::Output),
        );
        for (i, (name, sock)) in self.notify.iter().enumerate() {
            if is(notify_at + i) {
                let mut fd_messages = Vec::new();
                let said = read_notify(sock, &mut fd_messages);
                if said != Notified::default() {
                    out.push(Wakeup::Notified(name.clone(), said));
                }
                if !fd_messages.is_empty() {
                    out.push(Wakeup::FdStore(name.clone(), fd_messages));
                }
            }
        }
        if records.is_some() && is(control_at + control.len()) {
            out.push(Wakeup::Records);
        }
        if !control.is_empty() {
            out.push(Wakeup::Control(
                ready
                    .get(control_at..control_at + control.len())
                    .unwrap_or_default()
                    .to_vec(),
            ));
        }
        if is(0) {
            let mut batch: Vec<Received> = Vec::with_capacity(16);
            if self.sigfd.read(&mut batch).is_ok() {
                // Exits first: a stop that comes in the same read as CMD's exit then finds
                // CMD gone, instead of signalling it (stable: the rest keep their order).
                let (exits, rest): (Vec<Received>, Vec<Received>) =
                    batch.into_iter().partition(|r| r.signo == libc::SIGCHLD);
                out.extend(exits.into_iter().chain(rest).map(Wakeup::Signal));
            }
        }
        out
    }
}

/// Read every datagram waiting and what their lines say; each one that touches the fd
/// store, or carries descriptors, goes to `fd_messages` with them (the descriptors of one
/// that asks nothing are closed when it is dropped).
fn read_notify(sock: &UnixDatagram, fd_messages: &mut Vec<FdMessage>) -> Notified {
    let mut said = Notified::default();
    let mut buf = [0u8; 4096];
    let mut fds = Vec::new();
    while let Ok((n, sender)) = unix_socket::recv_fds_from(sock.as_raw_fd(), &mut buf, &mut fds) {
        let datagram = buf.get(..n).unwrap_or_default();
        parse_notify(datagram, &mut said);
        let mut msg = FdMessage::parse(datagram);
        msg.fds = std::mem::take(&mut fds);
        msg.sender = sender;
        if !msg.is_empty() {
            fd_messages.push(msg);
        }
    }
    said
}

/// The sd_notify(3) assignments rich-init acts on; other lines are ignored.
fn parse_notify(datagram: &[u8], said: &mut Notified) {
    for line in datagram.split(|b| *b == b'\n') {
        match line {
            b"READY=1" => said.ready = true,
            b"RELOADING=1" => said.reloading = true,
            b"STOPPING=1" => said.stopping = true,
            _ => {
                if let Some(pid) = line.strip_prefix(b"MAINPID=") {
                    said.main_pid = std::str::from_utf8(pid)
                        .ok()
                        .and_then(|p| p.trim().parse::<i32>().ok())
                        .filter(|p| *p > 0)
                        .or(said.main_pid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_lines() {
        let cases: &[(&[u8], Notified)] = &[
            (
                b"READY=1",
                Notified {
                    ready: true,
                    ..Notified::default()
                },
            ),
            (
                b"STATUS=x\nMAINPID=42\nREADY=1\n",
                Notified {
                    ready: true,
                    main_pid: Some(42),
                    ..Notified::default()
                },
            ),
            (
                b"RELOADING=1\nMONOTONIC_USEC=1",
                Notified {
                    reloading: true,
                    ..Notified::default()
                },
            ),
            (
                b"STOPPING=1",
                Notified {
                    stopping: true,
                    ..Notified::default()
                },
            ),
            (b"READY=0\nMAINPID=x\nMAINPID=-3", Notified::default()),
        ];
        for (datagram, want) in cases {
            let mut got = Notified::default();
            parse_notify(datagram, &mut got);
            assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(datagram));
        }
    }
}
