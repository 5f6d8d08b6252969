//! The eight steps of an upgrade, each idempotent, one function each, run in the order of
//! the table `STEPS` by one loop that does what every step needs: the fault-injection point,
//! the timing, the progress line and the report entry.

use crate::check::{Options, Prepared};
use crate::containerd::Client;
use crate::fault::fault;
use crate::handover::{self, Handover, Held};
use crate::handover_spec::strip_handover_var;
use crate::image;
use crate::owner::{self, Owner};
use crate::record::{self, journal_of, write_journal, Swap, SNAPSHOT_FOR_LABEL};
use crate::settle;
use crate::task;
use anyhow::{anyhow, bail, Context, Result};
use containerd_client::services::v1::Container;
use containerd_client::types::v1::Status;
use rich_init::upgrade::journal::{self, Journal, Phase};
use rich_init::upgrade::merge::{self, ImageConfig};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

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
    /// The descriptor hand-over; None when nothing was taken.
    pub handover: Option<Handover>,
}

impl Report {
    fn step(&mut self, step: &'static str, started: Instant) {
        let ms = started.elapsed().as_millis();
        eprintln!("upgrade-helper: {step}: done in {ms} ms");
        self.steps.push(StepTime { step, ms });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Lease,
    Journal,
    Snapshot,
    Stop,
    Swap,
    Start,
    Health,
    Commit,
}

/// The steps in the order they run.
const STEPS: [Step; 8] = [
    Step::Lease,
    Step::Journal,
    Step::Snapshot,
    Step::Stop,
    Step::Swap,
    Step::Start,
    Step::Health,
    Step::Commit,
];

impl Step {
    /// Its name for `UPGRADE_HELPER_FAULT` (see fault.rs).
    fn fault_point(self) -> &'static str {
        match self {
            Step::Lease => "lease",
            Step::Journal => "journal",
            Step::Snapshot => "snapshot",
            Step::Stop => "stop",
            Step::Swap => "swap",
            Step::Start => "start",
            Step::Health => "health",
            Step::Commit => "commit",
        }
    }

    /// Its name in the progress lines and in --json.
    fn label(self) -> &'static str {
        match self {
            Step::Lease => "1/8 lease",
            Step::Journal => "2/8 journal",
            Step::Snapshot => "3/8 snapshot",
            Step::Stop => "4/8 stop",
            Step::Swap => "5/8 swap",
            Step::Start => "6/8 start",
            Step::Health => "7/8 health",
            Step::Commit => "8/8 commit",
        }
    }

    /// Whether it runs only when the old task was running (a stopped container stays
    /// stopped).
    fn needs_running_task(self) -> bool {
        matches!(self, Step::Start | Step::Health)
    }

    async fn run(self, w: &mut Work<'_>) -> Result<()> {
        match self {
            Step::Lease => w.lease().await,
            Step::Journal => w.journal().await,
            Step::Snapshot => w.snapshot().await,
            Step::Stop => w.stop().await,
            Step::Swap => w.swap().await,
            Step::Start => w.start().await,
            Step::Health => w.health().await,
            Step::Commit => w.commit().await,
        }
    }
}

/// An upgrade under way: what it was given, and what the steps have done so far.
pub struct Work<'a> {
    client: &'a mut Client,
    opts: &'a Options,
    p: &'a Prepared,
    j: &'a Journal,
    report: &'a mut Report,
    /// The container record as the last update returned it.
    container: Container,
    /// The old image's config; empty when that image is gone (then nothing counts as
    /// coming from it).
    old_config: ImageConfig,
    new_spec: Value,
    /// The lease is ours: from then on, a failure is settled by the journal.
    lease_ours: bool,
    stopped_at: Option<Instant>,
    /// The descriptors taken from the old init, held until the commit.
    held: Option<Held>,
}

