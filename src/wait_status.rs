//! A child's raw wait status, decoded in one place (Linux's encoding: the low 7 bits are
//! the signal that killed it, 0 for a normal exit; bits 8-15 are the exit code).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitStatus(i32);

impl WaitStatus {
    /// The status exactly as `waitpid` returned it.
    pub const fn from_raw(raw: i32) -> WaitStatus {
        WaitStatus(raw)
    }

    /// The status of `exit(code)`.
    pub const fn exited(code: u8) -> WaitStatus {
        WaitStatus((code as i32) << 8)
    }

    /// The status of a death by signal `sig` (no core dump).
    pub const fn killed(sig: i32) -> WaitStatus {
        WaitStatus(sig & 0x7f)
    }

    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The exit code, when it exited normally (WIFEXITED / WEXITSTATUS).
    pub const fn code(self) -> Option<i32> {
        if self.0 & 0x7f == 0 {
            Some((self.0 >> 8) & 0xff)
        } else {
            None
        }
    }

    /// The signal that killed it (WIFSIGNALED / WTERMSIG).
    pub const fn signal(self) -> Option<i32> {
        let sig = self.0 & 0x7f;
        if sig != 0 && sig != 0x7f {
            Some(sig)
        } else {
            None
        }
    }

    /// It exited with code 0.
    pub const fn success(self) -> bool {
        self.0 & 0xff7f == 0
    }

    /// The shell's convention: the exit code, or 128+N when signal N killed it. (A
    /// stopped or continued status is never asked for; its low byte is returned.)
    pub const fn exit_code(self) -> i32 {
        match (self.code(), self.signal()) {
            (Some(code), _) => code,
            (None, Some(sig)) => 128 + sig,
            (None, None) => self.0 & 0xff,
        }
    }
}

impl fmt::Display for WaitStatus {
    /// "exit status 3" or "killed by SIGTERM".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.signal() {
            Some(sig) => write!(f, "killed by {}", crate::signame::name(sig)),
            None => write!(f, "exit status {}", self.exit_code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WaitStatus;

    #[test]
    fn decoding() {
        // (raw, code, signal, success, exit_code, text)
        type Case<'a> = (i32, Option<i32>, Option<i32>, bool, i32, &'a str);
        let cases: &[Case] = &[
            (0, Some(0), None, true, 0, "exit status 0"),
            (3 << 8, Some(3), None, false, 3, "exit status 3"),
            (255 << 8, Some(255), None, false, 255, "exit status 255"),
            (15, None, Some(15), false, 143, "killed by SIGTERM"),
            (9 | 0x80, None, Some(9), false, 137, "killed by SIGKILL"),
            (64, None, Some(64), false, 192, "killed by SIGRTMIN+30"),
            // Stopped by SIGSTOP (only with WUNTRACED): neither exited nor killed.
            (0x137f, None, None, false, 0x7f, "exit status 127"),
        ];
        for &(raw, code, signal, success, exit_code, text) in cases {
            let s = WaitStatus::from_raw(raw);
            assert_eq!(s.code(), code, "{raw:#x}");
            assert_eq!(s.signal(), signal, "{raw:#x}");
            assert_eq!(s.success(), success, "{raw:#x}");
            assert_eq!(s.exit_code(), exit_code, "{raw:#x}");
            assert_eq!(s.to_string(), text, "{raw:#x}");
            assert_eq!(s.raw(), raw);
        }
        assert_eq!(WaitStatus::exited(7), WaitStatus::from_raw(7 << 8));
        assert_eq!(WaitStatus::killed(15), WaitStatus::from_raw(15));
    }
}
