//! `systemctl status UNIT`: the text of print_status_info (systemctl-show.c) for what the init
//! knows about a unit, and status's exit codes (LSB: 0 running, 3 not running, 4 unknown).
//! Pure: the caller brings the time, the host name and whether stdout is a terminal.

use super::format::{journal_short, relative, timestamp};
use crate::units::status::{JournalEntry, UnitInfo};

/// Exit codes of status and is-active (systemctl(1), "Exit status", after LSB).
pub const EXIT_NOT_RUNNING: i32 = 3;
pub const EXIT_UNKNOWN: i32 = 4;

/// What status needs besides the unit.
pub struct Context<'a> {
    pub now_us: u64,
    pub host: &'a str,
    /// Color the state glyph and word (stdout is a terminal).
    pub color: bool,
}

/// The glyph before the unit name (unit_active_state_to_glyph) and its color.
fn glyph(active_state: &str) -> (&'static str, &'static str) {
    match active_state {
        "active" => ("●", "\x1b[0;1;32m"),
        "reloading" => ("↻", "\x1b[0;1;32m"),
        "failed" => ("×", "\x1b[0;1;31m"),
        "activating" | "deactivating" => ("●", ""),
        _ => ("○", ""),
    }
}

/// exit_status_to_string for the codes a service commonly ends with.
fn exit_status_name(status: i32) -> Option<&'static str> {
    Some(match status {
        0 => "SUCCESS",
        1 => "FAILURE",
        2 => "INVALIDARGUMENT",
        3 => "NOTIMPLEMENTED",
        4 => "NOPERMISSION",
        5 => "NOTINSTALLED",
        6 => "NOTCONFIGURED",
        7 => "NOTRUNNING",
        200 => "CHDIR",
        203 => "EXEC",
        216 => "GROUP",
        217 => "USER",
        _ => return None,
    })
}

/// `code=exited, status=1/FAILURE` or `code=killed, signal=TERM`.
fn exit_text(code: i32, status: i32) -> String {
    match code {
        1 => match exit_status_name(status) {
            Some(name) => format!("code=exited, status={status}/{name}"),
            None => format!("code=exited, status={status}"),
        },
        _ => {
            let signal = crate::signame::name(status);
            let signal = signal.strip_prefix("SIG").unwrap_or(&signal).to_string();
            let word = if code == 3 { "dumped" } else { "killed" };
            format!("code={word}, signal={signal}")
        }
    }
}

/// The process name status shows after the main pid: the command's first word, without
/// its directory or a trailing `:` (what /proc/PID/comm shows for most daemons), 15 bytes.
fn comm(cmdline: &str) -> String {
    let first = cmdline.split_whitespace().next().unwrap_or_default();
    let base = first.rsplit('/').next().unwrap_or(first);
    base.trim_end_matches(':').chars().take(15).collect()
}

/// The `Drop-In:` lines: each directory once, its files under it.
fn drop_ins(paths: &[String], out: &mut String) {
    let mut dirs: Vec<(&str, Vec<&str>)> = Vec::new();
    for path in paths {
        let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
        match dirs.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, files)) => files.push(file),
            None => dirs.push((dir, vec![file])),
        }
    }
    for (i, (dir, files)) in dirs.iter().enumerate() {
        let head = if i == 0 {
            "    Drop-In: "
        } else {
            "             "
        };
        out.push_str(&format!("{head}{dir}\n"));
        let last = files.len().saturating_sub(1);
        for (j, file) in files.iter().enumerate() {
            let branch = if j == last { "└─" } else { "├─" };
            out.push_str(&format!("             {branch}{file}\n"));
        }
    }
}

