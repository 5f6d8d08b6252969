//! systemd's text formats: timestamps (`Sun 2026-12-06 11:40:01 UTC`, always UTC here),
//! relative times (`5s ago`), column tables, shell quoting of list items, and journalctl's
//! `short` line. Pure.

const USEC_PER_SEC: u64 = 1_000_000;
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The calendar parts of a wall-clock time: (year, month 1-12, day, hh, mm, ss, weekday name).
fn civil(us: u64) -> (i64, usize, u64, u64, u64, u64, &'static str) {
    let secs = us / USEC_PER_SEC;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil, for days since 1970-01-01 (a Thursday).
    let z = i64::try_from(days).unwrap_or(i64::MAX / 2) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = DAYS[usize::try_from(days % 7).unwrap_or(0)];
    (
        year,
        usize::try_from(month).unwrap_or(1),
        u64::try_from(day).unwrap_or(1),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        weekday,
    )
}

/// systemd's `format_timestamp`: `Sun 2026-12-06 11:40:01 UTC`; empty for 0 ("never").
pub fn timestamp(us: u64) -> String {
    if us == 0 {
        return String::new();
    }
    let (y, mo, d, h, mi, s, wd) = civil(us);
    format!("{wd} {y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// journalctl's `short` time: `Dec 06 11:40:01`.
pub fn short_time(us: u64) -> String {
    let (_, mo, d, h, mi, s, _) = civil(us);
    let month = MONTHS.get(mo.wrapping_sub(1)).unwrap_or(&"Jan");
    format!("{month} {d:02} {h:02}:{mi:02}:{s:02}")
}

/// systemd's `format_timestamp_relative`: `5s ago`, `2min 3s ago`, `1h 5min ago`,
/// `3 days ago`, `1 week 2 days left`...
pub fn relative(now_us: u64, then_us: u64) -> String {
    let (d, word) = if now_us >= then_us {
        (now_us - then_us, "ago")
    } else {
        (then_us - now_us, "left")
    };
    const MSEC: u64 = 1000;
    const SEC: u64 = USEC_PER_SEC;
    const MIN: u64 = 60 * SEC;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    const WEEK: u64 = 7 * DAY;
    const MONTH: u64 = 2_629_800 * SEC;
    const YEAR: u64 = 31_557_600 * SEC;
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            one.to_string()
        } else {
            many.to_string()
        }
    };
    if d >= YEAR {
        let (y, m) = (d / YEAR, (d % YEAR) / MONTH);
        format!(
            "{y} {} {m} {} {word}",
            plural(y, "year", "years"),
            plural(m, "month", "months")
        )
    } else if d >= MONTH {
        let (m, days) = (d / MONTH, (d % MONTH) / DAY);
        format!(
            "{m} {} {days} {} {word}",
            plural(m, "month", "months"),
            plural(days, "day", "days")
        )
    } else if d >= WEEK {
        let (w, days) = (d / WEEK, (d % WEEK) / DAY);
        format!(
            "{w} {} {days} {} {word}",
            plural(w, "week", "weeks"),
            plural(days, "day", "days")
        )
    } else if d >= 2 * DAY {
        format!("{} days {word}", d / DAY)
    } else if d >= 25 * HOUR {
        format!("1 day {}h {word}", (d - DAY) / HOUR)
    } else if d >= 6 * HOUR {
        format!("{}h {word}", d / HOUR)
    } else if d >= HOUR {
        format!("{}h {}min {word}", d / HOUR, (d % HOUR) / MIN)
    } else if d >= 5 * MIN {
        format!("{}min {word}", d / MIN)
    } else if d >= MIN {
        format!("{}min {}s {word}", d / MIN, (d % MIN) / SEC)
    } else if d >= SEC {
        format!("{}s {word}", d / SEC)
    } else if d >= MSEC {
        format!("{}ms {word}", d / MSEC)
    } else if d > 0 {
        format!("{d}us {word}")
    } else {
        "now".into()
    }
}

