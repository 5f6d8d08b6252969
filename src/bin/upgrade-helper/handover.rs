//! The descriptor hand-over of an upgrade (issue 17), the helper's side: take the held
//! `listen` sockets and fd-store descriptors from the old init right before its task
//! stops, hold them while the task is replaced (the netns is kept, so the kernel queues
//! connections in their backlogs), give them to the new init once it starts, or back to
//! the restarted old one on a rollback. Our copies live until the commit, unless the new
//! init closed some of them, or the give did not happen in time (see [`give`]).
//!
//! A hand-over that cannot happen never fails an upgrade: one line says why, and the
//! services bind afresh. When a task that is to get them will not (it does not run
//! rich-init in rich mode, or the give failed), our copies are closed at once: a copy we
//! kept would hold its ports, and its fresh bind would fail.

use crate::containerd::Client;
use crate::handover_io::{self, Fail};
use crate::handover_spec::{control_socket, deadline_ms, give_up_ms, on_host, set_handover_var};
use crate::record;
use anyhow::Result;
use containerd_client::services::v1::Container;
use rich_init::control::handover::{Given, Handed};
use rich_init::sys::strerror;
use serde_json::Value;
use std::os::fd::OwnedFd;
use std::time::{Duration, SystemTime};

/// The descriptors the helper holds between a take and the commit.
pub struct Held {
    fds: Vec<(Handed, OwnedFd)>,
    /// How long a new init waits for them (`--handover-wait`).
    wait: Duration,
    /// The deadline written into the spec of the task being created (ms since the epoch).
    deadline_ms: Option<u128>,
}

/// What the report says of a hand-over.
#[derive(Debug, Clone, Copy, Default)]
pub struct Handover {
    /// Descriptors taken from the old init (sockets only).
    pub taken: usize,
    /// The new init's answer to the give; None when there was no give or it failed.
    pub given: Option<Given>,
}

const SAY: &str = "upgrade-helper: hand-over:";

/// "1 descriptor", "2 descriptors".
fn descriptors(n: usize) -> String {
    match n {
        1 => "1 descriptor".into(),
        n => format!("{n} descriptors"),
    }
}

impl Held {
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// Close our copies, saying why (nothing is said when there are none).
    pub fn release(&mut self, why: &str) {
        if !self.fds.is_empty() {
            let n = descriptors(self.fds.len());
            eprintln!("{SAY} closed the {n} held: {why}");
            self.fds.clear();
        }
    }

    /// Ready `spec` (the next task's) for a give: the variable, with a deadline `wait`
    /// from now; true then. Nothing held: false. A spec that does not run rich-init in
    /// rich mode with a control socket: our copies are closed (that task binds afresh),
    /// false.
    pub fn arm(&mut self, spec: &mut Value) -> bool {
        if self.fds.is_empty() {
            return false;
        }
        if control_socket(spec).is_none() {
            self.release("the task to come does not run rich-init in rich mode with a control socket; its services bind afresh");
            return false;
        }
        let deadline = deadline_ms(SystemTime::now(), self.wait);
        if !set_handover_var(spec, deadline) {
            self.release("the spec has no process to set the hand-over variable in");
            return false;
        }
        self.deadline_ms = Some(deadline);
        true
    }
}

