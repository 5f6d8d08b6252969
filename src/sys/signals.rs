//! Signal mask and signalfd: block everything at start, read what arrives from one fd,
//! hand the child the mask we were started with (or an empty one).
//!
//! Masks are set with the raw rt_sigprocmask syscall: glibc's wrappers quietly leave
//! out signals 32 and 33 (its internal ones), and a pid 1 that is not pid 1 of its
//! namespace would be killed by a `kill -33` that it neither blocks nor reads.

use super::Errno;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The kernel's sigset size for rt_sigprocmask and signalfd: 64 signals.
const KERNEL_SIGSET_BYTES: usize = 8;

/// A signal set as the kernel sees it.
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    /// Every signal 1..=64 (the kernel ignores SIGKILL and SIGSTOP in masks).
    pub fn full() -> SigSet {
        SigSet::from_bits(u64::MAX)
    }

    pub fn empty() -> SigSet {
        SigSet::from_bits(0)
    }

    fn from_bits(bits: u64) -> SigSet {
        let mut words = [0u64; 16];
        words[0] = bits;
        // SAFETY: on x86_64 Linux, sigset_t is 1024 bits (16 u64 words) with signal n at
        // bit n-1 of the first word, so any bit pattern is a valid value.
        SigSet(unsafe { std::mem::transmute::<[u64; 16], libc::sigset_t>(words) })
    }

    pub fn as_ptr(&self) -> *const libc::sigset_t {
        &self.0
    }
}

fn rt_sigprocmask(
    new: &SigSet,
    old: Option<&mut MaybeUninit<libc::sigset_t>>,
) -> Result<(), Errno> {
    let old_ptr = old.map_or(std::ptr::null_mut(), |o| o.as_mut_ptr());
    // SAFETY: `new` points to a valid sigset; `old_ptr` is null or writable sigset
    // storage; the size is the kernel's.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            new.as_ptr(),
            old_ptr,
            KERNEL_SIGSET_BYTES,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// Block every signal for this thread; returns the mask that was in force, which the
/// child may get back.
pub fn block_all() -> Result<SigSet, Errno> {
    // Zeroed so that the words past the kernel's 8 bytes are defined.
    let mut old = MaybeUninit::<libc::sigset_t>::zeroed();
    rt_sigprocmask(&SigSet::full(), Some(&mut old))?;
    // SAFETY: zero-initialised above and partly overwritten by the kernel; every bit
    // pattern is a valid sigset_t.
    Ok(SigSet(unsafe { old.assume_init() }))
}

/// Install `mask` as the signal mask (used in the child before exec).
pub fn set_mask(mask: &SigSet) -> Result<(), Errno> {
    rt_sigprocmask(mask, None)
}

/// Put `sig`'s disposition back to the default action.
pub fn set_default(sig: i32) -> Result<(), Errno> {
    // SAFETY: SIG_DFL is a valid disposition for any catchable signal.
    let previous = unsafe { libc::signal(sig, libc::SIG_DFL) };
    if previous == libc::SIG_ERR {
        Err(Errno::last())
    } else {
        Ok(())
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
        // SAFETY: -1 asks for a new fd; the mask pointer is valid for the kernel's size.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_signalfd4,
                -1,
                full.as_ptr(),
                KERNEL_SIGSET_BYTES,
                libc::SFD_CLOEXEC,
            )
        };
        let fd = i32::try_from(fd).unwrap_or(-1);
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: signalfd returned a fresh fd that nothing else owns.
        Ok(SignalFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// The descriptor, for a poll over several.
    pub fn raw(&self) -> i32 {
        self.0.as_raw_fd()
    }

    /// Wait until a signal is pending or `timeout` has passed; true when one is pending.
    pub fn wait(&self, timeout: std::time::Duration) -> Result<bool, Errno> {
        let mut pfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // Round up so that a deadline is never woken for early.
        let ms = timeout.as_micros().div_ceil(1000);
        let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, count 1.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        match n {
            n if n > 0 => Ok(true),
            0 => Ok(false),
            _ => Err(Errno::last()),
        }
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

/// Signal `pid`'s process group; the process itself when there is no such group (it has
/// not made its own yet, or it left it).
pub fn kill_group_or_pid(pid: i32, sig: i32) -> Result<(), Errno> {
    match kill(-pid, sig) {
        Err(Errno::ESRCH) => kill(pid, sig),
        result => result,
    }
}
