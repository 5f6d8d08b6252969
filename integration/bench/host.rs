//! What containers leave on the host besides their daemon's files, found and removed
//! without panicking (it runs from Drop): processes by their command line (a shim is
//! nobody's child once its daemon is gone) and everything below them, mounts under a
//! directory, cgroup directories. For the private containerd of the upgrade measure.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::ctrd_common::settle;

/// State and parent of a live process, from /proc/PID/stat.
fn state_and_ppid(pid: i32) -> Option<(char, i32)> {
    let line = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut after = line.get(line.rfind(')')? + 2..)?.split(' ');
    let state = after.next()?.chars().next()?;
    Some((state, after.next()?.parse().ok()?))
}

/// Gone, or a zombie.
fn exited(pid: i32) -> bool {
    state_and_ppid(pid).is_none_or(|(state, _)| state == 'Z')
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Every process below `root`.
fn descendants(root: i32) -> Vec<i32> {
    let parents: Vec<(i32, i32)> = all_pids()
        .into_iter()
        .filter_map(|p| Some((p, state_and_ppid(p)?.1)))
        .collect();
    let mut found = vec![root];
    let mut at = 0;
    while at < found.len() {
        let parent = found[at];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        at += 1;
    }
    found.remove(0);
    found
}

/// Live processes other than this one with `needle` in one of their arguments.
pub fn pids_with_in_cmdline(needle: &str) -> Vec<i32> {
    let me = i32::try_from(std::process::id()).expect("pids fit in i32");
    all_pids()
        .into_iter()
        .filter(|p| *p != me)
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .any(|a| String::from_utf8_lossy(a).contains(needle))
        })
        .collect()
}

/// Mount points (fields 5 and 9 of mountinfo: point, fstype), octal escapes undone.
fn mounts() -> Vec<(PathBuf, String)> {
    let unescape = |s: &str| {
        s.replace("\\040", " ")
            .replace("\\011", "\t")
            .replace("\\134", "\\")
    };
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let point = f.nth(4)?;
            let fstype = f.skip_while(|x| *x != "-").nth(1)?;
            Some((PathBuf::from(unescape(point)), fstype.to_string()))
        })
        .collect()
}

/// Detach every mount at or below `dir`, deepest first; what could not be unmounted.
pub fn unmount_under(dir: &Path) -> Vec<String> {
    use nix::mount::{umount2, MntFlags};
    let mut failed: Vec<PathBuf> = Vec::new();
    let mut problems = Vec::new();
    loop {
        let mut points: Vec<PathBuf> = mounts()
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| p.starts_with(dir) && !failed.contains(p))
            .collect();
        if points.is_empty() {
            return problems;
        }
        points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for point in points {
            if let Err(e) = umount2(&point, MntFlags::MNT_DETACH) {
                problems.push(format!("cannot unmount {}: {e}", point.display()));
                failed.push(point);
            }
        }
    }
}

/// Sub-directories of `dir`, deepest first, then `dir` itself.
fn dirs_deepest_first(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(dirs_deepest_first(&entry.path()));
        }
    }
    out.push(dir.to_path_buf());
    out
}

/// rmdir the cgroup `name` (runc's parent for the namespace's containers) and everything
/// below it in every hierarchy, retrying while a just-emptied cgroup is still busy.
pub fn remove_cgroups(name: &str) -> Vec<String> {
    let present = || -> Vec<PathBuf> {
        mounts()
            .into_iter()
            .filter(|(_, t)| t == "cgroup" || t == "cgroup2")
            .map(|(root, _)| root.join(name))
            .filter(|p| p.is_dir())
            .collect()
    };
    settle(Duration::from_secs(10), || {
        for top in present() {
            for dir in dirs_deepest_first(&top) {
                let _ = std::fs::remove_dir(&dir);
            }
        }
        present().is_empty()
    });
    present()
        .into_iter()
        .map(|p| format!("cannot remove cgroup {}", p.display()))
        .collect()
}

/// SIGKILL each of `roots` and every process below it, then wait up to `limit` for
/// them to exit; those still alive.
pub fn kill_trees(roots: &[i32], limit: Duration) -> Vec<i32> {
    let mut doomed = Vec::new();
    for root in roots {
        doomed.extend(descendants(*root));
        doomed.push(*root);
    }
    for pid in &doomed {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    settle(limit, || doomed.iter().all(|p| exited(*p)));
    doomed.into_iter().filter(|p| !exited(*p)).collect()
}
