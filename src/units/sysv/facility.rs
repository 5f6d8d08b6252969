//! Names in init script headers turned into unit names, as systemd-sysv-generator(8) turns
//! them (systemd 252: `sysv_translate_name()`, `sysv_translate_facility()`,
//! `handle_provides()`, `handle_dependencies()`).

use super::lsb::{Keyword, LsbHeader};
use crate::units::discovery::UnitName;

/// The LSB facilities (LSB Core 4.1, "Facility Names") and what the generator maps each to;
/// None: "nothing to order against" (systemd has these ready before any service starts).
/// Looked up with the `$` removed, so `network` and `$network` map alike.
const FACILITIES: [(&str, Option<&str>); 7] = [
    ("local_fs", None),
    ("network", Some(NETWORK_ONLINE)),
    ("named", Some("nss-lookup.target")),
    ("portmap", Some("rpcbind.target")),
    ("remote_fs", Some("remote-fs.target")),
    ("syslog", None),
    ("time", Some("time-sync.target")),
];

const NETWORK_ONLINE: &str = "network-online.target";
const NETWORK: &str = "network.target";

/// systemd's unit_name_mangle() for a script or Provides name: `.sh` removed, a name that is
/// already a valid unit name kept, else `/` becomes `-`, characters outside
/// `A-Za-z0-9:-_.\@` become `\xNN`, and `.service` is appended.
pub fn unit_name(script_name: &str) -> String {
    let name = script_name.strip_suffix(".sh").unwrap_or(script_name);
    if UnitName::parse(name).is_ok() {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 8);
    for byte in name.bytes() {
        match byte {
            b'/' => out.push('-'),
            b if b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if UnitName::parse(&out).is_err() {
        out.push_str(".service");
    }
    out
}

/// What one header word names, for the script `script_name` (its file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facility {
    /// Nothing: `$local_fs`, `$syslog`, or the script's own name.
    Nothing,
    /// A unit: a mapped facility, `$other` as `other.target`, or a name as `name.service`.
    Unit(String),
    /// `$name` with characters a unit name cannot have: the generator logs it and skips it.
    Invalid(String),
}

pub fn facility(word: &str, script_name: &str) -> Facility {
    let bare = word.strip_prefix('$').unwrap_or(word);
    if let Some((_, unit)) = FACILITIES.iter().find(|(name, _)| *name == bare) {
        return unit.map_or(Facility::Nothing, |u| Facility::Unit(u.to_owned()));
    }
    if word.starts_with('$') {
        let target = format!("{bare}.target");
        return match UnitName::parse(&target) {
            Ok(n) if n.instance.is_none() => Facility::Unit(target),
            _ => Facility::Invalid(word.to_owned()),
        };
    }
    let own = script_name.strip_suffix(".sh").unwrap_or(script_name);
    if bare == own {
        return Facility::Nothing;
    }
    Facility::Unit(unit_name(bare))
}

/// The [Unit] dependencies and aliases a header gives a script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// In the order the generator appends them (duplicates kept, as it writes them).
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub wants: Vec<String>,
    /// `Provides:` names that are services: other names of this unit.
    pub aliases: Vec<String>,
    /// (line, word) of each name that is no valid unit name; skipped.
    pub invalid: Vec<(usize, String)>,
}

/// Before=/After=/Wants= and aliases from the header's keyword lines, in line order:
/// - `Provides:` a service name is an alias; a target is Before= and Wants= it (a service
///   providing a facility pulls the target in, never the other way); network-online.target
///   also brings Before= and Wants= network.target.
/// - `Required-Start:`, `Should-Start:`, `X-Start-After:` are After=; `X-Start-Before:` is
///   Before=; network-online.target outside X-Start-Before is also Wants=.
/// - Required-Stop, Should-Stop, Default-Start/Stop and X-Stop-After are not read.
pub fn dependencies(header: &LsbHeader, script_name: &str) -> Dependencies {
    let mut deps = Dependencies::default();
    for field in &header.fields {
        for word in &field.words {
            let unit = match facility(word, script_name) {
                Facility::Nothing => continue,
                Facility::Invalid(word) => {
                    deps.invalid.push((field.line, word));
                    continue;
                }
                Facility::Unit(unit) => unit,
            };
            match field.keyword {
                Keyword::Provides => provides(&mut deps, unit, field.line),
                Keyword::XStartBefore => deps.before.push(unit),
                Keyword::RequiredStart | Keyword::ShouldStart | Keyword::XStartAfter => {
                    if unit == NETWORK_ONLINE {
                        deps.wants.push(unit.clone());
                    }
                    deps.after.push(unit);
                }
                _ => {}
            }
        }
    }
    deps
}

fn provides(deps: &mut Dependencies, unit: String, line: usize) {
    let kind = UnitName::parse(&unit).map(|n| n.kind.to_owned());
    match kind.as_deref() {
        Ok("service") => {
            if !deps.aliases.contains(&unit) {
                deps.aliases.push(unit);
            }
        }
        Ok("target") => {
            let online = unit == NETWORK_ONLINE;
            deps.before.push(unit.clone());
            deps.wants.push(unit);
            if online {
                deps.before.push(NETWORK.to_owned());
                deps.wants.push(NETWORK.to_owned());
            }
        }
        // Another type, or not a unit name: the generator warns and skips it.
        _ => deps.invalid.push((line, unit)),
    }
}
