//! Who reaps orphans: pid 1 does by nature; anything else must ask the kernel.

use super::Errno;

pub fn is_pid1() -> bool {
    super::getpid() == 1
}

/// PR_SET_CHILD_SUBREAPER: orphans in our subtree are re-parented to us.
pub fn become_subreaper() -> Result<(), Errno> {
    nix::sys::prctl::set_child_subreaper(true)
}

/// PR_SET_PDEATHSIG: get `sig` when our parent dies.
pub fn set_parent_death_signal(sig: i32) -> Result<(), Errno> {
    // SAFETY: PR_SET_PDEATHSIG takes the signal number as an integer argument.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::c_ulong::try_from(sig).unwrap_or(0),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// PR_GET_CHILD_SUBREAPER: whether we are a child subreaper (the bit survives execve, so
/// a parent may have set it for us).
pub fn is_child_subreaper() -> Result<bool, Errno> {
    nix::sys::prctl::get_child_subreaper()
}
