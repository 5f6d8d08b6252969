//! Config errors: one line each, naming the file, the key and what to do.

use std::fmt;
use std::path::PathBuf;

use super::duration::DurationError;
use crate::supervisor::order::Cycle;

/// One problem in one service file. Renders as one line:
/// `services.d/crond.toml: key "restart": "sometimes" is not one of always, on-failure, never`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}{problem}", file.display(), key_text(.key))]
pub struct ConfigError {
    pub file: PathBuf,
    /// The key, dotted for nested ones (`ready.timeout`, `env.PATH`); `None` for
    /// problems of the whole file.
    pub key: Option<String>,
    pub problem: Problem,
}

fn key_text(key: &Option<String>) -> String {
    match key {
        Some(k) => format!("key {k:?}: "),
        None => String::new(),
    }
}

/// A TOML value's type, for "expected …, found …".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
    Float,
    Boolean,
    Datetime,
    Array,
    Table,
}

impl Kind {
    pub fn of(value: &toml::Value) -> Kind {
        match value {
            toml::Value::String(_) => Kind::String,
            toml::Value::Integer(_) => Kind::Integer,
            toml::Value::Float(_) => Kind::Float,
            toml::Value::Boolean(_) => Kind::Boolean,
            toml::Value::Datetime(_) => Kind::Datetime,
            toml::Value::Array(_) => Kind::Array,
            toml::Value::Table(_) => Kind::Table,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::String => "a string",
            Kind::Integer => "an integer",
            Kind::Float => "a float",
            Kind::Boolean => "a boolean",
            Kind::Datetime => "a date-time",
            Kind::Array => "an array",
            Kind::Table => "a table",
        })
    }
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("cannot read the directory: {0}; create it or point --services-dir at one")]
    ReadDir(String),
    #[error("cannot read the file: {0}; fix its permissions or remove it")]
    ReadFile(String),
    #[error(
        "{name:?} is not a usable service name; name the file with letters, digits, '-', '_', \
         '.' or '@' before \".toml\""
    )]
    BadName { name: String },
    #[error("line {line}, column {column}: {message}; fix the TOML syntax")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("unknown key; the keys are {}", .allowed.join(", "))]
    UnknownKey { allowed: &'static [&'static str] },
    #[error("expected {expected}, found {found}")]
    WrongType { expected: &'static str, found: Kind },
    #[error("missing; {hint}")]
    Missing { hint: &'static str },
    #[error("is empty; {hint}")]
    Empty { hint: &'static str },
    #[error("contains a NUL byte; remove it")]
    Nul,
    #[error("{0}")]
    BadDuration(DurationError),
    #[error("{value:?} is not one of {}", .allowed.join(", "))]
    NotOneOf {
        value: String,
        allowed: &'static [&'static str],
    },
    #[error("{value:?} is not one of {}, or an absolute path", .allowed.join(", "))]
    NotOneOfOrPath {
        value: String,
        allowed: &'static [&'static str],
    },
    #[error("{value:?} is not a signal; give a name like \"TERM\" or \"SIGHUP\", or a number")]
    BadSignal { value: String },
    #[error("{value} is not a signal number; signals are 1 to 64")]
    BadSignalNumber { value: i64 },
    #[error("{value:?} is not an absolute path; start it with /")]
    NotAbsolute { value: String },
    #[error("{value:?} is not an octal umask; write three or four octal digits, like \"022\"")]
    BadUmask { value: String },
    #[error("{value:?} is not a {what} name or number; give a name from /etc/{file} or a number")]
    BadIdName {
        value: String,
        what: &'static str,
        file: &'static str,
    },
    #[error("{value} is not a valid {what} id; ids are 0 to 4294967294")]
    BadIdNumber { value: String, what: &'static str },
    #[error("{value:?} is not a listen address ({why}); write {forms}")]
    BadListenAddress {
        value: String,
        why: &'static str,
        forms: &'static str,
    },
    #[error("{value} is listed twice; keep one")]
    DuplicateListen { value: String },
    #[error(
        "{value} is also in service {service:?} ({}); give each address to one service, or \
         set reuse-port = true in both",
        .file.display()
    )]
    ListenShared {
        value: String,
        service: String,
        file: PathBuf,
    },
    #[error("{value} is not a backlog; give a positive integer like 4096")]
    BadBacklog { value: i64 },
    #[error("applies to {what} addresses only; remove it")]
    ListenOptionNotFor { what: &'static str },
    #[error("{value:?} is not an octal mode; write three or four octal digits, like \"0660\"")]
    BadSocketMode { value: String },
    #[error(
        "{value:?} is not a descriptor name; names are 1 to 255 ASCII characters without ':' \
         or control characters"
    )]
    BadFdName { value: String },
    #[error("{value} is not a descriptor count; give an integer from 0 to 4096")]
    BadFdStoreMax { value: i64 },
    #[error("{value:?} is not a variable name; names have no '=' and are not empty")]
    BadEnvName { value: String },
    #[error("{value:?} is not a service name; service names are file names without \".toml\"")]
    BadAfterName { value: String },
    #[error(
        "{max} is shorter than restart-delay {delay}; make restart-delay-max at least \
         restart-delay"
    )]
    DelayMaxBelowDelay { max: String, delay: String },
    #[error("needs either command = [...] or notify = true")]
    ReadyNeedsOne,
    #[error("has both command and notify; keep one")]
    ReadyBoth,
    #[error("applies to ready checks by command only; remove it")]
    IntervalWithoutCommand,
    #[error(
        "{binary:?} is not an absolute path or a name; give the program's absolute path, \
         like \"/usr/sbin/crond\""
    )]
    RelativeBinary { binary: String },
    #[error(
        "program {binary:?} not found; install it in the image or fix the path (names \
         without / are looked up in PATH)"
    )]
    MissingBinary { binary: String },
    #[error("the service lists itself; remove {name:?}")]
    SelfAfter { name: String },
    #[error(
        "{name:?} is not a service (no services.d/{name}.toml and no preset of that name); \
         remove it or add the service"
    )]
    UnknownService { name: String },
    #[error("cycle {cycle} (each starts after the next); remove one of these entries")]
    Cycle { cycle: Cycle },
    #[error("service {name:?} is already defined in {}; keep one of them", .first.display())]
    Duplicate { name: String, first: PathBuf },
    #[error(
        "no such preset; the presets are {}, or write services.d/{name}.toml",
        .known.join(", ")
    )]
    UnknownPreset {
        name: String,
        known: &'static [&'static str],
    },
    #[error("needs {needs}; install {install}")]
    PresetUnavailable {
        needs: String,
        install: &'static str,
    },
}

