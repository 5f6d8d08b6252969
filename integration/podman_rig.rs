//! A private podman (Debian's podman 4.3) for the engine tests: storage (vfs), runroot,
//! tmpdir, containers.conf, storage.conf, registries.conf, policy.json, the hooks dir, the
//! runtimes' state roots and the containers' cgroup parent, all under one temp dir; no
//! network (`--network none`). The busybox image (integration/rootfs.rs) is made into a
//! tarball once per test process and `podman import`ed by each rig.
//!
//! Every podman command runs in a private mount namespace of its own (`unshare --mount`):
//! there /sys/fs/cgroup/unified is unmounted when the host has it (crun 1.8 refuses such a
//! hybrid layout), and a tmpfs hides /var/lib/containers, where podman would otherwise
//! write its blob-info cache whatever its config says. conmon, the runtime and the
//! container inherit that namespace; nothing podman mounts is left on the host.
//!
//! The runtimes are wrappers named `rig-runc` and `rig-crun` in containers.conf that add
//! `--root` (podman does not pass `--runtime-flag` to its cleanup process), and conmon gets
//! the rig's environment (`conmon_env_vars`) so that its `podman container cleanup` reads the
//! rig's config too. Dropping the rig (or `finish`) removes every container, kills any
//! conmon left, removes the cgroups and the temp dir.

// The tests and the bench each use their own subset.
#![allow(dead_code)]

use crate::harness::{require, write_file, Outcome, Run, TempDir};
use crate::rootfs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The image every rig imports.
pub const IMAGE: &str = "localhost/rich-init-it-bb:1";

/// Busybox applets the podman tests need beyond rootfs.rs's list.
const EXTRA_APPLETS: &[&str] = &["pidof", "logger", "crond", "syslogd"];

/// In the image: an initscript that runs the container's /shared/initscript, so that each
/// test writes its own (the hook resolves an initscript inside the image's root).
pub const INITSCRIPT: &str = "/it-initscript";

/// The image tarball, shared by the rigs alive at the same time.
struct Tarball {
    users: usize,
    dir: Option<TempDir>,
}

static TARBALL: Mutex<Tarball> = Mutex::new(Tarball {
    users: 0,
    dir: None,
});

fn acquire_tarball() -> PathBuf {
    let mut t = TARBALL.lock().unwrap_or_else(|e| e.into_inner());
    if t.dir.is_none() {
        let dir = TempDir::new("podman-image");
        let root = dir.join("rootfs");
        rootfs::populate(&root);
        for applet in EXTRA_APPLETS {
            let at = root.join("bin").join(applet);
            std::os::unix::fs::symlink("busybox", &at)
                .unwrap_or_else(|e| panic!("cannot create symlink {}: {e}", at.display()));
        }
        write_file(
            &root.join(INITSCRIPT.trim_start_matches('/')),
            "#!/bin/sh\nexec /bin/sh /shared/initscript\n",
            0o755,
        );
        let out = Run::new(require("tar"))
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(dir.join("bb.tar"))
            .arg(".")
            .output();
        assert_eq!(out.code(), Some(0), "cannot tar the busybox rootfs\n{out}");
        t.dir = Some(dir);
    }
    t.users += 1;
    t.dir.as_ref().map(|d| d.join("bb.tar")).unwrap_or_default()
}

fn release_tarball() {
    let mut t = TARBALL.lock().unwrap_or_else(|e| e.into_inner());
    t.users = t.users.saturating_sub(1);
    if t.users == 0 {
        t.dir = None;
    }
}

/// `sh -c` script run in the private mount namespace, then `podman "$@"`.
const NAMESPACE_SETUP: &str = r#"if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then umount /sys/fs/cgroup/unified || exit 125; fi
if [ -d /var/lib/containers ]; then hide=/var/lib/containers; else hide=/var/lib; fi
mount -t tmpfs -o size=16m,mode=0755 rig-podman "$hide" || exit 125
exec podman "$@""#;

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A private podman; see the module comment.
pub struct Podman {
    dir: TempDir,
    cgroup_parent: String,
    env: Vec<(String, String)>,
    names: Mutex<Vec<String>>,
    finished: bool,
}

