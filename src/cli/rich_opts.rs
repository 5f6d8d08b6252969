//! rich-init's option table and the help text drawn from it, for `rich_args.rs`. The
//! help is laid out as clap 4 laid it out (the tests compare them byte for byte).

/// A switch: given once at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Switch {
    SingleChild,
    NoJobControl,
    NoTermOnExit,
    Rich,
    Systemd,
    WarnOnReap,
    Quiet,
}

/// An option with one value, given once at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Single {
    Isolation,
    ForwardTo,
    ParentDeathSignal,
    Grace,
    ServicesDir,
    Services,
    Initscript,
    InitDir,
    StopDir,
    EnvFile,
    ProfileHook,
    OnCmdExit,
    StopCmd,
    CmdAfter,
    ControlSocket,
}

/// An option with one value each time, repeatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum List {
    Rewrite,
    RemapExit,
}

/// What an option does when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Switch(Switch),
    /// Counts its occurrences (`-vvv`).
    Count,
    /// One value; help and errors show it as `<NAME>`.
    Single(Single, &'static str),
    /// One value each time, as `Single`.
    List(List, &'static str),
    Help,
    Version,
}

/// One option of the table.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Opt {
    /// `--long`; the id that `given(id)` asks about is this name with `_` for `-` (as
    /// clap named the field).
    pub(super) long: &'static str,
    pub(super) short: Option<char>,
    pub(super) action: Action,
    /// The ids of the options it cannot be given with.
    pub(super) conflicts: &'static [&'static str],
    pub(super) help: &'static str,
}

impl Opt {
    /// `--long`, then ` <NAME>` for a value or `...` for a count: how help and the error
    /// messages name the option, whichever spelling was given.
    pub(super) fn display(&self) -> String {
        let suffix = match self.action {
            Action::Single(_, name) | Action::List(_, name) => format!(" <{name}>"),
            Action::Count => "...".to_string(),
            Action::Switch(_) | Action::Help | Action::Version => String::new(),
        };
        format!("--{}{suffix}", self.long)
    }

    pub(super) fn takes_value(&self) -> bool {
        matches!(self.action, Action::Single(..) | Action::List(..))
    }

    /// Whether this is the option with that id.
    pub(super) fn is(&self, id: &str) -> bool {
        self.long.len() == id.len()
            && (self.long.bytes().zip(id.bytes())).all(|(l, i)| l == i || (l, i) == (b'-', b'_'))
    }

    /// Whether these two may not be given together (either one says so).
    pub(super) fn conflicts_with(&self, other: &Opt) -> bool {
        self.conflicts.iter().any(|id| other.is(id)) || other.conflicts.iter().any(|id| self.is(id))
    }
}

const fn opt(long: &'static str, short: Option<char>, action: Action, help: &'static str) -> Opt {
    Opt {
        long,
        short,
        action,
        conflicts: &[],
        help,
    }
}

const fn switch(long: &'static str, s: Switch, help: &'static str) -> Opt {
    opt(long, None, Action::Switch(s), help)
}

const fn single(long: &'static str, (s, name): (Single, &'static str), help: &'static str) -> Opt {
    opt(long, None, Action::Single(s, name), help)
}

