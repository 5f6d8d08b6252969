//! One function per kind of value in a service file: TOML value → typed value, or the
//! problem with it. Defaults and cross-key rules live in `service.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use toml::Value;

use super::duration;
use super::error::{Kind, Problem};
use super::service::{valid_name, Command, IdSpec, LogTarget, Restart};

const COMMAND_HINT: &str =
    "give the program and its arguments, like command = [\"/usr/sbin/crond\", \"-f\"]";

fn wrong(expected: &'static str, value: &Value) -> Problem {
    Problem::WrongType {
        expected,
        found: Kind::of(value),
    }
}

fn no_nul(text: &str) -> Result<(), Problem> {
    if text.contains('\0') {
        return Err(Problem::Nul);
    }
    Ok(())
}

/// A string without NUL bytes.
pub fn string<'v>(value: &'v Value, expected: &'static str) -> Result<&'v str, Problem> {
    let text = value.as_str().ok_or_else(|| wrong(expected, value))?;
    no_nul(text)?;
    Ok(text)
}

pub fn boolean(value: &Value) -> Result<bool, Problem> {
    value.as_bool().ok_or_else(|| wrong("true or false", value))
}

/// `command`: an argv list, or a string for `/bin/sh -c`.
pub fn command(value: &Value) -> Result<Command, Problem> {
    const EXPECTED: &str = "an array of strings or a string";
    match value {
        Value::String(s) => {
            no_nul(s)?;
            if s.trim().is_empty() {
                return Err(Problem::Empty { hint: COMMAND_HINT });
            }
            Ok(Command::Shell(s.clone()))
        }
        Value::Array(items) => {
            let mut argv = Vec::with_capacity(items.len());
            for item in items {
                let arg = item.as_str().ok_or_else(|| wrong(EXPECTED, item))?;
                no_nul(arg)?;
                argv.push(arg.to_owned());
            }
            match argv.first() {
                Some(first) if !first.is_empty() => Ok(Command::Argv(argv)),
                _ => Err(Problem::Empty { hint: COMMAND_HINT }),
            }
        }
        other => Err(wrong(EXPECTED, other)),
    }
}

/// The problem with a command's program, if it has one: argv[0] must be an absolute
/// path or a bare name, and `exists` must know it; a shell command needs `/bin/sh`.
pub fn binary_problem(command: &Command, exists: &dyn Fn(&str) -> bool) -> Option<Problem> {
    let binary = match command {
        Command::Argv(argv) => argv.first().map(String::as_str).unwrap_or_default(),
        Command::Shell(_) => "/bin/sh",
    };
    if binary.contains('/') && !binary.starts_with('/') {
        return Some(Problem::RelativeBinary {
            binary: binary.to_owned(),
        });
    }
    (!exists(binary)).then(|| Problem::MissingBinary {
        binary: binary.to_owned(),
    })
}

/// A duration string; `nonzero` where zero makes no sense.
pub fn duration(value: &Value, nonzero: bool) -> Result<Duration, Problem> {
    let text = string(value, "a duration string like \"5s\"")?;
    let parsed = if nonzero {
        duration::parse_nonzero(text)
    } else {
        duration::parse(text)
    };
    parsed.map_err(Problem::BadDuration)
}

pub fn restart(value: &Value) -> Result<Restart, Problem> {
    const ALLOWED: &[&str] = &["always", "on-failure", "never"];
    match string(value, "a string")? {
        "always" => Ok(Restart::Always),
        "on-failure" => Ok(Restart::OnFailure),
        "never" => Ok(Restart::Never),
        other => Err(Problem::NotOneOf {
            value: other.to_owned(),
            allowed: ALLOWED,
        }),
    }
}

pub fn log(value: &Value) -> Result<LogTarget, Problem> {
    const ALLOWED: &[&str] = &["prefix", "syslog", "inherit", "none"];
    match string(value, "a string")? {
        "prefix" => Ok(LogTarget::Prefix),
        "syslog" => Ok(LogTarget::Syslog),
        "inherit" => Ok(LogTarget::Inherit),
        "none" => Ok(LogTarget::None),
        path if path.starts_with('/') => Ok(LogTarget::File(PathBuf::from(path))),
        other => Err(Problem::NotOneOfOrPath {
            value: other.to_owned(),
            allowed: ALLOWED,
        }),
    }
}

