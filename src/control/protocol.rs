//! Requests of the control protocol: one JSON line from `rich-init ctl` to the init.
//!
//! `{"cmd":"status"}`, `{"cmd":"start","service":"crond"}` (also `stop`, `restart`),
//! `{"cmd":"signal","service":"crond","signal":"HUP"}` (a name or a number),
//! `{"cmd":"shutdown"}` or `{"cmd":"shutdown","code":3}`.
//!
//! Parsing is strict (unknown fields, wrong types and bad values are errors, each naming its
//! field) and total: no input makes it panic. JSON values are inspected by hand, without
//! serde derive, so that every message can say which field failed.

use serde_json::{Map, Value};

use super::json::{echo, line, parse_object, Fields, Result};
use super::units::JobVerb;
use super::ProtocolError;
use crate::signame;

/// The longest request line the server reads, without its `\n`; longer input is cut off.
pub const MAX_LINE: usize = 4096;

/// What `rich-init ctl` asks the running init to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Status,
    Start {
        service: String,
    },
    Stop {
        service: String,
    },
    Restart {
        service: String,
    },
    Signal {
        service: String,
        signal: i32,
    },
    Shutdown {
        code: Option<u8>,
    },
    /// `systemctl status/show/is-active/list-units`: these units (empty: every loaded one);
    /// answered with `Response::Units`, an unknown name as `UnitInfo::not_found`.
    Units {
        names: Vec<String>,
    },
    /// Jobs on units; answered with `Response::Jobs` once each job has finished (at once
    /// with `no_block`).
    UnitJob {
        verb: JobVerb,
        names: Vec<String>,
        no_block: bool,
    },
    /// Re-read the unit files; answered with `Response::Ok`.
    DaemonReload,
    /// Answered with `Response::SystemState`.
    SystemState,
    /// The last `lines` journal lines (of `unit`, or all); with `follow`, more
    /// `Response::Journal` lines follow on the same connection until the client closes it.
    Journal {
        unit: Option<String>,
        lines: Option<usize>,
        follow: bool,
    },
    /// An upgrade takes the held descriptors (see `handover`): answered with hand-over
    /// lines, each with its descriptor.
    FdsTake,
    /// An upgrade gives descriptors: hand-over lines follow on the connection; answered
    /// with `handover::render_given` (only while the init waits for them).
    FdsGive,
}

impl Request {
    /// The `cmd` field's value.
    pub fn cmd(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Start { .. } => "start",
            Request::Stop { .. } => "stop",
            Request::Restart { .. } => "restart",
            Request::Signal { .. } => "signal",
            Request::Shutdown { .. } => "shutdown",
            Request::Units { .. } => "units",
            Request::UnitJob { .. } => "unit-job",
            Request::DaemonReload => "daemon-reload",
            Request::SystemState => "system-state",
            Request::Journal { .. } => "journal",
            Request::FdsTake => "fds-take",
            Request::FdsGive => "fds-give",
        }
    }
}

/// Check a service name (the rule of `services.d/NAME.toml`).
pub fn check_service_name(name: &str) -> Result<()> {
    if crate::config::valid_name(name) {
        Ok(())
    } else {
        Err(ProtocolError::BadServiceName { name: echo(name) })
    }
}

/// Parse a signal given as text: a name (`HUP`, `SIGHUP`, `RTMIN+3`) or a number.
pub fn parse_signal(text: &str) -> Result<i32> {
    signame::parse(text).ok_or_else(|| ProtocolError::BadSignal { signal: echo(text) })
}

/// Parse an exit code given as text, for `ctl shutdown CODE`.
pub fn parse_code(text: &str) -> Result<u8> {
    text.parse::<u8>().map_err(|_| ProtocolError::BadCode {
        code: format!("{:?}", echo(text)),
    })
}

/// The `service` field: a string that names a service.
fn service(f: &Fields) -> Result<String> {
    let name = f.string("service")?;
    check_service_name(name)?;
    Ok(name.to_string())
}

/// Parse one request line (as read from the socket; a trailing `\n` is allowed).
pub fn parse_request(line: &[u8]) -> Result<Request> {
    let map = parse_object(line, "request line", MAX_LINE)?;
    let cmd = Fields::new(&map, "the request").string("cmd")?;
    let f = Fields::new(&map, format!("a {cmd:?} request"));
    let request = match cmd {
        "status" => {
            f.allow(&["cmd"])?;
            Request::Status
        }
        "fds-take" => {
            f.allow(&["cmd"])?;
            Request::FdsTake
        }
        "fds-give" => {
            f.allow(&["cmd"])?;
            Request::FdsGive
        }
        "start" | "stop" | "restart" => {
            f.allow(&["cmd", "service"])?;
            let service = service(&f)?;
            match cmd {
                "start" => Request::Start { service },
                "stop" => Request::Stop { service },
                _ => Request::Restart { service },
            }
        }
        "signal" => {
            f.allow(&["cmd", "service", "signal"])?;
            let service = service(&f)?;
            let signal = match f.get("signal")? {
                Value::String(s) => parse_signal(s)?,
                Value::Number(n) => parse_signal(&n.to_string())?,
                other => return Err(f.wrong("signal", "a signal name or number", other)),
            };
            Request::Signal { service, signal }
        }
        "shutdown" => {
            f.allow(&["cmd", "code"])?;
            let code = match map.get("code") {
                None => None,
                Some(Value::Number(n)) => Some(
                    n.as_u64()
                        .and_then(|c| u8::try_from(c).ok())
                        .ok_or_else(|| ProtocolError::BadCode {
                            code: echo(&n.to_string()),
                        })?,
                ),
                Some(other) => return Err(f.wrong("code", "an integer 0-255", other)),
            };
            Request::Shutdown { code }
        }
        other => match super::units::parse_unit_request(other, &f) {
            Some(request) => request?,
            None => return Err(ProtocolError::UnknownCmd { cmd: echo(other) }),
        },
    };
    Ok(request)
}

/// A signal as the protocol writes it: `HUP`, `RTMIN+3`; a bare number if it has no name.
pub(super) fn signal_text(signal: i32) -> String {
    let name = signame::name(signal);
    name.strip_prefix("SIG").unwrap_or(&name).to_string()
}

/// One request as one `\n`-terminated JSON line, for the client.
pub fn render_request(request: &Request) -> String {
    let mut map = Map::new();
    map.insert("cmd".into(), request.cmd().into());
    match request {
        Request::Status
        | Request::Shutdown { code: None }
        | Request::FdsTake
        | Request::FdsGive => {}
        Request::Start { service } | Request::Stop { service } | Request::Restart { service } => {
            map.insert("service".into(), service.as_str().into());
        }
        Request::Signal { service, signal } => {
            map.insert("service".into(), service.as_str().into());
            map.insert("signal".into(), signal_text(*signal).into());
        }
        Request::Shutdown { code: Some(code) } => {
            map.insert("code".into(), (*code).into());
        }
        Request::Units { .. }
        | Request::UnitJob { .. }
        | Request::DaemonReload
        | Request::SystemState
        | Request::Journal { .. } => super::units::render_unit_request(request, &mut map),
    }
    line(Value::Object(map))
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
