//! Containers in a test's containerd, made the way the upgrade tests need them:
//! `ctr run -d` from an image with the container joining a network namespace, a host dir
//! bind-mounted read-write, env and labels ([`CtrRun`]); the task's stdout and stderr go
//! to a log file in the daemon's temp dir. Also the task table (`ctr task ls`) and a
//! container's record (`ctr containers info`). The daemon's Drop removes all of it.

// Shared by the containerd tests and the upgrade-helper tests: not every piece is used by every build.
#![allow(dead_code)]

use crate::containerd::{rows, Containerd};
use crate::harness::{read_or_empty, wait_for, Outcome};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One row of `ctr task ls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub pid: i32,
    /// CREATED, RUNNING, PAUSED, STOPPED or UNKNOWN.
    pub status: String,
}

/// A container for `ctr run -d`: `IMAGE ID [CMD...]` with the options the upgrade tests use.
#[derive(Debug, Clone)]
pub struct CtrRun {
    pub image: String,
    pub id: String,
    flags: Vec<String>,
    cmd: Vec<String>,
}

impl CtrRun {
    /// A container `id` from `image` (a name in the daemon's namespace), the image's CMD.
    pub fn new(image: &str, id: &str) -> CtrRun {
        CtrRun {
            image: image.to_string(),
            id: id.to_string(),
            flags: Vec::new(),
            cmd: Vec::new(),
        }
    }

    /// Join an existing network namespace (`--with-ns network:PATH`).
    pub fn netns(self, path: &Path) -> CtrRun {
        self.flag(&format!("--with-ns=network:{}", path.display()))
    }

    /// Bind-mount the host's `src` read-write at `dst`.
    pub fn bind(self, src: &Path, dst: &str) -> CtrRun {
        self.flag(&format!(
            "--mount=type=bind,src={},dst={dst},options=rbind:rw",
            src.display()
        ))
    }

    /// An environment variable, `K=V`.
    pub fn env(self, pair: &str) -> CtrRun {
        self.flag(&format!("--env={pair}"))
    }

    /// A container label, `K=V`.
    pub fn label(self, pair: &str) -> CtrRun {
        self.flag(&format!("--label={pair}"))
    }

    /// Any other `ctr run` flag, as one argument (`--annotation=K=V`, `--cwd=/data`...).
    pub fn flag(mut self, raw: &str) -> CtrRun {
        self.flags.push(raw.to_string());
        self
    }

    /// The command instead of the image's CMD.
    pub fn cmd(mut self, argv: &[&str]) -> CtrRun {
        self.cmd = argv.iter().map(|s| s.to_string()).collect();
        self
    }

    fn argv(&self, log_uri: &str) -> Vec<String> {
        let mut argv = vec![
            "run".to_string(),
            "-d".into(),
            format!("--log-uri={log_uri}"),
        ];
        argv.extend(self.flags.iter().cloned());
        argv.push(self.image.clone());
        argv.push(self.id.clone());
        argv.extend(self.cmd.iter().cloned());
        argv
    }
}

impl Containerd {
    /// `ctr containers info ID` as JSON (Labels, Image, Spec, SnapshotKey, Runtime...).
    pub fn container_info(&self, id: &str) -> Value {
        let out = self.ctr_ok(["containers", "info", id]);
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("`ctr containers info {id}` is not JSON: {e}\n{out}"))
    }

    /// The rows of `ctr task ls`.
    pub fn tasks(&self) -> Vec<Task> {
        let out = self.ctr_ok(["tasks", "ls"]);
        rows(&out.stdout)
            .map(|f| Task {
                id: f[0].to_string(),
                pid: f
                    .get(1)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| panic!("no pid in `ctr task ls`\n{out}")),
                status: f.get(2).map(|s| s.to_string()).unwrap_or_default(),
            })
            .collect()
    }

    /// The task of container `id`, if it has one.
    pub fn task(&self, id: &str) -> Option<Task> {
        self.tasks().into_iter().find(|t| t.id == id)
    }

    /// Wait (a handshake) until the task of `id` has `status`.
    pub fn wait_task_status(&self, id: &str, status: &str) -> Task {
        wait_for(&format!("task {id} to be {status}"), || {
            self.task(id).filter(|t| t.status == status)
        })
    }

    /// Where [`run_detached`](Self::run_detached) sends the stdout and stderr of `id`.
    pub fn task_log_path(&self, id: &str) -> PathBuf {
        self.dir().join("logs").join(format!("{id}.log"))
    }

    /// What the task of `id` has written so far.
    pub fn task_log(&self, id: &str) -> String {
        read_or_empty(&self.task_log_path(id))
    }

    /// `ctr run -d --log-uri file://LOG ...` as `spec` says, to completion; check its code.
    pub fn try_run_detached(&self, spec: &CtrRun) -> Outcome {
        let log = format!("file://{}", self.task_log_path(&spec.id).display());
        self.ctr(spec.argv(&log))
    }

    /// Create and start a container from an image with `ctr run -d`, which must succeed.
    pub fn run_detached(&self, spec: &CtrRun) -> Outcome {
        let out = self.try_run_detached(spec);
        assert_eq!(
            out.code(),
            Some(0),
            "ctr run failed\n{out}\n--- task log ---\n{}\n--- containerd log ---\n{}",
            self.task_log(&spec.id),
            self.log()
        );
        out
    }
}
