//! The control-socket protocol: one JSON request line in, one JSON response line out.
//!
//! Requests: `{"cmd":"status"}`, `{"cmd":"start","service":"crond"}` (also `stop`,
//! `restart`), `{"cmd":"signal","service":"crond","signal":"HUP"}` (a name or a number),
//! `{"cmd":"shutdown"}` or `{"cmd":"shutdown","code":3}`.
//! Responses: `{"ok":true}`, `{"ok":false,"error":"..."}`, or `{"ok":true,"services":[...]}`.
//!
//! Parsing is strict (unknown fields, wrong types and bad values are errors, each naming its
//! field) and total: no input makes it panic. JSON values are inspected by hand, without
//! serde derive, so that every message can say which field failed.

use serde_json::{Map, Value};

use crate::signame;

/// The longest request line the server reads, without its `\n`; longer input is cut off.
pub const MAX_LINE: usize = 4096;
/// The longest response line the client reads, without its `\n`.
pub const MAX_RESPONSE_LINE: usize = 1 << 20;

/// What `rich-init ctl` asks the running init to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Status,
    Start { service: String },
    Stop { service: String },
    Restart { service: String },
    Signal { service: String, signal: i32 },
    Shutdown { code: Option<u8> },
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
        }
    }
}

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
    Error { message: String },
}

/// Why a request or response line was refused. One line each; it names the field.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error(
        "{what} is {len} bytes, over the {limit}-byte limit: send one short JSON object per line"
    )]
    TooLong {
        what: &'static str,
        len: usize,
        limit: usize,
    },
    #[error("{what} is empty: send one JSON object per line, e.g. {{\"cmd\":\"status\"}}")]
    Empty { what: &'static str },
    #[error("{what} is not valid UTF-8 (bad byte at offset {offset}): send JSON text")]
    NotUtf8 { what: &'static str, offset: usize },
    #[error("{what} is not valid JSON ({source}): send one JSON object per line")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("{what} must be a JSON object, not {found}: send e.g. {{\"cmd\":\"status\"}}")]
    NotObject { what: &'static str, found: String },
    #[error("{context} has no field \"{field}\": add it")]
    MissingField { context: String, field: String },
    #[error("{context} has an unknown field {field:?}: allowed are {allowed}")]
    UnknownField {
        context: String,
        field: String,
        allowed: String,
    },
    #[error("field \"{field}\" in {context} must be {expected}, not {found}")]
    WrongType {
        context: String,
        field: String,
        expected: &'static str,
        found: String,
    },
    #[error("{context} must have exactly one of the fields \"code\" and \"signal\"")]
    ExitKind { context: String },
    #[error("unknown cmd {cmd:?}: use status, start, stop, restart, signal or shutdown")]
    UnknownCmd { cmd: String },
    #[error(
        "invalid service name {name:?}: use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'"
    )]
    BadServiceName { name: String },
    #[error("unknown signal {signal:?}: use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64")]
    BadSignal { signal: String },
    #[error("bad exit code {code}: use an integer 0-255")]
    BadCode { code: String },
}

type Result<T> = std::result::Result<T, ProtocolError>;

/// Echoed input is cut to this many characters so that every message stays one short line.
const ECHO_MAX: usize = 64;

