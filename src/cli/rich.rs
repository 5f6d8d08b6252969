//! rich-init's own command line. Every option has a `RICH_INIT_<FLAG>` environment
//! mirror; an option given on the command line wins over its variable. Usage errors print
//! one line and exit with [`EXIT_USAGE`]. The options are read by `rich_args.rs` (from
//! the table in `rich_opts.rs`); turning them and their variables into [`Settings`] is in
//! `rich_env.rs`.

use super::error::CliError;
use super::rich_args::{self, Request};
use super::rich_env::build;
use super::rich_opts;
use super::Parsed;
use std::ffi::OsString;
use std::path::PathBuf;

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

/// `--isolation`'s words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IsolationArg {
    Session,
    Group,
    None,
}

/// `--forward-to`'s words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ForwardArg {
    Group,
    Child,
}

impl IsolationArg {
    const NAMES: &[(&str, IsolationArg)] = &[
        ("session", IsolationArg::Session),
        ("group", IsolationArg::Group),
        ("none", IsolationArg::None),
    ];

    /// `ignore_case`: in any case of ASCII letters (the variable's rule; the option's
    /// word is exact).
    pub(super) fn from_name(text: &str, ignore_case: bool) -> Option<IsolationArg> {
        named(IsolationArg::NAMES, text, ignore_case)
    }
}

impl ForwardArg {
    const NAMES: &[(&str, ForwardArg)] =
        &[("group", ForwardArg::Group), ("child", ForwardArg::Child)];

    /// As [`IsolationArg::from_name`].
    pub(super) fn from_name(text: &str, ignore_case: bool) -> Option<ForwardArg> {
        named(ForwardArg::NAMES, text, ignore_case)
    }
}

fn named<T: Copy>(names: &[(&str, T)], text: &str, ignore_case: bool) -> Option<T> {
    names
        .iter()
        .find(|(name, _)| {
            if ignore_case {
                name.eq_ignore_ascii_case(text)
            } else {
                *name == text
            }
        })
        .map(|(_, value)| *value)
}

/// The options as given on the command line (what each means: `rich_opts.rs`, or
/// `rich-init --help`); `None`, empty or false when not given.
#[derive(Debug)]
pub(super) struct Cli {
    pub(super) isolation: IsolationArg,
    pub(super) forward_to: ForwardArg,
    pub(super) single_child: bool,
    pub(super) rewrite: Vec<String>,
    pub(super) remap_exit: Vec<String>,
    pub(super) parent_death_signal: Option<String>,
    pub(super) no_job_control: bool,
    pub(super) no_term_on_exit: bool,
    pub(super) grace: Option<String>,
    pub(super) rich: bool,
    pub(super) systemd: bool,
    pub(super) services_dir: Option<PathBuf>,
    pub(super) services: Option<String>,
    pub(super) initscript: Option<PathBuf>,
    pub(super) init_dir: Option<PathBuf>,
    pub(super) stop_dir: Option<PathBuf>,
    pub(super) env_file: Option<OsString>,
    pub(super) profile_hook: Option<OsString>,
    pub(super) on_cmd_exit: Option<String>,
    pub(super) stop_cmd: Option<String>,
    pub(super) cmd_after: Option<String>,
    pub(super) control_socket: Option<OsString>,
    pub(super) warn_on_reap: bool,
    /// How many times `-v` was given.
    pub(super) verbose: u8,
    pub(super) quiet: bool,
    /// CMD and its arguments.
    pub(super) command: Vec<OsString>,
}

impl Cli {
    /// A command line without options.
    pub(super) fn defaults(command: Vec<OsString>) -> Cli {
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

pub(super) fn refused(e: &CliError) -> Parsed {
    Parsed::stderr(e.exit_code(), format!("rich-init: {e}\n"))
}

/// What `--version` prints.
fn version() -> String {
    format!("rich-init {VERSION}\n")
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
        // No options: the common case in every container, with nothing to look up.
        Some(command) => build(Cli::defaults(command), &|_| false, env, args.first(), pid1),
        None => return parse_options(&args, env, pid1),
    };
    match result {
        Ok(settings) => Parsed::Run(Box::new(settings)),
        Err(e) => refused(&e),
    }
}

/// A command line with options: read them (`rich_args.rs`), then add their variables.
fn parse_options(args: &[OsString], env: &dyn Fn(&str) -> Option<String>, pid1: bool) -> Parsed {
    let (cli, given) = match rich_args::parse(args.get(1..).unwrap_or_default()) {
        Ok(Request::Run(cli, given)) => (cli, given),
        Ok(Request::Help) => return Parsed::stdout(0, rich_opts::help()),
        Ok(Request::Version) => return Parsed::stdout(0, version()),
        Err(e) => return usage_error(&e.usage_line()),
    };
    match build(*cli, &|id| given.contains(id), env, args.first(), pid1) {
        Ok(settings) => Parsed::Run(Box::new(settings)),
        Err(e) => refused(&e),
    }
}

/// CMD when the command line has no options at all (`rich-init -- CMD...` or
/// `rich-init CMD...`), `None` when the options must be read.
fn without_options(args: &[OsString]) -> Option<Vec<OsString>> {
    let first = args.get(1)?;
    if first == "--" {
        return Some(args.get(2..).unwrap_or_default().to_vec());
    }
    let starts_with_dash = first.as_encoded_bytes().first() == Some(&b'-');
    (!starts_with_dash).then(|| args.get(1..).unwrap_or_default().to_vec())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::cli::rich_clap_oracle::parse_with_clap;
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
                "{argv:?} goes through the option parser"
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
