//! The pure parts of `upgrade-helper` (no containerd, no tokio here): the journal it keeps
//! on the container, and the rules that merge the old container with the new image.

pub mod journal;
pub mod merge;
