//! An image in containerd's store: its manifest for this platform, its config, the chain
//! ID of its layers, and unpacking it into a snapshotter when it is not there yet (the Diff
//! service applies each layer onto a snapshot prepared from the one below).

use crate::containerd::Client;
use anyhow::{anyhow, bail, Context, Result};
use containerd_client::services::v1::{ApplyRequest, Info, UpdateRequest};
use containerd_client::types::Descriptor;
use rich_init::upgrade::merge::{self, ImageConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Instant;

/// An image resolved to what a container needs.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    /// The image's target (manifest or index) digest.
    pub target: String,
    pub config_digest: String,
    pub config: ImageConfig,
    pub manifest_digest: String,
    pub layers: Vec<Descriptor>,
    /// The chain ID of all layers: the snapshot the container's is prepared from.
    pub chain_id: String,
}

/// chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff in diff_ids {
        let next = match out.last() {
            None => diff.clone(),
            Some(prev) => {
                let sum = Sha256::digest(format!("{prev} {diff}").as_bytes());
                let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
                format!("sha256:{hex}")
            }
        };
        out.push(next);
    }
    out
}

fn descriptor(v: &Value) -> Result<Descriptor> {
    Ok(Descriptor {
        media_type: v["mediaType"].as_str().unwrap_or_default().to_string(),
        digest: v["digest"]
            .as_str()
            .ok_or_else(|| anyhow!("a descriptor has no digest"))?
            .to_string(),
        size: v["size"].as_i64().unwrap_or(0),
        annotations: HashMap::new(),
    })
}

fn is_index(media_type: &str, doc: &Value) -> bool {
    media_type.contains("index")
        || media_type.contains("manifest.list")
        || doc.get("manifests").is_some()
}

/// Look the image up and read its manifest and config.
pub async fn resolve(client: &Client, name: &str) -> Result<Resolved> {
    let image = match client.image(name).await {
        Ok(image) => image,
        Err(e) if crate::containerd::not_found(&e) => bail!(
            "image {name} is not in containerd's image store; import or pull it first (ctr images import / ctr images pull)"
        ),
        Err(e) => return Err(e.context(format!("cannot look up image {name}"))),
    };
    let target = image
        .target
        .ok_or_else(|| anyhow!("image {name} has no target"))?;
    let mut digest = target.digest.clone();
    let mut media_type = target.media_type.clone();
    // An index: take the linux/amd64 manifest (or the only one).
    for _ in 0..2 {
        let doc: Value = serde_json::from_slice(&client.read_blob(&digest).await?)
            .with_context(|| format!("image {name}: {digest} is not JSON"))?;
        if !is_index(&media_type, &doc) {
            let config = descriptor(&doc["config"])?;
            let layers = doc["layers"]
                .as_array()
                .ok_or_else(|| anyhow!("image {name}: its manifest has no layers"))?
                .iter()
                .map(descriptor)
                .collect::<Result<Vec<_>>>()?;
            let blob = client.read_blob(&config.digest).await?;
            let config_parsed = merge::parse_image_config(&blob)
                .map_err(|e| anyhow!("image {name}: its config {}: {e}", config.digest))?;
            if config_parsed.diff_ids.len() != layers.len() {
                bail!(
                    "image {name}: {} layers but {} diff_ids",
                    layers.len(),
                    config_parsed.diff_ids.len()
                );
            }
            let chain_id = chain_ids(&config_parsed.diff_ids)
                .pop()
                .ok_or_else(|| anyhow!("image {name} has no layers"))?;
            return Ok(Resolved {
                name: name.to_string(),
                target: target.digest,
                config_digest: config.digest,
                config: config_parsed,
                manifest_digest: digest,
                layers,
                chain_id,
            });
        }
        let manifests = doc["manifests"].as_array().cloned().unwrap_or_default();
        let pick = manifests
            .iter()
            .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64")
            .or(manifests.first())
            .ok_or_else(|| anyhow!("image {name}: its index lists no manifest"))?;
        digest = pick["digest"].as_str().unwrap_or_default().to_string();
        media_type = pick["mediaType"].as_str().unwrap_or_default().to_string();
    }
    bail!("image {name}: an index inside an index is not supported")
}

/// Make sure the image's layers are unpacked in `snapshotter`; prints progress lines.
/// Must run under a lease, so that nothing half-made is collected meanwhile.
pub async fn ensure_unpacked(client: &Client, image: &Resolved, snapshotter: &str) -> Result<bool> {
    if client.snapshot_exists(snapshotter, &image.chain_id).await? {
        return Ok(false);
    }
    let chains = chain_ids(&image.config.diff_ids);
    let total = image.layers.len();
    for (i, (layer, chain)) in image.layers.iter().zip(&chains).enumerate() {
        if client.snapshot_exists(snapshotter, chain).await? {
            continue;
        }
        let started = Instant::now();
        let parent = if i == 0 {
            String::new()
        } else {
            chains[i - 1].clone()
        };
        let key = format!(
            "extract-{}-{}",
            std::process::id(),
            chain.trim_start_matches("sha256:")
        );
        let mounts = client
            .prepare_snapshot(snapshotter, &key, &parent, HashMap::new())
            .await
            .with_context(|| format!("cannot prepare a snapshot to unpack layer {}", i + 1))?;
        let applied = client
            .diff()
            .apply(client.request(ApplyRequest {
                diff: Some(layer.clone()),
                mounts,
                payloads: HashMap::new(),
                sync_fs: false,
            })?)
            .await;
        if let Err(e) = applied {
            let _ = client.remove_snapshot(snapshotter, &key).await;
            return Err(anyhow::Error::from(e).context(format!(
                "cannot unpack layer {} ({})",
                i + 1,
                layer.digest
            )));
        }
        if let Err(e) = client.commit_snapshot(snapshotter, chain, &key).await {
            let _ = client.remove_snapshot(snapshotter, &key).await;
            return Err(e.context(format!("cannot commit layer {}", i + 1)));
        }
        eprintln!(
            "upgrade-helper: unpacked layer {}/{total} {} into {snapshotter} in {} ms",
            i + 1,
            layer.digest,
            started.elapsed().as_millis()
        );
    }
    // What containerd's own unpacker records: the config refers to the snapshot, so the
    // image counts as unpacked and the garbage collector keeps the chain.
    let label = format!("containerd.io/gc.ref.snapshot.{snapshotter}");
    let mut labels = HashMap::new();
    labels.insert(label.clone(), image.chain_id.clone());
    client
        .content()
        .update(client.request(UpdateRequest {
            info: Some(Info {
                digest: image.config_digest.clone(),
                labels,
                ..Info::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![format!("labels.{label}")],
            }),
        })?)
        .await
        .context("cannot label the image config as unpacked")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_oci_definition() {
        let ids = chain_ids(&["sha256:a".into(), "sha256:b".into()]);
        assert_eq!(ids[0], "sha256:a");
        let want: String = Sha256::digest(b"sha256:a sha256:b")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(ids[1], format!("sha256:{want}"));
    }
}
