//! A unit file's text as systemd.syntax(7) reads it: `[Section]` headers, `Key=Value`
//! assignments (whitespace around key and value dropped), `#`/`;` comment lines, empty lines,
//! and lines joined by a trailing backslash (which becomes a space; comment lines inside a
//! continuation are skipped). Entries keep their order and their line; an empty value is kept,
//! since it means "reset the list" to the directive that reads it. A header met twice names
//! the same section, and drop-ins (`NAME.d/*.conf`, systemd.unit(5)) append with `merge`.
//!
//! Where systemd only warns and skips a line (an assignment outside a section, a line with no
//! `=` or no key), so does this parser: the line is kept in [`UnitFile::warnings`] for the
//! caller to report, one line each, and the unit loads as it would under systemd. The rest (a
//! NUL byte, a broken section header) refuses the file.

use thiserror::Error;

/// systemd's whitespace set (`WHITESPACE`): what is trimmed around keys, values and lines.
const WS: &[char] = &[' ', '\t', '\n', '\r'];

/// One `Key=Value` assignment. `line` is where it starts (the first line of a continuation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A `[Name]` section with its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub entries: Vec<Entry>,
}

/// A parsed unit file (or a unit file with its drop-ins merged in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFile {
    sections: Vec<Section>,
    /// Lines systemd ignores with a warning (see [`SyntaxError::is_warning`]).
    warnings: Vec<SyntaxError>,
}

/// Why a unit file's text is refused. Each names the line and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SyntaxError {
    #[error("line {line}: contains a NUL byte; a unit file is text: remove the NUL byte")]
    Nul { line: usize },
    #[error("line {line}: `{key}=` comes before any [Section] header; move it under its section, such as [Unit] or [Service]")]
    OutsideSection { line: usize, key: String },
    #[error("line {line}: `{text}` is neither a [Section] header nor a Key=Value assignment; write Key=Value, or start the line with # to make it a comment")]
    NotAssignment { line: usize, text: String },
    #[error("line {line}: `{text}` has no key before `=`; write Key=Value")]
    EmptyKey { line: usize, text: String },
    #[error("line {line}: section header `{text}` does not end with `]`; close it, as in [Service], with nothing after the `]`")]
    UnterminatedHeader { line: usize, text: String },
    #[error("line {line}: section header `[]` has no name; name the section, as in [Service]")]
    EmptySectionName { line: usize },
}

impl SyntaxError {
    /// Whether systemd only warns and ignores the line ("Assignment outside of section",
    /// "Missing '='", an empty key: config_parse in systemd's conf-parser) rather than
    /// refusing the file. The parse keeps these in [`UnitFile::warnings`].
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            Self::OutsideSection { .. } | Self::NotAssignment { .. } | Self::EmptyKey { .. }
        )
    }

    /// The line the error is on (1-based).
    pub fn line(&self) -> usize {
        match self {
            Self::Nul { line }
            | Self::OutsideSection { line, .. }
            | Self::NotAssignment { line, .. }
            | Self::EmptyKey { line, .. }
            | Self::UnterminatedHeader { line, .. }
            | Self::EmptySectionName { line } => *line,
        }
    }
}

