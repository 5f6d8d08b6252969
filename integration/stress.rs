//! Issue 7, stress: rich-init as pid 1 of a pid namespace under a fork failure (pids cgroup),
//! a signal storm, control-socket abuse, and a soak (crash loop plus 10 MB/s of service output,
//! `SOAK_SECONDS`, 20 by default; `make soak` runs 600). Figures are printed (`--nocapture`)
//! and never asserted as times.

mod common;
mod ctl_flood;
mod fork_fail;
mod signal_storm;
mod soak;
