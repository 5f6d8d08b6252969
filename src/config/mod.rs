//! Rich-mode configuration: `services.d/*.toml` (and presets) → a validated [`Config`].
//!
//! Every problem in every file is reported at once, sorted by file and then key, so
//! that one run shows the user everything to fix. Nothing may start while there is
//! any error; that is the caller's job.
//!
//! Files whose names start with `.` (editor and backup files) and files not ending in
//! `.toml` are ignored. The service name is the file name without `.toml`.

pub mod duration;
mod error;
mod fields;
mod listen;
mod policy;
mod presets;
mod service;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, Kind, Problem};
pub use listen::{
    address as parse_address, valid_fd_name, Address, Listen, DEFAULT_BACKLOG, DEFAULT_SOCKET_MODE,
    LISTEN_KEYS,
};
pub use presets::{known_presets, parse_list, preset_sources};
pub use service::{
    parse_service, valid_name, Command, IdSpec, LogTarget, Ready, Restart, Service,
    DEFAULT_READY_INTERVAL, DEFAULT_READY_TIMEOUT, DEFAULT_RESTART_DELAY,
    DEFAULT_RESTART_DELAY_MAX, DEFAULT_STOP_SIGNAL, DEFAULT_STOP_TIMEOUT, FD_STORE_MAX, KEYS,
    READY_KEYS,
};

use crate::supervisor::order::{self, OrderError};

/// The text of one service definition and where it came from: a file in services.d,
/// or a preset (whose `file` names the preset's source for error lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub file: PathBuf,
    pub text: String,
}

/// All services, checked together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub services: BTreeMap<String, Service>,
    /// Names in start order: each after everything in its `after` list, ties by name.
    pub start_order: Vec<String>,
}

impl Config {
    /// Names in stop order: the reverse of the start order.
    pub fn stop_order(&self) -> Vec<String> {
        order::stop_order(&self.start_order)
    }
}

/// Every `*.toml` in `dir`, by file name. A directory that cannot be listed and files
/// that cannot be read are reported; the rest are still returned.
pub fn read_dir(dir: &Path) -> (Vec<Source>, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(ConfigError::new(dir, None, Problem::ReadDir(e.to_string())));
            return (Vec::new(), errors);
        }
    };
    let mut names: Vec<_> = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => names.push(entry.file_name()),
            Err(e) => errors.push(ConfigError::new(dir, None, Problem::ReadDir(e.to_string()))),
        }
    }
    crate::sort::sort(&mut names);
    let mut sources = Vec::new();
    for file_name in names {
        let lossy = file_name.to_string_lossy();
        let Some(stem) = lossy.strip_suffix(".toml") else {
            continue;
        };
        if lossy.starts_with('.') {
            continue;
        }
        let file = dir.join(&file_name);
        match fs::read_to_string(&file) {
            Ok(text) => sources.push(Source {
                name: stem.to_owned(),
                file,
                text,
            }),
            Err(e) => errors.push(ConfigError::new(
                file,
                None,
                Problem::ReadFile(e.to_string()),
            )),
        }
    }
    (sources, errors)
}

/// Load every service in `dir` and the `presets`, and check them together.
/// `exists` tells whether a program (absolute path, or a name for PATH) exists.
pub fn load_dir(
    dir: &Path,
    presets: Vec<Source>,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Config, Vec<ConfigError>> {
    let (mut sources, read_errors) = read_dir(dir);
    sources.extend(presets);
    match (load(&sources, exists), read_errors.is_empty()) {
        (Ok(config), true) => Ok(config),
        (Ok(_), false) => Err(sorted(read_errors)),
        (Err(mut errors), _) => {
            errors.extend(read_errors);
            Err(sorted(errors))
        }
    }
}

/// Parse and check `sources` together: each one on its own, then names (duplicates),
/// unknown names in `after`, and cycles.
pub fn load(sources: &[Source], exists: &dyn Fn(&str) -> bool) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut files: BTreeMap<&str, &Path> = BTreeMap::new();
    let mut services = BTreeMap::new();
    for source in sources {
        if let Some(first) = files.get(source.name.as_str()) {
            let problem = Problem::Duplicate {
                name: source.name.clone(),
                first: first.to_path_buf(),
            };
            errors.push(ConfigError::new(&source.file, None, problem));
            continue;
        }
        files.insert(&source.name, &source.file);
        match parse_service(&source.name, &source.file, &source.text, exists) {
            Ok(service) => {
                services.insert(source.name.clone(), service);
            }
            Err(found) => errors.extend(found),
        }
    }
    // Names in `after` may name services whose own files have errors: those are known.
    for service in services.values() {
        for name in service
            .after
            .iter()
            .filter(|n| !files.contains_key(n.as_str()))
        {
            let problem = Problem::UnknownService { name: name.clone() };
            errors.push(ConfigError::new(&service.file, Some("after"), problem));
        }
    }
    errors.extend(shared_addresses(&services));
    let graph: Vec<(String, Vec<String>)> = services
        .values()
        .map(|s| (s.name.clone(), s.after.clone()))
        .collect();
    for cycle in order::find_cycles(&graph) {
        let file = cycle.0.first().and_then(|n| files.get(n.as_str()));
        let file = file.map_or_else(PathBuf::new, |f| f.to_path_buf());
        errors.push(ConfigError::new(
            file,
            Some("after"),
            Problem::Cycle { cycle },
        ));
    }
    if !errors.is_empty() {
        return Err(sorted(errors));
    }
    match order::start_order(&graph) {
        Ok(start_order) => Ok(Config {
            services,
            start_order,
        }),
        Err(e) => Err(order_errors(e, &files)),
    }
}