/// Every option, in the order help lists them.
pub(super) const OPTIONS: &[Opt] = &[
    single(
        "isolation",
        (Single::Isolation, "ISOLATION"),
        "Where CMD runs: its own session, owning the terminal (session); its own process group, \
         made the terminal's foreground group (group); or ours (none) [env: RICH_INIT_ISOLATION] \
         [default: session] [possible values: session, group, none]",
    ),
    single(
        "forward-to",
        (Single::ForwardTo, "FORWARD_TO"),
        "Who receives forwarded signals: CMD's whole process group, or CMD alone \
         [env: RICH_INIT_FORWARD_TO] [default: group] [possible values: group, child]",
    ),
    Opt {
        conflicts: &["isolation", "forward_to"],
        ..opt(
            "single-child",
            Some('c'),
            Action::Switch(Switch::SingleChild),
            "Shorthand for `--isolation none --forward-to child` (dumb-init's -c) \
             [env: RICH_INIT_SINGLE_CHILD=1]",
        )
    },
    opt(
        "rewrite",
        Some('r'),
        Action::List(List::Rewrite, "S:R"),
        "Forward signal S as R instead; R = 0 drops S. Names or numbers (TERM:QUIT, 15:3, \
         RTMIN+3:TERM); repeatable [env: RICH_INIT_REWRITE, comma-separated]",
    ),
    opt(
        "remap-exit",
        None,
        Action::List(List::RemapExit, "CODE"),
        "Exit 0 when CMD exits with CODE (0-255; 128+N for signal N); repeatable \
         [env: RICH_INIT_REMAP_EXIT, comma-separated]",
    ),
    single(
        "parent-death-signal",
        (Single::ParentDeathSignal, "SIG"),
        "Signal to receive when our parent dies (PR_SET_PDEATHSIG) \
         [env: RICH_INIT_PARENT_DEATH_SIGNAL]",
    ),
    switch(
        "no-job-control",
        Switch::NoJobControl,
        "Forward SIGTSTP/SIGTTIN/SIGTTOU as they are instead of stopping CMD's group and then \
         ourselves (job control applies with --isolation session only) \
         [env: RICH_INIT_NO_JOB_CONTROL=1]",
    ),
    switch(
        "no-term-on-exit",
        Switch::NoTermOnExit,
        "When CMD exits, do not send SIGTERM to what is left of its process group \
         [env: RICH_INIT_NO_TERM_ON_EXIT=1]",
    ),
    single(
        "grace",
        (Single::Grace, "DUR"),
        "After CMD exits, how long what it left (its group, and everything else below us) gets \
         to exit after SIGTERM before SIGKILL; 0 sends SIGTERM and exits at once \
         [env: RICH_INIT_GRACE] [default: 5s]",
    ),
    switch(
        "rich",
        Switch::Rich,
        "Rich mode: init scripts, then services, then CMD, and an orderly shutdown \
         [env: RICH_INIT_RICH=1, or PouchContainer's rich_mode=true]",
    ),
    switch(
        "systemd",
        Switch::Systemd,
        "Rich mode, booting the image's systemd units and SysV scripts (what default.target \
         pulls in) beside services.d; CMD is optional [env: RICH_INIT_SYSTEMD=1]",
    ),
    single(
        "services-dir",
        (Single::ServicesDir, "DIR"),
        "Rich mode: the directory of service files (*.toml) [env: RICH_INIT_SERVICES_DIR] \
         [default: /etc/rich-init/services.d]",
    ),
    single(
        "services",
        (Single::Services, "LIST"),
        "Rich mode: built-in services to run, e.g. crond,syslogd,sshd [env: RICH_INIT_SERVICES]",
    ),
    single(
        "initscript",
        (Single::Initscript, "PATH"),
        "Rich mode: a script to run first, before init.d [env: RICH_INIT_INITSCRIPT]",
    ),
    single(
        "init-dir",
        (Single::InitDir, "DIR"),
        "Rich mode: scripts run before services [env: RICH_INIT_INIT_DIR] \
         [default: /etc/rich-init/init.d]",
    ),
    single(
        "stop-dir",
        (Single::StopDir, "DIR"),
        "Rich mode: scripts run after services stopped [env: RICH_INIT_STOP_DIR] \
         [default: /etc/rich-init/stop.d]",
    ),
    single(
        "env-file",
        (Single::EnvFile, "PATH"),
        "Rich mode: where to write the environment for cron jobs and logins (\"\" for nowhere) \
         [env: RICH_INIT_ENV_FILE] [default: /run/rich-init/env]",
    ),
    single(
        "profile-hook",
        (Single::ProfileHook, "PATH"),
        "Rich mode: the login hook that sources the env file (\"\" for none) \
         [env: RICH_INIT_PROFILE_HOOK] [default: /etc/profile.d/rich-init-env.sh]",
    ),
    single(
        "on-cmd-exit",
        (Single::OnCmdExit, "WHAT"),
        "Rich mode: what CMD's exit does: shut everything down (shutdown), or leave the services \
         running until SIGTERM (stay) [env: RICH_INIT_ON_CMD_EXIT] [default: shutdown]",
    ),
    single(
        "stop-cmd",
        (Single::StopCmd, "WHEN"),
        "Rich mode: on shutdown, stop CMD before the services (first) or after them (last) \
         [env: RICH_INIT_STOP_CMD] [default: first]",
    ),
    single(
        "cmd-after",
        (Single::CmdAfter, "LIST"),
        "Rich mode: the services CMD waits for (comma-separated; \"\" for none); the others \
         start beside it [env: RICH_INIT_CMD_AFTER] [default: every service]",
    ),
    single(
        "control-socket",
        (Single::ControlSocket, "PATH"),
        "Rich mode: the control socket for `rich-init ctl` (\"\" for none) \
         [env: RICH_INIT_CONTROL_SOCKET] [default: /run/rich-init/control.sock]",
    ),
    switch(
        "warn-on-reap",
        Switch::WarnOnReap,
        "Log every reaped orphan at warning level [env: RICH_INIT_WARN_ON_REAP=1]",
    ),
    opt(
        "verbose",
        Some('v'),
        Action::Count,
        "More output: -v info, -vv debug, -vvv trace [env: RICH_INIT_VERBOSE=0..3]",
    ),
    opt(
        "quiet",
        Some('q'),
        Action::Switch(Switch::Quiet),
        "Errors only [env: RICH_INIT_QUIET=1]",
    ),
    opt("help", Some('h'), Action::Help, "Print help"),
    opt("version", Some('V'), Action::Version, "Print version"),
];

