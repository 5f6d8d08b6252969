//! A container driven through `create`, `start`, `state` and `delete` (runc or crun), for
//! the tests that look between the steps (hooks at create and delete). Dropping it
//! deletes the container and, should the runtime have died before it could (a runtime
//! that hung and was killed at the hard timeout), removes the container's cgroups.

// Later issues may use the parts these tests do not.
#![allow(dead_code)]

use crate::harness::Outcome;
use crate::runc::{runtime_cmd, unique_id, Bundle, Runtime};
use std::path::Path;
use std::time::{Duration, Instant};

/// A container made by `RUNTIME create` from the bundle's config.json as it is. Its
/// stdio is a log file in the bundle (a pipe would be held open by the container).
pub struct Created<'b> {
    pub runtime: Runtime,
    bundle: &'b Bundle,
    id: String,
}

impl<'b> Created<'b> {
    /// `RUNTIME create`; the outcome's stderr is the log file (the runtime's output, and
    /// the container's if it runs). The handle is returned whether create succeeded or not.
    pub fn create(runtime: Runtime, bundle: &'b Bundle) -> (Created<'b>, Outcome) {
        // Made first, so that it cleans up even if create hits the hard timeout.
        let created = Created {
            runtime,
            bundle,
            id: unique_id(),
        };
        let log_path = bundle.path().join(format!("{}.log", created.id));
        let log: std::os::fd::OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&log_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log_path.display()))
            .into();
        let mut out = runtime
            .command()
            .arg("--root")
            .arg(bundle.state())
            .args(["create", "--bundle"])
            .arg(bundle.path())
            .arg(&created.id)
            .stdio(&log)
            .output();
        out.stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
        (created, out)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// `RUNTIME --root STATE VERB ID`.
    pub fn verb(&self, verb: &str) -> Outcome {
        runtime_cmd(self.runtime, self.bundle, &[verb, &self.id])
    }

    /// `RUNTIME VERB ID` that must succeed.
    pub fn must(&self, verb: &str) -> Outcome {
        let out = self.verb(verb);
        assert_eq!(
            out.code(),
            Some(0),
            "{} {verb} failed\n{out}",
            self.runtime.name()
        );
        out
    }

    /// The "status" field of `RUNTIME state ID`, or None when the runtime has no such
    /// container.
    pub fn status(&self) -> Option<String> {
        let out = self.verb("state");
        if out.code() != Some(0) {
            return None;
        }
        let state: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{} state is not JSON: {e}\n{out}", self.runtime.name()));
        state["status"].as_str().map(str::to_string)
    }
}

impl Drop for Created<'_> {
    fn drop(&mut self) {
        let _ = runtime_cmd(self.runtime, self.bundle, &["delete", "-f", &self.id]);
        remove_cgroups(&self.id);
    }
}

/// Remove /sys/fs/cgroup/*/ID (v1 hierarchies and a v2 beside them) and /sys/fs/cgroup/ID
/// if a runtime left them: once their last process is reaped they can go, so allow a while.
fn remove_cgroups(id: &str) {
    let root = Path::new("/sys/fs/cgroup");
    let mut dirs = vec![root.join(id)];
    if let Ok(entries) = std::fs::read_dir(root) {
        dirs.extend(entries.filter_map(Result::ok).map(|e| e.path().join(id)));
    }
    let give_up = Instant::now() + Duration::from_secs(10);
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        while std::fs::remove_dir(dir).is_err() && dir.is_dir() && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