/// An address in `listen` of two services: only both with reuse-port may share it (the
/// kernel then spreads connections over them). Said on the later service's file.
fn shared_addresses(services: &BTreeMap<String, Service>) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let mut seen: Vec<(&listen::Listen, &Service)> = Vec::new();
    for service in services.values() {
        for socket in &service.listen {
            let first = seen
                .iter()
                .find(|(s, _)| s.address == socket.address && !(s.reuse_port && socket.reuse_port));
            match first {
                Some((_, other)) => errors.push(ConfigError::new(
                    &service.file,
                    Some("listen"),
                    Problem::ListenShared {
                        value: socket.address.to_string(),
                        service: other.name.clone(),
                        file: other.file.clone(),
                    },
                )),
                None => seen.push((socket, service)),
            }
        }
    }
    errors
}

/// Order errors as config errors; [`load`] finds these itself first, so this is only a
/// safety net.
fn order_errors(e: OrderError, files: &BTreeMap<&str, &Path>) -> Vec<ConfigError> {
    let file_of = |name: &str| {
        files
            .get(name)
            .map_or_else(PathBuf::new, |f| f.to_path_buf())
    };
    match e {
        OrderError::Duplicate(name) => {
            let file = file_of(&name);
            let first = file.clone();
            vec![ConfigError::new(
                file,
                None,
                Problem::Duplicate { name, first },
            )]
        }
        OrderError::UnknownDependency {
            service,
            dependency,
        } => {
            let problem = Problem::UnknownService { name: dependency };
            vec![ConfigError::new(file_of(&service), Some("after"), problem)]
        }
        OrderError::Cycles(cycles) => cycles
            .into_iter()
            .map(|cycle| {
                let file = cycle.0.first().map(|n| file_of(n)).unwrap_or_default();
                ConfigError::new(file, Some("after"), Problem::Cycle { cycle })
            })
            .collect(),
    }
}

fn sorted(mut errors: Vec<ConfigError>) -> Vec<ConfigError> {
    error::sort(&mut errors);
    errors
}