/// A signal name ("TERM", "SIGHUP", "RTMIN+1") or number.
pub fn signal(value: &Value) -> Result<i32, Problem> {
    match value {
        Value::String(s) => {
            crate::signame::parse(s).ok_or_else(|| Problem::BadSignal { value: s.clone() })
        }
        Value::Integer(n) => i32::try_from(*n)
            .ok()
            .filter(|n| (1..=crate::signame::SIGRTMAX).contains(n))
            .ok_or(Problem::BadSignalNumber { value: *n }),
        other => Err(wrong("a signal name or number", other)),
    }
}

/// `user` or `group`: a name, or a number (as an integer or a string of digits).
/// `what` is "user" or "group"; `file` is "passwd" or "group".
pub fn id(value: &Value, what: &'static str, file: &'static str) -> Result<IdSpec, Problem> {
    let number = |n: Option<u32>, text: String| {
        n.filter(|n| *n != u32::MAX)
            .map(IdSpec::Id)
            .ok_or(Problem::BadIdNumber { value: text, what })
    };
    match value {
        Value::Integer(n) => number(u32::try_from(*n).ok(), n.to_string()),
        Value::String(s) => {
            no_nul(s)?;
            if s.is_empty() {
                return Err(Problem::Empty {
                    hint: "give a name or a number, or leave the key out",
                });
            }
            if s.bytes().all(|b| b.is_ascii_digit()) {
                return number(s.parse().ok(), s.clone());
            }
            let bad = |c: char| c == ':' || c == '/' || c.is_whitespace() || c.is_control();
            if s.contains(bad) {
                return Err(Problem::BadIdName {
                    value: s.clone(),
                    what,
                    file,
                });
            }
            Ok(IdSpec::Name(s.clone()))
        }
        other => Err(wrong("a name or a number", other)),
    }
}

/// `fd-store-max`: an integer from 0 to [`super::service::FD_STORE_MAX`].
pub fn fd_store_max(value: &Value) -> Result<u32, Problem> {
    let n = value
        .as_integer()
        .ok_or_else(|| wrong("an integer", value))?;
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= super::service::FD_STORE_MAX)
        .ok_or(Problem::BadFdStoreMax { value: n })
}

/// An absolute path.
pub fn absolute_path(value: &Value) -> Result<PathBuf, Problem> {
    let text = string(value, "a string")?;
    if !text.starts_with('/') {
        return Err(Problem::NotAbsolute {
            value: text.to_owned(),
        });
    }
    Ok(PathBuf::from(text))
}

/// An octal umask string: one to four octal digits, at most 0777.
pub fn umask(value: &Value) -> Result<u32, Problem> {
    let text = string(value, "an octal string like \"022\"")?;
    let bad = || Problem::BadUmask {
        value: text.to_owned(),
    };
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(bad());
    }
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(bad)
}

/// `after`: service names, each once, in the order given; the service's own name is a
/// problem. Returns the names and the problems found (each with its entry).
pub fn after(value: &Value, own: &str) -> Result<(Vec<String>, Vec<Problem>), Problem> {
    const EXPECTED: &str = "an array of service names";
    let items = value.as_array().ok_or_else(|| wrong(EXPECTED, value))?;
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for item in items {
        let Some(name) = item.as_str() else {
            problems.push(wrong(EXPECTED, item));
            continue;
        };
        if !valid_name(name) {
            problems.push(Problem::BadAfterName {
                value: name.to_owned(),
            });
        } else if name == own {
            problems.push(Problem::SelfAfter {
                name: name.to_owned(),
            });
        } else if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    Ok((names, problems))
}

/// `env`: a table of string values. Returns the variables and the problems found, each
/// with its dotted key (`env.NAME`).
/// Variables, and problems each with its dotted key.
pub type EnvParts = (BTreeMap<String, String>, Vec<(String, Problem)>);

pub fn env(value: &Value) -> Result<EnvParts, Problem> {
    let table = value
        .as_table()
        .ok_or_else(|| wrong("a table like { NAME = \"value\" }", value))?;
    let mut vars = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, value) in table {
        let key = format!("env.{name}");
        if name.is_empty() || name.contains(['=', '\0']) {
            problems.push((
                key,
                Problem::BadEnvName {
                    value: name.clone(),
                },
            ));
            continue;
        }
        match string(value, "a string (quote numbers and booleans)") {
            Ok(text) => {
                vars.insert(name.clone(), text.to_owned());
            }
            Err(problem) => problems.push((key, problem)),
        }
    }
    Ok((vars, problems))
}
