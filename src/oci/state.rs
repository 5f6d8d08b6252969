//! What a hook is given: the stage it runs at, the OCI state JSON on stdin, and the
//! bundle's config.json. Pure parsing and checking; every error is one line.

use crate::sys::caps::{self, CapSets};
use oci_spec::runtime::State;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Annotations that ask rich-init for something.
pub const ANNOTATION_INITSCRIPT: &str = "io.rich-init.initscript";
pub const ANNOTATION_INITSCRIPT_STAGE: &str = "io.rich-init.initscript-stage";
pub const ANNOTATION_TIMEOUT: &str = "io.rich-init.hook-timeout";

/// The OCI hook stages, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

pub const STAGES: [Stage; 6] = [
    Stage::Prestart,
    Stage::CreateRuntime,
    Stage::CreateContainer,
    Stage::StartContainer,
    Stage::Poststart,
    Stage::Poststop,
];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::CreateContainer => "createContainer",
            Stage::StartContainer => "startContainer",
            Stage::Poststart => "poststart",
            Stage::Poststop => "poststop",
        }
    }

    pub fn parse(word: &str) -> Option<Stage> {
        STAGES.into_iter().find(|s| s.name() == word)
    }

    /// Before the container's process runs: a failure here must abort the container.
    pub fn is_fatal(self) -> bool {
        !matches!(self, Stage::Poststart | Stage::Poststop)
    }

    /// The stages at which the container's namespaces and rootfs exist, its program has
    /// not started, and the hook runs on the host: where an initscript may run.
    /// (createContainer hooks run inside the container's namespaces, where the state's pid
    /// is not a host pid.)
    pub fn can_run_initscript(self) -> bool {
        matches!(self, Stage::Prestart | Stage::CreateRuntime)
    }

    pub fn list() -> String {
        STAGES.map(Stage::name).join(", ")
    }
}

/// The state, checked: what the hook relies on is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookState {
    pub id: String,
    pub pid: Option<i32>,
    pub bundle: PathBuf,
    pub annotations: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    #[error("no OCI state on stdin; the runtime passes the container's state JSON there (run me as an OCI hook)")]
    Empty,
    #[error("the OCI state on stdin is not valid JSON ({0}); the runtime passes the container's state JSON there")]
    Json(String),
    #[error("the OCI state on stdin has no container id")]
    NoId,
    #[error("the OCI state on stdin has no bundle path")]
    NoBundle,
    #[error("the OCI state on stdin has a relative bundle path {0:?}; it must be absolute")]
    RelativeBundle(PathBuf),
    #[error("the OCI state on stdin has no usable pid ({0}); the container's process must exist at this stage")]
    NoPid(String),
}

/// Parse the state JSON a runtime writes on a hook's stdin.
pub fn parse_state(bytes: &[u8]) -> Result<HookState, StateError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(StateError::Empty);
    }
    let state: State = serde_json::from_slice(bytes)
        .map_err(|e| StateError::Json(control_escaped(&e.to_string())))?;
    if state.id().is_empty() {
        return Err(StateError::NoId);
    }
    let bundle = state.bundle().clone();
    if bundle.as_os_str().is_empty() {
        return Err(StateError::NoBundle);
    }
    if !bundle.is_absolute() {
        return Err(StateError::RelativeBundle(bundle));
    }
    Ok(HookState {
        id: state.id().clone(),
        pid: *state.pid(),
        bundle,
        annotations: state.annotations().clone().unwrap_or_default(),
    })
}

/// serde's messages quote the input (an unknown `status` word), which may hold line
/// breaks: escape control characters so that the error stays one line.
fn control_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl HookState {
    /// The container's process, which an initscript must enter.
    pub fn live_pid(&self) -> Result<i32, StateError> {
        match self.pid {
            Some(pid) if pid > 0 => Ok(pid),
            Some(pid) => Err(StateError::NoPid(format!("pid {pid}"))),
            None => Err(StateError::NoPid("none given".into())),
        }
    }
}

/// What the hook needs from config.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleConfig {
    /// The root filesystem, absolute (root.path joined to the bundle).
    pub rootfs: PathBuf,
    pub annotations: HashMap<String, String>,
    /// The container process's environment.
    pub env: Vec<String>,
    /// process.user: uid, gid, additionalGids.
    pub user: (u32, u32, Vec<u32>),
    /// process.capabilities (absent sets are empty, as runtimes treat them).
    pub caps: CapSets,
    pub no_new_privs: bool,
    /// The stages at which config.json runs `rich-init hook STAGE` (any path: the
    /// entry's args are `[argv0, "hook", STAGE, ...]`).
    pub hook_stages: Vec<Stage>,
}

