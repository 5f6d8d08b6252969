//! What `--systemd` boots: the units `default.target` pulls in, each loaded (services read
//! into [`ServiceUnit`], targets kept as synchronisation points), ordered by After=/Before=
//! and systemd's default dependencies, as systemd would start them in a container.
//!
//! Reads the image's files (through [`Loader`]); decides nothing at run time.
//!
//! Default dependencies (systemd.service(5), systemd.target(5), "Default Dependencies"),
//! unless a unit says `DefaultDependencies=no`:
//! - a service is ordered after `sysinit.target` and `basic.target`;
//! - a target is ordered after every unit it Wants=/Requires= (also through `.wants/`).
//!
//! An ordering cycle is broken as systemd breaks one: one edge is dropped, with a warning.

use std::collections::{BTreeMap, BTreeSet};

use super::discovery::{builtin_text, DiscoveryError, Found, Loader};
use super::service::{ServiceUnit, Warning};
use super::socket::SocketUnit;
use super::specifiers::Context;
use super::syntax::UnitFile;
use crate::supervisor::order;

mod sockets;

/// One unit to boot.
#[derive(Debug, Clone)]
pub struct Planned {
    pub name: String,
    pub found: Found,
    pub kind: Kind,
    /// Units of the plan it starts after (once they are active, or have failed).
    pub after: Vec<String>,
    pub description: String,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Service(Box<ServiceUnit>),
    /// Its sockets go to its service (`SocketUnit::service`); no processes of its own, it
    /// is active once what it is ordered after has settled.
    Socket(Box<SocketUnit>),
    /// No processes: active as soon as what it is ordered after has settled.
    Target,
}

/// The boot, in start order, and what was ignored on the way (one line each).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub default_target: String,
    pub units: Vec<Planned>,
    pub warnings: Vec<String>,
}

/// A generated unit (a SysV script as systemd-sysv-generator reads it): its name, its unit
/// file text, and the targets that want it.
#[derive(Debug, Clone)]
pub struct Generated {
    pub name: String,
    pub text: String,
    pub source: std::path::PathBuf,
    pub wanted_by: Vec<String>,
}

/// The unit file of `found` with its drop-ins applied.
pub fn read_unit(found: &Found) -> Result<UnitFile, String> {
    let text = match builtin_text(found) {
        Some(text) => text.to_string(),
        None => std::fs::read(&found.path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("cannot read {}: {e}", found.path.display()))?,
    };
    let mut file = UnitFile::parse(&text).map_err(|e| format!("{}: {e}", found.path.display()))?;
    for dropin in &found.dropins {
        let text = std::fs::read(dropin)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("cannot read {}: {e}", dropin.display()))?;
        let extra = UnitFile::parse(&text).map_err(|e| format!("{}: {e}", dropin.display()))?;
        file.merge(extra);
    }
    Ok(file)
}

fn words<'a>(file: &'a UnitFile, key: &str) -> impl Iterator<Item = &'a str> {
    file.all("Unit", key)
        .into_iter()
        .flat_map(str::split_whitespace)
}

fn default_dependencies(file: &UnitFile) -> bool {
    file.get("Unit", "DefaultDependencies")
        .map(|v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "0" | "no" | "n" | "false" | "f" | "off"
            )
        })
        .unwrap_or(true)
}

struct Loaded {
    file: UnitFile,
    found: Found,
    kind: Kind,
}