impl Podman {
    /// Write the configuration and import the busybox image as [`IMAGE`].
    pub fn new() -> Podman {
        require("podman");
        require("conmon");
        for tool in ["unshare", "mount", "umount", "runc", "crun"] {
            require(tool);
        }
        let dir = TempDir::new("podman");
        let d = dir.path().display().to_string();
        let name = dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let at = |p: &str| format!("{d}/{p}");
        let env: Vec<(String, String)> = [
            ("CONTAINERS_CONF", at("containers.conf")),
            ("CONTAINERS_STORAGE_CONF", at("storage.conf")),
            ("CONTAINERS_REGISTRIES_CONF", at("registries.conf")),
            ("HOME", at("home")),
            ("XDG_RUNTIME_DIR", at("xdg")),
            ("XDG_CONFIG_HOME", at("home/.config")),
            ("XDG_DATA_HOME", at("home/.local/share")),
            ("TMPDIR", at("tmp")),
            ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for sub in ["tmp", "xdg", "hooks.d", "net", "cni", "shared"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create the rig's dirs");
        }
        for runtime in ["runc", "crun"] {
            let wrapper = format!(
                "#!/bin/sh\nexec {} --root {d}/state-{runtime} \"$@\"\n",
                require(runtime).display()
            );
            write_file(&dir.join(format!("bin/{runtime}")), &wrapper, 0o755);
        }
        let conmon_env: Vec<String> = env
            .iter()
            .map(|(k, v)| quote(&format!("{k}={v}")))
            .collect();
        let conf = format!(
            r#"[containers]
default_ulimits = []
no_hosts = true
[engine]
lock_type = "file"
tmp_dir = "{d}/tmp"
volume_path = "{d}/volumes"
static_dir = "{d}/root/libpod"
events_logger = "file"
events_logfile_path = "{d}/events.log"
cgroup_manager = "cgroupfs"
hooks_dir = ["{d}/hooks.d"]
conmon_env_vars = [{conmon_env}]
[engine.runtimes]
rig-runc = ["{d}/bin/runc"]
rig-crun = ["{d}/bin/crun"]
[network]
network_config_dir = "{d}/net"
network_backend = "cni"
cni_plugin_dirs = ["{d}/cni"]
"#,
            conmon_env = conmon_env.join(", ")
        );
        write_file(&dir.join("containers.conf"), &conf, 0o644);
        let storage = format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{d}/root\"\nrunroot = \"{d}/runroot\"\n"
        );
        write_file(&dir.join("storage.conf"), &storage, 0o644);
        write_file(
            &dir.join("registries.conf"),
            "unqualified-search-registries = []\n",
            0o644,
        );
        write_file(
            &dir.join("home/.config/containers/policy.json"),
            r#"{"default": [{"type": "insecureAcceptAnything"}]}"#,
            0o644,
        );
        let rig = Podman {
            cgroup_parent: format!("/{name}"),
            dir,
            env,
            names: Mutex::new(Vec::new()),
            finished: false,
        };
        let tarball = acquire_tarball();
        let out = rig.cmd(&["import"]).arg(&tarball).arg(IMAGE).output();
        release_tarball();
        assert_eq!(out.code(), Some(0), "podman import\n{out}");
        rig
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The hooks dir that containers.conf names (and `--hooks-dir` on `run`).
    pub fn hooks_dir(&self) -> PathBuf {
        self.dir.join("hooks.d")
    }

    /// `podman GLOBAL-FLAGS ARGS...` in its private mount namespace, not yet run.
    pub fn cmd(&self, args: &[&str]) -> Run {
        let mut run = Run::new(require("unshare"))
            .args(["--mount", "--propagation", "private"])
            .arg(require("sh"))
            .args(["-c", NAMESPACE_SETUP, "podman"])
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("runroot"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--tmpdir"])
            .arg(self.dir.join("tmp"))
            .arg("--hooks-dir")
            .arg(self.hooks_dir())
            .args(args);
        for (k, v) in &self.env {
            run = run.env(k, v);
        }
        run
    }

    /// `podman ARGS...` to its end.
    pub fn podman(&self, args: &[&str]) -> Outcome {
        self.cmd(args).output()
    }

    /// `podman ARGS...`, which must exit 0; its stdout.
    pub fn must(&self, args: &[&str]) -> String {
        let out = self.podman(args);
        assert_eq!(out.code(), Some(0), "podman failed\n{out}");
        out.stdout
    }

    /// Remove the container `name` when the rig goes.
    pub fn remember(&self, name: &str) {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.to_string());
    }

    /// The cgroup parent of the rig's containers (`--cgroup-parent`).
    pub fn cgroup_parent(&self) -> &str {
        &self.cgroup_parent
    }

    /// Live conmon processes of this rig (their command line names its dir).
    pub fn conmons(&self) -> Vec<i32> {
        let mark = self.dir.path().display().to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let text = String::from_utf8_lossy(&cmdline);
                text.split('\0')
                    .next()
                    .is_some_and(|a| a.ends_with("conmon"))
                    && text.contains(&mark)
            })
            .collect()
    }

    /// Remove every container; then no conmon of this rig may be left.
    pub fn finish(mut self) {
        self.remove_all();
        let left = wait_conmons_gone(&self);
        self.clean_up();
        assert!(left.is_empty(), "conmon processes left behind: {left:?}");
    }

    fn remove_all(&self) {
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        for name in names {
            let _ = self.podman(&["rm", "-f", "-t", "0", &name]);
        }
        let _ = self.podman(&["rm", "-a", "-f", "-t", "0"]);
    }

    fn clean_up(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        for pid in self.conmons() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        remove_cgroups(self.cgroup_parent.trim_start_matches('/'));
    }
}

/// Wait (bounded) for the rig's conmons to exit; those still there.
fn wait_conmons_gone(rig: &Podman) -> Vec<i32> {
    let start = Instant::now();
    loop {
        let left = rig.conmons();
        if left.is_empty() || start.elapsed() > Duration::from_secs(10) {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// rmdir `name` and everything below it in every cgroup hierarchy, deepest first.
fn remove_cgroups(name: &str) {
    fn rmdir_tree(dir: &Path) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.filter_map(Result::ok) {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    rmdir_tree(&e.path());
                }
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
    if name.is_empty() {
        return;
    }
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for h in hierarchies.filter_map(Result::ok) {
        let dir = h.path().join(name);
        if dir.is_dir() {
            rmdir_tree(&dir);
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        if !self.finished {
            self.remove_all();
            let _ = wait_conmons_gone(self);
            self.clean_up();
        }
    }
}
