//! The container record as an upgrade uses it: its spec, the journal label, the saved old
//! spec and labels (an extension), and the one update that swaps image, snapshot, spec and
//! labels. upgrade.rs, settle.rs and recover.rs read and write the record through these.

use crate::containerd::Client;
use anyhow::{anyhow, Context, Result};
use containerd_client::services::v1::Container;
use prost_types::Any;
use rich_init::upgrade::journal::{self, Journal};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// The label on the snapshot an upgrade prepares: the container it was made for. Only a
/// snapshot that carries it (for that container) is removed on rollback.
pub const SNAPSHOT_FOR_LABEL: &str = "io.rich-init.upgrade.for";
/// The type of the extension that keeps the old spec and labels.
const OLD_TYPE: &str = "io.rich-init.upgrade/old-container";

pub fn spec_json(container: &Container) -> Result<Value> {
    let spec = container
        .spec
        .as_ref()
        .ok_or_else(|| anyhow!("container {} has no spec", container.id))?;
    serde_json::from_slice(&spec.value)
        .with_context(|| format!("container {}'s spec is not JSON", container.id))
}

fn spec_any(spec: &Value, like: Option<&Any>) -> Any {
    Any {
        type_url: like.map_or_else(
            || "types.containerd.io/opencontainers/runtime-spec/1/Spec".to_string(),
            |a| a.type_url.clone(),
        ),
        value: spec.to_string().into_bytes(),
    }
}

/// The old spec and labels, kept in an extension while the journal exists.
fn old_container_any(spec: &Value, labels: &HashMap<String, String>) -> Any {
    let labels: BTreeMap<&String, &String> = labels.iter().collect();
    Any {
        type_url: OLD_TYPE.into(),
        value: json!({"spec": spec, "labels": labels})
            .to_string()
            .into_bytes(),
    }
}

/// Read the extension back: (spec, labels without the journal).
pub fn old_container(container: &Container) -> Result<(Value, HashMap<String, String>)> {
    let any = container
        .extensions
        .get(journal::OLD_SPEC_EXTENSION)
        .ok_or_else(|| {
            anyhow!(
                "container {} has a journal but no saved old spec",
                container.id
            )
        })?;
    let v: Value = serde_json::from_slice(&any.value).context("the saved old spec is not JSON")?;
    let labels = v["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .filter(|(k, _)| k != journal::LABEL)
                .collect()
        })
        .unwrap_or_default();
    Ok((v["spec"].clone(), labels))
}

/// The journal of a container, if it has one.
pub fn journal_of(container: &Container) -> Result<Option<Journal>> {
    match container.labels.get(journal::LABEL) {
        None => Ok(None),
        Some(text) => Journal::decode(text)
            .map(Some)
            .with_context(|| format!("container {}", container.id)),
    }
}

/// Write the first journal and save the old spec and the current labels beside it, in
/// one update.
pub async fn begin_journal(
    client: &Client,
    container: &mut Container,
    old_spec: &Value,
    j: &Journal,
) -> Result<()> {
    let old = old_container_any(old_spec, &container.labels);
    set_journal_and_old(client, container, Some(j), old).await
}

/// Write the journal label (and nothing else) in one update.
pub async fn write_journal(client: &Client, container: &mut Container, j: &Journal) -> Result<()> {
    container.labels.insert(journal::LABEL.into(), j.encode()?);
    let path = format!("labels.{}", journal::LABEL);
    *container = client.update_container(container.clone(), &[&path]).await?;
    Ok(())
}

/// Drop the journal label and the saved old container in one update.
pub async fn clear_journal(client: &Client, container: &mut Container) -> Result<()> {
    // containerd 1.6 cannot delete a container extension: neither `extensions.KEY` nor a
    // whole `extensions` map without the key removes it. What it can do is store an empty
    // value there, so the old spec is gone and an empty entry stays.
    set_journal_and_old(client, container, None, Any::default()).await
}

/// Set the journal label (`None` removes it) and the saved old container, in one update.
async fn set_journal_and_old(
    client: &Client,
    container: &mut Container,
    j: Option<&Journal>,
    old: Any,
) -> Result<()> {
    match j {
        Some(j) => container.labels.insert(journal::LABEL.into(), j.encode()?),
        None => container.labels.remove(journal::LABEL),
    };
    container
        .extensions
        .insert(journal::OLD_SPEC_EXTENSION.into(), old);
    let paths = [
        format!("labels.{}", journal::LABEL),
        format!("extensions.{}", journal::OLD_SPEC_EXTENSION),
    ];
    *container = client
        .update_container(container.clone(), &[&paths[0], &paths[1]])
        .await?;
    Ok(())
}

/// What a swap puts on the record: the upgrade's new one, or a rollback's old one.
pub struct Swap<'a> {
    pub image: &'a str,
    pub snapshot: &'a str,
    pub spec: &'a Value,
    /// All the labels, the journal included.
    pub labels: HashMap<String, String>,
}

/// Image, snapshot key, spec and labels in one update: the container never has one
/// without the others.
pub async fn swap(client: &Client, container: &mut Container, to: Swap<'_>) -> Result<()> {
    container.image = to.image.to_string();
    container.snapshot_key = to.snapshot.to_string();
    container.spec = Some(spec_any(to.spec, container.spec.as_ref()));
    container.labels = to.labels;
    *container = client
        .update_container(
            container.clone(),
            &["image", "snapshotkey", "spec", "labels"],
        )
        .await?;
    Ok(())
}

/// Replace the spec, and nothing else, in one update.
pub async fn set_spec(client: &Client, container: &mut Container, spec: &Value) -> Result<()> {
    container.spec = Some(spec_any(spec, container.spec.as_ref()));
    *container = client
        .update_container(container.clone(), &["spec"])
        .await?;
    Ok(())
}

/// Take the hand-over variable off the record's spec, if it is there (one update then).
/// A failure is only a warning: the variable's deadline is absolute, so a leftover makes
/// no later start wait.
pub async fn strip_handover(client: &Client, container: &mut Container) {
    let Ok(mut spec) = spec_json(container) else {
        return;
    };
    if !crate::handover_spec::strip_handover_var(&mut spec) {
        return;
    }
    if let Err(e) = set_spec(client, container, &spec).await {
        eprintln!(
            "upgrade-helper: warning: cannot take the hand-over variable off {}'s spec: {e:#}; it is harmless (its deadline has passed or soon will)",
            container.id
        );
    }
}
