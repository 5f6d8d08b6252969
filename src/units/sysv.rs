//! SysV init scripts as systemd-sysv-generator(8) turns them into units (systemd 252, as in
//! Debian 12): every executable regular file in `/etc/init.d` whose name has no native unit
//! becomes `NAME.service` (`.sh` removed), described by its LSB header ([`parse_lsb`]), and
//! enabled by `S??NAME` links in `/etc/rc1.d` .. `/etc/rc5.d` ([`scan`]). The unit text is the
//! generator's own ([`generate`]), so [`crate::units::syntax`] and
//! [`crate::units::service`] read it as they read any unit.
//!
//! Read under a root (an image's rootfs), symlinks resolved inside it, as `discovery` does.
//! Not done: `$SYSTEMD_SYSVINIT_PATH`/`$SYSTEMD_SYSVRCND_PATH` (the defaults are used), and the
//! generator's log lines other than the ones kept as [`SysvWarning`].

mod facility;
mod lsb;
#[cfg(test)]
mod tests;
mod unit;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::units::discovery::{fsview, DiscoveryError, ListedUnit, Loader, UnitFileState};

pub use facility::{dependencies, facility, unit_name, Dependencies, Facility};
pub use lsb::{parse_lsb, Field, HeaderWarning, Keyword, LsbHeader};
pub use unit::{generate, Enablement};

/// The generator's SYSTEM_SYSVINIT_PATH and SYSTEM_SYSVRCND_PATH as Debian builds it.
const INIT_D: &str = "/etc/init.d";
const RC_BASE: &str = "/etc";

/// The start-up runlevel directories and the target each stands for (the generator's
/// `rcnd_table`); rc0.d and rc6.d (shutdown) are not read.
const RC_DIRS: [(&str, &str); 5] = [
    ("rc1.d", "rescue.target"),
    ("rc2.d", "multi-user.target"),
    ("rc3.d", "multi-user.target"),
    ("rc4.d", "multi-user.target"),
    ("rc5.d", "graphical.target"),
];

/// The units Debian 12's systemd package masks (`/lib/systemd/system/NAME -> /dev/null`,
/// systemd 252.38-1~deb12u1) so that these scripts never run under systemd. An image without
/// systemd installed lacks the masks; they are applied here when the image has no unit file
/// of that name at all.
const DEBIAN_MASKED: [&str; 6] = [
    "cryptdisks-early.service",
    "cryptdisks.service",
    "hwclock.service",
    "rc.service",
    "rcS.service",
    "x11-common.service",
];

/// systemd 252's hidden_or_backup_file() suffixes (after the last dot).
const BACKUP_SUFFIXES: [&str; 17] = [
    "rpmnew",
    "rpmsave",
    "rpmorig",
    "dpkg-old",
    "dpkg-new",
    "dpkg-tmp",
    "dpkg-dist",
    "dpkg-bak",
    "dpkg-backup",
    "dpkg-remove",
    "ucf-new",
    "ucf-old",
    "ucf-dist",
    "swp",
    "bak",
    "old",
    "new",
];

#[derive(Debug, thiserror::Error)]
pub enum SysvError {
    #[error(
        "cannot read init script {}: {source}; make it readable, or remove its execute bit so \
         that it is no service",
        path.display()
    )]
    Read { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

/// Something systemd-sysv-generator logs about a script; the service is still generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysvWarning {
    /// `# pidfile:` with a relative path; no PIDFile= is written.
    PidFileNotAbsolute {
        script: PathBuf,
        line: usize,
        path: String,
    },
    /// A header name that makes no valid unit name; skipped.
    InvalidName {
        script: PathBuf,
        line: usize,
        word: String,
    },
}

impl fmt::Display for SysvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PidFileNotAbsolute { script, line, path } => write!(
                f,
                "{}:{line}: pidfile {path:?} is not absolute, ignoring it; write it from /",
                script.display()
            ),
            Self::InvalidName { script, line, word } => write!(
                f,
                "{}:{line}: {word:?} is not a valid unit name, ignoring it; use letters, digits \
                 and : - _ . only",
                script.display()
            ),
        }
    }
}

