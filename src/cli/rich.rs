//! rich-init's own command line (clap). Every option has a `RICH_INIT_<FLAG>`
//! environment mirror; an option given on the command line wins over its variable.
//! Usage errors print one line and exit with [`EXIT_USAGE`]. Turning the parsed options
//! and their variables into [`Settings`] is in `rich_env.rs`.

use super::error::CliError;
use super::rich_env::build;
use super::Parsed;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use std::ffi::OsString;

/// What `--version` prints after the name, in the form dockerd parses for its init
/// (`tini version 0.19.0 - git.de40ad0`): `rich-init version 0.1.0 - git.1a2b3c4`.
pub const VERSION: &str = concat!(
    "version ",
    env!("CARGO_PKG_VERSION"),
    " - git.",
    env!("RICH_INIT_GIT_COMMIT")
);

/// Exit code for a bad command line or environment variable.
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum IsolationArg {
    Session,
    Group,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ForwardArg {
    Group,
    Child,
}

/// A static pid 1: runs CMD, reaps every zombie, forwards signals, exits with CMD's code.
#[derive(Debug, Parser)]
#[command(
    name = "rich-init",
    version = VERSION,
    override_usage = "rich-init [OPTIONS] -- CMD [ARGS...]",
    after_help = "Also answers to the names dumb-init, tini, tini-static and docker-init, \
                  behaving as dumb-init 1.2.5 or tini 0.19 (symlink it under that name).\n\
                  Exit status: CMD's own, 128+N if signal N killed it, 127 if CMD was not \
                  found, 126 if it could not be run, 2 for a usage error."
)]
pub(super) struct Cli {
    /// Where CMD runs: its own session, owning the terminal (session); its own process
    /// group, made the terminal's foreground group (group); or ours (none)
    /// [env: RICH_INIT_ISOLATION]
    #[arg(long, value_enum, default_value = "session")]
    pub(super) isolation: IsolationArg,

    /// Who receives forwarded signals: CMD's whole process group, or CMD alone
    /// [env: RICH_INIT_FORWARD_TO]
    #[arg(long, value_enum, default_value = "group")]
    pub(super) forward_to: ForwardArg,

    /// Shorthand for `--isolation none --forward-to child` (dumb-init's -c)
    /// [env: RICH_INIT_SINGLE_CHILD=1]
    #[arg(short = 'c', long, conflicts_with_all = ["isolation", "forward_to"])]
    pub(super) single_child: bool,

    /// Forward signal S as R instead; R = 0 drops S. Names or numbers (TERM:QUIT, 15:3,
    /// RTMIN+3:TERM); repeatable [env: RICH_INIT_REWRITE, comma-separated]
    #[arg(short = 'r', long = "rewrite", value_name = "S:R")]
    pub(super) rewrite: Vec<String>,

    /// Exit 0 when CMD exits with CODE (0-255; 128+N for signal N); repeatable
    /// [env: RICH_INIT_REMAP_EXIT, comma-separated]
    #[arg(long = "remap-exit", value_name = "CODE")]
    pub(super) remap_exit: Vec<String>,

    /// Signal to receive when our parent dies (PR_SET_PDEATHSIG)
    /// [env: RICH_INIT_PARENT_DEATH_SIGNAL]
    #[arg(long, value_name = "SIG")]
    pub(super) parent_death_signal: Option<String>,

    /// Forward SIGTSTP/SIGTTIN/SIGTTOU as they are instead of stopping CMD's group and
    /// then ourselves (job control applies with --isolation session only)
    /// [env: RICH_INIT_NO_JOB_CONTROL=1]
    #[arg(long)]
    pub(super) no_job_control: bool,

    /// When CMD exits, do not send SIGTERM to what is left of its process group
    /// [env: RICH_INIT_NO_TERM_ON_EXIT=1]
    #[arg(long)]
    pub(super) no_term_on_exit: bool,

    /// After CMD exits, how long what it left (its group, and everything else below us)
    /// gets to exit after SIGTERM before SIGKILL; 0 sends SIGTERM and exits at once
    /// [env: RICH_INIT_GRACE] [default: 5s]
    #[arg(long, value_name = "DUR")]
    pub(super) grace: Option<String>,

