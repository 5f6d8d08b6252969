//! `systemctl`'s command line, parsed the way its getopt_long does (options anywhere, `--`
//! ends them, `-sKILL`, `--signal KILL`, `-aq`), into a verb, its arguments and options. Pure.

use crate::control::{JobVerb, KillWhom};
use crate::signame;

/// What systemctl was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Job(JobVerb),
    DaemonReload,
    Status,
    IsActive,
    IsEnabled,
    IsFailed,
    IsSystemRunning,
    Show,
    Cat,
    ListUnits,
    ListUnitFiles,
    Enable,
    Disable,
    Mask,
    Unmask,
    /// `preset`: rich-init's preset policy enables every unit (status shows "preset:
    /// enabled"), so it is `enable` unless `--preset-mode=disable-only`.
    Preset,
    Help,
    Version,
}

/// The options that change what a verb does (the harmless rest is accepted and dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub no_block: bool,
    pub quiet: bool,
    pub legend: bool,
    pub all: bool,
    pub plain: bool,
    pub now: bool,
    pub value: bool,
    /// `-n`: journal lines under `status`.
    pub lines: usize,
    /// `--type=`, split at commas.
    pub types: Vec<String>,
    /// `--state=`, split at commas.
    pub states: Vec<String>,
    /// `-p`, split at commas, in the order given (show prints them in its own order).
    pub properties: Vec<String>,
    /// `-s`.
    pub signal: i32,
    pub whom: KillWhom,
    /// `--root=`: the unit-file verbs work on that tree (deb-systemd-helper passes `/`).
    pub root: Option<String>,
    /// `--preset-mode=`: full, enable-only or disable-only.
    pub preset_mode: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            no_block: false,
            quiet: false,
            legend: true,
            all: false,
            plain: false,
            now: false,
            value: false,
            lines: 10,
            types: Vec::new(),
            states: Vec::new(),
            properties: Vec::new(),
            signal: 15,
            whom: KillWhom::All,
            root: None,
            preset_mode: None,
        }
    }
}

/// A parsed command line: the verb, its arguments (unit names already given their suffix),
/// and the options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub verb: Verb,
    pub args: Vec<String>,
    pub opts: Options,
}

/// Why a command line was refused; each renders as the line systemctl prints. Exit code 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("Unknown command verb '{0}'.")]
    UnknownVerb(String),
    #[error("systemctl: unrecognized option '{0}'")]
    UnknownLong(String),
    #[error("systemctl: invalid option -- '{0}'")]
    UnknownShort(char),
    #[error("systemctl: option '{0}' requires an argument")]
    LongNeedsValue(String),
    #[error("systemctl: option requires an argument -- '{0}'")]
    ShortNeedsValue(char),
    #[error("systemctl: option '{0}' doesn't allow an argument")]
    LongTakesNoValue(String),
    #[error("Failed to parse signal string {0}.")]
    Signal(String),
    #[error("Unknown kill whom {0:?}: use main, control or all.")]
    Whom(String),
    #[error("Failed to parse lines '{0}'")]
    Lines(String),
    #[error("Failed to parse --legend= argument '{0}': use yes or no.")]
    Legend(String),
    #[error("Too few arguments.")]
    TooFew,
    #[error("Too many arguments.")]
    TooMany,
}

impl ArgError {
    pub fn exit_code(&self) -> i32 {
        1
    }
}