/// The stages of `hooks` (config.json's) that have an entry running `rich-init hook
/// STAGE`. Lenient: the shape of `hooks` is the runtime's to check.
pub fn rich_init_hook_stages(hooks: Option<&Value>) -> Vec<Stage> {
    STAGES
        .into_iter()
        .filter(|stage| {
            hooks
                .and_then(|h| h.get(stage.name()))
                .and_then(Value::as_array)
                .is_some_and(|entries| {
                    entries.iter().any(|e| {
                        let args = e.get("args").and_then(Value::as_array);
                        let word = |i: usize| args.and_then(|a| a.get(i)).and_then(Value::as_str);
                        word(1) == Some("hook") && word(2) == Some(stage.name())
                    })
                })
        })
        .collect()
}

/// Paths come from the state's bundle, which may hold any byte but NUL: each is shown with
/// its control characters escaped, so that every error stays one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the bundle {} does not exist; is the state's bundle path right?", shown(.0))]
    NoBundle(PathBuf),
    #[error("cannot read {}: {reason}; is {} an OCI bundle?", shown(.path), shown(.bundle))]
    Read {
        path: PathBuf,
        bundle: PathBuf,
        reason: String,
    },
    #[error("{} is not a valid OCI runtime config: {reason}; fix the bundle's config.json", shown(.path))]
    Parse { path: PathBuf, reason: String },
    #[error("{} has no root.path; an OCI bundle names its root filesystem there", shown(.path))]
    NoRoot { path: PathBuf },
}

fn shown(path: &Path) -> String {
    control_escaped(&path.display().to_string())
}

