//! The unit requests and responses of the control protocol, for the `systemctl` personality
//! (and `journalctl`): the JSON side of [`UnitInfo`], [`JournalEntry`], [`SystemState`] and
//! job outcomes. Strict and total like the rest of the protocol.
//!
//! Requests: `{"cmd":"units","names":[...]}`, `{"cmd":"unit-job","verb":"start",
//! "names":[...],"no_block":false}` (`"verb":"kill"` adds `"signal":"TERM","whom":"all"`),
//! `{"cmd":"daemon-reload"}`, `{"cmd":"system-state"}`,
//! `{"cmd":"journal","unit":null,"lines":10,"follow":false}`.
//! Responses: `{"ok":true,"units":[...]}`, `{"ok":true,"jobs":[{"unit":..,"result":..}]}`
//! (`"result":"not-loaded"` adds `"load_state"`), `{"ok":true,"system_state":"running"}`,
//! `{"ok":true,"journal":[...]}`.

use serde_json::{Map, Value};

use super::json::{echo, found, Fields, Result};
use super::ProtocolError;
use crate::units::status::{JournalEntry, Process, SystemState, UnitInfo};

/// What a `unit-job` request asks for (systemctl's verbs that queue jobs or act on units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobVerb {
    Start,
    Stop,
    Restart,
    TryRestart,
    Reload,
    ReloadOrRestart,
    TryReloadOrRestart,
    ResetFailed,
    /// Send `signal` to the unit's processes; no job, the outcome is Done at once.
    Kill {
        signal: i32,
        whom: KillWhom,
    },
}

/// `systemctl kill --kill-whom=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillWhom {
    Main,
    Control,
    All,
}

impl KillWhom {
    pub fn as_str(self) -> &'static str {
        match self {
            KillWhom::Main => "main",
            KillWhom::Control => "control",
            KillWhom::All => "all",
        }
    }

    pub fn parse(text: &str) -> Option<KillWhom> {
        Some(match text {
            "main" => KillWhom::Main,
            "control" => KillWhom::Control,
            "all" => KillWhom::All,
            _ => return None,
        })
    }
}

const VERBS: [(&str, JobVerb); 8] = [
    ("start", JobVerb::Start),
    ("stop", JobVerb::Stop),
    ("restart", JobVerb::Restart),
    ("try-restart", JobVerb::TryRestart),
    ("reload", JobVerb::Reload),
    ("reload-or-restart", JobVerb::ReloadOrRestart),
    ("try-reload-or-restart", JobVerb::TryReloadOrRestart),
    ("reset-failed", JobVerb::ResetFailed),
];

impl JobVerb {
    /// The word systemctl's command line and its messages use ("Failed to start ...").
    pub fn as_str(self) -> &'static str {
        match self {
            JobVerb::Kill { .. } => "kill",
            other => VERBS
                .iter()
                .find(|(_, v)| *v == other)
                .map_or("kill", |(word, _)| word),
        }
    }

    /// The verb for a word, kill aside (it needs its signal and whom).
    pub fn parse(word: &str) -> Option<JobVerb> {
        VERBS.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
    }
}

/// How one unit's job ended: systemd's job results (org.freedesktop.systemd1(5), JobRemoved),
/// and the refusals that queue no job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    Done,
    Failed,
    Canceled,
    Timeout,
    Dependency,
    Skipped,
    /// No such unit.
    NotFound,
    /// The unit did not load: its load state (`error`, `bad-setting`, ...).
    NotLoaded {
        load_state: String,
    },
    /// Reload asked of a unit that cannot reload (no ExecReload=).
    NoReload,
    Masked,
}

