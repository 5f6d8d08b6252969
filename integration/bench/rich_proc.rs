//! One `rich-init --rich` run on the host for the rich-mode measures: a temporary
//! services.d/init.d/stop.d, rich-init as a child subreaper of the bench with nothing
//! written to /run or /etc, its CMD (this bench as `__helper rich-cmd`) reporting the
//! moment it runs, and a stop that times rich-init's exit and makes sure nothing it
//! started is left behind.

use crate::{child, helpers, sys};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The longest any step (boot, stop) may take before the bench gives up on it.
pub const LIMIT: Duration = Duration::from_secs(15);

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A TOML basic string.
pub fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `["a", "b"]` in TOML.
pub fn toml_argv(argv: &[String]) -> String {
    let items: Vec<String> = argv.iter().map(|a| toml_str(a)).collect();
    format!("[{}]", items.join(", "))
}

/// A temporary directory, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    fn new(what: &str) -> Result<TempDir, String> {
        let path = std::env::temp_dir().join(format!(
            "rich-init-bench-{}-{}-{what}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        for sub in ["services.d", "init.d", "stop.d"] {
            std::fs::create_dir_all(path.join(sub))
                .map_err(|e| format!("cannot create {}: {e}", path.join(sub).display()))?;
        }
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The fields after `(comm)` in /proc/PID/stat: [0] is the state (field 3).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
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
fn kill_alive(procs: &[Proc]) -> usize {
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

/// How rich-init's stop went.
pub struct Stopped {
    /// CLOCK_MONOTONIC when SIGTERM was sent and when rich-init had been reaped, ns.
    pub sent_ns: u64,
    pub reaped_ns: u64,
    /// Processes below rich-init that were still running after it exited (then killed).
    pub leftovers: usize,
    pub code: Option<i32>,
}

/// A running `rich-init --rich` whose CMD has started.
pub struct Rich {
    child: Option<Child>,
    pub dir: TempDir,
    what: String,
    /// CLOCK_MONOTONIC just before the spawn, and the CMD's own reading when it ran, ns.
    pub spawned_ns: u64,
    pub cmd_ns: u64,
    /// Kept open so that the CMD never writes into a closed pipe.
    _stdout: ChildStdout,
}

impl Rich {
    /// Write `services` (name, file body) and start rich-init; returns once CMD runs.
    pub fn start(bin: &Path, what: &str, services: &[(String, String)]) -> Result<Rich, String> {
        let dir = TempDir::new(what)?;
        for (name, body) in services {
            let file = dir.path.join("services.d").join(format!("{name}.toml"));
            std::fs::write(&file, body)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        }
        let log = dir.path.join("rich-init.log");
        let stderr = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let sub = |s: &str| dir.path.join(s).into_os_string();
        let mut command = Command::new(bin);
        command
            .arg("--rich")
            .arg("--services-dir")
            .arg(sub("services.d"))
            .arg("--init-dir")
            .arg(sub("init.d"))
            .arg("--stop-dir")
            .arg(sub("stop.d"))
            .args([
                "--env-file",
                "",
                "--profile-hook",
                "",
                "--control-socket",
                "",
            ])
            .arg("--")
            .args(helpers::helper_argv("rich-cmd", &[])?)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let spawned_ns = sys::monotonic_ns();
        let mut c = child::spawn(&mut command, what)?;
        let Some(mut stdout) = c.stdout.take() else {
            let _ = c.kill();
            let _ = c.wait();
            return Err(format!("{what}: no stdout pipe"));
        };
        match read_stamp(&mut stdout) {
            Ok(cmd_ns) => Ok(Rich {
                child: Some(c),
                dir,
                what: what.to_string(),
                spawned_ns,
                cmd_ns,
                _stdout: stdout,
            }),
            Err(e) => {
                let below = descendants(c.id() as i32);
                let _ = c.kill();
                let _ = c.wait();
                kill_alive(&below);
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                Err(format!(
                    "{what}: CMD did not report running: {e}; rich-init's stderr: {}",
                    log.trim()
                ))
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Start until CMD ran, ms.
    pub fn boot_ms(&self) -> f64 {
        self.cmd_ns.saturating_sub(self.spawned_ns) as f64 / 1e6
    }

    /// Is rich-init still running? (An error says why not.)
    pub fn check_running(&mut self) -> Result<(), String> {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some(status))) => Err(format!(
                "{} exited early ({status}); its stderr: {}",
                self.what,
                self.log().trim()
            )),
            _ => Err(format!("{}: cannot check rich-init", self.what)),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path.join("rich-init.log")).unwrap_or_default()
    }

    /// SIGTERM rich-init and wait (in this thread, so that the reaping moment is exact)
    /// until it has exited; SIGKILL at [`LIMIT`]. Then SIGKILL whatever it left.
    pub fn stop(mut self) -> Result<Stopped, String> {
        let mut c = self
            .child
            .take()
            .expect("a Rich always holds its child until stopped");
        let pid = child::pid_of(&c);
        let below = descendants(pid.as_raw());
        let (cancel, watchdog) = mpsc::channel::<()>();
        let guard = std::thread::spawn(move || {
            if watchdog.recv_timeout(LIMIT) == Err(mpsc::RecvTimeoutError::Timeout) {
                // Not reaped yet (we have not cancelled), so the pid is still rich-init's.
                let _ = kill(pid, Signal::SIGKILL);
                true
            } else {
                false
            }
        });
        let sent_ns = sys::monotonic_ns();
        let sent = child::signal(&c, Signal::SIGTERM, &self.what);
        let status = c.wait();
        let reaped_ns = sys::monotonic_ns();
        let _ = cancel.send(());
        let timed_out = guard.join().unwrap_or(true);
        // Anything below rich-init still running now was left behind.
        let leftovers = kill_alive(&below);
        sent?;
        let status = status.map_err(|e| format!("waiting for {}: {e}", self.what))?;
        if timed_out {
            return Err(format!(
                "{} did not exit within {LIMIT:?} of SIGTERM; killed it. Its stderr: {}",
                self.what,
                self.log().trim()
            ));
        }
        Ok(Stopped {
            sent_ns,
            reaped_ns,
            leftovers,
            code: status.code(),
        })
    }
}

impl Drop for Rich {
    /// Only on an error path (stop() takes the child): kill rich-init and what it started.
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let below = descendants(c.id() as i32);
            let _ = c.kill();
            let _ = c.wait();
            kill_alive(&below);
        }
    }
}

/// Read the CMD's 8-byte CLOCK_MONOTONIC stamp, within [`LIMIT`].
fn read_stamp(out: &mut ChildStdout) -> Result<u64, String> {
    if !sys::readable_within(out, LIMIT).map_err(|e| format!("poll: {e}"))? {
        return Err(format!("nothing within {LIMIT:?}"));
    }
    let mut buf = [0u8; 8];
    out.read_exact(&mut buf)
        .map_err(|e| format!("reading the stamp: {e}"))?;
    Ok(u64::from_le_bytes(buf))
}

/// The CLOCK_MONOTONIC stamps (one decimal per line) that services appended to `file`.
pub fn read_stamps(file: &Path) -> Vec<u64> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}
