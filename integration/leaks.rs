//! What a test can leave on the host besides the processes it started itself: mounts under
//! a directory, daemons found by their command line (a containerd shim is nobody's child),
//! cgroup directories. The containerd and netns harness use these to clean up after
//! themselves, and tests use them to assert that nothing was left behind.
//!
//! Nothing here panics: it runs from `Drop` impls, possibly while a test is already
//! unwinding. What could not be removed is returned for the caller to report.

// Shared by the containerd tests and later issues: not every piece is used by every build.
#![allow(dead_code)]

use crate::harness::stat;
use crate::runner::kill_tree;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long clean-up waits for the kernel to finish with killed processes.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(10);

pub use crate::ctrd_common::settle;

/// One line of /proc/self/mountinfo, the fields we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub fstype: String,
}

/// Undo mountinfo's octal escapes (`\040` is a space, `\134` a backslash).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse one mountinfo line: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE ...`.
fn parse_mount(line: &str) -> Option<Mount> {
    let mut fields = line.split(' ');
    let mount_point = fields.nth(4)?;
    let fstype = fields.skip_while(|f| *f != "-").nth(1)?;
    Some(Mount {
        mount_point: PathBuf::from(unescape(mount_point)),
        fstype: fstype.to_string(),
    })
}

/// Every mount in the test's mount namespace (empty if mountinfo cannot be read).
pub fn mounts() -> Vec<Mount> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(parse_mount)
        .collect()
}

/// Mount points at or below `dir`.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    mounts()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with(dir))
        .collect()
}

/// Detach every mount at or below `dir`, deepest first, until none is left (a mount can
/// be stacked on another at the same point). Returns what could not be unmounted.
pub fn unmount_under(dir: &Path) -> Vec<(PathBuf, nix::Error)> {
    use nix::mount::{umount2, MntFlags};
    let mut failed: Vec<(PathBuf, nix::Error)> = Vec::new();
    loop {
        let mut points: Vec<PathBuf> = mounts_under(dir)
            .into_iter()
            .filter(|p| !failed.iter().any(|(f, _)| f == p))
            .collect();
        if points.is_empty() {
            return failed;
        }
        points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for point in points {
            if let Err(e) = umount2(&point, MntFlags::MNT_DETACH) {
                failed.push((point, e));
            }
        }
    }
}

/// The mount points of the cgroup hierarchies (v1 controllers and any cgroup2).
pub fn cgroup_roots() -> Vec<PathBuf> {
    mounts()
        .into_iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
        .map(|m| m.mount_point)
        .collect()
}

/// The directories named `rel` (e.g. a containerd namespace: runc's default cgroup parent)
/// that exist in some cgroup hierarchy.
pub fn cgroups_named(rel: &str) -> Vec<PathBuf> {
    cgroup_roots()
        .into_iter()
        .map(|root| root.join(rel))
        .filter(|p| p.is_dir())
        .collect()
}

/// Sub-directories of `dir`, deepest first, then `dir` itself.
fn dirs_deepest_first(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(dirs_deepest_first(&entry.path()));
            }
        }
    }
    out.push(dir.to_path_buf());
    out
}

/// rmdir the cgroup `rel` and its children in every hierarchy. A cgroup whose last
/// process has just been killed can stay busy for a moment, so this retries for at most
/// [`SETTLE_LIMIT`]. Returns the directories still there.
pub fn remove_cgroups(rel: &str) -> Vec<PathBuf> {
    settle(SETTLE_LIMIT, || {
        for top in cgroups_named(rel) {
            for dir in dirs_deepest_first(&top) {
                let _ = std::fs::remove_dir(&dir);
            }
        }
        cgroups_named(rel).is_empty()
    });
    cgroups_named(rel)
}

/// A process's arguments (empty for a zombie, a kernel thread, or a process that is gone).
pub fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Live processes other than this one with `needle` somewhere in their command line.
pub fn pids_with_in_cmdline(needle: &str) -> Vec<i32> {
    let me = i32::try_from(std::process::id()).expect("pid fits in i32");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| cmdline(*pid).iter().any(|a| a.contains(needle)))
        .collect()
}

/// Whether `pid` has exited (gone, or a zombie waiting for its parent).
pub fn exited(pid: i32) -> bool {
    stat(pid).is_none_or(|s| s.state == 'Z')
}

/// SIGKILL each process and everything below it, then wait for them to exit, for at
/// most [`SETTLE_LIMIT`]. Returns those still alive.
pub fn kill_and_wait(pids: &[i32]) -> Vec<i32> {
    for pid in pids {
        kill_tree(*pid, false);
    }
    settle(SETTLE_LIMIT, || pids.iter().all(|p| exited(*p)));
    pids.iter().copied().filter(|p| !exited(*p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_line_with_optional_fields_and_escapes() {
        let line = "46 27 0:39 / /tmp/a\\040b/rootfs rw,relatime shared:1 master:2 - overlay overlay rw,lowerdir=/x";
        assert_eq!(
            parse_mount(line),
            Some(Mount {
                mount_point: PathBuf::from("/tmp/a b/rootfs"),
                fstype: "overlay".into()
            })
        );
        assert_eq!(unescape("a\\134b\\011"), "a\\b\t");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
    }
}
