//! `upgrade-helper upgrade`: the eight steps, each idempotent, and the rollback that any
//! failure before commit leads to. The journal on the container record says how far we
//! got, so that `recover` can finish the job after a crash (see settle.rs).

use crate::containerd::Client;
use crate::fault::fault;
use crate::image::{self, Resolved};
use crate::record::{self, journal_of, spec_json, write_journal, Swap, SNAPSHOT_FOR_LABEL};
use crate::settle::{self, Settled};
use crate::task;
use anyhow::{anyhow, bail, Context, Result};
use containerd_client::services::v1::Container;
use rich_init::upgrade::journal::{self, Journal, Phase};
use rich_init::upgrade::merge::{self, ImageConfig, Overrides};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The label kubelet's containers carry: those are not ours to touch.
pub const CRI_LABEL: &str = "io.cri-containerd.kind";

pub struct Options {
    pub name: String,
    pub image: String,
    pub overrides: Overrides,
    pub health_window: Duration,
    pub probe: Option<Vec<String>>,
    pub stop_timeout: Duration,
}

/// One step done, for the progress lines and --json.
#[derive(Debug, Clone)]
pub struct StepTime {
    pub step: &'static str,
    pub ms: u128,
}

#[derive(Debug, Default)]
pub struct Report {
    pub steps: Vec<StepTime>,
    pub old_image: String,
    pub new_image: String,
    /// Old task stopped → new task running.
    pub gap_ms: Option<u128>,
}

impl Report {
    fn step(&mut self, step: &'static str, started: Instant) {
        let ms = started.elapsed().as_millis();
        eprintln!("upgrade-helper: {step}: done in {ms} ms");
        self.steps.push(StepTime { step, ms });
    }
}

