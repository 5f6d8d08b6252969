//! The clap-derive command line rich-init had before its own parser, kept for the tests
//! as the oracle: `rich_args_tests.rs` checks that both read every command line of a
//! large table alike (through the same [`build`] and the same one-line usage error),
//! help and version text included.

use super::rich::{refused, usage_error, Cli, ForwardArg, IsolationArg, VERSION};
use super::rich_env::build;
use super::Parsed;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use std::ffi::OsString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClapIsolation {
    Session,
    Group,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClapForward {
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
struct ClapCli {
    /// Where CMD runs: its own session, owning the terminal (session); its own process
    /// group, made the terminal's foreground group (group); or ours (none)
    /// [env: RICH_INIT_ISOLATION]
    #[arg(long, value_enum, default_value = "session")]
    pub(super) isolation: ClapIsolation,

    /// Who receives forwarded signals: CMD's whole process group, or CMD alone
    /// [env: RICH_INIT_FORWARD_TO]
    #[arg(long, value_enum, default_value = "group")]
    pub(super) forward_to: ClapForward,

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

impl From<ClapIsolation> for IsolationArg {
    fn from(value: ClapIsolation) -> IsolationArg {
        match value {
            ClapIsolation::Session => IsolationArg::Session,
            ClapIsolation::Group => IsolationArg::Group,
            ClapIsolation::None => IsolationArg::None,
        }
    }
}

impl From<ClapForward> for ForwardArg {
    fn from(value: ClapForward) -> ForwardArg {
        match value {
            ClapForward::Group => ForwardArg::Group,
            ClapForward::Child => ForwardArg::Child,
        }
    }
}

impl From<ClapCli> for Cli {
    fn from(c: ClapCli) -> Cli {
        Cli {
            isolation: c.isolation.into(),
            forward_to: c.forward_to.into(),
            single_child: c.single_child,
            rewrite: c.rewrite,
            remap_exit: c.remap_exit,
            parent_death_signal: c.parent_death_signal,
            no_job_control: c.no_job_control,
            no_term_on_exit: c.no_term_on_exit,
            grace: c.grace,
            rich: c.rich,
            systemd: c.systemd,
            services_dir: c.services_dir,
            services: c.services,
            initscript: c.initscript,
            init_dir: c.init_dir,
            stop_dir: c.stop_dir,
            env_file: c.env_file,
            profile_hook: c.profile_hook,
            on_cmd_exit: c.on_cmd_exit,
            stop_cmd: c.stop_cmd,
            cmd_after: c.cmd_after,
            control_socket: c.control_socket,
            warn_on_reap: c.warn_on_reap,
            verbose: c.verbose,
            quiet: c.quiet,
            command: c.command,
        }
    }
}

fn from_cli(m: &ArgMatches, id: &str) -> bool {
    m.value_source(id) == Some(ValueSource::CommandLine)
}

/// What the old parser made of a command line that has options (argv[0] included).
pub(super) fn parse_with_clap(
    args: &[OsString],
    env: &dyn Fn(&str) -> Option<String>,
    pid1: bool,
) -> Parsed {
    // Built once per thread: building it is most of clap's time in a debug build.
    thread_local!(static COMMAND: clap::Command = ClapCli::command());
    let matches = match COMMAND.with(|command| command.clone().try_get_matches_from(args)) {
        Ok(m) => m,
        Err(e) => return clap_error(&e),
    };
    let cli = match ClapCli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return clap_error(&e),
    };
    match build(
        cli.into(),
        &|id| from_cli(&matches, id),
        env,
        args.first(),
        pid1,
    ) {
        Ok(settings) => Parsed::Run(Box::new(settings)),
        Err(e) => refused(&e),
    }
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

/// The variables' words: clap's `ValueEnum::from_str`, in any case as `build` asks.
#[test]
fn from_name_is_value_enum() {
    let words = [
        "session",
        "group",
        "none",
        "child",
        "SESSION",
        "Group",
        "nOnE",
        "CHILD",
        " none",
        "none ",
        "",
        "sess",
        "sessions",
        "ſession",
        "groups",
        "\u{0}none",
        "vm",
    ];
    for word in words {
        for ignore_case in [false, true] {
            let clap = ClapIsolation::from_str(word, ignore_case)
                .ok()
                .map(IsolationArg::from);
            assert_eq!(IsolationArg::from_name(word, ignore_case), clap, "{word:?}");
            let clap = ClapForward::from_str(word, ignore_case)
                .ok()
                .map(ForwardArg::from);
            assert_eq!(ForwardArg::from_name(word, ignore_case), clap, "{word:?}");
        }
    }
}
