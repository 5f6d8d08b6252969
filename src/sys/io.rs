//! Pipes, files and poll for rich mode: service output, /dev/null, log files.

use super::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

/// A close-on-exec pipe: (read end, non-blocking; write end, for a child to dup2).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Errno::last());
    }
    // SAFETY: pipe2 succeeded; both descriptors are new and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fcntl on a descriptor we own. The read end alone becomes non-blocking;
    // the write end is a separate open file description, so the child is not affected.
    let flags = unsafe { libc::fcntl(read.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0
        || unsafe { libc::fcntl(read.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } != 0
    {
        return Err(Errno::last());
    }
    Ok((read, write))
}

fn open(path: &Path, flags: i32, mode: libc::mode_t) -> Result<OwnedFd, Errno> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `c` is a NUL-terminated path; the mode is used only with O_CREAT.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            flags | libc::O_CLOEXEC,
            libc::c_uint::from(mode),
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: open returned a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// /dev/null for reading and writing.
pub fn null() -> Result<OwnedFd, Errno> {
    open(Path::new("/dev/null"), libc::O_RDWR, 0)
}

/// A log file, created if missing (0640), appended to.
pub fn append(path: &Path) -> Result<OwnedFd, Errno> {
    open(path, libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT, 0o640)
}

/// Read what is there without blocking: Ok(0) at end of file, Err(EAGAIN) when empty.
pub fn read_some(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the pointer and length come from a live, writable slice.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| Errno::last())
}

/// Wait until one of `fds` is readable (or hung up) or `timeout` passes (None: no
/// limit). `ready[i]` says which.
pub fn poll_readable(
    fds: &[RawFd],
    timeout: Option<Duration>,
    ready: &mut Vec<bool>,
) -> Result<(), Errno> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: *fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = match timeout {
        // Round up so that a deadline is never woken for early.
        Some(t) => libc::c_int::try_from(t.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX),
        None => -1,
    };
    let count = libc::nfds_t::try_from(pfds.len()).unwrap_or(0);
    // SAFETY: `pfds` is a live array of `count` pollfd structures.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), count, ms) };
    if n < 0 {
        return Err(Errno::last());
    }
    ready.clear();
    ready.extend(pfds.iter().map(|p| p.revents != 0));
    Ok(())
}

/// Wait until `fd` can take more output (or is broken), at most `timeout`; Ok(true) when it
/// can.
pub fn poll_writable(fd: RawFd, timeout: Duration) -> Result<bool, Errno> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `pfd` is one live pollfd structure.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n < 0 {
        return Err(Errno::last());
    }
    Ok(n > 0 && pfd.revents & libc::POLLOUT != 0)
}

/// An anonymous in-memory file holding `bytes`, positioned at its start: a child's stdin
/// that it can read at its own pace, however large.
pub fn memfd_with(bytes: &[u8]) -> Result<OwnedFd, Errno> {
    // SAFETY: the name is a NUL-terminated literal; MFD_CLOEXEC is a valid flag.
    let fd = unsafe { libc::memfd_create(c"rich-init-state".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: memfd_create returned a new descriptor that nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: the pointer and length come from a live slice.
        let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        match usize::try_from(n) {
            Ok(0) => return Err(Errno::EIO),
            Ok(written) => rest = rest.get(written..).unwrap_or_default(),
            Err(_) if Errno::last() == Errno::EINTR => {}
            Err(_) => return Err(Errno::last()),
        }
    }
    // SAFETY: lseek on a descriptor we own.
    if unsafe { libc::lseek(fd.as_raw_fd(), 0, libc::SEEK_SET) } != 0 {
        return Err(Errno::last());
    }
    Ok(fd)
}

/// A pidfd for our child `pid`: readable once it has exited (Linux >= 5.3).
pub fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open takes a pid and flags.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    let fd = RawFd::try_from(fd).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel returned a new close-on-exec descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