    /// Rich mode: init scripts, then services, then CMD, and an orderly shutdown
    /// [env: RICH_INIT_RICH=1, or PouchContainer's rich_mode=true]
    #[arg(long)]
    pub(super) rich: bool,

    /// Rich mode, booting the image's systemd units and SysV scripts (what default.target
    /// pulls in) beside services.d; CMD is optional [env: RICH_INIT_SYSTEMD=1]
    #[arg(long)]
    pub(super) systemd: bool,

    /// Rich mode: the directory of service files (*.toml)
    /// [env: RICH_INIT_SERVICES_DIR] [default: /etc/rich-init/services.d]
    #[arg(long, value_name = "DIR")]
    pub(super) services_dir: Option<std::path::PathBuf>,

    /// Rich mode: built-in services to run, e.g. crond,syslogd,sshd [env: RICH_INIT_SERVICES]
    #[arg(long, value_name = "LIST")]
    pub(super) services: Option<String>,

    /// Rich mode: a script to run first, before init.d [env: RICH_INIT_INITSCRIPT]
    #[arg(long, value_name = "PATH")]
    pub(super) initscript: Option<std::path::PathBuf>,

    /// Rich mode: scripts run before services [env: RICH_INIT_INIT_DIR]
    /// [default: /etc/rich-init/init.d]
    #[arg(long, value_name = "DIR")]
    pub(super) init_dir: Option<std::path::PathBuf>,

    /// Rich mode: scripts run after services stopped [env: RICH_INIT_STOP_DIR]
    /// [default: /etc/rich-init/stop.d]
    #[arg(long, value_name = "DIR")]
    pub(super) stop_dir: Option<std::path::PathBuf>,

    /// Rich mode: where to write the environment for cron jobs and logins ("" for
    /// nowhere) [env: RICH_INIT_ENV_FILE] [default: /run/rich-init/env]
    #[arg(long, value_name = "PATH")]
    pub(super) env_file: Option<OsString>,

    /// Rich mode: the login hook that sources the env file ("" for none)
    /// [env: RICH_INIT_PROFILE_HOOK] [default: /etc/profile.d/rich-init-env.sh]
    #[arg(long, value_name = "PATH")]
    pub(super) profile_hook: Option<OsString>,

    /// Rich mode: what CMD's exit does: shut everything down (shutdown), or leave the
    /// services running until SIGTERM (stay) [env: RICH_INIT_ON_CMD_EXIT] [default: shutdown]
    #[arg(long, value_name = "WHAT")]
    pub(super) on_cmd_exit: Option<String>,

    /// Rich mode: on shutdown, stop CMD before the services (first) or after them (last)
    /// [env: RICH_INIT_STOP_CMD] [default: first]
    #[arg(long, value_name = "WHEN")]
    pub(super) stop_cmd: Option<String>,

    /// Rich mode: the services CMD waits for (comma-separated; "" for none); the others
    /// start beside it [env: RICH_INIT_CMD_AFTER] [default: every service]
    #[arg(long, value_name = "LIST")]
    pub(super) cmd_after: Option<String>,

    /// Rich mode: the control socket for `rich-init ctl` ("" for none)
    /// [env: RICH_INIT_CONTROL_SOCKET] [default: /run/rich-init/control.sock]
    #[arg(long, value_name = "PATH")]
    pub(super) control_socket: Option<OsString>,

    /// Log every reaped orphan at warning level [env: RICH_INIT_WARN_ON_REAP=1]
    #[arg(long)]
    pub(super) warn_on_reap: bool,

    /// More output: -v info, -vv debug, -vvv trace [env: RICH_INIT_VERBOSE=0..3]
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub(super) verbose: u8,

    /// Errors only [env: RICH_INIT_QUIET=1]
    #[arg(short = 'q', long)]
    pub(super) quiet: bool,

    /// The command to run and its arguments
    #[arg(value_name = "CMD", trailing_var_arg = true, num_args = 1..)]
    pub(super) command: Vec<OsString>,
}