impl JobResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobResult::Done => "done",
            JobResult::Failed => "failed",
            JobResult::Canceled => "canceled",
            JobResult::Timeout => "timeout",
            JobResult::Dependency => "dependency",
            JobResult::Skipped => "skipped",
            JobResult::NotFound => "not-found",
            JobResult::NotLoaded { .. } => "not-loaded",
            JobResult::NoReload => "no-reload",
            JobResult::Masked => "masked",
        }
    }

    fn parse(word: &str, load_state: Option<String>) -> Option<JobResult> {
        Some(match word {
            "done" => JobResult::Done,
            "failed" => JobResult::Failed,
            "canceled" => JobResult::Canceled,
            "timeout" => JobResult::Timeout,
            "dependency" => JobResult::Dependency,
            "skipped" => JobResult::Skipped,
            "not-found" => JobResult::NotFound,
            "not-loaded" => JobResult::NotLoaded {
                load_state: load_state?,
            },
            "no-reload" => JobResult::NoReload,
            "masked" => JobResult::Masked,
            _ => return None,
        })
    }
}

/// One unit's answer to a `unit-job` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    pub unit: String,
    pub result: JobResult,
}

impl JobOutcome {
    pub fn new(unit: impl Into<String>, result: JobResult) -> JobOutcome {
        JobOutcome {
            unit: unit.into(),
            result,
        }
    }
}

impl UnitInfo {
    /// What `Units` answers for a name the init does not know: systemd's defaults for a unit
    /// that failed to load (`LoadState=not-found`, `inactive`, `dead`).
    pub fn not_found(name: &str) -> UnitInfo {
        UnitInfo {
            id: name.to_string(),
            names: vec![name.to_string()],
            load_state: "not-found".into(),
            active_state: "inactive".into(),
            sub_state: "dead".into(),
            ..UnitInfo::default()
        }
    }
}

/// The longest unit name accepted (systemd's UNIT_NAME_MAX).
pub const UNIT_NAME_MAX: usize = 255;

/// A unit name as the protocol carries it: 1-255 printable characters, no `/`. (The init
/// answers "not-found" for a well-formed name it does not know.)
pub fn check_unit_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= UNIT_NAME_MAX
        && !name.contains('/')
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ProtocolError::BadUnitName { name: echo(name) })
    }
}

fn strings(f: &Fields, field: &str) -> Result<Vec<String>> {
    let value = f.get(field)?;
    let Value::Array(items) = value else {
        return Err(f.wrong(field, "an array of strings", value));
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(f.wrong(field, "an array of strings", other)),
        })
        .collect()
}

fn unit_names(f: &Fields) -> Result<Vec<String>> {
    let names = strings(f, "names")?;
    names.iter().try_for_each(|n| check_unit_name(n))?;
    Ok(names)
}

/// A request for one of the unit commands; None for another `cmd`.
pub(super) fn parse_unit_request(cmd: &str, f: &Fields) -> Option<Result<super::Request>> {
    use super::Request;
    Some(match cmd {
        "units" => f.allow(&["cmd", "names"]).and_then(|()| {
            Ok(Request::Units {
                names: unit_names(f)?,
            })
        }),
        "unit-job" => parse_unit_job(f),
        "daemon-reload" => f.allow(&["cmd"]).map(|()| Request::DaemonReload),
        "system-state" => f.allow(&["cmd"]).map(|()| Request::SystemState),
        "journal" => parse_journal_request(f),
        _ => return None,
    })
}

fn parse_unit_job(f: &Fields) -> Result<super::Request> {
    let word = f.string("verb")?;
    let verb = if word == "kill" {
        f.allow(&["cmd", "verb", "names", "no_block", "signal", "whom"])?;
        let signal = match f.get("signal")? {
            Value::String(s) => super::parse_signal(s)?,
            Value::Number(n) => super::parse_signal(&n.to_string())?,
            other => return Err(f.wrong("signal", "a signal name or number", other)),
        };
        let whom = f.string("whom")?;
        let whom =
            KillWhom::parse(whom).ok_or_else(|| ProtocolError::BadWhom { whom: echo(whom) })?;
        JobVerb::Kill { signal, whom }
    } else {
        f.allow(&["cmd", "verb", "names", "no_block"])?;
        JobVerb::parse(word).ok_or_else(|| ProtocolError::BadVerb { verb: echo(word) })?
    };
    Ok(super::Request::UnitJob {
        verb,
        names: unit_names(f)?,
        no_block: f.boolean("no_block")?,
    })
}

