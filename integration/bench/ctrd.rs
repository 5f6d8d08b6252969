//! A private containerd for the upgrade measure (issue 5): Debian's containerd 1.6 with its
//! own config, root, state, temp dir and sockets under a temp dir, CRI and the unused
//! snapshotters off, driven with `ctr --address SOCK --namespace NS`. The same idea as
//! integration/containerd.rs, but returning errors instead of panicking, as the bench does.
//!
//! What containerd keeps outside its root/state whatever the config says, and what
//! [`Ctrd::finish`] (or Drop) therefore removes besides the temp dir: the shims (nobody's
//! children once the daemon is gone) and the containers below them, the shim sockets in
//! /run/containerd/s, runc's state in /run/containerd/runc/NS, and the cgroups NS/ID in
//! every hierarchy; mounts under the temp dir (the overlay rootfs) are detached first.

use crate::child;
use crate::host;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The snapshotter the daemon uses (containerd's default).
pub const SNAPSHOTTER: &str = "overlayfs";
/// Longest one `ctr` call may take; the daemon's start and stop get the same.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Where a tool must be, and the Debian package that has it (`make deps` installs it).
pub fn require(tool: &str, package: &str) -> Result<(), String> {
    let found = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .map(PathBuf::from)
        .chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths),
        )
        .any(|d| d.join(tool).is_file());
    if found {
        Ok(())
    } else {
        Err(format!(
            "{tool} is missing: the upgrade measure needs it; install it with `make deps` \
             (Debian package {package})"
        ))
    }
}

/// A private containerd daemon; everything it made is removed by `finish` or on drop.
pub struct Ctrd {
    dir: PathBuf,
    address: PathBuf,
    namespace: String,
    daemon: Option<Child>,
    finished: bool,
}

