//! Running a process under test: its own process group, captured output, a hard timeout
//! after which the whole tree is SIGKILLed, and clean-up on drop. Optionally inside a
//! fresh pid namespace (`unshare --pid --fork --kill-child --mount-proc`) so that
//! nothing it starts can outlive it.

// Shared by every test file and by later issues: not every piece is used by every build.
#![allow(dead_code)]

use crate::harness::{all_stats, require, HARD_TIMEOUT};
use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag};
use nix::unistd::Pid;

/// Where the command runs with respect to pid namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidNs {
    /// In the test's own pid namespace.
    Host,
    /// As pid 1 of a fresh pid namespace.
    Init,
    /// In a fresh pid namespace whose pid 1 is a shell that runs the command and exits
    /// with its status (a signal N becomes 128+N): the command is not pid 1, yet nothing
    /// it leaves behind survives the namespace.
    Wrapped,
    /// Like `Wrapped`, but the parent that execs the command first set
    /// PR_SET_CHILD_SUBREAPER, so the command inherits the child-subreaper bit (it is kept
    /// across execve, not across fork).
    WrappedSubreaper,
}

/// perl (Essential on Debian) as the parent that sets the child-subreaper bit and then
/// execs its arguments; the syscall numbers are this target's.
fn subreaper_exec_prefix() -> Vec<std::ffi::OsString> {
    let code = format!(
        "syscall({}, {}, 1) == 0 or die \"prctl(PR_SET_CHILD_SUBREAPER): $!\\n\"; \
         exec {{ $ARGV[0] }} @ARGV or die \"exec $ARGV[0]: $!\\n\"",
        libc::SYS_prctl,
        libc::PR_SET_CHILD_SUBREAPER
    );
    vec![require("perl").into_os_string(), "-e".into(), code.into()]
}

/// A command to run, built like `std::process::Command`.
pub struct Run {
    cmd: Command,
    label: String,
    timeout: Duration,
    own_group: bool,
    capture_stdout: bool,
    capture_stderr: bool,
}

/// Environment variables that change the behaviour of the programs under test; a test
/// sets the ones it wants, so none leak in from the caller's environment.
const SCRUBBED_PREFIXES: &[&str] = &["TINI_", "DUMB_INIT_", "RICH_INIT_", "POSIXLY_CORRECT"];

impl Run {
    /// Run `program` directly.
    pub fn new(program: impl AsRef<OsStr>) -> Run {
        Run::in_ns(PidNs::Host, program)
    }

    /// Run `program` in the given pid namespace arrangement.
    pub fn in_ns(ns: PidNs, program: impl AsRef<OsStr>) -> Run {
        let program = program.as_ref();
        let mut label = Path::new(program).display().to_string();
        let mut cmd = match ns {
            PidNs::Host => Command::new(program),
            PidNs::Init | PidNs::Wrapped | PidNs::WrappedSubreaper => {
                let mut c = Command::new(require("unshare"));
                c.args(["--pid", "--fork", "--kill-child", "--mount-proc"]);
                if ns != PidNs::Init {
                    c.arg(require("sh"))
                        .args(["-c", "\"$@\"; exit $?", "pidns-init"]);
                    label = format!("[pidns, not pid 1] {label}");
                }
                if ns == PidNs::WrappedSubreaper {
                    c.args(subreaper_exec_prefix());
                    label = format!("[subreaper bit set] {label}");
                }
                if ns == PidNs::Init {
                    label = format!("[pidns pid 1] {label}");
                }
                c.arg(program);
                // If the test process dies without cleaning up, unshare dies with it and
                // (--kill-child) takes the whole namespace along.
                // SAFETY: prctl is async-signal-safe.
                unsafe {
                    c.pre_exec(
                        || match libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) {
                            0 => Ok(()),
                            _ => Err(std::io::Error::last_os_error()),
                        },
                    );
                }
                c
            }
        };
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if SCRUBBED_PREFIXES.iter().any(|p| k.starts_with(p)) {
                cmd.env_remove(&key);
            }
        }
        cmd.stdin(Stdio::null());
        Run {
            cmd,
            label,
            timeout: HARD_TIMEOUT,
            own_group: true,
            capture_stdout: true,
            capture_stderr: true,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Run {
        self.label.push(' ');
        self.label.push_str(&a.as_ref().to_string_lossy());
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, list: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in list {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Run {
        self.label = format!("{key}={} {}", value.as_ref().to_string_lossy(), self.label);
        self.cmd.env(key, value);
        self
    }

    pub fn timeout(mut self, limit: Duration) -> Run {
        self.timeout = limit;
        self
    }

    /// Use `stdio` for stdin, stdout and stderr instead of /dev/null and pipes.
    pub fn stdio(mut self, fd: &std::os::fd::OwnedFd) -> Run {
        let dup = |f: &std::os::fd::OwnedFd| {
            Stdio::from(
                f.try_clone()
                    .expect("cannot duplicate the stdio descriptor"),
            )
        };
        self.cmd.stdin(dup(fd)).stdout(dup(fd)).stderr(dup(fd));
        self.capture_stdout = false;
        self.capture_stderr = false;
        self
    }

    /// Do not put the process in a new process group (it will make its own, e.g. setsid).
    pub fn without_own_group(mut self) -> Run {
        self.own_group = false;
        self
    }

    /// The underlying command, for `pre_exec` and the like.
    pub fn command_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn spawn(mut self) -> Running {
        if self.own_group {
            self.cmd.process_group(0);
        }
        if self.capture_stdout {
            self.cmd.stdout(Stdio::piped());
        }
        if self.capture_stderr {
            self.cmd.stderr(Stdio::piped());
        }
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.label));
        let stdout = child.stdout.take().map(capture);
        let stderr = child.stderr.take().map(capture);
        let pid = i32::try_from(child.id()).expect("pid fits in i32");
        Running {
            pid,
            child: Some(child),
            label: self.label,
            timeout: self.timeout,
            started: Instant::now(),
            stdout,
            stderr,
            own_group: self.own_group,
        }
    }

    /// Run to completion (within the hard timeout) and return what happened.
    pub fn output(self) -> Outcome {
        self.spawn().wait()
    }
}

