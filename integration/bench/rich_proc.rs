//! One `rich-init --rich` run on the host for the rich-mode measures: a temporary
//! services.d/init.d/stop.d, rich-init as a child subreaper of the bench with nothing
//! written to /run or /etc, its CMD (this bench as `__helper rich-cmd`) reporting the
//! moment it runs, and a stop that times rich-init's exit and makes sure nothing it
//! started is left behind. The process-tree side of that ([`Tree`]: spawn, SIGTERM,
//! the timed reap, the clean-up) is not rich-init's own: the supervisord and s6 peers use it.

use crate::proctree::{descendants, kill_alive};
use crate::{child, helpers, sys};
use nix::sys::signal::{kill, Signal};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The longest any step (boot, stop) may take before the bench gives up on it.
pub const LIMIT: Duration = Duration::from_secs(15);

/// The control socket's name in the temporary directory ([`Rich::start_with_control`]).
const CONTROL_SOCKET: &str = "ctl.sock";

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

/// A temporary directory with `subdirs`, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(what: &str, subdirs: &[&str]) -> Result<TempDir, String> {
        let path = std::env::temp_dir().join(format!(
            "rich-init-bench-{}-{}-{what}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        // A leftover of an earlier run with the same pid would be stale: start clean.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let dir = TempDir { path };
        for sub in subdirs {
            let sub = dir.path.join(sub);
            std::fs::create_dir_all(&sub)
                .map_err(|e| format!("cannot create {}: {e}", sub.display()))?;
        }
        Ok(dir)
    }

    /// Write `text` to `name` below the directory with `mode`; returns its path.
    pub fn write(&self, name: &str, text: &str, mode: u32) -> Result<PathBuf, String> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path.join(name);
        std::fs::write(&path, text)
            .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// A file below the directory to take a process's stdout or stderr.
    pub fn log_file(&self, name: &str) -> Result<std::fs::File, String> {
        let path = self.path.join(name);
        std::fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// How a supervisor's stop went.
pub struct Stopped {
    /// CLOCK_MONOTONIC when SIGTERM was sent and when the supervisor had been reaped, ns.
    pub sent_ns: u64,
    pub reaped_ns: u64,
    /// Processes below it that were still running after it exited (then killed).
    pub leftovers: usize,
    pub code: Option<i32>,
}

impl Stopped {
    /// SIGTERM until reaped, ms.
    pub fn ms(&self) -> f64 {
        self.reaped_ns.saturating_sub(self.sent_ns) as f64 / 1e6
    }
}

/// A supervisor the bench started, with its temporary directory and its log (stderr, in
/// the directory); killed with everything below it when dropped unstopped.
pub struct Tree {
    child: Option<Child>,
    pub dir: TempDir,
    what: String,
    log: PathBuf,
    /// CLOCK_MONOTONIC just before the spawn, ns.
    pub spawned_ns: u64,
}

impl Tree {
    /// Spawn `command`, whose stderr the caller has sent to `log` in `dir`.
    pub fn spawn(
        command: &mut Command,
        dir: TempDir,
        what: &str,
        log: &str,
    ) -> Result<Tree, String> {
        let spawned_ns = sys::monotonic_ns();
        let c = child::spawn(command, what)?;
        Ok(Tree {
            child: Some(c),
            log: dir.path.join(log),
            dir,
            what: what.to_string(),
            spawned_ns,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// Is the supervisor still running? (An error says why not.)
    pub fn check_running(&mut self) -> Result<(), String> {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some(status))) => Err(format!(
                "{} exited early ({status}); its stderr: {}",
                self.what,
                self.log().trim()
            )),
            _ => Err(format!("{}: cannot check its process", self.what)),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM the supervisor and wait (in this thread, so that the reaping moment is
    /// exact) until it has exited; SIGKILL at [`LIMIT`]. Then SIGKILL whatever it left.
    pub fn stop(mut self) -> Result<Stopped, String> {
        let mut c = self
            .child
            .take()
            .expect("a Tree always holds its child until stopped");
        let pid = child::pid_of(&c);
        let below = descendants(pid.as_raw());
        let (cancel, watchdog) = mpsc::channel::<()>();
        let guard = std::thread::spawn(move || {
            if watchdog.recv_timeout(LIMIT) == Err(mpsc::RecvTimeoutError::Timeout) {
                // Not reaped yet (we have not cancelled), so the pid is still its own.
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
        // Anything below it still running now was left behind.
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

impl Drop for Tree {
    /// Only on an error path (stop() takes the child): kill it and what it started.
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let below = descendants(c.id() as i32);
            let _ = c.kill();
            let _ = c.wait();
            kill_alive(&below);
        }
    }
}

/// A running `rich-init --rich` whose CMD has started.
pub struct Rich {
    pub tree: Tree,
    /// The CMD's own CLOCK_MONOTONIC reading when it ran, ns.
    pub cmd_ns: u64,
    /// Kept open so that the CMD never writes into a closed pipe.
    _stdout: ChildStdout,
}

impl Rich {
    /// Write `services` (name, file body) and start rich-init; returns once CMD runs.
    pub fn start(bin: &Path, what: &str, services: &[(String, String)]) -> Result<Rich, String> {
        Rich::start_within(bin, what, services, LIMIT)
    }

    /// [`Rich::start`], giving the boot up to `limit` instead of [`LIMIT`].
    pub fn start_within(
        bin: &Path,
        what: &str,
        services: &[(String, String)],
        limit: Duration,
    ) -> Result<Rich, String> {
        Rich::spawn(bin, what, services, limit, false)
    }

    /// [`Rich::start`] with its control socket at [`Rich::control_socket`], so that
    /// `rich-init ctl --socket` reaches it.
    pub fn start_with_control(
        bin: &Path,
        what: &str,
        services: &[(String, String)],
    ) -> Result<Rich, String> {
        Rich::spawn(bin, what, services, LIMIT, true)
    }

    fn spawn(
        bin: &Path,
        what: &str,
        services: &[(String, String)],
        limit: Duration,
        control: bool,
    ) -> Result<Rich, String> {
        let dir = TempDir::new(what, &["services.d", "init.d", "stop.d"])?;
        for (name, body) in services {
            dir.write(&format!("services.d/{name}.toml"), body, 0o644)?;
        }
        let stderr = dir.log_file("rich-init.log")?;
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
            .args(["--env-file", "", "--profile-hook", "", "--control-socket"])
            .arg(if control {
                sub(CONTROL_SOCKET)
            } else {
                "".into()
            })
            .arg("--")
            .args(helpers::helper_argv("rich-cmd", &[])?)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut tree = Tree::spawn(&mut command, dir, what, "rich-init.log")?;
        let Some(mut stdout) = tree.child_mut().and_then(|c| c.stdout.take()) else {
            return Err(format!("{what}: no stdout pipe"));
        };
        match read_stamp(&mut stdout, limit) {
            Ok(cmd_ns) => Ok(Rich {
                tree,
                cmd_ns,
                _stdout: stdout,
            }),
            // Dropping the tree kills rich-init and what it started.
            Err(e) => Err(format!(
                "{what}: CMD did not report running: {e}; rich-init's stderr: {}",
                tree.log().trim()
            )),
        }
    }

    pub fn pid(&self) -> u32 {
        self.tree.pid()
    }

    /// The control socket of a rich-init started by [`Rich::start_with_control`].
    pub fn control_socket(&self) -> PathBuf {
        self.tree.dir.path.join(CONTROL_SOCKET)
    }

    /// Start until CMD ran, ms.
    pub fn boot_ms(&self) -> f64 {
        self.cmd_ns.saturating_sub(self.tree.spawned_ns) as f64 / 1e6
    }

    pub fn check_running(&mut self) -> Result<(), String> {
        self.tree.check_running()
    }

    /// See [`Tree::stop`].
    pub fn stop(self) -> Result<Stopped, String> {
        self.tree.stop()
    }
}

/// Read the CMD's 8-byte CLOCK_MONOTONIC stamp, within `limit`.
fn read_stamp(out: &mut ChildStdout, limit: Duration) -> Result<u64, String> {
    if !sys::readable_within(out, limit).map_err(|e| format!("poll: {e}"))? {
        return Err(format!("nothing within {limit:?}"));
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
