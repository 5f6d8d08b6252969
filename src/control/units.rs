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

use super::json::{echo, Fields, Result};
use super::unit_json::{
    journal_value, object, parse_journal_entry, parse_unit, strings, unit_value,
};
use super::ProtocolError;
use crate::units::status::SystemState;

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
