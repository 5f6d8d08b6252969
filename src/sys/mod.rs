//! The only place with `unsafe` and raw libc calls: one small documented wrapper per
//! syscall. Everything above this module works with plain Rust values and `Errno`.

pub mod reap;
pub mod signals;
pub mod spawn;
pub mod subreaper;
pub mod tty;

pub use nix::errno::Errno;

/// Our own pid.
pub fn getpid() -> i32 {
    nix::unistd::getpid().as_raw()
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