/// One script turned into a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysvService {
    /// `NAME.service`.
    pub name: String,
    /// The script's path inside the image (`/etc/init.d/NAME`): run it as `SCRIPT start`,
    /// `stop`, `status`...
    pub script: PathBuf,
    pub header: LsbHeader,
    /// Some rc1.d..rc5.d directory has an `S` link to it.
    pub enabled: bool,
    /// The targets whose `.wants/` the generator links it into, without repeats.
    pub wanted_by: Vec<String>,
    /// The highest start priority of its `S` links (`S20foo`: 20).
    pub priority: Option<u8>,
    /// Its `Provides:` service names that became aliases (a native unit, another script and
    /// an earlier script's alias keep their name).
    pub aliases: Vec<String>,
    /// The unit file the generator writes for it.
    pub unit_text: String,
    pub warnings: Vec<SysvWarning>,
}

/// The `systemctl list-unit-files` lines of scanned services: state `generated`
/// (systemctl(1), is-enabled), path the script's host path (systemd shows its generated file,
/// which does not exist here). Their Provides aliases are not listed. Merge them with
/// [`Loader::list`] and sort as it does (type suffix, then name).
pub fn listed(root: &Path, services: &[SysvService]) -> Vec<ListedUnit> {
    services
        .iter()
        .map(|s| ListedUnit {
            name: s.name.clone(),
            state: UnitFileState::Generated,
            path: fsview::host(root, &s.script),
        })
        .collect()
}

/// systemd's hidden_or_backup_file(): names skipped in init.d and the rc directories.
fn hidden_or_backup(name: &str) -> bool {
    name.starts_with('.')
        || ["lost+found", "aquota.user", "aquota.group"].contains(&name)
        || name.ends_with('~')
        || name
            .rsplit_once('.')
            .is_some_and(|(_, suffix)| BACKUP_SUFFIXES.contains(&suffix))
}

/// Whether a unit file of this name exists in the image (masked and aliased included): then
/// the script is left alone. Errors count as "exists", as the generator skips on them too.
fn native(loader: &Loader, name: &str) -> bool {
    !matches!(loader.find(name), Ok(None))
}

/// A script found in init.d, before the rc links and the other scripts are known.
struct Pending {
    script: PathBuf,
    header: LsbHeader,
    rc_targets: Vec<String>,
    priority: Option<u8>,
}

/// Every SysV service of the image under `root`, sorted by name. `loader` is the same root's
/// unit loader: a native unit of the same name (even masked, or an alias) wins.
pub fn scan(root: &Path, loader: &Loader) -> Result<Vec<SysvService>, SysvError> {
    let mut pending = scripts(root, loader)?;
    rc_links(root, &mut pending)?;
    let mut taken: BTreeSet<String> = crate::sort::set_of(pending.keys().cloned());
    let mut out = Vec::new();
    for (name, p) in &pending {
        let file_name = p
            .script
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let deps = facility::dependencies(&p.header, &file_name);
        let mut aliases = Vec::new();
        for alias in deps.aliases {
            if !native(loader, &alias) && taken.insert(alias.clone()) {
                aliases.push(alias);
            }
        }
        let enabled = Enablement {
            rc_targets: p.rc_targets.clone(),
            order_after: fix_order(name, p, &pending, |o, me| o < me),
            order_before: fix_order(name, p, &pending, |o, me| o > me),
        };
        let mut warnings: Vec<SysvWarning> = p
            .header
            .warnings
            .iter()
            .map(|w| match w {
                HeaderWarning::PidFileNotAbsolute { line, path } => {
                    SysvWarning::PidFileNotAbsolute {
                        script: p.script.clone(),
                        line: *line,
                        path: path.clone(),
                    }
                }
            })
            .collect();
        warnings.extend(
            deps.invalid
                .into_iter()
                .map(|(line, word)| SysvWarning::InvalidName {
                    script: p.script.clone(),
                    line,
                    word,
                }),
        );
        out.push(SysvService {
            name: name.clone(),
            script: p.script.clone(),
            unit_text: generate(&p.script, &p.header, &enabled),
            header: p.header.clone(),
            enabled: !p.rc_targets.is_empty(),
            wanted_by: enabled.wanted_by(),
            priority: p.priority,
            aliases,
            warnings,
        });
    }
    Ok(out)
}

