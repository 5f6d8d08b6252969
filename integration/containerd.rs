//! A private containerd daemon for a test: Debian 12's containerd 1.6 (`/usr/bin/containerd`,
//! package `containerd`) with its own config, root, state, temp dir and socket under a
//! [`TempDir`], driven with `ctr --address SOCK --namespace NS`. Each daemon gets its own
//! namespace name, so two of them can run side by side (and next to a system containerd).
//!
//! The config disables CRI and the plugins a test never uses (aufs, btrfs, devmapper and zfs
//! snapshotters, /opt/containerd, tracing; not the v1 runtime, which 1.6's tasks service
//! needs). Start-up then takes a few tens of milliseconds; readiness is `ctr version`
//! answering on the socket.
//!
//! Snapshotter: overlayfs (containerd's default). It works with the temp dir on ext4, as on
//! the CI machines; `start` checks that the plugin loaded and says so when it did not (e.g.
//! a temp dir on overlayfs itself: point TMPDIR elsewhere).
//!
//! What containerd 1.6 keeps outside its root/state, whatever the config says:
//! - shim sockets in /run/containerd/s/<sha256(address, namespace, id)>;
//! - runc's state in /run/containerd/runc/<namespace>/<id>;
//! - container cgroups at <namespace>/<id> in every hierarchy (runc removes <id>, not
//!   <namespace>); with cgroup v1 + cgroup2 at /sys/fs/cgroup/unified, runc (not crun) works;
//! - `ctr run` FIFOs in /run/containerd/fifo unless the task logs to a file, as
//!   `Containerd::run_detached` (ctr_run.rs) makes it.
//!
//! Drop removes all of it: it force-deletes every task and container in every namespace,
//! stops the daemon (SIGTERM, SIGKILL after a deadline), kills any shim still serving this
//! daemon's socket (and its container), detaches every mount under the temp dir (deepest
//! first), removes the cgroups and runc dirs of the test's namespaces, then the temp dir.
//! The test's namespaces are [`Containerd::namespace`] and any name that starts with it and
//! a dash (a second namespace for a test); other namespaces' tasks and containers are
//! deleted too, but their cgroup parents and runc dirs may be shared with a system daemon
//! and are left alone.

// Shared by the containerd tests and the upgrade-helper tests: not every piece is used by every build.
#![allow(dead_code)]

use crate::harness::{require, wait_for, Outcome, Run, Running, TempDir};
use crate::leaks;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

/// The snapshotter the daemon uses (containerd's default).
pub const SNAPSHOTTER: &str = "overlayfs";

/// How long Drop gives the daemon after SIGTERM, and each clean-up `ctr` call.
const STOP_LIMIT: Duration = Duration::from_secs(20);

/// Environment variables that would redirect `ctr`; each call says what it means instead.
const CTR_ENV: &[&str] = &[
    "CONTAINERD_ADDRESS",
    "CONTAINERD_NAMESPACE",
    "CONTAINERD_SNAPSHOTTER",
];

/// `ctr --address SOCK --namespace NS` with ARGS still to add.
fn ctr_base(address: &Path, namespace: &str) -> Run {
    let mut run = Run::new(require("ctr"));
    for var in CTR_ENV {
        run.command_mut().env_remove(var);
    }
    run.arg("--address")
        .arg(address)
        .arg("--namespace")
        .arg(namespace)
}

/// A private containerd daemon; everything it made is removed on drop.
pub struct Containerd {
    dir: TempDir,
    address: PathBuf,
    namespace: String,
    daemon: Option<Running>,
}

impl Containerd {
    /// Write the config, start `containerd --config`, wait until `ctr version` answers and
    /// check that the overlayfs snapshotter loaded.
    pub fn start() -> Containerd {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let program = require("containerd");
        require("ctr");
        let dir = TempDir::new("containerd");
        for sub in ["root", "state", "tmp", "logs"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        }
        let config = dir.write(
            "config.toml",
            &crate::ctrd_common::config_toml(dir.path(), &dir.join("containerd.sock")),
        );
        let daemon = Run::new(program)
            .arg("--config")
            .arg(&config)
            .env("TMPDIR", dir.join("tmp"))
            .spawn(); // a daemon: stopped by Drop, never waited for
        let started = Instant::now();
        let mut ctd = Containerd {
            address: dir.join("containerd.sock"),
            dir,
            namespace: format!("rit-{}-{n}", std::process::id()),
            daemon: Some(daemon),
        };
        ctd.wait_ready();
        eprintln!(
            "containerd at {} answered after {:?}",
            ctd.address.display(),
            started.elapsed()
        );
        ctd.check_snapshotter();
        ctd
    }

