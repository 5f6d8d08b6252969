//! The `systemctl` personality: a client of the running init's control socket that answers
//! as systemctl(1) does, for the commands that operators and Debian maintainer scripts use.

pub mod args;
pub mod format;
pub mod install;
pub mod jobs;
pub mod list;
pub mod show;
pub mod status;
