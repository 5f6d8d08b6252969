//! A private dockerd for a test or a bench: Debian 12's docker.io 20.10 (`/usr/sbin/dockerd`,
//! client `/usr/bin/docker`) with its own data-root, exec-root, pidfile, config file,
//! socket and cgroup parent under one short temp dir, `--iptables=false --bridge=none`, and
//! the containerd it starts and manages itself under the exec-root. The client gets
//! `-H unix://SOCK` and its own `DOCKER_CONFIG`; none of the caller's DOCKER_* variables.
//!
//! The config file holds only `deprecated-key-path` (the trust key would otherwise go to
//! /etc/docker/key.json). Storage: overlay2, else vfs when overlay2 will not start on the
//! temp dir (the caller can see which in [`Dockerd::driver`]). Readiness is `docker info`
//! answering, polled with a deadline.
//!
//! Clean-up ([`Dockerd::finish`], or Drop): `docker rm -f` every container, SIGTERM to
//! dockerd (SIGKILL past a deadline); then any process still naming the temp dir in its
//! command line (containerd, a containerd-shim, dockerd) is a leftover: reported, and
//! killed with everything below it. Mounts under the temp dir (overlay, shm, netns) are
//! detached, the cgroup parent removed in every hierarchy, then the temp dir.
//!
//! Self-contained (std, nix and `crate::ctrd_common` through bench/host.rs) so that the
//! bench includes it with `#[path]`; errors are strings, as the bench reports them. The
//! caller finds the programs (the tests with `harness::require`).

// Shared by the docker tests and the bench: not every piece is used by every build.
#![allow(dead_code)]

// The bench has its own copy as crate::host; this one is the rig's, in both crates.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "bench/host.rs"]
mod host;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest one `docker` call may take, and each step of the clean-up.
pub const LIMIT: Duration = Duration::from_secs(60);
/// How long dockerd gets to answer `docker info`, and to exit after SIGTERM.
const DAEMON_LIMIT: Duration = Duration::from_secs(30);

/// Variables that would redirect the client; it is told what to use instead.
const CLIENT_ENV: &[&str] = &[
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_API_VERSION",
];

/// The programs a rig runs: dockerd, the docker client and the `--init-path` binary.
#[derive(Debug, Clone)]
pub struct Programs {
    pub dockerd: PathBuf,
    pub docker: PathBuf,
    pub init: PathBuf,
}

/// How a `docker` call ended.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
    pub what: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited {:?} after {:?}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.what, self.code, self.took, self.stdout, self.stderr
        )
    }
}

/// Run `cmd` to its end within `limit`, output captured; SIGKILLed past the limit.
fn run_bounded(mut cmd: Command, what: String, limit: Duration) -> Result<Reply, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let pid = i32::try_from(child.id()).map_err(|_| "pid out of range".to_string())?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("waiting for {what} failed: {e}")),
        Err(_) => {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = rx.recv_timeout(Duration::from_secs(10));
            return Err(format!(
                "{what} was still running after {limit:?}; killed it"
            ));
        }
    };
    Ok(Reply {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
        what,
    })
}

/// A private dockerd; everything it made is removed by `finish` or on drop.
pub struct Dockerd {
    dir: PathBuf,
    sock: PathBuf,
    programs: Programs,
    cgroup_parent: String,
    driver: &'static str,
    daemon: Option<std::process::Child>,
    finished: bool,
}

impl Dockerd {
    /// Start dockerd with `programs.init` as its `--init-path` and wait until it answers;
    /// overlay2 first, then vfs.
    pub fn start(programs: &Programs) -> Result<Dockerd, String> {
        let overlay = Dockerd::start_with(programs, "overlay2");
        match overlay {
            Ok(d) => Ok(d),
            Err(why) => {
                eprintln!("dockerd would not start with overlay2, trying vfs: {why}");
                Dockerd::start_with(programs, "vfs").map_err(|vfs| {
                    format!("dockerd started with neither overlay2 ({why}) nor vfs ({vfs})")
                })
            }
        }
    }

