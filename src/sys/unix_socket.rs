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
