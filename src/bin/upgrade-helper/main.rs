//! `upgrade-helper`: upgrade a containerd container in place to a new image, keeping its
//! id, network namespace, volumes and config; roll back on failure; recover after a crash.
//!
//! Exit codes: 0 upgraded (or recovered); 1 failed and rolled back, the old container as
//! before; 2 usage; 3 failed and the rollback is incomplete (run `recover`).

mod check;
mod containerd;
mod fault;
mod handover;
mod handover_io;
mod handover_spec;
mod image;
mod owner;
mod record;
mod recover;
mod settle;
mod steps;
mod task;
mod upgrade;

use anyhow::Result;
use clap::{Parser, Subcommand};
use rich_init::upgrade::merge::Overrides;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "upgrade-helper",
    version,
    about = "Upgrade a containerd container in place to a new image"
)]
struct Cli {
    /// containerd's socket
    #[arg(
        long,
        env = "CONTAINERD_ADDRESS",
        default_value = "/run/containerd/containerd.sock",
        global = true
    )]
    address: String,
    /// containerd namespace
    #[arg(
        long,
        env = "CONTAINERD_NAMESPACE",
        default_value = "default",
        global = true
    )]
    namespace: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Upgrade container NAME to image REF
    Upgrade {
        name: String,
        /// The new image (must be in containerd's image store)
        #[arg(long)]
        image: String,
        /// Replace the entrypoint (drops the image's cmd unless `-- CMD` is given)
        #[arg(long)]
        entrypoint: Option<String>,
        /// Set an environment variable (K=V), over the old container's and the image's
        #[arg(long = "env", value_name = "K=V")]
        env: Vec<String>,
        /// Set a label (K=V), over the old container's and the image's
        #[arg(long = "label", value_name = "K=V")]
        label: Vec<String>,
        /// How long the new task must stay up before the upgrade commits
        #[arg(long, default_value = "2s", value_parser = duration)]
        health_window: Duration,
        /// A command run inside the new container; it must exit 0
        #[arg(long)]
        probe: Option<String>,
        /// How long the old task gets after its stop signal before SIGKILL
        #[arg(long, default_value = "10s", value_parser = duration)]
        stop_timeout: Duration,
        /// How long the new rich-init waits for the old one's listen sockets and fd store
        /// (the descriptor hand-over) before it binds afresh; 0s: no hand-over
        #[arg(long, default_value = "10s", value_parser = handover_wait)]
        handover_wait: Duration,
        /// Print the result as JSON on stdout
        #[arg(long)]
        json: bool,
        /// The new CMD
        #[arg(last = true)]
        cmd: Vec<String>,
    },
    /// Finish or roll back interrupted upgrades (all of them when no NAME is given)
    Recover { names: Vec<String> },
    /// Show a container's image and any pending upgrade journal
    Status {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

fn duration(text: &str) -> Result<Duration, String> {
    rich_init::config::duration::parse(text).map_err(|e| format!("{e}; e.g. 2s or 500ms"))
}

/// `--handover-wait`: a duration up to the init's own limit.
fn handover_wait(text: &str) -> Result<Duration, String> {
    let wait = duration(text)?;
    let most = rich_init::control::handover::MAX_WAIT;
    if wait > most {
        return Err(format!(
            "at most {} s: a new init never waits longer",
            most.as_secs()
        ));
    }
    Ok(wait)
}

fn pair(text: &str, what: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        // An environment value may be a secret: never repeat one.
        _ if what == "--env" => Err(env_usage(text)),
        _ => Err(format!("{what} {text:?} is not K=V")),
    }
}

/// The usage line for a bad --env, which names the variable but never shows a value.
fn env_usage(text: &str) -> String {
    match text.split_once('=') {
        Some(_) => "--env with an empty name: use --env NAME=VALUE".into(),
        None => "--env given without '=' (its text is not shown: it may be a secret); use --env NAME=VALUE".into(),
    }
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("upgrade-helper: cannot start its runtime: {e}");
            std::process::exit(1);
        }
    };
    std::process::exit(runtime.block_on(run(cli)));
}

