//! Unit discovery, as systemd.unit(5) describes it for the system manager: which file a unit
//! name loads from (load path precedence, aliases, masks, templates), its drop-ins, its
//! `.wants/` and `.requires/` links, `default.target`, what a target pulls in, and the
//! `systemctl list-unit-files` view. Everything is read under a root directory (an image's
//! rootfs, or `/`); symlinks are resolved inside that root.
//!
//! Not read here (yet): the generator, transient, `.control` and `/usr/local/lib` directories,
//! `$SYSTEMD_UNIT_PATH`, `.upholds/` links, and default (implicit) dependencies.

mod builtin;
mod dropins;
pub(crate) mod fsview;
mod ini;
mod names;
pub(crate) use names::UnitName;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use fsview::{host, Entry};
pub use state::{ListedUnit, UnitFileState};

/// The system manager's load path, highest precedence first (systemd.unit(5), "Unit File Load
/// Path"), as far as an image carries it.
const LOAD_PATHS: [(&str, DirKind); 4] = [
    ("/etc/systemd/system", DirKind::Config),
    ("/run/systemd/system", DirKind::Runtime),
    ("/lib/systemd/system", DirKind::Vendor),
    ("/usr/lib/systemd/system", DirKind::Vendor),
];

/// How deep an alias chain may go before it counts as a loop.
const MAX_ALIASES: usize = 32;

/// The unit name of `default.target`'s fallback when an image has none.
const FALLBACK_TARGET: &str = "multi-user.target";

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error(
        "{name:?} is not a unit name: {why}; write PREFIX[@INSTANCE].TYPE with a TYPE from \
         systemd.unit(5) (service, socket, target, timer...)"
    )]
    InvalidName { name: String, why: &'static str },
    #[error("cannot read {}: {source}; make the image's unit directories readable", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "too many levels of symbolic links at {}; fix the symlink loop in the image",
        path.display()
    )]
    SymlinkLoop { path: PathBuf },
    #[error("the aliases of {name} form a loop; remove one of the alias symlinks")]
    AliasLoop { name: String },
}

/// Which kind of directory of the load path a file is in: decides "enabled" against
/// "enabled-runtime", "masked" against "masked-runtime" (systemctl(1), is-enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DirKind {
    Config,
    Runtime,
    Vendor,
}

#[derive(Debug)]
struct LoadDir {
    /// Image path with every symlink resolved (so `/lib/...` and `/usr/lib/...` compare equal).
    image: PathBuf,
    kind: DirKind,
}

/// A unit name, resolved to the file it loads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The unit's own name: the end of its alias chain (`getty@tty1.service` for
    /// `autovt@tty1.service`).
    pub name: String,
    /// Host path of the unit file (the template's file for an instance), or of the mask.
    pub path: PathBuf,
    /// Every other name of the unit: the names asked through, and every alias symlink in the
    /// load path that leads to it; sorted.
    pub aliases: Vec<String>,
    /// Linked to `/dev/null` or empty: it cannot be loaded or started.
    pub masked: bool,
    /// `bar` for `foo@bar.service`.
    pub instance: Option<String>,
    /// Host path of `foo@.service` when the instance has no file of its own.
    pub template: Option<PathBuf>,
    /// Host paths of the drop-ins to apply after `path`, in order.
    pub dropins: Vec<PathBuf>,
    /// Units named in `.wants/` directories, sorted.
    pub wants: Vec<String>,
    /// Units named in `.requires/` directories, sorted.
    pub requires: Vec<String>,
}

/// The text of a unit found as a built-in target (its `path` is empty): what to read
/// instead of a file, before its drop-ins.
pub fn builtin_text(found: &Found) -> Option<&'static str> {
    if found.path.as_os_str().is_empty() {
        builtin::text(&found.name)
    } else {
        None
    }
}

/// Reads units under one root. Built once; every method is read-only.
#[derive(Debug)]
pub struct Loader {
    root: PathBuf,
    dirs: Vec<LoadDir>,
    /// Each unit name at the top level of the load path, with the index in `dirs` of the
    /// directory that has it first.
    names: BTreeMap<String, (usize, Entry)>,
}

/// What a name resolves to before the drop-ins and links are gathered.
enum Hit {
    File {
        name: String,
        image: PathBuf,
        instance: Option<String>,
        template: bool,
    },
    Masked {
        name: String,
        image: PathBuf,
    },
}

