//! Loading the image's units for `--systemd`: the boot (what `default.target` pulls in,
//! SysV scripts included), a unit asked for later by name (`systemctl start` of a unit the
//! boot did not pull in, or one a package installed since), and `daemon-reload`.

use super::UnitRun;
use crate::init::rich::error::{Problem, RichError};
use crate::init::rich::services::notify_socket;
use crate::supervisor::fleet::{Member, MemberKind};
use crate::supervisor::unit::Spec;
use crate::units::boot::{self, Kind, Planned};
use crate::units::discovery::{Found, Loader};
use crate::units::service::{NotifyAccess, ServiceType, ServiceUnit};
use crate::units::specifiers::Context;
use crate::units::sysv;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// What systemctl shows of a loaded unit besides its machine's state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    pub description: String,
    pub names: Vec<String>,
    pub fragment_path: String,
    pub source_path: String,
    pub drop_in_paths: Vec<String>,
    pub documentation: Vec<String>,
    /// `simple`, `forking`, … for services; empty for targets.
    pub service_type: String,
    pub restart: String,
    pub can_reload: bool,
    /// Masked since it was loaded (seen at `daemon-reload`): it cannot be started.
    pub masked: bool,
}

/// What `--systemd` adds to the fleet.
#[derive(Default)]
pub(crate) struct Loaded {
    pub members: Vec<Member>,
    pub units: BTreeMap<String, UnitRun>,
    pub meta: BTreeMap<String, Meta>,
    pub notify: Vec<(String, UnixDatagram)>,
    /// One line each: directives ignored, units skipped.
    pub warnings: Vec<String>,
}

/// One unit loaded after the boot.
pub(crate) struct OnDemand {
    pub member: Member,
    pub run: Option<UnitRun>,
    pub meta: Meta,
    pub notify: Option<(String, UnixDatagram)>,
    pub warnings: Vec<String>,
}

/// Why a unit asked for by name cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OnDemandError {
    NotFound,
    Masked,
    /// It did not load: its unit file is wrong, or of a type rich-init does not run.
    Bad(String),
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// SysV scripts as systemd-sysv-generator reads them (a unit of the same name wins).
fn generated(loader: &Loader, warnings: &mut Vec<String>) -> Vec<boot::Generated> {
    let scripts = match sysv::scan(Path::new("/"), loader) {
        Ok(scripts) => scripts,
        Err(e) => {
            warnings.push(format!("{e}; no SysV script runs"));
            Vec::new()
        }
    };
    scripts
        .iter()
        .map(|s| {
            warnings.extend(s.warnings.iter().map(ToString::to_string));
            boot::Generated {
                name: s.name.clone(),
                text: s.unit_text.clone(),
                source: s.script.clone(),
                wanted_by: s.wanted_by.clone(),
            }
        })
        .collect()
}

fn service_type(kind: ServiceType) -> &'static str {
    match kind {
        ServiceType::Simple => "simple",
        ServiceType::Exec => "exec",
        ServiceType::Forking => "forking",
        ServiceType::Oneshot => "oneshot",
        ServiceType::Notify => "notify",
        ServiceType::Idle => "idle",
    }
}

fn restart_word(r: crate::units::service::Restart) -> &'static str {
    use crate::units::service::Restart as R;
    match r {
        R::No => "no",
        R::OnSuccess => "on-success",
        R::OnFailure => "on-failure",
        R::OnAbnormal => "on-abnormal",
        R::OnWatchdog => "on-watchdog",
        R::OnAbort => "on-abort",
        R::Always => "always",
    }
}

fn meta_of(name: &str, found: &Found, description: &str, kind: &Kind) -> Meta {
    let mut names = vec![name.to_string()];
    names.extend(found.aliases.iter().cloned());
    let path = found.path.display().to_string();
    let mut meta = Meta {
        description: description.to_string(),
        names,
        fragment_path: path,
        drop_in_paths: found
            .dropins
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        ..Meta::default()
    };
    if let Kind::Service(unit) = kind {
        meta.documentation = unit.unit.documentation.clone();
        meta.service_type = service_type(unit.service.kind).to_string();
        meta.restart = restart_word(unit.service.restart).to_string();
        meta.can_reload = !unit.service.exec_reload.is_empty();
        if let Some(source) = &unit.unit.source_path {
            meta.source_path = source.clone();
        }
    }
    meta
}

