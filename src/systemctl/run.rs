//! The systemctl client at run time: parse, ask the init or read the files, print, exit code.

use crate::units::status::now_us;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::args::{self, glob_match, is_glob, Command, Verb};
use super::client::{exchange, ClientError, NO_INIT};
use super::{install, jobs, list, show, status};
use crate::control::{JobVerb, Request, Response};
use crate::units::status::{JournalEntry, SystemState, UnitInfo};

/// What one command prints and returns.
#[derive(Debug, Default)]
struct Output {
    stdout: String,
    stderr: String,
    code: i32,
}

impl Output {
    fn err(code: i32, line: impl AsRef<str>) -> Output {
        Output {
            stderr: format!("{}\n", line.as_ref().trim_end()),
            code,
            ..Output::default()
        }
    }

    fn from_client(e: ClientError) -> Output {
        match e {
            ClientError::NoInit => Output {
                stderr: NO_INIT.into(),
                code: 1,
                ..Output::default()
            },
            other => Output::err(1, other.to_string()),
        }
    }

    /// Keep the first failing exit code.
    fn fail(&mut self, code: i32) {
        if self.code == 0 {
            self.code = code;
        }
    }
}

const HELP: &str = "systemctl [OPTIONS...] COMMAND ...

Query or send control commands to the system manager (rich-init --systemd).

Unit Commands:
  list-units [PATTERN...]             List units currently in memory
  is-active PATTERN...                Check whether units are active
  is-failed [PATTERN...]              Check whether units are failed
  status [PATTERN...]                 Show runtime status of one or more units
  show [UNIT...]                      Show properties of one or more units
  cat PATTERN...                      Show files and drop-ins of specified units
  start/stop/restart/try-restart/reload/reload-or-restart/try-reload-or-restart UNIT...
  kill UNIT...                        Send signal to processes of a unit
  reset-failed [PATTERN...]           Reset failed state for all, one, or more units

Unit File Commands:
  list-unit-files [PATTERN...]        List installed unit files
  enable/disable/mask/unmask UNIT...  Enable, disable, mask or unmask unit files
  is-enabled UNIT...                  Check whether unit files are enabled

Manager State Commands:
  daemon-reload                       Reload the unit files
  is-system-running                   Check whether the system is fully running
";

