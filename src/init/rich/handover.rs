//! The init's side of an upgrade's descriptor hand-over (`control::handover` has the
//! protocol): what a take sends, and what becomes of what a give brought (the rules are
//! `adopt.rs`'s; the wait at boot is `awaiting.rs`).
//!
//! A take sends only the `listen` sockets the init holds and its services' fd-store
//! entries that are sockets (under `--systemd` also each unit's socket units' sockets and
//! FileDescriptorStoreMax= store, under the unit's name), never anything else of its own,
//! and keeps its copies: the old init serves on until the upgrade stops it.

use super::adopt::{self, Fate, Seen, Slot};
use super::control::send_until;
use super::services::Svc;
use super::systemd::UnitRun;
use crate::config::valid_name;
use crate::config::Address;
use crate::control::handover::{render_hand_line, Given, HandLine, Handed, Kind};
use crate::logging::{Level, Logger, Msg};
use crate::sys::{io, sockinfo, unix_socket, Errno};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

/// What a take sends: each line with its descriptor (the init's own, borrowed: sent at
/// once, before anything can close it), and what they are, for the log line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Take {
    pub lines: Vec<(String, RawFd)>,
    pub summary: String,
    /// The units whose name the protocol cannot carry (`\x2d` escapes, over 64 bytes;
    /// `control::check_service_name`), their descriptors not sent: the one warning line
    /// naming them all, or empty.
    pub skipped: String,
}

/// Every service's bound `listen` sockets, then its fd store, services in name order;
/// then every unit's socket units' sockets and its FileDescriptorStoreMax= store, under
/// its unit name, units in name order.
pub(super) fn take(services: &BTreeMap<String, Svc>, units: &BTreeMap<String, UnitRun>) -> Take {
    let mut take = Take::default();
    for (service, svc) in services {
        let (listen, stored) = svc.handable();
        take.add(service, listen, stored);
    }
    for (unit, run) in units {
        let (listen, stored) = run.sockets.handable();
        take.add(unit, listen, stored);
    }
    take
}

impl Take {
    fn add(&mut self, service: &str, listen: Vec<Bound>, mut stored: Vec<(&str, RawFd)>) {
        // Only sockets travel (a give keeps nothing else): a stored pipe or memfd stays.
        stored.retain(|(_, fd)| sockinfo::probe(*fd).is_ok());
        let counts = (listen.len(), stored.len());
        if counts == (0, 0) {
            return;
        }
        if !valid_name(service) {
            if self.skipped.is_empty() {
                self.skipped
                    .push_str("hand-over: not sent, a unit name the protocol cannot carry: ");
            } else {
                self.skipped.push_str(", ");
            }
            self.skipped.push_str(service);
            return;
        }
        for (name, address, fd) in listen {
            let kind = Kind::Listen {
                address: address.to_string(),
            };
            self.lines.push((line(service, name, kind), fd));
        }
        for (name, fd) in stored {
            self.lines.push((line(service, name, Kind::Store), fd));
        }
        if !self.summary.is_empty() {
            self.summary.push_str("; ");
        }
        let _ = write!(
            self.summary,
            "{service}: {} listen, {} store",
            counts.0, counts.1
        );
    }
}

/// A bound socket, for a take: (LISTEN_FDNAMES name, address, descriptor).
type Bound<'a> = (&'a str, &'a Address, RawFd);

fn line(service: &str, name: &str, kind: Kind) -> String {
    render_hand_line(&HandLine::Fd(Handed {
        service: service.to_string(),
        name: name.to_string(),
        kind,
    }))
}

/// Send a take's answer on `conn`: each line with its descriptor, then the end line, all
/// by `deadline`. How many descriptors went when the client stopped reading.
pub(super) fn send_take(conn: RawFd, take: &Take, deadline: Instant) -> Result<(), usize> {
    for (sent, (text, fd)) in take.lines.iter().enumerate() {
        if !send_with(conn, text.as_bytes(), *fd, deadline) {
            return Err(sent);
        }
    }
    let count = u64::try_from(take.lines.len()).unwrap_or(u64::MAX);
    let end = render_hand_line(&HandLine::End { count });
    match send_until(conn, end.as_bytes(), deadline) {
        true => Ok(()),
        false => Err(take.lines.len()),
    }
}