/// Parse config.json's text (its path is for messages).
pub fn parse_config(text: &[u8], bundle: &Path, path: &Path) -> Result<BundleConfig, ConfigError> {
    let parse_err = |reason: String| ConfigError::Parse {
        path: path.to_path_buf(),
        reason,
    };
    // Only the fields the hook uses are read, and checked for their OCI types; the rest
    // is the runtime's business (a full `oci_spec::runtime::Spec` would double our size).
    let spec: Value = serde_json::from_slice(text).map_err(|e| parse_err(e.to_string()))?;
    let Value::Object(spec) = spec else {
        return Err(parse_err("it is not a JSON object".into()));
    };
    let root = match spec.get("root").and_then(|r| r.get("path")) {
        Some(Value::String(p)) if !p.is_empty() => PathBuf::from(p),
        Some(_) => return Err(parse_err("root.path is not a string".into())),
        None => {
            return Err(ConfigError::NoRoot {
                path: path.to_path_buf(),
            })
        }
    };
    let annotations = match spec.get("annotations") {
        None | Some(Value::Null) => HashMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k.clone(), v.clone())),
                _ => Err(parse_err(format!("annotation {k:?} is not a string"))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(parse_err("annotations is not an object".into())),
    };
    let env = match spec.get("process").and_then(|p| p.get("env")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(parse_err("process.env holds a non-string".into())),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(parse_err("process.env is not a list".into())),
    };
    let process = spec.get("process");
    let id = |key: &str| -> Result<u32, ConfigError> {
        match process.and_then(|p| p.get("user")).and_then(|u| u.get(key)) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| parse_err(format!("process.user.{key} is not a uid/gid"))),
        }
    };
    let (uid, gid) = (id("uid")?, id("gid")?);
    let groups = match process
        .and_then(|p| p.get("user"))
        .and_then(|u| u.get("additionalGids"))
    {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
            .collect::<Option<_>>()
            .ok_or_else(|| parse_err("process.user.additionalGids holds a non-gid".into()))?,
        Some(_) => {
            return Err(parse_err(
                "process.user.additionalGids is not a list".into(),
            ))
        }
    };
    let set = |key: &str| -> Result<u64, ConfigError> {
        match process
            .and_then(|p| p.get("capabilities"))
            .and_then(|c| c.get(key))
        {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Array(names)) => {
                let mut bits = 0u64;
                for name in names {
                    let name = name.as_str().ok_or_else(|| {
                        parse_err(format!("process.capabilities.{key} holds a non-string"))
                    })?;
                    // Unknown names are skipped, as runc does (a newer kernel's capability).
                    if let Some(n) = caps::number(name) {
                        bits |= 1u64 << n;
                    }
                }
                Ok(bits)
            }
            Some(_) => Err(parse_err(format!(
                "process.capabilities.{key} is not a list"
            ))),
        }
    };
    let caps = CapSets {
        bounding: set("bounding")?,
        effective: set("effective")?,
        permitted: set("permitted")?,
        inheritable: set("inheritable")?,
        ambient: set("ambient")?,
        last_cap: caps::last_cap(),
    };
    let no_new_privs = process
        .and_then(|p| p.get("noNewPrivileges"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(BundleConfig {
        rootfs: bundle.join(root),
        annotations,
        env,
        user: (uid, gid, groups),
        caps,
        no_new_privs,
        hook_stages: rich_init_hook_stages(spec.get("hooks")),
    })
}

/// Read and parse `<bundle>/config.json`.
pub fn load_config(bundle: &Path) -> Result<BundleConfig, ConfigError> {
    if !bundle.is_dir() {
        return Err(ConfigError::NoBundle(bundle.to_path_buf()));
    }
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).map_err(|e| ConfigError::Read {
        path: path.clone(),
        bundle: bundle.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse_config(&text, bundle, &path)
}

impl BundleConfig {
    /// An annotation from config.json, or else from the state (which runtimes copy from
    /// config.json, and which hooks.d-driven engines may add to).
    pub fn annotation<'a>(&'a self, state: &'a HookState, key: &str) -> Option<&'a str> {
        self.annotations
            .get(key)
            .or_else(|| state.annotations.get(key))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_round_trip_and_classify() {
        for stage in STAGES {
            assert_eq!(Stage::parse(stage.name()), Some(stage));
        }
        assert_eq!(Stage::parse("PRESTART"), None);
        assert_eq!(Stage::parse("poststop "), None);
        assert!(Stage::Prestart.is_fatal() && Stage::StartContainer.is_fatal());
        assert!(!Stage::Poststart.is_fatal() && !Stage::Poststop.is_fatal());
        assert!(Stage::CreateRuntime.can_run_initscript());
        assert!(!Stage::StartContainer.can_run_initscript());
        assert!(!Stage::CreateContainer.can_run_initscript());
    }

    #[test]
    fn runc_and_crun_states_parse() {
        let runc = br#"{"ociVersion":"1.0.2-dev","id":"r1","status":"creating","pid":6975,"bundle":"/tmp/h"}"#;
        let s = parse_state(runc).expect("runc's state");
        assert_eq!((s.id.as_str(), s.pid), ("r1", Some(6975)));
        assert_eq!(s.bundle, PathBuf::from("/tmp/h"));
        let crun = br#"{"ociVersion":"1.0","id":"c1","pid":6955,"root":"rootfs","bundle":"/tmp/h","status":"created","annotations":{"a":"b"}}"#;
        let s = parse_state(crun).expect("crun's state");
        assert_eq!(s.annotations.get("a").map(String::as_str), Some("b"));
        assert_eq!(s.live_pid(), Ok(6955));
    }

    #[test]
    fn bad_states_are_one_clear_error() {
        type Check = fn(&StateError) -> bool;
        let cases: [(&[u8], Check); 7] = [
            (b"", |e| *e == StateError::Empty),
            (b" \n", |e| *e == StateError::Empty),
            (b"garbage", |e| matches!(e, StateError::Json(_))),
            (br#"{"id":"x","bundle":"/b""#, |e| {
                matches!(e, StateError::Json(_))
            }),
            (br#"{"bundle":"/b"}"#, |e| *e == StateError::NoId),
            (br#"{"id":"x"}"#, |e| *e == StateError::NoBundle),
            (br#"{"id":"x","bundle":"b"}"#, |e| {
                matches!(e, StateError::RelativeBundle(_))
            }),
        ];
        for (input, check) in cases {
            let err = parse_state(input).expect_err("must be refused");
            assert!(
                check(&err),
                "{:?} gave {err:?}",
                String::from_utf8_lossy(input)
            );
            assert!(!err.to_string().contains('\n'));
        }
        // Found by fuzzing (integration/fuzz, oci_state): serde quoted the unknown status
        // with its line break, and the error took two lines.
        let err = parse_state(br#"{"id":"x","bundle":"/b","status":"a\nb\r"}"#)
            .expect_err("unknown status");
        assert!(matches!(err, StateError::Json(_)), "{err:?}");
        assert!(!err.to_string().contains(['\n', '\r']), "{err}");
        assert!(err.to_string().contains("a\\nb\\r"), "{err}");
        let no_pid = parse_state(br#"{"id":"x","bundle":"/b"}"#).expect("pid is optional");
        assert!(no_pid.live_pid().is_err());
    }

    #[test]
    fn config_gives_rootfs_annotations_and_env() {
        let text = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
            "process":{"cwd":"/","args":["sh"],"env":["A=1"]},
            "annotations":{"io.rich-init.initscript":"/init.sh"}}"#;
        let c = parse_config(text, Path::new("/b"), Path::new("/b/config.json")).expect("ok");
        assert_eq!(c.rootfs, PathBuf::from("/b/rootfs"));
        assert_eq!(c.env, ["A=1"]);
        assert_eq!(c.user, (0, 0, vec![]));
        assert_eq!(c.caps.bounding, 0, "no capabilities given: none");
        let state = parse_state(br#"{"id":"x","bundle":"/b"}"#).expect("state");
        assert_eq!(
            c.annotation(&state, ANNOTATION_INITSCRIPT),
            Some("/init.sh")
        );
        assert_eq!(c.hook_stages, []);
        let hooked = br#"{"root":{"path":"r"},"hooks":{
            "prestart":[{"path":"/x/rich-init","args":["rich-init","hook","prestart"]}],
            "createRuntime":[{"path":"/x/other","args":["other","hook","poststop"]},
                {"path":"/x/rich-init"}],
            "poststop":[{"path":"/usr/bin/rich-init","args":["ri","hook","poststop","--log","stderr"]}]}}"#;
        let c = parse_config(hooked, Path::new("/b"), Path::new("/b/config.json")).expect("ok");
        assert_eq!(c.hook_stages, [Stage::Prestart, Stage::Poststop]);
        let abs = br#"{"ociVersion":"1.0.2","root":{"path":"/srv/root"}}"#;
        let c = parse_config(abs, Path::new("/b"), Path::new("/b/config.json")).expect("ok");
        assert_eq!(c.rootfs, PathBuf::from("/srv/root"));
    }

    #[test]
    fn user_and_capabilities_are_read() {
        let text = br#"{"root":{"path":"r"},"process":{"user":{"uid":1000,"gid":100,
            "additionalGids":[4,27]},"noNewPrivileges":true,
            "capabilities":{"bounding":["CAP_KILL","CAP_SYS_ADMIN","CAP_FUTURE"],
            "effective":["CAP_KILL"]}}}"#;
        let c = parse_config(text, Path::new("/b"), Path::new("/b/config.json")).expect("ok");
        assert_eq!(c.user, (1000, 100, vec![4, 27]));
        assert_eq!(c.caps.bounding, (1 << 5) | (1 << 21));
        assert_eq!(c.caps.effective, 1 << 5);
        assert_eq!(c.caps.ambient, 0);
        assert!(c.no_new_privs);
        let bad = br#"{"root":{"path":"r"},"process":{"user":{"uid":-1}}}"#;
        assert!(parse_config(bad, Path::new("/b"), Path::new("/b/config.json")).is_err());
    }

    #[test]
    fn errors_naming_the_bundle_stay_one_line() {
        // Found by fuzzing (integration/fuzz, oci_state): a bundle path with a line break
        // in the state made the hook's error two lines.
        let state = parse_state(br#"{"id":"x","bundle":"/a\nb"}"#).expect("a valid state");
        assert_eq!(state.bundle, PathBuf::from("/a\nb"));
        let err = load_config(&state.bundle).expect_err("no such bundle");
        assert_eq!(
            err.to_string(),
            "the bundle /a\\nb does not exist; is the state's bundle path right?"
        );
        let path = state.bundle.join("config.json");
        let err = parse_config(b"[]", &state.bundle, &path).expect_err("not an object");
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    #[test]
    fn bad_configs_name_the_file() {
        for text in [&b"{"[..], b"[]", br#"{"ociVersion":"1.0.2"}"#] {
            let err = parse_config(text, Path::new("/b"), Path::new("/b/config.json"))
                .expect_err("refused");
            assert!(err.to_string().contains("/b/config.json"), "{err}");
        }
    }
}
