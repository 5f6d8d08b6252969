//! systemd unit files and SysV scripts, read as systemd would; pure.

pub mod boot;
pub mod discovery;
pub mod exec;
pub mod journal;
pub mod journal_show;
pub mod quote;
pub mod service;
pub mod socket;
pub mod specifiers;
pub mod status;
pub mod syntax;
pub mod sysv;
