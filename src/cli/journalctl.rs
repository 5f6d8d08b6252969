//! `journalctl` (systemd v252, journalctl(1)) as far as the init's in-memory journal can
//! answer it. Options are read as getopt_long reads journalctl's (`-n`/`-b` take an optional
//! argument, or the next word when it parses; long options may be abbreviated), and its
//! errors use glibc's and journalctl's wording. An option journalctl knows that we cannot
//! honour gets one line that says so and what to use instead; exit 1 as journalctl's.

use super::getopt::Error as GetoptError;
pub use super::journalctl_opts::HELP;
use super::journalctl_opts::{Arg, LONGS, SHORTS};
use super::Parsed;
use crate::units::journal_show::Output;
use std::ffi::OsString;

/// What `journalctl` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `-u`: unit names (a suffix-less name gets `.service`), any of which may match.
    pub units: Vec<String>,
    /// `-t`: syslog identifiers, any of which may match.
    pub identifiers: Vec<String>,
    /// How many of the last entries to show first; None: all.
    pub lines: Option<usize>,
    pub follow: bool,
    pub reverse: bool,
    pub quiet: bool,
    pub no_hostname: bool,
    /// `-a`: messages as they are.
    pub all: bool,
    pub output: Output,
}

/// journalctl's exit code for its own errors.
pub const EXIT_FAILURE: i32 = 1;

/// The unit types systemd knows; a name without one of these suffixes is a service.
const UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
];

