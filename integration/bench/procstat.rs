//! Measures read from /proc about a running init: wake-ups while idle, and the reading
//! of /proc fields that the footprint and rich-mode measures share.

use crate::child;
use crate::peers::{os, Init, Mode};
use nix::sys::signal::Signal;
use std::process::{Child, Stdio};
use std::time::Duration;

/// Time we give an init to start its CMD before we look at it.
const SETTLE: Duration = Duration::from_millis(500);

/// A `Field:   123 kB` value from a /proc file of `pid`.
pub fn proc_field(pid: u32, file: &str, field: &str) -> Result<u64, String> {
    let path = format!("/proc/{pid}/{file}");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    text.lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == field).then(|| value.split_whitespace().next()?.parse().ok())?
        })
        .ok_or_else(|| format!("no {field} in {path}"))
}

/// Voluntary plus involuntary context switches of `pid`'s main thread so far.
pub fn context_switches(pid: u32) -> Result<u64, String> {
    Ok(proc_field(pid, "status", "voluntary_ctxt_switches")?
        + proc_field(pid, "status", "nonvoluntary_ctxt_switches")?)
}

/// Context switches of every thread of `pid` so far (a supervisor may have several).
pub fn process_switches(pid: u32) -> Result<u64, String> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir).map_err(|e| format!("cannot list {dir}: {e}"))?;
    let mut total = 0;
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        // A thread's status is read as /proc/TID/status (TID as a pid).
        total += context_switches(tid)?;
    }
    Ok(total)
}

/// Start `X -- sleep SECS` for every init at once, as child subreapers.
fn start_sleepers(inits: &[Init], secs: u64, what: &str) -> Result<Vec<Child>, String> {
    let cmd = [os("sleep"), os(secs.to_string())];
    let mut running = Vec::new();
    for init in inits {
        let mut command = init.command(Mode::Subreaper, &cmd);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match child::spawn(&mut command, &format!("{} {what}", init.name)) {
            Ok(c) => running.push(c),
            Err(e) => {
                stop_all(inits, running, Signal::SIGKILL);
                return Err(e);
            }
        }
    }
    Ok(running)
}

/// Check each init is still running, as it must be while we read its figures.
fn still_running(inits: &[Init], running: &mut [Child], what: &str) -> Result<(), String> {
    for (init, c) in inits.iter().zip(running.iter_mut()) {
        if let Ok(Some(status)) = c.try_wait() {
            return Err(format!(
                "{} exited early ({status}) during {what}",
                init.name
            ));
        }
    }
    Ok(())
}

fn stop_all(inits: &[Init], running: Vec<Child>, sig: Signal) -> Vec<Result<(), String>> {
    for (init, c) in inits.iter().zip(&running) {
        let _ = child::signal(c, sig, init.name);
    }
    inits
        .iter()
        .zip(running)
        .map(|(init, c)| child::finish(c, Duration::from_secs(5), init.name).map(|_| ()))
        .collect()
}

/// Context switches of each init over `idle` while its CMD sleeps; all inits at once.
pub fn idle_wakeups(inits: &[Init], idle: Duration) -> Result<Vec<f64>, String> {
    let what = "idle";
    let sleep_secs = (SETTLE + idle).as_secs() + 2;
    let mut running = start_sleepers(inits, sleep_secs, what)?;
    let result = sample_idle(inits, &mut running, idle);
    let stopped = stop_all(inits, running, Signal::SIGTERM);
    let wakeups = result?;
    stopped.into_iter().collect::<Result<Vec<()>, String>>()?;
    Ok(wakeups)
}

fn sample_idle(inits: &[Init], running: &mut [Child], idle: Duration) -> Result<Vec<f64>, String> {
    let what = "idle";
    std::thread::sleep(SETTLE);
    still_running(inits, running, what)?;
    let before = running
        .iter()
        .map(|c| context_switches(c.id()))
        .collect::<Result<Vec<_>, _>>()?;
    std::thread::sleep(idle);
    let after = running
        .iter()
        .map(|c| context_switches(c.id()))
        .collect::<Result<Vec<_>, _>>()?;
    still_running(inits, running, what)?;
    Ok(before
        .iter()
        .zip(after)
        .map(|(b, a)| a.saturating_sub(*b) as f64)
        .collect())
}
