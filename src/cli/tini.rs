//! tini 0.19 compatible command line (also under the names `tini-static` and
//! `docker-init`): same options, environment, messages and exit codes.

use super::getopt::{self, Item, Order, Short};
use super::{ForwardTo, Isolation, Parsed, Personality, Settings, Subreaper};
use std::ffi::OsString;

/// What `--version` prints; Docker parses `docker-init --version`.
pub const VERSION_STRING: &str = "tini version 0.19.0";

const SHORTS: &[Short] = &[
    ('p', true),
    ('h', false),
    ('v', false),
    ('w', false),
    ('g', false),
    ('l', false),
    ('e', true),
    ('s', false),
];

/// The names tini accepts for `-p` (exactly these spellings).
const PDEATH_NAMES: &[(&str, i32)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGSYS", 31),
];

fn basename(argv0: &str) -> &str {
    argv0.rsplit('/').next().unwrap_or(argv0)
}

/// tini's usage text, headed by the name we were invoked under.
pub fn usage(argv0: &str) -> String {
    let name = basename(argv0);
    format!(
        "{name} ({VERSION_STRING})
Usage: {name} [OPTIONS] PROGRAM -- [ARGS] | --version

Execute a program under the supervision of a valid init process ({name})

Command line options:

  --version: Show version and exit.
  -h: Show this help message and exit.
  -s: Register as a process subreaper (requires Linux >= 3.4).
  -p SIGNAL: Trigger SIGNAL when parent dies, e.g. \"-p SIGKILL\".
  -v: Generate more verbose output. Repeat up to 3 times.
  -w: Print a warning when processes are getting reaped.
  -g: Send signals to the child's process group.
  -e EXIT_CODE: Remap EXIT_CODE (from 0 to 255) to 0.
  -l: Show license and exit.

Environment variables:

  TINI_SUBREAPER: Register as a process subreaper (requires Linux >= 3.4).
  TINI_VERBOSITY: Set the verbosity level (default: 1).
  TINI_KILL_PROCESS_GROUP: Send signals to the child's process group.

"
    )
}

