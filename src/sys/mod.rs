//! The only place with `unsafe` and raw libc calls: one small documented wrapper per
//! syscall. Everything above this module works with plain Rust values and `Errno`.

pub mod caps;
pub mod cgroups;
pub mod command;
pub mod enter;
pub mod glibc;
pub mod heap;
pub mod io;
pub mod keeper;
pub mod listen;
pub mod peer;
pub mod procs_scan;
pub mod reap;
pub mod signals;
pub mod sockinfo;
pub mod spawn;
pub mod subreaper;
pub mod tty;
pub mod unix_socket;
pub mod users;

pub use nix::errno::Errno;

/// Give the heap's free memory back to the kernel (after loading units: parsing leaves
/// freed pages that would otherwise stay dirty in pid 1, and in every keeper forked later).
pub fn trim_heap() {
    // SAFETY: malloc_trim only walks and shrinks glibc's own heap; we are single-threaded.
    unsafe { libc::malloc_trim(0) };
}

/// Our own pid.
pub fn getpid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// The process group of `pid`; None when it is gone (or not ours to see).
pub fn pgid_of(pid: i32) -> Option<i32> {
    nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid)))
        .ok()
        .map(nix::unistd::Pid::as_raw)
}

/// Terminate the calling process at once, without running atexit handlers or flushing
/// stdio buffers (the right exit for a forked child whose exec failed).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes no pointers and never returns.
    unsafe { libc::_exit(code) }
}

/// write(2) all of `bytes` to `fd`, retrying on EINTR; errors are ignored because
/// there is nowhere left to report them.
pub fn write_all_raw(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length come from a live slice.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(n) {
            Ok(0) => return,
            Ok(written) => bytes = bytes.get(written..).unwrap_or_default(),
            Err(_) if Errno::last() == Errno::EINTR => continue,
            Err(_) => return,
        }
    }
}

/// glibc's text for an errno, as strerror(3) words it ("Inappropriate ioctl for device"),
/// so that messages match what the C originals print.
pub fn strerror(e: Errno) -> String {
    let mut buf = [0u8; 128];
    // SAFETY: the XSI strerror_r writes at most buf.len() bytes, NUL-terminated.
    let rc = unsafe { libc::strerror_r(e as i32, buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match (rc, buf.get(..len)) {
        (0, Some(text)) if !text.is_empty() => String::from_utf8_lossy(text).into_owned(),
        _ => e.desc().to_string(),
    }
}

/// glibc's description of a signal, as strsignal(3) words it ("User defined signal 1").
pub fn strsignal(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a NUL-terminated string that stays valid
    // until the next strsignal call; we copy it at once and are single-threaded.
    let ptr = unsafe { libc::strsignal(sig) };
    if ptr.is_null() {
        return format!("Unknown signal {sig}");
    }
    // SAFETY: checked non-null above; glibc returns a NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_wording() {
        assert_eq!(strerror(Errno::ENOTTY), "Inappropriate ioctl for device");
        assert_eq!(strerror(Errno::ENOENT), "No such file or directory");
        assert_eq!(strsignal(libc::SIGUSR1), "User defined signal 1");
        assert_eq!(strsignal(libc::SIGTERM), "Terminated");
    }
}
