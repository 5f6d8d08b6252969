//! Who is at the other end of a unix socket: the pid the kernel recorded for the peer
//! (SO_PEERCRED), seen from our pid namespace. upgrade-helper checks with it that a
//! socket reached through `/proc/PID/root` is that init's own, not one a symlink pointed to.

use super::Errno;
use std::os::fd::RawFd;

/// The pid of the process at the other end (SO_PEERCRED): for a connected client, the
/// process that called listen(2) on the server's socket; 0 when it is in a pid namespace
/// we cannot see.
pub fn peer_pid(fd: RawFd) -> Result<i32, Errno> {
    peer_cred(fd).map(|(pid, _)| pid)
}

/// The pid and uid of the process at the other end (SO_PEERCRED).
pub fn peer_cred(fd: RawFd) -> Result<(i32, u32), Errno> {
    // SAFETY: ucred is plain old data; all zeros is valid.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len =
        libc::socklen_t::try_from(std::mem::size_of::<libc::ucred>()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `cred` and `len` are valid for getsockopt to write.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            std::ptr::addr_of_mut!(cred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok((cred.pid, cred.uid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_socket_pair_has_us_at_both_ends() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        assert_eq!(peer_pid(a.as_raw_fd()), Ok(super::super::getpid()));
        let (r, _w) = std::io::pipe().expect("pipe");
        assert_eq!(peer_pid(r.as_raw_fd()), Err(Errno::ENOTSOCK));
    }
}
