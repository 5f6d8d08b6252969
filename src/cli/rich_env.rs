//! rich-init's options and their `RICH_INIT_<FLAG>` variables → [`Settings`]. An option
//! on the command line wins over its variable; each bad value is one line that names
//! the option or variable and says what is allowed.

use super::error::{CliError, RewriteProblem};
use super::rich::{Cli, ForwardArg, IsolationArg};
use super::{ForwardTo, Isolation, Personality, Settings, Subreaper};
use crate::signame;
use std::ffi::OsString;
use std::time::Duration;

/// How long CMD's leftovers get between SIGTERM and SIGKILL, unless --grace says.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

pub(super) fn env_flag(name: &'static str, value: &str) -> Result<bool, CliError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(CliError::NotBoolean {
            name,
            value: value.to_string(),
        }),
    }
}

/// Parse `S:R` where both sides are signal names or numbers; `R` may be 0 (drop).
pub fn parse_rewrite(spec: &str) -> Result<(i32, i32), CliError> {
    let bad = |problem| CliError::Rewrite {
        spec: spec.to_string(),
        problem,
    };
    let Some((from, to)) = spec.split_once(':') else {
        return Err(bad(RewriteProblem::NoColon));
    };
    let not_signal = |s: &str| bad(RewriteProblem::NotSignal(s.to_string()));
    let from_sig = signame::parse(from).ok_or_else(|| not_signal(from))?;
    let to_sig = if to.trim() == "0" {
        0
    } else {
        signame::parse(to).ok_or_else(|| not_signal(to))?
    };
    if from_sig == libc::SIGCHLD {
        return Err(bad(RewriteProblem::Sigchld));
    }
    if from_sig == libc::SIGKILL || from_sig == libc::SIGSTOP {
        return Err(bad(RewriteProblem::Uncatchable(from_sig)));
    }
    Ok((from_sig, to_sig))
}

fn parse_exit_code(text: &str) -> Result<u8, CliError> {
    text.trim()
        .parse::<u8>()
        .map_err(|_| CliError::RemapExit(text.to_string()))
}

/// `given(id)` says whether option `id` was on the command line (it then beats its
/// environment variable).
pub(super) fn build(
    cli: Cli,
    given: &dyn Fn(&str) -> bool,
    env: &dyn Fn(&str) -> Option<String>,
    argv0: Option<&OsString>,
    pid1: bool,
) -> Result<Settings, CliError> {
    let var = |flag: &str, key: &str| if given(flag) { None } else { env(key) };
    let var_flag = |flag: &str, key: &'static str, given: bool| -> Result<bool, CliError> {
        match var(flag, key) {
            Some(v) => env_flag(key, &v),
            None => Ok(given),
        }
    };

    let (rich, rich_note) = super::rich_mode::rich_settings(&cli, &var, pid1)?;
    let mut isolation = match var("isolation", "RICH_INIT_ISOLATION") {
        Some(v) => match IsolationArg::from_name(v.trim(), true) {
            Some(isolation) => isolation,
            None => return Err(CliError::IsolationVar(v)),
        },
        None => cli.isolation,
    };
    let mut forward_to = match var("forward_to", "RICH_INIT_FORWARD_TO") {
        Some(v) => match ForwardArg::from_name(v.trim(), true) {
            Some(forward_to) => forward_to,
            None => return Err(CliError::ForwardToVar(v)),
        },
        None => cli.forward_to,
    };
    let forward_explicit = given("forward_to") || env("RICH_INIT_FORWARD_TO").is_some();
    if var_flag("single_child", "RICH_INIT_SINGLE_CHILD", cli.single_child)? {
        // From the environment it yields to --isolation/--forward-to given on the command
        // line (with -c, the command line refuses those as conflicting).
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
        return Err(CliError::GroupWithoutIsolation);
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
    let pdeath = match var("parent_death_signal", "RICH_INIT_PARENT_DEATH_SIGNAL")
        .or(cli.parent_death_signal)
    {
        Some(v) => match signame::parse(&v) {
            Some(sig) => Some(sig),
            None => return Err(CliError::ParentDeathSignal(v)),
        },
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
    let grace = match var("grace", "RICH_INIT_GRACE").or(cli.grace) {
        Some(text) => match crate::config::duration::parse(text.trim()) {
            Ok(grace) => grace,
            Err(error) => return Err(CliError::Grace { text, error }),
        },
        None => DEFAULT_GRACE,
    };
    let warn_on_reap = var_flag("warn_on_reap", "RICH_INIT_WARN_ON_REAP", cli.warn_on_reap)?;
    let quiet = var_flag("quiet", "RICH_INIT_QUIET", cli.quiet)?;
    let verbose = match var("verbose", "RICH_INIT_VERBOSE") {
        Some(v) => v
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= 3)
            .ok_or(CliError::VerboseVar(v))?,
        None => cli.verbose.min(3),
    };
    if cli.command.is_empty() && !rich.as_ref().is_some_and(|r| r.systemd) {
        return Err(CliError::NoCommand);
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
        grace: Some(grace),
        rich,
        notes: rich_note.into_iter().map(str::to_string).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::rich::tests::{error_line, parse_with, settings};
    use super::*;

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
                (Err(got), Err(w)) => assert!(got.to_string().contains(w), "{spec}: {got}"),
                (got, w) => panic!("{spec}: got {got:?}, want {w:?}"),
            }
        }
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
    fn grace() {
        assert_eq!(
            settings(parse_with(&["rich-init", "x"], &[])).grace,
            Some(DEFAULT_GRACE)
        );
        let s = settings(parse_with(&["rich-init", "--grace", "1m30s", "x"], &[]));
        assert_eq!(s.grace, Some(Duration::from_secs(90)));
        let s = settings(parse_with(&["rich-init", "x"], &[("RICH_INIT_GRACE", "0")]));
        assert_eq!(s.grace, Some(Duration::ZERO));
        let line = error_line(parse_with(&["rich-init", "--grace", "5", "x"], &[]));
        assert!(
            line.starts_with("rich-init: invalid --grace \"5\": "),
            "{line}"
        );
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
}
