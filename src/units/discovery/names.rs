//! Unit names as systemd.unit(5) "Description" defines them: `PREFIX[@INSTANCE].TYPE`.

use super::DiscoveryError;
use crate::units::specifiers::{self, Context};

/// The unit types systemd.unit(5) lists.
const TYPES: &[&str] = &[
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
];

/// A unit name taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnitName<'a> {
    /// Before the `@` (or before the type suffix when there is none).
    pub prefix: &'a str,
    /// `Some("")` for a template (`foo@.service`), `Some("bar")` for an instance.
    pub instance: Option<&'a str>,
    /// The type suffix without its dot.
    pub kind: &'a str,
}

impl<'a> UnitName<'a> {
    pub fn parse(name: &'a str) -> Result<Self, DiscoveryError> {
        let bad = |why: &'static str| DiscoveryError::InvalidName {
            name: name.to_owned(),
            why,
        };
        if name.len() > 255 {
            return Err(bad("longer than 255 characters"));
        }
        let (stem, kind) = name
            .rsplit_once('.')
            .ok_or_else(|| bad("it has no type suffix"))?;
        if !TYPES.contains(&kind) {
            return Err(bad("its type suffix is not a unit type"));
        }
        let (prefix, instance) = match stem.split_once('@') {
            Some((prefix, instance)) => (prefix, Some(instance)),
            None => (stem, None),
        };
        let valid = |s: &str, extra: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || ":-_.\\".contains(c) || extra.contains(c))
        };
        if prefix.is_empty() || !valid(prefix, "") {
            return Err(bad(
                "its prefix is empty or has characters other than A-Z a-z 0-9 : - _ . \\",
            ));
        }
        if instance.is_some_and(|i| !valid(i, "@")) {
            return Err(bad(
                "its instance has characters other than A-Z a-z 0-9 : - _ . \\ @",
            ));
        }
        Ok(UnitName {
            prefix,
            instance,
            kind,
        })
    }

    pub fn is_template(&self) -> bool {
        self.instance == Some("")
    }

    /// The instance of an instantiated unit (`bar` in `foo@bar.service`).
    pub fn instance(&self) -> Option<&'a str> {
        self.instance.filter(|i| !i.is_empty())
    }

    /// `foo@.service` for `foo@bar.service`.
    pub fn template(&self) -> String {
        format!("{}@.{}", self.prefix, self.kind)
    }

    /// This template (or instance) with `instance` in place of its own.
    pub fn with_instance(&self, instance: &str) -> String {
        format!("{}@{}.{}", self.prefix, instance, self.kind)
    }

    /// The drop-in name stems for dashed prefixes, most specific first: `foo-bar-.service`,
    /// `foo-.service` for `foo-bar-baz.service` (systemd.unit(5), "Description").
    pub fn dash_prefixes(&self) -> Vec<String> {
        let trimmed = self.prefix.trim_end_matches('-');
        trimmed
            .char_indices()
            .rev()
            .filter(|&(i, c)| c == '-' && i > 0)
            .map(|(i, _)| format!("{}.{}", &trimmed[..=i], self.kind))
            .collect()
    }
}

/// A dependency name with its specifiers filled as for `unit` (systemd.unit(5),
/// "Specifiers"), by `units::specifiers`. None when one is unknown or needs the host name,
/// which discovery does not know.
pub(super) fn expand(value: &str, unit: &str) -> Option<String> {
    if ['H', 'l'].iter().any(|c| value.contains(&format!("%{c}"))) {
        return None;
    }
    specifiers::expand(value, &Context::system(unit, "")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parts = (&'static str, Option<&'static str>, &'static str);

    // systemd.unit(5), "Description": valid names, templates and instances.
    #[test]
    fn parse_table() {
        let cases: &[(&str, Option<Parts>)] = &[
            ("cron.service", Some(("cron", None, "service"))),
            ("getty@.service", Some(("getty", Some(""), "service"))),
            (
                "getty@tty1.service",
                Some(("getty", Some("tty1"), "service")),
            ),
            ("multi-user.target", Some(("multi-user", None, "target"))),
            ("a@b@c.service", Some(("a", Some("b@c"), "service"))),
            ("cron", None),
            ("cron.conf", None),
            (".service", None),
            ("sp ace.service", None),
        ];
        for (name, want) in cases {
            let got = UnitName::parse(name)
                .ok()
                .map(|u| (u.prefix, u.instance, u.kind));
            assert_eq!(got, *want, "{name}");
        }
    }

    // systemd.unit(5), "Description": foo-bar-baz.service also reads foo-bar-.service.d/ and
    // foo-.service.d/.
    #[test]
    fn dash_prefixes_table() {
        let cases: &[(&str, &[&str])] = &[
            ("foo-bar-baz.service", &["foo-bar-.service", "foo-.service"]),
            ("foo.service", &[]),
            ("-foo.service", &[]),
            ("a-b@x-y.service", &["a-.service"]),
        ];
        for (name, want) in cases {
            assert_eq!(
                UnitName::parse(name).unwrap().dash_prefixes(),
                *want,
                "{name}"
            );
        }
    }

    // systemd.unit(5), "Specifiers": as units::specifiers fills them; the host name is not
    // known here.
    #[test]
    fn expand_table() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("x@%i.service", "getty@tty1.service", Some("x@tty1.service")),
            (
                "%p-helper.service",
                "getty@tty1.service",
                Some("getty-helper.service"),
            ),
            ("%N.socket", "a.service", Some("a.socket")),
            ("100%%.service", "a.service", Some("100%.service")),
            ("%H.service", "a.service", None),
        ];
        for (value, unit, want) in cases {
            assert_eq!(expand(value, unit).as_deref(), *want, "{value} in {unit}");
        }
    }
}
