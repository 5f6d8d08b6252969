//! The pure side of the descriptor hand-over as the helper sees it: where a container's
//! rich-init listens for `ctl` (read from its runtime spec, by rich-init's own argument
//! rules), how that path is reached from the host, and the hand-over variable in a spec.

use rich_init::cli::{self, Parsed};
use rich_init::control::handover::{handover_value, HANDOVER_VAR};
use serde_json::Value;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the spec gives the container its own pid namespace (then its init is pid 1,
/// and rich-init's environment switches and default paths apply).
fn own_pid_namespace(spec: &Value) -> bool {
    spec["linux"]["namespaces"].as_array().is_some_and(|list| {
        list.iter()
            .any(|ns| ns["type"] == "pid" && ns["path"].as_str().is_none_or(str::is_empty))
    })
}

/// The control socket of the container's init, as a path inside the container: what
/// rich-init itself would make of the spec's process args and env (`--control-socket`,
/// `RICH_INIT_CONTROL_SOCKET`, else the default for pid 1). None when that process is not
/// rich-init in rich mode with a control socket, as far as its command line tells (an
/// entrypoint script that execs rich-init is not seen through: no hand-over then).
pub fn control_socket(spec: &Value) -> Option<PathBuf> {
    let process = &spec["process"];
    let args: Vec<OsString> = strings(&process["args"])
        .into_iter()
        .map(OsString::from)
        .collect();
    let env = strings(&process["env"]);
    let lookup = |name: &str| {
        env.iter().rev().find_map(|pair| {
            pair.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    };
    let pid = if own_pid_namespace(spec) { 1 } else { 0 };
    let Parsed::Run(settings) = cli::parse(args, &lookup, pid) else {
        return None;
    };
    let path = settings.rich?.control_socket?;
    if path.is_absolute() {
        return Some(path);
    }
    let cwd = process["cwd"].as_str().filter(|c| c.starts_with('/'));
    Some(Path::new(cwd.unwrap_or("/")).join(path))
}

/// The same path seen from the host, through the init's root: `/proc/PID/root/...`.
/// None when the path has a `..` component, which could climb out of that root (the
/// spec is the container's to write).
pub fn on_host(pid: u32, inside: &Path) -> Option<PathBuf> {
    if inside
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return None;
    }
    let rel = inside.strip_prefix("/").unwrap_or(inside);
    Some(
        Path::new("/proc")
            .join(pid.to_string())
            .join("root")
            .join(rel),
    )
}

/// When the helper stops trying to give: `min(1 s, wait / 4)` before the init's own
/// deadline, so that the copies it then closes are gone before the init binds afresh.
pub fn give_up_ms(deadline_unix_ms: u128, wait: Duration) -> u128 {
    let margin = (wait / 4).min(Duration::from_secs(1));
    deadline_unix_ms.saturating_sub(margin.as_millis())
}

/// The variable's deadline: `wait` from `now`, in ms since the Unix epoch.
pub fn deadline_ms(now: SystemTime, wait: Duration) -> u128 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        .saturating_add(wait.as_millis())
}

/// Drop the hand-over variable from the spec's process env; whether there was one.
pub fn strip_handover_var(spec: &mut Value) -> bool {
    let Some(env) = spec
        .pointer_mut("/process/env")
        .and_then(Value::as_array_mut)
    else {
        return false;
    };
    let before = env.len();
    env.retain(|pair| {
        pair.as_str()
            .and_then(|p| p.split_once('='))
            .is_none_or(|(k, _)| k != HANDOVER_VAR)
    });
    env.len() != before
}

/// Set the hand-over variable (only one) in the spec's process env; false when the spec
/// has no process object (or an env that is not a list) to set it in.
pub fn set_handover_var(spec: &mut Value, deadline_unix_ms: u128) -> bool {
    strip_handover_var(spec);
    let pair = Value::from(format!(
        "{HANDOVER_VAR}={}",
        handover_value(deadline_unix_ms)
    ));
    let Some(process) = spec.get_mut("process").and_then(Value::as_object_mut) else {
        return false;
    };
    let env = process
        .entry("env")
        .or_insert_with(|| Value::Array(Vec::new()));
    match env.as_array_mut() {
        Some(env) => {
            env.push(pair);
            true
        }
        None => false,
    }
}

#[cfg(test)]
#[path = "handover_spec_tests.rs"]
mod tests;
