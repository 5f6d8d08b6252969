//! The pure part of `rich-init oci inject`: config.json (as a JSON value, unknown fields
//! kept in order) → the same config in rich mode, and back. What was changed is recorded
//! in an annotation, so that removal takes out exactly what injection put in, and
//! injecting again first removes the previous injection (injecting is idempotent).

use serde_json::{json, Map, Value};

pub const ANNOTATION_RICH: &str = "io.rich-init.rich";
pub const ANNOTATION_RECORD: &str = "io.rich-init.injected";
pub const ANNOTATION_STOP_SIGNAL: &str = "org.opencontainers.image.stopSignal";
/// Where the binary appears inside the container.
pub const MOUNT_DIR: &str = "/.rich-init";

/// PouchContainer's rich modes, plus tini.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    RichInit,
    DumbInit,
    Tini,
    Systemd,
    SbinInit,
}

pub const MODES: [Mode; 5] = [
    Mode::RichInit,
    Mode::DumbInit,
    Mode::Tini,
    Mode::Systemd,
    Mode::SbinInit,
];

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::RichInit => "rich-init",
            Mode::DumbInit => "dumb-init",
            Mode::Tini => "tini",
            Mode::Systemd => "systemd",
            Mode::SbinInit => "sbin-init",
        }
    }

    pub fn parse(word: &str) -> Option<Mode> {
        MODES.into_iter().find(|m| m.name() == word)
    }

    /// The image's own init is pid 1; it needs a privileged container.
    fn is_system_init(self) -> bool {
        matches!(self, Mode::Systemd | Mode::SbinInit)
    }
}

/// What to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub mode: Mode,
    /// Host path of the static rich-init, mounted into the container and run as the hook.
    pub binary: String,
    pub initscript: Option<String>,
    /// The stage to run it at (the annotation io.rich-init.initscript-stage).
    pub initscript_stage: Option<String>,
    pub services: Option<String>,
    /// What a read-only rootfs needs (rich-init mode only; empty otherwise).
    pub readonly: super::readonly::Plan,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RewriteError {
    #[error("it is not a JSON object")]
    NotObject,
    #[error("{0} is not what the OCI runtime spec says it is ({1})")]
    Shape(&'static str, &'static str),
    #[error("it has no process.args; a container needs a program to run")]
    NoArgs,
    #[error(
        "its {ANNOTATION_RECORD} annotation is damaged ({0}); restore config.json from a copy"
    )]
    Record(String),
    #[error("{0}")]
    Initscript(#[from] super::initscript::InitscriptError),
}

fn obj<'a>(
    v: &'a mut Map<String, Value>,
    key: &str,
    what: &'static str,
) -> Result<&'a mut Map<String, Value>, RewriteError> {
    let slot = v
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    slot.as_object_mut()
        .ok_or(RewriteError::Shape(what, "an object"))
}

fn list<'a>(
    v: &'a mut Map<String, Value>,
    key: &str,
    what: &'static str,
) -> Result<&'a mut Vec<Value>, RewriteError> {
    let slot = v.entry(key.to_string()).or_insert_with(|| json!([]));
    slot.as_array_mut()
        .ok_or(RewriteError::Shape(what, "a list"))
}

/// The keys (dotted paths) that did not exist before and that we created.
fn note_created(created: &mut Vec<String>, map: &Map<String, Value>, key: &str, path: &str) {
    if !map.contains_key(key) {
        created.push(path.to_string());
    }
}

/// Whether `args` start the image's own init (`/sbin/init`, `/lib/systemd/systemd`, …).
fn boots_an_init(args: &[Value]) -> bool {
    let first = args.first().and_then(Value::as_str).unwrap_or_default();
    matches!(first.rsplit('/').next(), Some("init" | "systemd"))
}