const ABOUT: &str =
    "A static pid 1: runs CMD, reaps every zombie, forwards signals, exits with CMD's code";

pub(super) const USAGE: &str = "rich-init [OPTIONS] -- CMD [ARGS...]";

const ARGUMENTS: &[(&str, &str)] = &[("[CMD]...", "The command to run and its arguments")];

const AFTER_HELP: &str = "Also answers to the names dumb-init, tini, tini-static and \
    docker-init, behaving as dumb-init 1.2.5 or tini 0.19 (symlink it under that name).\n\
    Exit status: CMD's own, 128+N if signal N killed it, 127 if CMD was not found, 126 if \
    it could not be run, 2 for a usage error.";

/// The option named `--long`.
pub(super) fn by_long(long: &str) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.long == long)
}

/// The option named `-c`.
pub(super) fn by_short(c: char) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.short == Some(c))
}

/// What `--help` and `-h` print.
pub(super) fn help() -> String {
    let options: Vec<(String, &str)> = OPTIONS
        .iter()
        .map(|o| {
            let short = o.short.map(|c| format!("-{c}, ")).unwrap_or_default();
            (format!("{short:>4}{}", o.display()), o.help)
        })
        .collect();
    let arguments: Vec<(String, &str)> = ARGUMENTS
        .iter()
        .map(|(name, help)| (name.to_string(), *help))
        .collect();
    format!(
        "{ABOUT}\n\nUsage: {USAGE}\n\nArguments:\n{}\nOptions:\n{}\n{AFTER_HELP}\n",
        section(&arguments),
        section(&options)
    )
}

/// One line per entry, the helps lined up two columns after the longest name.
fn section(entries: &[(String, &str)]) -> String {
    let width = entries
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    entries
        .iter()
        .map(|(name, help)| format!("  {name:<width$}  {help}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_conflicts_name_options() {
        for (i, o) in OPTIONS.iter().enumerate() {
            let later = &OPTIONS[i + 1..];
            assert!(later.iter().all(|p| p.long != o.long), "{o:?}");
            assert!(
                o.short.is_none() || later.iter().all(|p| p.short != o.short),
                "{o:?}"
            );
            for id in o.conflicts {
                assert!(OPTIONS.iter().any(|p| p.is(id)), "{id}");
            }
        }
    }

    #[test]
    fn display_names_the_long_form() {
        let cases = [
            ("isolation", "--isolation <ISOLATION>"),
            ("rewrite", "--rewrite <S:R>"),
            ("verbose", "--verbose..."),
            ("single-child", "--single-child"),
            ("help", "--help"),
        ];
        for (long, want) in cases {
            let o = by_long(long).map(Opt::display);
            assert_eq!(o.as_deref(), Some(want), "{long}");
        }
        assert_eq!(by_short('c').map(|o| o.long), Some("single-child"));
        assert_eq!(by_short('x'), None);
        assert_eq!(by_long("ric"), None);
    }

    #[test]
    fn help_lines_up_the_columns() {
        let text = help();
        let cases = [
            "  [CMD]...  The command to run and its arguments\n",
            "  -c, --single-child               Shorthand",
            "      --parent-death-signal <SIG>  Signal to receive",
            "  -V, --version                    Print version\n\nAlso answers",
        ];
        for want in cases {
            assert!(text.contains(want), "{want:?} in\n{text}");
        }
        assert!(text.ends_with("2 for a usage error.\n"));
    }
}
