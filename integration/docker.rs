//! rich-init as docker's init (issue 13): a private dockerd (docker_rig.rs) with
//! `--init-path build/rich-init`, so that `docker run --init` runs it as /sbin/docker-init
//! (the tini personality), side by side with a dockerd whose `--init-path` is Debian's
//! tini-static (what Debian's own docker-init symlink points to). Each test starts its own
//! daemons; the image is the busybox-static rootfs (rootfs.rs) through `docker import`.
//! Rich mode as ENTRYPOINT and `docker exec`: docker_rich.rs.

use crate::docker_rig::{Dockerd, Programs, Reply};
use crate::harness::{all_stats, require, static_bin, wait_for, TempDir};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The image every test runs: rootfs.rs's busybox rootfs, imported.
pub const IMAGE: &str = "rit-bb:1";

/// A private dockerd with the busybox image imported; stopped and removed on drop.
pub struct Engine {
    pub d: Dockerd,
    pub name: &'static str,
}

/// Which init the daemon's `--init-path` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Ours,
    TiniStatic,
}

impl Init {
    pub fn path(self) -> PathBuf {
        match self {
            Init::Ours => static_bin(),
            Init::TiniStatic => require("tini-static"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Init::Ours => "rich-init",
            Init::TiniStatic => "tini-static",
        }
    }
}

impl Engine {
    /// dockerd with `init` as `--init-path`, and the busybox image as [`IMAGE`] with
    /// `changes` (`docker import --change`).
    pub fn start(init: Init, changes: &[&str]) -> Engine {
        // dockerd starts these itself; named here so that a missing one says its package.
        for tool in ["containerd", "containerd-shim-runc-v2", "runc"] {
            require(tool);
        }
        let programs = Programs {
            dockerd: require("dockerd"),
            docker: require("docker"),
            init: init.path(),
        };
        let started = Instant::now();
        let d = Dockerd::start(&programs).unwrap_or_else(|e| panic!("{e}"));
        let root = TempDir::new("docker-rootfs");
        crate::rootfs::populate(root.path());
        d.import(root.path(), IMAGE, changes)
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "dockerd ({}, {}) up with {IMAGE} imported in {:?}",
            init.name(),
            d.driver(),
            started.elapsed()
        );
        Engine {
            d,
            name: init.name(),
        }
    }

    /// `docker ARGS...`, whatever its exit code.
    pub fn docker(&self, args: &[&str]) -> Reply {
        self.d.docker(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `docker ARGS...`, which must exit 0: its stdout, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.d.docker_ok(args).unwrap_or_else(|e| panic!("{e}"));
        out.trim().to_string()
    }

    /// `docker inspect -f FORMAT C`.
    pub fn inspect(&self, container: &str, format: &str) -> String {
        self.ok(&["inspect", "-f", format, container])
    }

    /// The host pid of the container's pid 1, once it runs.
    pub fn pid1(&self, container: &str) -> i32 {
        wait_for(&format!("{container} to run under {}", self.name), || {
            let pid: i32 = self.inspect(container, "{{.State.Pid}}").parse().ok()?;
            (pid > 0).then_some(pid)
        })
    }

    /// Panic unless the container's pid 1 is this daemon's `--init-path` binary (the same
    /// file: docker bind-mounts it as /sbin/docker-init).
    pub fn assert_init_is_pid1(&self, container: &str) -> i32 {
        let pid = self.pid1(container);
        let exe = std::fs::metadata(format!("/proc/{pid}/exe"))
            .unwrap_or_else(|e| panic!("cannot stat /proc/{pid}/exe: {e}"));
        let init = std::fs::metadata(self.d.init()).expect("stat the init");
        let argv0 = crate::leaks::cmdline(pid).into_iter().next();
        assert_eq!(
            (exe.dev(), exe.ino(), argv0.as_deref()),
            (init.dev(), init.ino(), Some("/sbin/docker-init")),
            "pid 1 of {container} is {} run as /sbin/docker-init",
            self.d.init().display()
        );
        pid
    }
}

/// A sleeping container started with `--init`; its id.
pub fn sleeper(e: &Engine, extra: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--network", "none", "--init"];
    args.extend_from_slice(extra);
    args.extend([IMAGE, "sleep", "1000"]);
    e.ok(&args)
}

/// Start an orphan storm under `--init`: every orphan must be reaped, none left a zombie.
fn orphan_storm(e: &Engine) -> usize {
    const STORM: &str = "i=0; while [ $i -lt 300 ]; do sh -c 'sleep 0 &'; i=$((i+1)); done; \
                         touch /tmp/storm-done; exec sleep 1000";
    let c = e.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--init",
        IMAGE,
        "sh",
        "-c",
        STORM,
    ]);
    let pid1 = e.assert_init_is_pid1(&c);
    let done = PathBuf::from(format!("/proc/{pid1}/root/tmp/storm-done"));
    let zombies = || {
        all_stats()
            .into_iter()
            .filter(|s| s.ppid == pid1 && s.state == 'Z')
            .count()
    };
    wait_for(
        &format!("{c} under {}: the storm over, no zombie left", e.name),
        || (done.exists() && zombies() == 0).then_some(()),
    );
    let left = zombies();
    e.ok(&["rm", "-f", &c]);
    left
}

