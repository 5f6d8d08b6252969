//! The control socket: a listening unix stream socket (mode 0600), non-blocking accepts,
//! the peer's uid (SO_PEERCRED), a blocking client connection for `rich-init ctl`, and
//! one whose connect waits at most a given time (upgrade-helper).

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
    super::peer::peer_cred(fd).map(|(_, uid)| uid)
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

/// Connect to `path`, waiting at most `timeout` (at least 1 ms) when the listener's
/// backlog is full: SO_SNDTIMEO is set before the connect, which a unix-stream connect
/// honours. Err(ETIMEDOUT) when the time ran out. The socket keeps that send timeout.
pub fn connect_timeout(
    path: &Path,
    timeout: std::time::Duration,
) -> Result<std::os::unix::net::UnixStream, Errno> {
    let fd = socket(0)?;
    let timeout = timeout.max(std::time::Duration::from_millis(1));
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: i32::try_from(timeout.subsec_micros()).map_or(0, libc::suseconds_t::from),
    };
    let tv_len = libc::socklen_t::try_from(std::mem::size_of::<libc::timeval>())
        .map_err(|_| Errno::EINVAL)?;
    // SAFETY: `tv` is a live timeval of `tv_len` bytes for setsockopt to read.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            std::ptr::addr_of!(tv).cast(),
            tv_len,
        )
    };
    if rc != 0 {
        return Err(Errno::last());
    }
    let (addr, len) = sockaddr(path)?;
    // SAFETY: the address is a valid sockaddr_un of `len` bytes.
    if unsafe { libc::connect(fd.as_raw_fd(), std::ptr::addr_of!(addr).cast(), len) } != 0 {
        return Err(match Errno::last() {
            Errno::EAGAIN | Errno::EINPROGRESS => Errno::ETIMEDOUT,
            e => e,
        });
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

/// Room for the most descriptors one message carries (SCM_MAX_FD, 253) after a cmsghdr,
/// and for a sender's credentials (SCM_CREDENTIALS) besides.
const CONTROL_WORDS: usize = 2 + 253 / 2 + 1 + 4;

/// Who sent a datagram (SCM_CREDENTIALS; the socket must have SO_PASSCRED): pid and uid
/// as seen in our namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender {
    pub pid: i32,
    pub uid: u32,
}

/// Have the kernel attach every sender's credentials to what `fd` receives (SO_PASSCRED).
pub fn set_passcred(fd: RawFd) -> Result<(), Errno> {
    let one: libc::c_int = 1;
    let len =
        libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `one` is a live c_int of `len` bytes for setsockopt to read.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            std::ptr::addr_of!(one).cast(),
            len,
        )
    };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// One datagram from non-blocking socket `fd` into `buf` (its length), and the descriptors
/// it carried (SCM_RIGHTS) pushed onto `fds`, close-on-exec (MSG_CMSG_CLOEXEC). Ours from
/// the start: dropping them closes them. What did not fit the control buffer the kernel
/// never installs.
pub fn recv_fds(fd: RawFd, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> Result<usize, Errno> {
    recv_fds_flags(fd, buf, fds, libc::MSG_DONTWAIT).map(|(n, _)| n)
}

/// As [`recv_fds`], but blocking (up to the socket's SO_RCVTIMEO, if set): for clients.
pub fn recv_fds_wait(fd: RawFd, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> Result<usize, Errno> {
    recv_fds_flags(fd, buf, fds, 0).map(|(n, _)| n)
}

/// As [`recv_fds`], and who sent it: None unless the socket has SO_PASSCRED
/// ([`set_passcred`]).
pub fn recv_fds_from(
    fd: RawFd,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> Result<(usize, Option<Sender>), Errno> {
    recv_fds_flags(fd, buf, fds, libc::MSG_DONTWAIT)
}

fn recv_fds_flags(
    fd: RawFd,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    flags: libc::c_int,
) -> Result<(usize, Option<Sender>), Errno> {
    let mut sender = None;
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
    let n = unsafe { libc::recvmsg(fd, &mut msg, flags | libc::MSG_CMSG_CLOEXEC) };
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
        } else if level == libc::SOL_SOCKET && kind == libc::SCM_CREDENTIALS {
            // SAFETY: CMSG_LEN is arithmetic; CMSG_DATA points inside this cmsghdr.
            let (full, data) = unsafe {
                let size = std::mem::size_of::<libc::ucred>() as u32;
                (libc::CMSG_LEN(size) as usize, libc::CMSG_DATA(cmsg))
            };
            if len >= full {
                // SAFETY: a whole ucred follows the header, as `len` says; maybe unaligned.
                let cred = unsafe { data.cast::<libc::ucred>().read_unaligned() };
                sender = Some(Sender {
                    pid: cred.pid,
                    uid: cred.uid,
                });
            }
        }
        // SAFETY: `cmsg` is a header inside `msg`'s control buffer.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok((n, sender))
}

/// Send all of `bytes` on stream socket `fd` with `fds` attached (SCM_RIGHTS, at most
/// 253) to their first byte; blocking (up to SO_SNDTIMEO, if set), no SIGPIPE. The
/// descriptors stay ours: the peer gets duplicates.
pub fn send_fds(fd: RawFd, bytes: &[u8], fds: &[RawFd]) -> Result<(), Errno> {
    let n = sendmsg_fds(fd, bytes, fds, libc::MSG_NOSIGNAL)?;
    // The descriptors went with the first byte; the rest is plain data.
    let mut rest = bytes.get(n..).unwrap_or_default();
    while !rest.is_empty() {
        // SAFETY: pointer and length from a live slice; MSG_NOSIGNAL: no SIGPIPE.
        let n = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) };
        match usize::try_from(n) {
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(_) if Errno::last() == Errno::EINTR => {}
            Err(_) => return Err(Errno::last()),
        }
    }
    Ok(())
}

/// As [`send_fds`], without blocking and once: how much went out (the descriptors with
/// the first byte); Err(EAGAIN) when nothing did, and the descriptors did not go either.
pub fn send_fds_some(fd: RawFd, bytes: &[u8], fds: &[RawFd]) -> Result<usize, Errno> {
    sendmsg_fds(fd, bytes, fds, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)
}

fn sendmsg_fds(fd: RawFd, bytes: &[u8], fds: &[RawFd], flags: libc::c_int) -> Result<usize, Errno> {
    if fds.len() > 253 || bytes.is_empty() {
        return Err(Errno::EINVAL);
    }
    let mut control = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr().cast_mut().cast(),
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr is plain old data; all zeros is valid (no name, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        let data_len = u32::try_from(std::mem::size_of_val(fds)).map_err(|_| Errno::EINVAL)?;
        // SAFETY: CMSG_SPACE and CMSG_LEN are arithmetic.
        let (space, len) = unsafe { (libc::CMSG_SPACE(data_len), libc::CMSG_LEN(data_len)) };
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as usize;
        // SAFETY: the control buffer has room for one header and 253 descriptors.
        let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        if cmsg.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: `cmsg` points at the start of `control`, which is large enough, and
        // CMSG_DATA points after its header; the copy may be unaligned.
        unsafe {
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = len as usize;
            let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
            for (i, raw) in fds.iter().enumerate() {
                data.add(i).write_unaligned(*raw);
            }
        }
    }
    // SAFETY: `msg` points at `iov` (over `bytes`) and `control`, all live for the call.
    let n = unsafe { libc::sendmsg(fd, &msg, flags) };
    usize::try_from(n).map_err(|_| Errno::last())
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

#[cfg(test)]
#[path = "unix_socket_tests.rs"]
mod tests;
