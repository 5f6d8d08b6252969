//! Controlling-terminal hand-off between us and the child.

use super::Errno;

/// TIOCNOTTY on stdin: give up our controlling terminal so the child's new session can
/// take it. When a session leader does this, the kernel sends SIGHUP and SIGCONT to
/// its foreground process group (which is us).
pub fn detach_controlling_tty() -> Result<(), Errno> {
    // SAFETY: TIOCNOTTY takes no argument.
    let rc = unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCNOTTY) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// TIOCSCTTY on stdin: make it the controlling terminal of our (new) session.
pub fn take_controlling_tty() -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an int argument; 0 means do not steal it.
    let rc = unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCSCTTY, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// Whether we lead our session (getsid(0) == getpid()).
pub fn is_session_leader() -> bool {
    nix::unistd::getsid(None)
        .map(|sid| sid == nix::unistd::getpid())
        .unwrap_or(false)
}

/// Make our process group the foreground group of the terminal on stdin.
pub fn take_foreground() -> Result<(), Errno> {
    let pgrp = nix::unistd::getpgrp();
    nix::unistd::tcsetpgrp(std::io::stdin(), pgrp)
}
