//! Issue 5, in-place upgrade against the recreate path, on one private containerd in one
//! run. A container `svc` from rich-busybox:1 (rich-init --rich with crond and syslogd,
//! CMD sleep) joins a network namespace, bind-mounts a host dir at /data, has an env var
//! and a label, and logs to a file. Each round, taking turns at going first:
//! - upgrade path: `upgrade-helper upgrade svc --image :2 --health-window 0` timed from
//!   spawn to exit; its JSON gives its own gap figure and its gRPC request count; then
//!   back to :1 the same way, untimed;
//! - recreate path, what users do without the helper: `ctr task kill`, wait for the
//!   task's exit (a `ctr events` subscription), `ctr task delete`, `ctr container delete`,
//!   `ctr run -d` with the same options and :2, timed until `ctr run -d` returns (the new
//!   task is started then); then back to :1 the same way, untimed.
//!
//! The service gap of both paths is timed alike from containerd's events (ctr_events.rs):
//! the old task's exit → the new task's start. After each step the task must be RUNNING
//! with a new pid and the container on the new image, else the bench fails.

use crate::child;
use crate::ctr_events::{Event, Events, EXIT, START};
use crate::ctrd::{Ctrd, LIMIT};
use crate::netns::NetNs;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub const IMAGE_1: &str = "rich-init.test/rich-busybox:1";
pub const IMAGE_2: &str = "rich-init.test/rich-busybox:2";
const ID: &str = "svc";
const ENV: &str = "RICH_INIT_BENCH=upgrade";
const LABEL: (&str, &str) = ("rich-init.bench", "upgrade");
/// Rounds run first and thrown away: page cache, the first shim and snapshot.
pub const WARMUP_ROUNDS: usize = 1;
/// The recreate path's timed steps, in order.
pub const RECREATE_STEPS: [&str; 5] = [
    "ctr task kill",
    "wait for the exit event",
    "ctr task delete",
    "ctr container delete",
    "ctr run -d",
];

#[derive(Debug, Default)]
pub struct UpgradeResults {
    pub rounds: usize,
    pub containerd_version: String,
    /// upgrade-helper, spawn to exit, ms.
    pub upgrade_ms: Vec<f64>,
    /// The old task's exit (the shim's exited_at) → the new task's /tasks/start event, ms;
    /// the same for both paths.
    pub upgrade_gap_events_ms: Vec<f64>,
    pub recreate_gap_events_ms: Vec<f64>,
    /// Its own figures, from --json: total, gap (old task deleted → new task started),
    /// gRPC requests, and each step's ms by name.
    pub helper_total_ms: Vec<f64>,
    pub upgrade_gap_ms: Vec<f64>,
    pub grpc_requests: Vec<f64>,
    pub helper_steps: Vec<(String, Vec<f64>)>,
    /// Recreate: `ctr task kill` spawned → `ctr run -d` returned, ms.
    pub recreate_ms: Vec<f64>,
    /// `ctr task delete` returned → `ctr run -d` returned: counted as the helper counts.
    pub recreate_gap_deleted_ms: Vec<f64>,
    /// Per [`RECREATE_STEPS`], ms.
    pub recreate_steps: Vec<Vec<f64>>,
    /// exited_at → the bench read the event, ms.
    pub event_delay_ms: Vec<f64>,
    /// What the container lost of its options (netns, /data, env, label) on each path.
    pub upgrade_lost: Vec<String>,
    pub recreate_lost: Vec<String>,
    /// What the clean-up could not remove.
    pub leftovers: Vec<String>,
}

struct Rig<'a> {
    ctrd: &'a Ctrd,
    events: &'a Events,
    helper: &'a Path,
    run_flags: Vec<String>,
}

struct Task {
    pid: i64,
    status: String,
}

fn ms(from: Instant, to: Instant) -> f64 {
    to.duration_since(from).as_secs_f64() * 1e3
}

fn json_f64(v: &Value, key: &str, what: &str) -> Result<f64, String> {
    v[key]
        .as_f64()
        .ok_or_else(|| format!("{what}: no number {key:?} in its JSON: {v}"))
}

