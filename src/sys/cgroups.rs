//! The cgroups of a process, as files to join. /proc/PID/cgroup says which cgroup of each
//! hierarchy a process is in; /proc/self/mountinfo says where (and from which cgroup down)
//! each hierarchy is mounted in our mount namespace. Where the two meet is one
//! `cgroup.procs` file per hierarchy: a process joins that cgroup by writing to it.
//!
//! Rules (`procs_files`, pure):
//! - every hierarchy of the process is joined: cgroup v1 controllers (`4:cpu,cpuacct:/x`,
//!   found by the controllers in a `cgroup` mount's options), named v1 hierarchies
//!   (`1:name=systemd:/x`, which carry no limits but are where a manager tracks the
//!   container) and the v2 unified hierarchy (`0::/x`, a `cgroup2` mount, wherever it is);
//! - a hierarchy in which the process is in our own cgroup is left alone;
//! - a hierarchy that is not mounted in our mount namespace at all is skipped: nothing can
//!   be written there, and nothing on this host limits processes through it;
//! - a hierarchy that is mounted, but only below the process's cgroup, is an error.

use super::Errno;
use std::ffi::CString;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} has a line that is not HIERARCHY:CONTROLLERS:PATH: {line:?}")]
    Malformed { path: String, line: String },
    #[error(
        "the cgroup {cgroup} of hierarchy {hierarchy:?} is not below any mount of that \
         hierarchy in the hook's mount namespace; mount it whole (from its root) to run \
         the initscript in it"
    )]
    Unreachable { hierarchy: String, cgroup: String },
}

/// One line of /proc/PID/cgroup: the hierarchy's controllers ("" for the v2 one) and the
/// cgroup's path from the reader's cgroup namespace root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    controllers: String,
    path: String,
}

fn members(text: &str, source: &str) -> Result<Vec<Member>, CgroupError> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(controllers), Some(path)) if path.starts_with('/') => out.push(Member {
                controllers: controllers.to_string(),
                path: path.to_string(),
            }),
            _ => {
                return Err(CgroupError::Malformed {
                    path: source.to_string(),
                    line: line.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// A cgroup filesystem of mountinfo: v2 or v1 with its super options (controllers and
/// `name=`), the cgroup its root shows and where it is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    v2: bool,
    options: Vec<String>,
    root: String,
    point: String,
}

/// mountinfo escapes space, tab, newline and backslash as \ooo (octal).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| b == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        match octal {
            Some(c) => {
                out.push(c);
                i += 4;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            // ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let mut right = right.split(' ');
            let (fstype, _source, sup) = (right.next()?, right.next()?, right.next()?);
            let v2 = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            Some(Mount {
                v2,
                options: sup.split(',').map(String::from).collect(),
                root: unescape(left.get(3)?),
                point: unescape(left.get(4)?),
            })
        })
        .collect()
}

impl Mount {
    fn holds(&self, controllers: &str) -> bool {
        if controllers.is_empty() {
            return self.v2;
        }
        !self.v2
            && controllers
                .split(',')
                .all(|c| self.options.iter().any(|o| o == c))
    }

    /// The cgroup.procs file of `cgroup` under this mount, if the mount reaches it.
    fn procs(&self, cgroup: &str) -> Option<PathBuf> {
        let below = Path::new(cgroup).strip_prefix(&self.root).ok()?;
        Some(Path::new(&self.point).join(below).join("cgroup.procs"))
    }
}

/// The `cgroup.procs` files to write to so that a process of ours ends up in every cgroup
/// of the process whose /proc/PID/cgroup is `theirs`; `ours` is our own /proc/self/cgroup
/// and `mountinfo` our /proc/self/mountinfo. The rules are this module's.
pub fn procs_files(theirs: &str, ours: &str, mountinfo: &str) -> Result<Vec<PathBuf>, CgroupError> {
    let theirs = members(theirs, "/proc/PID/cgroup")?;
    let ours = members(ours, "/proc/self/cgroup")?;
    let mounts = mounts(mountinfo);
    let mut files = Vec::new();
    for member in theirs {
        if ours.contains(&member) {
            continue;
        }
        let mut mounted = mounts.iter().filter(|m| m.holds(&member.controllers));
        let Some(first) = mounted.next() else {
            continue;
        };
        let file = std::iter::once(first)
            .chain(mounted)
            .find_map(|m| m.procs(&member.path));
        match file {
            Some(file) => files.push(file),
            None => {
                return Err(CgroupError::Unreachable {
                    hierarchy: if member.controllers.is_empty() {
                        "unified (v2)".to_string()
                    } else {
                        member.controllers
                    },
                    cgroup: member.path,
                })
            }
        }
    }
    Ok(files)
}

fn read(path: &str) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|e| CgroupError::Read {
        path: path.to_string(),
        reason: match e.raw_os_error() {
            Some(n) => super::strerror(Errno::from_raw(n)),
            None => e.to_string(),
        },
    })
}

/// [`procs_files`] for the (host) process `pid`, read from /proc now, each file also as
/// the C string that [`join`] takes.
pub fn files_of(pid: i32) -> Result<Vec<(PathBuf, CString)>, CgroupError> {
    let source = format!("/proc/{pid}/cgroup");
    let files = procs_files(
        &read(&source)?,
        &read("/proc/self/cgroup")?,
        &read("/proc/self/mountinfo")?,
    )?;
    files
        .into_iter()
        .map(
            |path| match CString::new(path.as_os_str().as_encoded_bytes()) {
                Ok(c) => Ok((path, c)),
                Err(_) => Err(CgroupError::Malformed {
                    path: source.clone(),
                    line: path.display().to_string(),
                }),
            },
        )
        .collect()
}

