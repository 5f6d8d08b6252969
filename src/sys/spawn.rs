//! fork + exec of the CMD. Everything the child needs (argv C strings, the pointer
//! array, the signal mask to restore) is built before fork; the child only makes
//! syscalls, reports failures through the caller's callback and `_exit`s.

use super::signals::{self, SigSet};
use super::{tty, Errno};
use std::ffi::CString;

/// Where the child goes before exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// setsid(), then take stdin as controlling terminal (dumb-init).
    Session,
    /// setpgid(0, 0), then make that group the terminal's foreground group (tini).
    Group,
    /// Stay in our session and group.
    Inherit,
}

/// Something that happened in the child between fork and exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEvent {
    /// Fatal: the child exits with the callback's code.
    SetsidFailed(Errno),
    SetsidDone,
    /// Not fatal: there is no terminal to take, or it belongs to another session.
    TtyAttachFailed(Errno),
    /// Fatal.
    SetpgidFailed(Errno),
    /// Not fatal when there is no terminal (ENOTTY, ENXIO, EBADF).
    ForegroundFailed(Errno),
    /// Fatal: exec failed with this errno.
    ExecFailed(Errno),
}

impl ChildEvent {
    pub fn is_fatal(&self) -> bool {
        match self {
            ChildEvent::SetsidFailed(_)
            | ChildEvent::SetpgidFailed(_)
            | ChildEvent::ExecFailed(_) => true,
            ChildEvent::ForegroundFailed(e) => {
                !matches!(e, Errno::ENOTTY | Errno::ENXIO | Errno::EBADF)
            }
            ChildEvent::SetsidDone | ChildEvent::TtyAttachFailed(_) => false,
        }
    }
}

/// The signal state CMD starts with.
#[derive(Clone, Copy)]
pub enum ChildSignals {
    /// The mask we were started with; dispositions as inherited (tini, rich-init).
    Restore(SigSet),
    /// An empty mask and the default action for signals 1-31 (dumb-init).
    Reset,
}

/// Fork and exec `argv` (searched in PATH like execvp). `report` runs in the child for
/// each [`ChildEvent`]; for a fatal one its return value is the child's exit code.
/// Returns the child's pid.
///
/// Crate-private on purpose: the child runs `report` (which allocates) between fork and
/// exec, which is only sound in a process that has never started a thread, as the pid-1
/// loop is.
pub(crate) fn spawn(
    argv: &[CString],
    placement: Placement,
    signals_for_child: ChildSignals,
    report: &dyn Fn(ChildEvent) -> i32,
) -> Result<i32, Errno> {
    let Some(program) = argv.first() else {
        return Err(Errno::EINVAL);
    };
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());

    // SAFETY: we are single-threaded (pid 1 never starts threads), so the child may run
    // arbitrary code; it only makes syscalls and calls `report` before exec or _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno::last());
    }
    if pid > 0 {
        if placement == Placement::Group {
            // Also from the parent, so the group exists before we forward anything to it.
            // EACCES (the child already exec'd) and ESRCH (it already died) are fine.
            let _ = nix::unistd::setpgid(
                nix::unistd::Pid::from_raw(pid),
                nix::unistd::Pid::from_raw(pid),
            );
        }
        return Ok(pid);
    }

    let fail = |event: ChildEvent| -> ! { super::exit_now(report(event)) };
    let note = |event: ChildEvent| {
        if event.is_fatal() {
            fail(event);
        }
        report(event);
    };
    match placement {
        Placement::Session => {
            if let Err(e) = nix::unistd::setsid() {
                fail(ChildEvent::SetsidFailed(e));
            }
            note(ChildEvent::SetsidDone);
            if let Err(e) = tty::take_controlling_tty() {
                note(ChildEvent::TtyAttachFailed(e));
            }
        }
        Placement::Group => {
            if let Err(e) =
                nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))
            {
                fail(ChildEvent::SetpgidFailed(e));
            }
            // Signals are blocked, so SIGTTOU does not stop us for doing this from the
            // background.
            if let Err(e) = tty::take_foreground() {
                note(ChildEvent::ForegroundFailed(e));
            }
        }
        Placement::Inherit => {}
    }
    let mask = match signals_for_child {
        ChildSignals::Restore(mask) => mask,
        ChildSignals::Reset => {
            for sig in 1..=31 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    // Only fails for an invalid signal number, which these are not.
                    let _ = signals::set_default(sig);
                }
            }
            SigSet::empty()
        }
    };
    // A failure here leaves signals blocked in CMD; report it through exec's path
    // rather than running CMD deaf to signals.
    if let Err(e) = signals::set_mask(&mask) {
        fail(ChildEvent::ExecFailed(e));
    }
    // SAFETY: `program` and `ptrs` are NUL-terminated and outlive the call; execvp only
    // returns on failure.
    unsafe { libc::execvp(program.as_ptr(), ptrs.as_ptr()) };
    fail(ChildEvent::ExecFailed(Errno::last()))
}