/// Unit types systemd knows (systemd.unit(5)): a name ending in one of these needs no suffix.
pub const UNIT_TYPES: [&str; 11] = [
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

/// How many arguments each verb takes (min, max; None: any).
fn verb_of(word: &str) -> Option<(Verb, usize, Option<usize>)> {
    use Verb::*;
    if let Some(v) = JobVerb::parse(word) {
        let min = usize::from(v != JobVerb::ResetFailed);
        return Some((Job(v), min, None));
    }
    let kill = JobVerb::Kill {
        signal: 15,
        whom: KillWhom::All,
    };
    Some(match word {
        // systemctl's aliases (systemctl(1)).
        "condrestart" => (Job(JobVerb::TryRestart), 1, None),
        "force-reload" => (Job(JobVerb::TryReloadOrRestart), 1, None),
        "reload-or-try-restart" => (Job(JobVerb::TryReloadOrRestart), 1, None),
        "kill" => (Job(kill), 1, None),
        "daemon-reload" => (DaemonReload, 0, Some(0)),
        "status" => (Status, 0, None),
        "is-active" => (IsActive, 1, None),
        "is-enabled" => (IsEnabled, 1, None),
        "is-failed" => (IsFailed, 0, None),
        "is-system-running" => (IsSystemRunning, 0, Some(0)),
        "show" => (Show, 0, None),
        "cat" => (Cat, 1, None),
        "list-units" => (ListUnits, 0, None),
        "list-unit-files" => (ListUnitFiles, 0, None),
        "enable" => (Enable, 1, None),
        "disable" => (Disable, 1, None),
        "mask" => (Mask, 1, None),
        "unmask" => (Unmask, 1, None),
        "preset" => (Preset, 1, None),
        "help" => (Help, 0, None),
        _ => return None,
    })
}

/// Options that take a value, by long name, with their short letter.
const VALUED: [(&str, Option<char>); 10] = [
    ("signal", Some('s')),
    ("kill-whom", None),
    ("kill-who", None),
    ("property", Some('p')),
    ("lines", Some('n')),
    ("type", Some('t')),
    ("state", None),
    ("job-mode", None),
    ("root", None),
    ("preset-mode", None),
];

/// Flags, by long name, with their short letter. The ones not read anywhere are accepted
/// and dropped.
const FLAGS: [(&str, Option<char>); 19] = [
    ("no-block", None),
    ("quiet", Some('q')),
    ("no-pager", None),
    ("no-legend", None),
    ("system", None),
    ("full", Some('l')),
    ("no-ask-password", None),
    ("plain", None),
    ("all", Some('a')),
    ("now", None),
    ("value", None),
    ("help", Some('h')),
    ("version", None),
    ("force", Some('f')),
    ("no-reload", None),
    ("ignore-dependencies", None),
    ("no-wall", None),
    ("legend", None),
    ("global", None),
];

fn comma_list(out: &mut Vec<String>, value: &str) {
    out.extend(
        value
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );
}

fn apply(
    long: &str,
    value: Option<&str>,
    opts: &mut Options,
    verb_override: &mut Option<Verb>,
) -> Result<(), ArgError> {
    let v = value.unwrap_or_default();
    match long {
        "no-block" => opts.no_block = true,
        "quiet" => opts.quiet = true,
        "no-legend" => opts.legend = false,
        "legend" => {
            opts.legend = match v {
                "" | "yes" | "true" | "1" | "on" => true,
                "no" | "false" | "0" | "off" => false,
                _ => return Err(ArgError::Legend(v.into())),
            }
        }
        "all" => opts.all = true,
        "plain" => opts.plain = true,
        "now" => opts.now = true,
        "value" => opts.value = true,
        "help" => *verb_override = Some(Verb::Help),
        "version" => *verb_override = Some(Verb::Version),
        "signal" => opts.signal = signame::parse(v).ok_or_else(|| ArgError::Signal(v.into()))?,
        "kill-whom" | "kill-who" => {
            opts.whom = KillWhom::parse(v).ok_or_else(|| ArgError::Whom(v.into()))?
        }
        "property" => comma_list(&mut opts.properties, v),
        "lines" => opts.lines = v.parse().map_err(|_| ArgError::Lines(v.into()))?,
        "type" => comma_list(&mut opts.types, v),
        "state" => comma_list(&mut opts.states, v),
        "root" => opts.root = Some(v.to_string()),
        "preset-mode" => opts.preset_mode = Some(v.to_string()),
        _ => {}
    }
    Ok(())
}

/// Parse the words after `systemctl`.
pub fn parse(words: &[String]) -> Result<Command, ArgError> {
    let mut opts = Options::default();
    let mut verb_override = None;
    let mut positional: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        i += 1;
        if word == "--" {
            positional.extend(words[i..].iter().map(String::as_str));
            break;
        }
        if let Some(body) = word.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            if VALUED.iter().any(|(l, _)| *l == name) {
                let value = match inline {
                    Some(v) => v,
                    None if i < words.len() => {
                        i += 1;
                        words[i - 1].as_str()
                    }
                    None => return Err(ArgError::LongNeedsValue(format!("--{name}"))),
                };
                apply(name, Some(value), &mut opts, &mut verb_override)?;
            } else if FLAGS.iter().any(|(l, _)| *l == name) {
                if inline.is_some() && name != "legend" {
                    return Err(ArgError::LongTakesNoValue(format!("--{name}")));
                }
                apply(name, inline, &mut opts, &mut verb_override)?;
            } else {
                return Err(ArgError::UnknownLong(word.to_string()));
            }
            continue;
        }
        let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) else {
            positional.push(word);
            continue;
        };
        for (at, c) in shorts.char_indices() {
            if let Some((long, _)) = VALUED.iter().find(|(_, s)| *s == Some(c)) {
                let rest = &shorts[at + c.len_utf8()..];
                let value = if !rest.is_empty() {
                    rest
                } else if i < words.len() {
                    i += 1;
                    words[i - 1].as_str()
                } else {
                    return Err(ArgError::ShortNeedsValue(c));
                };
                apply(long, Some(value), &mut opts, &mut verb_override)?;
                break;
            }
            match FLAGS.iter().find(|(_, s)| *s == Some(c)) {
                Some((long, _)) => apply(long, None, &mut opts, &mut verb_override)?,
                None => return Err(ArgError::UnknownShort(c)),
            }
        }
    }
    if let Some(verb) = verb_override {
        return Ok(Command {
            verb,
            args: Vec::new(),
            opts,
        });
    }
    // No verb: list-units, as systemctl does.
    let (word, rest) = positional
        .split_first()
        .map_or(("list-units", &[][..]), |(w, r)| (*w, r));
    let (mut verb, min, max) = verb_of(word).ok_or_else(|| ArgError::UnknownVerb(word.into()))?;
    if rest.len() < min {
        return Err(ArgError::TooFew);
    }
    if max.is_some_and(|m| rest.len() > m) {
        return Err(ArgError::TooMany);
    }
    if let Verb::Job(JobVerb::Kill { .. }) = verb {
        verb = Verb::Job(JobVerb::Kill {
            signal: opts.signal,
            whom: opts.whom,
        });
    }
    let args = match verb {
        Verb::ListUnits | Verb::ListUnitFiles => rest.iter().map(|s| s.to_string()).collect(),
        _ => rest.iter().map(|s| mangle(s)).collect(),
    };
    Ok(Command { verb, args, opts })
}

