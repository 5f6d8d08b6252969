//! The JSON objects of a unit (`UnitInfo`) and a journal line (`JournalEntry`), both ways,
//! strict: every field required, unknown ones refused, each error naming its field.

use serde_json::{Map, Value};

use super::json::{found, Fields, Result};
use super::ProtocolError;
use crate::units::status::{JournalEntry, Process, UnitInfo};

/// A list of strings.
pub(super) fn strings(f: &Fields, field: &str) -> Result<Vec<String>> {
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

fn strs(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| s.as_str().into()).collect())
}

/// One unit as a JSON object.
pub(super) fn unit_value(u: &UnitInfo) -> Value {
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

pub(super) fn object<'a>(
    value: &'a Value,
    context: &str,
    field: String,
) -> Result<&'a Map<String, Value>> {
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

pub(super) fn parse_unit(value: &Value, index: usize) -> Result<UnitInfo> {
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
pub(super) fn journal_value(e: &JournalEntry) -> Value {
    let mut m = Map::new();
    m.insert("time_us".into(), e.time_us.into());
    m.insert("unit".into(), e.unit.as_str().into());
    m.insert("ident".into(), e.ident.as_str().into());
    m.insert("pid".into(), e.pid.into());
    m.insert("message".into(), e.message.as_str().into());
    Value::Object(m)
}

pub(super) fn parse_journal_entry(value: &Value, index: usize) -> Result<JournalEntry> {
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
