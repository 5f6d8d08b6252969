//! One service file → a validated [`Service`], with every problem in it at once.
//!
//! Defaults, so that a file with just `command = [...]` does the right thing:
//! restart "always", restart-delay 1s doubling up to restart-delay-max 30s (or up to
//! restart-delay when that is longer and no maximum is given), ready as soon as
//! started, ready checks every 100ms for up to 10s, stop-signal TERM, stop-timeout 5s,
//! log "prefix", not critical, no user/group/working-dir/umask change, no-new-privs off,
//! no sockets to listen on (`listen.rs` has that key's own defaults), fd-store-max 0 (no
//! fd store, as systemd's FileDescriptorStoreMax= default).
//!
//! Zero durations: stop-timeout "0" is allowed (send stop-signal, then SIGKILL at once);
//! restart-delay, restart-delay-max and the ready interval and timeout must be positive
//! (zero would mean a busy loop or a check that can never pass). `ready.interval` is
//! only for ready checks by command; with `notify = true` it is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::{Table, Value};

use super::duration;
use super::error::{ConfigError, Problem};
use super::fields;
use super::listen::{self, Listen};

/// The program a service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run directly: argv[0] is an absolute path or a name looked up in PATH.
    Argv(Vec<String>),
    /// Run with `/bin/sh -c`.
    Shell(String),
}

/// A user or group as written: a name to resolve later, or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSpec {
    Name(String),
    Id(u32),
}

/// The restart policy is the supervisor's own type: one owner for one meaning.
pub use crate::supervisor::service::Restart;

/// When a started service counts as ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// As soon as it has been started.
    Started,
    /// When `command` exits 0; run every `interval`, given up after `timeout`.
    Command {
        command: Command,
        interval: Duration,
        timeout: Duration,
    },
    /// When it sends `READY=1` over `NOTIFY_SOCKET` (sd_notify), within `timeout`.
    Notify { timeout: Duration },
}

/// Where a service's stdout and stderr go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// Each line as `[name] line` on our stdout/stderr.
    Prefix,
    Syslog,
    Inherit,
    None,
    /// Appended to this file.
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub file: PathBuf,
    pub command: Command,
    pub user: Option<IdSpec>,
    pub group: Option<IdSpec>,
    pub restart: Restart,
    pub restart_delay: Duration,
    pub restart_delay_max: Duration,
    pub after: Vec<String>,
    pub ready: Ready,
    pub stop_signal: i32,
    pub stop_timeout: Duration,
    pub log: LogTarget,
    pub critical: bool,
    pub working_dir: Option<PathBuf>,
    pub env: BTreeMap<String, String>,
    pub umask: Option<u32>,
    pub no_new_privs: bool,
    /// Sockets the init binds and passes to it (sd_listen_fds), in the order given.
    pub listen: Vec<Listen>,
    /// How many descriptors it may keep in the init with sd_notify FDSTORE=1 (0: none).
    pub fd_store_max: u32,
}

pub const DEFAULT_RESTART_DELAY: Duration = Duration::from_secs(1);
pub const DEFAULT_RESTART_DELAY_MAX: Duration = Duration::from_secs(30);
pub const DEFAULT_READY_INTERVAL: Duration = Duration::from_millis(100);
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_STOP_SIGNAL: i32 = 15;
/// The largest fd-store-max.
pub const FD_STORE_MAX: u32 = 4096;

/// The keys of a service file.
pub const KEYS: &[&str] = &[
    "after",
    "command",
    "critical",
    "env",
    "fd-store-max",
    "group",
    "listen",
    "log",
    "no-new-privs",
    "ready",
    "restart",
    "restart-delay",
    "restart-delay-max",
    "stop-signal",
    "stop-timeout",
    "umask",
    "user",
    "working-dir",
];

/// The keys of the `ready` table.
pub const READY_KEYS: &[&str] = &["command", "interval", "notify", "timeout"];

/// Whether `name` can name a service: letters, digits, `-`, `_`, `.`, `@`, not starting
/// with `.`, at most 64 bytes. It shows in log prefixes and control commands.
pub fn valid_name(name: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
    !name.is_empty() && name.len() <= 64 && !name.starts_with('.') && name.chars().all(ok)
}

