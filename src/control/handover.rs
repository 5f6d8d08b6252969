//! The descriptor hand-over of an in-place upgrade, the pure side: the lines that travel
//! on the control socket with the descriptors, and the variable that makes a new init
//! wait for them.
//!
//! **Take** (`upgrade-helper` from the old init), one connection:
//! - client: `{"cmd":"fds-take"}`;
//! - init: one line per descriptor, each sent with exactly that descriptor attached
//!   (SCM_RIGHTS):
//!   `{"fd":{"service":"web","kind":"listen","name":"web.socket","address":"tcp:0.0.0.0:8080"}}`
//!   or `{"fd":{"service":"web","kind":"store","name":"state"}}`;
//! - init: `{"end":N}`, N the number of fd lines before it. An error is the usual
//!   `{"ok":false,"error":"…"}` instead.
//!
//! **Give** (`upgrade-helper` to the new init, or back to the old one on a rollback):
//! - client: `{"cmd":"fds-give"}`, then the same fd lines, then `{"end":N}`;
//! - init: `{"ok":true,"kept":K,"closed":C}`, or `{"ok":false,"error":"…"}`.
//!
//! Only root or the init's own uid may connect (the control socket's rule). Only the
//! init's held `listen` sockets and fd-store descriptors are ever sent, and only socket
//! descriptors are accepted.
//!
//! **Waiting.** An init whose environment has `RICH_INIT_HANDOVER_UNTIL=<unix ms>` waits,
//! before it binds anything or starts a service, until a give arrives or that wall-clock
//! time passes (at most [`MAX_WAIT`] from its start). The deadline is absolute, so a
//! variable left in a spec makes no later start wait.

use serde_json::{Map, Value};
use std::time::Duration;

use super::json::{echo, line, parse_object, Fields, Result};
use super::ProtocolError;

/// The variable a hand-over sets on the new task's process.
pub const HANDOVER_VAR: &str = "RICH_INIT_HANDOVER_UNTIL";

/// The longest an init waits for a hand-over, whatever the variable says.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The longest hand-over line, without its `\n`.
pub const MAX_HAND_LINE: usize = 4096;

/// What a handed descriptor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A `listen` socket, with its address as the config writes it (`tcp:0.0.0.0:8080`).
    Listen { address: String },
    /// A descriptor from the service's fd store.
    Store,
}

/// One handed descriptor's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handed {
    pub service: String,
    /// Its LISTEN_FDNAMES name (listen) or FDNAME (store).
    pub name: String,
    pub kind: Kind,
}

/// One line of a take's answer or of a give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandLine {
    /// Sent with exactly one descriptor.
    Fd(Handed),
    /// The last line: how many fd lines came before it.
    End { count: u64 },
}

/// A give's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Given {
    /// Descriptors the init took over.
    pub kept: u64,
    /// Descriptors it closed: not a socket, an address no longer configured, another
    /// network namespace, over a store's limit.
    pub closed: u64,
}

/// One hand-over line as one `\n`-terminated JSON line.
pub fn render_hand_line(l: &HandLine) -> String {
    let mut map = Map::new();
    match l {
        HandLine::Fd(h) => {
            let mut fd = Map::new();
            fd.insert("service".into(), h.service.as_str().into());
            fd.insert("name".into(), h.name.as_str().into());
            match &h.kind {
                Kind::Listen { address } => {
                    fd.insert("kind".into(), "listen".into());
                    fd.insert("address".into(), address.as_str().into());
                }
                Kind::Store => {
                    fd.insert("kind".into(), "store".into());
                }
            }
            map.insert("fd".into(), Value::Object(fd));
        }
        HandLine::End { count } => {
            map.insert("end".into(), (*count).into());
        }
    }
    line(Value::Object(map))
}

