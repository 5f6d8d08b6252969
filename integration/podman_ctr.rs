//! Containers of the private podman (podman_rig.rs): the init podman runs as pid 1
//! (`--init --init-path`: ours, catatonit, tini-static), the OCI runtime (runc, crun),
//! `podman run` in the foreground, `run -d` and `create`, and [`Ctr`], a container that
//! `podman rm -f` removes when dropped.

// The tests and the bench each use their own subset.
#![allow(dead_code)]

use crate::harness::{require, static_bin, wait_for, Outcome};
use crate::podman_rig::{Podman, IMAGE};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The init a container runs as pid 1 through `--init --init-path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Ours,
    Catatonit,
    TiniStatic,
}

impl Init {
    pub const ALL: [Init; 3] = [Init::Ours, Init::Catatonit, Init::TiniStatic];

    pub fn name(self) -> &'static str {
        match self {
            Init::Ours => "ours",
            Init::Catatonit => "catatonit",
            Init::TiniStatic => "tini-static",
        }
    }

    /// The host binary podman bind-mounts at /run/podman-init.
    pub fn path(self) -> PathBuf {
        match self {
            Init::Ours => static_bin(),
            Init::Catatonit => require("catatonit"),
            Init::TiniStatic => require("tini-static"),
        }
    }

    /// `--init --init-path PATH`.
    pub fn flags(self) -> Vec<String> {
        vec![
            "--init".into(),
            "--init-path".into(),
            self.path().display().to_string(),
        ]
    }
}

/// The OCI runtime podman drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oci {
    Runc,
    Crun,
}

impl Oci {
    pub const ALL: [Oci; 2] = [Oci::Runc, Oci::Crun];

    pub fn name(self) -> &'static str {
        match self {
            Oci::Runc => "runc",
            Oci::Crun => "crun",
        }
    }
}

impl Podman {
    /// A fresh container name, remembered so that drop removes it.
    pub fn name(&self) -> String {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("rit-{}-{n}", std::process::id());
        self.remember(&name);
        name
    }

    /// The `run` flags every container gets: name, runtime, no network, the rig's cgroup
    /// parent, and the host dir `shared` at /shared.
    pub fn run_flags(&self, oci: Oci, name: &str, shared: &Path) -> Vec<String> {
        vec![
            "--name".into(),
            name.into(),
            "--runtime".into(),
            format!("rig-{}", oci.name()),
            "--network".into(),
            "none".into(),
            "--cgroup-parent".into(),
            self.cgroup_parent().to_string(),
            "-v".into(),
            format!("{}:/shared", shared.display()),
        ]
    }

    /// A fresh host dir for a container's /shared (world-writable).
    fn new_shared(&self, name: &str) -> PathBuf {
        let path = self.dir().join("shared").join(name);
        std::fs::create_dir_all(&path).expect("create a shared dir");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
            .expect("chmod the shared dir");
        path
    }

    /// `podman run --rm FLAGS IMAGE CMD...` in the foreground, to its end; and the host
    /// side of its /shared.
    pub fn run(&self, oci: Oci, flags: &[String], cmd: &[&str]) -> (Outcome, PathBuf) {
        self.run_prepared(oci, flags, cmd, |_| {})
    }

    /// [`Podman::run`] with the container's /shared filled by `prepare` first.
    pub fn run_prepared(
        &self,
        oci: Oci,
        flags: &[String],
        cmd: &[&str],
        prepare: impl FnOnce(&Path),
    ) -> (Outcome, PathBuf) {
        let name = self.name();
        let shared = self.new_shared(&name);
        prepare(&shared);
        let mut args = vec!["run".to_string(), "--rm".into()];
        args.extend(self.run_flags(oci, &name, &shared));
        args.extend(flags.iter().cloned());
        args.push(IMAGE.into());
        args.extend(cmd.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        (self.podman(&args), shared)
    }

    /// `podman run -d FLAGS IMAGE CMD...`; the container is removed when dropped.
    pub fn start(&self, oci: Oci, flags: &[String], cmd: &[&str]) -> Ctr<'_> {
        self.launch(&["run", "-d"], oci, flags, cmd, |_| {})
    }

    /// `podman create FLAGS IMAGE CMD...`, with the container's /shared filled by `prepare`
    /// first; removed when dropped.
    pub fn create(
        &self,
        oci: Oci,
        flags: &[String],
        cmd: &[&str],
        prepare: impl FnOnce(&Path),
    ) -> Ctr<'_> {
        self.launch(&["create"], oci, flags, cmd, prepare)
    }

    fn launch(
        &self,
        verb: &[&str],
        oci: Oci,
        flags: &[String],
        cmd: &[&str],
        prepare: impl FnOnce(&Path),
    ) -> Ctr<'_> {
        let name = self.name();
        let shared = self.new_shared(&name);
        prepare(&shared);
        let mut args: Vec<String> = verb.iter().map(|s| s.to_string()).collect();
        args.extend(self.run_flags(oci, &name, &shared));
        args.extend(flags.iter().cloned());
        args.push(IMAGE.into());
        args.extend(cmd.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.podman(&args);
        assert_eq!(out.code(), Some(0), "podman {}\n{out}", verb.join(" "));
        Ctr {
            rig: self,
            name,
            shared,
            id: out.stdout.trim().to_string(),
        }
    }
}

/// A container started with `podman run -d`; `podman rm -f` on drop.
pub struct Ctr<'p> {
    rig: &'p Podman,
    name: String,
    id: String,
    shared: PathBuf,
}

impl Ctr<'_> {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Contents of /shared/NAME in the container, "" when missing.
    pub fn shared(&self, file: &str) -> String {
        std::fs::read_to_string(self.shared.join(file)).unwrap_or_default()
    }

    /// Wait until /shared/NAME holds a line ending in `\n`; its contents.
    pub fn wait_shared(&self, file: &str) -> String {
        wait_for(&format!("/shared/{file} in {}", self.name), || {
            let text = self.shared(file);
            text.ends_with('\n').then_some(text)
        })
    }

    /// `podman exec [FLAGS] NAME CMD...`.
    pub fn exec(&self, flags: &[&str], cmd: &[&str]) -> Outcome {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.push(&self.name);
        args.extend_from_slice(cmd);
        self.rig.podman(&args)
    }

    /// `podman start NAME` (attached: to the container's end).
    pub fn start_created(&self) -> Outcome {
        self.rig.podman(&["start", "-a", &self.name])
    }

    /// The host side of the container's /shared.
    pub fn shared_dir(&self) -> &Path {
        &self.shared
    }

    /// `podman kill -s SIG NAME`, which must succeed.
    pub fn kill(&self, sig: &str) {
        self.rig.must(&["kill", "-s", sig, &self.name]);
    }

    /// `podman stop -t SECS NAME`; its outcome and how long it took.
    pub fn stop(&self, secs: u32) -> (Outcome, Duration) {
        let start = Instant::now();
        let out = self
            .rig
            .podman(&["stop", "-t", &secs.to_string(), &self.name]);
        (out, start.elapsed())
    }

    /// `podman wait NAME`: the container's exit code.
    pub fn wait(&self) -> i32 {
        let out = self.rig.must(&["wait", &self.name]);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("podman wait printed {out:?}"))
    }

    /// `podman logs NAME` (stdout and stderr).
    pub fn logs(&self) -> String {
        let out = self.rig.podman(&["logs", &self.name]);
        format!("{}{}", out.stdout, out.stderr)
    }
}

impl Drop for Ctr<'_> {
    fn drop(&mut self) {
        let _ = self.rig.podman(&["rm", "-f", "-t", "0", &self.name]);
    }
}
