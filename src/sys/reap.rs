//! Collect every exited child: `waitpid(-1, WNOHANG)` until there is none left.

use super::Errno;
use crate::wait_status::WaitStatus;

/// One child that has exited, with its wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub pid: i32,
    pub status: WaitStatus,
}

/// Why [`drain`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Children remain, none has exited (waitpid returned 0).
    NoneReady,
    /// We have no children at all (ECHILD).
    NoChildren,
    /// waitpid failed otherwise.
    Failed(Errno),
}

/// Reap our child `pid`: its raw wait status, once it has exited (`hang`), or None when
/// it is still running (`!hang`).
pub fn wait_for(pid: i32, hang: bool) -> Result<Option<i32>, Errno> {
    let mut status = 0;
    loop {
        let flags = if hang { 0 } else { libc::WNOHANG };
        // SAFETY: waitpid writes one status into `status`.
        let rc = unsafe { libc::waitpid(pid, &mut status, flags) };
        if rc == pid {
            return Ok(Some(status));
        }
        if rc == 0 {
            return Ok(None);
        }
        if Errno::last() != Errno::EINTR {
            return Err(Errno::last());
        }
    }
}

/// Reap every child that has exited, appending to `out`, until none is waiting.
pub fn drain(out: &mut Vec<Exit>) -> Drained {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid int to write to.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            out.push(Exit {
                pid,
                status: WaitStatus::from_raw(status),
            });
            continue;
        }
        if pid == 0 {
            return Drained::NoneReady;
        }
        match Errno::last() {
            Errno::EINTR => continue,
            Errno::ECHILD => return Drained::NoChildren,
            e => return Drained::Failed(e),
        }
    }
}
