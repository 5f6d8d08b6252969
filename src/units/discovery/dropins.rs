//! Drop-in directories (`NAME.d/*.conf`) and dependency link directories (`NAME.wants/`,
//! `NAME.requires/`) of a unit, gathered across the load path as systemd.unit(5)
//! "Description" says.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::fsview::{self, host, LinkKind};
use super::names::UnitName;
use super::{DiscoveryError, Loader};

impl Loader {
    /// The directories `NAME{suffix}` that systemd.unit(5) reads for a unit known as `names`
    /// (own name first), most specific first: per name and load directory the name, its
    /// template, its dashed prefixes; then the type-level `service{suffix}` ones.
    pub(super) fn dirs_for(&self, names: &[String], suffix: &str) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for name in names {
            let Ok(parsed) = UnitName::parse(name) else {
                continue;
            };
            let mut stems = vec![name.clone()];
            if parsed.instance().is_some() {
                stems.push(parsed.template());
            }
            stems.extend(parsed.dash_prefixes());
            for dir in &self.dirs {
                out.extend(stems.iter().map(|s| dir.image.join(format!("{s}{suffix}"))));
            }
        }
        if let Some(kind) = names
            .first()
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, k)| k)
        {
            out.extend(
                self.dirs
                    .iter()
                    .map(|d| d.image.join(format!("{kind}{suffix}"))),
            );
        }
        let mut seen = BTreeSet::new();
        out.retain(|d| seen.insert(d.clone()));
        out
    }

    /// The `*.conf` files of `dirs`: a name found first in an earlier directory wins, a link
    /// to `/dev/null` hides the name; sorted by file name whatever their directory.
    pub(super) fn dropins(&self, dirs: &[PathBuf]) -> Result<Vec<PathBuf>, DiscoveryError> {
        let mut chosen: BTreeMap<String, Option<PathBuf>> = BTreeMap::new();
        for dir in dirs {
            for file in fsview::list_dir(&self.root, dir)? {
                if !file.ends_with(".conf") || chosen.contains_key(&file) {
                    continue;
                }
                let image = dir.join(&file);
                let keep = match fsview::link_kind(&self.root, &image)? {
                    LinkKind::Null => None,
                    _ => Some(host(&self.root, &image)),
                };
                chosen.insert(file, keep);
            }
        }
        Ok(chosen.into_values().flatten().collect())
    }

    /// The unit names linked in `.wants/`-style `dirs`: symlinks only, a `/dev/null` link hides
    /// the name, a template link takes `instance` (and is skipped without one).
    pub(super) fn links(
        &self,
        dirs: &[PathBuf],
        instance: Option<&str>,
    ) -> Result<Vec<String>, DiscoveryError> {
        let mut chosen: BTreeMap<String, Option<String>> = BTreeMap::new();
        for dir in dirs {
            for entry in fsview::list_dir(&self.root, dir)? {
                if chosen.contains_key(&entry) {
                    continue;
                }
                let Ok(parsed) = UnitName::parse(&entry) else {
                    continue;
                };
                let unit = match fsview::link_kind(&self.root, &dir.join(&entry))? {
                    LinkKind::Link(_) if parsed.is_template() => {
                        instance.map(|i| parsed.with_instance(i))
                    }
                    LinkKind::Link(_) => Some(entry.clone()),
                    LinkKind::Null | LinkKind::NotLink => None,
                };
                chosen.insert(entry, unit);
            }
        }
        let set: BTreeSet<String> = crate::sort::set_of(chosen.into_values().flatten());
        Ok(set.into_iter().collect())
    }
}
