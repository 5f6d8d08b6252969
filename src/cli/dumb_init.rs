//! dumb-init 1.2.5 compatible command line: same options, environment, messages and
//! exit codes (1 for usage errors, 0 for help and version).

use super::getopt::{self, Item, Long, Order, Short};
use super::{ForwardTo, Isolation, Parsed, Personality, Settings, Subreaper};
use std::ffi::OsString;

/// What `-V` prints; engines and scripts parse it.
pub const VERSION_LINE: &str = "dumb-init v1.2.5\n";
/// dumb-init accepts signals 1..=31 only.
const MAXSIG: i64 = 31;

const SHORTS: &[Short] = &[
    ('h', false),
    ('v', false),
    ('V', false),
    ('c', false),
    ('r', true),
];
const LONGS: &[Long] = &[
    ("single-child", false, 'c'),
    ("rewrite", true, 'r'),
    ("verbose", false, 'v'),
    ("version", false, 'V'),
    ("help", false, 'h'),
];

fn help(argv0: &str) -> String {
    format!(
        "{VERSION_LINE}Usage: {argv0} [option] command [[arg] ...]

dumb-init is a simple process supervisor that forwards signals to children.
It is designed to run as PID1 in minimal container environments.

Optional arguments:
   -c, --single-child   Run in single-child mode.
                        In this mode, signals are only proxied to the
                        direct child and not any of its descendants.
   -r, --rewrite s:r    Rewrite received signal s to new signal r before proxying.
                        To ignore (not proxy) a signal, rewrite it to 0.
                        This option can be specified multiple times.
   -v, --verbose        Print debugging information to stderr.
   -h, --help           Print this help message and exit.
   -V, --version        Print the current version and exit.

Full help is available online at https://github.com/Yelp/dumb-init
"
    )
}

const REWRITE_HELP: &str =
    "Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and 31.
This option can be specified multiple times.
Use --help for full usage.
";

/// `sscanf(arg, "%d:%d")` with dumb-init's range checks: source 1..=31, target 0..=31.
/// Like sscanf, blanks may precede each number and anything may follow the second.
pub fn parse_rewrite(arg: &str) -> Option<(i32, i32)> {
    let (from, rest) = getopt::c_strtol_prefix(arg);
    if rest.len() == arg.len() {
        return None;
    }
    let rest = rest.strip_prefix(':')?;
    let (to, tail) = getopt::c_strtol_prefix(rest);
    if tail.len() == rest.len() {
        return None;
    }
    if !(1..=MAXSIG).contains(&from) || !(0..=MAXSIG).contains(&to) {
        return None;
    }
    Some((i32::try_from(from).ok()?, i32::try_from(to).ok()?))
}

