//! A `.socket` unit's [Socket] section (systemd.socket(5)), read as the `listen` sockets
//! (`config::Listen`) of the service it activates: rich-init binds them when the boot begins
//! and passes them to that service's ExecStart= by the sd_listen_fds(3) contract. Pure.
//!
//! Read: ListenStream=, ListenDatagram=, Accept= (no only), Service=, Backlog=, ReusePort=,
//! SocketMode=, SocketUser=, SocketGroup=, FileDescriptorName= and BindIPv6Only=. As for a
//! `.service`, another directive systemd knows is one warning (once per key) and ignored, an
//! unknown one is one warning, and a bad value is one warning naming the line and the fix;
//! the socket unit still loads with what is left. It is refused (skipped, one line) only for
//! Accept=yes and when nothing is left to listen on.
//!
//! Addresses (systemd.socket(5), ListenStream=): a port alone (`8080`) is `[::]:8080`,
//! dual-stack as systemd binds it (IPv4 connections arrive on it too); `1.2.3.4:80`;
//! `[::1]:80`; an absolute path is a unix stream socket (ListenStream= only). Abstract
//! (`@name`), vsock and unix datagram sockets, and ListenSequentialPacket=, ListenFIFO= and
//! the other Listen…= kinds, are not supported: one warning each, that line ignored.

use std::net::{Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::path::PathBuf;

use thiserror::Error;

use super::service::values;
use super::service::Warning;
use super::specifiers::{self, Context};
use super::syntax::{Entry, UnitFile};
use crate::config::{valid_fd_name, Address, IdSpec, Listen, DEFAULT_BACKLOG, DEFAULT_SOCKET_MODE};

/// [Socket] directives systemd has that rich-init does not do: warned once, ignored.
const IGNORED: &[&str] = &[
    "ListenSequentialPacket",
    "ListenFIFO",
    "ListenSpecial",
    "ListenNetlink",
    "ListenMessageQueue",
    "ListenUSBFunction",
    "SocketProtocol",
    "BindToDevice",
    "DirectoryMode",
    "MaxConnections",
    "MaxConnectionsPerSource",
    "KeepAlive",
    "KeepAliveTimeSec",
    "KeepAliveIntervalSec",
    "KeepAliveProbes",
    "NoDelay",
    "Priority",
    "DeferAcceptSec",
    "ReceiveBuffer",
    "SendBuffer",
    "IPTOS",
    "IPTTL",
    "Mark",
    "FreeBind",
    "Transparent",
    "Broadcast",
    "PassCredentials",
    "PassSecurity",
    "PassPacketInfo",
    "Timestamping",
    "TCPCongestion",
    "ExecStartPre",
    "ExecStartPost",
    "ExecStopPre",
    "ExecStopPost",
    "TimeoutSec",
    "Symlinks",
    "PipeSize",
    "MessageQueueMaxMessages",
    "MessageQueueMessageSize",
    "RemoveOnStop",
    "Writable",
    "FlushPending",
    "TriggerLimitIntervalSec",
    "TriggerLimitBurst",
    "PollLimitIntervalSec",
    "PollLimitBurst",
    "SmackLabel",
    "SmackLabelIPIn",
    "SmackLabelIPOut",
    "SELinuxContextFromNet",
    "PassFileDescriptorsToExec",
    "DeferTrigger",
    "DeferTriggerMaxSec",
];

/// What the address forms are, for the warning's fix.
const FORMS: &str = "write a port (8080), IPV4:PORT (0.0.0.0:8080), [IPV6]:PORT ([::]:8080) \
                     or an absolute path (/run/app.sock)";

/// A loaded socket unit: the service it activates and the sockets it gives that service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketUnit {
    pub name: String,
    /// Service=, or the unit's own name with `.service`.
    pub service: String,
    /// In file order; named FileDescriptorName= (default: the unit's name).
    pub listen: Vec<Listen>,
    pub warnings: Vec<Warning>,
}

/// Why a socket unit is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SocketError {
    #[error(
        "{unit}: Accept=yes (a service instance per connection) is not supported by \
         rich-init, skipping this socket unit; use Accept=no and a service that accepts on \
         the socket it is given"
    )]
    Accept { unit: String },
    #[error(
        "{unit}: no ListenStream= or ListenDatagram= that rich-init can bind, skipping this \
         socket unit; {FORMS}"
    )]
    NothingToListen { unit: String },
}

