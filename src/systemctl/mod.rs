//! The `systemctl` personality: a client of the running init's control socket that answers
//! as systemctl(1) does, for the commands that operators and Debian maintainer scripts use.
//! Unit-file verbs (enable, disable, mask, unmask, is-enabled, cat, list-unit-files) work on
//! the files alone, with or without an init; the rest ask the init (`rich-init --systemd`).
//!
//! Everything but [`run`] and `client` is pure.

pub mod args;
pub mod client;
pub mod format;
pub mod install;
pub mod jobs;
pub mod list;
pub mod run;
pub mod show;
pub mod status;

pub use run::run;
