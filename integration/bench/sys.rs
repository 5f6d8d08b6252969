//! The few raw calls the bench needs that std and nix (with the features we enable) do
//! not offer: CLOCK_MONOTONIC in nanoseconds, sigwaitinfo, `_exit` after fork, sync, and
//! dropping a file from the page cache (posix_fadvise) and counting what is left (mincore).

use nix::errno::Errno;
use nix::sys::signal::SigSet;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

/// CLOCK_MONOTONIC in nanoseconds: one clock shared by every process on the machine, so a
/// time read in a helper process can be compared with one read here.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    let secs = u64::try_from(ts.tv_sec).expect("CLOCK_MONOTONIC seconds are never negative");
    let nanos = u64::try_from(ts.tv_nsec).expect("CLOCK_MONOTONIC nanoseconds are never negative");
    secs * 1_000_000_000 + nanos
}

/// Wait for one signal of `set` (which the caller has blocked); returns its number.
pub fn sigwaitinfo(set: &SigSet) -> Result<i32, Errno> {
    let raw: &libc::sigset_t = set.as_ref();
    // SAFETY: `raw` is a valid sigset; a null siginfo pointer is allowed.
    let rc = unsafe { libc::sigwaitinfo(raw, std::ptr::null_mut()) };
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(rc)
    }
}

/// Leave a forked child at once: no destructors, no atexit handlers, no flushing of
/// buffers that belong to the parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// Flush dirty page cache, so that freshly written binaries do not count as dirty.
pub fn sync() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() }
}

/// Ask the kernel to drop `file`'s clean pages from the page cache
/// (`posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)`). Pages that a process maps, and dirty
/// ones, stay: `sync` first, and see [`resident_pages`] for what is left.
pub fn fadvise_dontneed(file: &File) -> Result<(), Errno> {
    // SAFETY: the fd is open for the call's duration; offset 0 and len 0 mean the whole file.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    // posix_fadvise returns the error number itself, not -1 and errno.
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw(rc))
    }
}

/// How many of `file`'s pages are in the page cache now, and how many it has: the file
/// mapped read-only and asked with mincore(2), which never reads a page in.
pub fn resident_pages(file: &File) -> Result<(usize, usize), Errno> {
    let len = file.metadata().map_err(|_| Errno::EIO)?.len();
    let len = usize::try_from(len).map_err(|_| Errno::EFBIG)?;
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let pages = len.div_ceil(page);
    if pages == 0 {
        return Ok((0, 0));
    }
    // SAFETY: a fresh shared read-only mapping of an open fd; nothing else refers to it.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(Errno::last());
    }
    let mut vec = vec![0u8; pages];
    // SAFETY: `addr..addr+len` is our mapping and `vec` holds one byte per page of it.
    let rc = unsafe { libc::mincore(addr, len, vec.as_mut_ptr()) };
    let result = if rc == 0 {
        Ok((vec.iter().filter(|&&b| b & 1 == 1).count(), pages))
    } else {
        Err(Errno::last())
    };
    // SAFETY: unmaps exactly the mapping made above, which nothing uses any more.
    unsafe { libc::munmap(addr, len) };
    result
}

/// Is `pid` still there? A zombie answers kill(pid, 0) too; only a reaped pid gives ESRCH.
pub fn exists(pid: i32) -> bool {
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(Errno::ESRCH)
    )
}

/// Wait until `fd` is readable, at most `timeout`; false on timeout.
pub fn readable_within(fd: &impl AsFd, timeout: Duration) -> Result<bool, Errno> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) => return Ok(n > 0),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Pin this process (and so the children it starts from now on) to one CPU of those it
/// may use; returns the affinity to restore.
pub fn pin_to_one_cpu() -> Result<nix::sched::CpuSet, Errno> {
    use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let original = sched_getaffinity(Pid::from_raw(0))?;
    let cpu = (0..CpuSet::count())
        .find(|&c| original.is_set(c).unwrap_or(false))
        .ok_or(Errno::EINVAL)?;
    let mut one = CpuSet::new();
    one.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &one)?;
    Ok(original)
}

/// Undo [`pin_to_one_cpu`].
pub fn restore_affinity(original: &nix::sched::CpuSet) -> Result<(), Errno> {
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), original)
}
