//! The init's side of an upgrade's descriptor hand-over (`control::handover` has the
//! protocol): what a take sends, and what becomes of what a give brought (the rules are
//! `adopt.rs`'s; the wait at boot is `awaiting.rs`).
//!
//! A take sends only the `listen` sockets the init holds and its services' fd-store
//! entries that are sockets, never anything else of its own, and keeps its copies: the
//! old init serves on until the upgrade stops it.

use super::adopt::{self, Fate, Seen, Slot};
use super::control::send_until;
use super::services::Svc;
use super::systemd::{UnitRun, UnitSockets};
use crate::config::Address;
use crate::control::handover::{render_hand_line, Given, HandLine, Handed, Kind};
use crate::control::protocol::check_service_name;
use crate::logging::{Level, Logger, Msg};
use crate::sys::listen::Failed;
use crate::sys::{io, sockinfo, unix_socket, Errno};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

/// What a take sends: each line with its descriptor (the init's own, borrowed: sent at
/// once, before anything can close it), and what they are, for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Take {
    pub lines: Vec<(String, RawFd)>,
    pub summary: String,
    /// Units whose name the protocol cannot carry, their descriptors not sent: one
    /// warning for all.
    pub skipped: Vec<String>,
}

/// Who holds descriptors a hand-over carries: a services.d service, or a systemd unit
/// (its socket units' sockets and its FileDescriptorStoreMax= store).
pub(super) trait Holder {
    /// Its bound sockets (name, address, descriptor) and its store (name, descriptor).
    fn handable(&self) -> (Vec<(&str, &Address, RawFd)>, Vec<(&str, RawFd)>);
    /// Its sockets not bound yet: (index, address).
    fn unbound(&self) -> Vec<(usize, &Address)>;
    fn adopt_listen(&mut self, index: usize, fd: OwnedFd) -> Result<(), Failed>;
    fn store_room(&self) -> usize;
    fn adopt_stored(&mut self, name: &str, fd: OwnedFd) -> Result<(), OwnedFd>;
}

impl Holder for Svc {
    fn handable(&self) -> (Vec<(&str, &Address, RawFd)>, Vec<(&str, RawFd)>) {
        Svc::handable(self)
    }
    fn unbound(&self) -> Vec<(usize, &Address)> {
        Svc::unbound(self).collect()
    }
    fn adopt_listen(&mut self, index: usize, fd: OwnedFd) -> Result<(), Failed> {
        Svc::adopt_listen(self, index, fd)
    }
    fn store_room(&self) -> usize {
        Svc::store_room(self)
    }
    fn adopt_stored(&mut self, name: &str, fd: OwnedFd) -> Result<(), OwnedFd> {
        Svc::adopt_stored(self, name, fd)
    }
}

impl Holder for UnitSockets {
    fn handable(&self) -> (Vec<(&str, &Address, RawFd)>, Vec<(&str, RawFd)>) {
        UnitSockets::handable(self)
    }
    fn unbound(&self) -> Vec<(usize, &Address)> {
        UnitSockets::unbound(self)
    }
    fn adopt_listen(&mut self, index: usize, fd: OwnedFd) -> Result<(), Failed> {
        UnitSockets::adopt_listen(self, index, fd)
    }
    fn store_room(&self) -> usize {
        UnitSockets::store_room(self)
    }
    fn adopt_stored(&mut self, name: &str, fd: OwnedFd) -> Result<(), OwnedFd> {
        UnitSockets::adopt_stored(self, name, fd)
    }
}

/// The holders, services in name order, then units in name order.
fn holders<'a>(
    services: &'a BTreeMap<String, Svc>,
    units: &'a BTreeMap<String, UnitRun>,
) -> Vec<(&'a str, &'a dyn Holder)> {
    let svcs = services.iter().map(|(n, s)| (n.as_str(), s as &dyn Holder));
    let units = units
        .iter()
        .map(|(n, u)| (n.as_str(), &u.sockets as &dyn Holder));
    svcs.chain(units).collect()
}

/// Every service's bound `listen` sockets, then its fd store, services in name order;
/// then every unit's socket units' sockets and its fd store, units in name order. A unit
/// whose name the protocol cannot carry (`\x2d` escapes, over 64 bytes) is skipped.
pub(super) fn take(services: &BTreeMap<String, Svc>, units: &BTreeMap<String, UnitRun>) -> Take {
    let mut lines = Vec::new();
    let mut parts = Vec::new();
    let mut skipped = Vec::new();
    for (service, holder) in holders(services, units) {
        let (listen, mut stored) = holder.handable();
        // Only sockets travel (a give keeps nothing else): a stored pipe or memfd stays.
        stored.retain(|(_, fd)| sockinfo::probe(*fd).is_ok());
        let counts = (listen.len(), stored.len());
        if counts == (0, 0) {
            continue;
        }
        if check_service_name(service).is_err() {
            skipped.push(service.to_string());
            continue;
        }
        for (name, address, fd) in listen {
            let kind = Kind::Listen {
                address: address.to_string(),
            };
            lines.push((line(service, name, kind), fd));
        }
        for (name, fd) in stored {
            lines.push((line(service, name, Kind::Store), fd));
        }
        parts.push(format!(
            "{service}: {} listen, {} store",
            counts.0, counts.1
        ));
    }
    Take {
        lines,
        summary: parts.join("; "),
        skipped,
    }
}

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
    // Where each slot and each store room is: (holder, index) and holder, in
    // `holders` order.
    let (fates, places, room_of) = {
        let holders = holders(services, units);
        let mut slots = Vec::new();
        let mut places = Vec::new();
        for (at, (service, h)) in holders.iter().enumerate() {
            for (index, address) in h.unbound() {
                slots.push(Slot { service, address });
                places.push((at, index));
            }
        }
        let mut rooms = Vec::new();
        let mut room_of = Vec::new();
        for (at, (name, h)) in holders.iter().enumerate() {
            let room = h.store_room();
            if room > 0 {
                rooms.push((*name, room));
                room_of.push(at);
            }
        }
        let fates = adopt::decide(&seen, &slots, &mut rooms);
        (fates, places, room_of)
    };
    let svcs = services.values_mut().map(|s| s as &mut dyn Holder);
    let units = units
        .values_mut()
        .map(|u| &mut u.sockets as &mut dyn Holder);
    let mut holders: Vec<&mut dyn Holder> = svcs.chain(units).collect();
    let mut given = Given::default();
    let mut closed = Vec::new();
    for ((h, fd), fate) in handed.into_iter().zip(fates) {
        let why = match fate {
            Fate::Listen(i) => {
                let place = places.get(i);
                match place.and_then(|(at, index)| Some((holders.get_mut(*at)?, *index))) {
                    Some((o, index)) => o.adopt_listen(index, fd).err().map(|e| e.to_string()),
                    None => Some("no such socket".to_string()),
                }
            }
            Fate::Store(r) => match room_of.get(r).and_then(|at| holders.get_mut(*at)) {
                Some(o) => o
                    .adopt_stored(&h.name, fd)
                    .err()
                    .map(|_| adopt::Why::StoreFull.to_string()),
                None => Some(adopt::Why::NoStore.to_string()),
            },
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