#[test]
fn docker_run_init_reaps_an_orphan_storm_as_tini_static_does() {
    for init in [Init::Ours, Init::TiniStatic] {
        let e = Engine::start(init, &[]);
        assert_eq!(orphan_storm(&e), 0, "zombies under {}", e.name);
    }
}

/// `docker run --rm --init IMAGE sh -c SCRIPT`: docker's exit code.
fn run_code(e: &Engine, script: &str) -> Option<i32> {
    let out = e.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--init",
        IMAGE,
        "sh",
        "-c",
        script,
    ]);
    assert!(
        !out.stderr.contains("Error response from daemon"),
        "docker failed to run the container under {}\n{out}",
        e.name
    );
    out.code
}

#[test]
fn docker_run_init_exit_codes_as_tini_static() {
    // CMD's code, and 128+n when a signal killed it (SIGUSR1 = 10, SIGKILL = 9).
    let cases = [
        ("exit 3", 3),
        ("exit 0", 0),
        ("kill -USR1 $$", 138),
        ("kill -KILL $$", 137),
    ];
    let mut got = Vec::new();
    for init in [Init::Ours, Init::TiniStatic] {
        let e = Engine::start(init, &[]);
        let codes: Vec<Option<i32>> = cases.iter().map(|(s, _)| run_code(&e, s)).collect();
        got.push((e.name, codes));
    }
    let want: Vec<Option<i32>> = cases.iter().map(|(_, c)| Some(*c)).collect();
    for (name, codes) in &got {
        assert_eq!(codes, &want, "exit codes of {cases:?} under {name}");
    }
}

/// `docker stop` of a `sleep` container under `--init`: (exit code, how long it took).
pub fn stop_sleeper(e: &Engine) -> (String, std::time::Duration) {
    let c = sleeper(e, &[]);
    e.assert_init_is_pid1(&c);
    let started = Instant::now();
    e.ok(&["stop", "-t", "10", &c]);
    let took = started.elapsed();
    let code = e.inspect(&c, "{{.State.ExitCode}}");
    e.ok(&["rm", &c]);
    (code, took)
}

#[test]
fn docker_stop_code_as_tini_static() {
    let mut got = Vec::new();
    for init in [Init::Ours, Init::TiniStatic] {
        let e = Engine::start(init, &[]);
        let (code, took) = stop_sleeper(&e);
        eprintln!(
            "docker stop under {}: exit code {code}, took {took:?}",
            e.name
        );
        got.push((e.name, code));
    }
    // sleep dies of the forwarded SIGTERM: 128 + 15, before docker's 10 s SIGKILL (137).
    assert_eq!(got[1], ("tini-static", "143".to_string()), "the reference");
    assert_eq!(
        got[0].1, got[1].1,
        "docker stop's exit code, ours and tini-static's"
    );
}

