//! Signal numbers and names: pure parsing and formatting, shared by every CLI.
//!
//! Numbers are Linux x86_64 values. Real-time signals are `RTMIN+n` / `RTMAX-n`
//! where RTMIN is 34, the first one glibc leaves to applications.

/// The first real-time signal that applications may use (glibc reserves 32 and 33).
pub const SIGRTMIN: i32 = 34;
/// The last real-time signal.
pub const SIGRTMAX: i32 = 64;

/// Standard signal names, indexed by number (index 0 unused).
const NAMES: [&str; 32] = [
    "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// Aliases accepted on input only.
const ALIASES: [(&str, i32); 4] = [("IOT", 6), ("CLD", 17), ("POLL", 29), ("UNUSED", 31)];

/// Parse a signal given as a number (`15`), a name (`TERM`, `SIGTERM`, `sigterm`) or a
/// real-time offset (`RTMIN+3`, `SIGRTMAX-1`). Returns `None` when it names no signal.
pub fn parse(text: &str) -> Option<i32> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i32>() {
        return (1..=SIGRTMAX).contains(&n).then_some(n);
    }
    let upper = t.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(n) = NAMES.iter().position(|candidate| *candidate == name) {
        if n > 0 {
            return i32::try_from(n).ok();
        }
    }
    if let Some((_, n)) = ALIASES.iter().find(|(alias, _)| *alias == name) {
        return Some(*n);
    }
    parse_realtime(name)
}

fn parse_realtime(name: &str) -> Option<i32> {
    let (base, rest) = if let Some(rest) = name.strip_prefix("RTMIN") {
        (SIGRTMIN, rest)
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        (SIGRTMAX, rest)
    } else {
        return None;
    };
    let n = if rest.is_empty() {
        base
    } else if let Some(off) = rest.strip_prefix('+') {
        base.checked_add(off.parse::<i32>().ok()?)?
    } else if let Some(off) = rest.strip_prefix('-') {
        base.checked_sub(off.parse::<i32>().ok()?)?
    } else {
        return None;
    };
    (SIGRTMIN..=SIGRTMAX).contains(&n).then_some(n)
}

/// A signal's conventional name, `SIGTERM` or `SIGRTMIN+3`; a bare number otherwise.
pub fn name(sig: i32) -> String {
    match usize::try_from(sig) {
        Ok(i) if (1..NAMES.len()).contains(&i) => format!("SIG{}", NAMES[i]),
        _ if (SIGRTMIN..=SIGRTMAX).contains(&sig) => format!("SIGRTMIN+{}", sig - SIGRTMIN),
        _ => sig.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let cases: &[(&str, Option<i32>)] = &[
            ("15", Some(15)),
            ("TERM", Some(15)),
            ("SIGTERM", Some(15)),
            ("sigterm", Some(15)),
            (" hup ", Some(1)),
            ("SIGIOT", Some(6)),
            ("CLD", Some(17)),
            ("RTMIN", Some(34)),
            ("RTMIN+3", Some(37)),
            ("SIGRTMAX-1", Some(63)),
            ("RTMAX", Some(64)),
            ("RTMIN+31", None),
            ("RTMAX+1", None),
            ("RTMIN+x", None),
            ("0", None),
            ("65", None),
            ("-1", None),
            ("", None),
            ("SIG", None),
            ("FOO", None),
            ("RTMINUS", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), *want, "parse({text:?})");
        }
    }

    #[test]
    fn names_round_trip() {
        for sig in 1..=SIGRTMAX {
            if sig == 32 || sig == 33 {
                continue;
            }
            assert_eq!(parse(&name(sig)), Some(sig), "{}", name(sig));
        }
        assert_eq!(name(15), "SIGTERM");
        assert_eq!(name(37), "SIGRTMIN+3");
        assert_eq!(name(32), "32");
    }
}