    fn wait_ready(&mut self) {
        let address = self.address().to_path_buf();
        let daemon = self.daemon.as_mut().expect("the daemon was started");
        wait_for(
            &format!(
                "containerd to answer `ctr version` on {}",
                address.display()
            ),
            || {
                daemon.assert_running("containerd to answer on its socket");
                // Without the socket file ctr would retry for its 10 s connect timeout.
                if !address.exists() {
                    return None;
                }
                let out = ctr_base(&address, "default")
                    .args(["--connect-timeout", "2s", "version"])
                    .output();
                (out.code() == Some(0)).then_some(())
            },
        );
    }

    fn check_snapshotter(&self) {
        let out = self.ctr_ok(["plugins", "ls"]);
        let ok = out.stdout.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.first() == Some(&"io.containerd.snapshotter.v1")
                && f.get(1) == Some(&SNAPSHOTTER)
                && f.last() == Some(&"ok")
        });
        assert!(
            ok,
            "containerd's {SNAPSHOTTER} snapshotter did not load with its root under {} \
             (overlayfs needs a temp dir on ext4/xfs, not on overlayfs: set TMPDIR)\n{out}\n--- containerd log ---\n{}",
            self.dir.path().display(),
            self.log()
        );
    }

    /// The gRPC socket (what upgrade-helper's `--address` takes).
    pub fn address(&self) -> &Path {
        &self.address
    }

    /// The namespace the tests use in this daemon, unique host-wide (`rit-PID-N`). A test
    /// that needs another one names it `NAMESPACE-SOMETHING`, so that Drop cleans it up.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The temp dir that holds root/, state/, tmp/, logs/ and the socket.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the daemon has logged so far (its stderr).
    pub fn log(&self) -> String {
        self.daemon
            .as_ref()
            .map(Running::stderr_so_far)
            .unwrap_or_default()
    }

    /// The daemon's pid.
    pub fn pid(&self) -> i32 {
        self.daemon.as_ref().expect("the daemon is running").pid()
    }

    /// `ctr --address SOCK --namespace NS ARGS...` to completion (within the hard timeout).
    pub fn ctr<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        ctr_base(self.address(), &self.namespace)
            .args(args)
            .output()
    }

    /// `ctr ... ARGS...`, which must succeed; panics with its output and the daemon's log.
    pub fn ctr_ok<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.ctr(args);
        assert_eq!(
            out.code(),
            Some(0),
            "ctr failed\n{out}\n--- containerd log ---\n{}",
            self.log()
        );
        out
    }

    /// `ctr images import EXTRA... TAR` (unpacked into the snapshotter), which must succeed.
    /// Unpacking a Debian image while other tests fill the disk (podman's vfs copies whole
    /// layers) once took over the default 90 s: this hard timeout, only against a hang,
    /// is longer.
    pub fn import(&self, tar: &Path, extra: &[&str]) -> Outcome {
        let mut args: Vec<&OsStr> = vec!["images".as_ref(), "import".as_ref()];
        args.extend(extra.iter().map(OsStr::new));
        args.push(tar.as_os_str());
        let out = ctr_base(self.address(), &self.namespace)
            .args(args)
            .timeout(std::time::Duration::from_secs(300))
            .output();
        assert_eq!(
            out.code(),
            Some(0),
            "ctr images import failed\n{out}\n--- containerd log ---\n{}",
            self.log()
        );
        out
    }

    /// Image names in the namespace (`ctr images ls -q`).
    pub fn images(&self) -> Vec<String> {
        words(&self.ctr_ok(["images", "ls", "-q"]).stdout, 0)
    }

    /// Snapshot keys of the snapshotter (`ctr snapshots ls`), for leak checks.
    pub fn snapshots(&self) -> Vec<String> {
        let out = self.ctr_ok(["snapshots", "--snapshotter", SNAPSHOTTER, "ls"]);
        rows(&out.stdout).map(|f| f[0].to_string()).collect()
    }

    /// Lease ids (`ctr leases ls -q`), for leak checks.
    pub fn leases(&self) -> Vec<String> {
        words(&self.ctr_ok(["leases", "ls", "-q"]).stdout, 0)
    }

    /// Container ids (`ctr containers ls -q`).
    pub fn containers(&self) -> Vec<String> {
        words(&self.ctr_ok(["containers", "ls", "-q"]).stdout, 0)
    }
}

/// Field `col` of each non-empty line (`ctr ... -q` prints one id a line).
pub fn words(text: &str, col: usize) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(col))
        .map(str::to_string)
        .collect()
}

/// The whitespace-separated fields of each row of a `ctr ... ls` table, header skipped.
pub fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| !f.is_empty())
}

/// Run a clean-up step; a panic inside it (a `ctr` past its time limit) is reported and
/// turned into None rather than aborting a test that is already unwinding.
fn quietly<T>(what: &str, step: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)) {
        Ok(v) => Some(v),
        Err(_) => {
            eprintln!("containerd clean-up: {what} failed (see the panic above)");
            None
        }
    }
}