impl UnitFile {
    /// Parse a unit file's (or a drop-in's) text.
    pub fn parse(text: &str) -> Result<UnitFile, SyntaxError> {
        // systemd skips a UTF-8 byte order mark at the start of a file.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut file = UnitFile::default();
        let mut current: Option<usize> = None;
        // A continuation in progress: the line it started on and the text joined so far.
        let mut pending: Option<(usize, String)> = None;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            if raw.contains('\0') {
                return Err(SyntaxError::Nul { line });
            }
            // A comment line is skipped even inside a continuation (systemd.syntax(7)).
            if raw.trim_start_matches(WS).starts_with(['#', ';']) {
                continue;
            }
            let (start, mut joined) = match pending.take() {
                Some((start, mut joined)) => {
                    joined.push_str(raw);
                    (start, joined)
                }
                None => (line, raw.to_string()),
            };
            if ends_in_backslash(&joined) {
                joined.pop();
                joined.push(' ');
                pending = Some((start, joined));
                continue;
            }
            file.take(&mut current, start, &joined)?;
        }
        // A last line that ends in a backslash: systemd parses what it has.
        if let Some((start, joined)) = pending {
            file.take(&mut current, start, &joined)?;
        }
        Ok(file)
    }

    /// The lines that were ignored, as systemd ignores them, each with its reason.
    pub fn warnings(&self) -> &[SyntaxError] {
        &self.warnings
    }

    /// One logical line; a line systemd ignores with a warning is kept as a warning.
    fn take(
        &mut self,
        current: &mut Option<usize>,
        line: usize,
        text: &str,
    ) -> Result<(), SyntaxError> {
        match self.take_line(current, line, text) {
            Err(e) if e.is_warning() => {
                self.warnings.push(e);
                Ok(())
            }
            other => other,
        }
    }

    /// One logical line: a header, an assignment, or nothing.
    fn take_line(
        &mut self,
        current: &mut Option<usize>,
        line: usize,
        text: &str,
    ) -> Result<(), SyntaxError> {
        let text = text.trim_matches(WS);
        if text.is_empty() {
            return Ok(());
        }
        if let Some(header) = text.strip_prefix('[') {
            let Some(name) = header.strip_suffix(']') else {
                return Err(SyntaxError::UnterminatedHeader {
                    line,
                    text: excerpt(text),
                });
            };
            if name.is_empty() {
                return Err(SyntaxError::EmptySectionName { line });
            }
            *current = Some(self.section_index(name));
            return Ok(());
        }
        let Some((key, value)) = text.split_once('=') else {
            return Err(SyntaxError::NotAssignment {
                line,
                text: excerpt(text),
            });
        };
        let key = key.trim_matches(WS);
        if key.is_empty() {
            return Err(SyntaxError::EmptyKey {
                line,
                text: excerpt(text),
            });
        }
        let Some(index) = *current else {
            return Err(SyntaxError::OutsideSection {
                line,
                key: excerpt(key),
            });
        };
        self.sections[index].entries.push(Entry {
            key: key.to_string(),
            value: value.trim_matches(WS).to_string(),
            line,
        });
        Ok(())
    }

    /// The index of the section called `name`, added at the end if new.
    fn section_index(&mut self, name: &str) -> usize {
        if let Some(index) = self.sections.iter().position(|s| s.name == name) {
            return index;
        }
        self.sections.push(Section {
            name: name.to_string(),
            entries: Vec::new(),
        });
        self.sections.len() - 1
    }

    /// Append a drop-in's entries after this file's, section by section, as systemd.unit(5)
    /// reads `NAME.d/*.conf`: call it once per drop-in, in the order systemd reads them.
    pub fn merge(&mut self, drop_in: UnitFile) {
        self.warnings.extend(drop_in.warnings);
        for section in drop_in.sections {
            let index = self.section_index(&section.name);
            self.sections[index].entries.extend(section.entries);
        }
    }

    /// Every section, in the order first seen.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The section called `name` (names are case-sensitive, as in systemd).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Every entry for `key` in `section`, in order, resets included.
    pub fn entries<'a, 'k>(
        &'a self,
        section: &str,
        key: &'k str,
    ) -> impl Iterator<Item = &'a Entry> + use<'a, 'k> {
        self.section(section)
            .into_iter()
            .flat_map(|s| s.entries.iter())
            .filter(move |e| e.key == key)
    }

    /// The last value given to `key` in `section` (the one a single-valued directive uses);
    /// `Some("")` when the last assignment is empty.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.entries(section, key).last().map(|e| e.value.as_str())
    }

    /// Every value of a list-valued `key` in `section`: an empty assignment drops those
    /// before it (systemd.unit(5): "setting to an empty value resets").
    pub fn all(&self, section: &str, key: &str) -> Vec<&str> {
        let mut values = Vec::new();
        for entry in self.entries(section, key) {
            if entry.value.is_empty() {
                values.clear();
            } else {
                values.push(entry.value.as_str());
            }
        }
        values
    }
}