/// How a Listen…= line reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stream,
    Datagram,
}

impl SocketUnit {
    /// Read `file` (drop-ins merged) for unit `ctx.unit`, resolving specifiers from `ctx`.
    pub fn from_file(file: &UnitFile, ctx: &Context) -> Result<SocketUnit, SocketError> {
        let unit = ctx.unit.clone();
        let mut r = Reader {
            ctx,
            warnings: Vec::new(),
            warned: Vec::new(),
        };
        let mut addresses: Vec<Address> = Vec::new();
        let stem = unit.rsplit_once('.').map_or(unit.as_str(), |(s, _)| s);
        let mut service = format!("{stem}.service");
        let mut accept = false;
        let mut proto = Listen {
            address: Address::Unix(PathBuf::new()),
            backlog: DEFAULT_BACKLOG,
            reuse_port: false,
            mode: DEFAULT_SOCKET_MODE,
            owner: None,
            group: None,
            name: unit.clone(),
            v6_only: false,
        };
        for section in file.sections() {
            match section.name.as_str() {
                "Socket" => {}
                "Unit" | "Install" => continue,
                other if other.starts_with("X-") => continue,
                _ => {
                    r.warnings.push(Warning::UnknownSection {
                        unit: unit.clone(),
                        section: section.name.clone(),
                        line: section.entries.first().map_or(0, |e| e.line),
                    });
                    continue;
                }
            }
            for e in &section.entries {
                let v = e.value.as_str();
                let applied = match e.key.as_str() {
                    "ListenStream" | "ListenDatagram" if v.is_empty() => {
                        addresses.clear();
                        Ok(())
                    }
                    "ListenStream" => r.address(v, Kind::Stream).map(|a| addresses.push(a)),
                    "ListenDatagram" => r.address(v, Kind::Datagram).map(|a| addresses.push(a)),
                    "Accept" => values::boolean(v).map(|b| accept = b),
                    "Service" => r.service(v).map(|s| service = s),
                    "Backlog" => v
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=i32::MAX as u32).contains(n))
                        .map(|n| proto.backlog = n)
                        .ok_or_else(|| "expected a whole number from 1, such as 4096".into()),
                    "ReusePort" => values::boolean(v).map(|b| proto.reuse_port = b),
                    "SocketMode" => values::mode(v).map(|m| proto.mode = m),
                    "SocketUser" => r.expand(v).map(|s| proto.owner = id(&s)),
                    "SocketGroup" => r.expand(v).map(|s| proto.group = id(&s)),
                    "FileDescriptorName" => r.expand(v).and_then(|n| {
                        if v.is_empty() {
                            proto.name = unit.clone();
                            Ok(())
                        } else if valid_fd_name(&n) {
                            proto.name = n;
                            Ok(())
                        } else {
                            Err("expected 1 to 255 ASCII characters, no ':' and no control \
                                 characters"
                                .into())
                        }
                    }),
                    "BindIPv6Only" => match v {
                        "default" | "both" | "ipv6-only" => {
                            proto.v6_only = v == "ipv6-only";
                            Ok(())
                        }
                        _ => Err("expected default, both or ipv6-only".into()),
                    },
                    key => {
                        r.other(e, key);
                        Ok(())
                    }
                };
                if let Err(reason) = applied {
                    r.warnings.push(Warning::Invalid {
                        unit: unit.clone(),
                        key: e.key.clone(),
                        value: e.value.clone(),
                        line: e.line,
                        reason,
                    });
                }
            }
        }
        if accept {
            return Err(SocketError::Accept { unit });
        }
        let mut listen: Vec<Listen> = Vec::with_capacity(addresses.len());
        for address in addresses {
            // The same address twice is one socket (systemd merges them too).
            if !listen.iter().any(|l| l.address == address) {
                listen.push(Listen {
                    address,
                    ..proto.clone()
                });
            }
        }
        if listen.is_empty() {
            return Err(SocketError::NothingToListen { unit });
        }
        Ok(SocketUnit {
            name: unit,
            service,
            listen,
            warnings: r.warnings,
        })
    }
}

