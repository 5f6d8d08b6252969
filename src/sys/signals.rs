//! Signal mask and signalfd: block everything at start, read what arrives from one fd,
//! hand the child the mask we were started with.

use super::Errno;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A signal set as the kernel sees it.
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    pub fn full() -> SigSet {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigfillset initialises the set it is given.
        unsafe {
            libc::sigfillset(set.as_mut_ptr());
            SigSet(set.assume_init())
        }
    }

    pub fn as_ptr(&self) -> *const libc::sigset_t {
        &self.0
    }
}

/// Block every signal for this thread; returns the mask that was in force, which the
/// child must get back.
pub fn block_all() -> Result<SigSet, Errno> {
    let full = SigSet::full();
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: both pointers are valid sigset_t storage; `old` is filled on success.
    let rc = unsafe { libc::sigprocmask(libc::SIG_SETMASK, full.as_ptr(), old.as_mut_ptr()) };
    if rc != 0 {
        return Err(Errno::last());
    }
    // SAFETY: sigprocmask succeeded, so it wrote the old mask.
    Ok(SigSet(unsafe { old.assume_init() }))
}

/// Install `mask` as the signal mask (used in the child before exec).
pub fn set_mask(mask: &SigSet) -> Result<(), Errno> {
    // SAFETY: `mask` points to a valid sigset_t; the old mask is not wanted.
    let rc = unsafe { libc::sigprocmask(libc::SIG_SETMASK, mask.as_ptr(), std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// What we need from a `signalfd_siginfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signo: i32,
    /// Sender's pid for signals sent with kill(2); 0 from the kernel.
    pub pid: u32,
}

/// A signalfd for every signal. Reading blocks until something arrives.
pub struct SignalFd(OwnedFd);

impl SignalFd {
    pub fn new() -> Result<SignalFd, Errno> {
        let full = SigSet::full();
        // SAFETY: -1 asks for a new fd; the mask pointer is valid.
        let fd = unsafe { libc::signalfd(-1, full.as_ptr(), libc::SFD_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: signalfd returned a fresh fd that nothing else owns.
        Ok(SignalFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Block until at least one signal is pending, then return all that fit in `out`.
    pub fn read(&self, out: &mut Vec<Received>) -> Result<(), Errno> {
        const BATCH: usize = 16;
        let mut buf = [MaybeUninit::<libc::signalfd_siginfo>::uninit(); BATCH];
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: the buffer is BATCH * size bytes of writable memory.
        let n = unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), BATCH * size) };
        let n = usize::try_from(n).map_err(|_| Errno::last())?;
        for slot in buf.iter().take(n / size) {
            // SAFETY: the kernel filled the first n bytes with whole records.
            let info = unsafe { slot.assume_init_ref() };
            out.push(Received {
                signo: i32::try_from(info.ssi_signo).unwrap_or(0),
                pid: info.ssi_pid,
            });
        }
        Ok(())
    }
}

/// Block until a signal in the (blocked) full set is pending and take it: the fallback
/// when the signalfd cannot be read.
pub fn wait_one() -> Result<Received, Errno> {
    let full = SigSet::full();
    let mut info = MaybeUninit::<libc::siginfo_t>::uninit();
    // SAFETY: both pointers are valid; `info` is filled on success.
    let signo = unsafe { libc::sigwaitinfo(full.as_ptr(), info.as_mut_ptr()) };
    if signo < 0 {
        return Err(Errno::last());
    }
    // SAFETY: sigwaitinfo succeeded, so it wrote `info`.
    let pid = unsafe { info.assume_init_ref().si_pid() };
    Ok(Received {
        signo,
        pid: u32::try_from(pid).unwrap_or(0),
    })
}

/// kill(2): `pid` > 0 is one process, `pid` < 0 the process group -pid.
pub fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: kill takes plain integers.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}