/// Parse one hand-over line. An `{"ok":false,"error":…}` line (a take refused) is
/// `Err(Refused)`.
pub fn parse_hand_line(text: &[u8]) -> Result<HandLine> {
    let map = parse_object(text, "hand-over line", MAX_HAND_LINE)?;
    let f = Fields::new(&map, "the hand-over line");
    if map.contains_key("ok") {
        f.allow(&["ok", "error"])?;
        let message = f.string("error")?;
        return Err(ProtocolError::Refused {
            message: message.to_string(),
        });
    }
    match (map.get("fd"), map.get("end")) {
        (Some(fd), None) => {
            f.allow(&["fd"])?;
            let Value::Object(fd) = fd else {
                return Err(f.wrong("fd", "an object", fd));
            };
            let g = Fields::new(fd, "the hand-over line's \"fd\"");
            let service = g.string("service")?.to_string();
            super::protocol::check_service_name(&service)?;
            let name = g.string("name")?.to_string();
            if !crate::config::valid_fd_name(&name) {
                return Err(ProtocolError::BadHandValue {
                    field: "name",
                    value: echo(&name),
                    expected: "1-255 printable ASCII characters without ':'",
                });
            }
            let kind = match g.string("kind")? {
                "listen" => {
                    g.allow(&["service", "name", "kind", "address"])?;
                    Kind::Listen {
                        address: g.string("address")?.to_string(),
                    }
                }
                "store" => {
                    g.allow(&["service", "name", "kind"])?;
                    Kind::Store
                }
                other => {
                    return Err(ProtocolError::BadHandValue {
                        field: "kind",
                        value: echo(other),
                        expected: "\"listen\" or \"store\"",
                    })
                }
            };
            Ok(HandLine::Fd(Handed {
                service,
                name,
                kind,
            }))
        }
        (None, Some(_)) => {
            f.allow(&["end"])?;
            let count = f.integer::<u64>("end", "an integer >= 0")?;
            Ok(HandLine::End { count })
        }
        _ => Err(ProtocolError::MissingField {
            context: "the hand-over line".into(),
            field: "fd\" or \"end".into(),
        }),
    }
}

/// A give's answer as one line.
pub fn render_given(g: Given) -> String {
    let mut map = Map::new();
    map.insert("ok".into(), true.into());
    map.insert("kept".into(), g.kept.into());
    map.insert("closed".into(), g.closed.into());
    line(Value::Object(map))
}

/// Parse a give's answer; a refusal is `Err(Refused)`.
pub fn parse_given(text: &[u8]) -> Result<Given> {
    let map = parse_object(text, "hand-over answer", MAX_HAND_LINE)?;
    let f = Fields::new(&map, "the hand-over answer");
    if !f.boolean("ok")? {
        f.allow(&["ok", "error"])?;
        return Err(ProtocolError::Refused {
            message: f.string("error")?.to_string(),
        });
    }
    f.allow(&["ok", "kept", "closed"])?;
    Ok(Given {
        kept: f.integer("kept", "an integer >= 0")?,
        closed: f.integer("closed", "an integer >= 0")?,
    })
}

/// The variable's value for a deadline (milliseconds since the Unix epoch).
pub fn handover_value(deadline_unix_ms: u128) -> String {
    deadline_unix_ms.to_string()
}

/// How long to wait, from the variable's value and the wall clock now (ms since the
/// epoch): zero once the deadline has passed, never more than [`MAX_WAIT`]. A value that
/// is not a number is an error (the caller warns and does not wait).
pub fn wait_for(value: &str, now_unix_ms: u128) -> Result<Duration> {
    let until: u128 = value
        .trim()
        .parse()
        .map_err(|_| ProtocolError::BadHandValue {
            field: HANDOVER_VAR,
            value: echo(value),
            expected: "milliseconds since the Unix epoch",
        })?;
    let left = until.saturating_sub(now_unix_ms);
    let left = u64::try_from(left).unwrap_or(u64::MAX);
    Ok(Duration::from_millis(left).min(MAX_WAIT))
}

#[cfg(test)]
#[path = "handover_tests.rs"]
mod tests;