/// The member, run and notify socket of one planned unit; None (with a warning) when it
/// cannot run.
#[allow(clippy::type_complexity)]
fn prepare(
    planned: Planned,
    warnings: &mut Vec<String>,
) -> Option<(
    Member,
    Option<UnitRun>,
    Meta,
    Option<(String, UnixDatagram)>,
)> {
    let name = planned.name.clone();
    let meta = meta_of(&name, &planned.found, &planned.description, &planned.kind);
    let (kind, run, notify) = match planned.kind {
        Kind::Target | Kind::Socket(_) => (MemberKind::Target, None, None),
        Kind::Service(unit) => {
            let wants_notify = unit.service.kind == ServiceType::Notify
                || unit.service.notify_access != NotifyAccess::None;
            let mut notify = None;
            let mut address = None;
            if wants_notify {
                match notify_socket(&name) {
                    Ok((sock, addr)) => {
                        notify = Some((name.clone(), sock));
                        address = Some(addr);
                    }
                    Err(e) => {
                        warnings.push(format!(
                            "{name}: cannot open its NOTIFY_SOCKET: {e}; skipping it"
                        ));
                        return None;
                    }
                }
            }
            if unit.service.private_tmp && !super::can_private_tmp() {
                warnings.push(format!(
                    "{name}: PrivateTmp= needs a mount namespace (CAP_SYS_ADMIN), which this \
                     container does not grant; ignoring it (its /tmp is the container's)"
                ));
            }
            let spec = Spec::from_unit(&unit);
            match UnitRun::new(*unit, address) {
                Ok(run) => (MemberKind::Unit(Box::new(spec)), Some(run), notify),
                Err(e) => {
                    warnings.push(format!("{e}; skipping it"));
                    return None;
                }
            }
        }
    };
    let member = Member {
        name,
        after: planned.after,
        kind,
    };
    Some((member, run, meta, notify))
}

/// Read the image's units (under `/`) as systemd would boot them. A unit whose name is a
/// services.d/preset service's (`cron.service` and `cron`) is left to that service.
pub(crate) fn load(services: &[String]) -> Result<Loaded, RichError> {
    let loader = Loader::new("/").map_err(|e| RichError::Config(vec![Problem::Units(e)]))?;
    let mut warnings = Vec::new();
    let generated = generated(&loader, &mut warnings);
    let plan = boot::plan(&loader, &hostname(), &generated)
        .map_err(|e| RichError::Config(vec![Problem::Units(e)]))?;
    warnings.extend(plan.warnings);
    let mut out = Loaded {
        warnings,
        ..Loaded::default()
    };
    let taken = |name: &str| {
        name.strip_suffix(".service")
            .is_some_and(|stem| services.iter().any(|s| s == stem))
    };
    let mut sockets = Vec::new();
    for planned in plan.units {
        if let Kind::Socket(socket) = &planned.kind {
            sockets.push((socket.clone(), planned.found.path.clone()));
        }
        if matches!(planned.kind, Kind::Service(_)) && taken(&planned.name) {
            out.warnings.push(format!(
                "{}: a services.d file or preset of the same name runs instead",
                planned.name
            ));
            continue;
        }
        let name = planned.name.clone();
        let Some((member, run, meta, notify)) = prepare(planned, &mut out.warnings) else {
            continue;
        };
        if let Some(run) = run {
            out.units.insert(name.clone(), run);
        }
        out.notify.extend(notify);
        out.meta.insert(name, meta);
        out.members.push(member);
    }
    for (socket, file) in sockets {
        let problem = match out.units.get_mut(&socket.service) {
            Some(run) => run.sockets.add(&socket, &file).err(),
            None => Some(format!(
                "its service {} does not run as a unit here (it was skipped above, or a \
                 services.d file or preset of that name runs instead: give that `listen`)",
                socket.service
            )),
        };
        if let Some(why) = problem {
            out.warnings
                .push(format!("{}: {why}; its sockets are not bound", socket.name));
        }
    }
    Ok(out)
}

