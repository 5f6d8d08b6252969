//! The control socket: a listening unix stream socket (mode 0600), non-blocking accepts,
//! the peer's uid (SO_PEERCRED), and a blocking client connection for `rich-init ctl`.

use super::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

fn sockaddr(path: &Path) -> Result<(libc::sockaddr_un, libc::socklen_t), Errno> {
    // SAFETY: sockaddr_un is plain old data; all zeros is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::sa_family_t::try_from(libc::AF_UNIX).map_err(|_| Errno::EINVAL)?;
    let bytes = path.as_os_str().as_encoded_bytes();
    if bytes.is_empty() || bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(Errno::ENAMETOOLONG);
    }
    for (slot, b) in addr.sun_path.iter_mut().zip(bytes) {
        *slot = libc::c_char::from_ne_bytes([*b]);
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    Ok((
        addr,
        libc::socklen_t::try_from(len).map_err(|_| Errno::EINVAL)?,
    ))
}

fn socket(flags: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: socket takes plain integers.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | flags,
            0,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(super) fn bind(fd: &OwnedFd, path: &Path) -> Result<(), Errno> {
    let (addr, len) = sockaddr(path)?;
    // SAFETY: the address is a valid sockaddr_un of `len` bytes.
    if unsafe { libc::bind(fd.as_raw_fd(), std::ptr::addr_of!(addr).cast(), len) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Listen on `path`, readable and writable by the owner only. A stale socket there (one
/// nobody listens on) is replaced; a live one is left alone: Err(EADDRINUSE).
pub fn listen(path: &Path) -> Result<OwnedFd, Errno> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    }
    let fd = socket(libc::SOCK_NONBLOCK)?;
    match bind(&fd, path) {
        Err(Errno::EADDRINUSE) => {
            if connect(path).is_ok() {
                return Err(Errno::EADDRINUSE);
            }
            let _ = std::fs::remove_file(path);
            bind(&fd, path)?;
        }
        other => other?,
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    // SAFETY: listen takes a descriptor and a backlog.
    if unsafe { libc::listen(fd.as_raw_fd(), 64) } != 0 {
        return Err(Errno::last());
    }
    Ok(fd)
}

/// Accept one connection without blocking (Err(EAGAIN) when none is waiting); the new
/// socket is non-blocking too.
pub fn accept(listener: RawFd) -> Result<OwnedFd, Errno> {
    // SAFETY: null address pointers are allowed; flags are plain integers.
    let fd = unsafe {
        libc::accept4(
            listener,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The uid of the process at the other end (SO_PEERCRED).
pub fn peer_uid(fd: RawFd) -> Result<u32, Errno> {
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
    Ok(cred.uid)
}

/// Our effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Connect to `path` (blocking; for the ctl client).
pub fn connect(path: &Path) -> Result<std::os::unix::net::UnixStream, Errno> {
    let fd = socket(0)?;
    let (addr, len) = sockaddr(path)?;
    // SAFETY: the address is a valid sockaddr_un of `len` bytes.
    if unsafe { libc::connect(fd.as_raw_fd(), std::ptr::addr_of!(addr).cast(), len) } != 0 {
        return Err(Errno::last());
    }
    Ok(std::os::unix::net::UnixStream::from(fd))
}

/// Write without blocking; how much went out.
pub fn send_some(fd: RawFd, bytes: &[u8]) -> Result<usize, Errno> {
    // SAFETY: pointer and length from a live slice; MSG_NOSIGNAL: no SIGPIPE for us.
    let n = unsafe {
        libc::send(
            fd,
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(n).map_err(|_| Errno::last())
}

/// Room for the most descriptors one message carries (SCM_MAX_FD, 253) after a cmsghdr.
const CONTROL_WORDS: usize = 2 + 253 / 2 + 1;

/// One datagram from non-blocking socket `fd` into `buf` (its length), and the descriptors
/// it carried (SCM_RIGHTS) pushed onto `fds`, close-on-exec (MSG_CMSG_CLOEXEC). Ours from
/// the start: dropping them closes them. What did not fit the control buffer the kernel
/// never installs.
pub fn recv_fds(fd: RawFd, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> Result<usize, Errno> {
    let mut control = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all zeros is valid (no name, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: `msg` points at `iov` (over `buf`) and `control`, all live for the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
    let n = usize::try_from(n).map_err(|_| Errno::last())?;
    // SAFETY: `msg` was filled by recvmsg; CMSG_FIRSTHDR reads its control fields.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: non-null: the kernel wrote a whole cmsghdr there, inside `control`.
        let (level, kind, len) =
            unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            // SAFETY: CMSG_LEN is arithmetic; CMSG_DATA points inside this cmsghdr.
            let (head, data) = unsafe { (libc::CMSG_LEN(0) as usize, libc::CMSG_DATA(cmsg)) };
            let count = len.saturating_sub(head) / std::mem::size_of::<RawFd>();
            for i in 0..count {
                // SAFETY: `count` ints follow the header, as `len` says; maybe unaligned.
                let raw = unsafe { data.cast::<RawFd>().add(i).read_unaligned() };
                // SAFETY: a descriptor the kernel just installed for us; nobody else has it.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
        // SAFETY: `cmsg` is a header inside `msg`'s control buffer.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok(n)
}

/// Whether two of our descriptors are the same open file (kcmp KCMP_FILE); false when
/// the kernel cannot tell (no kcmp, or a seccomp filter refuses it).
pub fn same_file(a: RawFd, b: RawFd) -> bool {
    const KCMP_FILE: libc::c_long = 0;
    let me = libc::c_long::from(super::getpid());
    // SAFETY: kcmp takes plain integers and compares two of our own descriptors.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            me,
            me,
            KCMP_FILE,
            libc::c_long::from(a),
            libc::c_long::from(b),
        )
    };
    rc == 0
}