fn echo(text: &str) -> String {
    if text.chars().count() <= ECHO_MAX {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(ECHO_MAX).collect();
    cut.push_str("...");
    cut
}

/// A JSON value described for a message: its type, or the number itself.
fn found(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => echo(&n.to_string()),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// An integer JSON value that fits `T`.
fn int_of<T: TryFrom<i64> + TryFrom<u64>>(value: &Value) -> Option<T> {
    if let Some(n) = value.as_u64() {
        return T::try_from(n).ok();
    }
    value.as_i64().and_then(|n| T::try_from(n).ok())
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

/// One line (a trailing `\n` allowed) → one JSON object, with its limits checked first.
fn parse_object(line: &[u8], what: &'static str, limit: usize) -> Result<Map<String, Value>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    if line.len() > limit {
        return Err(ProtocolError::TooLong {
            what,
            len: line.len(),
            limit,
        });
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(ProtocolError::Empty { what });
    }
    let text = std::str::from_utf8(line).map_err(|e| ProtocolError::NotUtf8 {
        what,
        offset: e.valid_up_to(),
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ProtocolError::NotObject {
            what,
            found: found(&other),
        }),
        Err(source) => Err(ProtocolError::Json { what, source }),
    }
}

/// A JSON object under inspection, with the words that name it in messages.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    context: String,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>, context: impl Into<String>) -> Self {
        Fields {
            map,
            context: context.into(),
        }
    }

    fn allow(&self, allowed: &[&str]) -> Result<()> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(field) => Err(ProtocolError::UnknownField {
                context: self.context.clone(),
                field: echo(field),
                allowed: allowed.join(", "),
            }),
        }
    }

    fn missing(&self, field: &str) -> ProtocolError {
        ProtocolError::MissingField {
            context: self.context.clone(),
            field: field.to_string(),
        }
    }

    fn get(&self, field: &str) -> Result<&'a Value> {
        self.map.get(field).ok_or_else(|| self.missing(field))
    }

    fn wrong(&self, field: &str, expected: &'static str, value: &Value) -> ProtocolError {
        ProtocolError::WrongType {
            context: self.context.clone(),
            field: field.to_string(),
            expected,
            found: found(value),
        }
    }

    fn string(&self, field: &'static str) -> Result<&'a str> {
        match self.get(field)? {
            Value::String(s) => Ok(s),
            other => Err(self.wrong(field, "a string", other)),
        }
    }

    fn boolean(&self, field: &'static str) -> Result<bool> {
        match self.get(field)? {
            Value::Bool(b) => Ok(*b),
            other => Err(self.wrong(field, "true or false", other)),
        }
    }

    /// An integer that fits `T`.
    fn integer<T: TryFrom<i64> + TryFrom<u64>>(
        &self,
        field: &str,
        expected: &'static str,
    ) -> Result<T> {
        let value = self.get(field)?;
        int_of(value).ok_or_else(|| self.wrong(field, expected, value))
    }

    /// An integer that fits `T`, or `null`.
    fn optional_integer<T: TryFrom<i64> + TryFrom<u64>>(
        &self,
        field: &'static str,
        expected: &'static str,
    ) -> Result<Option<T>> {
        match self.get(field)? {
            Value::Null => Ok(None),
            value => int_of(value)
                .map(Some)
                .ok_or_else(|| self.wrong(field, expected, value)),
        }
    }

    fn service(&self) -> Result<String> {
        let name = self.string("service")?;
        check_service_name(name)?;
        Ok(name.to_string())
    }
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
        "start" | "stop" | "restart" => {
            f.allow(&["cmd", "service"])?;
            let service = f.service()?;
            match cmd {
                "start" => Request::Start { service },
                "stop" => Request::Stop { service },
                _ => Request::Restart { service },
            }
        }
        "signal" => {
            f.allow(&["cmd", "service", "signal"])?;
            let service = f.service()?;
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
        other => return Err(ProtocolError::UnknownCmd { cmd: echo(other) }),
    };
    Ok(request)
}

/// A signal as the protocol writes it: `HUP`, `RTMIN+3`; a bare number if it has no name.
fn signal_text(signal: i32) -> String {
    let name = signame::name(signal);
    name.strip_prefix("SIG").unwrap_or(&name).to_string()
}

fn line(value: Value) -> String {
    let mut text = value.to_string();
    text.push('\n');
    text
}

/// One request as one `\n`-terminated JSON line, for the client.
pub fn render_request(request: &Request) -> String {
    let mut map = Map::new();
    map.insert("cmd".into(), request.cmd().into());
    match request {
        Request::Status | Request::Shutdown { code: None } => {}
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
    }
    line(Value::Object(map))
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
#[path = "protocol_tests.rs"]
mod tests;