/// True when `text` ends in a backslash that is not itself escaped (`\\` at the end is not a
/// continuation): an odd run of trailing backslashes.
fn ends_in_backslash(text: &str) -> bool {
    text.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// At most 60 characters of `text`, for an error message.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parse as one line: `[Section] Key=Value@line ...`.
    fn render(file: &UnitFile) -> String {
        let mut out = Vec::new();
        for section in file.sections() {
            out.push(format!("[{}]", section.name));
            for e in &section.entries {
                out.push(format!("{}={}@{}", e.key, e.value, e.line));
            }
        }
        out.join(" ")
    }

    #[test]
    fn parses() {
        let cases = [
            // systemd.syntax(7) INTRODUCTION: sections and key=value entries.
            (
                "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n",
                "[Unit] Description=x@2 [Service] ExecStart=/bin/true@4",
            ),
            // systemd.syntax(7): "Whitespace immediately before or after the "=" is ignored".
            (
                "  [Unit]  \n  Description  =  a  b  \n",
                "[Unit] Description=a  b@2",
            ),
            // systemd.syntax(7): empty lines and lines starting with # or ; are ignored.
            (
                "# c\n; c\n\n[Unit]\n  # indented\nA=1 # not a comment\n",
                "[Unit] A=1 # not a comment@6",
            ),
            // systemd.syntax(7): a trailing backslash joins lines; it becomes a space.
            (
                "[S]\nK=value 2 \\\n    continued\nB=2\n",
                "[S] K=value 2      continued@2 B=2@4",
            ),
            // systemd.syntax(7): comment lines after a backslash line are ignored.
            ("[S]\nA=one \\\n# c\n; c\n  two\n", "[S] A=one    two@2"),
            // systemd.syntax(7) (parser): an empty line ends a continuation.
            ("[S]\nA=one \\\n\nB=2\n", "[S] A=one@2 B=2@4"),
            // systemd.syntax(7) (parser): a backslash on the last line, then end of file.
            ("[S]\nA=one \\", "[S] A=one@2"),
            // An escaped backslash at the end (`\\`) is not a continuation.
            ("[S]\nA=x\\\\\nB=y\n", "[S] A=x\\\\@2 B=y@3"),
            // systemd.unit(5): an empty value is an assignment (it "resets" a list).
            ("[S]\nA=\nB= \n", "[S] A=@2 B=@3"),
            // Only the first `=` splits.
            ("[S]\nEnvironment=A=1 B=2\n", "[S] Environment=A=1 B=2@2"),
            // A header met twice names the same section; entries keep file order.
            (
                "[S]\nA=1\n[U]\nB=2\n[S]\nA=3\n",
                "[S] A=1@2 A=3@6 [U] B=2@4",
            ),
            ("[Empty]\n", "[Empty]"),
            ("\u{feff}[S]\r\nA=1\r\n", "[S] A=1@2"),
            ("", ""),
        ];
        for (text, expected) in cases {
            let file = UnitFile::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(render(&file), expected, "{text:?}");
        }
    }

    #[test]
    fn refuses() {
        let cases: &[(&str, SyntaxError)] = &[
            ("[S]\nA=1\0\n", SyntaxError::Nul { line: 2 }),
            (
                "A=1\n[S]\n",
                SyntaxError::OutsideSection {
                    line: 1,
                    key: "A".into(),
                },
            ),
            (
                "[S]\nnonsense\n",
                SyntaxError::NotAssignment {
                    line: 2,
                    text: "nonsense".into(),
                },
            ),
            (
                "[S]\n=1\n",
                SyntaxError::EmptyKey {
                    line: 2,
                    text: "=1".into(),
                },
            ),
            (
                "[Service\nA=1\n",
                SyntaxError::UnterminatedHeader {
                    line: 1,
                    text: "[Service".into(),
                },
            ),
            (
                "[S] # c\n",
                SyntaxError::UnterminatedHeader {
                    line: 1,
                    text: "[S] # c".into(),
                },
            ),
            ("[]\n", SyntaxError::EmptySectionName { line: 1 }),
            // The joined line is reported at the line it starts on.
            (
                "[S]\nno \\\nequals\n",
                SyntaxError::NotAssignment {
                    line: 2,
                    text: "no  equals".into(),
                },
            ),
        ];
        for (text, expected) in cases {
            // systemd ignores some lines with a warning, and refuses the file for the rest.
            let err = match UnitFile::parse(text) {
                Ok(file) if expected.is_warning() => match file.warnings() {
                    [only] => only.clone(),
                    other => panic!("{text:?}: warnings {other:?}"),
                },
                Ok(file) => panic!("{text:?}: parsed as {file:?}"),
                Err(e) => {
                    assert!(!expected.is_warning(), "{text:?}: refused: {e}");
                    e
                }
            };
            assert_eq!(&err, expected, "{text:?}");
            assert_eq!(err.line(), expected.line());
            let message = err.to_string();
            assert!(
                !message.contains('\n') && message.contains("; "),
                "{message}"
            );
        }
    }

    #[test]
    fn lookups() {
        let text = "[S]\nA=1\nA=2\nB=x\nA=\nA=3\nA=4\nC=\n[U]\nA=9\n";
        let file = UnitFile::parse(text).expect("parses");
        // systemd.unit(5): a list-valued setting reset by an empty assignment.
        let cases: &[(&str, &str, Option<&str>, &[&str])] = &[
            ("S", "A", Some("4"), &["3", "4"]),
            ("S", "B", Some("x"), &["x"]),
            ("S", "C", Some(""), &[]),
            ("S", "a", None, &[]),
            ("U", "A", Some("9"), &["9"]),
            ("X", "A", None, &[]),
        ];
        for (section, key, get, all) in cases {
            assert_eq!(file.get(section, key), *get, "get {section} {key}");
            assert_eq!(file.all(section, key), *all, "all {section} {key}");
        }
    }

    #[test]
    fn merges_drop_ins() {
        // systemd.unit(5): drop-ins are parsed after the main file; an empty
        // ExecStart= in a drop-in resets the list before the new command.
        let mut file = UnitFile::parse("[Service]\nExecStart=/a\nUser=x\n").expect("main");
        let one = UnitFile::parse("[Service]\nExecStart=\nExecStart=/b\n[Unit]\nAfter=n\n");
        file.merge(one.expect("drop-in 1"));
        file.merge(UnitFile::parse("[Service]\nUser=y\n").expect("drop-in 2"));
        assert_eq!(file.all("Service", "ExecStart"), ["/b"]);
        assert_eq!(file.get("Service", "User"), Some("y"));
        assert_eq!(file.get("Unit", "After"), Some("n"));
        let names: Vec<&str> = file.sections().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Service", "Unit"]);
    }
}
