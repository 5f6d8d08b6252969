//! `service` as Debian's service(8) (init-system-helpers 1.65) behaves; pure.
//!
//! Its rules, as its script has them: no argument prints the usage on stderr and exits 1;
//! `--help`/`-h`/`--h…` anywhere prints it on stderr and exits 0, `--version`/`-V` the
//! version; `--status-all` alone runs every /etc/init.d script with `status`; otherwise
//! `service NAME [ACTION [OPTIONS...]]`. When systemd runs (the directory
//! /run/systemd/system exists), the standard actions become `systemctl ACTION NAME.service`
//! (a trailing `.sh` of NAME dropped first); other actions, and every action without systemd,
//! run `/etc/init.d/NAME ACTION OPTIONS...` in `/` with a cleared environment that keeps only
//! the locale, PATH and TERM.

use super::Parsed;
use std::ffi::OsString;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// `--status-all`.
    StatusAll,
    /// `service NAME [ACTION [OPTIONS...]]`; `full_restart` for `NAME --full-restart`.
    Run {
        service: String,
        action: Option<String>,
        options: Vec<String>,
        full_restart: bool,
    },
}

/// What the system looks like, as far as the mapping needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// /run/systemd/system is a directory.
    pub systemd: bool,
    /// /etc/init.d/NAME exists and is executable.
    pub script: Option<String>,
    /// `systemctl -p CanReload show UNIT` said `CanReload=no` (Some(false)) or anything
    /// else (Some(true)); None when not asked (see [`needs_can_reload`]).
    pub can_reload: Option<bool>,
    /// `systemctl --quiet is-system-running` succeeded (asked for `reload` only).
    pub system_running: bool,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceAction {
    /// Run the `systemctl` personality with these arguments.
    Systemctl(Vec<String>),
    /// Run the script with these arguments (cleared environment, see [`script_env`]).
    Script(String, Vec<String>),
    /// Without systemd, `NAME --full-restart`: the script's `stop`, then its `start`,
    /// whose status is ours.
    ScriptRestart(String),
    /// `NAME: unrecognized service`, exit 1.
    Unrecognized(String),
}

pub const VERSION: &str = "1.65.2+deb12u1";

fn base(argv0: &str) -> &str {
    argv0.rsplit('/').next().unwrap_or(argv0)
}

/// service(8)'s usage line for the program named `argv0`.
pub fn usage(argv0: &str) -> String {
    format!(
        "Usage: {} < option > | --status-all | [ service_name [ command | --full-restart ] ]\n",
        base(argv0)
    )
}

/// Parse `service`'s argv (with argv[0]).
pub fn parse(args: Vec<OsString>) -> Parsed {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let argv0 = words.first().map_or("service", String::as_str);
    let rest = words.get(1..).unwrap_or_default();
    if rest.is_empty() {
        return Parsed::stderr(1, usage(argv0));
    }
    let mut service: Option<String> = None;
    let mut action: Option<String> = None;
    let mut options = Vec::new();
    let mut full_restart = false;
    for (i, word) in rest.iter().enumerate() {
        let remaining = rest.len() - i;
        if word == "-h" || word.starts_with("--h") {
            return Parsed::stderr(0, usage(argv0));
        }
        if word == "--version" || word == "-V" {
            return Parsed::stderr(0, format!("{} ver. {VERSION}\n", base(argv0)));
        }
        if service.is_none() && remaining == 1 && word == "--status-all" {
            return Parsed::Service(Invocation::StatusAll);
        }
        if remaining == 2 && rest.get(i + 1).is_some_and(|w| w == "--full-restart") {
            // The script sets the service here, and the restart; the word
            // `--full-restart` itself then lands as the action or an option.
            service = Some(word.clone());
            full_restart = true;
        } else if service.is_none() {
            service = Some(word.clone());
        } else if action.is_none() && !full_restart {
            action = Some(word.clone());
        } else if !(full_restart && word == "--full-restart") {
            options.push(word.clone());
        }
    }
    Parsed::Service(Invocation::Run {
        service: service.unwrap_or_default(),
        action,
        options,
        full_restart,
    })
}

/// `NAME.service`, with one trailing `.sh` of NAME dropped (`${SERVICE%.sh}.service`).
pub fn unit_of(service: &str) -> String {
    format!("{}.service", service.strip_suffix(".sh").unwrap_or(service))
}

