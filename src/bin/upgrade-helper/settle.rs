//! Bringing a container with a journal to a consistent end: before the commit, roll back
//! to the old image, snapshot, spec and labels (restarting the old task if it ran); from
//! the commit on, finish the cleanup. Each step checks what is already done, so that a
//! crash in the middle of this is recovered by running it again. A failed upgrade and
//! `recover` both end here.

use crate::containerd::Client;
use crate::fault::fault;
use crate::handover::{self, Held};
use crate::handover_spec::strip_handover_var;
use crate::record::{self, clear_journal, journal_of, old_container, Swap};
use crate::task;
use anyhow::{anyhow, Context, Result};
use containerd_client::services::v1::Container;
use rich_init::upgrade::journal::{self, Journal, Phase};
use std::fmt;

/// How `settle` left a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// It had no journal.
    Nothing,
    RolledBack,
    /// The upgrade had committed; its cleanup is done.
    Finished,
}

impl Settled {
    pub fn describe(self) -> &'static str {
        match self {
            Settled::Nothing => "no pending upgrade, nothing to do",
            Settled::RolledBack => "rolled back",
            Settled::Finished => "upgrade finished",
        }
    }
}

/// Finish or roll back the upgrade of `id`, as its journal says.
pub async fn settle(client: &Client, id: &str) -> Result<Settled> {
    settle_with(client, id, None).await
}

/// [`settle`], by the upgrade that holds `held`, the old init's descriptors: a rollback
/// that restarts the old task gives them back to it.
pub async fn settle_with(client: &Client, id: &str, held: Option<&mut Held>) -> Result<Settled> {
    let container = client.container(id).await?;
    match journal_of(&container)? {
        None => Ok(Settled::Nothing),
        Some(j) if j.phase == Phase::Committing => {
            finish_commit(client, id).await?;
            Ok(Settled::Finished)
        }
        Some(_) => {
            roll_back(client, id, held).await?;
            Ok(Settled::RolledBack)
        }
    }
}

/// Roll back an upgrade that has not committed.
async fn roll_back(client: &Client, id: &str, held: Option<&mut Held>) -> Result<()> {
    fault("rollback")?;
    let mut container = client.container(id).await?;
    let Some(j) = journal_of(&container)? else {
        return Ok(());
    };
    if j.phase == Phase::Committing {
        return Err(anyhow!(
            "the upgrade of {id} has committed; it can only be finished, not rolled back"
        ));
    }
    // The record: back to the old image, snapshot, spec and labels, with the journal
    // turned back to "prepared" (what is left is the same as for an early failure).
    if container.image != j.old_image || container.snapshot_key != j.old_snapshot {
        task::stop(client, id, 9, std::time::Duration::from_secs(10))
            .await
            .context("cannot stop the new task")?;
        let (mut spec, mut labels) = old_container(&container)?;
        strip_handover_var(&mut spec);
        let prepared = Journal {
            phase: Phase::Prepared,
            ..j.clone()
        };
        labels.insert(journal::LABEL.into(), prepared.encode()?);
        let to = Swap {
            image: &j.old_image,
            snapshot: &j.old_snapshot,
            spec: &spec,
            labels,
        };
        record::swap(client, &mut container, to)
            .await
            .context("cannot put the old image back on the container")?;
        eprintln!(
            "upgrade-helper: rollback: container {id} has its old image {} again",
            j.old_image
        );
    }
    // A crash in a hand-over may have left its variable on the record.
    record::strip_handover(client, &mut container).await;
    if j.was_running {
        let running = client.task(id).await?.is_some_and(|t| task::is_running(&t));
        if !running {
            restart(client, &mut container, &j, held).await?;
            eprintln!("upgrade-helper: rollback: the old task of {id} runs again");
        }
    }
    remove_unless_used(
        client,
        &j.snapshotter,
        &j.new_snapshot,
        Some(id),
        "rollback",
    )
    .await?;
    clear_journal(client, &mut container).await?;
    client.delete_lease(&j.lease).await?;
    Ok(())
}