async fn run(cli: Cli) -> i32 {
    // Bad K=V pairs are usage errors, whether or not containerd is there.
    if let Command::Upgrade { env, label, .. } = &cli.command {
        for (list, what) in [(env, "--env"), (label, "--label")] {
            if let Some(e) = list.iter().find_map(|p| pair(p, what).err()) {
                eprintln!("upgrade-helper: {e}");
                return 2;
            }
        }
    }
    let mut client = match containerd::Client::connect(&cli.address, &cli.namespace).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("upgrade-helper: {e:#}");
            return 1;
        }
    };
    match cli.command {
        Command::Upgrade {
            name,
            image,
            entrypoint,
            env,
            label,
            health_window,
            probe,
            stop_timeout,
            handover_wait,
            json,
            cmd,
        } => {
            let mut labels = Vec::new();
            for l in &label {
                match pair(l, "--label") {
                    Ok(p) => labels.push(p),
                    Err(e) => {
                        eprintln!("upgrade-helper: {e}");
                        return 2;
                    }
                }
            }
            if let Some(bad) = env.iter().find(|e| pair(e, "--env").is_err()) {
                eprintln!("upgrade-helper: {}", env_usage(bad));
                return 2;
            }
            let opts = upgrade::Options {
                name,
                image,
                overrides: Overrides {
                    entrypoint,
                    cmd: (!cmd.is_empty()).then_some(cmd),
                    env,
                    labels,
                },
                health_window,
                probe: probe.map(|p| vec!["/bin/sh".to_string(), "-c".to_string(), p]),
                stop_timeout,
                handover_wait,
            };
            run_upgrade(&mut client, &opts, json).await
        }
        Command::Recover { names } => match recover::recover(&client, &names).await {
            Ok(done) => {
                for (id, end) in &done.settled {
                    match end {
                        settle::Settled::Nothing => {
                            eprintln!("upgrade-helper: {id}: {}", end.describe())
                        }
                        _ => eprintln!("upgrade-helper: recovered {id}: {}", end.describe()),
                    }
                }
                for id in &done.unknown {
                    eprintln!(
                        "upgrade-helper: recover {id}: no such container in namespace {}",
                        cli.namespace
                    );
                }
                for (id, e) in &done.failed {
                    eprintln!("upgrade-helper: recover {id} failed: {e:#}; run `upgrade-helper recover {id}` again");
                }
                for (id, owner) in &done.busy {
                    eprintln!("upgrade-helper: recover {id}: its upgrade is still running ({}); left alone, run recover again once it has ended", owner.describe());
                }
                if !done.failed.is_empty() {
                    3
                } else if !done.unknown.is_empty() || !done.busy.is_empty() {
                    1
                } else {
                    0
                }
            }
            Err(e) => {
                eprintln!("upgrade-helper: recover failed: {e:#}");
                1
            }
        },
        Command::Status { name, json } => status(&client, &name, json).await,
    }
}

async fn run_upgrade(client: &mut containerd::Client, opts: &upgrade::Options, json: bool) -> i32 {
    let started = Instant::now();
    let mut report = upgrade::Report::default();
    let outcome = upgrade::upgrade(client, opts, &mut report).await;
    let total = started.elapsed().as_millis();
    let (code, result, error) = match &outcome {
        Ok(()) => {
            eprintln!(
                "upgrade-helper: upgraded {} from {} to {} in {total} ms",
                opts.name, report.old_image, report.new_image
            );
            (0, "upgraded", None)
        }
        Err(upgrade::Failure::RolledBack(e)) => {
            eprintln!(
                "upgrade-helper: upgrade of {} failed: {e:#}; the container is as it was",
                opts.name
            );
            (1, "rolled-back", Some(format!("{e:#}")))
        }
        Err(upgrade::Failure::Incomplete(e, e2)) => {
            eprintln!(
                "upgrade-helper: upgrade of {} failed: {e:#}; the rollback did not finish: {e2:#}; run `upgrade-helper recover {}`",
                opts.name, opts.name
            );
            (
                3,
                "rollback-incomplete",
                Some(format!("{e:#}; rollback: {e2:#}")),
            )
        }
    };
    if json {
        let steps: Vec<_> = report
            .steps
            .iter()
            .map(|s| json!({"step": s.step, "ms": s.ms}))
            .collect();
        println!(
            "{}",
            json!({
                "container": opts.name,
                "result": result,
                "old_image": report.old_image,
                "new_image": report.new_image,
                "error": error,
                "total_ms": total,
                "service_gap_ms": report.gap_ms,
                "handover": report.handover.map(|h| json!({
                    "taken": h.taken,
                    "kept": h.given.map(|g| g.kept),
                    "closed": h.given.map(|g| g.closed),
                })),
                "grpc_requests": client.requests(),
                "steps": steps,
            })
        );
    }
    code
}

async fn status(client: &containerd::Client, name: &str, json: bool) -> i32 {
    let container = match client.container(name).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("upgrade-helper: cannot look up container {name}: {e:#}");
            return 1;
        }
    };
    let task = client.task(name).await.ok().flatten();
    let state = task.as_ref().map_or("no task", |t| {
        if task::is_running(t) {
            "running"
        } else {
            "stopped"
        }
    });
    let journal = record::journal_of(&container);
    if json {
        let j = match &journal {
            Ok(Some(j)) => {
                json!({"phase": j.phase.name(), "old_image": j.old_image, "new_image": j.new_image})
            }
            Ok(None) => json!(null),
            Err(e) => json!({"error": format!("{e:#}")}),
        };
        println!(
            "{}",
            json!({"container": name, "image": container.image, "task": state, "journal": j})
        );
    } else {
        println!(
            "container: {name}\nimage: {}\ntask: {state}",
            container.image
        );
        match &journal {
            Ok(Some(j)) => println!(
                "pending upgrade: {} → {} (phase {}); run `upgrade-helper recover {name}`",
                j.old_image,
                j.new_image,
                j.phase.name()
            ),
            Ok(None) => println!("pending upgrade: none"),
            Err(e) => println!("pending upgrade: unreadable journal: {e:#}"),
        }
    }
    0
}