struct Reader<'c> {
    ctx: &'c Context,
    warnings: Vec<Warning>,
    /// Keys already warned about as ignored: one warning each.
    warned: Vec<String>,
}

impl Reader<'_> {
    fn expand(&self, text: &str) -> Result<String, String> {
        specifiers::expand(text, self.ctx).map_err(|e| e.to_string())
    }

    fn address(&self, text: &str, kind: Kind) -> Result<Address, String> {
        address(&self.expand(text)?, kind)
    }

    /// Service=: a `.service` name (systemd.socket(5)).
    fn service(&self, text: &str) -> Result<String, String> {
        let name = self.expand(text)?;
        match name.strip_suffix(".service") {
            Some(stem) if !stem.is_empty() && !name.contains('/') => Ok(name),
            _ => Err("expected a service unit name, such as app.service".into()),
        }
    }

    /// A key that is not read: warned once if systemd knows it, else an unknown key.
    fn other(&mut self, e: &Entry, key: &str) {
        let unit = self.ctx.unit.clone();
        if !IGNORED.contains(&key) {
            self.warnings.push(Warning::UnknownKey {
                unit,
                section: "Socket".into(),
                key: key.to_string(),
                line: e.line,
            });
        } else if !self.warned.iter().any(|w| w == key) {
            self.warned.push(key.to_string());
            self.warnings.push(Warning::Ignored {
                unit,
                key: key.to_string(),
                line: e.line,
            });
        }
    }
}

/// SocketUser=/SocketGroup=: a number is an id, anything else a name; empty resets.
fn id(text: &str) -> Option<IdSpec> {
    if text.is_empty() {
        return None;
    }
    Some(match text.parse::<u32>() {
        Ok(n) => IdSpec::Id(n),
        Err(_) => IdSpec::Name(text.to_string()),
    })
}

/// One ListenStream=/ListenDatagram= address, as systemd.socket(5) reads it; the reason
/// (with the fix) when it is malformed or of a kind rich-init does not bind.
fn address(text: &str, kind: Kind) -> Result<Address, String> {
    let stream = kind == Kind::Stream;
    let port = |p: &str| -> Result<u16, String> {
        let digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        p.parse::<u16>()
            .ok()
            .filter(|n| digits && *n != 0)
            .ok_or_else(|| format!("the port is not a number from 1 to 65535; {FORMS}"))
    };
    if text.starts_with('@') {
        return Err(
            "abstract socket addresses (@…) are not supported by rich-init; use an \
                    absolute path such as /run/app.sock"
                .into(),
        );
    }
    if text.starts_with("vsock:") {
        return Err("AF_VSOCK addresses are not supported by rich-init".into());
    }
    if text.starts_with('/') {
        if !stream {
            return Err("unix datagram sockets are not supported by rich-init; use \
                        ListenStream= with the path, or an IP address here"
                .into());
        }
        // sun_path holds 108 bytes with the terminating NUL.
        if text.len() > 107 {
            return Err("the path is longer than 107 bytes; use a shorter one".into());
        }
        return Ok(Address::Unix(PathBuf::from(text)));
    }
    let v6 = |a: SocketAddrV6| {
        if stream {
            Address::Tcp6(a)
        } else {
            Address::Udp6(a)
        }
    };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let p = port(text)?;
        return Ok(v6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, p, 0, 0)));
    }
    if let Some(inner) = text.strip_prefix('[') {
        let (host, p) = inner
            .split_once("]:")
            .ok_or_else(|| format!("an IPv6 address needs ]:PORT; {FORMS}"))?;
        let ip: Ipv6Addr = host
            .parse()
            .map_err(|_| format!("`{host}` is not an IPv6 address; {FORMS}"))?;
        return Ok(v6(SocketAddrV6::new(ip, port(p)?, 0, 0)));
    }
    let (host, p) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("`{text}` is not an address; {FORMS}"))?;
    let ip = host.parse().map_err(|_| {
        format!("`{host}` is not an IPv4 address (host names are not read); {FORMS}")
    })?;
    let a = SocketAddrV4::new(ip, port(p)?);
    Ok(if stream {
        Address::Tcp(a)
    } else {
        Address::Udp(a)
    })
}

#[cfg(test)]
#[path = "socket_tests.rs"]
mod tests;
