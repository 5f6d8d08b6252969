//! rich-init's own command line (clap). Every option has a `RICH_INIT_<FLAG>`
//! environment mirror; an option given on the command line wins over its variable.
//! Usage errors print one line and exit with [`EXIT_USAGE`].

use super::{ForwardTo, Isolation, Parsed, Personality, Settings, Subreaper};
use crate::signame;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use std::ffi::OsString;

/// Exit code for a bad command line or environment variable.
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum IsolationArg {
    Session,
    Group,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ForwardArg {
    Group,
    Child,
}

/// A static pid 1: runs CMD, reaps every zombie, forwards signals, exits with CMD's code.
#[derive(Debug, Parser)]
#[command(
    name = "rich-init",
    version,
    override_usage = "rich-init [OPTIONS] -- CMD [ARGS...]",
    after_help = "Also answers to the names dumb-init, tini, tini-static and docker-init, \
                  behaving as dumb-init 1.2.5 or tini 0.19 (symlink it under that name).\n\
                  Exit status: CMD's own, 128+N if signal N killed it, 127 if CMD was not \
                  found, 126 if it could not be run, 2 for a usage error."
)]
struct Cli {
    /// Where CMD runs: its own session, owning the terminal (session); its own process
    /// group, made the terminal's foreground group (group); or ours (none)
    /// [env: RICH_INIT_ISOLATION]
    #[arg(long, value_enum, default_value = "session")]
    isolation: IsolationArg,

    /// Who receives forwarded signals: CMD's whole process group, or CMD alone
    /// [env: RICH_INIT_FORWARD_TO]
    #[arg(long, value_enum, default_value = "group")]
    forward_to: ForwardArg,

    /// Shorthand for `--isolation none --forward-to child` (dumb-init's -c)
    /// [env: RICH_INIT_SINGLE_CHILD=1]
    #[arg(short = 'c', long, conflicts_with_all = ["isolation", "forward_to"])]
    single_child: bool,

    /// Forward signal S as R instead; R = 0 drops S. Names or numbers (TERM:QUIT, 15:3,
    /// RTMIN+3:TERM); repeatable [env: RICH_INIT_REWRITE, comma-separated]
    #[arg(short = 'r', long = "rewrite", value_name = "S:R")]
    rewrite: Vec<String>,

    /// Exit 0 when CMD exits with CODE (0-255; 128+N for signal N); repeatable
    /// [env: RICH_INIT_REMAP_EXIT, comma-separated]
    #[arg(long = "remap-exit", value_name = "CODE")]
    remap_exit: Vec<String>,

    /// Signal to receive when our parent dies (PR_SET_PDEATHSIG)
    /// [env: RICH_INIT_PARENT_DEATH_SIGNAL]
    #[arg(long, value_name = "SIG")]
    parent_death_signal: Option<String>,

    /// Forward SIGTSTP/SIGTTIN/SIGTTOU as they are instead of stopping CMD's group and
    /// then ourselves (job control applies with --isolation session only)
    /// [env: RICH_INIT_NO_JOB_CONTROL=1]
    #[arg(long)]
    no_job_control: bool,

    /// When CMD exits, do not send SIGTERM to what is left of its process group
    /// [env: RICH_INIT_NO_TERM_ON_EXIT=1]
    #[arg(long)]
    no_term_on_exit: bool,

    /// Log every reaped orphan at warning level [env: RICH_INIT_WARN_ON_REAP=1]
    #[arg(long)]
    warn_on_reap: bool,

    /// More output: -v info, -vv debug, -vvv trace [env: RICH_INIT_VERBOSE=0..3]
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    verbose: u8,

    /// Errors only [env: RICH_INIT_QUIET=1]
    #[arg(short = 'q', long)]
    quiet: bool,

    /// The command to run and its arguments
    #[arg(value_name = "CMD", trailing_var_arg = true, num_args = 1..)]
    command: Vec<OsString>,
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
            warn_on_reap: false,
            verbose: 0,
            quiet: false,
            command,
        }
    }
}

fn usage_error(line: &str) -> Parsed {
    Parsed::stderr(EXIT_USAGE, format!("rich-init: {line}\n"))
}

fn from_cli(m: &ArgMatches, id: &str) -> bool {
    m.value_source(id) == Some(ValueSource::CommandLine)
}

fn env_flag(name: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("{name}={value:?} is not a boolean; use 1 or 0")),
    }
}