/// Config in rich mode. `config` must not already carry an injection (see [`remove`]).
pub fn inject(config: &Value, req: &Request) -> Result<Value, RewriteError> {
    let mut config = config.clone();
    let root = config.as_object_mut().ok_or(RewriteError::NotObject)?;
    let mut created = Vec::new();
    let mut record = Map::new();
    record.insert("version".into(), json!(1));
    record.insert("mode".into(), json!(req.mode.name()));
    record.insert("binary".into(), json!(req.binary));

    let process = root
        .get_mut("process")
        .and_then(Value::as_object_mut)
        .ok_or(RewriteError::NoArgs)?;
    // Without CAP_SYS_ADMIN the image's own init cannot run: rich-init boots its units
    // instead (`--systemd`), as PouchContainer's systemd mode meant (issue 15).
    let privileged = process
        .get("capabilities")
        .and_then(|c| c.get("bounding"))
        .and_then(Value::as_array)
        .is_some_and(|b| b.iter().any(|c| c == "CAP_SYS_ADMIN"));
    let system_init = req.mode.is_system_init() && privileged;
    let units = req.mode.is_system_init() && !privileged;
    record.insert("units".into(), json!(units));
    let args = process
        .get("args")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.iter().all(Value::is_string))
        .cloned()
        .ok_or(RewriteError::NoArgs)?;
    record.insert("args".into(), Value::Array(args.clone()));
    let inside = if units {
        format!("{MOUNT_DIR}/rich-init")
    } else {
        format!("{MOUNT_DIR}/{}", req.mode.name())
    };
    let new_args: Vec<Value> = match req.mode {
        Mode::Systemd | Mode::SbinInit if units => {
            let mut a = vec![json!(inside), json!("--systemd")];
            a.extend(req.readonly.args.iter().map(|w| json!(w)));
            // An image made to boot systemd (CMD /sbin/init, /lib/systemd/systemd) has no
            // CMD of its own: rich-init then runs until SIGTERM, as /sbin/init does.
            if !boots_an_init(&args) {
                a.push(json!("--"));
                a.extend(args);
            }
            a
        }
        Mode::RichInit => {
            let mut a = vec![json!(inside), json!("--rich")];
            a.extend(req.readonly.args.iter().map(|w| json!(w)));
            if let Some(services) = &req.services {
                a.extend([json!("--services"), json!(services)]);
            }
            a.push(json!("--"));
            a.extend(args);
            a
        }
        Mode::DumbInit | Mode::Tini => {
            let mut a = vec![json!(inside), json!("--")];
            a.extend(args);
            a
        }
        Mode::Systemd | Mode::SbinInit => vec![json!("/sbin/init")],
    };
    process.insert("args".into(), Value::Array(new_args));

    note_created(&mut created, process, "env", "process.env");
    let env = list(process, "env", "process.env")?;
    let ours = [
        "rich_mode=true".to_string(),
        format!("rich_mode_launch_manner={}", req.mode.name()),
    ];
    let mut replaced = Vec::new();
    env.retain(|e| {
        let theirs = e.as_str().is_some_and(|s| {
            s.starts_with("rich_mode=") || s.starts_with("rich_mode_launch_manner=")
        });
        if theirs {
            replaced.push(e.clone());
        }
        !theirs
    });
    env.extend(ours.iter().map(|s| json!(s)));
    record.insert("env".into(), json!(ours));
    record.insert("env_replaced".into(), Value::Array(replaced));

    let mut mounts_added = Vec::new();
    note_created(&mut created, root, "mounts", "mounts");
    let mounts = list(root, "mounts", "mounts")?;
    let has = |mounts: &Vec<Value>, dest: &str| {
        mounts
            .iter()
            .any(|m| m.get("destination").and_then(Value::as_str) == Some(dest))
    };
    let mut wanted = Vec::new();
    if !system_init {
        wanted.push(
            json!({"destination": inside, "type": "bind", "source": req.binary,
            "options": ["bind", "ro", "nosuid", "nodev"]}),
        );
        if units {
            // systemctl and journalctl in PATH answer for rich-init (over the image's own,
            // which would look for systemd's bus).
            for name in ["systemctl", "journalctl"] {
                wanted.push(
                    json!({"destination": format!("/usr/bin/{name}"), "type": "bind",
                    "source": req.binary, "options": ["bind", "ro", "nosuid", "nodev"]}),
                );
            }
        }
        wanted.extend(req.readonly.mounts.iter().cloned());
    } else {
        wanted.push(
            json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=755"]}),
        );
        wanted.push(
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=1777"]}),
        );
        wanted.push(
            json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "rw"]}),
        );
    }
    for m in wanted {
        let dest = m
            .get("destination")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !has(mounts, &dest) {
            mounts.push(m);
            mounts_added.push(json!(dest));
        }
    }
    record.insert("mounts".into(), Value::Array(mounts_added));

    let mut set = vec![(ANNOTATION_RICH, "true".to_string())];
    if let Some(script) = &req.initscript {
        set.push((super::state::ANNOTATION_INITSCRIPT, script.clone()));
    }
    if let Some(stage) = &req.initscript_stage {
        set.push((super::state::ANNOTATION_INITSCRIPT_STAGE, stage.clone()));
    }
    if system_init {
        set.push((ANNOTATION_STOP_SIGNAL, "SIGRTMIN+3".into()));
    }
    // The initscript's stage, as the annotations will say, gets its hook.
    let mut will_say = root
        .get("annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, value) in &set {
        will_say.insert(key.to_string(), json!(value));
    }
    let text = |key: &str| will_say.get(key).and_then(Value::as_str);
    let stages = super::initscript::hook_stages(
        text(super::state::ANNOTATION_INITSCRIPT),
        text(super::state::ANNOTATION_INITSCRIPT_STAGE),
    )?;

    note_created(&mut created, root, "hooks", "hooks");
    let hooks = obj(root, "hooks", "hooks")?;
    for stage in stages {
        note_created(&mut created, hooks, stage, &format!("hooks.{stage}"));
        list(hooks, stage, "hooks")?.push(json!({
            "path": req.binary,
            "args": ["rich-init", "hook", stage],
        }));
    }

    note_created(&mut created, root, "annotations", "annotations");
    let annotations = obj(root, "annotations", "annotations")?;
    let mut previous = Map::new();
    for (key, value) in set {
        let old = annotations.insert(key.into(), json!(value));
        previous.insert(key.into(), old.unwrap_or(Value::Null));
    }
    record.insert("annotations".into(), Value::Object(previous));
    record.insert("created".into(), json!(created));
    annotations.insert(
        ANNOTATION_RECORD.into(),
        json!(Value::Object(record).to_string()),
    );
    Ok(config)
}

