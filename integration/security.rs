//! Issue 7, security: what runs as root on the host cannot be turned against it.
//!
//! - `hook_paths`: an initscript path resolves inside the container's root, also while
//!   the container swaps its links during resolution, and a host path is not found.
//! - `hook_cgroups`: the initscript runs in every cgroup of the container's process, so its
//!   limits (pids, memory, devices) apply; a cgroup it cannot join stops it from running.
//! - `hook_children`: host scripts and the initscript get a cleared environment and no
//!   descriptor beyond stdio, whatever the hook itself inherited.
//! - `secrets`: environment values never reach a log at the default level.
//! - `upgrade_owner`: upgrade-helper removes only snapshots its journal made and nothing
//!   else names, and `recover` leaves an upgrade whose owner is alive alone.
//!
//! (The control socket's SO_PEERCRED check is rich_ctl.rs `other_uids_are_refused`; the
//! initscript's `..` and symlink escapes are oci_lifecycle.rs `*_initscript_symlink_cannot_escape`;
//! the refusal of CRI containers is upgrade_fail.rs.)

mod hook_cgroups;
mod hook_children;
mod hook_paths;
mod rig;
mod secrets;
mod upgrade_owner;