/// One line with `fd` attached to its first byte, by `deadline`.
fn send_with(conn: RawFd, bytes: &[u8], fd: RawFd, deadline: Instant) -> bool {
    loop {
        match unix_socket::send_fds_some(conn, bytes, &[fd]) {
            Ok(n) => return send_until(conn, bytes.get(n..).unwrap_or_default(), deadline),
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || io::poll_writable(conn, left) != Ok(true) {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
}

/// Take over what a give brought, by `adopt`'s rules (services' sockets and stores
/// first, then units'), before any socket is bound; what is not kept is closed, with a
/// warning line each (aggregated past a few).
pub(super) fn adopt(
    services: &mut BTreeMap<String, Svc>,
    units: &mut BTreeMap<String, UnitRun>,
    handed: Vec<(Handed, OwnedFd)>,
    log: &Logger,
) -> Given {
    let seen: Vec<(Handed, Seen)> = handed.iter().map(|(h, fd)| (h.clone(), see(fd))).collect();
    // Where each slot is: (a unit's, name, index), services first (and their stores:
    // a name is a service's before a unit's).
    let (fates, places) = {
        let mut slots = Vec::new();
        let mut places = Vec::new();
        let mut rooms = Vec::new();
        let mut all = Vec::new();
        for (name, s) in services.iter() {
            all.push((false, name, s.unbound(), s.store_room()));
        }
        for (name, u) in units.iter() {
            all.push((true, name, u.sockets.unbound(), u.sockets.store_room()));
        }
        for (unit, name, unbound, room) in all {
            for (index, listen) in unbound {
                slots.push(Slot {
                    service: name,
                    address: &listen.address,
                    reuse_port: listen.reuse_port,
                    v6_only: listen.v6_only,
                });
                places.push((unit, name.clone(), index));
            }
            if room > 0 {
                rooms.push((name.as_str(), room));
            }
        }
        let fates = adopt::decide(&seen, &slots, &mut rooms);
        (fates, places)
    };
    let mut given = Given::default();
    let mut closed = Vec::new();
    for ((h, fd), fate) in handed.into_iter().zip(fates) {
        let why = match fate {
            Fate::Listen(i) => {
                let done = match places.get(i) {
                    Some((false, name, index)) => {
                        services.get_mut(name).map(|s| s.adopt_listen(*index, fd))
                    }
                    Some((true, name, index)) => units
                        .get_mut(name)
                        .map(|u| u.sockets.adopt_listen(*index, fd)),
                    None => None,
                };
                match done {
                    Some(Ok(())) => None,
                    Some(Err(failed)) => Some(failed.to_string()),
                    None => Some("no such socket".to_string()),
                }
            }
            Fate::Store => {
                let kept = match services.get_mut(&h.service) {
                    Some(svc) => Some(svc.adopt_stored(&h.name, fd)),
                    None => units
                        .get_mut(&h.service)
                        .map(|u| u.sockets.adopt_stored(&h.name, fd)),
                };
                match kept {
                    Some(Ok(())) => None,
                    Some(Err(_)) => Some(adopt::Why::StoreFull.to_string()),
                    None => Some(adopt::Why::NoStore.to_string()),
                }
            }
            Fate::Close(why) => Some(why.to_string()),
        };
        match why {
            None => given.kept += 1,
            Some(why) => {
                given.closed += 1;
                closed.push(format!(
                    "{}/{} ({}): {why}",
                    h.service,
                    h.name,
                    kind_text(&h.kind)
                ));
            }
        }
    }
    let warn = |text: &str| {
        log.emit(Msg::Rich {
            level: Level::Warn,
            text,
        })
    };
    const SAID: usize = 8;
    for what in closed.iter().take(SAID) {
        warn(&format!("descriptor hand-over: closed {what}"));
    }
    if closed.len() > SAID {
        warn(&format!(
            "descriptor hand-over: closed {} more",
            closed.len() - SAID
        ));
    }
    let text = format!(
        "descriptor hand-over: received {}: kept {}, closed {}",
        given.kept + given.closed,
        given.kept,
        given.closed
    );
    log.emit(Msg::Rich {
        level: Level::Info,
        text: &text,
    });
    given
}

/// What a handed descriptor is, as `adopt.rs` needs it.
fn see(fd: &OwnedFd) -> Seen {
    let info = sockinfo::probe(fd.as_raw_fd());
    let path_is_socket = match &info {
        Ok(sockinfo::SockInfo {
            local: sockinfo::Local::Unix(Some(path)),
            ..
        }) => {
            use std::os::unix::fs::FileTypeExt;
            std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
        }
        _ => false,
    };
    Seen {
        info,
        path_is_socket,
    }
}

fn kind_text(kind: &Kind) -> String {
    match kind {
        Kind::Listen { address } => format!("listen {address}"),
        Kind::Store => "store".to_string(),
    }
}
