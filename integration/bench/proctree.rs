//! Process trees read from /proc: what is below a process, whether a process seen once
//! is still the same one, killing what is left, and the CPU time and own processes of
//! a supervisor (the rich-mode measures, ours and the supervisord/s6 peers).

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Duration;

/// The fields after `(comm)` in /proc/PID/stat: [0] is the state (field 3).
pub fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(String::from).collect())
}

/// A process as seen once: pid and start time (field 22), so that a reused pid is not
/// mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    start: u64,
}

impl Proc {
    /// Still running (a zombie counts as gone) and still the same process?
    fn alive(&self) -> bool {
        match stat_fields(self.pid) {
            Some(f) => f[0] != "Z" && f.get(19).and_then(|s| s.parse().ok()) == Some(self.start),
            None => false,
        }
    }
}

/// Every process below `root` right now (not `root` itself).
pub fn descendants(root: i32) -> Vec<Proc> {
    let mut all: Vec<(i32, i32, u64)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let Some(f) = stat_fields(pid) else { continue };
            let ppid = f.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            let start = f.get(19).and_then(|s| s.parse().ok()).unwrap_or(0);
            all.push((pid, ppid, start));
        }
    }
    let mut found = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for &(pid, ppid, start) in &all {
            if ppid == parent {
                found.push(Proc { pid, start });
                parents.push(pid);
            }
        }
    }
    found
}

/// SIGKILL each of `procs` that is still the process we saw; returns how many were.
pub fn kill_alive(procs: &[Proc]) -> usize {
    let alive: Vec<&Proc> = procs.iter().filter(|p| p.alive()).collect();
    for p in &alive {
        let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
    }
    alive.len()
}

/// CPU time (utime + stime) of `pid` so far.
pub fn cpu_time(pid: u32) -> Result<Duration, String> {
    let f = i32::try_from(pid)
        .ok()
        .and_then(stat_fields)
        .ok_or_else(|| format!("cannot read /proc/{pid}/stat"))?;
    let ticks = |i: usize| -> Result<u64, String> {
        f.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad /proc/{pid}/stat"))
    };
    let total = ticks(11)? + ticks(12)?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|&h| h > 0).unwrap_or(100);
    Ok(Duration::from_nanos(total * 1_000_000_000 / hz))
}

/// `comm` of `pid` (the name the kernel shows), if it is still there.
pub fn comm(pid: i32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(text.trim_end().to_string())
}

/// `root` and the processes below it whose `comm` is one of `names`: a supervisor's own
/// processes, as opposed to the services it runs.
pub fn own_processes(root: i32, names: &[&str]) -> Vec<i32> {
    let mut own = vec![root];
    if !names.is_empty() {
        own.extend(
            descendants(root)
                .into_iter()
                .filter(|p| comm(p.pid).is_some_and(|c| names.contains(&c.as_str())))
                .map(|p| p.pid),
        );
    }
    own
}

/// The sum of `measure` over `pids`; fails on the first that cannot be read.
pub fn sum_over<T: std::iter::Sum<T>>(
    pids: &[i32],
    measure: impl Fn(u32) -> Result<T, String>,
) -> Result<T, String> {
    pids.iter()
        .map(|&p| measure(u32::try_from(p).map_err(|_| format!("bad pid {p}"))?))
        .sum()
}