fn parse_journal_request(f: &Fields) -> Result<super::Request> {
    f.allow(&["cmd", "unit", "lines", "follow"])?;
    let unit = match f.get("unit")? {
        Value::Null => None,
        Value::String(s) => {
            check_unit_name(s)?;
            Some(s.clone())
        }
        other => return Err(f.wrong("unit", "a unit name or null", other)),
    };
    Ok(super::Request::Journal {
        unit,
        lines: f.optional_integer::<usize>("lines", "an integer >= 0 or null")?,
        follow: f.boolean("follow")?,
    })
}

/// The fields of a unit request, for `render_request`.
pub(super) fn render_unit_request(request: &super::Request, map: &mut Map<String, Value>) {
    use super::Request;
    let names = |names: &[String]| Value::Array(names.iter().map(|n| n.as_str().into()).collect());
    match request {
        Request::Units { names: n } => {
            map.insert("names".into(), names(n));
        }
        Request::UnitJob {
            verb,
            names: n,
            no_block,
        } => {
            map.insert("verb".into(), verb.as_str().into());
            map.insert("names".into(), names(n));
            map.insert("no_block".into(), (*no_block).into());
            if let JobVerb::Kill { signal, whom } = verb {
                map.insert(
                    "signal".into(),
                    super::protocol::signal_text(*signal).into(),
                );
                map.insert("whom".into(), whom.as_str().into());
            }
        }
        Request::Journal {
            unit,
            lines,
            follow,
        } => {
            map.insert(
                "unit".into(),
                unit.as_deref().map_or(Value::Null, Value::from),
            );
            map.insert("lines".into(), lines.map_or(Value::Null, Value::from));
            map.insert("follow".into(), (*follow).into());
        }
        _ => {}
    }
}

fn strs(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| s.as_str().into()).collect())
}

/// One unit as a JSON object.
pub fn unit_value(u: &UnitInfo) -> Value {
    let mut m = Map::new();
    let mut s = |k: &str, v: &str| {
        m.insert(k.into(), v.into());
    };
    s("id", &u.id);
    s("description", &u.description);
    s("load_state", &u.load_state);
    s("active_state", &u.active_state);
    s("sub_state", &u.sub_state);
    s("unit_file_state", &u.unit_file_state);
    s("unit_file_preset", &u.unit_file_preset);
    s("fragment_path", &u.fragment_path);
    s("source_path", &u.source_path);
    s("type", &u.service_type);
    s("restart", &u.restart);
    s("result", &u.result);
    m.insert("names".into(), strs(&u.names));
    m.insert("drop_in_paths".into(), strs(&u.drop_in_paths));
    m.insert("documentation".into(), strs(&u.documentation));
    for (k, v) in [
        ("main_pid", u.main_pid),
        ("control_pid", u.control_pid),
        ("exec_main_pid", u.exec_main_pid),
        ("exec_main_code", u.exec_main_code),
        ("exec_main_status", u.exec_main_status),
    ] {
        m.insert(k.into(), v.into());
    }
    for (k, v) in [
        ("exec_main_start_us", u.exec_main_start_us),
        ("exec_main_exit_us", u.exec_main_exit_us),
        ("active_enter_us", u.active_enter_us),
        ("active_exit_us", u.active_exit_us),
        ("inactive_enter_us", u.inactive_enter_us),
        ("inactive_exit_us", u.inactive_exit_us),
        ("state_change_us", u.state_change_us),
    ] {
        m.insert(k.into(), v.into());
    }
    m.insert("n_restarts".into(), u.n_restarts.into());
    m.insert("can_reload".into(), u.can_reload.into());
    let procs = u.processes.iter().map(|p| {
        let mut pm = Map::new();
        pm.insert("pid".into(), p.pid.into());
        pm.insert("cmdline".into(), p.cmdline.as_str().into());
        Value::Object(pm)
    });
    m.insert("processes".into(), Value::Array(procs.collect()));
    Value::Object(m)
}