/// Collects the problems of one file.
struct Checker<'a> {
    file: &'a Path,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn report(&mut self, key: &str, problem: Problem) {
        self.errors
            .push(ConfigError::new(self.file, Some(key), problem));
    }

    /// `parse` applied to the value of `key`, `default` when the key is absent; `None`
    /// (and a reported problem) when the value is bad.
    fn get<T>(
        &mut self,
        table: &Table,
        key: &str,
        default: T,
        parse: impl FnOnce(&Value) -> Result<T, Problem>,
    ) -> Option<T> {
        match table.get(key).map(parse) {
            None => Some(default),
            Some(Ok(v)) => Some(v),
            Some(Err(problem)) => {
                self.report(key, problem);
                None
            }
        }
    }
}

/// Parse and check the service `name` from `text`, the contents of `file`. `exists`
/// tells whether a program (an absolute path, or a name to look up in PATH) exists.
pub fn parse_service(
    name: &str,
    file: &Path,
    text: &str,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Service, Vec<ConfigError>> {
    let mut c = Checker {
        file,
        errors: Vec::new(),
    };
    if !valid_name(name) {
        let problem = Problem::BadName {
            name: name.to_owned(),
        };
        c.errors.push(ConfigError::new(file, None, problem));
    }
    let table = match text.parse::<Table>() {
        Ok(table) => table,
        Err(e) => {
            let (line, column) = line_column(text, e.span().map_or(0, |s| s.start));
            let message = e.message().trim().replace('\n', "; ");
            let problem = Problem::Syntax {
                line,
                column,
                message,
            };
            c.errors.push(ConfigError::new(file, None, problem));
            return Err(c.errors);
        }
    };
    for key in table.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        c.report(key, Problem::UnknownKey { allowed: KEYS });
    }

    let command = match table.get("command").map(fields::command) {
        None => {
            let hint = "every service needs one, like command = [\"/usr/sbin/crond\", \"-f\"]";
            c.report("command", Problem::Missing { hint });
            None
        }
        Some(Ok(command)) => Some(command),
        Some(Err(problem)) => {
            c.report("command", problem);
            None
        }
    };
    if let Some(problem) = command
        .as_ref()
        .and_then(|cmd| fields::binary_problem(cmd, exists))
    {
        c.report("command", problem);
    }
    let user = c.get(&table, "user", None, |v| {
        fields::id(v, "user", "passwd").map(Some)
    });
    let group = c.get(&table, "group", None, |v| {
        fields::id(v, "group", "group").map(Some)
    });
    let restart = c.get(&table, "restart", Restart::Always, fields::restart);
    let (delay, delay_max) = restart_delays(&mut c, &table);
    let after = match table.get("after").map(|v| fields::after(v, name)) {
        None => Some(Vec::new()),
        Some(Ok((names, problems))) => {
            let clean = problems.is_empty();
            problems.into_iter().for_each(|p| c.report("after", p));
            clean.then_some(names)
        }
        Some(Err(problem)) => {
            c.report("after", problem);
            None
        }
    };
    let ready = match table.get("ready") {
        None => Some(Ready::Started),
        Some(v) => ready(&mut c, v, exists),
    };
    let stop_signal = c.get(&table, "stop-signal", DEFAULT_STOP_SIGNAL, fields::signal);
    let stop_timeout = c.get(&table, "stop-timeout", DEFAULT_STOP_TIMEOUT, |v| {
        fields::duration(v, false)
    });
    let log = c.get(&table, "log", LogTarget::Prefix, fields::log);
    let critical = c.get(&table, "critical", false, fields::boolean);
    let working_dir = c.get(&table, "working-dir", None, |v| {
        fields::absolute_path(v).map(Some)
    });
    let env = match table.get("env").map(fields::env) {
        None => Some(BTreeMap::new()),
        Some(Ok((vars, problems))) => {
            let clean = problems.is_empty();
            problems.into_iter().for_each(|(k, p)| c.report(&k, p));
            clean.then_some(vars)
        }
        Some(Err(problem)) => {
            c.report("env", problem);
            None
        }
    };
    let umask = c.get(&table, "umask", None, |v| fields::umask(v).map(Some));
    let no_new_privs = c.get(&table, "no-new-privs", false, fields::boolean);
    let listen = match table.get("listen").map(|v| listen::listen(v, name)) {
        None => Some(Vec::new()),
        Some(Ok((sockets, problems))) => {
            let clean = problems.is_empty();
            problems.into_iter().for_each(|(k, p)| c.report(&k, p));
            clean.then_some(sockets)
        }
        Some(Err(problem)) => {
            c.report("listen", problem);
            None
        }
    };
    let fd_store_max = c.get(&table, "fd-store-max", 0, fields::fd_store_max);

    let service = (|| {
        Some(Service {
            name: name.to_owned(),
            file: file.to_owned(),
            command: command?,
            user: user?,
            group: group?,
            restart: restart?,
            restart_delay: delay?,
            restart_delay_max: delay_max?,
            after: after?,
            ready: ready?,
            stop_signal: stop_signal?,
            stop_timeout: stop_timeout?,
            log: log?,
            critical: critical?,
            working_dir: working_dir?,
            env: env?,
            umask: umask?,
            no_new_privs: no_new_privs?,
            listen: listen?,
            fd_store_max: fd_store_max?,
        })
    })();
    match service {
        Some(service) if c.errors.is_empty() => Ok(service),
        _ => Err(c.errors),
    }
}