/// `-l` prints the license of the program that is running, which is rich-init.
fn license() -> String {
    format!(
        "rich-init {} (running as tini) is licensed under the MIT license or the Apache \
         License 2.0, at your option.\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// tini keeps `atoi(TINI_VERBOSITY)` (strtol cut to an int) in an unsigned int, so a
/// negative value means the most verbose.
fn env_verbosity(text: &str) -> i64 {
    let as_int = getopt::c_strtol_prefix(text).0 as i32;
    if as_int < 0 {
        i64::MAX
    } else {
        i64::from(as_int)
    }
}

/// tini's fatal line format: `[FATAL tini (PID)] message`.
pub fn fatal_line(pid: i32, message: &str) -> String {
    format!("[FATAL tini ({pid})] {message}\n")
}

pub fn parse(args: Vec<OsString>, env: &dyn Fn(&str) -> Option<String>, pid: i32) -> Parsed {
    let argv0 = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    if args.len() == 2 && args[1] == "--version" {
        return Parsed::stdout(0, format!("{VERSION_STRING}\n"));
    }
    let order = if env("POSIXLY_CORRECT").is_some() {
        Order::RequireOrder
    } else {
        Order::Permute
    };
    let out = getopt::getopt(args.get(1..).unwrap_or_default(), SHORTS, &[], order);

    let mut subreaper = false;
    let mut group = false;
    let mut verbosity: i64 = 1;
    let mut warn_on_reap = false;
    let mut pdeath = None;
    let mut remap = Vec::new();
    for item in out.items {
        match item {
            Item::Opt('h', _) => return Parsed::stdout(0, usage(&argv0)),
            Item::Opt('l', _) => return Parsed::stdout(0, license()),
            Item::Opt('s', _) => subreaper = true,
            Item::Opt('g', _) => group = true,
            Item::Opt('v', _) => verbosity += 1,
            Item::Opt('w', _) => warn_on_reap = true,
            Item::Opt('p', value) => {
                let value = value.unwrap_or_default();
                match PDEATH_NAMES.iter().find(|(n, _)| *n == value) {
                    Some((_, sig)) => pdeath = Some(*sig),
                    None => {
                        return Parsed::stderr(
                            1,
                            fatal_line(pid, &format!("Not a valid option for -p: {value}")),
                        )
                    }
                }
            }
            Item::Opt('e', value) => {
                let value = value.unwrap_or_default();
                match getopt::c_strtol_full(&value).and_then(|n| u8::try_from(n).ok()) {
                    Some(code) => remap.push(code),
                    None => {
                        return Parsed::stderr(
                            1,
                            fatal_line(pid, &format!("Not a valid option for -e: {value}")),
                        )
                    }
                }
            }
            Item::Opt(..) => {}
            Item::Error(e) => {
                return Parsed::stderr(1, format!("{}{}", e.message(&argv0), usage(&argv0)))
            }
        }
    }
    if out.operands.is_empty() {
        return Parsed::stderr(1, usage(&argv0));
    }
    if let Some(v) = env("TINI_VERBOSITY") {
        verbosity = env_verbosity(&v);
    }
    if env("TINI_SUBREAPER").is_some() {
        subreaper = true;
    }
    if env("TINI_KILL_PROCESS_GROUP").is_some() {
        group = true;
    }
    Parsed::Run(Box::new(Settings {
        personality: Personality::Tini,
        argv0,
        command: out.operands,
        isolation: Isolation::Group,
        forward_to: if group {
            ForwardTo::Group
        } else {
            ForwardTo::Child
        },
        rewrite: Settings::identity_rewrite(),
        tty_job_control: false,
        ignore_ttin_ttou: true,
        subreaper: if subreaper {
            Subreaper::Requested
        } else {
            Subreaper::Off
        },
        parent_death_signal: pdeath,
        remap_to_zero: remap,
        verbosity: u8::try_from(verbosity.clamp(0, 4)).unwrap_or(1),
        warn_on_reap,
        term_on_exit: false,
        grace: None,
        rich: None,
        notes: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_support::{argv, env_of, exit, settings};

    fn parse_with(list: &[&str], vars: &[(&str, &str)]) -> Parsed {
        parse(argv(list), &env_of(vars), 42)
    }

    #[test]
    fn options_permute_like_gnu_getopt() {
        let s = settings(parse_with(
            &[
                "tini", "ls", "-s", "-g", "-e", "3", "-e", "143", "-vv", "-w",
            ],
            &[],
        ));
        assert_eq!(s.command, vec![OsString::from("ls")]);
        assert_eq!(s.subreaper, Subreaper::Requested);
        assert_eq!(s.forward_to, ForwardTo::Group);
        assert_eq!(s.remap_to_zero, vec![3, 143]);
        assert_eq!(s.verbosity, 3);
        assert!(s.warn_on_reap);
        let s = settings(parse_with(
            &["tini", "ls", "-s"],
            &[("POSIXLY_CORRECT", "1")],
        ));
        assert_eq!(s.command, vec![OsString::from("ls"), OsString::from("-s")]);
        let s = settings(parse_with(&["tini", "--", "sh", "-c", "x"], &[]));
        assert_eq!(s.command.len(), 3);
        assert_eq!(
            (s.subreaper, s.forward_to, s.verbosity),
            (Subreaper::Off, ForwardTo::Child, 1)
        );
    }

    #[test]
    fn environment() {
        let vars = [
            ("TINI_SUBREAPER", ""),
            ("TINI_KILL_PROCESS_GROUP", ""),
            ("TINI_VERBOSITY", "0"),
        ];
        let s = settings(parse_with(&["tini", "-vvv", "x"], &vars));
        assert_eq!(
            (s.subreaper, s.forward_to, s.verbosity),
            (Subreaper::Requested, ForwardTo::Group, 0)
        );
        let table = [
            ("junk", 0),
            ("2", 2),
            (" 2x", 2),
            ("9", 4),
            ("-1", 4),
            ("-0", 0),
            ("4294967297", 1),
            ("4294967295", 4),
        ];
        for (text, want) in table {
            let s = settings(parse_with(
                &["tini", "-v", "x"],
                &[("TINI_VERBOSITY", text)],
            ));
            assert_eq!(s.verbosity, want, "TINI_VERBOSITY={text:?}");
        }
    }

    #[test]
    fn expect_status_and_pdeath_values() {
        let good = [("0", 0u8), ("255", 255), (" 3", 3), ("+7", 7), ("", 0)];
        for (text, want) in good {
            assert_eq!(
                settings(parse_with(&["tini", "-e", text, "x"], &[])).remap_to_zero,
                vec![want],
                "{text:?}"
            );
        }
        for text in ["256", "-1", "abc", "3x", " "] {
            let (code, _, err) = exit(parse_with(&["tini", "-e", text, "x"], &[]));
            assert_eq!(
                (code, err),
                (
                    1,
                    format!("[FATAL tini (42)] Not a valid option for -e: {text}\n")
                )
            );
        }
        assert_eq!(
            settings(parse_with(&["tini", "-p", "SIGKILL", "x"], &[])).parent_death_signal,
            Some(9)
        );
        for text in ["KILL", "9", "SIGRTMIN", "sigkill", "SIGIOT", "SIGPWR"] {
            let (code, _, err) = exit(parse_with(&["tini", "-p", text, "x"], &[]));
            assert_eq!(
                (code, err),
                (
                    1,
                    format!("[FATAL tini (42)] Not a valid option for -p: {text}\n")
                )
            );
        }
    }

    #[test]
    fn usage_paths() {
        let (code, out, err) = exit(parse_with(&["tini", "--version"], &[]));
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "tini version 0.19.0\n", "")
        );
        let (code, out, err) = exit(parse_with(&["/usr/bin/docker-init", "-x"], &[]));
        assert_eq!((code, out.as_str()), (1, ""));
        assert!(err.starts_with(
            "/usr/bin/docker-init: invalid option -- 'x'\ndocker-init (tini version 0.19.0)\n"
        ));
        let (code, _, err) = exit(parse_with(&["tini", "--version", "x"], &[]));
        assert_eq!(code, 1);
        assert!(err.starts_with("tini: invalid option -- '-'\n"), "{err}");
        let (code, out, err) = exit(parse_with(&["tini", "-s", "--"], &[]));
        assert_eq!((code, out.as_str()), (1, ""));
        assert_eq!(err, usage("tini"));
        let (code, out, _) = exit(parse_with(&["tini", "-h", "-x"], &[]));
        assert_eq!((code, out), (0, usage("tini")));
    }
}