impl Ctrd {
    /// Write the config, start the daemon, wait until `ctr version` answers and check that
    /// the overlayfs snapshotter loaded.
    pub fn start() -> Result<Ctrd, String> {
        require("containerd", "containerd")?;
        require("ctr", "containerd")?;
        require("runc", "runc")?;
        let dir = std::env::temp_dir().join(format!("rich-init-bench-{}-ctrd", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["root", "state", "tmp"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        }
        let address = dir.join("containerd.sock");
        let config = dir.join("config.toml");
        std::fs::write(&config, crate::ctrd_common::config_toml(&dir, &address))
            .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
        let log = std::fs::File::create(dir.join("containerd.log"))
            .map_err(|e| format!("cannot create the daemon's log in {}: {e}", dir.display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot share the daemon's log: {e}"))?;
        let mut ctrd = Ctrd {
            namespace: format!("rib-{}", std::process::id()),
            address,
            daemon: None,
            finished: false,
            dir,
        };
        let daemon = child::spawn(
            Command::new("containerd")
                .arg("--config")
                .arg(&config)
                .env("TMPDIR", ctrd.dir.join("tmp"))
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2),
            "containerd",
        )?;
        ctrd.daemon = Some(daemon);
        ctrd.wait_ready()?;
        ctrd.check_snapshotter()?;
        Ok(ctrd)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let mut died = None;
        let ready = host::settle(LIMIT, || {
            if let Some(Ok(Some(status))) = self.daemon.as_mut().map(Child::try_wait) {
                died = Some(status);
                return true;
            }
            // Without the socket file ctr would retry for its connect timeout.
            self.address.exists()
                && self
                    .ctr()
                    .args(["--connect-timeout", "2s", "version"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
        });
        match (ready, died) {
            (_, Some(status)) => {
                self.daemon = None;
                Err(format!(
                    "containerd exited ({status}) at start:\n{}",
                    self.log()
                ))
            }
            (true, None) => Ok(()),
            (false, None) => Err(format!(
                "containerd did not answer on {} within {LIMIT:?}:\n{}",
                self.address.display(),
                self.log()
            )),
        }
    }

    fn check_snapshotter(&self) -> Result<(), String> {
        let out = self.ctr_ok(&["plugins", "ls"])?;
        let ok = out.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.first() == Some(&"io.containerd.snapshotter.v1")
                && f.get(1) == Some(&SNAPSHOTTER)
                && f.last() == Some(&"ok")
        });
        if ok {
            Ok(())
        } else {
            Err(format!(
                "containerd's {SNAPSHOTTER} snapshotter did not load with its root under {} \
                 (it needs a temp dir on ext4/xfs, not on overlayfs: set TMPDIR)\n{out}",
                self.dir.display()
            ))
        }
    }

    pub fn address(&self) -> &Path {
        &self.address
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The temp dir, removed at the end with everything in it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The daemon's log so far (for error messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    /// `ctr --address SOCK --namespace NS` in namespace `ns`, ARGS still to add.
    fn ctr_in(&self, ns: &str) -> Command {
        let mut command = Command::new("ctr");
        for var in [
            "CONTAINERD_ADDRESS",
            "CONTAINERD_NAMESPACE",
            "CONTAINERD_SNAPSHOTTER",
        ] {
            command.env_remove(var);
        }
        command
            .arg("--address")
            .arg(&self.address)
            .arg("--namespace")
            .arg(ns)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// `ctr` against this daemon, in its namespace, ARGS still to add.
    pub fn ctr(&self) -> Command {
        self.ctr_in(&self.namespace)
    }

    /// `ctr ARGS`, which must exit 0 within [`LIMIT`]; its stdout.
    /// "containerd X.Y.Z" from `ctr version`, for the report.
    pub fn version(&self) -> Result<String, String> {
        Ok(self
            .ctr_ok(&["version"])?
            .lines()
            .find_map(|l| l.trim().strip_prefix("Version:"))
            .map(|v| format!("containerd {}", v.trim()))
            .unwrap_or_else(|| "containerd: version unknown".into()))
    }

    pub fn ctr_ok(&self, args: &[&str]) -> Result<String, String> {
        let what = format!("ctr {}", args.join(" "));
        child::run(self.ctr().args(args), LIMIT, &what)
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Stop everything and remove what the daemon left; what could not be removed.
    pub fn finish(mut self) -> Vec<String> {
        self.cleanup()
    }

    fn cleanup_ctr(&self, ns: &str, args: &[&str]) -> Option<Output> {
        let what = format!("ctr -n {ns} {}", args.join(" "));
        child::finish(
            child::spawn(
                self.ctr_in(ns).args(["--connect-timeout", "5s"]).args(args),
                &what,
            )
            .ok()?,
            LIMIT,
            &what,
        )
        .ok()
    }

    fn cleanup(&mut self) -> Vec<String> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        let mut problems = Vec::new();
        // Every namespace's tasks and containers go; only ours has cgroups and runc dirs
        // that are ours alone (another daemon may share those of "default").
        let mut namespaces = vec![self.namespace.clone()];
        if self
            .daemon
            .as_mut()
            .is_some_and(|d| d.try_wait().is_ok_and(|s| s.is_none()))
        {
            if let Some(out) = self.cleanup_ctr("default", &["namespaces", "ls", "-q"]) {
                namespaces.extend(words(&out.stdout).filter(|n| *n != self.namespace));
            }
            for ns in &namespaces {
                let list = |what: &str| {
                    self.cleanup_ctr(ns, &[what, "ls", "-q"])
                        .map(|o| words(&o.stdout).collect::<Vec<_>>())
                        .unwrap_or_default()
                };
                for task in list("tasks") {
                    self.cleanup_ctr(ns, &["tasks", "delete", "--force", &task]);
                }
                for container in list("containers") {
                    self.cleanup_ctr(ns, &["containers", "delete", &container]);
                }
            }
        }
        let sockets = self.shim_sockets();
        if let Some(mut daemon) = self.daemon.take() {
            let _ = child::signal(&daemon, Signal::SIGTERM, "containerd");
            if !host::settle(LIMIT, || daemon.try_wait().is_ok_and(|s| s.is_some())) {
                let _ = daemon.kill();
                let _ = daemon.wait();
            }
        }
        // The daemon does not stop its shims: one left means a task that would not go.
        let address = self.address.display().to_string();
        let alive = host::kill_trees(&host::pids_with_in_cmdline(&address), LIMIT);
        if !alive.is_empty() {
            problems.push(format!("processes alive after SIGKILL: {alive:?}"));
        }
        for socket in sockets
            .iter()
            .filter(|s| s.starts_with("/run/containerd/s"))
        {
            let _ = std::fs::remove_file(socket);
        }
        problems.extend(host::unmount_under(&self.dir));
        problems.extend(host::remove_cgroups(&self.namespace));
        let runc = Path::new("/run/containerd/runc").join(&self.namespace);
        if runc.exists() {
            if let Err(e) = std::fs::remove_dir_all(&runc) {
                problems.push(format!("cannot remove {}: {e}", runc.display()));
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            problems.push(format!("cannot remove {}: {e}", self.dir.display()));
        }
        problems
    }

    /// The shim sockets of this daemon's tasks, from the address files in its state dir.
    fn shim_sockets(&self) -> Vec<PathBuf> {
        let tasks = self.dir.join("state/io.containerd.runtime.v2.task");
        let mut found = Vec::new();
        for ns in std::fs::read_dir(&tasks).into_iter().flatten().flatten() {
            for task in std::fs::read_dir(ns.path()).into_iter().flatten().flatten() {
                let text = std::fs::read_to_string(task.path().join("address")).unwrap_or_default();
                if let Some(path) = text.trim().strip_prefix("unix://") {
                    found.push(PathBuf::from(path));
                }
            }
        }
        found
    }
}

impl Drop for Ctrd {
    fn drop(&mut self) {
        let problems = self.cleanup();
        if !problems.is_empty() {
            eprintln!(
                "bench: the private containerd left things behind:\n  {}",
                problems.join("\n  ")
            );
        }
    }
}

/// The first field of each non-empty line (`ctr ... -q` prints one id a line).
fn words(out: &[u8]) -> impl Iterator<Item = String> + '_ {
    std::str::from_utf8(out)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
}