/// A pipe being read to its end by a thread.
struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    done: Receiver<()>,
}

fn capture(mut pipe: impl Read + Send + 'static) -> Capture {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let (tx, done) = mpsc::channel();
    let sink = Arc::clone(&buf);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            if let Ok(mut b) = sink.lock() {
                b.extend_from_slice(&chunk[..n]);
            }
        }
        let _ = tx.send(());
    });
    Capture { buf, done }
}

impl Capture {
    fn text(&self) -> String {
        let bytes = self.buf.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// A started process. Dropping it SIGKILLs its whole tree if it has not been waited for.
pub struct Running {
    pid: i32,
    child: Option<Child>,
    label: String,
    timeout: Duration,
    started: Instant,
    stdout: Option<Capture>,
    stderr: Option<Capture>,
    own_group: bool,
}

impl Running {
    /// The pid of the process we started (for a pid namespace run: `unshare`'s).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Send `sig` to the process we started.
    pub fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.pid), sig)
            .unwrap_or_else(|e| panic!("cannot send {sig} to {} ({}): {e}", self.pid, self.label));
    }

    /// Panic, with the output so far, if the process has already exited: for handshakes
    /// that can never complete.
    pub fn assert_running(&mut self, waiting_for: &str) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if let Ok(Some(status)) = child.try_wait() {
            std::thread::sleep(Duration::from_millis(50)); // let the readers catch up
            panic!(
                "{} exited ({status}) while we waited for {waiting_for}\nstdout:\n{}\nstderr:\n{}",
                self.label,
                self.stdout_so_far(),
                self.stderr_so_far()
            );
        }
    }

    /// Output captured so far.
    pub fn stdout_so_far(&self) -> String {
        self.stdout.as_ref().map(Capture::text).unwrap_or_default()
    }

    pub fn stderr_so_far(&self) -> String {
        self.stderr.as_ref().map(Capture::text).unwrap_or_default()
    }

    /// Wait for the process to exit, for at most the hard timeout; past it, SIGKILL the
    /// whole tree and panic.
    pub fn wait(mut self) -> Outcome {
        let mut child = self.child.take().expect("wait is called once");
        let (tx, rx) = mpsc::channel();
        let (pid, group) = (Pid::from_raw(self.pid), self.own_group);
        std::thread::spawn(move || {
            // Wait without reaping first: while the exited leader is a zombie its pid,
            // hence its process group id, cannot be reused, so killing whatever is left in
            // its group cannot hit anybody else.
            let _ = waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
            if group {
                let _ = killpg(pid, Signal::SIGKILL);
            }
            let _ = tx.send(child.wait());
        });
        let left = self.timeout.saturating_sub(self.started.elapsed());
        let status = match rx.recv_timeout(left) {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("waiting for {} failed: {e}", self.label),
            Err(_) => {
                kill_tree(self.pid, self.own_group);
                let _ = rx.recv_timeout(Duration::from_secs(10));
                panic!(
                    "hard timeout: {} was still running after {:?}; killed it\nstdout so far:\n{}\nstderr so far:\n{}",
                    self.label,
                    self.timeout,
                    self.stdout_so_far(),
                    self.stderr_so_far()
                );
            }
        };
        for (name, cap) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if let Some(c) = cap {
                if c.done.recv_timeout(Duration::from_secs(10)).is_err() {
                    panic!(
                        "{} exited ({status}) but its {name} is still open: a process it started outlived it",
                        self.label
                    );
                }
            }
        }
        Outcome {
            status,
            stdout: self.stdout_so_far(),
            stderr: self.stderr_so_far(),
            label: self.label.clone(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_tree(self.pid, self.own_group);
            let _ = child.wait();
        }
    }
}

/// SIGKILL `root` and every descendant (stopped first so that none forks meanwhile), and
/// its process group when it leads one.
pub fn kill_tree(root: i32, group: bool) {
    let stats = all_stats();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(stats.iter().filter(|s| s.ppid == parent).map(|s| s.pid));
        i += 1;
    }
    for pid in &tree {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGSTOP);
    }
    for pid in &tree {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    if group {
        let _ = killpg(Pid::from_raw(root), Signal::SIGKILL);
    }
}

/// How a finished process ended, with its output.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub label: String,
}

impl Outcome {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` ended with {}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.label, self.status, self.stdout, self.stderr
        )
    }
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