/// docker's reading of `INIT --version` (daemon/info_unix.go, parseInitVersion): the part
/// before " - " must start with "tini version " for a version, the part after be
/// "git.COMMIT" for a commit; neither is "unknown output format". (version, commit).
fn docker_parse_init_version(text: &str) -> Option<(String, String)> {
    let mut parts = text.split(" - ");
    let head = parts.next().unwrap_or_default().trim();
    let commit = match parts
        .next()
        .map(|p| p.trim().split('.').collect::<Vec<_>>())
    {
        Some(git) if git.len() == 2 && git[0] == "git" => git[1].to_string(),
        _ => String::new(),
    };
    let version = head.strip_prefix("tini version ").unwrap_or_default();
    (!version.is_empty() || !commit.is_empty()).then(|| (version.to_string(), commit))
}

#[test]
fn docker_parse_init_version_mirrors_docker() {
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        ("tini version 0.19.0\n", Some(("0.19.0", ""))),
        (
            "tini version 0.18.0 - git.fec3683\n",
            Some(("0.18.0", "fec3683")),
        ),
        (
            "rich-init version 0.1.0 - git.abcdef1\n",
            Some(("", "abcdef1")),
        ),
        ("rich-init 0.1.0\n", None),
        ("", None),
    ];
    for (text, want) in cases {
        let want = want.map(|(v, c)| (v.to_string(), c.to_string()));
        assert_eq!(docker_parse_init_version(text), want, "{text:?}");
    }
}

/// What dockerd shows of its init: `docker info`'s InitCommit and the init's entry in
/// `docker version`'s components; and whether it logged that it could not parse it.
fn init_as_docker_shows_it(e: &Engine) -> (serde_json::Value, Option<serde_json::Value>, bool) {
    let commit = e.ok(&["info", "--format", "{{json .InitCommit}}"]);
    let components = e.ok(&["version", "--format", "{{json .Server.Components}}"]);
    let commit: serde_json::Value = serde_json::from_str(&commit).expect("InitCommit is JSON");
    let components: serde_json::Value =
        serde_json::from_str(&components).expect("Components is JSON");
    let name = file_name(e.d.init());
    let entry = components
        .as_array()
        .and_then(|list| list.iter().find(|c| c["Name"] == name.as_str()))
        .cloned();
    (commit, entry, e.d.log().contains("failed to parse"))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Finding 11: dockerd probes `INIT --version` under the init-path's own name.
#[test]
fn docker_info_reads_our_version_as_it_reads_tini_static() {
    for init in [Init::TiniStatic, Init::Ours] {
        let path = init.path();
        let printed = crate::harness::Run::new(&path).arg("--version").output();
        let e = Engine::start(init, &[]);
        let (commit, entry, warned) = init_as_docker_shows_it(&e);
        let shown = format!(
            "`{} --version` printed {:?}; docker info: InitCommit {commit}, component {entry:?}",
            path.display(),
            printed.stdout
        );
        let warnings: Vec<String> =
            e.d.log()
                .lines()
                .filter(|l| l.contains("failed to parse"))
                .map(str::to_string)
                .collect();
        assert!(
            !warned,
            "dockerd could not parse its init's version ({shown})\n{}",
            warnings.join("\n")
        );
        let (version, git) = docker_parse_init_version(&printed.stdout)
            .unwrap_or_else(|| panic!("not in tini's form `tini version X - git.COMMIT`: {shown}"));
        assert_eq!(commit["ID"], git.as_str(), "{shown}");
        assert_ne!(commit["ID"], "N/A", "{shown}");
        let entry = entry.unwrap_or_else(|| panic!("no init in docker version: {shown}"));
        assert_eq!(
            (&entry["Version"], &entry["Details"]["GitCommit"]),
            (&serde_json::json!(version), &serde_json::json!(git)),
            "{shown}"
        );
        eprintln!("{shown}");
    }
}
