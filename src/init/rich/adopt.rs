//! Which descriptors of a hand-over the new init keeps (pure: what each one is has been
//! probed already, `sys::sockinfo`).
//!
//! - A `listen` descriptor is kept by a `listen` entry of the new config with the same
//!   parsed address, not bound yet and not claimed by an earlier descriptor: the entry of
//!   the service it came from when several match, else the first in service-name order.
//!   It must also be what the address says: a socket of that family and type, bound to
//!   that address (getsockname), and for inet sockets in our network namespace (when
//!   the kernel cannot tell, it is kept: the descriptor came from root or our own uid,
//!   over the control socket); for unix sockets the path must still be a socket in our
//!   filesystem (else the old root's file is gone and nobody could connect).
//! - A `store` descriptor goes to the fd store of the service of the same name, if it
//!   is a socket and the store has room (fd-store-max).
//! - Everything else is closed.
//!
//! Under `--systemd` the units count as services named by their unit name
//! (`web.service`): their socket units' sockets are further slots, after the services',
//! units in name order, and their FileDescriptorStoreMax= stores further rooms.

use crate::config::{self, Address};
use crate::control::handover::{Handed, Kind};
use crate::sys::sockinfo::{Local, SockInfo};
use crate::sys::Errno;

/// A `listen` entry of the new config (or a unit's socket unit's socket) not bound yet.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot<'a> {
    pub service: &'a str,
    pub address: &'a Address,
    /// The entry's `reuse-port` and IPv6-only settings: a socket with others is closed.
    pub reuse_port: bool,
    pub v6_only: bool,
}

/// What was found of a handed descriptor.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub info: Result<SockInfo, Errno>,
    /// Unix sockets: whether their path is a socket in our filesystem now.
    pub path_is_socket: bool,
}

/// What becomes of a handed descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// It is the socket of `slots[i]`.
    Listen(usize),
    /// Into the fd store of the service (or unit) it names.
    Store,
    Close(Why),
}

/// Why a handed descriptor is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    NotSocket,
    BadAddress,
    NotConfigured,
    WrongKind,
    WrongAddress,
    OtherNetns,
    OtherOptions,
    PathGone,
    NoStore,
    StoreFull,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::NotSocket => "not a socket (a hand-over carries sockets only)",
            Why::BadAddress => "its address is not one rich-init understands",
            Why::NotConfigured => "no service of this config listens on that address",
            Why::WrongKind => "its family or type is not what the address says",
            Why::WrongAddress => "it is bound to another address than the one it names",
            Why::OtherNetns => "it lives in another network namespace",
            Why::OtherOptions => {
                "its reuse-port or IPv6-only setting is not the new config's (it is bound afresh)"
            }
            Why::PathGone => "its path is not a socket in this filesystem",
            Why::NoStore => {
                "that service has no fd store here (fd-store-max = 0, or no such service)"
            }
            Why::StoreFull => "that service's fd store is full (fd-store-max)",
        })
    }
}

/// The fate of each handed descriptor, in order. `rooms` is each service's (and unit's)
/// free room in its fd store (taken as descriptors are given to it).
pub(super) fn decide(
    handed: &[(Handed, Seen)],
    slots: &[Slot],
    rooms: &mut [(&str, usize)],
) -> Vec<Fate> {
    let mut claimed = vec![false; slots.len()];
    handed
        .iter()
        .map(|(h, seen)| {
            let info = match &seen.info {
                Ok(info) => info,
                Err(_) => return Fate::Close(Why::NotSocket),
            };
            match &h.kind {
                Kind::Store => match rooms.iter_mut().find(|(s, _)| *s == h.service) {
                    None => Fate::Close(Why::NoStore),
                    Some((_, 0)) => Fate::Close(Why::StoreFull),
                    Some((_, room)) => {
                        *room -= 1;
                        Fate::Store
                    }
                },
                Kind::Listen { address } => {
                    let Ok(address) = config::parse_address(address) else {
                        return Fate::Close(Why::BadAddress);
                    };
                    let free = |i: &usize| {
                        claimed.get(*i) == Some(&false)
                            && slots.get(*i).is_some_and(|s| *s.address == address)
                    };
                    let own = (0..slots.len())
                        .filter(free)
                        .find(|i| slots.get(*i).is_some_and(|s| s.service == h.service));
                    let Some(i) = own.or_else(|| (0..slots.len()).find(free)) else {
                        return Fate::Close(Why::NotConfigured);
                    };
                    let slot = slots.get(i);
                    let opts = slot.map_or((false, true), |s| (s.reuse_port, s.v6_only));
                    if let Err(why) = check(&address, opts, info, seen.path_is_socket) {
                        return Fate::Close(why);
                    }
                    if let Some(c) = claimed.get_mut(i) {
                        *c = true;
                    }
                    Fate::Listen(i)
                }
            }
        })
        .collect()
}

/// Whether the socket is what `address` says.
fn check(
    address: &Address,
    (reuse_port, v6_only): (bool, bool),
    info: &SockInfo,
    path_is_socket: bool,
) -> Result<(), Why> {
    let domain = match address {
        Address::Tcp(_) | Address::Udp(_) => libc::AF_INET,
        Address::Tcp6(_) | Address::Udp6(_) => libc::AF_INET6,
        Address::Unix(_) => libc::AF_UNIX,
    };
    let ty_ok = if address.is_stream() {
        info.stream
    } else {
        info.datagram
    };
    if info.domain != domain || !ty_ok {
        return Err(Why::WrongKind);
    }
    let same = match (address, &info.local) {
        (Address::Tcp(a) | Address::Udp(a), Local::Inet(l)) => {
            l.ip() == std::net::IpAddr::V4(*a.ip()) && l.port() == a.port()
        }
        (Address::Tcp6(a) | Address::Udp6(a), Local::Inet(l)) => {
            l.ip() == std::net::IpAddr::V6(*a.ip()) && l.port() == a.port()
        }
        (Address::Unix(p), Local::Unix(Some(l))) => p == l,
        _ => false,
    };
    if !same {
        return Err(Why::WrongAddress);
    }
    if info.same_netns == Some(false) {
        return Err(Why::OtherNetns);
    }
    let v6 = matches!(address, Address::Tcp6(_) | Address::Udp6(_));
    if !address.is_unix()
        && (info.reuse_port != reuse_port || (v6 && info.v6_only.is_some_and(|o| o != v6_only)))
    {
        return Err(Why::OtherOptions);
    }
    if address.is_unix() && !path_is_socket {
        return Err(Why::PathGone);
    }
    Ok(())
}

#[cfg(test)]
#[path = "adopt_tests.rs"]
mod tests;
