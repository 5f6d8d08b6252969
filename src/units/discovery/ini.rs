//! The `[Unit]` dependencies and `[Install]` rules discovery needs, as (section, key, value)
//! triples from the full parser, `units::syntax`.

use std::fs;
use std::path::Path;

use super::fsview::is_absent;
use super::DiscoveryError;
use crate::units::syntax::UnitFile;

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

/// The entries of a unit file's text, read by [`UnitFile::parse`]. A file systemd would
/// refuse has none here: loading the unit reports why.
pub(super) fn parse(text: &str) -> Entries {
    let Ok(file) = UnitFile::parse(text) else {
        return Vec::new();
    };
    file.sections()
        .iter()
        .flat_map(|s| {
            s.entries
                .iter()
                .map(|e| (s.name.clone(), e.key.clone(), e.value.clone()))
        })
        .collect()
}

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
                // The backslash becomes a space and the next line's indentation stays, as in
                // systemd's conf-parser (systemd.syntax(7)).
                "[Unit]\nWants=a.service \\\n# skipped\n  b.service\n[Install]\nWantedBy=m.target\n",
                &[("Unit", "Wants", "a.service    b.service"), ("Install", "WantedBy", "m.target")],
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