/// `cron` → `cron.service`; `cron.service`, `multi-user.target` stay.
pub fn mangle_unit(name: &str) -> String {
    let typed = name
        .rsplit_once('.')
        .is_some_and(|(stem, kind)| !stem.is_empty() && UNIT_TYPES.contains(&kind));
    if typed {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

/// Why a journalctl option was refused: one line, journalctl's words where it has them.
fn unsupported(option: &str, instead: &str) -> String {
    format!("Option {option} is not supported by rich-init's journal (it keeps each unit's recent lines in memory); {instead}.\n")
}

fn other_boot(descriptor: &str) -> Refusal {
    Refusal::Said(unsupported(
        &format!("-b {descriptor}"),
        "a container has one boot: use -b alone",
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    Default,
    All,
    N(usize),
}

/// A non-negative count as journalctl's safe_atoi accepts it for `-n`.
fn count(text: &str) -> Option<usize> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn lines_value(text: &str) -> Option<Lines> {
    if text == "all" {
        return Some(Lines::All);
    }
    count(text).map(Lines::N)
}

/// A boot descriptor as journalctl parses it: `all`, an offset, or a 32-hex-digit boot id
/// with an optional offset. Some(true): this boot (offset 0, or `all`, which is this one);
/// Some(false): another boot (there is none in a container, and we know no boot id); None:
/// not a descriptor.
fn boot_value(text: &str) -> Option<bool> {
    let offset = |t: &str| -> Option<i64> {
        let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    if text == "all" {
        return Some(true);
    }
    if let Some(id) = text
        .get(..32)
        .filter(|id| id.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        let rest = text.get(id.len()..).unwrap_or_default();
        return (rest.is_empty() || offset(rest).is_some()).then_some(false);
    }
    offset(text).map(|n| n == 0)
}

/// Parse journalctl's argv (with argv[0]).
pub fn parse(args: Vec<OsString>) -> Parsed {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let prog = words
        .first()
        .cloned()
        .unwrap_or_else(|| "journalctl".into());
    match parse_words(words.get(1..).unwrap_or_default()) {
        Ok(Some(args)) => Parsed::Journalctl(Box::new(args)),
        Ok(None) => Parsed::stdout(0, HELP),
        Err(Refusal::Getopt(e)) => Parsed::stderr(EXIT_FAILURE, e.message(&prog)),
        Err(Refusal::Said(text)) => Parsed::stderr(EXIT_FAILURE, text),
        Err(Refusal::Version) => Parsed::stdout(
            0,
            format!("systemd 252 (rich-init {})\n", env!("CARGO_PKG_VERSION")),
        ),
    }
}

enum Refusal {
    Getopt(GetoptError),
    Said(String),
    /// Not a refusal: `--version` ends parsing too.
    Version,
}

struct State {
    args: Args,
    lines: Lines,
    no_tail: bool,
    pager_end: bool,
}

/// Ok(None): `--help`.
fn parse_words(words: &[String]) -> Result<Option<Args>, Refusal> {
    let mut st = State {
        args: Args {
            units: Vec::new(),
            identifiers: Vec::new(),
            lines: None,
            follow: false,
            reverse: false,
            quiet: false,
            no_hostname: false,
            all: false,
            output: Output::Short,
        },
        lines: Lines::Default,
        no_tail: false,
        pager_end: false,
    };
    let mut matches = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if word == "--" {
            matches.extend(words[i..].iter().cloned());
            break;
        }
        if let Some(body) = word.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let (full, kind, key) = long(name, body)?;
            let value = match (kind, inline) {
                (Arg::No, Some(_)) => {
                    return Err(Refusal::Getopt(GetoptError::LongNoArg(full.into())))
                }
                (Arg::Required, None) => match words.get(i) {
                    Some(next) => {
                        i += 1;
                        Some(next.clone())
                    }
                    None => return Err(Refusal::Getopt(GetoptError::LongMissingArg(full.into()))),
                },
                (_, inline) => inline,
            };
            if !apply(&mut st, key, &format!("--{full}"), value, words, &mut i)? {
                return Ok(None);
            }
            continue;
        }
        if word.len() < 2 || !word.starts_with('-') {
            matches.push(word.clone());
            continue;
        }
        let chars: Vec<char> = word.chars().skip(1).collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            k += 1;
            let Some(&(_, kind)) = SHORTS.iter().find(|(s, _)| *s == c) else {
                return Err(Refusal::Getopt(GetoptError::Invalid(c)));
            };
            let rest: String = chars[k..].iter().collect();
            let value = match kind {
                Arg::No => None,
                _ if !rest.is_empty() => {
                    k = chars.len();
                    Some(rest)
                }
                Arg::Optional => None,
                Arg::Required => match words.get(i) {
                    Some(next) => {
                        i += 1;
                        Some(next.clone())
                    }
                    None => return Err(Refusal::Getopt(GetoptError::MissingArg(c))),
                },
            };
            if !apply(&mut st, c, &format!("-{c}"), value, words, &mut i)? {
                return Ok(None);
            }
        }
    }
    if let Some(first) = matches.first() {
        return Err(Refusal::Said(format!(
            "Matches such as '{first}' are not supported by rich-init's journal; filter with -u UNIT or -t IDENTIFIER.\n"
        )));
    }
    if st.args.follow && st.args.reverse {
        return Err(Refusal::Said(
            "Please specify either --reverse= or --follow=, not both.\n".into(),
        ));
    }
    if st.no_tail {
        st.lines = Lines::All;
    }
    if st.lines == Lines::Default && st.pager_end {
        st.lines = Lines::N(1000);
    }
    if st.lines == Lines::Default && st.args.follow {
        st.lines = Lines::N(10);
    }
    st.args.lines = match st.lines {
        Lines::N(n) => Some(n),
        Lines::Default | Lines::All => None,
    };
    Ok(Some(st.args))
}

/// A long option by its name or an unambiguous abbreviation.
fn long(name: &str, body: &str) -> Result<(&'static str, Arg, char), Refusal> {
    if let Some(&(full, kind, key)) = LONGS.iter().find(|(n, _, _)| *n == name) {
        return Ok((full, kind, key));
    }
    let found: Vec<&(&str, Arg, char)> = LONGS
        .iter()
        .filter(|(n, _, _)| n.starts_with(name))
        .collect();
    match found.as_slice() {
        [] => Err(Refusal::Getopt(GetoptError::UnknownLong(body.into()))),
        [&(full, kind, key)] => Ok((full, kind, key)),
        many => Err(Refusal::Getopt(GetoptError::Ambiguous(
            body.into(),
            many.iter().map(|(n, _, _)| *n).collect(),
        ))),
    }
}

/// Carry out one option; false for `--help`. `i` is past the option (and its argument),
/// so that an optional argument may take the next word.
fn apply(
    st: &mut State,
    key: char,
    shown: &str,
    value: Option<String>,
    words: &[String],
    i: &mut usize,
) -> Result<bool, Refusal> {
    let a = &mut st.args;
    match key {
        'h' => return Ok(false),
        'V' => return Err(Refusal::Version),
        'P' | 'x' | 'l' | 'L' | 'Z' | 'Y' | 'B' => {}
        'e' => st.pager_end = true,
        'f' => a.follow = true,
        'a' => a.all = true,
        'q' => a.quiet = true,
        'r' => a.reverse = true,
        'H' => a.no_hostname = true,
        'T' => st.no_tail = true,
        'u' => a.units.push(mangle_unit(&value.unwrap_or_default())),
        't' => a.identifiers.push(value.unwrap_or_default()),
        'o' => {
            let mode = value.unwrap_or_default();
            a.output = match mode.as_str() {
                "short" => Output::Short,
                "cat" => Output::Cat,
                "short-precise" | "short-iso" | "short-iso-precise" | "short-full"
                | "short-monotonic" | "short-unix" | "short-delta" | "verbose" | "export"
                | "json" | "json-pretty" | "json-sse" | "json-seq" | "with-unit" => {
                    return Err(Refusal::Said(format!(
                        "Output format '{mode}' is not supported by rich-init's journal; use -o short or -o cat.\n"
                    )))
                }
                _ => {
                    return Err(Refusal::Said(format!(
                        "Unknown output format '{mode}'.\n"
                    )))
                }
            };
        }
        'n' => match value {
            Some(v) => {
                st.lines = lines_value(&v)
                    .ok_or_else(|| Refusal::Said(format!("Failed to parse lines '{v}'\n")))?;
            }
            None => {
                st.lines = Lines::N(10);
                if let Some(next) = words.get(*i).and_then(|w| lines_value(w)) {
                    st.lines = next;
                    *i += 1;
                }
            }
        },
        'b' => match value {
            Some(v) => match boot_value(&v) {
                Some(true) => {}
                Some(false) => return Err(other_boot(&v)),
                None => {
                    return Err(Refusal::Said(format!(
                        "Failed to parse boot descriptor '{v}'\n"
                    )))
                }
            },
            None => match words
                .get(*i)
                .and_then(|w| boot_value(w).map(|this| (w, this)))
            {
                Some((_, true)) => *i += 1,
                Some((w, false)) => return Err(other_boot(w)),
                None => {}
            },
        },
        _ => {
            let instead = match key {
                'S' | 'U' | 'c' => "use -n N for the last N lines",
                'p' | 'g' => "pipe the output through grep",
                'k' => "the kernel log is the host's: use dmesg",
                'm' | 'D' | 'M' => "there is only the init's journal",
                _ => "see journalctl --help for what is supported",
            };
            let name = match LONGS.iter().find(|(_, _, k)| *k == key) {
                Some((long, _, _)) if !shown.starts_with("--") => format!("-{key}/--{long}"),
                _ => shown.to_string(),
            };
            return Err(Refusal::Said(unsupported(&name, instead)));
        }
    }
    Ok(true)
}

#[cfg(test)]
#[path = "journalctl_tests.rs"]
mod tests;
