//! How rich mode words what the fleet and the services report.

use crate::logging::Level;
use crate::supervisor::fleet::Note;
use crate::supervisor::service::{Action as ServiceAction, Note as ServiceNote};
use crate::supervisor::unit::{Action as UnitAction, Note as UnitNote};
use std::path::PathBuf;

/// "exited with code 3" and "failed for good" in one line.
pub(super) fn service_failed(name: &str, why: Option<ServiceNote>, critical: bool) -> String {
    let why = why.map_or_else(|| "failed".to_string(), |note| note.to_string());
    let then = if critical {
        "; it is critical: shutting down"
    } else {
        ""
    };
    format!("service {name} {why} and will not be restarted{then}")
}

/// What a service's machine reports, as a line: ready and a restart or an exit with 0 are
/// news, stopped is detail, the rest a warning (a failure an error).
pub(super) fn service_line(name: &str, action: ServiceAction) -> (Level, String) {
    match action {
        ServiceAction::BecameReady => (Level::Info, format!("service {name} is ready")),
        ServiceAction::Stopped => (Level::Debug, format!("service {name} stopped")),
        ServiceAction::FailedForGood { critical } => {
            (Level::Error, service_failed(name, None, critical))
        }
        ServiceAction::Log(note) => {
            let level = match note {
                ServiceNote::Exited { status, .. } if status.success() => Level::Info,
                ServiceNote::Restarting { .. } => Level::Info,
                _ => Level::Warn,
            };
            (level, format!("service {name}: {note}"))
        }
        // The rest are things to do, not to say.
        other => (Level::Trace, format!("service {name}: {other:?}")),
    }
}

