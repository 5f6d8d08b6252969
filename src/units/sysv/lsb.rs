//! An init script's comment header, read as systemd-sysv-generator(8) reads it (systemd 252,
//! `load_sysv()`), with the LSB keywords it skips kept too (LSB Core 4.1, "Comment
//! Conventions for Init Scripts"). Tolerant as the generator is: every script yields a header,
//! lines that mean nothing are skipped, and only what the generator logs becomes a warning.
//!
//! The rules, on each line with surrounding whitespace stripped:
//! - `### BEGIN INIT INFO` opens the LSB block, `### END INIT INFO` closes it (exact lines).
//! - Inside the block, a comment line `# Keyword: words` (keyword case-insensitive) sets a
//!   field; `Description:` may continue on lines starting with `#` and a tab or two spaces.
//! - Outside it, Red Hat's `# description:` (continued by a trailing `\`) and `# pidfile:`.
//! - A non-comment line with "usage" in it whose text has `{reload|`, `|reload|`, `|reload}`,
//!   `{reload}`, `{reload"` or `|reload"` (case-insensitive; a trailing `\` continues it) means
//!   the script supports `reload`.

use crate::units::quote;

/// An LSB keyword the generator or the LSB spec knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Provides,
    RequiredStart,
    RequiredStop,
    ShouldStart,
    ShouldStop,
    DefaultStart,
    DefaultStop,
    /// Debian's insserv extensions; the generator reads both.
    XStartBefore,
    XStopAfter,
    XStartAfter,
}

/// (keyword as written before the colon, keyword, read by the generator).
const KEYWORDS: [(&str, Keyword, bool); 10] = [
    ("Provides", Keyword::Provides, true),
    ("Required-Start", Keyword::RequiredStart, true),
    ("Should-Start", Keyword::ShouldStart, true),
    ("X-Start-Before", Keyword::XStartBefore, true),
    ("X-Start-After", Keyword::XStartAfter, true),
    ("Required-Stop", Keyword::RequiredStop, false),
    ("Should-Stop", Keyword::ShouldStop, false),
    ("Default-Start", Keyword::DefaultStart, false),
    ("Default-Stop", Keyword::DefaultStop, false),
    ("X-Stop-After", Keyword::XStopAfter, false),
];

/// One keyword line of the LSB block, with its words unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// 1-based line number in the script.
    pub line: usize,
    pub keyword: Keyword,
    pub words: Vec<String>,
}

/// Something the generator logs about a header; the script still becomes a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderWarning {
    /// `# pidfile:` with a relative path: ignored.
    PidFileNotAbsolute { line: usize, path: String },
}

/// What a script's comments say. `Default::default()` is a script with no comments at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LsbHeader {
    /// A `### BEGIN INIT INFO` line was seen: the description gets `LSB: ` (else `SYSV: `), and
    /// LSB exit statuses 5 and 6 count as success.
    pub has_lsb: bool,
    /// The keyword lines, in script order (the generator's Before=/After=/Wants= keep it).
    pub fields: Vec<Field>,
    /// `Short-Description:` (the last one).
    pub short_description: Option<String>,
    /// `Description:` with its continuation lines joined by single spaces.
    pub description: Option<String>,
    /// Red Hat's `# description:` outside the LSB block, continuations joined.
    pub chkconfig_description: Option<String>,
    /// Red Hat's `# pidfile:` (absolute paths only).
    pub pid_file: Option<String>,
    /// `X-Interactive: true`: the script wants the console. The generator ignores it.
    pub interactive: bool,
    /// A Usage line names `reload`.
    pub supports_reload: bool,
    pub warnings: Vec<HeaderWarning>,
}

impl LsbHeader {
    /// Every word of every `keyword` line, in order.
    pub fn words(&self, keyword: Keyword) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|f| f.keyword == keyword)
            .flat_map(|f| f.words.iter().map(String::as_str))
            .collect()
    }

    /// The description the generator writes, prefix included: the short one, else Red Hat's,
    /// else the long one.
    pub fn unit_description(&self) -> Option<String> {
        let text = self
            .short_description
            .as_ref()
            .or(self.chkconfig_description.as_ref())
            .or(self.description.as_ref())?;
        let prefix = if self.has_lsb { "LSB: " } else { "SYSV: " };
        Some(format!("{prefix}{text}"))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    /// A Red Hat `# description:` ended with `\`.
    RedHatDescription,
    Lsb,
    LsbDescription,
    /// A Usage line ended with `\`.
    UsageContinuation,
}

