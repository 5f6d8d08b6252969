//! The unit-file verbs, done on the files under a root directory with no init involved, as
//! systemctl does them when it operates on an image or when the manager is absent:
//! `enable`, `disable`, `mask`, `unmask` (symlinks in /etc/systemd/system, named as
//! systemd's install.c names them), `is-enabled` and `cat`.

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

use crate::units::discovery::{DiscoveryError, Found, Loader, UnitFileState};
use crate::units::syntax::UnitFile;

/// Where enabling writes (the system manager's configuration directory).
const CONFIG_DIR: &str = "/etc/systemd/system";
/// Where unit files can be, to spell a file's path as systemctl does (`/lib` before `/usr/lib`).
const LOAD_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// systemd v252's notice for enabling a unit without `[Install]` rules (install.c users,
/// systemctl-enable.c); a notice, not an error: the exit code stays 0.
pub const NO_INSTALL_INFO: &str = "\
The unit files have no installation config (WantedBy=, RequiredBy=, Also=,
Alias= settings in the [Install] section, and DefaultInstance= for template
units). This means they are not meant to be enabled using systemctl.
 
Possible reasons for having this kind of units are:
• A unit may be statically enabled by being symlinked from another unit's
  .wants/ or .requires/ directory.
• A unit's purpose may be to act as a helper for some other unit which has
  a requirement dependency on it.
• A unit may be started when needed via activation (socket, path, timer,
  D-Bus, udev, scripted systemctl call, ...).
• In case of template units, the unit is meant to be enabled with some
  instance name specified.
";

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("Unit file {0} does not exist.")]
    NoSuchUnit(String),
    #[error("Unit file {0} is masked.")]
    Masked(String),
    #[error("File {path} already exists and is a symlink to {target}.")]
    LinkExists { path: String, target: String },
    #[error("File {0} already exists.")]
    FileExists(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{0}")]
    Discovery(#[from] DiscoveryError),
    #[error("{path}: {source}")]
    Syntax {
        path: String,
        source: crate::units::syntax::SyntaxError,
    },
}

/// What one of the verbs did to the files, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created { link: String, target: String },
    Removed { path: String },
}

impl Change {
    /// The line systemctl v252 prints for it on stderr.
    pub fn line(&self) -> String {
        match self {
            Change::Created { link, target } => format!("Created symlink {link} → {target}."),
            Change::Removed { path } => format!("Removed \"{path}\"."),
        }
    }
}

/// The result of `enable`: the changes, and whether some unit had nothing to install.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Enabled {
    pub changes: Vec<Change>,
    pub no_install_info: bool,
}

fn host(root: &Path, image: &str) -> PathBuf {
    root.join(image.trim_start_matches('/'))
}

