//! `upgrade-helper upgrade`: check, run the steps (steps.rs), and on a failure after the
//! lease settle by the journal: before the commit that rolls back, from the commit on it
//! finishes. The journal on the container record says how far we got, so that `recover`
//! can finish the job after a crash (see settle.rs).

use crate::check::check;
pub use crate::check::Options;
use crate::containerd::Client;
use crate::settle::{self, Settled};
pub use crate::steps::Report;
use crate::steps::Work;
use crate::task;
use rich_init::upgrade::journal::{Journal, Phase};
use std::time::{SystemTime, UNIX_EPOCH};

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

/// Run the upgrade. `report` is filled as steps finish.
pub async fn upgrade(
    client: &mut Client,
    opts: &Options,
    report: &mut Report,
) -> Result<(), Failure> {
    let p = check(client, opts).await.map_err(Failure::RolledBack)?;
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
    let (result, lease_ours, mut held) = match Work::new(client, opts, &p, &j, report) {
        Ok(mut work) => (work.run().await, work.lease_ours(), work.take_held()),
        Err(e) => (Err(e), false, None),
    };
    client.set_lease(None);
    match result {
        Ok(()) => Ok(()),
        Err(e) if !lease_ours => Err(Failure::RolledBack(e)),
        Err(e) => {
            // Settle by the journal even if we think we never wrote it: a write whose answer
            // was lost may have been applied.
            eprintln!("upgrade-helper: failed: {e:#}; settling by the journal");
            match settle::settle_with(client, &id, held.as_mut()).await {
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
