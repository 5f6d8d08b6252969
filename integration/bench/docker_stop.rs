//! Issue 13, `docker stop` with each init: two private dockerds (integration/docker_rig.rs),
//! one with `--init-path` ours, one with Debian's tini-static (what Debian's docker-init
//! is), the same busybox `sleep` container under `docker run --init` in each, rounds
//! alternating between them. Measured: the wall time of `docker stop -t 10` (the client
//! call: SIGTERM to the init, which forwards it to `sleep`, the exit, docker's bookkeeping)
//! and the container's exit code (143 = sleep's SIGTERM; 137 would be docker's SIGKILL).

#[path = "../docker_rig.rs"]
mod docker_rig;

use crate::stats::{median, percentile};
use crate::table::markdown;
use docker_rig::{Dockerd, Programs};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const IMAGE: &str = "rit-bench-bb:1";
const BUSYBOX: &str = "/usr/bin/busybox";
const TINI_STATIC: &str = "/usr/bin/tini-static";

/// Rounds per init.
fn rounds(quick: bool) -> usize {
    if quick {
        3
    } else {
        15
    }
}

/// Where a tool is, or what to install.
fn find(tool: &str, package: &str) -> Result<PathBuf, String> {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!("{tool} is missing: the docker stop measure needs it; `make deps` (Debian package {package})")
        })
}

/// A rootfs with a static busybox and its `sleep` and `sh`, in a fresh temp dir.
fn rootfs() -> Result<PathBuf, String> {
    let root = std::env::temp_dir().join(format!("rit-bench-dkroot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let err = |what: &str, e: std::io::Error| format!("rootfs {}: {what}: {e}", root.display());
    std::fs::create_dir_all(root.join("bin")).map_err(|e| err("mkdir", e))?;
    for dir in ["proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(root.join(dir)).map_err(|e| err("mkdir", e))?;
    }
    std::fs::copy(BUSYBOX, root.join("bin/busybox"))
        .map_err(|e| err("copy busybox (install busybox-static)", e))?;
    std::fs::set_permissions(
        root.join("bin/busybox"),
        std::fs::Permissions::from_mode(0o755),
    )
    .map_err(|e| err("chmod", e))?;
    for applet in ["sh", "sleep"] {
        symlink("busybox", root.join("bin").join(applet)).map_err(|e| err("symlink", e))?;
    }
    Ok(root)
}

/// One daemon and what it measured.
struct Side {
    name: &'static str,
    d: Dockerd,
    stop_ms: Vec<f64>,
    codes: Vec<String>,
}

impl Side {
    fn round(&mut self) -> Result<(), String> {
        let c = self.d.docker_ok([
            "run",
            "-d",
            "--network",
            "none",
            "--init",
            IMAGE,
            "sleep",
            "1000",
        ])?;
        let c = c.trim().to_string();
        // Running, with its init's pid known: what `docker stop` acts on.
        let mut failed = None;
        let running = crate::ctrd_common::settle(Duration::from_secs(30), || {
            match self.d.docker_ok(["inspect", "-f", "{{.State.Pid}}", &c]) {
                Ok(pid) => pid.trim().parse::<i32>().is_ok_and(|p| p > 0),
                Err(e) => {
                    failed = Some(e);
                    true
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if !running {
            return Err(format!("{c} did not start under {}", self.name));
        }
        let began = Instant::now();
        self.d.docker_ok(["stop", "-t", "10", &c])?;
        self.stop_ms.push(began.elapsed().as_secs_f64() * 1000.0);
        let code = self
            .d
            .docker_ok(["inspect", "-f", "{{.State.ExitCode}}", &c])?;
        self.codes.push(code.trim().to_string());
        self.d.docker_ok(["rm", &c]).map(|_| ())
    }
}

fn measure(ours: &Path, runs: usize) -> Result<Vec<Side>, String> {
    let dockerd = find("dockerd", "docker.io")?;
    let docker = find("docker", "docker.io")?;
    find("tini-static", "tini")?;
    let root = rootfs()?;
    let mut sides = Vec::new();
    for (name, init) in [("rich-init", ours), ("tini-static", Path::new(TINI_STATIC))] {
        let programs = Programs {
            dockerd: dockerd.clone(),
            docker: docker.clone(),
            init: init.to_path_buf(),
        };
        let d = Dockerd::start(&programs);
        let d = d.and_then(|d| d.import(&root, IMAGE, &[]).map(|()| d));
        match d {
            Ok(d) => sides.push(Side {
                name,
                d,
                stop_ms: Vec::new(),
                codes: Vec::new(),
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&root);
                return Err(e);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    // One round each unmeasured first (the daemons' first container is slower).
    for round in 0..=runs {
        for side in &mut sides {
            side.round()?;
            if round == 0 {
                side.stop_ms.clear();
                side.codes.clear();
            }
        }
    }
    Ok(sides)
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.0} ms"))
}

/// The codes seen, each once ("143", or "143, 137").
fn codes(side: &Side) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for c in &side.codes {
        if !seen.contains(&c.as_str()) {
            seen.push(c);
        }
    }
    seen.join(", ")
}

fn render(sides: &[Side], runs: usize) -> String {
    let (ours, tini) = (&sides[0], &sides[1]);
    let cell = |s: &Side| {
        format!(
            "{} (p90 {})",
            ms(median(&s.stop_ms)),
            ms(percentile(&s.stop_ms, 90.0))
        )
    };
    let ratio = match (median(&ours.stop_ms), median(&tini.stop_ms)) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".to_string(),
    };
    let lines = vec![
        vec![
            "docker, `--init` (dockerd `--init-path`)".to_string(),
            "rich-init".to_string(),
            "tini-static".to_string(),
            "ours / tini-static".to_string(),
        ],
        vec![
            format!("`docker stop -t 10` of a `sleep` container, median of {runs}"),
            cell(ours),
            cell(tini),
            ratio,
        ],
        vec![
            "its exit code (143: sleep's SIGTERM; 137: docker's SIGKILL)".to_string(),
            codes(ours),
            codes(tini),
            "—".to_string(),
        ],
    ];
    let storage = format!(
        "\ndocker stop: two private dockerds ({}), storage driver {}; each round runs the \
         container, waits until it has a pid, times the `docker stop` client call, reads the \
         exit code and removes the container; rounds alternate between the daemons, after \
         one unmeasured round each.\n",
        "docker.io 20.10",
        ours.d.driver()
    );
    format!("{}{storage}", markdown(&lines))
}

/// The measure and its table, for `make bench`; stops both daemons whatever happened.
pub fn section(ours: &Path, quick: bool) -> Result<String, String> {
    let runs = rounds(quick);
    eprintln!("bench: docker stop: rich-init and tini-static as docker-init x {runs} rounds");
    let sides = measure(ours, runs)?;
    let text = render(&sides, runs);
    let mut problems = Vec::new();
    for side in sides {
        if let Err(e) = side.d.finish() {
            problems.push(e);
        }
    }
    if problems.is_empty() {
        Ok(text)
    } else {
        Err(problems.join("\n"))
    }
}