impl ConfigError {
    pub fn new(file: impl Into<PathBuf>, key: Option<&str>, problem: Problem) -> ConfigError {
        ConfigError {
            file: file.into(),
            key: key.map(str::to_owned),
            problem,
        }
    }
}

/// Errors in a stable order: by file, then key (problems of the whole file first);
/// equal places keep the order in which they were found.
pub fn sort(errors: &mut [ConfigError]) {
    // Insertion sort: stable, and a few hundred bytes of code where slice::sort_by links a
    // few kilobytes per element type; there are never many errors.
    for at in 1..errors.len() {
        let mut j = at;
        while j > 0 {
            let (Some(a), Some(b)) = (errors.get(j - 1), errors.get(j)) else {
                break;
            };
            if (&a.file, &a.key) <= (&b.file, &b.key) {
                break;
            }
            errors.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_each() {
        let e = ConfigError::new(
            "services.d/crond.toml",
            Some("restart"),
            Problem::NotOneOf {
                value: "sometimes".into(),
                allowed: &["always", "on-failure", "never"],
            },
        );
        assert_eq!(
            e.to_string(),
            "services.d/crond.toml: key \"restart\": \"sometimes\" is not one of always, \
             on-failure, never"
        );
        let e = ConfigError::new(
            "x.toml",
            None,
            Problem::ReadFile("Permission denied".into()),
        );
        assert_eq!(
            e.to_string(),
            "x.toml: cannot read the file: Permission denied; fix its permissions or remove it"
        );
    }
}