/// Columns separated by one space, each as wide as its widest cell, the last one not
/// padded, no trailing spaces; empty cells print as `-` (systemd's table, ersatz dash).
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count().max(1));
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let cell = if cell.is_empty() { "-" } else { cell.as_str() };
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let width = widths[i];
                line.push_str(&format!("{cell:<width$} "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// systemd's `shell_maybe_quote`: the text as is, or in double quotes (with `"\$` and the
/// backtick escaped) when it has a character a shell would read specially.
pub fn shell_quote(text: &str) -> String {
    const SPECIAL: &str = " \t\n\"\\`$'()*;<>?[]{}|&!~#";
    if !text.is_empty() && !text.contains(|c| SPECIAL.contains(c)) {
        return text.to_string();
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One journal line as journalctl's `short` output: `Dec 06 11:40:01 host nginx[123]: text`.
pub fn journal_short(entry: &crate::units::status::JournalEntry, host: &str) -> String {
    let ident = if entry.ident.is_empty() {
        "rich-init"
    } else {
        entry.ident.as_str()
    };
    let pid = if entry.pid > 0 {
        format!("[{}]", entry.pid)
    } else {
        String::new()
    };
    format!(
        "{} {host} {ident}{pid}: {}",
        short_time(entry.time_us),
        entry.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::status::JournalEntry;

    /// 2026-12-06 11:40:01 UTC.
    const T: u64 = 1_796_557_201_000_000;

    #[test]
    fn timestamps() {
        let cases = [
            (0, ""),
            (1, "Thu 1970-01-01 00:00:00 UTC"),
            (T, "Sun 2026-12-06 11:40:01 UTC"),
            (951_782_400_000_000, "Tue 2000-02-29 00:00:00 UTC"),
            (1_709_251_199_000_000, "Thu 2024-02-29 23:59:59 UTC"),
        ];
        for (us, want) in cases {
            assert_eq!(timestamp(us), want, "{us}");
        }
        assert_eq!(short_time(T), "Dec 06 11:40:01");
    }

    #[test]
    fn relative_times() {
        let s = 1_000_000;
        let cases = [
            (0, "now"),
            (5, "5us ago"),
            (5_000, "5ms ago"),
            (5 * s, "5s ago"),
            (125 * s, "2min 5s ago"),
            (300 * s, "5min ago"),
            (3_900 * s, "1h 5min ago"),
            (7 * 3600 * s, "7h ago"),
            (26 * 3600 * s, "1 day 2h ago"),
            (3 * 86_400 * s, "3 days ago"),
            (9 * 86_400 * s, "1 week 2 days ago"),
            (40 * 86_400 * s, "1 month 9 days ago"),
            (400 * 86_400 * s, "1 year 1 month ago"),
        ];
        for (d, want) in cases {
            assert_eq!(relative(T + d, T), want, "{d}");
        }
        assert_eq!(relative(T, T + 5 * s), "5s left");
    }

    #[test]
    fn tables() {
        let rows = vec![
            vec!["UNIT".to_string(), "LOAD".into(), "DESCRIPTION".into()],
            vec!["a.service".to_string(), "loaded".into(), "".into()],
            vec!["bb.service".to_string(), "".into(), "Bee".into()],
        ];
        assert_eq!(
            table(&rows),
            "UNIT       LOAD   DESCRIPTION\na.service  loaded -\nbb.service -      Bee\n"
        );
    }

    #[test]
    fn quoting() {
        let cases = [
            ("man:cron(8)", "\"man:cron(8)\""),
            ("https://nginx.org/", "https://nginx.org/"),
            ("a b", "\"a b\""),
            ("a$b\"", "\"a\\$b\\\"\""),
            ("", "\"\""),
        ];
        for (text, want) in cases {
            assert_eq!(shell_quote(text), want, "{text}");
        }
    }

    #[test]
    fn journal_lines() {
        let e = |ident: &str, pid| JournalEntry {
            time_us: T,
            unit: "nginx.service".into(),
            ident: ident.into(),
            pid,
            message: "started".into(),
        };
        assert_eq!(
            journal_short(&e("nginx", 123), "box"),
            "Dec 06 11:40:01 box nginx[123]: started"
        );
        assert_eq!(
            journal_short(&e("systemd", 0), "box"),
            "Dec 06 11:40:01 box systemd: started"
        );
        assert_eq!(
            journal_short(&e("", 0), "box"),
            "Dec 06 11:40:01 box rich-init: started"
        );
    }
}
