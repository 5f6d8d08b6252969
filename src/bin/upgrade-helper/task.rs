//! A container's task: stopping it the way `ctr task kill` + `delete` would, starting a new
//! one on a snapshot with given stdio, and the health gate that a new task must pass.

use crate::containerd::Client;
use anyhow::{anyhow, bail, Context, Result};
use containerd_client::services::v1::{CreateTaskRequest, ExecProcessRequest};
use containerd_client::types::v1::{Process, Status};
use prost_types::Any;
use rich_init::upgrade::journal::Stdio;
use rich_init::upgrade::merge::ImageConfig;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub fn is_running(p: &Process) -> bool {
    p.status == Status::Running as i32 || p.status == Status::Paused as i32
}

pub fn stdio(p: &Process) -> Stdio {
    Stdio {
        stdin: p.stdin.clone(),
        stdout: p.stdout.clone(),
        stderr: p.stderr.clone(),
        terminal: p.terminal,
    }
}

/// containerd's label for the image's stop signal (ctr sets it; `ctr task kill` reads it).
pub const STOP_SIGNAL_LABEL: &str = "io.containerd.image.config.stop-signal";

/// The stop signal: the container's stop-signal label, the image's StopSignal, the OCI
/// annotation, else SIGTERM.
pub fn stop_signal(
    labels: &std::collections::HashMap<String, String>,
    image: Option<&ImageConfig>,
    spec: &Value,
) -> u32 {
    let named = labels
        .get(STOP_SIGNAL_LABEL)
        .cloned()
        .or_else(|| image.and_then(|c| c.stop_signal.clone()))
        .or_else(|| {
            spec["annotations"]["org.opencontainers.image.stopSignal"]
                .as_str()
                .map(String::from)
        });
    named
        .and_then(|n| rich_init::signame::parse(&n))
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(15)
}

