//! The host log file every `rich-init hook` appends to (default
//! `/var/log/rich-init/hook.log`), whatever else it logs to: runtimes such as crun show
//! none of a hook's output, and a host may have no /dev/log, so this is the one place
//! where a hook's output and its one-line failure reason are always found.
//!
//! Each line is `TIMESTAMP ID [STAGE ACTION] TEXT`, the timestamp UTC (RFC 3339, ms),
//! written with one write(2) to a file opened O_APPEND: lines of hooks that run at the
//! same time never interleave mid-line. A file that cannot be opened costs one warning;
//! it never fails the hook.

use crate::logsink::Line;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub const LOG_FILE: &str = "/var/log/rich-init/hook.log";
/// Its directory is created 0755 and the file 0640 (the lines may say what a
/// container's initscript printed).
const DIR_MODE: u32 = 0o755;
const FILE_MODE: u32 = 0o640;

pub struct HookLog {
    file: Option<File>,
    id: String,
    stage: &'static str,
}

impl HookLog {
    /// Open `path` (None: no log file) for the hook of `stage`. Err holds the reason
    /// the file cannot be used; the log then writes nothing.
    pub fn open(path: Option<&Path>, stage: &'static str) -> (HookLog, Option<String>) {
        let mut log = HookLog {
            file: None,
            id: "-".into(),
            stage,
        };
        let Some(path) = path else {
            return (log, None);
        };
        let opened = (|| {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(DIR_MODE)
                    .create(dir)?;
            }
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(FILE_MODE)
                .open(path)
        })();
        match opened {
            Ok(file) => {
                log.file = Some(file);
                (log, None)
            }
            Err(e) => (log, Some(format!("cannot open the log file {}: {e}; this hook's lines are not kept there (give --log-file PATH, or --log-file '' for none)", path.display()))),
        }
    }

    /// The container's id, once the state is read ("-" before).
    pub fn set_id(&mut self, id: &str) {
        self.id = one_word(id);
    }

    /// One piece of an action's output.
    pub fn output(&self, action: &str, line: &Line) {
        self.write(action, line.continued, &line.text);
    }

    /// A line of the hook's own (a result, a warning, the failure reason).
    pub fn say(&self, action: &str, text: &str) {
        self.write(action, false, text.as_bytes());
    }

    fn write(&self, action: &str, continued: bool, text: &[u8]) {
        let Some(mut file) = self.file.as_ref() else {
            return;
        };
        let bytes = render(
            &utc_timestamp(SystemTime::now()),
            &self.id,
            self.stage,
            action,
            continued,
            text,
        );
        // One write: O_APPEND makes it land whole after every other hook's line. A log
        // that fails now is not worth failing the hook for.
        let _ = file.write_all(&bytes);
    }
}

/// The log file's path from `--log-file` / RICH_INIT_LOG_FILE: Some("") means none.
pub fn path_of(given: Option<String>) -> Option<PathBuf> {
    match given {
        None => Some(PathBuf::from(LOG_FILE)),
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
    }
}

/// Control characters and spaces of a word shown as escapes: the id stays one field.
fn one_word(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == ' ' {
            out.push_str("\\x20");
        } else if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.push('-');
    }
    out
}

fn render(
    stamp: &str,
    id: &str,
    stage: &str,
    action: &str,
    continued: bool,
    text: &[u8],
) -> Vec<u8> {
    let mut out = format!(
        "{stamp} {id} [{stage} {}]{} ",
        action.replace(['\n', '\r'], " "),
        if continued { "+" } else { "" }
    )
    .into_bytes();
    out.extend(text.iter().map(|b| if *b == b'\n' { b' ' } else { *b }));
    out.push(b'\n');
    out
}

/// `2026-12-03T20:19:37.123Z`.
pub fn utc_timestamp(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_rfc3339() {
        let cases = [
            (0, 0, "1970-01-01T00:00:00.000Z"),
            (951_782_400, 5, "2000-02-29T00:00:00.005Z"),
            (1_709_251_199, 999, "2024-02-29T23:59:59.999Z"),
            (1_796_329_177, 123, "2026-12-03T20:19:37.123Z"),
            (4_107_542_400, 0, "2100-03-01T00:00:00.000Z"),
        ];
        for (secs, ms, want) in cases {
            let at = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(ms);
            assert_eq!(utc_timestamp(at), want, "{secs}");
        }
    }

    #[test]
    fn lines_carry_time_id_stage_and_action() {
        let cases: [(&str, &str, bool, &[u8], &str); 4] = [
            (
                "demo",
                "initscript /i.sh",
                false,
                b"hello",
                "T demo [prestart initscript /i.sh] hello\n",
            ),
            (
                "demo",
                "initscript /i.sh",
                true,
                b"rest",
                "T demo [prestart initscript /i.sh]+ rest\n",
            ),
            ("-", "hook", false, b"a\nb", "T - [prestart hook] a b\n"),
            ("x", "/h/10\nx", false, b"", "T x [prestart /h/10 x] \n"),
        ];
        for (id, action, continued, text, want) in cases {
            let got = render("T", id, "prestart", action, continued, text);
            assert_eq!(String::from_utf8_lossy(&got), want);
        }
        assert_eq!(one_word("a b\nc"), "a\\x20b\\nc");
        assert_eq!(one_word(""), "-");
    }

    #[test]
    fn the_path_defaults_and_turns_off() {
        assert_eq!(path_of(None), Some(PathBuf::from(LOG_FILE)));
        assert_eq!(path_of(Some(String::new())), None);
        assert_eq!(path_of(Some("/l".into())), Some(PathBuf::from("/l")));
    }

    #[test]
    fn appends_whole_lines_and_a_bad_path_is_a_reason() {
        let dir = std::env::temp_dir().join(format!("hooklog-{}", std::process::id()));
        let path = dir.join("sub/hook.log");
        let (mut log, warning) = HookLog::open(Some(&path), "poststop");
        assert_eq!(warning, None);
        log.set_id("c1");
        log.say("hook", "one");
        let (log2, _) = HookLog::open(Some(&path), "poststop");
        log2.say("hook", "two");
        let text = std::fs::read_to_string(&path).expect("the log");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].ends_with(" c1 [poststop hook] one"), "{text}");
        assert!(lines[1].ends_with(" - [poststop hook] two"), "{text}");
        let (_, warning) = HookLog::open(Some(&path.join("not-a-dir/x")), "poststop");
        let warning = warning.expect("a file is no directory");
        assert!(
            !warning.contains('\n') && warning.contains("--log-file"),
            "{warning}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
