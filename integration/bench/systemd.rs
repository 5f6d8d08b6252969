//! Issue 15: rich-debian booting its packages' systemd units under `rich-init --systemd`, as
//! pid 1 of a runc container (its own pid and network namespaces, Docker's default
//! capabilities). Each round times, from `runc run -d` spawned:
//! - `is-system-running` = running: asked every 2 ms on the control socket (reached through
//!   /proc/PID/root), as `systemctl is-system-running` asks;
//! - sshd accepting connections: a listening socket on port 22 in the container's netns
//!   (/proc/PID/net/tcp, every 2 ms).
//!
//! Then, once booted, the init's own memory (smaps_rollup of pid 1) and its keepers' (every
//! `rich-keeper` below it: their count and Private_Dirty and Pss, summed), before
//! `runc kill` and `runc delete`.

use crate::child;
use crate::stats::median;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const IMAGE: &str = "build/images/rich-debian-1.tar";
const LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct SystemdResults {
    pub rounds: usize,
    pub running_ms: Vec<f64>,
    pub sshd_ms: Vec<f64>,
    /// The init's Private_Dirty and Rss, kB.
    pub init_dirty_kb: Vec<f64>,
    pub init_rss_kb: Vec<f64>,
    /// Keepers: how many, and their Private_Dirty and Pss summed, kB.
    pub keepers: Vec<f64>,
    pub keepers_dirty_kb: Vec<f64>,
    pub keepers_pss_kb: Vec<f64>,
    /// Loaded units (`systemctl list-units --all` rows).
    pub units: usize,
    pub running_services: usize,
}

fn top() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The image's layers, unpacked in order into `rootfs`.
fn unpack(image: &Path, rootfs: &Path, work: &Path) -> Result<(), String> {
    let oci = work.join("oci");
    std::fs::create_dir_all(&oci).map_err(|e| e.to_string())?;
    let run = |cmd: &mut Command, what: &str| child::run(cmd, LIMIT, what).map(|_| ());
    run(
        Command::new("tar")
            .arg("-xf")
            .arg(image)
            .arg("-C")
            .arg(&oci),
        "tar -x the image",
    )?;
    let read_json = |p: PathBuf| -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
    };
    let blob = |digest: &str| {
        oci.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let index = read_json(oci.join("index.json"))?;
    let manifest = read_json(blob(
        index["manifests"][0]["digest"].as_str().unwrap_or_default(),
    ))?;
    std::fs::create_dir_all(rootfs).map_err(|e| e.to_string())?;
    for layer in manifest["layers"].as_array().cloned().unwrap_or_default() {
        let digest = layer["digest"].as_str().unwrap_or_default();
        run(
            Command::new("tar")
                .args(["--numeric-owner", "-xpf"])
                .arg(blob(digest))
                .arg("-C")
                .arg(rootfs),
            "tar -x a layer",
        )?;
    }
    Ok(())
}

fn config(bundle: &Path) -> Result<(), String> {
    child::run(
        Command::new("runc").args(["spec", "--bundle"]).arg(bundle),
        LIMIT,
        "runc spec",
    )?;
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let mut c: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    c["process"]["terminal"] = false.into();
    c["process"]["args"] = serde_json::json!(["/sbin/rich-init", "--systemd"]);
    c["process"]["env"] =
        serde_json::json!(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    let caps = serde_json::json!(crate::harness::DOCKER_CAPS);
    for set in ["bounding", "effective", "permitted"] {
        c["process"]["capabilities"][set] = caps.clone();
    }
    c["process"]["capabilities"]["ambient"] = serde_json::json!([]);
    c["process"]["noNewPrivileges"] = false.into();
    c["root"]["readonly"] = false.into();
    c["hostname"] = "rich-debian".into();
    // /run and /tmp as a container engine gives them.
    if let Some(mounts) = c["mounts"].as_array_mut() {
        mounts.push(
            serde_json::json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=755"]}),
        );
    }
    std::fs::write(&path, c.to_string()).map_err(|e| e.to_string())
}

/// The init's answer to `{"cmd":"system-state"}`, if it answers.
fn system_state(pid: i32) -> Option<String> {
    let sock = format!("/proc/{pid}/root/run/rich-init/control.sock");
    let mut s = UnixStream::connect(sock).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    s.write_all(b"{\"cmd\":\"system-state\"}\n").ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    let v: serde_json::Value = serde_json::from_str(reply.trim()).ok()?;
    v["system_state"].as_str().map(str::to_string)
}

/// Port 22 listening in the netns of `pid` (/proc/PID/net/tcp and tcp6: local port 0016,
/// state 0A).
fn sshd_listens(pid: i32) -> bool {
    ["tcp", "tcp6"].iter().any(|f| {
        std::fs::read_to_string(format!("/proc/{pid}/net/{f}"))
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.get(1).is_some_and(|a| a.ends_with(":0016")) && cols.get(3) == Some(&"0A")
            })
    })
}

