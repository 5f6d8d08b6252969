//! Value syntaxes shared by the unit directives: booleans (systemd.syntax(7)), time spans
//! (systemd.time(7)), exit statuses, resource limits, modes, output targets and conditions.
//! Each parser returns the reason a value is refused, as one phrase naming the fix; the
//! caller turns it into a warning and ignores the directive, as systemd does.

use std::time::Duration;

use crate::signame;

/// A boolean as systemd reads it: 1/yes/y/true/t/on and 0/no/n/false/f/off, any case.
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Ok(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Ok(false),
        _ => Err("expected a boolean: yes or no (also 1/0, true/false, on/off)".into()),
    }
}

/// The time units of systemd.time(7), longest spellings first so that `ms` wins over `m`.
const UNITS: &[(&str, f64)] = &[
    ("usec", 1e-6),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("msec", 1e-3),
    ("ms", 1e-3),
    ("seconds", 1.0),
    ("second", 1.0),
    ("sec", 1.0),
    ("s", 1.0),
    ("minutes", 60.0),
    ("minute", 60.0),
    ("min", 60.0),
    ("months", 2_629_800.0),
    ("month", 2_629_800.0),
    ("M", 2_629_800.0),
    ("m", 60.0),
    ("hours", 3600.0),
    ("hour", 3600.0),
    ("hr", 3600.0),
    ("h", 3600.0),
    ("days", 86400.0),
    ("day", 86400.0),
    ("d", 86400.0),
    ("weeks", 604_800.0),
    ("week", 604_800.0),
    ("w", 604_800.0),
    ("years", 31_557_600.0),
    ("year", 31_557_600.0),
    ("y", 31_557_600.0),
];

const TIME_HINT: &str =
    "expected a time span such as 5s, 1min 30s, 500ms, a number of seconds, or infinity";

/// A time span (systemd.time(7)): components such as `1min 30s` or `1min30s`, each a number
/// (fractions allowed) and a unit; a bare number is seconds; `infinity` is `None`.
pub fn timespan(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text == "infinity" {
        return Ok(None);
    }
    if text.is_empty() {
        return Err(TIME_HINT.into());
    }
    let mut rest = text;
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().map_err(|_| TIME_HINT.to_string())?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let scale = if unit.is_empty() {
            1.0
        } else {
            UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, scale)| *scale)
                .ok_or_else(|| format!("unknown time unit `{unit}`; {TIME_HINT}"))?
        };
        total += number * scale;
        rest = rest[unit_len..].trim_start();
    }
    Duration::try_from_secs_f64(total)
        .map(Some)
        .map_err(|_| TIME_HINT.to_string())
}

/// A timeout: as [`timespan`], and 0 disables it too (systemd.service(5), TimeoutStartSec=).
pub fn timeout(text: &str) -> Result<Option<Duration>, String> {
    Ok(timespan(text)?.filter(|d| !d.is_zero()))
}

/// A finite time span (RestartSec=, StartLimitIntervalSec=).
pub fn finite(text: &str) -> Result<Duration, String> {
    timespan(text)?.ok_or_else(|| format!("infinity is not allowed here; {TIME_HINT}"))
}

/// Exit codes and signals, as SuccessExitStatus= and RestartPreventExitStatus= list them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExitStatusSet {
    pub codes: Vec<u8>,
    pub signals: Vec<i32>,
}

/// Add one assignment's words (numbers 0–255 and signal names) to `set`; a bad word refuses
/// the whole assignment.
pub fn exit_statuses(text: &str, set: &mut ExitStatusSet) -> Result<(), String> {
    let mut add = ExitStatusSet::default();
    for word in text.split_whitespace() {
        if let Ok(code) = word.parse::<u8>() {
            add.codes.push(code);
        } else if word.chars().any(|c| c.is_ascii_alphabetic()) {
            let signal = signame::parse(word).ok_or_else(|| {
                format!("`{word}` is neither an exit code 0-255 nor a signal name such as SIGTERM")
            })?;
            add.signals.push(signal);
        } else {
            return Err(format!(
                "`{word}` is neither an exit code 0-255 nor a signal name such as SIGTERM"
            ));
        }
    }
    set.codes.extend(add.codes);
    set.signals.extend(add.signals);
    Ok(())
}

/// A signal by name or number (KillSignal=, FinalKillSignal=).
pub fn signal(text: &str) -> Result<i32, String> {
    signame::parse(text).ok_or_else(|| "expected a signal such as SIGTERM or SIGKILL".into())
}

/// An octal file mode (UMask=, RuntimeDirectoryMode=…), at most 07777.
pub fn mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| "expected an octal mode such as 0022 or 0755".into())
}

/// An integer in `range` (Nice=, OOMScoreAdjust=).
pub fn int_in(text: &str, low: i32, high: i32) -> Result<i32, String> {
    text.parse::<i32>()
        .ok()
        .filter(|n| (low..=high).contains(n))
        .ok_or_else(|| format!("expected an integer from {low} to {high}"))
}

/// One `Limit*=` resource limit (systemd.exec(5), "Process Properties"); `None` is infinity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rlimit {
    /// The directive's name, such as `LimitNOFILE`.
    pub name: String,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// `SOFT:HARD` or one value for both. Sizes take K, M, G, T, P, E (base 1024); LimitCPU= is