/// restart-delay and restart-delay-max, the maximum at least the delay.
fn restart_delays(c: &mut Checker, table: &Table) -> (Option<Duration>, Option<Duration>) {
    let nonzero = |v: &Value| fields::duration(v, true);
    let delay = c.get(table, "restart-delay", DEFAULT_RESTART_DELAY, nonzero);
    let default_max = delay.map_or(DEFAULT_RESTART_DELAY_MAX, |d| {
        d.max(DEFAULT_RESTART_DELAY_MAX)
    });
    let max = c.get(table, "restart-delay-max", default_max, nonzero);
    if let (Some(d), Some(m)) = (delay, max) {
        if m < d {
            let problem = Problem::DelayMaxBelowDelay {
                max: duration::format(m),
                delay: duration::format(d),
            };
            c.report("restart-delay-max", problem);
            return (delay, None);
        }
    }
    (delay, max)
}

/// The `ready` table: `{ command = ..., interval, timeout }` or `{ notify = true, timeout }`.
fn ready(c: &mut Checker, value: &Value, exists: &dyn Fn(&str) -> bool) -> Option<Ready> {
    let Some(table) = value.as_table() else {
        let problem = Problem::WrongType {
            expected: "a table like { command = [...], timeout = \"10s\" }",
            found: super::error::Kind::of(value),
        };
        c.report("ready", problem);
        return None;
    };
    let before = c.errors.len();
    for key in table.keys().filter(|k| !READY_KEYS.contains(&k.as_str())) {
        c.report(
            &format!("ready.{key}"),
            Problem::UnknownKey {
                allowed: READY_KEYS,
            },
        );
    }
    let sub = |c: &mut Checker, key: &str, problem| c.report(&format!("ready.{key}"), problem);
    let command = match table.get("command").map(fields::command) {
        Some(Ok(cmd)) => {
            if let Some(problem) = fields::binary_problem(&cmd, exists) {
                sub(c, "command", problem);
            }
            Some(cmd)
        }
        Some(Err(problem)) => {
            sub(c, "command", problem);
            None
        }
        None => None,
    };
    let notify = match table.get("notify").map(fields::boolean) {
        None => Some(false),
        Some(Ok(b)) => Some(b),
        Some(Err(problem)) => {
            sub(c, "notify", problem);
            None
        }
    };
    let nonzero = |v: &Value| fields::duration(v, true);
    let interval = table.get("interval").map(nonzero);
    if let Some(Err(problem)) = &interval {
        sub(c, "interval", problem.clone());
    }
    let timeout = table.get("timeout").map(nonzero);
    if let Some(Err(problem)) = &timeout {
        sub(c, "timeout", problem.clone());
    }
    let timeout = timeout
        .and_then(Result::ok)
        .unwrap_or(DEFAULT_READY_TIMEOUT);
    let has_command = table.contains_key("command");
    if !has_command && notify == Some(true) && interval.is_some() {
        sub(c, "interval", Problem::IntervalWithoutCommand);
    }
    match (has_command, notify) {
        (true, Some(true)) => c.report("ready", Problem::ReadyBoth),
        (false, Some(false)) => c.report("ready", Problem::ReadyNeedsOne),
        _ => {}
    }
    if c.errors.len() != before {
        return None;
    }
    Some(match command {
        Some(command) => Ready::Command {
            command,
            interval: interval
                .and_then(Result::ok)
                .unwrap_or(DEFAULT_READY_INTERVAL),
            timeout,
        },
        None => Ready::Notify { timeout },
    })
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
