//! The children of a short-lived command (the `service` personality), run as std's
//! `Command` runs them: the signal mask emptied, stdio as given, a directory and an
//! environment. Our own, over `spawn`: std's `Command` links its own spawn machinery,
//! posix_spawn and an environment map into the pid-1 binary (about 20 KB, issue 16).

use super::signals::{self, SigSet};
use super::spawn::{self, ChildSignals, Placement, Setup};
use super::Errno;
use std::ffi::{CStr, CString};

/// Start `argv` (executing `program`, or argv\[0\] searched in PATH) with `env` (None:
/// ours) in `cwd`, stdin, stdout and stderr as given (None: ours): its pid, or None when it
/// could not be forked. A failed exec ends the child with 127, as a shell's would.
pub fn start(
    program: Option<&CStr>,
    argv: &[CString],
    env: Option<&[CString]>,
    cwd: Option<&CStr>,
    stdio: [Option<i32>; 3],
) -> Option<i32> {
    let [stdin, stdout, stderr] = stdio;
    let setup = Setup {
        env,
        cwd,
        stdin,
        stdout,
        stderr,
        program,
        ..Setup::default()
    };
    let report = |_| 127;
    spawn::spawn(
        argv,
        Placement::Inherit,
        ChildSignals::Restore(SigSet::empty()),
        &setup,
        &report,
    )
    .ok()
}

/// Wait for a child from [`start`]: its exit code, or -1 when it was killed by a signal
/// (or `pid` is None: it never ran).
pub fn wait(pid: Option<i32>) -> i32 {
    let Some(pid) = pid else {
        return -1;
    };
    match super::reap::wait_for(pid, true) {
        Ok(Some(status)) if libc::WIFEXITED(status) => libc::WEXITSTATUS(status),
        _ => -1,
    }
}

/// Replace this process with `argv` (executing `program`, or argv\[0\] searched in
/// PATH), with `env` (None: ours) in `cwd`, the signal mask emptied. Returns only on
/// failure, with the reason.
pub fn exec(
    program: Option<&CStr>,
    argv: &[CString],
    env: Option<&[CString]>,
    cwd: Option<&CStr>,
) -> Errno {
    if let Some(dir) = cwd {
        if let Err(e) = nix::unistd::chdir(dir) {
            return e;
        }
    }
    if let Err(e) = signals::set_mask(&SigSet::empty()) {
        return e;
    }
    let Some(first) = argv.first() else {
        return Errno::EINVAL;
    };
    let program = program.unwrap_or(first);
    let result = match env {
        Some(env) => nix::unistd::execvpe(program, argv, env),
        None => nix::unistd::execvp(program, argv),
    };
    match result {
        Err(e) => e,
        Ok(never) => match never {},
    }
}