    fn start_with(programs: &Programs, driver: &'static str) -> Result<Dockerd, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("rit-dk-{}-{n}", std::process::id());
        // Short: containerd's sockets live under the exec-root (108-byte limit).
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["data", "x", "client"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(|e| format!("cannot create {}: {e}", dir.join(sub).display()))?;
        }
        let config = serde_json::json!({ "deprecated-key-path": dir.join("key.json") }).to_string();
        std::fs::write(dir.join("daemon.json"), config)
            .map_err(|e| format!("cannot write {}/daemon.json: {e}", dir.display()))?;
        let log = std::fs::File::create(dir.join("dockerd.log"))
            .map_err(|e| format!("cannot create {}/dockerd.log: {e}", dir.display()))?;
        let log2 = log.try_clone().map_err(|e| format!("dup log: {e}"))?;
        let sock = dir.join("d.sock");
        let mut cmd = Command::new(&programs.dockerd);
        cmd.arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("x"))
            .arg("--pidfile")
            .arg(dir.join("d.pid"))
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args(["--storage-driver", driver])
            .arg("--cgroup-parent")
            .arg(format!("/{name}"))
            .arg("--init-path")
            .arg(&programs.init)
            .env("TMPDIR", &dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0);
        let daemon = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", programs.dockerd.display()))?;
        let mut rig = Dockerd {
            dir,
            sock,
            programs: programs.clone(),
            cgroup_parent: name,
            driver,
            daemon: Some(daemon),
            finished: false,
        };
        match rig.wait_ready() {
            Ok(()) => Ok(rig),
            Err(why) => {
                let log = rig.log();
                let cleanup = rig.clean_up();
                Err(format!(
                    "{why}\n--- dockerd log ---\n{log}{}",
                    cleanup_text(&cleanup)
                ))
            }
        }
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            if let Some(daemon) = self.daemon.as_mut() {
                if let Ok(Some(status)) = daemon.try_wait() {
                    return Err(format!("dockerd exited ({status}) before it answered"));
                }
            }
            if self.sock.exists() {
                let info = self.docker(["info", "--format", "{{.Driver}}"])?;
                if info.code == Some(0) {
                    let got = info.stdout.trim();
                    if got != self.driver {
                        return Err(format!(
                            "dockerd runs storage driver {got:?}, not {}",
                            self.driver
                        ));
                    }
                    return Ok(());
                }
            }
            if started.elapsed() > DAEMON_LIMIT {
                return Err(format!(
                    "dockerd did not answer `docker info` within {DAEMON_LIMIT:?}"
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// The storage driver it runs (overlay2 or vfs).
    pub fn driver(&self) -> &'static str {
        self.driver
    }

    /// The `--init-path` it was given.
    pub fn init(&self) -> &Path {
        &self.programs.init
    }

    /// What dockerd (and its containerd) logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    /// `docker -H unix://SOCK ARGS...` to its end (within [`LIMIT`]), whatever its code.
    pub fn docker<I, S>(&self, args: I) -> Result<Reply, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.docker_within(args, LIMIT)
    }

    fn docker_within<I, S>(&self, args: I, limit: Duration) -> Result<Reply, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.programs.docker);
        for var in CLIENT_ENV {
            cmd.env_remove(var);
        }
        cmd.env("DOCKER_CONFIG", self.dir.join("client"))
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()));
        let mut what = "docker".to_string();
        for a in args {
            what.push(' ');
            what.push_str(&a.as_ref().to_string_lossy());
            cmd.arg(a);
        }
        run_bounded(cmd, what, limit)
    }

    /// `docker ARGS...`, which must exit 0: its stdout, else the reply and dockerd's log.
    pub fn docker_ok<I, S>(&self, args: I) -> Result<String, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let reply = self.docker(args)?;
        match reply.code {
            Some(0) => Ok(reply.stdout),
            _ => Err(format!("{reply}\n--- dockerd log ---\n{}", self.log())),
        }
    }

    /// `docker import` of the directory `rootfs` as `name`, with `--change` for each of
    /// `changes` (e.g. `ENTRYPOINT [...]`); the tarball is written into the temp dir.
    pub fn import(&self, rootfs: &Path, name: &str, changes: &[&str]) -> Result<(), String> {
        let tar = self
            .dir
            .join(format!("{}.tar", name.replace([':', '/'], "_")));
        let mut cmd = Command::new("tar");
        cmd.arg("-C").arg(rootfs).arg("-cf").arg(&tar).arg(".");
        let packed = run_bounded(cmd, format!("tar -C {} -cf", rootfs.display()), LIMIT)?;
        if packed.code != Some(0) {
            return Err(packed.to_string());
        }
        let mut args: Vec<&OsStr> = vec!["import".as_ref()];
        for change in changes {
            args.push("--change".as_ref());
            args.push(change.as_ref());
        }
        args.push(tar.as_os_str());
        args.push(name.as_ref());
        self.docker_ok(args).map(|_| ())
    }

    /// Stop everything and remove what it made; what was left behind, as text.
    pub fn finish(mut self) -> Result<(), String> {
        let problems = self.clean_up();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(cleanup_text(&problems))
        }
    }

    fn clean_up(&mut self) -> Vec<String> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        let mut problems = Vec::new();
        let alive = self
            .daemon
            .as_mut()
            .is_some_and(|d| matches!(d.try_wait(), Ok(None)));
        if alive {
            match self.docker_within(["ps", "-aq"], LIMIT) {
                Ok(r) if r.code == Some(0) => {
                    let ids: Vec<&str> = r.stdout.split_whitespace().collect();
                    if !ids.is_empty() {
                        let mut args = vec!["rm", "-f"];
                        args.extend(ids);
                        match self.docker_within(args, LIMIT) {
                            Ok(r) if r.code == Some(0) => {}
                            Ok(r) => problems.push(format!("docker rm -f failed: {r}")),
                            Err(e) => problems.push(e),
                        }
                    }
                }
                Ok(r) => problems.push(format!("docker ps -aq failed: {r}")),
                Err(e) => problems.push(e),
            }
        }
        if let Some(mut daemon) = self.daemon.take() {
            if let Ok(pid) = i32::try_from(daemon.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let exited = host::settle(DAEMON_LIMIT, || matches!(daemon.try_wait(), Ok(Some(_))));
            if !exited {
                problems.push(format!(
                    "dockerd did not exit within {DAEMON_LIMIT:?} of SIGTERM"
                ));
                let _ = daemon.kill();
            }
            let _ = daemon.wait();
        }
        // containerd, a shim or dockerd itself still naming our temp dir: left behind.
        let needle = self.dir.display().to_string();
        let left = host::pids_with_in_cmdline(&needle);
        if !left.is_empty() {
            let names: Vec<String> = left.iter().map(|p| describe(*p)).collect();
            problems.push(format!(
                "left running after dockerd stopped: {}",
                names.join(", ")
            ));
            let alive = host::kill_trees(&left, DAEMON_LIMIT);
            if !alive.is_empty() {
                problems.push(format!("still alive after SIGKILL: {alive:?}"));
            }
        }
        problems.extend(host::unmount_under(&self.dir));
        problems.extend(host::remove_cgroups(&self.cgroup_parent));
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            problems.push(format!("cannot remove {}: {e}", self.dir.display()));
        }
        problems
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let log = self.log();
        let problems = self.clean_up();
        if problems.is_empty() {
            return;
        }
        let report = format!("{}\n--- dockerd log ---\n{log}", cleanup_text(&problems));
        if std::thread::panicking() {
            eprintln!("{report}");
        } else {
            panic!("{report}");
        }
    }
}

fn cleanup_text(problems: &[String]) -> String {
    if problems.is_empty() {
        return String::new();
    }
    format!(
        "\ndockerd clean-up left things behind:\n  {}",
        problems.join("\n  ")
    )
}

/// `PID (comm)` for a report.
fn describe(pid: i32) -> String {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    format!("{pid} ({})", comm.trim())
}
