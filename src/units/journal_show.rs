//! Journal entries as `journalctl` (systemd v252) prints them; pure.
//!
//! `-o short`, the default: `Dec 06 11:40:01 HOST IDENT[PID]: MESSAGE`. The time is the
//! entry's, formatted `%b %d %H:%M:%S` in the C locale. We always print UTC: a container's
//! local time is UTC unless the image sets /etc/localtime or TZ, and reading the zone files is
//! not worth it here (so `--utc` changes nothing). HOST is left out with `--no-hostname`,
//! `[PID]` when the pid is unknown (0), IDENT is `unknown` when empty, as journalctl does.
//! Unless `--all`, tabs become 8 spaces and ANSI escape sequences are removed, and a message
//! that still has control characters is shown as `[SIZE blob data]`.
//!
//! `-o cat`: the message alone.
//!
//! The lines journalctl adds: `-- No entries --` when nothing matched (not with `-q`, not
//! when following). `-- Boot ID --` separates boots, and a container has one, so it is never
//! printed; since v250 the `-- Journal begins at … --` header is a debug message only.

use super::status::JournalEntry;

/// What journalctl prints when nothing matched.
pub const NO_ENTRIES: &str = "-- No entries --";

/// How entries are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Short,
    Cat,
}

/// Formatting choices that come from the command line and the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style<'a> {
    pub output: Output,
    /// None: `--no-hostname`.
    pub hostname: Option<&'a str>,
    /// `-a`: print messages as they are.
    pub all: bool,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 → (year, month 1-12, day 1-31), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    // Shift to 0000-03-01 so that a leap day ends each 4-, 100- and 400-year cycle.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..365, from March 1st
    let mp = (5 * doy + 2) / 153; // 0 = March
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// `%b %d %H:%M:%S` in UTC for wall-clock microseconds.
pub fn syslog_time(time_us: u64) -> String {
    let secs = i64::try_from(time_us / 1_000_000).unwrap_or(i64::MAX);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (_, month, day) = civil(days);
    let name = MONTHS
        .get(usize::try_from(month).unwrap_or(1) - 1)
        .unwrap_or(&"Jan");
    format!(
        "{name} {day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// systemd's FORMAT_BYTES for the sizes a message can have: `123B`, `1.4K`, `2.0M`.
fn format_bytes(n: usize) -> String {
    const K: usize = 1024;
    if n < K {
        format!("{n}B")
    } else if n < K * K {
        format!("{}.{}K", n / K, n * 10 / K % 10)
    } else {
        format!("{}.{}M", n / (K * K), n / K * 10 / K % 10)
    }
}

/// Tabs to 8 spaces and ANSI CSI sequences (`ESC [ … final`) removed, as journalctl does
/// unless `--all`.
fn strip_tab_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push_str("        "),
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                // Parameters and intermediates, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        break;
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// journalctl's test: no C0 control (but newline and tab), no DEL, no C1 control.
fn printable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| (c < ' ' && c != '\n' && c != '\t') || ('\x7f'..='\u{9f}').contains(&c))
}

/// The message as the chosen output shows it.
fn message(entry: &JournalEntry, all: bool) -> String {
    if all {
        return entry.message.clone();
    }
    let text = strip_tab_ansi(&entry.message);
    if printable(&text) {
        text
    } else {
        format!("[{} blob data]", format_bytes(entry.message.len()))
    }
}

/// One entry as one line, with its newline.
pub fn format_entry(entry: &JournalEntry, style: &Style) -> String {
    let text = message(entry, style.all);
    if style.output == Output::Cat {
        return format!("{text}\n");
    }
    let mut line = syslog_time(entry.time_us);
    if let Some(host) = style.hostname.filter(|h| !h.is_empty()) {
        line.push(' ');
        line.push_str(host);
    }
    line.push(' ');
    line.push_str(if entry.ident.is_empty() {
        "unknown"
    } else {
        &entry.ident
    });
    if entry.pid > 0 {
        line.push_str(&format!("[{}]", entry.pid));
    }
    line.push_str(": ");
    line.push_str(&text);
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_time_is_utc_in_the_c_locale() {
        let cases = [
            (0, "Jan 01 00:00:00"),
            (1_701_862_801_000_000, "Dec 06 11:40:01"),
            (951_782_400_000_000, "Feb 29 00:00:00"), // 2000, a leap year of the 400 rule
            (4_107_542_399_999_999, "Feb 28 23:59:59"), // 2100 is not a leap year
            (4_107_542_400_000_000, "Mar 01 00:00:00"),
            (1_704_067_199_000_000, "Dec 31 23:59:59"),
        ];
        for (us, want) in cases {
            assert_eq!(syslog_time(us), want, "{us}");
        }
        assert_eq!(civil(-1), (1969, 12, 31));
    }

    fn entry(ident: &str, pid: i32, message: &str) -> JournalEntry {
        JournalEntry {
            time_us: 1_701_862_801_123_456,
            unit: "cron.service".into(),
            ident: ident.into(),
            pid,
            message: message.into(),
        }
    }

    #[test]
    fn short_and_cat() {
        let short = Style {
            output: Output::Short,
            hostname: Some("box"),
            all: false,
        };
        let no_host = Style {
            hostname: None,
            ..short.clone()
        };
        let all = Style {
            all: true,
            ..short.clone()
        };
        let cat = Style {
            output: Output::Cat,
            ..short.clone()
        };
        let cases = [
            (
                &short,
                entry("cron", 42, "hi"),
                "Dec 06 11:40:01 box cron[42]: hi\n",
            ),
            (
                &short,
                entry("cron", 0, "hi"),
                "Dec 06 11:40:01 box cron: hi\n",
            ),
            (
                &short,
                entry("", 0, "hi"),
                "Dec 06 11:40:01 box unknown: hi\n",
            ),
            (
                &no_host,
                entry("cron", 42, "hi"),
                "Dec 06 11:40:01 cron[42]: hi\n",
            ),
            (
                &short,
                entry("c", 1, "a\tb"),
                "Dec 06 11:40:01 box c[1]: a        b\n",
            ),
            (
                &short,
                entry("c", 1, "\x1b[1;31mred\x1b[0m!"),
                "Dec 06 11:40:01 box c[1]: red!\n",
            ),
            (
                &short,
                entry("c", 1, "bell\x07"),
                "Dec 06 11:40:01 box c[1]: [5B blob data]\n",
            ),
            (
                &short,
                entry("c", 1, "c1\u{85}"),
                "Dec 06 11:40:01 box c[1]: [4B blob data]\n",
            ),
            (
                &all,
                entry("c", 1, "bell\x07\t"),
                "Dec 06 11:40:01 box c[1]: bell\x07\t\n",
            ),
            (
                &short,
                entry("c", 1, "ünï"),
                "Dec 06 11:40:01 box c[1]: ünï\n",
            ),
            (&cat, entry("cron", 42, "hi\tthere"), "hi        there\n"),
        ];
        for (style, e, want) in cases {
            assert_eq!(format_entry(&e, style), want, "{:?}", e.message);
        }
    }

    #[test]
    fn bytes() {
        let cases = [
            (0, "0B"),
            (1023, "1023B"),
            (1024, "1.0K"),
            (1500, "1.4K"),
            (16384, "16.0K"),
            (3 << 20, "3.0M"),
        ];
        for (n, want) in cases {
            assert_eq!(format_bytes(n), want, "{n}");
        }
    }
}