/// Take the descriptors of init `pid`, which runs `spec`, for the task to come, which
/// will run `new_spec`. None: nothing to hold (either does not run rich-init in rich mode
/// with a control socket, the init holds none, or the take failed: said in one line).
pub async fn take(pid: u32, spec: &Value, new_spec: &Value, wait: Duration) -> Option<Held> {
    let Some(inside) = control_socket(spec) else {
        eprintln!("{SAY} skipped: the container does not run rich-init in rich mode with a control socket");
        return None;
    };
    if control_socket(new_spec).is_none() {
        eprintln!("{SAY} skipped: the new image does not run rich-init in rich mode with a control socket; its services bind afresh");
        return None;
    }
    let Some(path) = on_host(pid, &inside) else {
        eprintln!(
            "{SAY} skipped: the control socket {} has a `..` component",
            inside.display()
        );
        return None;
    };
    let result = tokio::time::timeout(
        handover_io::TAKE_BOUND,
        tokio::task::spawn_blocking(move || handover_io::take(&path, pid)),
    )
    .await;
    let Ok(result) = result else {
        eprintln!("{SAY} warning: the take did not end within {} s; the upgrade goes on without a hand-over", handover_io::TAKE_BOUND.as_secs());
        return None;
    };
    let taken = match result {
        Ok(Ok(taken)) => taken,
        Ok(Err(Fail::Absent(e))) => {
            eprintln!(
                "{SAY} skipped: no rich-init control socket at {} ({})",
                inside.display(),
                strerror(e)
            );
            return None;
        }
        Ok(Err(Fail::Other(e))) => {
            eprintln!("{SAY} warning: cannot take the old init's descriptors: {e:#}; the upgrade goes on without a hand-over");
            return None;
        }
        Err(e) => {
            eprintln!(
                "{SAY} warning: the take failed: {e}; the upgrade goes on without a hand-over"
            );
            return None;
        }
    };
    if taken.not_sockets > 0 {
        let n = descriptors(taken.not_sockets);
        eprintln!("{SAY} closed {n} that are not sockets");
    }
    if taken.fds.is_empty() {
        eprintln!("{SAY} the old init holds no descriptors");
        return None;
    }
    let n = descriptors(taken.fds.len());
    eprintln!("{SAY} took {n} from the old init");
    Some(Held {
        fds: taken.fds,
        wait,
        deadline_ms: None,
    })
}

/// Give the held descriptors to init `pid`, created with the variable by
/// [`Held::arm`] on `spec`; `to` names it in the lines. Our copies stay while the init
/// kept them all; they are closed at once when it closed some (a copy of a socket it
/// closed would keep its port bound, and its fresh bind would fail), or when the give
/// failed or could not reach the init before [`give_up_ms`] (so that it can bind afresh
/// at its deadline).
pub async fn give(held: &mut Held, pid: u32, spec: &Value, to: &str) -> Option<Given> {
    let (Some(inside), Some(deadline)) = (control_socket(spec), held.deadline_ms.take()) else {
        held.release("the task was not made to wait for them");
        return None;
    };
    let Some(path) = on_host(pid, &inside) else {
        held.release(&format!(
            "the control socket {} has a `..` component; the init binds afresh once its wait ends",
            inside.display()
        ));
        return None;
    };
    let give_up = give_up_ms(deadline, held.wait);
    let fds = std::mem::take(&mut held.fds);
    let n = descriptors(fds.len());
    let result = tokio::time::timeout(
        handover_io::give_bound(give_up),
        tokio::task::spawn_blocking(move || {
            let given = handover_io::give(&path, pid, &fds, give_up);
            (fds, given)
        }),
    )
    .await;
    let Ok(result) = result else {
        eprintln!("{SAY} warning: the give to the {to} did not end in time; the held copies close as it ends, and its services bind afresh once its wait ends");
        return None;
    };
    match result {
        Ok((fds, Ok(given))) => {
            held.fds = fds;
            eprintln!(
                "{SAY} gave {n} to the {to}: kept {}, closed {}",
                given.kept, given.closed
            );
            if given.closed > 0 {
                held.release("the init closed some of them; a copy of one would keep its port bound, and a rollback binds afresh");
            }
            Some(given)
        }
        Ok((fds, Err(e))) => {
            held.fds = fds;
            eprintln!("{SAY} warning: cannot give the descriptors to the {to}: {e:#}");
            held.release("the init binds afresh once its wait ends");
            None
        }
        Err(e) => {
            eprintln!("{SAY} warning: the give to the {to} failed: {e}; its services bind afresh once its wait ends");
            None
        }
    }
}

/// After the task of `container` was created with the variable and started as `pid`:
/// give, then take the variable off the record, so that the container as committed (or
/// rolled back), and any later start of it, never carries it.
pub async fn give_and_unset(
    client: &Client,
    container: &mut Container,
    held: &mut Held,
    pid: u32,
    to: &str,
) -> Result<Option<Given>> {
    let spec = record::spec_json(container)?;
    let given = give(held, pid, &spec, to).await;
    record::strip_handover(client, container).await;
    Ok(given)
}

#[cfg(test)]
#[path = "handover_tests.rs"]
mod tests;