pub fn parse(args: Vec<OsString>, env: &dyn Fn(&str) -> Option<String>) -> Parsed {
    let argv0 = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rest = args.get(1..).unwrap_or_default();
    let out = getopt::getopt(rest, SHORTS, LONGS, Order::RequireOrder);

    let mut debug = false;
    let mut use_setsid = true;
    let mut user_rewrite: [Option<i32>; 65] = [None; 65];
    for item in out.items {
        match item {
            Item::Opt('h', _) => return Parsed::stderr(0, help(&argv0)),
            Item::Opt('V', _) => return Parsed::stderr(0, VERSION_LINE),
            Item::Opt('v', _) => debug = true,
            Item::Opt('c', _) => use_setsid = false,
            Item::Opt('r', value) => match value.as_deref().and_then(parse_rewrite) {
                Some((from, to)) => {
                    if let Some(slot) = usize::try_from(from)
                        .ok()
                        .and_then(|i| user_rewrite.get_mut(i))
                    {
                        *slot = Some(to);
                    }
                }
                None => return Parsed::stderr(1, REWRITE_HELP),
            },
            Item::Opt(..) => {}
            Item::Error(e) => return Parsed::stderr(1, e.message(&argv0)),
        }
    }
    if out.operands.is_empty() {
        return Parsed::stderr(
            1,
            format!("Usage: {argv0} [option] program [args]\nTry {argv0} --help for full usage.\n"),
        );
    }
    let mut notes = Vec::new();
    if env("DUMB_INIT_DEBUG").as_deref() == Some("1") {
        debug = true;
        notes.push("Running in debug mode.".to_string());
    }
    if env("DUMB_INIT_SETSID").as_deref() == Some("0") {
        use_setsid = false;
        notes.push("Not running in setsid mode.".to_string());
    }
    if use_setsid {
        for sig in [libc::SIGTSTP, libc::SIGTTOU, libc::SIGTTIN] {
            if let Some(slot) = usize::try_from(sig)
                .ok()
                .and_then(|i| user_rewrite.get_mut(i))
            {
                slot.get_or_insert(libc::SIGSTOP);
            }
        }
    }
    let mut rewrite = Settings::identity_rewrite();
    for (slot, user) in rewrite.iter_mut().zip(user_rewrite) {
        if let Some(to) = user {
            *slot = to;
        }
    }
    Parsed::Run(Box::new(Settings {
        personality: Personality::DumbInit,
        argv0,
        command: out.operands,
        isolation: if use_setsid {
            Isolation::Session
        } else {
            Isolation::None
        },
        forward_to: if use_setsid {
            ForwardTo::Group
        } else {
            ForwardTo::Child
        },
        rewrite,
        // dumb-init stops itself after forwarding a job-control signal in both modes.
        tty_job_control: true,
        ignore_ttin_ttou: false,
        subreaper: Subreaper::Off,
        parent_death_signal: None,
        remap_to_zero: Vec::new(),
        verbosity: if debug { 3 } else { 0 },
        warn_on_reap: false,
        term_on_exit: true,
        grace: None,
        rich: None,
        notes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_support::{argv, env_of, exit, settings};

    fn parse_with(list: &[&str], vars: &[(&str, &str)]) -> Parsed {
        parse(argv(list), &env_of(vars))
    }

    #[test]
    fn rewrite_specs_like_sscanf() {
        let cases: &[(&str, Option<(i32, i32)>)] = &[
            ("15:3", Some((15, 3))),
            ("1:0", Some((1, 0))),
            ("31:31", Some((31, 31))),
            (" 15: 1", Some((15, 1))),
            ("1:2x", Some((1, 2))),
            ("+1:+2", Some((1, 2))),
            ("0:1", None),
            ("1:32", None),
            ("32:1", None),
            ("1:-1", None),
            (" 15 : 1", None),
            ("foo", None),
            ("15", None),
            ("15:", None),
            (":1", None),
            ("", None),
        ];
        for (spec, want) in cases {
            assert_eq!(parse_rewrite(spec), *want, "{spec:?}");
        }
    }

    #[test]
    fn defaults_are_setsid_group_and_tty_stops() {
        let s = settings(parse_with(&["dumb-init", "sleep", "1"], &[]));
        assert_eq!(s.isolation, Isolation::Session);
        assert_eq!(s.forward_to, ForwardTo::Group);
        assert_eq!(s.rewrite[libc::SIGTSTP as usize], libc::SIGSTOP);
        assert_eq!(s.rewrite[libc::SIGTTIN as usize], libc::SIGSTOP);
        assert_eq!(s.rewrite[libc::SIGTTOU as usize], libc::SIGSTOP);
        assert_eq!(s.rewrite[libc::SIGTERM as usize], libc::SIGTERM);
        assert!(s.term_on_exit);
        assert_eq!(s.verbosity, 0);
        assert_eq!(
            s.command,
            vec![OsString::from("sleep"), OsString::from("1")]
        );
    }

    #[test]
    fn single_child_and_env() {
        let s = settings(parse_with(&["dumb-init", "-c", "x"], &[]));
        assert_eq!(
            (s.isolation, s.forward_to),
            (Isolation::None, ForwardTo::Child)
        );
        assert_eq!(s.rewrite[libc::SIGTSTP as usize], libc::SIGTSTP);
        assert!(s.tty_job_control, "-c: still stops itself on SIGTSTP");
        let s = settings(parse_with(
            &["dumb-init", "x"],
            &[("DUMB_INIT_SETSID", "0"), ("DUMB_INIT_DEBUG", "1")],
        ));
        assert_eq!(s.isolation, Isolation::None);
        assert!(s.tty_job_control, "DUMB_INIT_SETSID=0: still stops itself");
        assert_eq!(s.verbosity, 3);
        let s = settings(parse_with(
            &["dumb-init", "x"],
            &[("DUMB_INIT_SETSID", "no"), ("DUMB_INIT_DEBUG", "yes")],
        ));
        assert_eq!((s.isolation, s.verbosity), (Isolation::Session, 0));
    }

    #[test]
    fn user_rewrite_beats_tty_default() {
        let s = settings(parse_with(
            &["dumb-init", "-r", "20:0", "-r", "15:3", "x"],
            &[],
        ));
        assert_eq!(s.rewrite[20], 0);
        assert_eq!(s.rewrite[15], 3);
        assert_eq!(s.rewrite[21], libc::SIGSTOP);
    }

    #[test]
    fn usage_paths() {
        let (code, out, err) = exit(parse_with(&["dumb-init"], &[]));
        assert_eq!((code, out.as_str()), (1, ""));
        assert_eq!(
            err,
            "Usage: dumb-init [option] program [args]\nTry dumb-init --help for full usage.\n"
        );
        let (code, _, err) = exit(parse_with(&["/bin/dumb-init", "-x", "y"], &[]));
        assert_eq!(
            (code, err.as_str()),
            (1, "/bin/dumb-init: invalid option -- 'x'\n")
        );
        let (code, _, err) = exit(parse_with(&["dumb-init", "-r", "0:1", "y"], &[]));
        assert_eq!((code, err.as_str()), (1, REWRITE_HELP));
        let (code, _, err) = exit(parse_with(&["dumb-init", "-V", "-x"], &[]));
        assert_eq!((code, err.as_str()), (0, VERSION_LINE));
        let (code, _, err) = exit(parse_with(&["dumb-init", "--help"], &[]));
        assert_eq!(code, 0);
        assert!(
            err.starts_with("dumb-init v1.2.5\nUsage: dumb-init [option]"),
            "{err}"
        );
    }
}
