//! What systemctl says and returns after a job verb, is-active, is-failed and
//! is-system-running (systemctl-start-unit.c, bus-wait-for-jobs.c, systemctl-is-active.c,
//! systemctl(1) "Exit status"). Pure.

use crate::control::{JobOutcome, JobResult, JobVerb};
use crate::units::status::{SystemState, UnitInfo};

/// systemctl's exit codes (LSB, systemctl(1)).
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_NOTIMPLEMENTED: i32 = 3;
pub const EXIT_NOTINSTALLED: i32 = 5;
pub const EXIT_NOTCONFIGURED: i32 = 6;

/// Why a service's job failed, by its `Result=` (log_job_error_with_service_result).
const EXPLANATIONS: [(&str, &str); 8] = [
    (
        "resources",
        "of unavailable resources or another system error",
    ),
    (
        "protocol",
        "the service did not take the steps required by its unit configuration",
    ),
    ("timeout", "a timeout was exceeded"),
    ("exit-code", "the control process exited with error code"),
    (
        "signal",
        "a fatal signal was delivered to the control process",
    ),
    (
        "core-dump",
        "a fatal signal was delivered causing the control process to dump core",
    ),
    ("watchdog", "the service failed to send watchdog ping"),
    (
        "start-limit",
        "start of the service was attempted too often",
    ),
];

/// Whether a failed job's message needs the service's `Result=` (ask the init for it).
pub fn needs_service_result(outcome: &JobOutcome) -> bool {
    outcome.result == JobResult::Failed && outcome.unit.ends_with(".service")
}

/// The stderr lines (without their final newline) and exit code for one unit's outcome;
/// None when it succeeded. `service_result`: the unit's `Result=` for a failed service job.
pub fn failure(
    verb: JobVerb,
    outcome: &JobOutcome,
    service_result: Option<&str>,
    quiet: bool,
) -> Option<(Option<String>, i32)> {
    let unit = &outcome.unit;
    let word = verb.as_str();
    // The failures of the call itself, before any job (method errors).
    let refused = |what: String, code| {
        let head = match verb {
            JobVerb::Kill { .. } => format!("Failed to kill unit {unit}"),
            JobVerb::ResetFailed => format!("Failed to reset failed state of unit {unit}"),
            _ => format!("Failed to {word} {unit}"),
        };
        Some((Some(format!("{head}: {what}")), code))
    };
    // kill and reset-failed are plain method calls: any error is exit 1.
    let plain = matches!(verb, JobVerb::Kill { .. } | JobVerb::ResetFailed);
    let code = |c| if plain { EXIT_FAILURE } else { c };
    match &outcome.result {
        JobResult::Done | JobResult::Skipped => None,
        JobResult::NotFound if plain || verb == JobVerb::Stop => {
            refused(format!("Unit {unit} not loaded."), code(EXIT_NOTINSTALLED))
        }
        JobResult::NotFound => refused(format!("Unit {unit} not found."), EXIT_NOTINSTALLED),
        JobResult::Masked => refused(format!("Unit {unit} is masked."), EXIT_FAILURE),
        JobResult::NotLoaded { load_state } => match load_state.as_str() {
            "bad-setting" => refused(
                format!("Unit {unit} has a bad unit file setting."),
                EXIT_FAILURE,
            ),
            "masked" => refused(format!("Unit {unit} is masked."), EXIT_FAILURE),
            "not-found" => refused(format!("Unit {unit} not found."), code(EXIT_NOTINSTALLED)),
            _ => refused(
                format!(
                    "Unit {unit} failed to load properly, please adjust/correct and reload \
                     service manager."
                ),
                code(EXIT_NOTCONFIGURED),
            ),
        },
        JobResult::NoReload => refused(
            format!("Job type reload is not applicable for unit {unit}."),
            code(EXIT_NOTIMPLEMENTED),
        ),
        JobResult::Canceled => Some((Some(format!("Job for {unit} canceled.")), EXIT_FAILURE)),
        JobResult::Timeout => Some((Some(format!("Job for {unit} timed out.")), EXIT_FAILURE)),
        JobResult::Dependency => Some((
            Some(format!(
                "A dependency job for {unit} failed. See 'journalctl -xe' for details."
            )),
            EXIT_FAILURE,
        )),
        JobResult::Failed if !unit.ends_with(".service") => Some((
            Some("Job failed. See \"journalctl -xe\" for details.".into()),
            EXIT_FAILURE,
        )),
        JobResult::Failed if quiet => Some((None, EXIT_FAILURE)),
        JobResult::Failed => {
            let quoted = super::format::shell_quote(unit);
            let why = EXPLANATIONS
                .iter()
                .find(|(r, _)| Some(*r) == service_result)
                .map_or(String::new(), |(_, e)| format!(" because {e}"));
            Some((
                Some(format!(
                    "Job for {unit} failed{why}.\nSee \"systemctl status {quoted}\" and \
                     \"journalctl -xeu {quoted}\" for details."
                )),
                EXIT_FAILURE,
            ))
        }
    }
}

/// `is-active` / `is-failed`: the state line per unit (unless quiet) and the exit code: 0 if
/// any unit is in one of `good`, else `otherwise` (3 for is-active, 1 for is-failed).
pub fn check_states(
    units: &[UnitInfo],
    good: &[&str],
    otherwise: i32,
    quiet: bool,
) -> (String, i32) {
    let mut out = String::new();
    let mut any = false;
    for u in units {
        let state = if u.active_state.is_empty() {
            "unknown"
        } else {
            u.active_state.as_str()
        };
        any |= good.contains(&state);
        if !quiet {
            out.push_str(state);
            out.push('\n');
        }
    }
    (out, if any { 0 } else { otherwise })
}

/// `is-system-running`: the state line (unless quiet); 0 only for running.
pub fn system_running(state: SystemState, quiet: bool) -> (String, i32) {
    let text = if quiet {
        String::new()
    } else {
        format!("{}\n", state.as_str())
    };
    (text, i32::from(state != SystemState::Running))
}

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