/// The executable regular files of init.d that no unit file shadows, by unit name; of two
/// scripts with one unit name (`foo`, `foo.sh`) the first in name order (the generator takes
/// whichever its readdir() lists first).
fn scripts(root: &Path, loader: &Loader) -> Result<BTreeMap<String, Pending>, SysvError> {
    let dir = fsview::resolve(root, Path::new(INIT_D))?;
    let mut found = BTreeMap::new();
    for file in fsview::list_dir(root, &dir)? {
        if hidden_or_backup(&file) {
            continue;
        }
        let image = dir.join(&file);
        // The generator stat()s and skips what it cannot stat (dangling links, loops).
        let Ok(resolved) = fsview::resolve(root, &image) else {
            continue;
        };
        let target = fsview::host(root, &resolved);
        let Ok(meta) = fs::metadata(&target) else {
            continue;
        };
        if !meta.is_file() || meta.permissions().mode() & 0o100 == 0 {
            continue;
        }
        let name = unit_name(&file);
        if found.contains_key(&name)
            || native(loader, &name)
            || DEBIAN_MASKED.contains(&name.as_str())
        {
            continue;
        }
        let bytes = fs::read(&target).map_err(|source| SysvError::Read {
            path: target.clone(),
            source,
        })?;
        let header = parse_lsb(&String::from_utf8_lossy(&bytes));
        found.insert(
            name,
            Pending {
                script: image,
                header,
                rc_targets: Vec::new(),
                priority: None,
            },
        );
    }
    Ok(found)
}

/// The `S??NAME` entries of rc1.d..rc5.d (what they link to is not looked at, as the
/// generator does not).
fn rc_links(root: &Path, pending: &mut BTreeMap<String, Pending>) -> Result<(), SysvError> {
    let base = fsview::resolve(root, Path::new(RC_BASE))?;
    for (dir, target) in RC_DIRS {
        let mut here = BTreeSet::new();
        for link in fsview::list_dir(root, &base.join(dir))? {
            let bytes = link.as_bytes();
            if hidden_or_backup(&link) || bytes.len() < 4 || bytes[0] != b'S' {
                continue;
            }
            let (Some(a), Some(b)) = (digit(bytes[1]), digit(bytes[2])) else {
                continue;
            };
            let name = unit_name(&link[3..]);
            let Some(p) = pending.get_mut(&name) else {
                continue;
            };
            let priority = a * 10 + b;
            p.priority = Some(p.priority.map_or(priority, |old| old.max(priority)));
            if here.insert(name) {
                p.rc_targets.push(target.to_owned());
            }
        }
    }
    Ok(())
}

fn digit(byte: u8) -> Option<u8> {
    byte.is_ascii_digit().then(|| byte - b'0')
}

/// The generator's `fix_order()`: the other scripts with a start priority that `pick`s
/// against this one's, when not both have an LSB header (then the headers order them).
fn fix_order(
    name: &str,
    me: &Pending,
    all: &BTreeMap<String, Pending>,
    pick: fn(u8, u8) -> bool,
) -> Vec<String> {
    let Some(mine) = me.priority else {
        return Vec::new();
    };
    all.iter()
        .filter(|(other, _)| other.as_str() != name)
        .filter(|(_, o)| !(me.header.has_lsb && o.header.has_lsb))
        .filter_map(|(other, o)| o.priority.filter(|p| pick(*p, mine)).map(|_| other.clone()))
        .collect()
}