impl Cli {
    /// What clap yields for a command line without options (checked by a unit test).
    fn defaults(command: Vec<OsString>) -> Cli {
        Cli {
            isolation: IsolationArg::Session,
            forward_to: ForwardArg::Group,
            single_child: false,
            rewrite: Vec::new(),
            remap_exit: Vec::new(),
            parent_death_signal: None,
            no_job_control: false,
            no_term_on_exit: false,
            grace: None,
            rich: false,
            systemd: false,
            services_dir: None,
            services: None,
            initscript: None,
            init_dir: None,
            stop_dir: None,
            env_file: None,
            profile_hook: None,
            control_socket: None,
            on_cmd_exit: None,
            stop_cmd: None,
            cmd_after: None,
            warn_on_reap: false,
            verbose: 0,
            quiet: false,
            command,
        }
    }
}

pub(super) fn usage_error(line: &str) -> Parsed {
    Parsed::stderr(EXIT_USAGE, format!("rich-init: {line}\n"))
}

fn refused(e: &CliError) -> Parsed {
    Parsed::stderr(e.exit_code(), format!("rich-init: {e}\n"))
}

fn from_cli(m: &ArgMatches, id: &str) -> bool {
    m.value_source(id) == Some(ValueSource::CommandLine)
}

/// `pid1`: we are pid 1 (of our pid namespace); see [`super::rich_mode`].
pub fn parse(args: Vec<OsString>, env: &dyn Fn(&str) -> Option<String>, pid1: bool) -> Parsed {
    let sub = |make: fn(Vec<String>) -> Parsed| {
        make(
            args.iter()
                .skip(2)
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        )
    };
    match args.get(1).and_then(|a| a.to_str()) {
        Some("ctl") => return sub(Parsed::Ctl),
        Some("hook") => return sub(Parsed::Hook),
        Some("oci") => return sub(Parsed::Oci),
        _ => {}
    }
    let result = match without_options(&args) {
        // No options: skip clap, whose set-up costs start-up time in every container.
        Some(command) => build(Cli::defaults(command), &|_| false, env, args.first(), pid1),
        None => return parse_with_clap(&args, env, pid1),
    };
    match result {
        Ok(settings) => Parsed::Run(Box::new(settings)),
        Err(e) => refused(&e),
    }
}

/// Kept out of line: clap's builder needs a large stack frame, and a frame that size is
/// probed page by page on entry even when this path is not taken.
#[inline(never)]
#[cold]
fn parse_with_clap(args: &[OsString], env: &dyn Fn(&str) -> Option<String>, pid1: bool) -> Parsed {
    let matches = match Cli::command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => return clap_error(&e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return clap_error(&e),
    };
    match build(cli, &|id| from_cli(&matches, id), env, args.first(), pid1) {
        Ok(settings) => Parsed::Run(Box::new(settings)),
        Err(e) => refused(&e),
    }
}

/// CMD when the command line has no options at all (`rich-init -- CMD...` or
/// `rich-init CMD...`), `None` when clap must look at it.
fn without_options(args: &[OsString]) -> Option<Vec<OsString>> {
    let first = args.get(1)?;
    if first == "--" {
        return Some(args.get(2..).unwrap_or_default().to_vec());
    }
    let starts_with_dash = first.as_encoded_bytes().first() == Some(&b'-');
    (!starts_with_dash).then(|| args.get(1..).unwrap_or_default().to_vec())
}