/// `text` without its prefix `key` (ASCII case-insensitive), or None.
fn strip_prefix_no_case<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let head = text.get(..key.len())?;
    head.eq_ignore_ascii_case(key).then(|| &text[key.len()..])
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn append(to: &mut Option<String>, more: &str) {
    match to {
        Some(text) => {
            text.push(' ');
            text.push_str(more);
        }
        None => *to = Some(more.to_owned()),
    }
}

fn mentions_reload(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    [
        "{reload|",
        "{reload}",
        "{reload\"",
        "|reload|",
        "|reload}",
        "|reload\"",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// Reads the header of an init script. Never fails.
pub fn parse_lsb(script_text: &str) -> LsbHeader {
    let mut header = LsbHeader::default();
    let mut state = State::Normal;
    for (index, raw) in script_text.lines().enumerate() {
        let line_no = index + 1;
        let l = raw.trim();
        if !l.starts_with('#') {
            if state == State::UsageContinuation
                || (state == State::Normal && l.to_ascii_lowercase().contains("usage"))
            {
                if mentions_reload(l) {
                    header.supports_reload = true;
                    state = State::Normal;
                } else if l.ends_with('\\') {
                    state = State::UsageContinuation;
                } else {
                    state = State::Normal;
                }
            }
            continue;
        }
        if state == State::Normal && l == "### BEGIN INIT INFO" {
            state = State::Lsb;
            header.has_lsb = true;
            continue;
        }
        if matches!(state, State::Lsb | State::LsbDescription) && l == "### END INIT INFO" {
            state = State::Normal;
            continue;
        }
        let t = l[1..].trim_start();
        match state {
            State::Normal => normal_comment(&mut header, &mut state, line_no, t),
            State::RedHatDescription => {
                let (text, more) = match t.strip_suffix('\\') {
                    Some(text) => (text, true),
                    None => (t, false),
                };
                if !more {
                    state = State::Normal;
                }
                if let Some(text) = non_empty(text) {
                    append(&mut header.chkconfig_description, &text);
                }
            }
            State::Lsb | State::LsbDescription => lsb_comment(&mut header, &mut state, line_no, l),
            State::UsageContinuation => {}
        }
    }
    header
}

/// A comment outside the LSB block: Red Hat's chkconfig keywords.
fn normal_comment(header: &mut LsbHeader, state: &mut State, line: usize, t: &str) {
    if let Some(rest) = strip_prefix_no_case(t, "description:") {
        let rest = match rest.strip_suffix('\\') {
            Some(rest) => {
                *state = State::RedHatDescription;
                rest
            }
            None => rest,
        };
        header.chkconfig_description = non_empty(rest);
    } else if let Some(rest) = strip_prefix_no_case(t, "pidfile:") {
        let path = rest.trim();
        if path.starts_with('/') {
            header.pid_file = Some(path.to_owned());
        } else {
            header.warnings.push(HeaderWarning::PidFileNotAbsolute {
                line,
                path: path.to_owned(),
            });
        }
    }
}

/// A comment inside the LSB block; `l` is the whole stripped line.
fn lsb_comment(header: &mut LsbHeader, state: &mut State, line: usize, l: &str) {
    let t = l[1..].trim_start();
    for (name, keyword, generator) in KEYWORDS {
        let Some(rest) = t
            .get(..name.len())
            .filter(|h| h.eq_ignore_ascii_case(name))
            .and_then(|_| t[name.len()..].strip_prefix(':'))
        else {
            continue;
        };
        header.fields.push(Field {
            line,
            keyword,
            words: quote::value_words(rest),
        });
        if generator {
            *state = State::Lsb;
            return;
        }
        // A keyword the generator does not know is, to it, any other line (below).
        break;
    }
    if let Some(rest) = strip_prefix_no_case(t, "Description:") {
        *state = State::LsbDescription;
        header.description = non_empty(rest);
    } else if let Some(rest) = strip_prefix_no_case(t, "Short-Description:") {
        *state = State::Lsb;
        header.short_description = non_empty(rest);
    } else if *state == State::LsbDescription {
        if l.starts_with("#\t") || l.starts_with("#  ") {
            if let Some(text) = non_empty(t) {
                append(&mut header.description, &text);
            }
        } else {
            *state = State::Lsb;
        }
    }
    if let Some(rest) = strip_prefix_no_case(t, "X-Interactive:") {
        let value = rest.trim();
        header.interactive = value.eq_ignore_ascii_case("true") || value == "yes";
    }
}