/// Whether `text` is a glob pattern (systemd's `string_is_glob`).
pub fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// A name as systemctl completes it: a glob stays a glob; a name whose suffix is no unit
/// type gets `.service` (`nginx`, `getty@tty1`, `foo.bar`).
pub fn mangle(name: &str) -> String {
    if is_glob(name) {
        return name.to_string();
    }
    let typed = name
        .rsplit_once('.')
        .is_some_and(|(stem, suffix)| !stem.is_empty() && UNIT_TYPES.contains(&suffix));
    if typed {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

/// fnmatch(3) without flags: `*`, `?`, `[...]` (with `!`/`^` and ranges), `\` escapes.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches(&p, &t)
}

fn matches(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|skip| matches(rest, &t[skip..])),
        Some(('?', rest)) => !t.is_empty() && matches(rest, &t[1..]),
        Some(('[', rest)) => {
            let Some((&c, t_rest)) = t.split_first() else {
                return false;
            };
            match class(rest, c) {
                Some((hit, after)) => hit && matches(after, t_rest),
                // No closing bracket: a literal '['.
                None => c == '[' && matches(rest, t_rest),
            }
        }
        Some(('\\', [esc, rest @ ..])) => t.first() == Some(esc) && matches(rest, &t[1..]),
        Some((c, rest)) => t.first() == Some(c) && matches(rest, &t[1..]),
    }
}

/// A bracket expression after its `[`: whether `c` is in it, and the pattern after `]`.
fn class(p: &[char], c: char) -> Option<(bool, &[char])> {
    let (negate, mut p) = match p.first() {
        Some('!' | '^') => (true, &p[1..]),
        _ => (false, p),
    };
    let mut hit = false;
    let mut first = true;
    loop {
        match p {
            [] => return None,
            [']', rest @ ..] if !first => return Some((hit != negate, rest)),
            [lo, '-', hi, rest @ ..] if *hi != ']' => {
                hit |= (*lo..=*hi).contains(&c);
                p = rest;
            }
            [x, rest @ ..] => {
                hit |= *x == c;
                p = rest;
            }
        }
        first = false;
    }
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