/// The stages whose `rich-init hook` entries [`remove`] takes out.
const HOOKED: [&str; 3] = ["prestart", "createRuntime", "poststop"];

/// The injection record of `config`, if it has one.
pub fn record(config: &Value) -> Result<Option<Map<String, Value>>, RewriteError> {
    let Some(text) = config
        .get("annotations")
        .and_then(|a| a.get(ANNOTATION_RECORD))
    else {
        return Ok(None);
    };
    let text = text
        .as_str()
        .ok_or_else(|| RewriteError::Record("not a string".into()))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(RewriteError::Record("not an object".into())),
        Err(e) => Err(RewriteError::Record(e.to_string())),
    }
}

fn strings(record: &Map<String, Value>, key: &str) -> Result<Vec<String>, RewriteError> {
    match record.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| RewriteError::Record(format!("{key} holds a non-string")))
            })
            .collect(),
        Some(_) => Err(RewriteError::Record(format!("{key} is not a list"))),
    }
}

/// Take out what [`inject`] put in, by its record; a config without one is returned as
/// it is. Changes made since by others are kept.
pub fn remove(config: &Value) -> Result<Value, RewriteError> {
    let Some(rec) = record(config)? else {
        return Ok(config.clone());
    };
    let mut config = config.clone();
    let root = config.as_object_mut().ok_or(RewriteError::NotObject)?;
    let binary = rec
        .get("binary")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let created = strings(&rec, "created")?;
    let was_created = |path: &str| created.iter().any(|c| c == path);

    if let Some(process) = root.get_mut("process").and_then(Value::as_object_mut) {
        if let Some(recorded) = rec.get("args").filter(|a| a.is_array()) {
            // In the wrapping modes, what follows our "--" is the user's command: keep it
            // as it is now, with any edit made since the injection.
            let now = process.get("args").and_then(Value::as_array);
            let tail = now.and_then(|a| {
                let dash = a.iter().position(|x| x == "--")?;
                let first = a.first()?.as_str()?;
                first
                    .starts_with(MOUNT_DIR)
                    .then(|| a.get(dash + 1..).map(<[Value]>::to_vec))
                    .flatten()
            });
            let args = match tail {
                Some(tail) if !tail.is_empty() => Value::Array(tail),
                _ => recorded.clone(),
            };
            process.insert("args".into(), args);
        }
        let ours = strings(&rec, "env")?;
        if let Some(env) = process.get_mut("env").and_then(Value::as_array_mut) {
            env.retain(|e| !e.as_str().is_some_and(|s| ours.iter().any(|o| o == s)));
            if let Some(Value::Array(replaced)) = rec.get("env_replaced") {
                env.extend(replaced.iter().cloned());
            }
            if env.is_empty() && was_created("process.env") {
                process.shift_remove("env");
            }
        }
    }
    let added = strings(&rec, "mounts")?;
    if let Some(mounts) = root.get_mut("mounts").and_then(Value::as_array_mut) {
        mounts.retain(|m| {
            !m.get("destination")
                .and_then(Value::as_str)
                .is_some_and(|d| added.iter().any(|a| a == d))
        });
        if mounts.is_empty() && was_created("mounts") {
            root.shift_remove("mounts");
        }
    }
    if let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) {
        for stage in HOOKED {
            if let Some(entries) = hooks.get_mut(stage).and_then(Value::as_array_mut) {
                entries.retain(|h| {
                    let ours = h.get("path").and_then(Value::as_str) == Some(binary)
                        && h.get("args") == Some(&json!(["rich-init", "hook", stage]));
                    !ours
                });
                if entries.is_empty() && was_created(&format!("hooks.{stage}")) {
                    hooks.shift_remove(stage);
                }
            }
        }
        if hooks.is_empty() && was_created("hooks") {
            root.shift_remove("hooks");
        }
    }
    if let Some(annotations) = root.get_mut("annotations").and_then(Value::as_object_mut) {
        annotations.shift_remove(ANNOTATION_RECORD);
        if let Some(Value::Object(previous)) = rec.get("annotations") {
            for (key, old) in previous {
                match old {
                    Value::Null => annotations.shift_remove(key),
                    old => annotations.insert(key.clone(), old.clone()),
                };
            }
        }
        if annotations.is_empty() && was_created("annotations") {
            root.shift_remove("annotations");
        }
    }
    Ok(config)
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