impl Loader {
    /// Scans the load path under `root` (an image rootfs, or `/`).
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, DiscoveryError> {
        let root = root.into();
        let mut dirs: Vec<LoadDir> = Vec::new();
        for (listed, kind) in LOAD_PATHS {
            let image = fsview::resolve(&root, Path::new(listed))?;
            let exists = host(&root, &image).is_dir();
            if exists && !dirs.iter().any(|d| d.image == image) {
                dirs.push(LoadDir { image, kind });
            }
        }
        let dir_paths: Vec<PathBuf> = dirs.iter().map(|d| d.image.clone()).collect();
        let mut names = BTreeMap::new();
        for (index, dir) in dirs.iter().enumerate() {
            for name in fsview::list_dir(&root, &dir.image)? {
                if names.contains_key(&name) || UnitName::parse(&name).is_err() {
                    continue;
                }
                if let Some(entry) = fsview::classify(&root, &dir.image, &name, &dir_paths)? {
                    names.insert(name, (index, entry));
                }
            }
        }
        Ok(Loader { root, dirs, names })
    }

    /// The unit `name` loads as, or None when no load path has it (nor its template).
    pub fn find(&self, name: &str) -> Result<Option<Found>, DiscoveryError> {
        UnitName::parse(name)?;
        let mut chain = Vec::new();
        let hit = match self.lookup(name, &mut chain)? {
            Some(hit) => hit,
            None => return self.builtin(name),
        };
        let (name, image, instance, template) = match hit {
            Hit::Masked { name, image } => {
                let aliases = self.aliases_of(&name, &chain);
                let path = host(&self.root, &image);
                return Ok(Some(Found {
                    instance: UnitName::parse(&name)?.instance().map(str::to_owned),
                    name,
                    path,
                    aliases,
                    masked: true,
                    template: None,
                    dropins: Vec::new(),
                    wants: Vec::new(),
                    requires: Vec::new(),
                }));
            }
            Hit::File {
                name,
                image,
                instance,
                template,
            } => (name, image, instance, template),
        };
        let aliases = self.aliases_of(&name, &chain);
        let mut all_names = vec![name.clone()];
        all_names.extend(aliases.iter().cloned());
        let path = host(&self.root, &image);
        Ok(Some(Found {
            dropins: self.dropins(&self.dirs_for(&all_names, ".d"))?,
            wants: self.links(&self.dirs_for(&all_names, ".wants"), instance.as_deref())?,
            requires: self.links(&self.dirs_for(&all_names, ".requires"), instance.as_deref())?,
            template: template.then(|| path.clone()),
            name,
            path,
            aliases,
            masked: false,
            instance,
        }))
    }

    /// A target systemd ships that the image lacks (see [`builtin_text`]): no file
    /// (`path` is empty), but its `.wants/`, `.requires/` and drop-ins count.
    fn builtin(&self, name: &str) -> Result<Option<Found>, DiscoveryError> {
        if builtin::text(name).is_none() {
            return Ok(None);
        }
        let names = [name.to_owned()];
        Ok(Some(Found {
            name: name.to_owned(),
            path: PathBuf::new(),
            aliases: Vec::new(),
            masked: false,
            instance: None,
            template: None,
            dropins: self.dropins(&self.dirs_for(&names, ".d"))?,
            wants: self.links(&self.dirs_for(&names, ".wants"), None)?,
            requires: self.links(&self.dirs_for(&names, ".requires"), None)?,
        }))
    }

    /// The name `default.target` resolves to; `multi-user.target` when the image has no
    /// `default.target` or masks it.
    pub fn default_target(&self) -> Result<String, DiscoveryError> {
        match self.find("default.target")? {
            Some(found) if !found.masked => Ok(found.name),
            _ => Ok(FALLBACK_TARGET.to_owned()),
        }
    }

    /// Every unit that starting `target` pulls in, transitively, through `.wants/` and
    /// `.requires/` links and the `Wants=`, `Requires=` and `BindsTo=` lines of the unit files
    /// and drop-ins; by their own names, sorted, without `target` itself. Names that no load
    /// path has, masked units, and names that are not valid unit names are left out.
    pub fn pulled_in(&self, target: &str) -> Result<Vec<String>, DiscoveryError> {
        let start = match self.find(target)? {
            Some(found) => found,
            None => return Ok(Vec::new()),
        };
        let start_name = start.name.clone();
        let mut seen = BTreeSet::from([start_name.clone()]);
        let mut queue = VecDeque::from([start]);
        while let Some(unit) = queue.pop_front() {
            if unit.masked {
                continue;
            }
            let mut deps = self.declared(&unit)?;
            deps.extend(unit.wants.iter().cloned());
            deps.extend(unit.requires.iter().cloned());
            for dep in deps {
                let found = match self.find(&dep) {
                    Ok(Some(found)) if !found.masked => found,
                    Ok(_) | Err(DiscoveryError::InvalidName { .. }) => continue,
                    Err(e) => return Err(e),
                };
                if seen.insert(found.name.clone()) {
                    queue.push_back(found);
                }
            }
        }
        seen.remove(&start_name);
        Ok(seen.into_iter().collect())
    }