/// The boot of the image `loader` reads, plus `generated` units (a native unit of the same
/// name wins over a generated one).
pub fn plan(
    loader: &Loader,
    hostname: &str,
    generated: &[Generated],
) -> Result<Plan, DiscoveryError> {
    let default_target = loader.default_target()?;
    let mut plan = Plan {
        default_target: default_target.clone(),
        ..Plan::default()
    };
    let mut names: BTreeSet<String> = crate::sort::set_of(loader.pulled_in(&default_target)?);
    names.insert(default_target.clone());
    // Generated units wanted by a target of the boot join it.
    for g in generated {
        if g.wanted_by.iter().any(|t| names.contains(t)) && loader.find(&g.name)?.is_none() {
            names.insert(g.name.clone());
        }
    }
    let mut loaded: BTreeMap<String, Loaded> = BTreeMap::new();
    for name in &names {
        if let Some(l) = load_unit(loader, generated, hostname, name, &mut plan.warnings)? {
            loaded.insert(name.clone(), l);
        }
    }
    // Socket units start their services with them (eagerly, see `sockets`).
    for name in sockets::services_to_add(loader, &mut loaded)? {
        if let Some(l) = load_unit(loader, generated, hostname, &name, &mut plan.warnings)? {
            loaded.insert(name, l);
        }
    }
    sockets::drop_orphans(&mut loaded, &mut plan.warnings);
    let edges = ordering(&loaded);
    let order = start_order(edges.clone(), &mut plan.warnings);
    for name in order {
        let Some(l) = loaded.remove(&name) else {
            continue;
        };
        let description = description_of(&l.file, &name, hostname);
        plan.units.push(Planned {
            after: edges.get(&name).cloned().unwrap_or_default(),
            name,
            found: l.found,
            kind: l.kind,
            description,
        });
    }
    Ok(plan)
}

