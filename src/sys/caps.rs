//! Capabilities for a process that must run with a container's privileges rather than
//! ours (a hook's initscript): the five sets as bit masks, and their application in a
//! child between fork and exec.

use super::Errno;

/// Capability names in number order (capability(7)); index = number.
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A capability's number from its name ("CAP_KILL"); None if unknown.
pub fn number(name: &str) -> Option<u32> {
    NAMES
        .iter()
        .position(|n| *n == name)
        .and_then(|i| u32::try_from(i).ok())
}

/// The five sets, bit N = capability N.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
    /// The kernel's highest capability (/proc/sys/kernel/cap_last_cap), read before fork.
    pub last_cap: u32,
}

/// The kernel's highest capability number.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

fn has(set: u64, cap: u32) -> bool {
    cap < 64 && set & (1u64 << cap) != 0
}

/// First half, before the user changes: drop what is not in the bounding set, and keep
/// the permitted set across setuid.
pub(crate) fn before_setuid(caps: &CapSets) -> Result<(), Errno> {
    for cap in 0..=caps.last_cap {
        if !has(caps.bounding, cap) {
            // SAFETY: PR_CAPBSET_DROP takes a capability number and zeros.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
            if rc != 0 && Errno::last() != Errno::EINVAL {
                return Err(Errno::last());
            }
        }
    }
    // SAFETY: PR_SET_KEEPCAPS takes 1 and zeros.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Second half, after the user changes: the effective, permitted and inheritable sets,
/// then the ambient ones.
pub(crate) fn after_setuid(caps: &CapSets) -> Result<(), Errno> {
    let header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set
        pid: 0,
    };
    let word = |set: u64, i: u32| u32::try_from((set >> (32 * i)) & 0xffff_ffff).unwrap_or(0);
    let data = [0, 1].map(|i| Data {
        effective: word(caps.effective, i),
        permitted: word(caps.permitted, i),
        inheritable: word(caps.inheritable, i),
    });
    // SAFETY: capset reads one header and two data structs of the v3 layout.
    let rc = unsafe { libc::syscall(libc::SYS_capset, std::ptr::from_ref(&header), data.as_ptr()) };
    if rc != 0 {
        return Err(Errno::last());
    }
    for cap in 0..=caps.last_cap {
        if has(caps.ambient, cap) {
            // An ambient capability must also be permitted and inheritable. runc's own
            // spec lists ambient ones that are not inheritable, and runc skips those with
            // a warning; they cannot be raised, so we skip them too.
            // SAFETY: PR_CAP_AMBIENT_RAISE takes a capability number and zeros.
            unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, cap, 0, 0) };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("CAP_NOPE"), None);
        assert!(last_cap() >= 36);
    }
}
