//! Collect every exited child: `waitpid(-1, WNOHANG)` until there is none left.

use super::Errno;

/// One child that has exited, with its raw wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub pid: i32,
    pub status: i32,
}

impl Exit {
    /// The shell convention: the exit status, or 128+N when signal N killed it.
    pub fn code(&self) -> i32 {
        exit_code(self.status)
    }
}

/// Map a raw wait status to the shell's exit code.
pub fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        // Stopped/continued statuses are not requested (no WUNTRACED/WCONTINUED).
        status & 0xff
    }
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
            out.push(Exit { pid, status });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        // Raw statuses as the kernel encodes them: exit code in bits 8-15, signal in 0-6.
        let cases = [
            (0, 0),
            (3 << 8, 3),
            (255 << 8, 255),
            (15, 143),
            (9, 137),
            (9 | 0x80, 137),
            (64, 192),
        ];
        for (status, want) in cases {
            assert_eq!(exit_code(status), want, "status {status:#x}");
        }
    }
}