/// Unit `name` read and typed; None (with a warning) when it cannot be, or when it is of a
/// type rich-init does not run.
fn load_unit(
    loader: &Loader,
    generated: &[Generated],
    hostname: &str,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Loaded>, DiscoveryError> {
    let (found, file) = match loader.find(name)? {
        Some(found) => match read_unit(&found) {
            Ok(file) => (found, file),
            Err(e) => {
                warnings.push(format!("{name}: {e}; skipping it"));
                return Ok(None);
            }
        },
        None => match generated.iter().find(|g| g.name == name) {
            Some(g) => match UnitFile::parse(&g.text) {
                Ok(file) => (g.found(), file),
                Err(e) => {
                    warnings.push(format!("{name}: {e}; skipping it"));
                    return Ok(None);
                }
            },
            None => return Ok(None),
        },
    };
    let ctx = Context::system(name, hostname);
    let kind = match name.rsplit_once('.').map(|(_, t)| t) {
        Some("service") => match ServiceUnit::from_file(&file, &ctx) {
            Ok(unit) => {
                warnings.extend(unit.warnings.iter().map(Warning::to_string));
                Kind::Service(Box::new(unit))
            }
            Err(e) => {
                warnings.push(format!("{e}; skipping it"));
                return Ok(None);
            }
        },
        Some("socket") => match SocketUnit::from_file(&file, &ctx) {
            Ok(unit) => {
                warnings.extend(unit.warnings.iter().map(Warning::to_string));
                Kind::Socket(Box::new(unit))
            }
            Err(e) => {
                warnings.push(e.to_string());
                return Ok(None);
            }
        },
        Some("target") => Kind::Target,
        Some(other) => {
            warnings.push(format!(
                "{name}: .{other} units are not supported by rich-init yet, ignoring it; \
                 run what it starts from a .service unit"
            ));
            return Ok(None);
        }
        None => return Ok(None),
    };
    Ok(Some(Loaded { file, found, kind }))
}

/// Description= with its specifiers resolved (as systemctl shows it); the unit's name when
/// it has none.
pub fn description_of(file: &UnitFile, name: &str, hostname: &str) -> String {
    match file.get("Unit", "Description") {
        Some(d) if !d.is_empty() => super::specifiers::expand(d, &Context::system(name, hostname))
            .unwrap_or_else(|_| d.to_string()),
        _ => name.to_string(),
    }
}

impl Generated {
    /// What discovery would have found for it: its script, nothing else.
    pub fn found(&self) -> Found {
        let g = self;
        Found {
            name: g.name.clone(),
            path: g.source.clone(),
            aliases: Vec::new(),
            masked: false,
            instance: None,
            template: None,
            dropins: Vec::new(),
            wants: Vec::new(),
            requires: Vec::new(),
        }
    }
}

/// A service that needs a `.socket` unit (its Requires=, Wants= or After= names one), such
/// as Debian's rsyslog.service (`Requires=syslog.socket`). rich-init runs no socket units, so
/// the service stands in for its socket in the boot's order: it starts before
/// sockets.target, where the socket would have been listening, and so before every service
/// that comes after basic.target (cron's @reboot jobs then find rsyslog's /dev/log, as they
/// find systemd's socket). Its own default dependency is sysinit.target only.
fn stands_in_for_a_socket(file: &UnitFile) -> bool {
    ["Requires", "Wants", "After"]
        .iter()
        .any(|key| words(file, key).any(|w| w.ends_with(".socket")))
}

/// Each unit's After= set within the plan: After=, the Before= of others, and the default
/// dependencies.
fn ordering(loaded: &BTreeMap<String, Loaded>) -> BTreeMap<String, Vec<String>> {
    let mut after: BTreeMap<String, BTreeSet<String>> =
        crate::sort::map_of(loaded.keys().map(|n| (n.clone(), BTreeSet::new())));
    let mut add = |unit: &str, dep: &str| {
        if unit != dep && loaded.contains_key(dep) {
            if let Some(set) = after.get_mut(unit) {
                set.insert(dep.to_string());
            }
        }
    };
    for (name, l) in loaded {
        for dep in words(&l.file, "After") {
            add(name, dep);
        }
        for later in words(&l.file, "Before") {
            add(later, name);
        }
        // systemd.socket(5): a socket unit is ordered before the service it activates.
        if let Kind::Socket(s) = &l.kind {
            add(&s.service, name);
        }
        if !default_dependencies(&l.file) {
            continue;
        }
        match l.kind {
            // systemd.socket(5), "Default Dependencies": After=sysinit.target,
            // Before=sockets.target.
            Kind::Socket(_) => {
                add(name, "sysinit.target");
                add("sockets.target", name);
            }
            Kind::Service(_) if stands_in_for_a_socket(&l.file) => {
                add(name, "sysinit.target");
                add("sockets.target", name);
            }
            Kind::Service(_) => {
                add(name, "sysinit.target");
                add(name, "basic.target");
            }
            Kind::Target => {
                let wanted = words(&l.file, "Wants")
                    .chain(words(&l.file, "Requires"))
                    .map(str::to_string)
                    .chain(l.found.wants.iter().cloned())
                    .chain(l.found.requires.iter().cloned())
                    .collect::<Vec<_>>();
                for dep in wanted {
                    if loaded
                        .get(&dep)
                        .is_some_and(|d| default_dependencies(&d.file))
                    {
                        add(name, &dep);
                    }
                }
            }
        }
    }
    crate::sort::map_of(after.into_iter().map(|(n, s)| (n, s.into_iter().collect())))
}

/// Kahn's order; each cycle loses one edge (with a warning) until there is none.
fn start_order(
    mut edges: BTreeMap<String, Vec<String>>,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    loop {
        let list: Vec<(String, Vec<String>)> =
            edges.iter().map(|(n, a)| (n.clone(), a.clone())).collect();
        match order::start_order(&list) {
            Ok(order) => return order,
            Err(order::OrderError::Cycles(cycles)) => {
                for cycle in cycles {
                    let (Some(a), Some(b)) = (cycle.0.first(), cycle.0.get(1)) else {
                        continue;
                    };
                    warnings.push(format!(
                        "ordering cycle {cycle}: {a} no longer waits for {b}; fix After=/Before= \
                         in one of them"
                    ));
                    if let Some(list) = edges.get_mut(a) {
                        list.retain(|x| x != b);
                    }
                }
            }
            Err(_) => return edges.keys().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests;