/// Parse `S:R` where both sides are signal names or numbers; `R` may be 0 (drop).
pub fn parse_rewrite(spec: &str) -> Result<(i32, i32), String> {
    let Some((from, to)) = spec.split_once(':') else {
        return Err(format!(
            "invalid --rewrite {spec:?}: expected S:R, such as TERM:QUIT or 15:0"
        ));
    };
    let not_signal = |s: &str| {
        format!("invalid --rewrite {spec:?}: {s:?} is not a signal (use a name such as TERM or a number 1-64)")
    };
    let from_sig = signame::parse(from).ok_or_else(|| not_signal(from))?;
    let to_sig = if to.trim() == "0" {
        0
    } else {
        signame::parse(to).ok_or_else(|| not_signal(to))?
    };
    if from_sig == libc::SIGCHLD {
        return Err(format!("invalid --rewrite {spec:?}: SIGCHLD is how children are reaped; it cannot be rewritten"));
    }
    if from_sig == libc::SIGKILL || from_sig == libc::SIGSTOP {
        return Err(format!(
            "invalid --rewrite {spec:?}: {} cannot be caught, so it cannot be rewritten",
            signame::name(from_sig)
        ));
    }
    Ok((from_sig, to_sig))
}

fn parse_exit_code(text: &str) -> Result<u8, String> {
    text.trim()
        .parse::<u8>()
        .map_err(|_| format!("invalid --remap-exit {text:?}: expected an exit code from 0 to 255"))
}

pub fn parse(args: Vec<OsString>, env: &dyn Fn(&str) -> Option<String>) -> Parsed {
    let result = match without_options(&args) {
        // No options: skip clap, whose set-up costs start-up time in every container.
        Some(command) => build(Cli::defaults(command), &|_| false, env, args.first()),
        None => return parse_with_clap(&args, env),
    };
    match result {
        Ok(settings) => Parsed::Run(Box::new(settings)),
        Err(line) => usage_error(&line),
    }
}

