//! What the upgraded container runs with, from the old container, the old and new images
//! and the user's overrides. PouchContainer's rules (`pouch upgrade`):
//! - args: an explicit entrypoint or cmd wins; else the old container's args if the user
//!   set them (they differ from the old image's entrypoint + cmd); else the new image's;
//! - env and labels: what the user set on the old container wins; what came from the old
//!   image is replaced by the new image's; `--env`/`--label` override both;
//! - the working directory follows the image unless the user set it.
//!
//! Everything else in the spec (namespaces, mounts, resources, hooks, annotations) is kept.

use serde_json::Value;
use std::collections::BTreeMap;

/// The parts of an OCI image config that a container is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub working_dir: String,
    pub stop_signal: Option<String>,
    /// rootfs.diff_ids, bottom layer first.
    pub diff_ids: Vec<String>,
}

/// Why an image config or a container's spec cannot be merged. `what` names the field
/// (`config.Env`, `process.args`, …).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("not valid JSON ({0})")]
    Json(#[source] serde_json::Error),
    #[error("{0} holds a non-string")]
    NonString(&'static str),
    #[error("{0} is not a list")]
    NotList(&'static str),
    #[error("label {0:?} is not a string")]
    LabelNotString(String),
    #[error("config.Labels is not an object")]
    LabelsNotObject,
    #[error("it has no rootfs.diff_ids")]
    NoDiffIds,
    #[error("the container's spec has no process")]
    NoProcess,
    #[error("the new image has neither Entrypoint nor Cmd; give --entrypoint or -- CMD")]
    NoArgs,
}

fn strings(v: Option<&Value>, what: &'static str) -> Result<Vec<String>, MergeError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(String::from)
                    .ok_or(MergeError::NonString(what))
            })
            .collect(),
        Some(_) => Err(MergeError::NotList(what)),
    }
}

/// Parse an OCI image config blob (application/vnd.oci.image.config.v1+json).
pub fn parse_image_config(bytes: &[u8]) -> Result<ImageConfig, MergeError> {
    let v: Value = serde_json::from_slice(bytes).map_err(MergeError::Json)?;
    let config = v.get("config");
    let field = |name: &str| config.and_then(|c| c.get(name));
    let labels = match field("Labels") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.clone(), s.to_string()))
                    .ok_or_else(|| MergeError::LabelNotString(k.clone()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(MergeError::LabelsNotObject),
    };
    let diff_ids = strings(
        v.get("rootfs").and_then(|r| r.get("diff_ids")),
        "rootfs.diff_ids",
    )?;
    if diff_ids.is_empty() {
        return Err(MergeError::NoDiffIds);
    }
    Ok(ImageConfig {
        entrypoint: strings(field("Entrypoint"), "config.Entrypoint")?,
        cmd: strings(field("Cmd"), "config.Cmd")?,
        env: strings(field("Env"), "config.Env")?,
        labels,
        working_dir: field("WorkingDir")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        stop_signal: field("StopSignal")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from),
        diff_ids,
    })
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub entrypoint: Option<String>,
    /// `-- CMD ARGS...`
    pub cmd: Option<Vec<String>>,
    /// `--env K=V`, in order.
    pub env: Vec<String>,
    /// `--label K=V`, in order.
    pub labels: Vec<(String, String)>,
}

/// The process arguments of the upgraded container.
pub fn args(
    old_args: &[String],
    old: &ImageConfig,
    new: &ImageConfig,
    o: &Overrides,
) -> Vec<String> {
    if o.entrypoint.is_some() || o.cmd.is_some() {
        let entrypoint = match &o.entrypoint {
            Some(e) => vec![e.clone()],
            None => new.entrypoint.clone(),
        };
        // As with `docker run --entrypoint`, a new entrypoint drops the image's cmd.
        let cmd = match (&o.cmd, &o.entrypoint) {
            (Some(cmd), _) => cmd.clone(),
            (None, Some(_)) => Vec::new(),
            (None, None) => new.cmd.clone(),
        };
        return [entrypoint, cmd].concat();
    }
    let from_old_image = [old.entrypoint.clone(), old.cmd.clone()].concat();
    if old_args != from_old_image.as_slice() {
        return old_args.to_vec();
    }
    [new.entrypoint.clone(), new.cmd.clone()].concat()
}

fn key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// The environment of the upgraded container.
pub fn env(old_env: &[String], old: &ImageConfig, new: &ImageConfig, o: &Overrides) -> Vec<String> {
    let user: Vec<&String> = old_env.iter().filter(|e| !old.env.contains(e)).collect();
    let mut out: Vec<String> = new
        .env
        .iter()
        .filter(|e| !user.iter().any(|u| key(u) == key(e)))
        .cloned()
        .collect();
    out.extend(user.into_iter().cloned());
    for pair in &o.env {
        match out.iter_mut().find(|e| key(e) == key(pair)) {
            Some(slot) => *slot = pair.clone(),
            None => out.push(pair.clone()),
        }
    }
    out
}

/// The labels of the upgraded container.
pub fn labels(
    old_labels: &BTreeMap<String, String>,
    old: &ImageConfig,
    new: &ImageConfig,
    o: &Overrides,
) -> BTreeMap<String, String> {
    let mut out = new.labels.clone();
    for (k, v) in old_labels {
        if old.labels.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in &o.labels {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// The working directory: the image's, unless the user set another.
pub fn cwd(old_cwd: &str, old: &ImageConfig, new: &ImageConfig) -> String {
    let image_dir = |c: &ImageConfig| {
        if c.working_dir.is_empty() {
            "/".to_string()
        } else {
            c.working_dir.clone()
        }
    };
    if old_cwd == image_dir(old) || old_cwd.is_empty() {
        image_dir(new)
    } else {
        old_cwd.to_string()
    }
}

/// The old runtime spec with the new process args, env and cwd; all else kept.
pub fn rewrite_spec(
    old_spec: &Value,
    old: &ImageConfig,
    new: &ImageConfig,
    o: &Overrides,
) -> Result<Value, MergeError> {
    let mut spec = old_spec.clone();
    let process = spec
        .get_mut("process")
        .and_then(Value::as_object_mut)
        .ok_or(MergeError::NoProcess)?;
    let old_args = strings(process.get("args"), "process.args")?;
    let old_env = strings(process.get("env"), "process.env")?;
    let old_cwd = process
        .get("cwd")
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_string();
    let new_args = args(&old_args, old, new, o);
    if new_args.is_empty() {
        return Err(MergeError::NoArgs);
    }
    process.insert("args".into(), Value::from(new_args));
    process.insert("env".into(), Value::from(env(&old_env, old, new, o)));
    process.insert("cwd".into(), Value::from(cwd(&old_cwd, old, new)));
    Ok(spec)
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
