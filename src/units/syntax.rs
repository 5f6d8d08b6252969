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
#[path = "syntax_tests.rs"]
mod tests;