impl<'a> Work<'a> {
    /// Works out what the new container runs before anything changes: an image with
    /// neither entrypoint nor cmd fails here, not after the old task was stopped.
    pub fn new(
        client: &'a mut Client,
        opts: &'a Options,
        p: &'a Prepared,
        j: &'a Journal,
        report: &'a mut Report,
    ) -> Result<Self> {
        report.old_image = p.container.image.clone();
        report.new_image = p.new.name.clone();
        let old_config = p.old_config.clone().unwrap_or_default();
        // The hand-over variable never carries over (from the old spec, the image or --env):
        // only a hand-over sets it, on the new task alone.
        let mut old_spec = p.old_spec.clone();
        strip_handover_var(&mut old_spec);
        let mut new_spec =
            merge::rewrite_spec(&old_spec, &old_config, &p.new.config, &opts.overrides)
                .map_err(|e| anyhow!("{e}"))?;
        strip_handover_var(&mut new_spec);
        Ok(Work {
            client,
            opts,
            p,
            j,
            report,
            container: p.container.clone(),
            old_config,
            new_spec,
            lease_ours: false,
            stopped_at: None,
            held: None,
        })
    }

    /// Whether the lease is ours (even if a later step failed).
    pub fn lease_ours(&self) -> bool {
        self.lease_ours
    }

    /// The descriptors still held, for a rollback to give back to the old init.
    pub fn take_held(&mut self) -> Option<Held> {
        self.held.take()
    }

    /// Run the steps of the table in order; stop at the first that fails.
    pub async fn run(&mut self) -> Result<()> {
        let mut said_skipped = false;
        for step in STEPS {
            if step.needs_running_task() && !self.j.was_running {
                if !said_skipped {
                    eprintln!("upgrade-helper: the container was not running; it stays stopped (steps 6 and 7 skipped)");
                    said_skipped = true;
                }
                continue;
            }
            fault(step.fault_point())?;
            let t = Instant::now();
            step.run(self).await?;
            self.report.step(step.label(), t);
        }
        Ok(())
    }

    /// 1. A lease protects the old snapshot and the new image while we work.
    async fn lease(&mut self) -> Result<()> {
        let (id, j, p) = (self.opts.name.as_str(), self.j, self.p);
        // Who holds the lock: `recover` leaves the upgrade alone while this process lives.
        let owner: HashMap<String, String> = Owner::me()
            .map(|o| (owner::LABEL.to_string(), o.encode()))
            .into_iter()
            .collect();
        if !self
            .client
            .create_lease(&j.lease, owner)
            .await
            .context("cannot create a lease")?
        {
            bail!(
                "another upgrade of {id} holds lease {}; if none is running, run `upgrade-helper recover {id}`",
                j.lease
            );
        }
        self.lease_ours = true;
        // Checked again now that we hold the lock: another upgrade may have come and gone.
        let fresh = self.client.container(id).await?;
        if journal_of(&fresh)?.is_some()
            || fresh.image != p.container.image
            || fresh.snapshot_key != p.container.snapshot_key
        {
            bail!("container {id} changed while this upgrade was starting; run it again");
        }
        self.client
            .lease_add(
                &j.lease,
                &j.old_snapshot,
                &format!("snapshots/{}", j.snapshotter),
            )
            .await
            .context("cannot add the old snapshot to the lease")?;
        for digest in [&p.new.manifest_digest, &p.new.config_digest, &p.new.target] {
            self.client.lease_add(&j.lease, digest, "content").await?;
        }
        for layer in &p.new.layers {
            self.client
                .lease_add(&j.lease, &layer.digest, "content")
                .await?;
        }
        self.client.set_lease(Some(j.lease.clone()));
        Ok(())
    }

    /// 2. The journal, with the old spec and labels, on the container record.
    async fn journal(&mut self) -> Result<()> {
        record::begin_journal(self.client, &mut self.container, &self.p.old_spec, self.j)
            .await
            .context("cannot write the journal")
    }

