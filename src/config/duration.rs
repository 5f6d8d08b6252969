//! Human durations: "250ms", "5s", "2m", "1h", "1m30s".
//!
//! A duration is one or more `<whole number><unit>` parts, units `h`, `m`, `s`, `ms`,
//! each unit at most once and larger units first ("1h30m", "1s500ms"). No spaces
//! inside, no fractions ("1.5s" is "1500ms"). Zero is written "0" (or "0s", "0ms").
//! Whether zero makes sense is up to the caller: [`parse`] accepts it and
//! [`parse_nonzero`] does not.

use std::time::Duration;

/// The units, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

/// What is wrong with a duration text. Each case keeps the text it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{} is empty; write a duration like \"250ms\", \"5s\", \"2m\", \"1h\" or \"1m30s\"", quoted(.0))]
    Empty(String),
    #[error("{} has no unit; write it as \"{n}s\" or \"{n}ms\" (units: h, m, s, ms)", quoted(.0), n = .0)]
    NoUnit(String),
    #[error("{} has unit \"{unit}\"; the units are h, m, s and ms, as in \"1m30s\"", quoted(.text))]
    UnknownUnit { text: String, unit: String },
    #[error("{} is not a duration; write whole numbers with units, largest first, as in \"1m30s\" or \"250ms\"", quoted(.0))]
    Malformed(String),
    #[error("{} has a fraction; use a smaller unit instead (\"1500ms\", not \"1.5s\")", quoted(.0))]
    Fraction(String),
    #[error("{} repeats a unit or puts a smaller one first; write units largest first, each once, as in \"1h30m\"", quoted(.0))]
    UnitOrder(String),
    #[error("{} is too long; the largest duration is about 584 million years", quoted(.0))]
    TooLong(String),
    #[error("{} is zero, which makes no sense here; give a positive duration like \"100ms\"", quoted(.0))]
    Zero(String),
}

fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// Parse a human duration; zero is allowed.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DurationError::Empty(text.to_owned()));
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = t;
    let mut total: u64 = 0;
    let mut next_unit = 0; // index into UNITS of the largest unit still allowed
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::Malformed(text.to_owned()));
        }
        let (number, after) = rest.split_at(digits);
        if after.starts_with(['.', ',']) {
            return Err(DurationError::Fraction(text.to_owned()));
        }
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(if after.is_empty() && rest.len() == t.len() {
                DurationError::NoUnit(t.to_owned())
            } else {
                DurationError::Malformed(text.to_owned())
            });
        }
        let Some(index) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit {
                text: text.to_owned(),
                unit: unit.to_owned(),
            });
        };
        if index < next_unit {
            return Err(DurationError::UnitOrder(text.to_owned()));
        }
        next_unit = index + 1;
        let too_long = || DurationError::TooLong(text.to_owned());
        let n: u64 = number.parse().map_err(|_| too_long())?;
        let ms = n.checked_mul(UNITS[index].1).ok_or_else(too_long)?;
        total = total.checked_add(ms).ok_or_else(too_long)?;
        rest = after;
    }
    Ok(Duration::from_millis(total))
}

/// Parse a human duration that must be longer than zero.
pub fn parse_nonzero(text: &str) -> Result<Duration, DurationError> {
    let d = parse(text)?;
    if d.is_zero() {
        return Err(DurationError::Zero(text.to_owned()));
    }
    Ok(d)
}

/// A duration the way a user would write it: "1m30s", "250ms", "0s".
pub fn format(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, len) in UNITS {
        let len = u128::from(len);
        if ms >= len {
            out.push_str(&format!("{}{unit}", ms / len));
            ms %= len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("0s", 0),
            ("0ms", 0),
            ("250ms", 250),
            ("5s", 5_000),
            ("2m", 120_000),
            ("1h", 3_600_000),
            ("1m30s", 90_000),
            ("1h30m", 5_400_000),
            ("1s500ms", 1_500),
            ("1h2m3s4ms", 3_723_004),
            (" 5s ", 5_000),
            ("90s", 90_000),
            ("0005s", 5_000),
        ];
        for (text, ms) in cases {
            assert_eq!(parse(text), Ok(Duration::from_millis(*ms)), "{text}");
        }
    }

    #[test]
    fn bad() {
        let cases: &[(&str, &str)] = &[
            (
                "",
                "\"\" is empty; write a duration like \"250ms\", \"5s\", \"2m\", \"1h\" or \"1m30s\"",
            ),
            (
                "5",
                "\"5\" has no unit; write it as \"5s\" or \"5ms\" (units: h, m, s, ms)",
            ),
            (
                "5 s",
                "\"5 s\" is not a duration; write whole numbers with units, largest first, \
                 as in \"1m30s\" or \"250ms\"",
            ),
            (
                "s",
                "\"s\" is not a duration; write whole numbers with units, largest first, \
                 as in \"1m30s\" or \"250ms\"",
            ),
            (
                "-5s",
                "\"-5s\" is not a duration; write whole numbers with units, largest first, \
                 as in \"1m30s\" or \"250ms\"",
            ),
            (
                "1m30",
                "\"1m30\" is not a duration; write whole numbers with units, largest first, \
                 as in \"1m30s\" or \"250ms\"",
            ),
            (
                "5sec",
                "\"5sec\" has unit \"sec\"; the units are h, m, s and ms, as in \"1m30s\"",
            ),
            (
                "1d",
                "\"1d\" has unit \"d\"; the units are h, m, s and ms, as in \"1m30s\"",
            ),
            (
                "1.5s",
                "\"1.5s\" has a fraction; use a smaller unit instead (\"1500ms\", not \"1.5s\")",
            ),
            (
                "30s1m",
                "\"30s1m\" repeats a unit or puts a smaller one first; write units largest \
                 first, each once, as in \"1h30m\"",
            ),
            (
                "1s1s",
                "\"1s1s\" repeats a unit or puts a smaller one first; write units largest \
                 first, each once, as in \"1h30m\"",
            ),
            (
                "99999999999999999999ms",
                "\"99999999999999999999ms\" is too long; the largest duration is about 584 \
                 million years",
            ),
            (
                "9999999999999999h",
                "\"9999999999999999h\" is too long; the largest duration is about 584 million \
                 years",
            ),
        ];
        for (text, want) in cases {
            match parse(text) {
                Err(e) => assert_eq!(e.to_string(), *want, "{text}"),
                Ok(d) => panic!("{text}: expected an error, got {d:?}"),
            }
        }
    }

    #[test]
    fn nonzero() {
        assert_eq!(parse_nonzero("1ms"), Ok(Duration::from_millis(1)));
        let want =
            "\"0s\" is zero, which makes no sense here; give a positive duration like \"100ms\"";
        assert_eq!(
            parse_nonzero("0s").map_err(|e| e.to_string()),
            Err(want.into())
        );
    }

    #[test]
    fn formats_round_trip() {
        for text in ["0s", "250ms", "5s", "2m", "1h", "1m30s", "1h2m3s4ms"] {
            let d = parse(text).unwrap_or_default();
            assert_eq!(format(d), text);
        }
    }
}