impl Containerd {
    /// `ctr` in namespace `ns` with the clean-up time limit; the outcome whatever it is.
    fn cleanup_ctr(&self, ns: &str, args: &[&str]) -> Option<Outcome> {
        quietly(&format!("ctr -n {ns} {}", args.join(" ")), || {
            ctr_base(&self.address, ns)
                .args(["--connect-timeout", "5s"])
                .args(args)
                .timeout(STOP_LIMIT)
                .output()
        })
    }

    /// Force-delete every task and container in every namespace; returns the namespaces.
    fn remove_all_containers(&self) -> Vec<String> {
        let namespaces = match self.cleanup_ctr("default", &["namespaces", "ls", "-q"]) {
            Some(out) if out.code() == Some(0) => words(&out.stdout, 0),
            _ => vec![self.namespace.clone()],
        };
        for ns in &namespaces {
            let list = |what: &str| match self.cleanup_ctr(ns, &[what, "ls", "-q"]) {
                Some(out) if out.code() == Some(0) => words(&out.stdout, 0),
                _ => Vec::new(),
            };
            for task in list("tasks") {
                self.cleanup_ctr(ns, &["tasks", "delete", "--force", &task]);
            }
            for container in list("containers") {
                self.cleanup_ctr(ns, &["containers", "delete", &container]);
            }
        }
        namespaces
    }

    /// The shim sockets of this daemon's tasks, from the address files in its state dir.
    fn shim_sockets(&self) -> Vec<PathBuf> {
        let tasks = self.dir.join("state").join("io.containerd.runtime.v2.task");
        let mut found = Vec::new();
        for ns in std::fs::read_dir(&tasks).into_iter().flatten().flatten() {
            for task in std::fs::read_dir(ns.path()).into_iter().flatten().flatten() {
                let text = crate::harness::read_or_empty(&task.path().join("address"));
                if let Some(path) = text.trim().strip_prefix("unix://") {
                    found.push(PathBuf::from(path));
                }
            }
        }
        found
    }

    /// SIGTERM, then SIGKILL if it has not exited within [`STOP_LIMIT`]; reaped.
    fn stop_daemon(&mut self) -> String {
        let Some(daemon) = self.daemon.take() else {
            return String::new();
        };
        let pid = daemon.pid();
        if !leaks::exited(pid) {
            quietly("SIGTERM to containerd", || daemon.signal(Signal::SIGTERM));
            leaks::settle(STOP_LIMIT, || leaks::exited(pid));
        }
        let log = daemon.stderr_so_far();
        drop(daemon); // SIGKILLs it if it is still there, and reaps it
        log
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let address = self.address.display().to_string();
        // Without a daemon to ask, the test's own namespace is the one we know of.
        let mut namespaces = vec![self.namespace.clone()];
        if self
            .daemon
            .as_ref()
            .is_some_and(|d| !leaks::exited(d.pid()))
        {
            namespaces = self.remove_all_containers();
        }
        let sockets = self.shim_sockets();
        let log = self.stop_daemon();
        let mut problems = Vec::new();

        // The daemon does not stop its shims; one left means a task that would not go.
        let shims = leaks::pids_with_in_cmdline(&address);
        let alive = leaks::kill_and_wait(&shims);
        if !alive.is_empty() {
            problems.push(format!("processes still alive after SIGKILL: {alive:?}"));
        }
        for socket in sockets
            .iter()
            .filter(|s| s.starts_with("/run/containerd/s"))
        {
            let _ = std::fs::remove_file(socket);
        }
        for (point, e) in leaks::unmount_under(self.dir.path()) {
            problems.push(format!("cannot unmount {}: {e}", point.display()));
        }
        let ours = |ns: &&String| {
            **ns == self.namespace || ns.starts_with(&format!("{}-", self.namespace))
        };
        for ns in namespaces.iter().filter(ours) {
            for cg in leaks::remove_cgroups(ns) {
                problems.push(format!("cannot remove cgroup {}", cg.display()));
            }
            let runc_root = Path::new("/run/containerd/runc").join(ns);
            if runc_root.exists() {
                if let Err(e) = std::fs::remove_dir_all(&runc_root) {
                    problems.push(format!("cannot remove {}: {e}", runc_root.display()));
                }
            }
        }
        if let Err(e) = std::fs::remove_dir_all(self.dir.path()) {
            problems.push(format!("cannot remove {}: {e}", self.dir.path().display()));
        }
        if problems.is_empty() {
            return;
        }
        let report = format!(
            "containerd clean-up left things behind:\n  {}\n--- containerd log ---\n{log}",
            problems.join("\n  ")
        );
        if std::thread::panicking() {
            eprintln!("{report}");
        } else {
            panic!("{report}");
        }
    }
}