/// Move the calling process (its whole thread group) into the cgroup whose cgroup.procs
/// is `procs`. Only syscalls: safe between fork and exec.
pub fn join(procs: &CString) -> Result<(), Errno> {
    // SAFETY: `procs` is NUL-terminated; open returns a new descriptor or -1.
    let fd = unsafe { libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // Writing pid 0 moves the writer itself (the kernel's cgroup_procs_write_start), so
    // nothing needs formatting after fork.
    // SAFETY: the pointer and length come from a live one-byte literal.
    let written = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
    let result = if written == 1 {
        Ok(())
    } else {
        Err(Errno::last())
    };
    // SAFETY: `fd` is the descriptor opened above and nobody else holds it.
    unsafe { libc::close(fd) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(theirs: &str, ours: &str, mountinfo: &str) -> Vec<String> {
        procs_files(theirs, ours, mountinfo)
            .expect("resolves")
            .into_iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn hybrid_joins_every_v1_controller_the_named_one_and_unified() {
        let theirs = "5:pids:/c1\n4:memory:/c1\n2:cpu,cpuacct:/c1\n1:name=systemd:/c1\n0::/c1\n";
        let ours = "5:pids:/\n4:memory:/\n2:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n";
        assert_eq!(
            files(theirs, ours, HYBRID),
            [
                "/sys/fs/cgroup/pids/c1/cgroup.procs",
                "/sys/fs/cgroup/memory/c1/cgroup.procs",
                "/sys/fs/cgroup/cpu,cpuacct/c1/cgroup.procs",
                "/sys/fs/cgroup/systemd/c1/cgroup.procs",
                "/sys/fs/cgroup/unified/c1/cgroup.procs",
            ]
        );
    }

    #[test]
    fn pure_v2() {
        let info = "25 21 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            files("0::/system.slice/c.scope\n", "0::/user.slice\n", info),
            ["/sys/fs/cgroup/system.slice/c.scope/cgroup.procs"]
        );
    }

    #[test]
    fn pure_v1_with_separate_mounts() {
        let info = "\
32 31 0:29 / /cg/cpu rw - cgroup cgroup rw,cpu
33 31 0:30 / /cg/acct rw - cgroup cgroup rw,cpuacct
";
        assert_eq!(
            files("3:cpuacct:/a/b\n2:cpu:/a/b\n", "", info),
            ["/cg/acct/a/b/cgroup.procs", "/cg/cpu/a/b/cgroup.procs"]
        );
    }

    #[test]
    fn our_own_cgroup_is_left_alone() {
        let same = "4:memory:/x\n0::/x\n";
        assert!(files(same, same, HYBRID).is_empty());
        assert_eq!(
            files("4:memory:/x\n0::/y\n", same, HYBRID),
            ["/sys/fs/cgroup/unified/y/cgroup.procs"]
        );
    }

    #[test]
    fn unmounted_hierarchies_are_skipped() {
        // No blkio and no name=other mount; the v2 hierarchy is not mounted either.
        let info = "35 31 0:32 / /m rw - cgroup cgroup rw,memory\n";
        assert_eq!(
            files(
                "7:blkio:/c\n6:name=other:/c\n4:memory:/c\n0::/c\n",
                "",
                info
            ),
            ["/m/c/cgroup.procs"]
        );
    }

    #[test]
    fn mount_roots_and_escaped_mount_points() {
        // A mount of /outer only reaches cgroups below it; a space is \040, a backslash \134.
        let info = "\
50 1 0:32 /outer /mnt/my\\040cg\\134x rw - cgroup cgroup rw,memory
51 1 0:38 /a\\040b /u rw - cgroup2 cgroup2 rw
";
        assert_eq!(
            files("4:memory:/outer/c d\n0::/a b/c\n", "", info),
            ["/mnt/my cg\\x/c d/cgroup.procs", "/u/c/cgroup.procs"]
        );
        let err = procs_files("4:memory:/elsewhere/c\n", "", info).expect_err("unreachable");
        assert_eq!(
            err,
            CgroupError::Unreachable {
                hierarchy: "memory".into(),
                cgroup: "/elsewhere/c".into()
            }
        );
        // /outerx is not below /outer.
        assert!(procs_files("4:memory:/outerx\n", "", info).is_err());
    }

    #[test]
    fn a_second_mount_of_the_same_hierarchy_may_reach_it() {
        let info = "\
50 1 0:32 /outer /a rw - cgroup cgroup rw,memory
51 1 0:32 / /b rw - cgroup cgroup rw,memory
";
        assert_eq!(files("4:memory:/c\n", "", info), ["/b/c/cgroup.procs"]);
    }

    #[test]
    fn optional_fields_and_other_filesystems_do_not_confuse_it() {
        let info = "\
20 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw
41 31 0:38 / /sys/fs/cgroup/unified rw shared:5 master:2 - cgroup2 cgroup2 rw
";
        assert_eq!(
            files("0::/c\n", "", info),
            ["/sys/fs/cgroup/unified/c/cgroup.procs"]
        );
    }

    #[test]
    fn malformed_lines_are_named() {
        let err = procs_files("garbage\n", "", HYBRID).expect_err("malformed");
        assert!(err.to_string().contains("\"garbage\""), "{err}");
        // A path may hold colons: only the first two separate.
        assert_eq!(
            files("0::/a:b\n", "", HYBRID),
            ["/sys/fs/cgroup/unified/a:b/cgroup.procs"]
        );
    }
}