/// The status text of one unit (without the journal lines' blank separator when there
/// are none).
pub fn render(unit: &UnitInfo, journal: &[JournalEntry], ctx: &Context) -> String {
    let mut out = String::new();
    let (dot, on) = glyph(&unit.active_state);
    let (on, off) = if ctx.color && !on.is_empty() {
        (on, "\x1b[0m")
    } else {
        ("", "")
    };
    out.push_str(&format!("{on}{dot}{off} {}", unit.id));
    if !unit.description.is_empty() && unit.description != unit.id {
        out.push_str(&format!(" - {}", unit.description));
    }
    out.push('\n');

    let path = if unit.fragment_path.is_empty() {
        &unit.source_path
    } else {
        &unit.fragment_path
    };
    let state = &unit.unit_file_state;
    let preset_shown = !unit.unit_file_preset.is_empty()
        && !matches!(
            state.as_str(),
            "alias" | "static" | "generated" | "transient"
        );
    let loaded = match (path.is_empty(), state.is_empty(), preset_shown) {
        (true, _, _) => unit.load_state.clone(),
        (false, true, _) => format!("{} ({path})", unit.load_state),
        (false, false, false) => format!("{} ({path}; {state})", unit.load_state),
        (false, false, true) => format!(
            "{} ({path}; {state}; preset: {})",
            unit.load_state, unit.unit_file_preset
        ),
    };
    out.push_str(&format!("     Loaded: {loaded}\n"));
    drop_ins(&unit.drop_in_paths, &mut out);

    let since = match unit.active_state.as_str() {
        "active" | "reloading" => unit.active_enter_us,
        "inactive" | "failed" => unit.inactive_enter_us,
        "activating" => unit.inactive_exit_us,
        _ => unit.active_exit_us,
    };
    // The sub-state only when it says more (failed (failed) is just failed).
    let sub = if unit.sub_state.is_empty() || unit.sub_state == unit.active_state {
        String::new()
    } else {
        format!(" ({})", unit.sub_state)
    };
    let mut active = format!("{on}{}{sub}{off}", unit.active_state);
    if unit.active_state == "failed" && !unit.result.is_empty() && unit.result != "success" {
        active.push_str(&format!(" (Result: {})", unit.result));
    }
    if since > 0 {
        active.push_str(&format!(
            " since {}; {}",
            timestamp(since),
            relative(ctx.now_us, since)
        ));
    }
    out.push_str(&format!("     Active: {active}\n"));
    for (i, doc) in unit.documentation.iter().enumerate() {
        let head = if i == 0 {
            "       Docs: "
        } else {
            "             "
        };
        out.push_str(&format!("{head}{doc}\n"));
    }

    if unit.main_pid > 0 {
        let name = unit
            .processes
            .iter()
            .find(|p| p.pid == unit.main_pid)
            .map(|p| comm(&p.cmdline))
            .filter(|c| !c.is_empty());
        match name {
            Some(name) => out.push_str(&format!("   Main PID: {} ({name})\n", unit.main_pid)),
            None => out.push_str(&format!("   Main PID: {}\n", unit.main_pid)),
        }
    } else if unit.exec_main_pid > 0 && unit.exec_main_code > 0 {
        out.push_str(&format!(
            "   Main PID: {} ({})\n",
            unit.exec_main_pid,
            exit_text(unit.exec_main_code, unit.exec_main_status)
        ));
    }
    if !unit.processes.is_empty() {
        out.push_str(&format!("      Tasks: {}\n", unit.processes.len()));
        out.push_str(&format!("     CGroup: /system.slice/{}\n", unit.id));
        let last = unit.processes.len() - 1;
        for (i, p) in unit.processes.iter().enumerate() {
            let branch = if i == last { "└─" } else { "├─" };
            out.push_str(&format!("             {branch}{} {}\n", p.pid, p.cmdline));
        }
    }
    if !journal.is_empty() {
        out.push('\n');
        for entry in journal {
            out.push_str(&journal_short(entry, ctx.host));
            out.push('\n');
        }
    }
    out
}

/// status's exit code for one unit: 0 active (or reloading), 3 otherwise, 4 unknown.
pub fn exit_code(unit: &UnitInfo) -> i32 {
    if unit.load_state == "not-found" && unit.active_state == "inactive" {
        EXIT_UNKNOWN
    } else if matches!(unit.active_state.as_str(), "active" | "reloading") {
        0
    } else {
        EXIT_NOT_RUNNING
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
