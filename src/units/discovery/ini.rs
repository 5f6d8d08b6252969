//! Just enough of systemd.syntax(7) to read `[Unit]` dependencies and `[Install]` rules:
//! sections, `key=value`, `#`/`;` comments, trailing-backslash continuation. No quoting, no
//! escapes. Private to discovery; the full parser is `units::syntax`, which replaces this.

use std::fs;
use std::path::Path;

use super::fsview::is_absent;
use super::DiscoveryError;

/// (section, key, value) in file order.
pub(super) type Entries = Vec<(String, String, String)>;

/// The entries of the file at host path `path`; an absent file has none.
pub(super) fn read(path: &Path) -> Result<Entries, DiscoveryError> {
    match fs::read(path) {
        Ok(bytes) => Ok(parse(&String::from_utf8_lossy(&bytes))),
        Err(e) if is_absent(&e) => Ok(Vec::new()),
        Err(source) => Err(DiscoveryError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

pub(super) fn parse(text: &str) -> Entries {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        let is_comment = line.starts_with('#') || line.starts_with(';');
        if let Some(mut acc) = pending.take() {
            // systemd.syntax(7): comment lines inside a continuation are skipped.
            if is_comment {
                pending = Some(acc);
                continue;
            }
            match line.strip_suffix('\\') {
                Some(part) => {
                    acc.push_str(part);
                    acc.push(' ');
                    pending = Some(acc);
                }
                None => {
                    acc.push_str(line);
                    push_entry(&mut out, &section, &acc);
                }
            }
            continue;
        }
        if line.is_empty() || is_comment {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => pending = Some(format!("{part} ")),
            None => push_entry(&mut out, &section, line),
        }
    }
    if let Some(acc) = pending {
        push_entry(&mut out, &section, &acc);
    }
    out
}

fn push_entry(out: &mut Entries, section: &str, line: &str) {
    if let Some((key, value)) = line.split_once('=') {
        out.push((
            section.to_owned(),
            key.trim().to_owned(),
            value.trim().to_owned(),
        ));
    }
}

/// The whitespace-separated words of every `key` in `section`, in order.
pub(super) fn words<'a>(entries: &'a Entries, section: &str, keys: &[&str]) -> Vec<&'a str> {
    entries
        .iter()
        .filter(|(s, k, _)| s == section && keys.contains(&k.as_str()))
        .flat_map(|(_, _, v)| v.split_whitespace())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Case = (
        &'static str,
        &'static [(&'static str, &'static str, &'static str)],
    );

    // systemd.syntax(7): sections, comments, continuation lines (comments inside skipped).
    #[test]
    fn parse_table() {
        let cases: &[Case] = &[
            ("[Unit]\nWants=a.service b.service\n", &[("Unit", "Wants", "a.service b.service")]),
            ("# c\n; c\n[Unit]\n  Requires = x.target  \n", &[("Unit", "Requires", "x.target")]),
            (
                "[Unit]\nWants=a.service \\\n# skipped\n  b.service\n[Install]\nWantedBy=m.target\n",
                &[("Unit", "Wants", "a.service  b.service"), ("Install", "WantedBy", "m.target")],
            ),
            ("[Unit]\nno equals sign\n", &[]),
            ("[Unit]\nWants=a.service \\", &[("Unit", "Wants", "a.service")]),
        ];
        for (text, want) in cases {
            let got = parse(text);
            let got: Vec<(&str, &str, &str)> = got
                .iter()
                .map(|(s, k, v)| (s.as_str(), k.as_str(), v.as_str()))
                .collect();
            assert_eq!(got, *want, "{text:?}");
        }
    }
}
