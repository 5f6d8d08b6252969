//! What `upgrade-helper upgrade` is asked to do, and everything checked before anything
//! changes: an error here means nothing was touched.

use crate::containerd::Client;
use crate::image::{self, Resolved};
use crate::record::{journal_of, spec_json};
use anyhow::{bail, Result};
use containerd_client::services::v1::Container;
use rich_init::upgrade::merge::{ImageConfig, Overrides};
use serde_json::Value;
use std::time::Duration;

/// The label kubelet's containers carry: those are not ours to touch.
const CRI_LABEL: &str = "io.cri-containerd.kind";

/// What the user asked for, from the command line.
pub struct Options {
    pub name: String,
    pub image: String,
    pub overrides: Overrides,
    pub health_window: Duration,
    pub probe: Option<Vec<String>>,
    pub stop_timeout: Duration,
    /// How long a new init waits for the descriptors of a hand-over.
    pub handover_wait: Duration,
}

async fn image_config_or_none(client: &Client, name: &str) -> Option<ImageConfig> {
    image::resolve(client, name).await.ok().map(|r| r.config)
}

/// Everything checked before anything changes: Err means nothing was touched.
pub struct Prepared {
    pub container: Container,
    pub new: Resolved,
    pub old_config: Option<ImageConfig>,
    pub old_spec: Value,
    pub task: Option<containerd_client::types::v1::Process>,
}

pub async fn check(client: &Client, opts: &Options) -> Result<Prepared> {
    let container = match client.container(&opts.name).await {
        Ok(c) => c,
        Err(e) if crate::containerd::not_found(&e) => {
            bail!(
                "container {} does not exist in this namespace (--namespace)",
                opts.name
            )
        }
        Err(e) => return Err(e.context(format!("cannot look up container {}", opts.name))),
    };
    if container.labels.contains_key(CRI_LABEL) {
        bail!(
            "container {} belongs to the CRI plugin (label {CRI_LABEL}); kubelet owns it, upgrade it through Kubernetes",
            opts.name
        );
    }
    if journal_of(&container)?.is_some() {
        bail!(
            "container {} has a pending upgrade: another upgrade-helper is at work, or one was interrupted (then run `upgrade-helper recover {}`)",
            opts.name,
            opts.name
        );
    }
    if container.snapshot_key.is_empty() || container.snapshotter.is_empty() {
        bail!(
            "container {} has no snapshot; it was not created from an image",
            opts.name
        );
    }
    let new = image::resolve(client, &opts.image).await?;
    if container.image == opts.image {
        bail!(
            "image not changed: container {} already runs {}",
            opts.name,
            opts.image
        );
    }
    let old_config = image_config_or_none(client, &container.image).await;
    if old_config.is_none() {
        eprintln!(
            "upgrade-helper: the old image {} is gone; the container's args, env and labels count as set by the user",
            container.image
        );
    }
    let old_spec = spec_json(&container)?;
    let task = client.task(&opts.name).await?;
    Ok(Prepared {
        container,
        new,
        old_config,
        old_spec,
        task,
    })
}