/// `systemctl ARGS...`: the words after argv[0]. Returns the exit code.
pub fn run(words: &[String], env: &dyn Fn(&str) -> Option<String>) -> i32 {
    let socket = env("RICH_INIT_CONTROL_SOCKET")
        .map_or_else(|| PathBuf::from(crate::ctl::CONTROL_SOCKET), PathBuf::from);
    let out = match args::parse(words) {
        Ok(command) => {
            let root = PathBuf::from(command.opts.root.as_deref().unwrap_or("/"));
            execute(&command, &socket, &root)
        }
        Err(e) => Output::err(e.exit_code(), e.to_string()),
    };
    crate::sys::write_all_raw(1, out.stdout.as_bytes());
    crate::sys::write_all_raw(2, out.stderr.as_bytes());
    out.code
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn execute(cmd: &Command, socket: &Path, root: &Path) -> Output {
    let ask = |request: &Request| exchange(socket, request);
    match cmd.verb {
        Verb::Help => Output {
            stdout: HELP.into(),
            ..Output::default()
        },
        Verb::Version => Output {
            stdout: format!("systemd 252 (rich-init {})\n", env!("CARGO_PKG_VERSION")),
            ..Output::default()
        },
        Verb::ListUnitFiles => {
            let listed = crate::units::discovery::Loader::new(root).and_then(|l| {
                let mut files = l.list()?;
                // SysV scripts, as systemd lists what its generator made of them.
                if let Ok(scripts) = crate::units::sysv::scan(root, &l) {
                    files.extend(crate::units::sysv::listed(root, &scripts));
                }
                let suffix = |n: &str| n.rsplit_once('.').map_or("", |(_, s)| s).to_string();
                crate::sort::sort_by(&mut files, |a, b| {
                    (suffix(&a.name), &a.name).cmp(&(suffix(&b.name), &b.name))
                });
                Ok(files)
            });
            match listed {
                Ok(files) => Output {
                    stdout: list::list_unit_files(&files, &cmd.args, &cmd.opts),
                    ..Output::default()
                },
                Err(e) => Output::err(1, format!("Failed to list unit files: {e}")),
            }
        }
        Verb::IsEnabled => {
            let (stdout, stderr, code) = install::is_enabled(root, &cmd.args, cmd.opts.quiet);
            Output {
                stdout,
                stderr,
                code,
            }
        }
        Verb::Cat => match install::cat(root, &cmd.args) {
            Ok(stdout) => Output {
                stdout,
                ..Output::default()
            },
            Err(install::InstallError::NoSuchUnit(name)) => {
                Output::err(1, format!("No files found for {name}."))
            }
            Err(e) => Output::err(1, e.to_string()),
        },
        Verb::Enable | Verb::Disable | Verb::Mask | Verb::Unmask => unit_files(cmd, socket, root),
        Verb::Preset if cmd.opts.preset_mode.as_deref() == Some("disable-only") => {
            Output::default()
        }
        Verb::Preset => {
            let as_enable = Command {
                verb: Verb::Enable,
                ..cmd.clone()
            };
            unit_files(&as_enable, socket, root)
        }
        Verb::DaemonReload => match ask(&Request::DaemonReload) {
            Ok(_) => Output::default(),
            Err(ClientError::Refused(m)) => Output::err(1, format!("Failed to reload daemon: {m}")),
            Err(e) => Output::from_client(e),
        },
        Verb::IsSystemRunning => match ask(&Request::SystemState) {
            Ok(Response::SystemState(state)) => {
                let (stdout, code) = jobs::system_running(state, cmd.opts.quiet);
                Output {
                    stdout,
                    code,
                    ..Output::default()
                }
            }
            // No init to ask: systemctl's answer offline.
            Err(ClientError::NoInit) => Output {
                stdout: if cmd.opts.quiet { "" } else { "offline\n" }.into(),
                code: 1,
                ..Output::default()
            },
            Ok(_) => Output::err(1, "The init's answer makes no sense (not a system state)."),
            Err(e) => Output::from_client(e),
        },
        Verb::Job(verb) => job(cmd, verb, socket),
        Verb::Status | Verb::Show | Verb::IsActive | Verb::IsFailed | Verb::ListUnits => {
            let names = if cmd.verb == Verb::ListUnits || cmd.args.iter().any(|a| is_glob(a)) {
                Vec::new()
            } else {
                cmd.args.clone()
            };
            if cmd.verb == Verb::Status && cmd.args.is_empty() {
                return system_status(socket);
            }
            let units = match ask(&Request::Units { names }) {
                Ok(Response::Units(units)) => units,
                Ok(_) => return Output::err(1, "The init's answer makes no sense (not units)."),
                Err(e) => return Output::from_client(e),
            };
            let units = if cmd.verb == Verb::ListUnits {
                units
            } else {
                select(units, &cmd.args)
            };
            query(cmd, &units, socket)
        }
    }
}

/// The units that the arguments name, in their order: each plain name, and for a glob
/// every loaded unit it matches.
fn select(units: Vec<UnitInfo>, args: &[String]) -> Vec<UnitInfo> {
    if args.is_empty() {
        return units;
    }
    let mut out: Vec<UnitInfo> = Vec::new();
    for arg in args {
        for u in &units {
            let hit = if is_glob(arg) {
                glob_match(arg, &u.id)
            } else {
                u.id == *arg || u.names.contains(arg)
            };
            if hit && !out.iter().any(|o| o.id == u.id) {
                out.push(u.clone());
            }
        }
        if !is_glob(arg) && !out.iter().any(|o| o.id == *arg || o.names.contains(arg)) {
            out.push(UnitInfo::not_found(arg));
        }
    }
    out
}

fn query(cmd: &Command, units: &[UnitInfo], socket: &Path) -> Output {
    let mut out = Output::default();
    match cmd.verb {
        Verb::Show => out.stdout = show::show_units(units, &cmd.opts.properties, cmd.opts.value),
        Verb::IsActive => {
            (out.stdout, out.code) =
                jobs::check_states(units, &["active", "reloading"], 3, cmd.opts.quiet)
        }
        Verb::IsFailed => {
            (out.stdout, out.code) = jobs::check_states(units, &["failed"], 1, cmd.opts.quiet)
        }
        Verb::ListUnits => out.stdout = list::list_units(units, &cmd.args, &cmd.opts),
        _ => {
            let ctx = status::Context {
                now_us: now_us(),
                host: &hostname(),
                color: std::io::stdout().is_terminal(),
            };
            for unit in units {
                let code = status::exit_code(unit);
                if code == status::EXIT_UNKNOWN && unit.processes.is_empty() {
                    out.stderr
                        .push_str(&format!("Unit {} could not be found.\n", unit.id));
                    out.fail(code);
                    continue;
                }
                let journal = journal_of(&unit.id, cmd.opts.lines, socket);
                if !out.stdout.is_empty() {
                    out.stdout.push('\n');
                }
                out.stdout.push_str(&status::render(unit, &journal, &ctx));
                out.fail(code);
            }
        }
    }
    out
}

/// The last `lines` journal lines of a unit; none when the init has none to give.
fn journal_of(unit: &str, lines: usize, socket: &Path) -> Vec<JournalEntry> {
    if lines == 0 {
        return Vec::new();
    }
    let request = Request::Journal {
        unit: Some(unit.to_string()),
        lines: Some(lines),
        follow: false,
    };
    match exchange(socket, &request) {
        Ok(Response::Journal(entries)) => entries,
        _ => Vec::new(),
    }
}

/// `systemctl status` with no unit: the system's line and state.
fn system_status(socket: &Path) -> Output {
    match exchange(socket, &Request::SystemState) {
        Ok(Response::SystemState(state)) => Output {
            stdout: format!("● {}\n    State: {}\n", hostname(), state.as_str()),
            code: i32::from(state != SystemState::Running && state != SystemState::Degraded),
            ..Output::default()
        },
        Ok(_) => Output::err(1, "The init's answer makes no sense (not a system state)."),
        Err(e) => Output::from_client(e),
    }
}

/// The names a job verb acts on: globs expanded against the loaded units.
fn expand(args: &[String], socket: &Path) -> Result<Vec<String>, ClientError> {
    if !args.iter().any(|a| is_glob(a)) {
        return Ok(args.to_vec());
    }
    let units = match exchange(socket, &Request::Units { names: Vec::new() })? {
        Response::Units(units) => units,
        _ => return Err(ClientError::Garbled("not units".into())),
    };
    let mut out: Vec<String> = Vec::new();
    for arg in args {
        if is_glob(arg) {
            out.extend(
                units
                    .iter()
                    .filter(|u| glob_match(arg, &u.id))
                    .map(|u| u.id.clone()),
            );
        } else {
            out.push(arg.clone());
        }
    }
    out.dedup();
    Ok(out)
}

fn job(cmd: &Command, verb: JobVerb, socket: &Path) -> Output {
    let names = match expand(&cmd.args, socket) {
        Ok(names) => names,
        Err(e) => return Output::from_client(e),
    };
    if names.is_empty() && verb != JobVerb::ResetFailed {
        return Output::default();
    }
    run_jobs(verb, names, cmd.opts.no_block, cmd.opts.quiet, socket)
}

fn run_jobs(
    verb: JobVerb,
    names: Vec<String>,
    no_block: bool,
    quiet: bool,
    socket: &Path,
) -> Output {
    let request = Request::UnitJob {
        verb,
        names,
        no_block,
    };
    let outcomes = match exchange(socket, &request) {
        Ok(Response::Jobs(outcomes)) => outcomes,
        Ok(_) => return Output::err(1, "The init's answer makes no sense (not job results)."),
        Err(ClientError::Refused(m)) => {
            return Output::err(1, format!("Failed to {}: {m}", verb.as_str()))
        }
        Err(e) => return Output::from_client(e),
    };
    let mut out = Output::default();
    for outcome in &outcomes {
        let result = if jobs::needs_service_result(outcome) && !quiet {
            match exchange(
                socket,
                &Request::Units {
                    names: vec![outcome.unit.clone()],
                },
            ) {
                Ok(Response::Units(units)) => units.into_iter().next().map(|u| u.result),
                _ => None,
            }
        } else {
            None
        };
        if let Some((message, code)) = jobs::failure(verb, outcome, result.as_deref(), quiet) {
            if let Some(message) = message {
                out.stderr.push_str(&message);
                out.stderr.push('\n');
            }
            out.fail(code);
        }
    }
    out
}

/// enable, disable, mask, unmask: the files, then (with an init) a reload, and `--now`.
fn unit_files(cmd: &Command, socket: &Path, root: &Path) -> Output {
    let (word, result) = match cmd.verb {
        Verb::Enable => (
            "enable",
            install::enable(root, &cmd.args).map(|e| (e.changes, e.no_install_info)),
        ),
        Verb::Disable => (
            "disable",
            install::disable(root, &cmd.args).map(|c| (c, false)),
        ),
        Verb::Mask => ("mask", install::mask(root, &cmd.args).map(|c| (c, false))),
        _ => (
            "unmask",
            install::unmask(root, &cmd.args).map(|c| (c, false)),
        ),
    };
    let (changes, no_install_info) = match result {
        Ok(done) => done,
        Err(e) => return Output::err(1, format!("Failed to {word} unit: {e}")),
    };
    let mut out = Output::default();
    if !cmd.opts.quiet {
        for change in &changes {
            out.stderr.push_str(&change.line());
            out.stderr.push('\n');
        }
        if no_install_info {
            out.stderr.push_str(install::NO_INSTALL_INFO);
        }
    }
    // With an init running, it re-reads the files; without one, there is nothing to tell.
    if !changes.is_empty() {
        match exchange(socket, &Request::DaemonReload) {
            Ok(_) | Err(ClientError::NoInit) => {}
            Err(e) => {
                out.stderr
                    .push_str(&format!("Failed to reload daemon: {e}\n"));
                out.fail(1);
            }
        }
    }
    if cmd.opts.now && cmd.verb != Verb::Unmask {
        let verb = if cmd.verb == Verb::Enable {
            JobVerb::Start
        } else {
            JobVerb::Stop
        };
        let jobs = run_jobs(
            verb,
            cmd.args.clone(),
            cmd.opts.no_block,
            cmd.opts.quiet,
            socket,
        );
        out.stderr.push_str(&jobs.stderr);
        out.fail(jobs.code);
    }
    out
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
