//! How rich mode words what the fleet and the services report.

use crate::logging::Level;
use crate::supervisor::fleet::Note;
use crate::supervisor::service::{Action as ServiceAction, Note as ServiceNote};
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