fn clap_error(e: &clap::Error) -> Parsed {
    use clap::error::ErrorKind;
    let text = e.render().to_string();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Parsed::stdout(0, text),
        _ => {
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            usage_error(&format!("{first}; see rich-init --help"))
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    pub(in crate::cli) use crate::cli::test_support::settings;
    use crate::cli::test_support::{argv, env_of};
    use crate::cli::{ForwardTo, Isolation, Subreaper};

    pub(in crate::cli) fn parse_with(list: &[&str], vars: &[(&str, &str)]) -> Parsed {
        parse(argv(list), &env_of(vars), true)
    }

    /// As a second init would parse, one that is not pid 1 (`podman exec`).
    pub(in crate::cli) fn parse_not_pid1(list: &[&str], vars: &[(&str, &str)]) -> Parsed {
        parse(argv(list), &env_of(vars), false)
    }

    pub(in crate::cli) fn error_line(p: Parsed) -> String {
        match p {
            Parsed::Exit {
                code: EXIT_USAGE,
                stdout,
                stderr,
            } if stdout.is_empty() => {
                assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
                stderr
            }
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let s = settings(parse_with(&["rich-init", "--", "echo", "-n", "hi"], &[]));
        assert_eq!(s.command, ["echo", "-n", "hi"].map(OsString::from).to_vec());
        assert_eq!(
            (s.isolation, s.forward_to, s.subreaper),
            (Isolation::Session, ForwardTo::Group, Subreaper::Auto)
        );
        assert!(s.tty_job_control && s.term_on_exit && !s.warn_on_reap);
        assert_eq!(s.rewrite[libc::SIGTSTP as usize], libc::SIGSTOP);
        assert_eq!(s.verbosity, 1);
        let s = settings(parse_with(&["rich-init", "--isolation", "none", "x"], &[]));
        assert_eq!(s.forward_to, ForwardTo::Child);
        let s = settings(parse_with(&["rich-init", "sh", "-c", "exit 3"], &[]));
        assert_eq!(s.command.len(), 3);
    }

    #[test]
    fn fast_path_matches_clap() {
        let argvs: &[&[&str]] = &[
            &["rich-init", "--", "echo", "-n", "hi"],
            &["rich-init", "sh", "-c", "exit 3"],
            &["rich-init", "--", "--help"],
            &["rich-init", "--"],
            &["rich-init", "--", "-v"],
        ];
        let envs: &[&[(&str, &str)]] = &[
            &[],
            &[
                ("RICH_INIT_ISOLATION", "none"),
                ("RICH_INIT_REWRITE", "TERM:INT"),
            ],
            &[("RICH_INIT_VERBOSE", "2"), ("RICH_INIT_SINGLE_CHILD", "1")],
            &[("RICH_INIT_REMAP_EXIT", "300")],
        ];
        for argv in argvs {
            let args: Vec<OsString> = argv.iter().map(OsString::from).collect();
            assert!(
                without_options(&args).is_some(),
                "{argv:?} takes the fast path"
            );
            for vars in envs {
                let owned: Vec<(String, String)> = vars
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let env =
                    move |key: &str| owned.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
                let fast = parse(args.clone(), &env, true);
                let slow = parse_with_clap(&args, &env, true);
                assert_eq!(fast, slow, "{argv:?} {vars:?}");
            }
        }
        for argv in [
            &["rich-init"][..],
            &["rich-init", "-v", "x"],
            &["rich-init", "--bogus"],
        ] {
            let args: Vec<OsString> = argv.iter().map(OsString::from).collect();
            assert!(
                without_options(&args).is_none(),
                "{argv:?} goes through clap"
            );
        }
    }

    /// dockerd's parseInitVersion: split at " - ", the second part must be `git.COMMIT`
    /// (exactly one dot), or the first must start with "tini version ".
    fn docker_reads(v: &str) -> Option<String> {
        let parts: Vec<&str> = v.split(" - ").collect();
        let git: Vec<&str> = parts.get(1)?.trim().split('.').collect();
        match git[..] {
            ["git", commit] if !commit.is_empty() => Some(commit.to_string()),
            _ => None,
        }
    }

    #[test]
    fn version_is_what_docker_parses() {
        for flag in ["--version", "-V"] {
            let Parsed::Exit {
                code: 0, stdout, ..
            } = parse_with(&["rich-init", flag], &[])
            else {
                panic!("{flag}: not an exit");
            };
            let want = format!(
                "rich-init version {} - git.{}\n",
                env!("CARGO_PKG_VERSION"),
                env!("RICH_INIT_GIT_COMMIT")
            );
            assert_eq!(stdout, want, "{flag}");
            assert_eq!(
                docker_reads(&stdout).as_deref(),
                Some(env!("RICH_INIT_GIT_COMMIT")),
                "{stdout}"
            );
        }
        let cases = [
            ("tini version 0.19.0 - git.de40ad0", Some("de40ad0")),
            ("rich-init 0.1.0", None),
            ("x - git.a.b", None),
        ];
        for (line, want) in cases {
            assert_eq!(docker_reads(line).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn help_and_version_go_to_stdout() {
        for flag in ["--help", "--version", "-V"] {
            match parse_with(&["rich-init", flag], &[]) {
                Parsed::Exit {
                    code: 0,
                    stdout,
                    stderr,
                } => {
                    assert!(stdout.contains("rich-init"), "{flag}: {stdout}");
                    assert!(stderr.is_empty());
                }
                other => panic!("{flag}: {other:?}"),
            }
        }
    }
}