#[cfg(test)]
mod load_tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str, files: &[(&str, &str)]) -> TempDir {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir = std::env::temp_dir().join(format!(
                "rich-init-config-{tag}-{}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).unwrap();
            for (name, text) in files {
                fs::write(dir.join(name), text).unwrap();
            }
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn exists(program: &str) -> bool {
        !program.contains("missing")
    }

    fn error_lines(dir: &TempDir, presets: Vec<Source>) -> Vec<String> {
        match load_dir(&dir.0, presets, &exists) {
            Ok(config) => vec![format!("loaded: {:?}", config.start_order)],
            Err(errors) => {
                let prefix = format!("{}/", dir.0.display());
                let lines = errors
                    .iter()
                    .map(|e| e.to_string().replace(&prefix, "services.d/"));
                lines.collect()
            }
        }
    }

    #[test]
    fn loads_in_dependency_order() {
        let dir = TempDir::new(
            "good",
            &[
                (
                    "crond.toml",
                    "command = [\"/usr/sbin/crond\", \"-f\"]\nafter = [\"syslogd\"]",
                ),
                ("syslogd.toml", "command = [\"/sbin/syslogd\", \"-n\"]"),
                (
                    "sshd.toml",
                    "command = \"exec /usr/sbin/sshd -D\"\nafter = [\"syslogd\"]",
                ),
                ("README", "not a service"),
                (".crond.toml.swp", "junk"),
                (".old.toml", "junk"),
            ],
        );
        let config = load_dir(&dir.0, Vec::new(), &exists);
        let config = config.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(config.start_order, ["syslogd", "crond", "sshd"]);
        assert_eq!(config.stop_order(), ["sshd", "crond", "syslogd"]);
        let crond = &config.services["crond"];
        assert_eq!(crond.file, dir.0.join("crond.toml"));
        assert_eq!(crond.after, ["syslogd"]);
    }

    /// One address in two services' `listen`: an error on the later one, unless both
    /// share it with reuse-port.
    #[test]
    fn an_address_belongs_to_one_service_unless_both_reuse_port() {
        let web = "command = [\"/bin/web\"]\nlisten = [\"tcp:0.0.0.0:80\", \"unix:/run/w\"]";
        let reuse = "command = [\"/bin/web\"]\nlisten = [{ address = \"tcp:0.0.0.0:80\", \
                     reuse-port = true }]";
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            (&[("a.toml", web)], &["loaded: [\"a\"]"]),
            (
                &[("a.toml", web), ("b.toml", web)],
                &[
                    "services.d/b.toml: key \"listen\": tcp:0.0.0.0:80 is also in service \"a\" \
                     (services.d/a.toml); give each address to one service, or set reuse-port = \
                     true in both",
                    "services.d/b.toml: key \"listen\": unix:/run/w is also in service \"a\" \
                     (services.d/a.toml); give each address to one service, or set reuse-port = \
                     true in both",
                ],
            ),
            (
                &[("a.toml", reuse), ("b.toml", reuse)],
                &["loaded: [\"a\", \"b\"]"],
            ),
            (
                &[("a.toml", reuse), ("b.toml", web)],
                &[
                    "services.d/b.toml: key \"listen\": tcp:0.0.0.0:80 is also in service \"a\" \
                   (services.d/a.toml); give each address to one service, or set reuse-port = \
                   true in both",
                ],
            ),
            (
                &[
                    (
                        "a.toml",
                        "command = [\"/bin/a\"]\nlisten = [\"tcp:0.0.0.0:80\"]",
                    ),
                    (
                        "b.toml",
                        "command = [\"/bin/b\"]\nlisten = [\"tcp6:[::]:80\"]",
                    ),
                ],
                &["loaded: [\"a\", \"b\"]"],
            ),
        ];
        for (i, (files, want)) in cases.iter().enumerate() {
            let dir = TempDir::new(&format!("shared-{i}"), files);
            assert_eq!(error_lines(&dir, Vec::new()), *want, "case {i}");
        }
    }

    #[test]
    fn every_error_of_every_file_sorted_by_file_then_key() {
        let dir = TempDir::new(
            "bad",
            &[
                ("b.toml", "command = [\"/bin/b\"]\nafter = [\"c\"]"),
                ("c.toml", "command = [\"/bin/c\"]\nafter = [\"a\"]"),
                (
                    "a.toml",
                    "command = [\"/bin/a\"]\nafter = [\"b\", \"ghost\"]",
                ),
                (
                    "crond.toml",
                    "restart = \"sometimes\"\ncommand = [\"/usr/sbin/missing-crond\"]",
                ),
                ("d.toml", "command = [\"/bin/d\"]\nafter = [\"crond\"]"),
                ("e.toml", "command = [\"/bin/e\"\n"),
                ("f.toml", "command = [\"/bin/f\"]\nafter = [\"e\", \"f\"]"),
            ],
        );
        let want = [
            "services.d/a.toml: key \"after\": \"ghost\" is not a service (no services.d/ghost.toml and no preset of that name); remove it or add the service",
            "services.d/a.toml: key \"after\": cycle a → b → c → a (each starts after the next); remove one of these entries",
            "services.d/crond.toml: key \"command\": program \"/usr/sbin/missing-crond\" not found; install it in the image or fix the path (names without / are looked up in PATH)",
            "services.d/crond.toml: key \"restart\": \"sometimes\" is not one of always, on-failure, never",
            "services.d/e.toml: line 1, column 20: unclosed array, expected `]`; fix the TOML syntax",
            "services.d/f.toml: key \"after\": the service lists itself; remove \"f\"",
        ];
        // d (after the broken crond) and f (after the broken e) are not reported as unknown
        assert_eq!(error_lines(&dir, Vec::new()), want);
    }

    #[test]
    fn presets_and_duplicates() {
        let dir = TempDir::new("presets", &[("crond.toml", "command = [\"/bin/crond\"]")]);
        let preset = |name: &str, text: &str| Source {
            name: name.into(),
            file: PathBuf::from(format!("preset {name}")),
            text: text.into(),
        };
        let presets = vec![
            preset("syslogd", "command = [\"/sbin/syslogd\", \"-n\"]"),
            preset(
                "x",
                "command = [\"/bin/x\"]\nafter = [\"syslogd\", \"crond\"]",
            ),
        ];
        assert_eq!(
            error_lines(&dir, presets),
            ["loaded: [\"crond\", \"syslogd\", \"x\"]"]
        );

        let presets = vec![preset("crond", "command = [\"/usr/sbin/crond\"]")];
        let want = "preset crond: service \"crond\" is already defined in \
                    services.d/crond.toml; keep one of them";
        assert_eq!(error_lines(&dir, presets), [want]);
    }

    #[test]
    fn missing_directory() {
        let dir = TempDir::new("gone", &[]);
        let path = dir.0.join("services.d");
        let got = load_dir(&path, Vec::new(), &exists)
            .err()
            .unwrap_or_default();
        let want = format!(
            "{}: cannot read the directory: No such file or directory (os error 2); create it or point --services-dir at one",
            path.display()
        );
        let got: Vec<String> = got.iter().map(ConfigError::to_string).collect();
        assert_eq!(got, [want]);
    }

    #[test]
    fn empty_directory_is_no_services() {
        let dir = TempDir::new("empty", &[]);
        let config = load_dir(&dir.0, Vec::new(), &exists).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(config.services.is_empty() && config.start_order.is_empty());
    }
}