fn rollup(pid: i32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        let kids =
            std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).unwrap_or_default();
        for k in kids
            .split_whitespace()
            .filter_map(|k| k.parse::<i32>().ok())
        {
            out.push(k);
            queue.push(k);
        }
    }
    out
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// One boot, measured; the container is always removed.
fn round(
    bundle: &Path,
    state: &Path,
    id: &str,
    out: &mut SystemdResults,
    last: bool,
) -> Result<(), String> {
    let pid_file = bundle.join("init.pid");
    let _ = std::fs::remove_file(&pid_file);
    let begun = Instant::now();
    let mut runc = Command::new("runc");
    runc.arg("--root")
        .arg(state)
        .args(["run", "-d", "--pid-file"])
        .arg(&pid_file)
        .arg("--bundle")
        .arg(bundle)
        .arg(id);
    let result = (|| {
        child::run(&mut runc, LIMIT, "runc run -d")?;
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .map_err(|e| e.to_string())?
            .trim()
            .parse()
            .map_err(|e| format!("runc's pid file: {e}"))?;
        let (mut running, mut sshd) = (None, None);
        while running.is_none() || sshd.is_none() {
            if begun.elapsed() > LIMIT {
                return Err(format!(
                    "rich-debian did not boot in {LIMIT:?} (system state {:?}, sshd listening: {})",
                    system_state(pid),
                    sshd_listens(pid)
                ));
            }
            if running.is_none() && system_state(pid).as_deref() == Some("running") {
                running = Some(begun.elapsed());
            }
            if sshd.is_none() && sshd_listens(pid) {
                sshd = Some(begun.elapsed());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        out.running_ms.push(ms(running));
        out.sshd_ms.push(ms(sshd));
        // Settled: the boot is over, the services are up.
        std::thread::sleep(Duration::from_millis(500));
        out.init_dirty_kb.push(rollup(pid, "Private_Dirty:"));
        out.init_rss_kb.push(rollup(pid, "Rss:"));
        let keepers: Vec<i32> = descendants(pid)
            .into_iter()
            .filter(|p| comm(*p) == "rich-keeper")
            .collect();
        out.keepers.push(keepers.len() as f64);
        out.keepers_dirty_kb
            .push(keepers.iter().map(|k| rollup(*k, "Private_Dirty:")).sum());
        out.keepers_pss_kb
            .push(keepers.iter().map(|k| rollup(*k, "Pss:")).sum());
        if last {
            let list = Command::new("runc")
                .arg("--root")
                .arg(state)
                .args([
                    "exec",
                    id,
                    "systemctl",
                    "list-units",
                    "--all",
                    "--no-legend",
                ])
                .output()
                .map_err(|e| format!("runc exec systemctl list-units: {e}"))?;
            let text = String::from_utf8_lossy(&list.stdout);
            out.units = text.lines().filter(|l| !l.trim().is_empty()).count();
            out.running_services = text
                .lines()
                .filter(|l| l.contains(".service") && l.contains(" running "))
                .count();
        }
        Ok(())
    })();
    let _ = child::run(
        Command::new("runc")
            .arg("--root")
            .arg(state)
            .args(["kill", id, "TERM"]),
        LIMIT,
        "runc kill",
    );
    let stop = Instant::now();
    while stop.elapsed() < LIMIT {
        let st = Command::new("runc")
            .arg("--root")
            .arg(state)
            .args(["state", id])
            .output();
        if st.map_or(true, |o| {
            String::from_utf8_lossy(&o.stdout).contains("\"stopped\"")
        }) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child::run(
        Command::new("runc")
            .arg("--root")
            .arg(state)
            .args(["delete", "-f", id]),
        LIMIT,
        "runc delete",
    );
    result
}

pub fn measure(rounds: usize) -> Result<SystemdResults, String> {
    let image = top().join(IMAGE);
    if !image.is_file() {
        return Err(format!("{} is missing: run `make images`", image.display()));
    }
    let work = std::env::temp_dir().join(format!("rich-init-bench-systemd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let bundle = work.join("bundle");
    let state = work.join("state");
    let result = (|| {
        unpack(&image, &bundle.join("rootfs"), &work)?;
        // Pages of a file just written are dirty until written back: they would count as
        // the init's Private_Dirty (its own binary's text).
        child::run(&mut Command::new("sync"), LIMIT, "sync")?;
        config(&bundle)?;
        let mut out = SystemdResults {
            rounds,
            ..SystemdResults::default()
        };
        // One thrown-away round: page cache, host keys made by the boot script.
        let mut scratch = SystemdResults::default();
        round(&bundle, &state, "rich-debian-warmup", &mut scratch, false)?;
        for i in 0..rounds {
            round(
                &bundle,
                &state,
                &format!("rich-debian-{i}"),
                &mut out,
                i + 1 == rounds,
            )?;
        }
        Ok(out)
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

pub fn table(r: &SystemdResults) -> String {
    let m = |v: &[f64]| median(v).unwrap_or(0.0);
    let keepers = m(&r.keepers);
    let per = |total: f64| if keepers > 0.0 { total / keepers } else { 0.0 };
    let mut out = String::from("| systemd units: rich-debian under `rich-init --systemd` (runc) | median |\n| :-- | --: |\n");
    out.push_str(&format!(
        "| boot to `is-system-running` = running | {:.0} ms |\n",
        m(&r.running_ms)
    ));
    out.push_str(&format!(
        "| boot to sshd listening on :22 | {:.0} ms |\n",
        m(&r.sshd_ms)
    ));
    out.push_str(&format!(
        "| units loaded / services running | {} / {} |\n",
        r.units, r.running_services
    ));
    out.push_str(&format!(
        "| the init: Private_Dirty / Rss | {:.0} kB / {:.0} kB |\n",
        m(&r.init_dirty_kb),
        m(&r.init_rss_kb)
    ));
    out.push_str(&format!(
        "| keepers: count, Private_Dirty per keeper, Pss per keeper | {:.0}, {:.0} kB, {:.0} kB |\n",
        keepers,
        per(m(&r.keepers_dirty_kb)),
        per(m(&r.keepers_pss_kb))
    ));
    out
}

pub fn notes(r: &SystemdResults) -> String {
    format!(
        "- systemd units: rich-debian:1 (build/images) unpacked into a runc bundle: `rich-init --systemd` \
         as pid 1 with Docker's default capabilities, pid and network namespaces, a tmpfs on /run; \
         {} rounds after one thrown away. Times from spawning `runc run -d`: the control socket asked \
         `system-state` every 2 ms; port 22 in LISTEN in the container's /proc/PID/net/tcp. After unpacking, `sync` (a binary just written has dirty page-cache pages \
         that would count as Private_Dirty). Memory 0.5 s later: smaps_rollup of pid 1 and of each `rich-keeper` below it (a keeper is a fork \
         of the init: what it shares with it counts in Pss, not in Private_Dirty). systemd itself \
         is not measured beside it: the image has no systemd, and systemd as pid 1 needs a \
         privileged container with cgroup access, which this bench does not set up.\n",
        r.rounds
    )
}
