//! OCI bundles and containers run by runc (or crun, same command line): a bundle is a temp
//! dir with the busybox rootfs, a hand-written config.json and the runtime's private state
//! dir; a container is deleted (`delete -f`) when dropped, whatever happened.

// Later issues use the parts these tests do not (crun, env, extra mounts, hooks).
#![allow(dead_code)]

use crate::harness::{require, Outcome, Run, Running, TempDir};
use crate::rootfs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which OCI runtime to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Runc,
    Crun,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
        }
    }

    pub fn program(self) -> PathBuf {
        require(self.name())
    }
}

/// Quote `s` as a JSON string.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| json_string(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// The parts of config.json a test chooses.
#[derive(Debug, Clone)]
pub struct Spec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Raw JSON objects appended to "mounts".
    pub extra_mounts: Vec<String>,
    /// Raw JSON for "hooks", if any.
    pub hooks: Option<String>,
}

impl Spec {
    pub fn new(args: &[&str]) -> Spec {
        Spec {
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec!["PATH=/sbin:/bin:/usr/sbin:/usr/bin".into()],
            extra_mounts: Vec::new(),
            hooks: None,
        }
    }

    pub fn env(mut self, pair: &str) -> Spec {
        self.env.push(pair.to_string());
        self
    }

    fn config_json(&self, shared: &Path) -> String {
        let caps = json_list(&[
            "CAP_AUDIT_WRITE".into(),
            "CAP_KILL".into(),
            "CAP_NET_BIND_SERVICE".into(),
        ]);
        let mut mounts = vec![
            r#"{"destination": "/proc", "type": "proc", "source": "proc"}"#.to_string(),
            r#"{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}"#.into(),
            r#"{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}"#.into(),
            r#"{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}"#.into(),
            r#"{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}"#.into(),
            format!(
                r#"{{"destination": "/shared", "type": "bind", "source": {}, "options": ["rbind", "rw"]}}"#,
                json_string(&shared.display().to_string())
            ),
        ];
        mounts.extend(self.extra_mounts.iter().cloned());
        let hooks = self
            .hooks
            .as_ref()
            .map(|h| format!(",\n  \"hooks\": {h}"))
            .unwrap_or_default();
        format!(
            r#"{{
  "ociVersion": "1.0.2",
  "process": {{
    "terminal": false,
    "user": {{"uid": 0, "gid": 0}},
    "args": {args},
    "env": {env},
    "cwd": "/",
    "capabilities": {{"bounding": {caps}, "effective": {caps}, "permitted": {caps}, "ambient": {caps}}},
    "rlimits": [{{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}}],
    "noNewPrivileges": true
  }},
  "root": {{"path": "rootfs", "readonly": false}},
  "hostname": "rich-init-it",
  "mounts": [
    {mounts}
  ],
  "linux": {{
    "namespaces": [{{"type": "pid"}}, {{"type": "ipc"}}, {{"type": "uts"}}, {{"type": "mount"}}, {{"type": "network"}}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }}{hooks}
}}
"#,
            args = json_list(&self.args),
            env = json_list(&self.env),
            mounts = mounts.join(",\n    "),
        )
    }
}

/// A bundle directory: rootfs/, config.json, shared/ (bind-mounted at /shared) and the
/// runtime's state root, state/.
pub struct Bundle {
    dir: TempDir,
}

impl Bundle {
    pub fn new() -> Bundle {
        let dir = TempDir::new("bundle");
        rootfs::populate(&dir.join("rootfs"));
        std::fs::create_dir_all(dir.join("shared")).expect("create the shared dir");
        std::fs::create_dir_all(dir.join("state")).expect("create the runtime state dir");
        Bundle { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Host side of /shared in the container.
    pub fn shared(&self) -> PathBuf {
        self.dir.join("shared")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    pub fn write_config(&self, spec: &Spec) {
        let path = self.dir.join("config.json");
        std::fs::write(&path, spec.config_json(&self.shared()))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

/// A container being run in the foreground (`RUNTIME run`). Deleted on drop.
pub struct Container<'b> {
    runtime: Runtime,
    bundle: &'b Bundle,
    id: String,
    running: Option<Running>,
}

fn unique_id() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("rich-init-it-{}-{n}", std::process::id())
}

impl<'b> Container<'b> {
    /// Write `spec` into the bundle and start `RUNTIME --root STATE run --bundle B ID`.
    pub fn start(runtime: Runtime, bundle: &'b Bundle, spec: &Spec) -> Container<'b> {
        bundle.write_config(spec);
        let id = unique_id();
        let running = Run::new(runtime.program())
            .arg("--root")
            .arg(bundle.state())
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(&id)
            .spawn();
        Container {
            runtime,
            bundle,
            id,
            running: Some(running),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn runtime_cmd(&self, args: &[&str]) -> Outcome {
        Run::new(self.runtime.program())
            .arg("--root")
            .arg(self.bundle.state())
            .args(args)
            .output()
    }

    /// `RUNTIME kill ID SIG`; panics if the runtime refuses.
    pub fn kill(&self, sig: &str) {
        let out = self.runtime_cmd(&["kill", &self.id, sig]);
        assert_eq!(
            out.code(),
            Some(0),
            "{} kill failed\n{out}",
            self.runtime.name()
        );
    }

    /// Panic with the runtime's output if it has already exited (for handshakes).
    pub fn assert_running(&mut self, waiting_for: &str) {
        if let Some(r) = self.running.as_mut() {
            r.assert_running(waiting_for);
        }
    }

    /// Wait for `RUNTIME run` to exit (it exits with the container's pid 1 status).
    pub fn wait(mut self) -> Outcome {
        self.running
            .take()
            .expect("the container was started")
            .wait()
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        // `delete -f` kills what is left and removes the container and its cgroups.
        let _ = self.runtime_cmd(&["delete", "-f", &self.id]);
        drop(self.running.take());
    }
}

/// Run `spec` in a fresh bundle to completion.
pub fn run_to_end(runtime: Runtime, spec: &Spec) -> Outcome {
    let bundle = Bundle::new();
    Container::start(runtime, &bundle, spec).wait()
}