/// Kept out of line: clap's builder needs a large stack frame, and a frame that size is
/// probed page by page on entry even when this path is not taken.
#[inline(never)]
#[cold]
fn parse_with_clap(args: &[OsString], env: &dyn Fn(&str) -> Option<String>) -> Parsed {
    let matches = match Cli::command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => return clap_error(&e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return clap_error(&e),
    };
    match build(cli, &|id| from_cli(&matches, id), env, args.first()) {
        Ok(settings) => Parsed::Run(Box::new(settings)),
        Err(line) => usage_error(&line),
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

/// `given(id)` says whether option `id` was on the command line (it then beats its
/// environment variable).
fn build(
    cli: Cli,
    given: &dyn Fn(&str) -> bool,
    env: &dyn Fn(&str) -> Option<String>,
    argv0: Option<&OsString>,
) -> Result<Settings, String> {
    let var = |flag: &str, key: &str| if given(flag) { None } else { env(key) };
    let var_flag = |flag: &str, key: &str, given: bool| -> Result<bool, String> {
        match var(flag, key) {
            Some(v) => env_flag(key, &v),
            None => Ok(given),
        }
    };

    let mut isolation = match var("isolation", "RICH_INIT_ISOLATION") {
        Some(v) => IsolationArg::from_str(v.trim(), true).map_err(|_| {
            format!("RICH_INIT_ISOLATION={v:?} is not valid; use session, group or none")
        })?,
        None => cli.isolation,
    };
    let mut forward_to = match var("forward_to", "RICH_INIT_FORWARD_TO") {
        Some(v) => ForwardArg::from_str(v.trim(), true)
            .map_err(|_| format!("RICH_INIT_FORWARD_TO={v:?} is not valid; use group or child"))?,
        None => cli.forward_to,
    };
    let forward_explicit = given("forward_to") || env("RICH_INIT_FORWARD_TO").is_some();
    if var_flag("single_child", "RICH_INIT_SINGLE_CHILD", cli.single_child)? {
        // From the environment it yields to --isolation/--forward-to given on the command
        // line (with -c, clap refuses those as conflicting).
        if !given("isolation") {
            isolation = IsolationArg::None;
        }
        if !given("forward_to") {
            forward_to = ForwardArg::Child;
        }
    }
    if isolation == IsolationArg::None && forward_to == ForwardArg::Group && !forward_explicit {
        forward_to = ForwardArg::Child;
    }
    if isolation == IsolationArg::None && forward_to == ForwardArg::Group {
        return Err(
            "--forward-to group needs CMD in its own group; use --isolation session or group"
                .into(),
        );
    }
    let rewrites = match var("rewrite", "RICH_INIT_REWRITE") {
        Some(v) => v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .collect(),
        None => cli.rewrite,
    };
    let remaps = match var("remap_exit", "RICH_INIT_REMAP_EXIT") {
        Some(v) => v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .collect(),
        None => cli.remap_exit,
    };
    let pdeath = match var("parent_death_signal", "RICH_INIT_PARENT_DEATH_SIGNAL").or(cli.parent_death_signal) {
        Some(v) => Some(signame::parse(&v).ok_or_else(|| {
            format!("invalid --parent-death-signal {v:?}: not a signal (use a name such as KILL or a number 1-64)")
        })?),
        None => None,
    };
    let job_control = !var_flag(
        "no_job_control",
        "RICH_INIT_NO_JOB_CONTROL",
        cli.no_job_control,
    )?;
    let term_on_exit = !var_flag(
        "no_term_on_exit",
        "RICH_INIT_NO_TERM_ON_EXIT",
        cli.no_term_on_exit,
    )?;
    let warn_on_reap = var_flag("warn_on_reap", "RICH_INIT_WARN_ON_REAP", cli.warn_on_reap)?;
    let quiet = var_flag("quiet", "RICH_INIT_QUIET", cli.quiet)?;
    let verbose = match var("verbose", "RICH_INIT_VERBOSE") {
        Some(v) => v
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= 3)
            .ok_or_else(|| format!("RICH_INIT_VERBOSE={v:?} is not valid; use 0 to 3"))?,
        None => cli.verbose.min(3),
    };
    if cli.command.is_empty() {
        return Err("no command to run; usage: rich-init [OPTIONS] -- CMD [ARGS...]".into());
    }

    let session = isolation == IsolationArg::Session;
    let mut rewrite = Settings::identity_rewrite();
    let mut user_set = [false; 65];
    for spec in &rewrites {
        let (from, to) = parse_rewrite(spec)?;
        if let Ok(i) = usize::try_from(from) {
            rewrite[i] = to;
            user_set[i] = true;
        }
    }
    let tty_job_control = session && job_control;
    if tty_job_control {
        for sig in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
            if let Ok(i) = usize::try_from(sig) {
                if !user_set[i] {
                    rewrite[i] = libc::SIGSTOP;
                }
            }
        }
    }
    let remap_to_zero = remaps
        .iter()
        .map(|t| parse_exit_code(t))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Settings {
        personality: Personality::Rich,
        argv0: argv0
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rich-init".into()),
        command: cli.command,
        isolation: match isolation {
            IsolationArg::Session => Isolation::Session,
            IsolationArg::Group => Isolation::Group,
            IsolationArg::None => Isolation::None,
        },
        forward_to: match forward_to {
            ForwardArg::Group => ForwardTo::Group,
            ForwardArg::Child => ForwardTo::Child,
        },
        rewrite,
        tty_job_control,
        ignore_ttin_ttou: false,
        subreaper: Subreaper::Auto,
        parent_death_signal: pdeath,
        remap_to_zero,
        verbosity: if quiet { 0 } else { 1 + verbose },
        warn_on_reap,
        term_on_exit,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(list: &[&str], vars: &[(&str, &str)]) -> Parsed {
        let owned: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |key: &str| owned.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        parse(list.iter().map(OsString::from).collect(), &env)
    }

    fn settings(p: Parsed) -> Settings {
        match p {
            Parsed::Run(s) => *s,
            other => panic!("expected Run, got {other:?}"),
        }
    }

    fn error_line(p: Parsed) -> String {
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
    fn rewrite_specs() {
        type Case<'a> = (&'a str, Result<(i32, i32), &'a str>);
        let cases: &[Case] = &[
            ("TERM:QUIT", Ok((15, 3))),
            ("15:0", Ok((15, 0))),
            ("SIGUSR1:usr2", Ok((10, 12))),
            ("RTMIN+3:TERM", Ok((37, 15))),
            ("HUP:KILL", Ok((1, 9))),
            ("TERM", Err("expected S:R")),
            ("FOO:1", Err("\"FOO\" is not a signal")),
            ("1:99", Err("\"99\" is not a signal")),
            ("CHLD:TERM", Err("SIGCHLD is how children are reaped")),
            ("KILL:TERM", Err("cannot be caught")),
            ("0:1", Err("\"0\" is not a signal")),
        ];
        for (spec, want) in cases {
            match (parse_rewrite(spec), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, *w, "{spec}"),
                (Err(got), Err(w)) => assert!(got.contains(w), "{spec}: {got}"),
                (got, w) => panic!("{spec}: got {got:?}, want {w:?}"),
            }
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
    fn options_and_env_mirrors() {
        let s = settings(parse_with(
            &[
                "rich-init",
                "-c",
                "-r",
                "TERM:QUIT",
                "--remap-exit",
                "143",
                "-vv",
                "--",
                "x",
            ],
            &[],
        ));
        assert_eq!(
            (s.isolation, s.forward_to),
            (Isolation::None, ForwardTo::Child)
        );
        assert!(!s.tty_job_control);
        assert_eq!(s.rewrite[libc::SIGTSTP as usize], libc::SIGTSTP);
        assert_eq!(s.rewrite[15], 3);
        assert_eq!(s.remap_to_zero, vec![143]);
        assert_eq!(s.verbosity, 3);

        let vars = [
            ("RICH_INIT_ISOLATION", "group"),
            ("RICH_INIT_FORWARD_TO", "child"),
            ("RICH_INIT_REWRITE", "TERM:INT,HUP:0"),
            ("RICH_INIT_REMAP_EXIT", "3,4"),
            ("RICH_INIT_PARENT_DEATH_SIGNAL", "KILL"),
            ("RICH_INIT_QUIET", "1"),
            ("RICH_INIT_WARN_ON_REAP", "yes"),
        ];
        let s = settings(parse_with(&["rich-init", "x"], &vars));
        assert_eq!(
            (s.isolation, s.forward_to),
            (Isolation::Group, ForwardTo::Child)
        );
        assert_eq!((s.rewrite[15], s.rewrite[1]), (2, 0));
        assert_eq!(s.remap_to_zero, vec![3, 4]);
        assert_eq!(s.parent_death_signal, Some(9));
        assert_eq!(s.verbosity, 0);
        assert!(s.warn_on_reap);

        // The command line wins over the environment.
        let single = [("RICH_INIT_SINGLE_CHILD", "1")];
        let s = settings(parse_with(
            &["rich-init", "--isolation", "session", "x"],
            &single,
        ));
        assert_eq!(
            (s.isolation, s.forward_to),
            (Isolation::Session, ForwardTo::Child)
        );
        let s = settings(parse_with(
            &[
                "rich-init",
                "--isolation",
                "session",
                "-r",
                "USR1:USR2",
                "x",
            ],
            &vars,
        ));
        assert_eq!(s.isolation, Isolation::Session);
        assert_eq!((s.rewrite[15], s.rewrite[10]), (15, 12));
    }

    #[test]
    fn bad_input_is_one_line() {
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (&["rich-init"], &[], "no command to run"),
            (&["rich-init", "--"], &[], "no command to run"),
            (
                &["rich-init", "-c", "--isolation", "group", "x"],
                &[],
                "cannot be used with",
            ),
            (
                &["rich-init", "--bogus", "x"],
                &[],
                "unexpected argument '--bogus'",
            ),
            (
                &["rich-init", "-r", "FOO:1", "x"],
                &[],
                "\"FOO\" is not a signal",
            ),
            (
                &["rich-init", "--isolation", "vm", "x"],
                &[],
                "invalid value 'vm'",
            ),
            (&["rich-init", "--remap-exit", "300", "x"], &[], "0 to 255"),
            (
                &["rich-init", "--parent-death-signal", "NOPE", "x"],
                &[],
                "not a signal",
            ),
            (
                &[
                    "rich-init",
                    "--isolation",
                    "none",
                    "--forward-to",
                    "group",
                    "x",
                ],
                &[],
                "--forward-to group needs",
            ),
            (
                &["rich-init", "x"],
                &[("RICH_INIT_QUIET", "maybe")],
                "RICH_INIT_QUIET",
            ),
            (
                &["rich-init", "x"],
                &[("RICH_INIT_VERBOSE", "9")],
                "RICH_INIT_VERBOSE",
            ),
            (
                &["rich-init", "x"],
                &[("RICH_INIT_ISOLATION", "vm")],
                "RICH_INIT_ISOLATION",
            ),
        ];
        for (argv, vars, want) in cases {
            let line = error_line(parse_with(argv, vars));
            assert!(
                line.starts_with("rich-init: ") && line.contains(want),
                "{argv:?}: {line}"
            );
        }
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
                let fast = parse(args.clone(), &env);
                let slow = parse_with_clap(&args, &env);
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