const UNIT_FIELDS: [&str; 30] = [
    "id",
    "names",
    "description",
    "load_state",
    "active_state",
    "sub_state",
    "unit_file_state",
    "unit_file_preset",
    "fragment_path",
    "source_path",
    "drop_in_paths",
    "type",
    "restart",
    "main_pid",
    "control_pid",
    "exec_main_pid",
    "exec_main_code",
    "exec_main_status",
    "exec_main_start_us",
    "exec_main_exit_us",
    "result",
    "n_restarts",
    "active_enter_us",
    "active_exit_us",
    "inactive_enter_us",
    "inactive_exit_us",
    "state_change_us",
    "can_reload",
    "documentation",
    "processes",
];

fn object<'a>(value: &'a Value, context: &str, field: String) -> Result<&'a Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ProtocolError::WrongType {
            context: context.to_string(),
            field,
            expected: "an object",
            found: found(other),
        }),
    }
}

fn parse_unit(value: &Value, index: usize) -> Result<UnitInfo> {
    let context = format!("units[{index}]");
    let map = object(value, "the response", context.clone())?;
    let f = Fields::new(map, context.as_str());
    f.allow(&UNIT_FIELDS)?;
    let s = |k: &'static str| f.string(k).map(str::to_string);
    let pid = |k: &str| f.integer::<i32>(k, "a 32-bit integer");
    let us = |k: &str| f.integer::<u64>(k, "an integer >= 0 (microseconds)");
    let procs = match f.get("processes")? {
        Value::Array(items) => items,
        other => return Err(f.wrong("processes", "an array", other)),
    };
    let processes = procs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pctx = format!("{context}.processes[{i}]");
            let pm = object(p, &context, format!("processes[{i}]"))?;
            let pf = Fields::new(pm, pctx);
            pf.allow(&["pid", "cmdline"])?;
            Ok(Process {
                pid: pf.integer("pid", "a 32-bit integer")?,
                cmdline: pf.string("cmdline")?.to_string(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(UnitInfo {
        id: s("id")?,
        names: strings(&f, "names")?,
        description: s("description")?,
        load_state: s("load_state")?,
        active_state: s("active_state")?,
        sub_state: s("sub_state")?,
        unit_file_state: s("unit_file_state")?,
        unit_file_preset: s("unit_file_preset")?,
        fragment_path: s("fragment_path")?,
        source_path: s("source_path")?,
        drop_in_paths: strings(&f, "drop_in_paths")?,
        service_type: s("type")?,
        restart: s("restart")?,
        main_pid: pid("main_pid")?,
        control_pid: pid("control_pid")?,
        exec_main_pid: pid("exec_main_pid")?,
        exec_main_code: pid("exec_main_code")?,
        exec_main_status: pid("exec_main_status")?,
        exec_main_start_us: us("exec_main_start_us")?,
        exec_main_exit_us: us("exec_main_exit_us")?,
        result: s("result")?,
        n_restarts: f.integer("n_restarts", "an integer 0-4294967295")?,
        active_enter_us: us("active_enter_us")?,
        active_exit_us: us("active_exit_us")?,
        inactive_enter_us: us("inactive_enter_us")?,
        inactive_exit_us: us("inactive_exit_us")?,
        state_change_us: us("state_change_us")?,
        can_reload: f.boolean("can_reload")?,
        documentation: strings(&f, "documentation")?,
        processes,
    })
}

/// One journal line as a JSON object.
pub fn journal_value(e: &JournalEntry) -> Value {
    let mut m = Map::new();
    m.insert("time_us".into(), e.time_us.into());
    m.insert("unit".into(), e.unit.as_str().into());
    m.insert("ident".into(), e.ident.as_str().into());
    m.insert("pid".into(), e.pid.into());
    m.insert("message".into(), e.message.as_str().into());
    Value::Object(m)
}

fn parse_journal_entry(value: &Value, index: usize) -> Result<JournalEntry> {
    let context = format!("journal[{index}]");
    let map = object(value, "the response", context.clone())?;
    let f = Fields::new(map, context);
    f.allow(&["time_us", "unit", "ident", "pid", "message"])?;
    Ok(JournalEntry {
        time_us: f.integer("time_us", "an integer >= 0 (microseconds)")?,
        unit: f.string("unit")?.to_string(),
        ident: f.string("ident")?.to_string(),
        pid: f.integer("pid", "a 32-bit integer")?,
        message: f.string("message")?.to_string(),
    })
}

fn outcome_value(o: &JobOutcome) -> Value {
    let mut m = Map::new();
    m.insert("unit".into(), o.unit.as_str().into());
    m.insert("result".into(), o.result.as_str().into());
    if let JobResult::NotLoaded { load_state } = &o.result {
        m.insert("load_state".into(), load_state.as_str().into());
    }
    Value::Object(m)
}

fn parse_outcome(value: &Value, index: usize) -> Result<JobOutcome> {
    let context = format!("jobs[{index}]");
    let map = object(value, "the response", context.clone())?;
    let f = Fields::new(map, context);
    let word = f.string("result")?;
    let load_state = if word == "not-loaded" {
        f.allow(&["unit", "result", "load_state"])?;
        Some(f.string("load_state")?.to_string())
    } else {
        f.allow(&["unit", "result"])?;
        None
    };
    let result = JobResult::parse(word, load_state)
        .ok_or_else(|| ProtocolError::BadJobResult { result: echo(word) })?;
    Ok(JobOutcome {
        unit: f.string("unit")?.to_string(),
        result,
    })
}

/// The payload keys of the unit responses, one of which a response carries.
pub(super) const PAYLOADS: [&str; 4] = ["units", "jobs", "system_state", "journal"];

/// The payload of a unit response, for `render_response`.
pub(super) fn render_unit_response(response: &super::Response, map: &mut Map<String, Value>) {
    use super::Response;
    match response {
        Response::Units(units) => {
            map.insert(
                "units".into(),
                Value::Array(units.iter().map(unit_value).collect()),
            );
        }
        Response::Jobs(jobs) => {
            map.insert(
                "jobs".into(),
                Value::Array(jobs.iter().map(outcome_value).collect()),
            );
        }
        Response::SystemState(state) => {
            map.insert("system_state".into(), state.as_str().into());
        }
        Response::Journal(entries) => {
            let rows = entries.iter().map(journal_value).collect();
            map.insert("journal".into(), Value::Array(rows));
        }
        _ => {}
    }
}

/// A successful response that carries one of [`PAYLOADS`].
pub(super) fn parse_unit_response(f: &Fields) -> Result<super::Response> {
    use super::Response;
    f.allow(&["ok", "units", "jobs", "system_state", "journal"])?;
    let present: Vec<&str> = PAYLOADS
        .into_iter()
        .filter(|k| f.map.contains_key(*k))
        .collect();
    let [key] = present.as_slice() else {
        return Err(ProtocolError::Payloads {
            found: present.join(", "),
        });
    };
    let rows = |key: &str| match f.get(key)? {
        Value::Array(rows) => Ok(rows),
        other => Err(f.wrong(key, "an array", other)),
    };
    Ok(match *key {
        "units" => Response::Units(
            rows("units")?
                .iter()
                .enumerate()
                .map(|(i, v)| parse_unit(v, i))
                .collect::<Result<_>>()?,
        ),
        "jobs" => Response::Jobs(
            rows("jobs")?
                .iter()
                .enumerate()
                .map(|(i, v)| parse_outcome(v, i))
                .collect::<Result<_>>()?,
        ),
        "journal" => Response::Journal(
            rows("journal")?
                .iter()
                .enumerate()
                .map(|(i, v)| parse_journal_entry(v, i))
                .collect::<Result<_>>()?,
        ),
        _ => {
            let text = f.string("system_state")?;
            Response::SystemState(
                SystemState::parse(text)
                    .ok_or_else(|| ProtocolError::BadSystemState { state: echo(text) })?,
            )
        }
    })
}

#[cfg(test)]
#[path = "units_tests.rs"]
mod tests;
