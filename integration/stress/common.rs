//! What the stress tests share: the init's own figures from /proc (RSS, CPU ticks, wake-ups,
//! open descriptors), zombies in its pid namespace, and `rich-init ctl` against the rig.

use crate::harness::{all_stats, bin, Outcome, Run, Running, Stat, HANDSHAKE_LIMIT};
use crate::rich::Rig;
use std::time::{Duration, Instant};

/// The init's figures at one moment, from /proc/PID/status, /proc/PID/stat and /proc/PID/fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub rss_kb: u64,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Times it went to sleep of its own accord: its loop's wake-ups, give or take.
    pub wakeups: u64,
    pub fds: usize,
}

/// The figures of `pid`; panics (naming it) if it is gone.
pub fn figures(pid: i32) -> Figures {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("the init (pid {pid}) is gone: /proc/{pid}/status: {e}"));
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status:\n{status}"))
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("the init (pid {pid}) is gone: /proc/{pid}/stat: {e}"));
    // Fields after the command name: state is field 3, utime 14 and stime 15 (1-based).
    let after: Vec<&str> = stat
        .get(stat.rfind(')').map_or(0, |i| i + 2)..)
        .unwrap_or_default()
        .split(' ')
        .collect();
    let tick = |i: usize| -> u64 {
        after
            .get(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("bad /proc/{pid}/stat: {stat}"))
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or_else(|e| panic!("cannot list /proc/{pid}/fd: {e}"));
    Figures {
        rss_kb: field("VmRSS:"),
        cpu_ticks: tick(11) + tick(12),
        wakeups: field("voluntary_ctxt_switches:"),
        fds,
    }
}

/// Every process below `root` (children, grandchildren, …), as seen from the test.
pub fn descendants(root: i32) -> Vec<Stat> {
    let stats = all_stats();
    let mut found: Vec<Stat> = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for s in stats.iter().filter(|s| s.ppid == parent) {
            parents.push(s.pid);
            found.push(*s);
        }
    }
    found
}

/// The zombies below `root`.
pub fn zombies(root: i32) -> Vec<i32> {
    descendants(root)
        .into_iter()
        .filter(|s| s.state == 'Z')
        .map(|s| s.pid)
        .collect()
}

/// `rich-init ctl --socket <rig>/ctl.sock ARGS`, run from the test (outside the namespace).
pub fn ctl(rig: &Rig, args: &[&str]) -> Outcome {
    Run::new(bin())
        .args(["ctl", "--socket", &format!("{}/ctl.sock", rig.d())])
        .args(args)
        .timeout(Duration::from_secs(30))
        .output()
}

/// `ctl status --json` with how long it took from start to exit (client start-up included).
pub fn timed_status(rig: &Rig) -> (Outcome, Duration) {
    let start = Instant::now();
    let out = ctl(rig, &["status", "--json"]);
    (out, start.elapsed())
}

/// One service's row of `ctl status --json`.
pub fn service_row(rig: &Rig, name: &str) -> serde_json::Value {
    let out = ctl(rig, &["status", "--json"]);
    assert_eq!(out.code(), Some(0), "ctl status answers: {out}");
    let status: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("ctl status --json is not JSON ({e}): {out}"));
    status["services"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no row for {name}: {out}"))
}

/// Sorted durations: (median, max).
pub fn median_max(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let max = times.last().copied().unwrap_or_default();
    (median, max)
}

/// Poll `probe` for at most [`HANDSHAKE_LIMIT`] while `running` lives; past it, panic with
/// `what` and the init's output so far.
pub fn wait_running<T>(
    running: &mut Running,
    what: &str,
    mut probe: impl FnMut(&Running) -> Option<T>,
) -> T {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        running.assert_running(what);
        if let Some(v) = probe(running) {
            return v;
        }
        assert!(
            start.elapsed() < HANDSHAKE_LIMIT,
            "gave up after {HANDSHAKE_LIMIT:?} waiting for {what}\nstdout:\n{}\nstderr:\n{}",
            running.stdout_so_far(),
            running.stderr_so_far()
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Write `go` to the fifo CMD waits on, so that it ends.
pub fn release_cmd(go: &std::path::Path) {
    use std::io::Write;
    let mut fifo = std::fs::OpenOptions::new()
        .write(true)
        .open(go)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", go.display()));
    fifo.write_all(b"go\n").expect("write to CMD's fifo");
}
