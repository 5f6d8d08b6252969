//! OCI bundles and containers run by runc (or crun, same command line): a bundle is a temp
//! dir with the busybox rootfs, a hand-written config.json and the runtime's private state
//! dir; a container is deleted (`delete -f`) when dropped, whatever happened. A container
//! runs in the foreground (`run`, [`Container`]) or goes through `create`/`start`/`delete`
//! (`runc_create::Created`).
//!
//! crun refuses hybrid cgroups ("cgroups in hybrid mode not supported") when a cgroup2
//! hierarchy is mounted at /sys/fs/cgroup/unified beside the v1 controllers. On such a host
//! every crun command runs in a private mount namespace without that mount.

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

    /// A command line that runs this runtime; add its arguments.
    pub fn command(self) -> Run {
        match self {
            Runtime::Crun if hybrid_cgroups() => Run::new(require("unshare"))
                .args(["--mount", "--propagation", "private"])
                .arg(require("sh"))
                .args(["-c", CRUN_WITHOUT_UNIFIED])
                .arg(self.program()),
            _ => Run::new(self.program()),
        }
    }
}

/// `sh -c` script: drop the cgroup2 mount in this (private) mount namespace, then exec
/// `$0` (crun) with the arguments.
const CRUN_WITHOUT_UNIFIED: &str = "umount /sys/fs/cgroup/unified || exit 125; exec \"$0\" \"$@\"";

/// Whether /sys/fs/cgroup/unified is a mount point (cgroup v1 with a cgroup2 beside it).
fn hybrid_cgroups() -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_else(|e| panic!("cannot read /proc/self/mountinfo: {e}"));
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup/unified"))
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

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn write_config(&self, spec: &Spec) {
        self.write_raw_config(&spec.config_json(&self.shared()));
    }

    /// The bytes of config.json.
    pub fn raw_config(&self) -> Vec<u8> {
        let path = self.config_path();
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    pub fn write_raw_config(&self, text: &str) {
        let path = self.config_path();
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// config.json as a JSON value.
    pub fn config(&self) -> serde_json::Value {
        serde_json::from_slice(&self.raw_config())
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", self.config_path().display()))
    }

    /// Change config.json through its JSON value.
    pub fn edit_config(&self, change: impl FnOnce(&mut serde_json::Value)) {
        let mut config = self.config();
        change(&mut config);
        let text = serde_json::to_string_pretty(&config).expect("a JSON value serialises");
        self.write_raw_config(&text);
    }
}

/// A container being run in the foreground (`RUNTIME run`). Deleted on drop.
pub struct Container<'b> {
    runtime: Runtime,
    bundle: &'b Bundle,
    id: String,
    running: Option<Running>,
}

pub fn unique_id() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("rich-init-it-{}-{n}", std::process::id())
}

impl<'b> Container<'b> {
    /// Write `spec` into the bundle and start `RUNTIME --root STATE run --bundle B ID`.
    pub fn start(runtime: Runtime, bundle: &'b Bundle, spec: &Spec) -> Container<'b> {
        bundle.write_config(spec);
        Container::run_bundle(runtime, bundle)
    }

    /// `RUNTIME --root STATE run --bundle B ID` with the bundle's config.json as it is.
    pub fn run_bundle(runtime: Runtime, bundle: &'b Bundle) -> Container<'b> {
        let id = unique_id();
        let running = runtime
            .command()
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
        runtime_cmd(self.runtime, self.bundle, args)
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

/// `RUNTIME --root STATE ARGS...` to completion.
pub fn runtime_cmd(runtime: Runtime, bundle: &Bundle, args: &[&str]) -> Outcome {
    runtime
        .command()
        .arg("--root")
        .arg(bundle.state())
        .args(args)
        .output()
}

/// Run `spec` in a fresh bundle to completion.
pub fn run_to_end(runtime: Runtime, spec: &Spec) -> Outcome {
    let bundle = Bundle::new();
    Container::start(runtime, &bundle, spec).wait()
}
