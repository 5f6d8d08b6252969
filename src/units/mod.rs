//! systemd unit files and SysV scripts, read as systemd would.

pub mod discovery;