/// Wait for the task to exit, up to `limit`: Some(status) if it did.
async fn wait_exit(client: &Client, id: &str, limit: Duration) -> Result<Option<u32>> {
    match tokio::time::timeout(limit, client.wait(id, "")).await {
        Ok(Ok(status)) => Ok(Some(status)),
        Ok(Err(e)) if crate::containerd::not_found(&e) => Ok(Some(0)),
        Ok(Err(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

/// Stop and delete the task, if there is one: `signal`, `timeout`, then SIGKILL to all.
pub async fn stop(client: &Client, id: &str, signal: u32, timeout: Duration) -> Result<()> {
    let Some(task) = client.task(id).await? else {
        return Ok(());
    };
    if is_running(&task) {
        client
            .kill(id, "", signal, false)
            .await
            .context("cannot signal the old task")?;
        if wait_exit(client, id, timeout).await?.is_none() {
            eprintln!(
                "upgrade-helper: the old task did not stop within {} ms; SIGKILL",
                timeout.as_millis()
            );
            client.kill(id, "", 9, true).await?;
            if wait_exit(client, id, Duration::from_secs(10))
                .await?
                .is_none()
            {
                bail!("the old task of {id} survived SIGKILL for 10 s");
            }
        }
    }
    client
        .delete_task(id)
        .await
        .context("cannot delete the old task")
}

/// While a task is created on FIFO stdio (what `ctr run` uses), hold each FIFO open for
/// reading and writing: the shim's open then finds a peer even when the original reader
/// (a `ctr` that has exited) is gone, as it did when the old task started. A FIFO that
/// went away is made again, as containerd's cio would.
fn hold_fifos(stdio: &Stdio) -> Vec<std::fs::File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let mut held = Vec::new();
    for path in [&stdio.stdin, &stdio.stdout, &stdio.stderr] {
        if !path.starts_with('/') {
            continue; // empty (no stdio) or a URI: file://, binary://
        }
        let path = std::path::Path::new(path);
        let is_fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
        if !is_fifo {
            if path.exists() {
                continue;
            }
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let mode = nix::sys::stat::Mode::from_bits_truncate(0o700);
            if nix::unistd::mkfifo(path, mode).is_err() {
                continue;
            }
        }
        if let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            held.push(f);
        }
    }
    held
}

/// Create and start the container's task on `snapshot`; on a failure to start, the
/// created task is deleted again.
pub async fn create_and_start(
    client: &Client,
    id: &str,
    snapshotter: &str,
    snapshot: &str,
    stdio: &Stdio,
) -> Result<u32> {
    // A stopped task left over (ours, or from a crash) would block the create.
    if let Some(old) = client.task(id).await? {
        if is_running(&old) {
            return Ok(old.pid);
        }
        client.delete_task(id).await?;
    }
    let rootfs = client.snapshot_mounts(snapshotter, snapshot).await?;
    let _held = hold_fifos(stdio);
    let created = client
        .create_task(CreateTaskRequest {
            container_id: id.into(),
            rootfs,
            stdin: stdio.stdin.clone(),
            stdout: stdio.stdout.clone(),
            stderr: stdio.stderr.clone(),
            terminal: stdio.terminal,
            checkpoint: None,
            options: None,
            runtime_path: String::new(),
        })
        .await;
    if let Err(e) = created {
        return Err(e.context("cannot create the task"));
    }
    match client.start(id, "").await {
        Ok(pid) => Ok(pid),
        Err(e) => {
            let _ = client.kill(id, "", 9, true).await;
            let _ = client.delete_task(id).await;
            Err(e.context("cannot start the task"))
        }
    }
}

/// The new task must stay up for `window` and the probe (if any) must exit 0.
pub async fn health_gate(
    client: &Client,
    id: &str,
    window: Duration,
    probe: Option<&[String]>,
    spec: &Value,
) -> Result<()> {
    if !window.is_zero() {
        if let Some(status) = wait_exit(client, id, window).await? {
            bail!(
                "the new task exited with status {status} within the health window ({} ms)",
                window.as_millis()
            );
        }
    }
    match client.task(id).await? {
        Some(t) if is_running(&t) => {}
        Some(t) => bail!(
            "the new task is not running (exit status {})",
            t.exit_status
        ),
        None => bail!("the new task is gone"),
    }
    if let Some(args) = probe {
        run_probe(client, id, args, spec).await?;
    }
    Ok(())
}

async fn run_probe(client: &Client, id: &str, args: &[String], spec: &Value) -> Result<()> {
    let exec_id = format!("upgrade-probe-{}", std::process::id());
    let mut process = spec["process"].clone();
    process["args"] = json!(args);
    process["terminal"] = json!(false);
    let started = Instant::now();
    client
        .exec(ExecProcessRequest {
            container_id: id.into(),
            stdin: String::new(),
            stdout: String::new(),
            stderr: String::new(),
            terminal: false,
            spec: Some(Any {
                type_url: "types.containerd.io/opencontainers/runtime-spec/1/Process".into(),
                value: process.to_string().into_bytes(),
            }),
            exec_id: exec_id.clone(),
        })
        .await
        .context("cannot exec the probe")?;
    let result = async {
        client
            .start(id, &exec_id)
            .await
            .context("cannot start the probe")?;
        match tokio::time::timeout(Duration::from_secs(30), client.wait(id, &exec_id)).await {
            Ok(status) => status,
            Err(_) => {
                let _ = client.kill(id, &exec_id, 9, false).await;
                Err(anyhow!("the probe did not finish within 30 s"))
            }
        }
    }
    .await;
    let _ = client.delete_process(id, &exec_id).await;
    match result? {
        0 => {
            eprintln!(
                "upgrade-helper: probe {:?} passed in {} ms",
                args.join(" "),
                started.elapsed().as_millis()
            );
            Ok(())
        }
        status => bail!("the probe {:?} exited with status {status}", args.join(" ")),
    }
}