    /// 3. The new snapshot, from the image's chain (unpacked first if needed).
    async fn snapshot(&mut self) -> Result<()> {
        let (client, j, p) = (&*self.client, self.j, self.p);
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
                    HashMap::from([(SNAPSHOT_FOR_LABEL.to_string(), self.opts.name.clone())]),
                )
                .await
                .context("cannot prepare the new snapshot")?;
        }
        Ok(())
    }

    /// 4. Stop the old task: the hand-over's take first (if it runs), then its stop
    ///    signal, the timeout, SIGKILL; then delete it.
    async fn stop(&mut self) -> Result<()> {
        let p = self.p;
        let running = p
            .task
            .as_ref()
            .filter(|t| t.status == Status::Running as i32);
        if let Some(t) = running.filter(|_| !self.opts.handover_wait.is_zero()) {
            fault("handover-take")?;
            let wait = self.opts.handover_wait;
            self.held = handover::take(t.pid, &p.old_spec, &self.new_spec, wait).await;
            self.report.handover = self.held.as_ref().map(|h| Handover {
                taken: h.len(),
                given: None,
            });
        }
        let signal = task::stop_signal(&p.container.labels, p.old_config.as_ref(), &p.old_spec);
        task::stop(self.client, &self.opts.name, signal, self.opts.stop_timeout).await?;
        self.stopped_at = Some(Instant::now());
        Ok(())
    }

    /// 5. Swap image, snapshot and spec (and the labels) in one update.
    async fn swap(&mut self) -> Result<()> {
        let (j, p) = (self.j, self.p);
        let old_labels: BTreeMap<String, String> = self
            .container
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != journal::LABEL)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut labels: HashMap<String, String> = merge::labels(
            &old_labels,
            &self.old_config,
            &p.new.config,
            &self.opts.overrides,
        )
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
        // With descriptors to give, the new task is created with the hand-over variable
        // (CreateTask reads the spec from the record); step 6 takes it off again.
        let mut spec = self.new_spec.clone();
        if let Some(held) = self.held.as_mut() {
            held.arm(&mut spec);
        }
        let to = Swap {
            image: &p.new.name,
            snapshot: &j.new_snapshot,
            spec: &spec,
            labels,
        };
        record::swap(self.client, &mut self.container, to)
            .await
            .context("cannot swap the container's image")
    }

    /// 6. The new task, with the old one's stdio; then the hand-over's give.
    async fn start(&mut self) -> Result<()> {
        let j = self.j;
        let pid = task::create_and_start(
            self.client,
            &self.opts.name,
            &j.snapshotter,
            &j.new_snapshot,
            &j.stdio,
        )
        .await?;
        self.report.gap_ms = self.stopped_at.map(|t| t.elapsed().as_millis());
        if let Some(held) = self.held.as_mut().filter(|h| !h.is_empty()) {
            fault("handover-give")?;
            let given =
                handover::give_and_unset(self.client, &mut self.container, held, pid, "new init")
                    .await?;
            if let Some(h) = self.report.handover.as_mut() {
                h.given = given;
            }
        }
        Ok(())
    }

    /// 7. The health gate.
    async fn health(&mut self) -> Result<()> {
        let opts = self.opts;
        task::health_gate(
            self.client,
            &opts.name,
            opts.health_window,
            opts.probe.as_deref(),
            &self.new_spec,
        )
        .await
    }

    /// 8. Commit: past this point we finish, never roll back.
    async fn commit(&mut self) -> Result<()> {
        let committing = Journal {
            phase: Phase::Committing,
            ..self.j.clone()
        };
        write_journal(self.client, &mut self.container, &committing).await?;
        // No rollback from here: our copies of the descriptors can go.
        self.held = None;
        self.client.set_lease(None);
        fault("commit-cleanup")?;
        settle::finish_commit(self.client, &self.opts.name).await
    }
}