/// How an upgrade ended when it did not succeed.
pub enum Failure {
    /// Nothing was changed, or the rollback put everything back.
    RolledBack(anyhow::Error),
    /// The rollback itself failed: `recover` must finish it.
    Incomplete(anyhow::Error, anyhow::Error),
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

async fn image_config_or_none(client: &Client, name: &str) -> Option<ImageConfig> {
    image::resolve(client, name).await.ok().map(|r| r.config)
}

/// Everything checked before anything changes: Err means nothing was touched.
struct Prepared {
    container: Container,
    new: Resolved,
    old_config: Option<ImageConfig>,
    old_spec: Value,
    task: Option<containerd_client::types::v1::Process>,
}

async fn check(client: &Client, opts: &Options) -> Result<Prepared> {
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

/// Run the upgrade. `report` is filled as steps finish.
pub async fn upgrade(
    client: &mut Client,
    opts: &Options,
    report: &mut Report,
) -> Result<(), Failure> {
    let p = check(client, opts).await.map_err(Failure::RolledBack)?;
    report.old_image = p.container.image.clone();
    report.new_image = p.new.name.clone();
    let was_running = p.task.as_ref().is_some_and(task::is_running);
    let stdio = p.task.as_ref().map(task::stdio).unwrap_or_default();
    let id = opts.name.clone();
    let j = Journal {
        phase: Phase::Prepared,
        old_image: p.container.image.clone(),
        new_image: p.new.name.clone(),
        snapshotter: p.container.snapshotter.clone(),
        old_snapshot: p.container.snapshot_key.clone(),
        new_snapshot: format!("{id}-upgrade-{}", now_nanos()),
        // One name per container: creating it is the lock that keeps two upgrades of the
        // same container from running at once.
        lease: format!("rich-init-upgrade-{id}"),
        was_running,
        stdio,
    };
    let mut container = p.container.clone();
    let mut progress = Progress::default();
    let result = steps(client, opts, &p, &j, &mut container, &mut progress, report).await;
    client.set_lease(None);
    match result {
        Ok(()) => Ok(()),
        Err(e) if !progress.lease_ours => Err(Failure::RolledBack(e)),
        Err(e) => {
            // Settle by the journal even if we think we never wrote it: a write whose answer
            // was lost may have been applied.
            eprintln!("upgrade-helper: failed: {e:#}; settling by the journal");
            match settle::settle(client, &id).await {
                Ok(Settled::Finished) => {
                    eprintln!(
                        "upgrade-helper: that was after the commit; the upgrade was finished"
                    );
                    Ok(())
                }
                Ok(Settled::RolledBack) => Err(Failure::RolledBack(e)),
                // No journal: only our lease exists.
                Ok(Settled::Nothing) => match client.delete_lease(&j.lease).await {
                    Ok(()) => Err(Failure::RolledBack(e)),
                    Err(e2) => Err(Failure::Incomplete(e, e2)),
                },
                Err(e2) => Err(Failure::Incomplete(e, e2)),
            }
        }
    }
}

/// What exists that a failure must undo.
#[derive(Default)]
struct Progress {
    lease_ours: bool,
}

#[allow(clippy::too_many_arguments)]
async fn steps(
    client: &mut Client,
    opts: &Options,
    p: &Prepared,
    j: &Journal,
    container: &mut Container,
    progress: &mut Progress,
    report: &mut Report,
) -> Result<()> {
    let id = opts.name.as_str();
    // What the new container runs, worked out before anything changes: an image with
    // neither entrypoint nor cmd fails here, not after the old task was stopped.
    let old_config = p.old_config.clone().unwrap_or_else(|| ImageConfig {
        // Unknown old image: nothing counts as coming from it.
        ..ImageConfig::default()
    });
    let new_spec = merge::rewrite_spec(&p.old_spec, &old_config, &p.new.config, &opts.overrides)
        .map_err(|e| anyhow!("{e}"))?;
    // 1. A lease protects the old snapshot and the new image while we work.
    fault("lease")?;
    let t = Instant::now();
    // Who holds the lock: `recover` leaves the upgrade alone while this process lives.
    let owner: HashMap<String, String> = crate::owner::Owner::me()
        .map(|o| (crate::owner::LABEL.to_string(), o.encode()))
        .into_iter()
        .collect();
    if !client
        .create_lease(&j.lease, owner)
        .await
        .context("cannot create a lease")?
    {
        bail!(
            "another upgrade of {id} holds lease {}; if none is running, run `upgrade-helper recover {id}`",
            j.lease
        );
    }
    progress.lease_ours = true;
    // Checked again now that we hold the lock: another upgrade may have come and gone.
    let fresh = client.container(id).await?;
    if journal_of(&fresh)?.is_some()
        || fresh.image != p.container.image
        || fresh.snapshot_key != p.container.snapshot_key
    {
        bail!("container {id} changed while this upgrade was starting; run it again");
    }
    client
        .lease_add(
            &j.lease,
            &j.old_snapshot,
            &format!("snapshots/{}", j.snapshotter),
        )
        .await
        .context("cannot add the old snapshot to the lease")?;
    for digest in [&p.new.manifest_digest, &p.new.config_digest, &p.new.target] {
        client.lease_add(&j.lease, digest, "content").await?;
    }
    for layer in &p.new.layers {
        client.lease_add(&j.lease, &layer.digest, "content").await?;
    }
    client.set_lease(Some(j.lease.clone()));
    report.step("1/8 lease", t);

    // 2. The journal, with the old spec and labels, on the container record.
    fault("journal")?;
    let t = Instant::now();
    record::begin_journal(client, container, &p.old_spec, j)
        .await
        .context("cannot write the journal")?;
    report.step("2/8 journal", t);

    // 3. The new snapshot, from the image's chain (unpacked first if needed).
    fault("snapshot")?;
    let t = Instant::now();
    image::ensure_unpacked(client, &p.new, &j.snapshotter).await?;
    if !client
        .snapshot_exists(&j.snapshotter, &j.new_snapshot)
        .await?
    {
        client
            .prepare_snapshot(
                &j.snapshotter,
                &j.new_snapshot,
                &p.new.chain_id,
                HashMap::from([(SNAPSHOT_FOR_LABEL.to_string(), id.to_string())]),
            )
            .await
            .context("cannot prepare the new snapshot")?;
    }
    report.step("3/8 snapshot", t);

    // 4. Stop the old task: its stop signal, the timeout, SIGKILL; then delete it.
    fault("stop")?;
    let t = Instant::now();
    let signal = task::stop_signal(&p.container.labels, p.old_config.as_ref(), &p.old_spec);
    task::stop(client, id, signal, opts.stop_timeout).await?;
    let stopped_at = Instant::now();
    report.step("4/8 stop", t);

    // 5. Swap image, snapshot and spec (and the labels) in one update.
    fault("swap")?;
    let t = Instant::now();
    let old_labels: BTreeMap<String, String> = container
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() != journal::LABEL)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut labels: HashMap<String, String> =
        merge::labels(&old_labels, &old_config, &p.new.config, &opts.overrides)
            .into_iter()
            .collect();
    // containerd's copy of the image's stop signal follows the image.
    if labels.contains_key(task::STOP_SIGNAL_LABEL) {
        let signal = p
            .new
            .config
            .stop_signal
            .clone()
            .unwrap_or_else(|| "SIGTERM".into());
        labels.insert(task::STOP_SIGNAL_LABEL.into(), signal);
    }
    let swapped = Journal {
        phase: Phase::Swapped,
        ..j.clone()
    };
    labels.insert(journal::LABEL.into(), swapped.encode()?);
    let to = Swap {
        image: &p.new.name,
        snapshot: &j.new_snapshot,
        spec: &new_spec,
        labels,
    };
    record::swap(client, container, to)
        .await
        .context("cannot swap the container's image")?;
    report.step("5/8 swap", t);

    if j.was_running {
        // 6. The new task, with the old one's stdio.
        fault("start")?;
        let t = Instant::now();
        task::create_and_start(client, id, &j.snapshotter, &j.new_snapshot, &j.stdio).await?;
        report.gap_ms = Some(stopped_at.elapsed().as_millis());
        report.step("6/8 start", t);

        // 7. The health gate.
        fault("health")?;
        let t = Instant::now();
        task::health_gate(
            client,
            id,
            opts.health_window,
            opts.probe.as_deref(),
            &new_spec,
        )
        .await?;
        report.step("7/8 health", t);
    } else {
        eprintln!("upgrade-helper: the container was not running; it stays stopped (steps 6 and 7 skipped)");
    }

    // 8. Commit: past this point we finish, never roll back.
    fault("commit")?;
    let t = Instant::now();
    let committing = Journal {
        phase: Phase::Committing,
        ..j.clone()
    };
    write_journal(client, container, &committing).await?;
    client.set_lease(None);
    fault("commit-cleanup")?;
    settle::finish_commit(client, id).await?;
    report.step("8/8 commit", t);
    Ok(())
}
