//! Responses of the control protocol: one JSON line from the init back to `rich-init ctl`.
//!
//! `{"ok":true}`, `{"ok":false,"error":"..."}`, or `{"ok":true,"services":[...]}` where each
//! service is `{"name","state","pid","uptime_ms","restarts","last_exit"}` (absent values are
//! `null`; `last_exit` is `{"code":N}` or `{"signal":N}`).

use serde_json::{Map, Value};

use super::json::{found, line, parse_object, Fields, Result};
use super::ProtocolError;

/// The longest response line the client reads, without its `\n`.
pub const MAX_RESPONSE_LINE: usize = 1 << 20;

/// How a service's last run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitInfo {
    Code(i32),
    Signal(i32),
}

/// One row of `ctl status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    pub name: String,
    pub state: String,
    pub pid: Option<i32>,
    pub uptime_ms: Option<u64>,
    pub restarts: u32,
    pub last_exit: Option<ExitInfo>,
}

/// The init's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Ok,
    Status(Vec<ServiceStatus>),
    Error {
        message: String,
    },
    /// The answer to `Request::Units`.
    Units(Vec<crate::units::status::UnitInfo>),
    /// The answer to `Request::UnitJob`: one outcome per unit, in the request's order.
    Jobs(Vec<super::units::JobOutcome>),
    SystemState(crate::units::status::SystemState),
    /// The answer to `Request::Journal` (and each batch after it with `follow`).
    Journal(Vec<crate::units::status::JournalEntry>),
}

fn status_value(s: &ServiceStatus) -> Value {
    let mut map = Map::new();
    map.insert("name".into(), s.name.as_str().into());
    map.insert("state".into(), s.state.as_str().into());
    map.insert("pid".into(), s.pid.map_or(Value::Null, Value::from));
    map.insert(
        "uptime_ms".into(),
        s.uptime_ms.map_or(Value::Null, Value::from),
    );
    map.insert("restarts".into(), s.restarts.into());
    let last_exit = match s.last_exit {
        None => Value::Null,
        Some(exit) => {
            let mut e = Map::new();
            match exit {
                ExitInfo::Code(code) => e.insert("code".into(), code.into()),
                ExitInfo::Signal(sig) => e.insert("signal".into(), sig.into()),
            };
            Value::Object(e)
        }
    };
    map.insert("last_exit".into(), last_exit);
    Value::Object(map)
}

/// One response as one `\n`-terminated JSON line, for the server.
pub fn render_response(response: &Response) -> String {
    let mut map = Map::new();
    match response {
        Response::Ok => {
            map.insert("ok".into(), true.into());
        }
        Response::Status(services) => {
            map.insert("ok".into(), true.into());
            let rows = services.iter().map(status_value).collect();
            map.insert("services".into(), Value::Array(rows));
        }
        Response::Error { message } => {
            map.insert("ok".into(), false.into());
            map.insert("error".into(), message.as_str().into());
        }
        Response::Units(_)
        | Response::Jobs(_)
        | Response::SystemState(_)
        | Response::Journal(_) => {
            map.insert("ok".into(), true.into());
            super::units::render_unit_response(response, &mut map);
        }
    }
    line(Value::Object(map))
}

fn parse_exit(value: &Value, context: &str) -> Result<Option<ExitInfo>> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        other => {
            return Err(ProtocolError::WrongType {
                context: context.to_string(),
                field: "last_exit".into(),
                expected: "an object or null",
                found: found(other),
            })
        }
    };
    let f = Fields::new(map, format!("{context}.last_exit"));
    f.allow(&["code", "signal"])?;
    let expected = "a 32-bit integer";
    match (map.contains_key("code"), map.contains_key("signal")) {
        (true, false) => Ok(Some(ExitInfo::Code(f.integer("code", expected)?))),
        (false, true) => Ok(Some(ExitInfo::Signal(f.integer("signal", expected)?))),
        _ => Err(ProtocolError::ExitKind { context: f.context }),
    }
}

fn parse_status(value: &Value, index: usize) -> Result<ServiceStatus> {
    let context = format!("services[{index}]");
    let Value::Object(map) = value else {
        return Err(ProtocolError::WrongType {
            context: "the response".into(),
            field: context,
            expected: "an object",
            found: found(value),
        });
    };
    let f = Fields::new(map, context.as_str());
    f.allow(&["name", "state", "pid", "uptime_ms", "restarts", "last_exit"])?;
    let name = f.string("name")?.to_string();
    let state = f.string("state")?.to_string();
    let pid_expected = "a positive 32-bit integer or null";
    let pid = f.optional_integer::<i32>("pid", pid_expected)?;
    if let Some(p) = pid.filter(|p| *p <= 0) {
        return Err(f.wrong("pid", pid_expected, &p.into()));
    }
    let uptime_ms = f.optional_integer::<u64>("uptime_ms", "an integer >= 0 or null")?;
    let restarts = f.integer::<u32>("restarts", "an integer 0-4294967295")?;
    let last_exit = parse_exit(f.get("last_exit")?, &context)?;
    Ok(ServiceStatus {
        name,
        state,
        pid,
        uptime_ms,
        restarts,
        last_exit,
    })
}

/// Parse one response line (as read by the client; a trailing `\n` is allowed).
pub fn parse_response(line: &[u8]) -> Result<Response> {
    let map = parse_object(line, "response line", MAX_RESPONSE_LINE)?;
    let f = Fields::new(&map, "the response");
    if !f.boolean("ok")? {
        f.allow(&["ok", "error"])?;
        return Ok(Response::Error {
            message: f.string("error")?.to_string(),
        });
    }
    if super::units::PAYLOADS.iter().any(|k| map.contains_key(*k)) {
        return super::units::parse_unit_response(&f);
    }
    f.allow(&["ok", "services"])?;
    match map.get("services") {
        None => Ok(Response::Ok),
        Some(Value::Array(rows)) => {
            let services = rows.iter().enumerate().map(|(i, row)| parse_status(row, i));
            Ok(Response::Status(services.collect::<Result<_>>()?))
        }
        Some(other) => Err(f.wrong("services", "an array", other)),
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