    /// The `Wants=`, `Requires=` and `BindsTo=` names of `[Unit]` in the unit file and its
    /// drop-ins, with the simple specifiers filled in.
    fn declared(&self, unit: &Found) -> Result<Vec<String>, DiscoveryError> {
        let mut out = Vec::new();
        if let Some(text) = builtin_text(unit) {
            for word in ini::words(&ini::parse(text), "Unit", &["Wants", "Requires", "BindsTo"]) {
                out.extend(names::expand(word, &unit.name));
            }
        }
        for path in std::iter::once(&unit.path).chain(&unit.dropins) {
            if path.as_os_str().is_empty() {
                continue;
            }
            let entries = ini::read(path)?;
            for word in ini::words(&entries, "Unit", &["Wants", "Requires", "BindsTo"]) {
                out.extend(names::expand(word, &unit.name));
            }
        }
        Ok(out)
    }

    fn lookup(&self, name: &str, chain: &mut Vec<String>) -> Result<Option<Hit>, DiscoveryError> {
        if chain.len() > MAX_ALIASES {
            return Err(DiscoveryError::AliasLoop {
                name: name.to_owned(),
            });
        }
        let parsed = UnitName::parse(name)?;
        let instance = parsed.instance().map(str::to_owned);
        match self.names.get(name) {
            Some((_, Entry::File { image, .. })) => {
                let (name, image) = (name.to_owned(), image.clone());
                return Ok(Some(Hit::File {
                    name,
                    image,
                    instance,
                    template: false,
                }));
            }
            Some((_, Entry::Masked { image })) => {
                return Ok(Some(Hit::Masked {
                    name: name.to_owned(),
                    image: image.clone(),
                }));
            }
            Some((_, Entry::Alias { target, .. })) => {
                chain.push(name.to_owned());
                return self.lookup(target, chain);
            }
            None => {}
        }
        // systemd.unit(5), "Description": an instance with no file of its own loads from its
        // template.
        let Some(inst) = parsed.instance() else {
            return Ok(None);
        };
        match self.names.get(&parsed.template()) {
            Some((_, Entry::File { image, .. })) => {
                let (name, image) = (name.to_owned(), image.clone());
                Ok(Some(Hit::File {
                    name,
                    image,
                    instance,
                    template: true,
                }))
            }
            Some((_, Entry::Masked { image })) => Ok(Some(Hit::Masked {
                name: name.to_owned(),
                image: image.clone(),
            })),
            Some((_, Entry::Alias { target, .. })) => match UnitName::parse(target) {
                Ok(t) if t.is_template() => {
                    chain.push(name.to_owned());
                    self.lookup(&t.with_instance(inst), chain)
                }
                _ => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Where the alias chain from `name` ends, or None on a loop.
    fn alias_end<'a>(&'a self, mut name: &'a str) -> Option<&'a str> {
        for _ in 0..=MAX_ALIASES {
            match self.names.get(name) {
                Some((_, Entry::Alias { target, .. })) => name = target,
                _ => return Some(name),
            }
        }
        None
    }

    /// The other names of `canonical`: `chain` and every alias in the load path that leads to
    /// it (for an instance, every alias of its template, with the same instance).
    fn aliases_of(&self, canonical: &str, chain: &[String]) -> Vec<String> {
        let parsed = UnitName::parse(canonical).ok();
        let instance = parsed.as_ref().and_then(|p| p.instance());
        let template = parsed
            .as_ref()
            .filter(|_| instance.is_some())
            .map(|p| p.template());
        let mut out: BTreeSet<String> = crate::sort::set_of(chain.iter().cloned());
        for (alias, (_, entry)) in &self.names {
            if !matches!(entry, Entry::Alias { .. }) {
                continue;
            }
            let end = self.alias_end(alias);
            if end == Some(canonical) {
                out.insert(alias.clone());
            } else if end.is_some() && end == template.as_deref() {
                if let (Ok(a), Some(i)) = (UnitName::parse(alias), instance) {
                    out.insert(a.with_instance(i));
                }
            }
        }
        out.remove(canonical);
        out.into_iter().collect()
    }
}
