//! `upgrade-helper recover [NAME...]`: settle every container that has a journal (or the
//! ones named), leave alone the upgrades whose helper still runs, and remove the leases of
//! upgrades that died before writing their journal.

use crate::containerd::Client;
use crate::owner::{self, Owner};
use crate::record::journal_of;
use crate::settle::{settle, Settled};
use anyhow::Result;
use rich_init::upgrade::journal;

/// What `recover` did: each container's end, and the ones it could not settle.
#[derive(Default)]
pub struct Recovered {
    pub settled: Vec<(String, Settled)>,
    /// Named containers that do not exist.
    pub unknown: Vec<String>,
    /// Containers whose journal could not be settled (run recover again).
    pub failed: Vec<(String, anyhow::Error)>,
    /// Containers whose upgrade is still running (its owner lives): left alone.
    pub busy: Vec<(String, Owner)>,
}

/// `upgrade-helper recover [NAME...]`.
pub async fn recover(client: &Client, names: &[String]) -> Result<Recovered> {
    let mut out = Recovered::default();
    let mut ids: Vec<String> = Vec::new();
    if names.is_empty() {
        for c in client.list_containers().await? {
            if c.labels.contains_key(journal::LABEL) {
                ids.push(c.id);
            }
        }
    }
    for name in names {
        match client.container(name).await {
            Ok(_) => ids.push(name.clone()),
            Err(e) if crate::containerd::not_found(&e) => out.unknown.push(name.clone()),
            Err(e) => return Err(e.context(format!("cannot look up container {name}"))),
        }
    }
    let leases = client.upgrade_leases().await?;
    // The owner of a lease, if it is alive and not us.
    let running = |lease: &str| -> Option<Owner> {
        leases
            .iter()
            .find(|(id, _)| id == lease)
            .and_then(|(_, labels)| labels.get(owner::LABEL))
            .and_then(|text| Owner::parse(text))
            .filter(Owner::alive_elsewhere)
    };
    for id in ids {
        let lease = client
            .container(&id)
            .await
            .ok()
            .and_then(|c| journal_of(&c).ok().flatten())
            .map(|j| j.lease);
        if let Some(owner) = lease.as_deref().and_then(running) {
            out.busy.push((id, owner));
            continue;
        }
        match settle(client, &id).await {
            Ok(end) => out.settled.push((id, end)),
            Err(e) => out.failed.push((id, e)),
        }
    }
    // Leases of upgrades that died before writing their journal.
    let containers = client.list_containers().await?;
    for (lease, _) in &leases {
        if let Some(owner) = running(lease) {
            eprintln!(
                "upgrade-helper: lease {lease} belongs to an upgrade that is still running ({}); left alone",
                owner.describe()
            );
            continue;
        }
        let owned = containers
            .iter()
            .filter_map(|c| journal_of(c).ok().flatten())
            .any(|j| &j.lease == lease);
        if !owned {
            client.delete_lease(lease).await?;
            eprintln!(
                "upgrade-helper: removed lease {lease} of an upgrade that never wrote its journal"
            );
        }
    }
    Ok(out)
}