/// Whether [`plan`] needs [`Facts::can_reload`] (and, for reload, `system_running`).
pub fn needs_can_reload(action: Option<&str>, full_restart: bool, systemd: bool) -> bool {
    systemd && !full_restart && matches!(action, Some("reload" | "force-reload"))
}

/// Decide what `service NAME ACTION OPTIONS...` does.
pub fn plan(
    service: &str,
    action: Option<&str>,
    options: &[String],
    full_restart: bool,
    facts: &Facts,
) -> ServiceAction {
    let via_script = || match &facts.script {
        Some(path) => {
            let mut args: Vec<String> = action.map(str::to_string).into_iter().collect();
            args.extend(options.iter().cloned());
            ServiceAction::Script(path.clone(), args)
        }
        None => ServiceAction::Unrecognized(service.to_string()),
    };
    if !facts.systemd {
        return match (&facts.script, full_restart) {
            (Some(path), true) => ServiceAction::ScriptRestart(path.clone()),
            // Without the script the shell falls through, and `--full-restart` becomes
            // the action of a service it does not know.
            _ => via_script(),
        };
    }
    let unit = unit_of(service);
    let systemctl = |words: &[&str]| {
        let mut args: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        args.push(unit.clone());
        ServiceAction::Systemctl(args)
    };
    let action = if full_restart {
        Some("restart")
    } else {
        action
    };
    match action {
        Some(verb @ ("restart" | "status" | "try-restart" | "start" | "stop")) => {
            systemctl(&[verb])
        }
        Some("reload") if facts.can_reload == Some(false) => via_script(),
        Some("reload") if !facts.system_running => systemctl(&["--no-block", "reload"]),
        Some("reload") => systemctl(&["reload"]),
        Some("force-stop") => systemctl(&["--signal=KILL", "kill"]),
        Some("force-reload") if facts.can_reload == Some(false) => systemctl(&["restart"]),
        Some("force-reload") => systemctl(&["reload"]),
        _ => via_script(),
    }
}

/// The environment a script runs with: service(8)'s `env -i` keeps these, set to "" when
/// unset.
pub const SCRIPT_ENV: &[&str] = &[
    "LANG",
    "LANGUAGE",
    "LC_CTYPE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
    "LC_MONETARY",
    "LC_MESSAGES",
    "LC_PAPER",
    "LC_NAME",
    "LC_ADDRESS",
    "LC_TELEPHONE",
    "LC_MEASUREMENT",
    "LC_IDENTIFICATION",
    "LC_ALL",
    "PATH",
    "TERM",
];

pub fn script_env(env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    SCRIPT_ENV
        .iter()
        .map(|k| (k.to_string(), env(k).unwrap_or_default()))
        .collect()
}

/// The /etc/init.d entries `--status-all` asks, in the shell's glob order (bytewise, no
/// dot files), without the ones service(8) skips. Executability is checked by the caller.
pub fn status_all_names(mut names: Vec<String>) -> Vec<String> {
    const SKIPPED: &[&str] = &[
        "functions",
        "halt",
        "killall",
        "single",
        "linuxconf",
        "kudzu",
        "skeleton",
        "README",
        "rc",
        "rcS",
        "reboot",
        "bootclean.sh",
    ];
    names.retain(|n| {
        !n.starts_with('.')
            && !SKIPPED.contains(&n.as_str())
            && !n.ends_with(".dpkg-dist")
            && !n.ends_with(".dpkg-old")
    });
    crate::sort::sort(&mut names);
    names
}

/// One `--status-all` line from what `SCRIPT status` printed (stdout and stderr) and its
/// exit status: the fd it goes to (a usage message means "unknown", on stderr) and the line.
pub fn status_all_line(name: &str, output: &[u8], status: i32) -> (i32, String) {
    let text = String::from_utf8_lossy(output);
    if text.to_lowercase().contains("usage:") {
        return (2, format!(" [ ? ]  {name}\n"));
    }
    // `$(...)` drops trailing newlines before the emptiness test.
    let said = !text.trim_end_matches('\n').is_empty();
    let mark = if status == 0 && said { '+' } else { '-' };
    (1, format!(" [ {mark} ]  {name}\n"))
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