/// The fleet's notes; scripts are named by their index in these lists.
pub(super) fn note(note: Note, init: &[PathBuf], stop: &[PathBuf]) -> (Level, String) {
    let path = |list: &[PathBuf], i: usize| {
        list.get(i)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    match note {
        Note::ShuttingDown { signal } => (
            Level::Info,
            format!("{}: shutting down", crate::signame::name(signal)),
        ),
        Note::InitScriptFailed { index, status } => (
            Level::Error,
            format!(
                "init script {} failed: {status}; nothing else was started",
                path(init, index)
            ),
        ),
        Note::StopScriptFailed { index, status } => (
            Level::Warn,
            format!("stop script {} failed: {status}", path(stop, index)),
        ),
    }
}

/// systemd's `code=exited, status=1/FAILURE` / `code=killed, status=9/KILL` (the symbolic
/// name only for the codes and signals systemd names).
pub(super) fn systemd_status(status: crate::wait_status::WaitStatus) -> String {
    if let Some(sig) = status.signal() {
        let name = crate::signame::name(sig);
        let short = name.strip_prefix("SIG").unwrap_or(&name);
        let code = if status.raw() & 0x80 != 0 {
            "dumped"
        } else {
            "killed"
        };
        return format!("code={code}, status={sig}/{short}");
    }
    let code = status.code().unwrap_or(0);
    let name = match code {
        0 => "/SUCCESS",
        1 => "/FAILURE",
        2 => "/INVALIDARGUMENT",
        3 => "/NOTIMPLEMENTED",
        4 => "/NOPERMISSION",
        5 => "/NOTINSTALLED",
        6 => "/NOTCONFIGURED",
        7 => "/NOTRUNNING",
        200 => "/CHDIR",
        203 => "/EXEC",
        217 => "/USER",
        _ => "",
    };
    format!("code=exited, status={code}{name}")
}

/// What a unit's machine reports, worded as systemd logs it (one line per line of the
/// text); None for what is not news.
pub(super) fn unit_line(
    name: &str,
    description: Option<&str>,
    action: UnitAction,
) -> Option<(Level, String)> {
    let what = description.unwrap_or(name);
    Some(match action {
        UnitAction::BecameActive => (Level::Info, format!("Started {what}.")),
        UnitAction::Stopped => (
            Level::Info,
            format!("{name}: Deactivated successfully.\nStopped {what}."),
        ),
        // Its failure was worded when it happened (Note::Finished).
        UnitAction::FailedForGood => return None,
        UnitAction::Log(note) => match note {
            UnitNote::Exited {
                exec,
                main,
                status,
                success,
            } => {
                let who = if main { "Main process" } else { "Control process" };
                let level = if success { Level::Debug } else { Level::Warn };
                let line = format!(
                    "{name}: {who} exited, {} ({})",
                    systemd_status(status),
                    exec.kind.as_str()
                );
                (level, line)
            }
            UnitNote::SpawnFailed { exec, errno } => (
                Level::Error,
                format!(
                    "{name}: cannot run {}: {}",
                    exec.kind.as_str(),
                    crate::sys::Errno::from_raw(errno).desc()
                ),
            ),
            UnitNote::ConditionFailed { .. } => (
                Level::Info,
                format!("{what} was skipped because of an unmet condition check (ExecCondition=)."),
            ),
            UnitNote::ConditionUnmet => (
                Level::Info,
                format!("{what} was skipped because of an unmet condition check."),
            ),
            UnitNote::AssertFailed => (
                Level::Error,
                format!("Assertion failed for {what}."),
            ),
            UnitNote::TimedOut { state } => (
                Level::Warn,
                format!("{name}: {} operation timed out. Terminating.", state.as_str()),
            ),
            UnitNote::NoPidFile => (
                Level::Warn,
                format!("{name}: PID file not readable (yet?) after start; the unit has no main process"),
            ),
            UnitNote::ExitedBeforeReady => (
                Level::Warn,
                format!("{name}: main process exited before it sent READY=1"),
            ),
            UnitNote::RestartScheduled { delay, count } => (
                Level::Info,
                format!(
                    "{name}: Scheduled restart job, restart counter is at {count} (in {} ms).",
                    delay.as_millis()
                ),
            ),
            UnitNote::StartLimitHit => (
                Level::Error,
                format!("{name}: Start request repeated too quickly."),
            ),
            UnitNote::ReloadFailed { result } => (
                Level::Warn,
                format!("{name}: reload failed with result '{}'", result.as_str()),
            ),
            UnitNote::CannotReload { state } => (
                Level::Warn,
                format!("{name}: cannot reload in state {}", state.as_str()),
            ),
            UnitNote::Finished { result } if result.is_failure() => (
                Level::Warn,
                format!("{name}: Failed with result '{}'.", result.as_str()),
            ),
            UnitNote::Finished { .. } => return None,
        },
        UnitAction::Spawn(_)
        | UnitAction::ReadPidFile
        | UnitAction::CheckConditions
        | UnitAction::Signal { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait_status::WaitStatus;
    use std::time::Duration;

    #[test]
    fn lines() {
        let scripts = vec![PathBuf::from("/etc/rich-init/init.d/10-a")];
        type Case<'a> = ((Level, String), (Level, &'a str));
        let cases: &[Case] = &[
            (
                note(Note::ShuttingDown { signal: 15 }, &scripts, &[]),
                (Level::Info, "SIGTERM: shutting down"),
            ),
            (
                note(
                    Note::InitScriptFailed {
                        index: 0,
                        status: WaitStatus::exited(3),
                    },
                    &scripts,
                    &[],
                ),
                (
                    Level::Error,
                    "init script /etc/rich-init/init.d/10-a failed: exit status 3; nothing else was started",
                ),
            ),
            (
                service_line(
                    "web",
                    ServiceAction::Log(ServiceNote::Restarting {
                        delay: Duration::from_secs(1),
                    }),
                ),
                (Level::Info, "service web: restarting in 1s"),
            ),
            (
                (
                    Level::Error,
                    service_failed(
                        "db",
                        Some(ServiceNote::Exited {
                            status: WaitStatus::exited(2),
                            ready: true,
                        }),
                        true,
                    ),
                ),
                (
                    Level::Error,
                    "service db exited with code 2 and will not be restarted; it is critical: shutting down",
                ),
            ),
        ];
        for ((level, text), (want_level, want)) in cases {
            assert_eq!((level, text.as_str()), (want_level, *want));
        }
    }
}