/// seconds and LimitRTTIME= microseconds, both also as time spans; `infinity` is no limit.
pub fn rlimit(name: &str, text: &str) -> Result<Rlimit, String> {
    let (soft, hard) = text.split_once(':').unwrap_or((text, text));
    Ok(Rlimit {
        name: name.to_string(),
        soft: limit_value(name, soft)?,
        hard: limit_value(name, hard)?,
    })
}

fn limit_value(name: &str, text: &str) -> Result<Option<u64>, String> {
    if text == "infinity" {
        return Ok(None);
    }
    let hint = || format!("expected a number, N:M (soft:hard) or infinity for {name}=");
    if let Ok(n) = text.parse::<u64>() {
        return Ok(Some(n));
    }
    match name {
        "LimitCPU" | "LimitRTTIME" => {
            let span = timespan(text).map_err(|_| hint())?;
            Ok(span.map(|d| {
                let n = if name == "LimitCPU" {
                    u128::from(d.as_secs())
                } else {
                    d.as_micros()
                };
                u64::try_from(n).unwrap_or(u64::MAX)
            }))
        }
        "LimitNICE" | "LimitRTPRIO" | "LimitNOFILE" | "LimitNPROC" | "LimitSIGPENDING"
        | "LimitLOCKS" => Err(hint()),
        _ => {
            let shift = match text.chars().last() {
                Some('K') => 10,
                Some('M') => 20,
                Some('G') => 30,
                Some('T') => 40,
                Some('P') => 50,
                Some('E') => 60,
                _ => return Err(hint()),
            };
            let digits = &text[..text.len() - 1];
            let n: u64 = digits.parse().map_err(|_| hint())?;
            n.checked_mul(1u64 << shift).map(Some).ok_or_else(hint)
        }
    }
}

/// Where StandardOutput=/StandardError= go (systemd.exec(5), "Logging and Standard Input/Output").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Inherit,
    Null,
    Tty,
    Console,
    /// `journal`, or `journal+console` when `console`.
    Journal {
        console: bool,
    },
    Syslog {
        console: bool,
    },
    Kmsg {
        console: bool,
    },
    /// `file:PATH`: written from the start, not truncated.
    File(String),
    /// `append:PATH`.
    Append(String),
    /// `truncate:PATH`.
    Truncate(String),
}

/// An output target; the path of `file:`/`append:`/`truncate:` must be absolute.
pub fn output(text: &str) -> Result<Output, String> {
    let path = |p: &str| {
        if p.starts_with('/') {
            Ok(p.to_string())
        } else {
            Err(format!(
                "`{p}` is not an absolute path; write file:/var/log/NAME.log"
            ))
        }
    };
    Ok(match text {
        "inherit" => Output::Inherit,
        "null" => Output::Null,
        "tty" => Output::Tty,
        "console" => Output::Console,
        "journal" => Output::Journal { console: false },
        "journal+console" => Output::Journal { console: true },
        "syslog" => Output::Syslog { console: false },
        "syslog+console" => Output::Syslog { console: true },
        "kmsg" => Output::Kmsg { console: false },
        "kmsg+console" => Output::Kmsg { console: true },
        _ => {
            if let Some(p) = text.strip_prefix("file:") {
                Output::File(path(p)?)
            } else if let Some(p) = text.strip_prefix("append:") {
                Output::Append(path(p)?)
            } else if let Some(p) = text.strip_prefix("truncate:") {
                Output::Truncate(path(p)?)
            } else {
                return Err("expected inherit, null, tty, console, journal, syslog, kmsg (+console), file:PATH, append:PATH or truncate:PATH".into());
            }
        }
    })
}

/// What a condition or assertion checks (systemd.unit(5), "Conditions and Asserts").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    PathExists,
    PathExistsGlob,
    PathIsDirectory,
    PathIsSymbolicLink,
    FileNotEmpty,
    FileIsExecutable,
    DirectoryNotEmpty,
    Virtualization,
    /// A capability name (CAP_SYS_ADMIN) in the service manager's bounding set.
    Capability,
}

/// The check behind a `Condition…=`/`Assert…=` name without its prefix, if we evaluate it.
pub fn check(suffix: &str) -> Option<Check> {
    Some(match suffix {
        "PathExists" => Check::PathExists,
        "PathExistsGlob" => Check::PathExistsGlob,
        "PathIsDirectory" => Check::PathIsDirectory,
        "PathIsSymbolicLink" => Check::PathIsSymbolicLink,
        "FileNotEmpty" => Check::FileNotEmpty,
        "FileIsExecutable" => Check::FileIsExecutable,
        "DirectoryNotEmpty" => Check::DirectoryNotEmpty,
        "Virtualization" => Check::Virtualization,
        "Capability" => Check::Capability,
        _ => return None,
    })
}

/// One condition or assertion, kept as data for the caller to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub check: Check,
    /// `|`: a triggering condition (at least one of the triggering ones must hold).
    pub trigger: bool,
    /// `!`: the result is negated.
    pub negate: bool,
    /// The path (specifiers resolved), or the virtualization name/class.
    pub value: String,
}

/// A condition's value: `|` then `!` prefixes, then an absolute path (not for Virtualization).
pub fn condition(check: Check, text: &str) -> Result<Condition, String> {
    let (trigger, rest) = match text.strip_prefix('|') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let (negate, rest) = match rest.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, rest),
    };
    let path_like = !matches!(check, Check::Virtualization | Check::Capability);
    if rest.is_empty() || (path_like && !rest.starts_with('/')) {
        return Err("expected an absolute path, optionally after | and !".into());
    }
    Ok(Condition {
        check,
        trigger,
        negate,
        value: rest.to_string(),
    })
}