/// Load unit `name` (by its name or an alias) after the boot; `loaded` are the members
/// already there, which its After=/Before= may name.
pub(crate) fn load_one(name: &str, loaded: &BTreeSet<String>) -> Result<OnDemand, OnDemandError> {
    let loader = Loader::new("/").map_err(|e| OnDemandError::Bad(e.to_string()))?;
    let mut warnings = Vec::new();
    let found = match loader.find(name) {
        Ok(Some(found)) if found.masked => return Err(OnDemandError::Masked),
        Ok(Some(found)) => found,
        Ok(None) => {
            // A SysV script of that name.
            let generated = generated(&loader, &mut warnings);
            let g = generated
                .into_iter()
                .find(|g| g.name == name)
                .ok_or(OnDemandError::NotFound)?;
            let file = crate::units::syntax::UnitFile::parse(&g.text)
                .map_err(|e| OnDemandError::Bad(format!("{name}: {e}")))?;
            return one_file(g.found(), file, loaded, warnings);
        }
        Err(e) => return Err(OnDemandError::Bad(e.to_string())),
    };
    let file = boot::read_unit(&found).map_err(OnDemandError::Bad)?;
    one_file(found, file, loaded, warnings)
}

fn one_file(
    found: Found,
    file: crate::units::syntax::UnitFile,
    loaded: &BTreeSet<String>,
    mut warnings: Vec<String>,
) -> Result<OnDemand, OnDemandError> {
    let name = found.name.clone();
    let kind = match name.rsplit_once('.').map(|(_, t)| t) {
        Some("service") => {
            let unit = ServiceUnit::from_file(&file, &Context::system(&name, &hostname()))
                .map_err(|e| OnDemandError::Bad(e.to_string()))?;
            warnings.extend(unit.warnings.iter().map(ToString::to_string));
            Kind::Service(Box::new(unit))
        }
        Some("target") => Kind::Target,
        Some(other) => {
            return Err(OnDemandError::Bad(format!(
                "{name}: .{other} units are not supported by rich-init yet"
            )))
        }
        None => return Err(OnDemandError::NotFound),
    };
    // Ordering against what is loaded: After=, and the Before= of this unit seen from the
    // other side is left to those units (they started already).
    let after: Vec<String> = file
        .all("Unit", "After")
        .into_iter()
        .flat_map(str::split_whitespace)
        .filter(|a| loaded.contains(*a))
        .map(str::to_string)
        .collect();
    let description = boot::description_of(&file, &name, &hostname());
    let planned = Planned {
        name: name.clone(),
        found,
        kind,
        after,
        description,
    };
    let (member, run, meta, notify) =
        prepare(planned, &mut warnings).ok_or_else(|| OnDemandError::Bad(warnings.join("; ")))?;
    Ok(OnDemand {
        member,
        run,
        meta,
        notify,
        warnings,
    })
}

/// What `daemon-reload` found for one loaded unit.
pub(crate) enum Reloaded {
    Fresh(Box<(UnitRun, Meta)>),
    Masked,
}

/// `systemctl daemon-reload`: each loaded service's definition read again (the next start
/// of a running one uses it; its machine keeps its state and timing settings). Returns the
/// new runs (without a notify socket: the caller keeps the old one) and metadata, the
/// units masked since, and one line per unit that could not be read.
pub(crate) fn reload(names: &[String]) -> (BTreeMap<String, Reloaded>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut warnings = Vec::new();
    let loaded: BTreeSet<String> = crate::sort::set_of(names.iter().cloned());
    for name in names.iter().filter(|n| n.ends_with(".service")) {
        match load_one(name, &loaded) {
            Ok(OnDemand {
                run: Some(run),
                meta,
                warnings: w,
                ..
            }) => {
                warnings.extend(w);
                out.insert(name.clone(), Reloaded::Fresh(Box::new((run, meta))));
            }
            Ok(_) => {}
            Err(OnDemandError::Masked) => {
                out.insert(name.clone(), Reloaded::Masked);
            }
            Err(OnDemandError::Bad(e)) => {
                warnings.push(format!("{name}: {e}; keeping the loaded definition"))
            }
            Err(_) => {}
        }
    }
    (out, warnings)
}