fn io_err(path: &Path, source: io::Error) -> InstallError {
    InstallError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The image path systemctl names a unit file by: the first load directory whose entry of
/// that file name is the same file.
fn image_path(root: &Path, found: &Found) -> String {
    let file = found
        .path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("");
    let same = |p: &Path| match (fs::metadata(p), fs::metadata(&found.path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    for dir in LOAD_DIRS {
        let image = format!("{dir}/{file}");
        if same(&host(root, &image)) {
            return image;
        }
    }
    let rel = found.path.strip_prefix(root).unwrap_or(&found.path);
    format!("/{}", rel.display())
}

/// The `[Install]` section of a unit file.
#[derive(Debug, Default)]
struct Install {
    wanted_by: Vec<String>,
    required_by: Vec<String>,
    alias: Vec<String>,
    also: Vec<String>,
    default_instance: Option<String>,
}

fn read_install(path: &Path) -> Result<Install, InstallError> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let file = UnitFile::parse(&text).map_err(|source| InstallError::Syntax {
        path: path.display().to_string(),
        source,
    })?;
    let words = |key: &str| -> Vec<String> {
        file.all("Install", key)
            .iter()
            .flat_map(|v| v.split_whitespace())
            .map(str::to_string)
            .collect()
    };
    Ok(Install {
        wanted_by: words("WantedBy"),
        required_by: words("RequiredBy"),
        alias: words("Alias"),
        also: words("Also"),
        default_instance: file
            .get("Install", "DefaultInstance")
            .filter(|v| !v.is_empty())
            .map(str::to_string),
    })
}

/// Make `link` (an image path) a symlink to `target`, unless it already is one.
fn make_link(
    root: &Path,
    link: &str,
    target: &str,
    out: &mut Vec<Change>,
) -> Result<(), InstallError> {
    let on_host = host(root, link);
    match fs::read_link(&on_host) {
        Ok(existing) if existing == Path::new(target) => return Ok(()),
        Ok(existing) => {
            return Err(InstallError::LinkExists {
                path: link.into(),
                target: existing.display().to_string(),
            })
        }
        Err(_) if fs::symlink_metadata(&on_host).is_ok() => {
            return Err(InstallError::FileExists(link.into()))
        }
        Err(_) => {}
    }
    if let Some(parent) = on_host.parent() {
        fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    symlink(target, &on_host).map_err(|e| io_err(&on_host, e))?;
    out.push(Change::Created {
        link: link.into(),
        target: target.into(),
    });
    Ok(())
}

/// `systemctl enable NAME...` under `root`.
pub fn enable(root: &Path, names: &[String]) -> Result<Enabled, InstallError> {
    let loader = Loader::new(root)?;
    let mut done = Enabled::default();
    let mut queue: Vec<String> = names.to_vec();
    let mut seen = Vec::new();
    while let Some(name) = queue.pop() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let found = loader
            .find(&name)?
            .ok_or_else(|| InstallError::NoSuchUnit(name.clone()))?;
        if found.masked {
            return Err(InstallError::Masked(image_path(root, &found)));
        }
        let install = read_install(&found.path)?;
        let target = image_path(root, &found);
        let template = name.contains("@.");
        // A template enabled by its own name enables its DefaultInstance=.
        let link_name = match (&found.instance, template, &install.default_instance) {
            (None, true, Some(instance)) => name.replacen("@.", &format!("@{instance}."), 1),
            _ => name.clone(),
        };
        let installs = !install.wanted_by.is_empty()
            || !install.required_by.is_empty()
            || !install.alias.is_empty()
            || !install.also.is_empty();
        // A template named without an instance and with no DefaultInstance= has nothing to
        // put in .wants/: systemd's notice covers that case too.
        let bare_template = template && link_name == name;
        if !installs || (bare_template && install.alias.is_empty() && install.also.is_empty()) {
            done.no_install_info = true;
        }
        let mut links = Vec::new();
        if !bare_template {
            for (list, dir) in [
                (&install.wanted_by, "wants"),
                (&install.required_by, "requires"),
            ] {
                for unit in list {
                    links.push(format!("{CONFIG_DIR}/{unit}.{dir}/{link_name}"));
                }
            }
        }
        for alias in &install.alias {
            links.push(format!("{CONFIG_DIR}/{alias}"));
        }
        for link in links {
            make_link(root, &link, &target, &mut done.changes)?;
        }
        queue.extend(install.also.iter().rev().cloned());
    }
    Ok(done)
}

/// The symlinks under `dir` (and its `.wants/`, `.requires/`, `.upholds/` directories) that
/// enable `name`: named `name` in those directories, or aliases listed in `aliases`.
fn enabling_links(root: &Path, name: &str, aliases: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(host(root, CONFIG_DIR)) else {
        return out;
    };
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let image = format!("{CONFIG_DIR}/{file}");
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if [".wants", ".requires", ".upholds"]
            .iter()
            .any(|s| file.ends_with(s))
        {
            subdirs.push(image);
        } else if is_link && aliases.contains(&file) {
            out.push(image);
        }
    }
    for dir in subdirs {
        let Ok(entries) = fs::read_dir(host(root, &dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            let instance_of =
                name.contains("@.") && file.starts_with(name.split("@.").next().unwrap_or(name));
            if is_link && (file == name || instance_of) {
                out.push(format!("{dir}/{file}"));
            }
        }
    }
    crate::sort::sort(&mut out);
    out
}

fn remove(root: &Path, image: &str, out: &mut Vec<Change>) -> Result<(), InstallError> {
    let on_host = host(root, image);
    fs::remove_file(&on_host).map_err(|e| io_err(&on_host, e))?;
    out.push(Change::Removed { path: image.into() });
    Ok(())
}

/// `systemctl disable NAME...` under `root`.
pub fn disable(root: &Path, names: &[String]) -> Result<Vec<Change>, InstallError> {
    let loader = Loader::new(root)?;
    let mut changes = Vec::new();
    let mut queue: Vec<String> = names.to_vec();
    let mut seen = Vec::new();
    while let Some(name) = queue.pop() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let install = match loader.find(&name)? {
            Some(found) if !found.masked => read_install(&found.path)?,
            Some(_) => Install::default(),
            None => return Err(InstallError::NoSuchUnit(name)),
        };
        for link in enabling_links(root, &name, &install.alias) {
            remove(root, &link, &mut changes)?;
        }
        queue.extend(install.also.iter().rev().cloned());
    }
    Ok(changes)
}

/// `systemctl mask NAME...`: `/etc/systemd/system/NAME → /dev/null`.
pub fn mask(root: &Path, names: &[String]) -> Result<Vec<Change>, InstallError> {
    let mut changes = Vec::new();
    for name in names {
        make_link(
            root,
            &format!("{CONFIG_DIR}/{name}"),
            "/dev/null",
            &mut changes,
        )?;
    }
    Ok(changes)
}

/// `systemctl unmask NAME...`: removes the masking links in /etc and /run.
pub fn unmask(root: &Path, names: &[String]) -> Result<Vec<Change>, InstallError> {
    let mut changes = Vec::new();
    for name in names {
        for dir in [CONFIG_DIR, "/run/systemd/system"] {
            let image = format!("{dir}/{name}");
            if fs::read_link(host(root, &image)).is_ok_and(|t| t == Path::new("/dev/null")) {
                remove(root, &image, &mut changes)?;
            }
        }
    }
    Ok(changes)
}

/// Whether an is-enabled state counts as enabled (systemctl(1), is-enabled, exit status).
pub fn state_is_enabled(state: UnitFileState) -> bool {
    matches!(
        state,
        UnitFileState::Enabled
            | UnitFileState::EnabledRuntime
            | UnitFileState::Static
            | UnitFileState::Alias
            | UnitFileState::Indirect
    )
}

/// `systemctl is-enabled NAME...`: (stdout, stderr, exit code).
pub fn is_enabled(root: &Path, names: &[String], quiet: bool) -> (String, String, i32) {
    let listed = match Loader::new(root).and_then(|l| Ok((l.list()?, l))) {
        Ok(pair) => pair,
        Err(e) => {
            return (
                String::new(),
                format!("Failed to get unit file state: {e}\n"),
                1,
            )
        }
    };
    let (files, loader) = listed;
    let (mut out, mut err, mut any) = (String::new(), String::new(), false);
    for name in names {
        let lookup = |n: &str| files.iter().find(|f| f.name == n).map(|f| f.state);
        let state = lookup(name).or_else(|| match loader.find(name) {
            Ok(Some(found)) if found.masked => Some(UnitFileState::Masked),
            Ok(Some(found)) => found
                .template
                .as_ref()
                .and_then(|t| t.file_name())
                .and_then(|t| lookup(&t.to_string_lossy())),
            _ => None,
        });
        match state {
            Some(state) => {
                any |= state_is_enabled(state);
                if !quiet {
                    out.push_str(&format!("{state}\n"));
                }
            }
            None => {
                err.push_str(&format!(
                    "Failed to get unit file state for {name}: No such file or directory\n"
                ));
                return (out, err, 1);
            }
        }
    }
    (out, err, i32::from(!any))
}

/// `systemctl cat NAME...`: each unit file and its drop-ins, each headed `# PATH`.
pub fn cat(root: &Path, names: &[String]) -> Result<String, InstallError> {
    let loader = Loader::new(root)?;
    let mut out = String::new();
    for name in names {
        let found = loader
            .find(name)?
            .ok_or_else(|| InstallError::NoSuchUnit(name.clone()))?;
        if found.masked {
            return Err(InstallError::Masked(image_path(root, &found)));
        }
        let mut files = vec![(image_path(root, &found), found.path.clone())];
        for dropin in &found.dropins {
            let rel = dropin.strip_prefix(root).unwrap_or(dropin);
            files.push((format!("/{}", rel.display()), dropin.clone()));
        }
        for (image, path) in files {
            let text = fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("# {image}\n{text}"));
            if !text.is_empty() && !text.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "install_tests.rs"]
mod tests;
