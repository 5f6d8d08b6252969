//! Which init scripts run, and in what order: `--initscript PATH` first, then every
//! executable in `/etc/rich-init/init.d/` (before services) or `stop.d/` (after them),
//! by name in byte order. Running them is the init loop's job; this is the choosing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Default directories.
pub const INIT_DIR: &str = "/etc/rich-init/init.d";
pub const STOP_DIR: &str = "/etc/rich-init/stop.d";

/// Why a file in a scripts directory is not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not executable by anyone: probably a mistake worth a warning.
    NotExecutable,
    /// Not a regular file (a directory, a socket, a dangling link).
    NotAFile,
    /// Hidden, an editor backup or a package manager's leftover: skipped quietly.
    Ignored,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// To run, in this order.
    pub run: Vec<PathBuf>,
    pub skipped: Vec<(PathBuf, Skip)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptsError {
    #[error(
        "cannot read the scripts directory {path}: {reason}; fix its permissions or remove it"
    )]
    ReadDir { path: PathBuf, reason: String },
    #[error("--initscript {path}: {reason}; give the path of an executable file")]
    InitScript { path: PathBuf, reason: String },
}

/// Names that are never scripts: hidden files, backups, package leftovers.
pub fn ignored_name(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "~",
        ".dpkg-old",
        ".dpkg-new",
        ".dpkg-dist",
        ".rpmsave",
        ".rpmnew",
        ".disabled",
        ".swp",
    ];
    name.starts_with('.') || SUFFIXES.iter().any(|s| name.ends_with(s))
}

fn classify(path: &Path) -> Option<Skip> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Some(Skip::NotAFile),
        Ok(m) if m.permissions().mode() & 0o111 == 0 => Some(Skip::NotExecutable),
        Ok(_) => None,
        Err(_) => Some(Skip::NotAFile),
    }
}

/// Whether `path` is a regular file (links followed) that someone may execute.
pub fn is_executable_file(path: &Path) -> bool {
    classify(path).is_none()
}

/// The scripts of `dir` in byte order of their names. A missing directory has none.
pub fn discover(dir: &Path) -> Result<Discovered, ScriptsError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Discovered::default()),
        Err(e) => {
            return Err(ScriptsError::ReadDir {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            })
        }
    };
    let mut names: Vec<std::ffi::OsString> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ScriptsError::ReadDir {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        names.push(entry.file_name());
    }
    crate::sort::sort_by(&mut names, |a, b| {
        a.as_encoded_bytes().cmp(b.as_encoded_bytes())
    });
    let mut found = Discovered::default();
    for name in names {
        let path = dir.join(&name);
        if ignored_name(&name.to_string_lossy()) {
            found.skipped.push((path, Skip::Ignored));
            continue;
        }
        match classify(&path) {
            None => found.run.push(path),
            Some(why) => found.skipped.push((path, why)),
        }
    }
    Ok(found)
}

/// `--initscript PATH` must name an executable file; it runs before init.d.
pub fn check_initscript(path: &Path) -> Result<(), ScriptsError> {
    let reason = match classify(path) {
        None => return Ok(()),
        Some(Skip::NotExecutable) => "it is not executable (chmod +x)",
        Some(_) => "it is not a file",
    };
    Err(ScriptsError::InitScript {
        path: path.to_path_buf(),
        reason: reason.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir(label: &str) -> Dir {
        let path =
            std::env::temp_dir().join(format!("rich-init-scripts-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the test dir");
        Dir(path)
    }

    fn file(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").expect("write a script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn order_and_skips() {
        let d = dir("order");
        let p = d.0.as_path();
        file(p, "20-second", 0o755);
        file(p, "10-first.sh", 0o700);
        file(p, "B-upper", 0o755);
        file(p, "a-lower", 0o755);
        file(p, "30-not-executable", 0o644);
        file(p, ".hidden", 0o755);
        file(p, "40-backup~", 0o755);
        file(p, "50-x.dpkg-old", 0o755);
        std::fs::create_dir(p.join("60-a-directory")).expect("mkdir");
        std::os::unix::fs::symlink(p.join("missing"), p.join("70-dangling")).expect("symlink");
        std::os::unix::fs::symlink(p.join("20-second"), p.join("80-link")).expect("symlink");

        let found = discover(p).expect("discover");
        let names = |list: &[PathBuf]| -> Vec<String> {
            list.iter()
                .map(|x| {
                    x.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .collect()
        };
        assert_eq!(
            names(&found.run),
            ["10-first.sh", "20-second", "80-link", "B-upper", "a-lower"]
        );
        let why = |n: &str| {
            found
                .skipped
                .iter()
                .find(|(x, _)| x.ends_with(n))
                .map(|(_, w)| w.clone())
        };
        assert_eq!(why("30-not-executable"), Some(Skip::NotExecutable));
        assert_eq!(why(".hidden"), Some(Skip::Ignored));
        assert_eq!(why("40-backup~"), Some(Skip::Ignored));
        assert_eq!(why("50-x.dpkg-old"), Some(Skip::Ignored));
        assert_eq!(why("60-a-directory"), Some(Skip::NotAFile));
        assert_eq!(why("70-dangling"), Some(Skip::NotAFile));
    }

    #[test]
    fn missing_dir_has_no_scripts() {
        let found =
            discover(Path::new("/nonexistent/rich-init/init.d")).expect("a missing dir is fine");
        assert_eq!(found, Discovered::default());
    }

    #[test]
    fn initscript_must_be_an_executable_file() {
        let d = dir("initscript");
        let good = file(&d.0, "setup", 0o755);
        let plain = file(&d.0, "plain", 0o644);
        assert!(check_initscript(&good).is_ok());
        let line = check_initscript(&plain)
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(
            line.contains("not executable") && line.contains("--initscript"),
            "{line}"
        );
        let line = check_initscript(&d.0.join("nope"))
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(line.contains("not a file"), "{line}");
    }
}
