//! The few raw calls the bench needs that std and nix (with the features we enable) do
//! not offer: CLOCK_MONOTONIC in nanoseconds, sigwaitinfo, `_exit` after fork, sync.

use nix::errno::Errno;
use nix::sys::signal::SigSet;
use std::os::fd::AsFd;
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
