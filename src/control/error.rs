//! Why a control line or a `ctl` command line was refused: one line each, naming the field
//! and what to do.

use super::CTL_USAGE;

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
    #[error(
        "invalid unit name {name:?}: use 1-255 printable characters without '/', e.g. cron.service"
    )]
    BadUnitName { name: String },
    #[error("unknown job verb {verb:?}: use start, stop, restart, try-restart, reload, reload-or-restart, try-reload-or-restart, reset-failed or kill")]
    BadVerb { verb: String },
    #[error("unknown kill target {whom:?}: use main, control or all")]
    BadWhom { whom: String },
    #[error("unknown job result {result:?}: use done, failed, canceled, timeout, dependency, skipped, not-found, not-loaded, no-reload or masked")]
    BadJobResult { result: String },
    #[error("unknown system state {state:?}: use starting, running, degraded or stopping")]
    BadSystemState { state: String },
    #[error("the init refused: {message}")]
    Refused { message: String },
    #[error("bad {field} {value:?} in a descriptor hand-over: use {expected}")]
    BadHandValue {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "the response carries {found}: send exactly one of units, jobs, system_state, journal"
    )]
    Payloads { found: String },
}

/// Why the words after `rich-init ctl` were refused: one line that ends with the usage.
#[derive(Debug, thiserror::Error)]
pub enum CtlUsageError {
    #[error("ctl: no command given; {CTL_USAGE}")]
    NoCommand,
    #[error("ctl: unknown command {0:?}; {CTL_USAGE}")]
    UnknownCommand(String),
    #[error("ctl: wrong arguments for {0:?}; {CTL_USAGE}")]
    WrongArguments(String),
    /// A bad service name, signal or exit code.
    #[error("ctl: {0}; {CTL_USAGE}")]
    Value(#[from] ProtocolError),
}

impl CtlUsageError {
    /// `rich-init ctl`'s exit code for bad arguments.
    pub fn exit_code(&self) -> i32 {
        2
    }
}