/// Restart the old task; with descriptors held, create it with the hand-over variable
/// (set on the record for CreateTask, taken off after) and give them back to it.
async fn restart(
    client: &Client,
    container: &mut Container,
    j: &Journal,
    held: Option<&mut Held>,
) -> Result<()> {
    let id = container.id.clone();
    let mut armed = None;
    if let Some(held) = held.filter(|h| !h.is_empty()) {
        let mut spec = record::spec_json(container)?;
        if held.arm(&mut spec) {
            match record::set_spec(client, container, &spec).await {
                Ok(()) => armed = Some(held),
                Err(e) => held.release(&format!(
                    "cannot set the hand-over variable on the old spec: {e:#}"
                )),
            }
        }
    }
    let started = task::create_and_start(client, &id, &j.snapshotter, &j.old_snapshot, &j.stdio)
        .await
        .context("cannot restart the old task");
    let pid = match started {
        Ok(pid) => pid,
        Err(e) => {
            record::strip_handover(client, container).await;
            return Err(e);
        }
    };
    if let Some(held) = armed {
        fault("handover-give-back")?;
        handover::give_and_unset(client, container, held, pid, "restarted old init").await?;
    }
    Ok(())
}

/// What `remove_unless_used` finds about a snapshot the journal names.
#[derive(Debug)]
enum Found {
    /// Nothing refers to it: it can go.
    Unused,
    /// It does not exist (an earlier run removed it): nothing to do, nothing to say.
    Gone,
    /// It must stay; the reason is said in one line.
    Kept(Keep),
}

/// Why a snapshot must stay.
#[derive(Debug)]
enum Keep {
    /// It lacks the label that marks the snapshot upgrade-helper made for this container.
    NotMadeFor(String),
    /// This container names it.
    UsedBy(String),
    /// This snapshot is its child.
    ParentOf(String),
}

impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keep::NotMadeFor(id) => write!(
                f,
                "upgrade-helper did not make it for {id} (no label {}={id})",
                record::SNAPSHOT_FOR_LABEL
            ),
            Keep::UsedBy(container) => write!(f, "container {container} uses it"),
            Keep::ParentOf(child) => write!(f, "snapshot {child} is its child"),
        }
    }
}

/// Whether `key` must stay: it is gone, it is not the snapshot that upgrade-helper made for
/// container `made_for` (when given), a container names it, or a snapshot is its child.
async fn examine(
    client: &Client,
    snapshotter: &str,
    key: &str,
    made_for: Option<&str>,
) -> Result<Found> {
    let Some(info) = client.snapshot_info(snapshotter, key).await? else {
        return Ok(Found::Gone);
    };
    if let Some(id) = made_for {
        if info
            .labels
            .get(record::SNAPSHOT_FOR_LABEL)
            .map(String::as_str)
            != Some(id)
        {
            return Ok(Found::Kept(Keep::NotMadeFor(id.to_string())));
        }
    }
    if let Some(user) = client
        .list_containers()
        .await?
        .into_iter()
        .find(|c| c.snapshotter == snapshotter && c.snapshot_key == key)
    {
        return Ok(Found::Kept(Keep::UsedBy(user.id)));
    }
    if let Some(child) = client
        .list_snapshots(snapshotter)
        .await?
        .into_iter()
        .find(|s| s.parent == key)
    {
        return Ok(Found::Kept(Keep::ParentOf(child.name)));
    }
    Ok(Found::Unused)
}

/// Remove a snapshot the journal names, unless something else refers to it; then say
/// so in one line and leave it (a lease-less snapshot nobody names is collected anyway).
async fn remove_unless_used(
    client: &Client,
    snapshotter: &str,
    key: &str,
    made_for: Option<&str>,
    step: &str,
) -> Result<()> {
    match examine(client, snapshotter, key, made_for).await? {
        Found::Unused => client.remove_snapshot(snapshotter, key).await,
        Found::Gone => Ok(()),
        Found::Kept(reason) => {
            eprintln!("upgrade-helper: {step}: snapshot {key} is left alone: {reason}");
            Ok(())
        }
    }
}

/// Finish a committed upgrade: remove the old snapshot, clear the journal, drop the lease.
pub async fn finish_commit(client: &Client, id: &str) -> Result<()> {
    let mut container = client.container(id).await?;
    let Some(j) = journal_of(&container)? else {
        return Ok(());
    };
    // A crash in the hand-over may have left its variable on the record.
    record::strip_handover(client, &mut container).await;
    // Never a snapshot that any container still names (ours included) or that has a child.
    remove_unless_used(client, &j.snapshotter, &j.old_snapshot, None, "commit").await?;
    clear_journal(client, &mut container).await?;
    client.delete_lease(&j.lease).await?;
    Ok(())
}
