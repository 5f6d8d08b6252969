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
use crate::control::handover::{render_hand_line, Given, HandLine, Handed, Kind};
use crate::logging::{Level, Logger, Msg};
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
}

/// Every service's bound `listen` sockets, then its fd store, services in name order.
pub(super) fn take(services: &BTreeMap<String, Svc>) -> Take {
    let mut lines = Vec::new();
    let mut parts = Vec::new();
    for (service, svc) in services {
        let (listen, mut stored) = svc.handable();
        // Only sockets travel (a give keeps nothing else): a stored pipe or memfd stays.
        stored.retain(|(_, fd)| sockinfo::probe(*fd).is_ok());
        let counts = (listen.len(), stored.len());
        for (name, address, fd) in listen {
            let kind = Kind::Listen {
                address: address.to_string(),
            };
            lines.push((line(service, name, kind), fd));
        }
        for (name, fd) in stored {
            lines.push((line(service, name, Kind::Store), fd));
        }
        if counts != (0, 0) {
            parts.push(format!(
                "{service}: {} listen, {} store",
                counts.0, counts.1
            ));
        }
    }
    Take {
        lines,
        summary: parts.join("; "),
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

/// Take over what a give brought, by `adopt`'s rules, before any socket is bound; what
/// is not kept is closed, with a warning line each (aggregated past a few).
pub(super) fn adopt(
    services: &mut BTreeMap<String, Svc>,
    handed: Vec<(Handed, OwnedFd)>,
    log: &Logger,
) -> Given {
    let seen: Vec<(Handed, Seen)> = handed
        .iter()
        .map(|(h, fd)| {
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
            (
                h.clone(),
                Seen {
                    info,
                    path_is_socket,
                },
            )
        })
        .collect();
    let slots: Vec<Slot> = services
        .iter()
        .flat_map(|(service, svc)| {
            svc.unbound().map(|(index, address)| Slot {
                service,
                index,
                address,
            })
        })
        .collect();
    let mut rooms: Vec<(&str, usize)> = services
        .iter()
        .map(|(name, svc)| (name.as_str(), svc.store_room()))
        .filter(|(_, room)| *room > 0)
        .collect();
    let fates = adopt::decide(&seen, &slots, &mut rooms);
    let places: Vec<(String, usize)> = slots
        .iter()
        .map(|s| (s.service.to_string(), s.index))
        .collect();
    let mut given = Given::default();
    let mut closed = Vec::new();
    for ((h, fd), fate) in handed.into_iter().zip(fates) {
        let why = match fate {
            Fate::Listen(i) => {
                let place = places.get(i);
                let svc = place.and_then(|(s, _)| services.get_mut(s));
                match (svc, place) {
                    (Some(svc), Some((_, index))) => match svc.adopt_listen(*index, fd) {
                        Ok(()) => None,
                        Err(failed) => Some(failed.to_string()),
                    },
                    _ => Some("no such socket".to_string()),
                }
            }
            Fate::Store => match services.get_mut(&h.service) {
                Some(svc) => svc
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

fn kind_text(kind: &Kind) -> String {
    match kind {
        Kind::Listen { address } => format!("listen {address}"),
        Kind::Store => "store".to_string(),
    }
}
