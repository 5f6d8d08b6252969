//! `systemctl list-unit-files`: every unit file in the load path with its enablement state,
//! as systemctl(1) "is-enabled" defines the states.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::fsview::{self, host, Entry, LinkKind};
use super::names::UnitName;
use super::{ini, DirKind, DiscoveryError, Loader};

/// A unit file's state (systemctl(1), is-enabled, Table 2), as far as an image can have it:
/// no transient units here, so no "transient"; "generated" comes from `units::sysv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitFileState {
    /// A `.wants/`, `.requires/` or alias symlink in `/etc/systemd/system` leads to it.
    Enabled,
    /// As Enabled, with the symlinks only in `/run/systemd/system`.
    EnabledRuntime,
    /// Made available by a same-name symlink in `/etc` to a file outside the load path.
    Linked,
    LinkedRuntime,
    /// The name is a symlink to another unit file.
    Alias,
    /// Linked to `/dev/null` or empty.
    Masked,
    MaskedRuntime,
    /// Not enabled and no `[Install]` rules.
    Static,
    /// Not enabled, but `Also=`, or a template with another instance than
    /// `DefaultInstance=` enabled.
    Indirect,
    /// Not enabled, with `[Install]` rules (`WantedBy=`, `RequiredBy=`, `UpheldBy=`, `Alias=`).
    Disabled,
    /// Written by a generator (a SysV init script's unit); enabled, if at all, by it.
    Generated,
}

impl UnitFileState {
    /// The word systemctl prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::EnabledRuntime => "enabled-runtime",
            Self::Linked => "linked",
            Self::LinkedRuntime => "linked-runtime",
            Self::Alias => "alias",
            Self::Masked => "masked",
            Self::MaskedRuntime => "masked-runtime",
            Self::Static => "static",
            Self::Indirect => "indirect",
            Self::Disabled => "disabled",
            Self::Generated => "generated",
        }
    }
}

impl fmt::Display for UnitFileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of `systemctl list-unit-files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedUnit {
    pub name: String,
    pub state: UnitFileState,
    /// Host path of the file (or symlink) that the name has first in the load path.
    pub path: PathBuf,
}

/// Enabling links found, per unit file name: (where, the instance a link names).
type LinkIndex = BTreeMap<String, Vec<(DirKind, Option<String>)>>;

impl Loader {
    /// Every unit file name at the top level of the load path with its state, ordered as
    /// systemctl orders them: by type suffix, then by name.
    pub fn list(&self) -> Result<Vec<ListedUnit>, DiscoveryError> {
        let index = self.link_index()?;
        let mut out = Vec::new();
        for (name, (dir, entry)) in &self.names {
            let kind = self.dirs[*dir].kind;
            let (state, image) = match entry {
                Entry::Masked { image } if kind == DirKind::Runtime => {
                    (UnitFileState::MaskedRuntime, image)
                }
                Entry::Masked { image } => (UnitFileState::Masked, image),
                Entry::Alias { image, .. } => (UnitFileState::Alias, image),
                Entry::File {
                    image,
                    linked: true,
                } if kind == DirKind::Config => (UnitFileState::Linked, image),
                Entry::File {
                    image,
                    linked: true,
                } if kind == DirKind::Runtime => (UnitFileState::LinkedRuntime, image),
                Entry::File { image, .. } => (self.file_state(name, image, &index)?, image),
            };
            out.push(ListedUnit {
                name: name.clone(),
                state,
                path: host(&self.root, image),
            });
        }
        let suffix = |n: &str| {
            n.rsplit_once('.')
                .map_or(String::new(), |(_, s)| s.to_owned())
        };
        crate::sort::sort_by(&mut out, |a, b| {
            (suffix(&a.name), &a.name).cmp(&(suffix(&b.name), &b.name))
        });
        Ok(out)
    }

    /// The state of a unit file that is neither masked, an alias, nor linked.
    fn file_state(
        &self,
        name: &str,
        image: &Path,
        index: &LinkIndex,
    ) -> Result<UnitFileState, DiscoveryError> {
        let entries = ini::read(&host(&self.root, image))?;
        let install = |keys: &[&str]| !ini::words(&entries, "Install", keys).is_empty();
        let template = UnitName::parse(name).is_ok_and(|p| p.is_template());
        let default_instance = ini::words(&entries, "Install", &["DefaultInstance"])
            .last()
            .copied();
        let links = index.get(name).map(Vec::as_slice).unwrap_or_default();
        let counts =
            |i: &Option<String>| !template || i.is_none() || i.as_deref() == default_instance;
        if links
            .iter()
            .any(|(k, i)| *k == DirKind::Config && counts(i))
        {
            return Ok(UnitFileState::Enabled);
        }
        if links
            .iter()
            .any(|(k, i)| *k == DirKind::Runtime && counts(i))
        {
            return Ok(UnitFileState::EnabledRuntime);
        }
        if template && !links.is_empty() {
            return Ok(UnitFileState::Indirect);
        }
        Ok(
            if install(&["WantedBy", "RequiredBy", "UpheldBy", "Alias"]) {
                UnitFileState::Disabled
            } else if install(&["Also"]) {
                UnitFileState::Indirect
            } else {
                UnitFileState::Static
            },
        )
    }

    /// The symlinks that enable units: in `/etc/systemd/system` and `/run/systemd/system` only
    /// (links shipped in `/usr/lib` do not make a unit "enabled"), in `*.wants/`,
    /// `*.requires/` and `*.upholds/`, and top-level aliases.
    fn link_index(&self) -> Result<LinkIndex, DiscoveryError> {
        let mut index = LinkIndex::new();
        for (dir, entry) in self.names.values() {
            let kind = self.dirs[*dir].kind;
            if let (Entry::Alias { target, .. }, false) = (entry, kind == DirKind::Vendor) {
                index.entry(target.clone()).or_default().push((kind, None));
            }
        }
        for dir in self.dirs.iter().filter(|d| d.kind != DirKind::Vendor) {
            for sub in fsview::list_dir(&self.root, &dir.image)? {
                if ![".wants", ".requires", ".upholds"]
                    .iter()
                    .any(|s| sub.ends_with(s))
                {
                    continue;
                }
                let sub = dir.image.join(sub);
                for link in fsview::list_dir(&self.root, &sub)? {
                    if let LinkKind::Link(target) = fsview::link_kind(&self.root, &sub.join(&link))?
                    {
                        record(&mut index, dir.kind, &link, &target);
                    }
                }
            }
        }
        Ok(index)
    }
}

/// Files the link `link -> target` under the unit file it enables: the target's file name,
/// and for an instance link to a template, that template with the link's instance.
fn record(index: &mut LinkIndex, kind: DirKind, link: &str, target: &Path) {
    let Some(target) = target.file_name().and_then(|t| t.to_str()) else {
        return;
    };
    let Ok(link_name) = UnitName::parse(link) else {
        return;
    };
    let file = if UnitName::parse(target).is_ok() {
        target
    } else {
        link
    };
    let instance = match UnitName::parse(file) {
        Ok(f) if f.is_template() => link_name.instance().map(str::to_owned),
        _ => None,
    };
    index
        .entry(file.to_owned())
        .or_default()
        .push((kind, instance));
}
