//! Starting and stopping the processes under test, with hard time limits so that a
//! misbehaving init fails the bench instead of hanging it.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::process::{Child, Command, Output};
use std::sync::mpsc;
use std::time::Duration;

pub fn spawn(command: &mut Command, what: &str) -> Result<Child, String> {
    command
        .spawn()
        .map_err(|e| format!("cannot start {what} ({command:?}): {e}"))
}

pub fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"))
}

/// Send `sig` to a process we started and have not reaped yet.
pub fn signal(child: &Child, sig: Signal, what: &str) -> Result<(), String> {
    kill(pid_of(child), sig).map_err(|e| format!("cannot send {sig} to {what}: {e}"))
}

/// Wait for `child` and collect what it wrote to piped stdout/stderr; SIGKILL it when it
/// takes longer than `limit`.
pub fn finish(child: Child, limit: Duration, what: &str) -> Result<Output, String> {
    let pid = pid_of(&child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // The receiver may be gone if we gave up; nothing left to report to then.
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(result) => result.map_err(|e| format!("waiting for {what}: {e}")),
        Err(_) => {
            // Not reaped yet (the waiter has not returned), so the pid is still ours.
            let _ = kill(pid, Signal::SIGKILL);
            // Its own children may keep the output pipes open; do not wait for them long.
            let _ = rx.recv_timeout(Duration::from_secs(2));
            Err(format!("{what} did not finish within {limit:?}; killed it"))
        }
    }
}

/// Run `command` to completion within `limit`; fails unless it exits 0.
pub fn run(command: &mut Command, limit: Duration, what: &str) -> Result<Output, String> {
    let child = spawn(command, what)?;
    let out = finish(child, limit, what)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{what} failed ({}); stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