impl Rig<'_> {
    fn task(&self) -> Result<Task, String> {
        let out = self.ctrd.ctr_ok(&["tasks", "ls"])?;
        out.lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.first() == Some(&ID))
            .and_then(|f| {
                Some(Task {
                    pid: f.get(1)?.parse().ok()?,
                    status: f.get(2)?.to_string(),
                })
            })
            .ok_or_else(|| format!("no task for {ID} in `ctr task ls`:\n{out}"))
    }

    /// The container's record: image and what is left of its options.
    fn record(&self) -> Result<(String, Vec<String>), String> {
        let out = self.ctrd.ctr_ok(&["containers", "info", ID])?;
        let info: Value = serde_json::from_str(&out)
            .map_err(|e| format!("`ctr containers info {ID}` is not JSON ({e}): {out}"))?;
        let spec = &info["Spec"];
        let mut lost = Vec::new();
        if info["Labels"][LABEL.0].as_str() != Some(LABEL.1) {
            lost.push(format!("label {}={}", LABEL.0, LABEL.1));
        }
        let env = spec["process"]["env"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !env.iter().any(|e| e.as_str() == Some(ENV)) {
            lost.push(format!("env {ENV}"));
        }
        let mounts = spec["mounts"].as_array().cloned().unwrap_or_default();
        if !mounts.iter().any(|m| m["destination"] == "/data") {
            lost.push("the /data bind mount".into());
        }
        let namespaces = spec["linux"]["namespaces"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !namespaces
            .iter()
            .any(|n| n["type"] == "network" && n["path"].as_str().is_some_and(|p| !p.is_empty()))
        {
            lost.push("the network namespace".into());
        }
        Ok((info["Image"].as_str().unwrap_or_default().to_string(), lost))
    }

    /// After a timed step: a RUNNING task with a new pid, on `image`; what was lost.
    fn check(&self, old_pid: i64, image: &str, what: &str) -> Result<(Task, Vec<String>), String> {
        let task = self.task()?;
        if task.status != "RUNNING" || task.pid == old_pid {
            return Err(format!(
                "after {what}: task {ID} is {} with pid {} (old pid {old_pid})",
                task.status, task.pid
            ));
        }
        let (now, lost) = self.record()?;
        if now != image {
            return Err(format!("after {what}: {ID} is on {now:?}, not {image}"));
        }
        Ok((task, lost))
    }

    /// The old task's exit → the new task's start, from their events, ms.
    fn event_gap(&self, exit: &Event, new_pid: i64) -> Result<f64, String> {
        let start = self.events.take(START, ID, new_pid)?;
        match (exit.at, start.at) {
            (Some(stopped), Some(started)) => Ok(started
                .duration_since(stopped)
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3),
            _ => Err(format!("an event without a time: {exit:?} / {start:?}")),
        }
    }

    fn run_detached(&self, image: &str) -> Result<(), String> {
        let mut args: Vec<&str> = vec!["run", "-d"];
        args.extend(self.run_flags.iter().map(String::as_str));
        args.extend([image, ID]);
        self.ctrd.ctr_ok(&args).map(drop)
    }

    /// Upgrade to `image` with the helper; with `keep`, its figures go into `r`.
    fn upgrade(&self, image: &str, r: &mut UpgradeResults, keep: bool) -> Result<(), String> {
        let old = self.task()?;
        self.events.drain();
        let what = format!("upgrade-helper upgrade {ID} --image {image}");
        let mut command = Command::new(self.helper);
        command
            .arg("--address")
            .arg(self.ctrd.address())
            .args(["--namespace", self.ctrd.namespace(), "upgrade", ID])
            .args(["--image", image, "--health-window", "0"])
            .args(["--stop-timeout", "2s", "--json"])
            .env_remove("CONTAINERD_ADDRESS")
            .env_remove("CONTAINERD_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let out = child::run(&mut command, LIMIT, &what)?;
        let wall = ms(start, Instant::now());
        let text = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(text.trim())
            .map_err(|e| format!("{what}: its --json output is not JSON ({e}): {text}"))?;
        if report["result"] != "upgraded" {
            return Err(format!("{what}: result {}", report["result"]));
        }
        let (new, lost) = self.check(old.pid, image, &what)?;
        let exit = self.events.take(EXIT, ID, old.pid)?;
        let gap = self.event_gap(&exit, new.pid)?;
        if !keep {
            return Ok(());
        }
        r.upgrade_lost = lost;
        r.upgrade_ms.push(wall);
        r.upgrade_gap_events_ms.push(gap);
        let what = "upgrade-helper";
        r.helper_total_ms.push(json_f64(&report, "total_ms", what)?);
        r.upgrade_gap_ms
            .push(json_f64(&report, "service_gap_ms", what)?);
        r.grpc_requests
            .push(json_f64(&report, "grpc_requests", what)?);
        for step in report["steps"].as_array().into_iter().flatten() {
            let name = step["step"].as_str().unwrap_or("?").to_string();
            let value = json_f64(step, "ms", what)?;
            match r.helper_steps.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.push(value),
                None => r.helper_steps.push((name, vec![value])),
            }
        }
        Ok(())
    }

    /// Recreate on `image`; with `keep`, the step times and gaps go into `r`.
    fn recreate(&self, image: &str, r: &mut UpgradeResults, keep: bool) -> Result<(), String> {
        let old = self.task()?;
        self.events.drain();
        let start = Instant::now();
        self.ctrd.ctr_ok(&["tasks", "kill", ID])?;
        let killed = Instant::now();
        let exit = self.events.take(EXIT, ID, old.pid)?;
        let seen = Instant::now();
        self.ctrd.ctr_ok(&["tasks", "delete", ID])?;
        let deleted = Instant::now();
        self.ctrd.ctr_ok(&["containers", "delete", ID])?;
        let removed = Instant::now();
        self.run_detached(image)?;
        let running = Instant::now();
        let (new, lost) = self.check(old.pid, image, "the recreate")?;
        let gap = self.event_gap(&exit, new.pid)?;
        if !keep {
            return Ok(());
        }
        r.recreate_lost = lost;
        r.recreate_ms.push(ms(start, running));
        r.recreate_gap_events_ms.push(gap);
        r.recreate_gap_deleted_ms.push(ms(deleted, running));
        if let Some(at) = exit.at {
            let delay = exit.seen_wall.duration_since(at).unwrap_or_default();
            r.event_delay_ms.push(delay.as_secs_f64() * 1e3);
        }
        let marks = [start, killed, seen, deleted, removed, running];
        for (k, pair) in marks.windows(2).enumerate() {
            r.recreate_steps[k].push(ms(pair[0], pair[1]));
        }
        Ok(())
    }

    fn rounds(&self, rounds: usize, r: &mut UpgradeResults) -> Result<(), String> {
        self.run_detached(IMAGE_1)?;
        for round in 0..WARMUP_ROUNDS + rounds {
            let keep = round >= WARMUP_ROUNDS;
            for k in 0..2 {
                if (round + k) % 2 == 0 {
                    self.upgrade(IMAGE_2, r, keep)?;
                    self.upgrade(IMAGE_1, r, false)?;
                } else {
                    self.recreate(IMAGE_2, r, keep)?;
                    self.recreate(IMAGE_1, r, false)?;
                }
            }
        }
        Ok(())
    }
}

/// The helper and the images next to `rich_init` (build/), or what to run to make them.
fn artifacts(rich_init: &Path) -> Result<(PathBuf, [PathBuf; 2]), String> {
    let dir = rich_init.parent().unwrap_or(Path::new("."));
    let helper = dir.join("upgrade-helper");
    if !helper.is_file() {
        return Err(format!(
            "{} is missing: run `make build` (make bench does)",
            helper.display()
        ));
    }
    let images = ["1", "2"].map(|n| dir.join(format!("images/rich-busybox-{n}.tar")));
    if let Some(missing) = images.iter().find(|p| !p.is_file()) {
        return Err(format!(
            "{} is missing: run `make images` (make bench does)",
            missing.display()
        ));
    }
    Ok((helper, images))
}

pub fn measure(rich_init: &Path, rounds: usize) -> Result<UpgradeResults, String> {
    let (helper, images) = artifacts(rich_init)?;
    let mut r = UpgradeResults {
        rounds,
        recreate_steps: vec![Vec::new(); RECREATE_STEPS.len()],
        ..UpgradeResults::default()
    };
    let ctrd = Ctrd::start()?;
    let mut netns = match NetNs::add("upgrade") {
        Ok(n) => n,
        Err(e) => {
            let left = ctrd.finish();
            return Err(format!("{e}{}", leftover_text(&left)));
        }
    };
    let data = ctrd.dir().join("data");
    let outcome = (|| {
        r.containerd_version = ctrd.version()?;
        std::fs::create_dir_all(&data)
            .map_err(|e| format!("cannot create {}: {e}", data.display()))?;
        for tar in &images {
            let tar = tar.to_str().ok_or("the image path is not UTF-8")?;
            ctrd.ctr_ok(&["images", "import", tar])?;
        }
        let events = Events::subscribe(&ctrd)?;
        let rig = Rig {
            ctrd: &ctrd,
            events: &events,
            helper: &helper,
            run_flags: vec![
                format!("--log-uri=file://{}", ctrd.dir().join("svc.log").display()),
                format!("--with-ns=network:{}", netns.path().display()),
                format!(
                    "--mount=type=bind,src={},dst=/data,options=rbind:rw",
                    data.display()
                ),
                format!("--env={ENV}"),
                format!("--label={}={}", LABEL.0, LABEL.1),
            ],
        };
        rig.rounds(rounds, &mut r)
    })();
    let mut left = ctrd.finish();
    left.extend(netns.remove());
    match outcome {
        Ok(()) => {
            r.leftovers = left;
            Ok(r)
        }
        Err(e) => Err(format!("upgrade measure: {e}{}", leftover_text(&left))),
    }
}

fn leftover_text(left: &[String]) -> String {
    if left.is_empty() {
        String::new()
    } else {
        format!("; and the clean-up left: {}", left.join("; "))
    }
}
