//! `make bench`: rich-init side by side with tini-static, tini, dumb-init and catatonit,
//! every figure from this one run, printed as one Markdown table on stdout (progress goes
//! to stderr). It reports; it does not judge: targets get a verdict in the table, and the
//! exit code is non-zero only when a measurement could not run at all.
//!
//! `BENCH_ONLY=rich` runs rich mode alone: its table and the one beside supervisord and s6.
//! `BENCH_ONLY=footprint` runs the memory footprint (cold and warm, footprint.rs) and startup alone.
//! `BENCH_ONLY=sockets` runs rich mode's TCP service across a restart, without and with
//! `listen` (sockets.rs), and a rich container's across `upgrade-helper upgrade` and a
//! recreate on a private containerd (sockets_ctrd.rs), alone; the full run has it too,
//! after rich mode.
//!
//! The same executable is also the helper process some measures run as the init's CMD
//! (`peers __helper MODE ...`, see helpers.rs).

mod child;
mod ctr_events;
mod ctrd;
#[path = "../ctrd_common.rs"]
mod ctrd_common;
// The integration tests' harness, for the podman rig; the bench uses a few of its pieces.
mod docker_stop;
mod fifo;
mod footprint;
mod footprint_report;
#[allow(unused_imports)]
#[path = "../harness.rs"]
mod harness;
mod helpers;
mod hooks;
mod hooks_report;
mod host;
#[path = "../listen_client.rs"]
mod listen_client;
#[allow(dead_code)]
#[path = "../listen_image.rs"]
mod listen_image;
mod netns;
mod orphans;
mod peers;
#[path = "../podman_ctr.rs"]
mod podman_ctr;
#[path = "../podman_rig.rs"]
mod podman_rig;
mod podman_stop;
mod procstat;
mod proctree;
mod reap;
mod report;
mod rich;
mod rich_peers;
mod rich_peers_report;
mod rich_proc;
mod rich_report;
#[path = "../rootfs.rs"]
mod rootfs;
#[path = "../runner.rs"]
mod runner;
mod signal;
mod sockets;
mod sockets_ctrd;
mod sockets_report;
mod startup;
mod stats;
mod supervisors;
mod sys;
mod systemd;
mod table;
mod upgrade;
#[allow(dead_code)]
#[path = "../upgrade_image.rs"]
mod upgrade_image;
mod upgrade_report;

use std::path::Path;
use std::time::{Duration, Instant};

/// How much of each measure to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub quick: bool,
    /// `BENCH_ONLY=rich`: rich mode alone.
    pub rich_only: bool,
    pub startup_rounds: usize,
    pub orphans: usize,
    pub fork_runs: usize,
    pub light_runs: usize,
    pub signal_sends: usize,
    pub idle: Duration,
    /// Rich mode: boot/shutdown runs, and the crash loop's window.
    pub rich_runs: usize,
    pub crash_window: Duration,
    /// Rich mode: runs of the readiness boot (ours only; 20 s each while boot is serial).
    pub ready_runs: usize,
    /// OCI hooks: `runc run` with and without our hooks, runs of each.
    pub hook_runs: usize,
    /// In-place upgrade: rounds of each path (upgrade-helper, recreate with ctr).
    pub upgrade_rounds: usize,
    /// `BENCH_ONLY=systemd`: the systemd-units measure alone.
    pub systemd_only: bool,
    /// `BENCH_ONLY=footprint`: the memory footprint alone.
    pub footprint_only: bool,
    /// `BENCH_ONLY=sockets`: rich mode's `listen` sockets across a restart, alone.
    pub sockets_only: bool,
    /// Footprint: rounds, each a cold and a warm start of every init.
    pub footprint_runs: usize,
    /// rich-debian booting its units: rounds.
    pub systemd_rounds: usize,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            quick: false,
            rich_only: false,
            startup_rounds: 2000,
            orphans: 10_000,
            fork_runs: 5,
            light_runs: 9,
            signal_sends: 1000,
            idle: Duration::from_secs(10),
            rich_runs: 7,
            crash_window: Duration::from_secs(30),
            ready_runs: 3,
            hook_runs: 50,
            upgrade_rounds: 20,
            systemd_only: false,
            systemd_rounds: 5,
            footprint_only: false,
            footprint_runs: 5,
            sockets_only: false,
        }
    }

    fn quick() -> Plan {
        Plan {
            quick: true,
            rich_only: false,
            startup_rounds: 100,
            orphans: 10_000,
            fork_runs: 1,
            light_runs: 1,
            signal_sends: 100,
            idle: Duration::from_secs(2),
            rich_runs: 3,
            crash_window: Duration::from_secs(10),
            ready_runs: 1,
            hook_runs: 5,
            upgrade_rounds: 5,
            systemd_only: false,
            systemd_rounds: 1,
            footprint_only: false,
            footprint_runs: 1,
            sockets_only: false,
        }
    }
}

const USAGE: &str = "usage: cargo bench --bench peers [-- --quick]
  (run by `make bench`; needs RICH_INIT_BIN and root, for the pid namespaces)
  --quick   reduced iterations, a smoke test (also: BENCH_QUICK=1)
  BENCH_ONLY=rich   rich mode alone (its table and the one beside supervisord and s6)
  BENCH_ONLY=systemd   rich-debian booting its systemd units alone
  BENCH_ONLY=footprint   the memory footprint alone: each init (ours in its three
                         personalities) cold (sync, fadvise DONTNEED) and warm, one at a time,
                         then startup
  BENCH_ONLY=sockets   rich mode's TCP service across `ctl restart` and a SIGKILL,
                       and a rich container's across `upgrade-helper upgrade` and a
                       recreate, without and with `listen` (issue 17): refused
                       connections, latency";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(helpers::HELPER) {
        std::process::exit(helpers::run(&args[1..]));
    }
    let mut plan = match std::env::var("BENCH_QUICK").as_deref() {
        Ok("1") => Plan::quick(),
        _ => Plan::full(),
    };
    for arg in &args {
        match arg.as_str() {
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            "--quick" => plan = Plan::quick(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => {
                eprintln!("bench: unknown argument {other:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    match std::env::var("BENCH_ONLY").as_deref() {
        Ok("rich") => plan.rich_only = true,
        Ok("systemd") => plan.systemd_only = true,
        Ok("footprint") => plan.footprint_only = true,
        Ok("sockets") => plan.sockets_only = true,
        Ok("") | Err(_) => {}
        Ok(other) => {
            eprintln!(
                "bench: BENCH_ONLY={other:?} is not one of: rich, systemd, footprint, sockets\n{USAGE}"
            );
            std::process::exit(2);
        }
    }
    if let Err(e) = run(plan) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn progress(what: &str) {
    eprintln!("bench: {what}");
}

fn run(plan: Plan) -> Result<(), String> {
    let begun = Instant::now();
    let inits = peers::discover()?;
    supervisors::discover()?;
    if !nix::unistd::Uid::effective().is_root() {
        return Err("the reaping measure needs root (pid namespaces): run as root".into());
    }
    let header = report::header(&inits, &plan);
    if plan.systemd_only {
        progress(&format!(
            "systemd units: rich-debian x {} rounds",
            plan.systemd_rounds
        ));
        let units = systemd::measure(plan.systemd_rounds)?;
        print!(
            "{header}\n{}\n{}",
            systemd::table(&units),
            systemd::notes(&units)
        );
        return Ok(());
    }
    if plan.sockets_only {
        progress(&format!(
            "sockets: ctl restart and SIGKILL, without and with listen x {} runs each, then \
             upgrade-helper upgrade and recreate on a private containerd",
            sockets::RUNS
        ));
        let s = sockets::measure(&inits[0].path)?;
        print!(
            "{header}\n{}\n{}",
            sockets_report::table(&s),
            sockets_report::notes(&s)
        );
        println!(
            "- the whole run took {:.0} s.",
            begun.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if plan.footprint_only {
        let fp = footprint(&inits, &plan)?;
        progress(&format!("startup: {} rounds", plan.startup_rounds));
        let startup = startup::measure(&inits, plan.startup_rounds)?;
        let mut rows = report::startup_rows(&startup);
        rows.extend(footprint_report::rows(&fp, &inits));
        print!(
            "{header}\n{}\n{}\n",
            table::render(&inits, &rows),
            footprint_report::personalities(&fp)
        );
        print!("{}", footprint_report::notes(&fp));
        print!("{}", report::dyn_note());
        println!(
            "- the whole run took {:.0} s.",
            begun.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if plan.rich_only {
        let ((), rich, side) = rich_mode(&inits[0].path, &plan, || ())?;
        print!("{header}\n{}", rich_tables(&rich, &side));
        print!("{}", rich_notes(&rich, &side));
        println!(
            "- the whole run took {:.0} s.",
            begun.elapsed().as_secs_f64()
        );
        return Ok(());
    }

    // First, on a quiet machine, and so that a hook that fails stops the bench early.
    progress(&format!(
        "OCI hooks: runc run with and without our hooks x {} runs each",
        plan.hook_runs
    ));
    let hooks = hooks::measure(&inits[0].path, plan.hook_runs)?;
    progress(&format!(
        "in-place upgrade: upgrade-helper and recreate on a private containerd x {} rounds",
        plan.upgrade_rounds
    ));
    let upgrade = upgrade::measure(&inits[0].path, plan.upgrade_rounds)?;
    progress(&format!(
        "systemd units: rich-debian x {} rounds",
        plan.systemd_rounds
    ));
    let units = systemd::measure(plan.systemd_rounds)?;
    // Alone: nothing else may map the binaries while they are dropped from the cache.
    let footprint = footprint(&inits, &plan)?;

    progress(&format!("startup: {} rounds", plan.startup_rounds));
    let startup = startup::measure(&inits, plan.startup_rounds)?;
    let mut reaps = Vec::new();
    for (kind, runs) in [
        (orphans::Kind::Fork, plan.fork_runs),
        (orphans::Kind::Light, plan.light_runs),
    ] {
        progress(&format!(
            "reaping: {} {} orphans x {runs} runs",
            plan.orphans,
            kind.name()
        ));
        reaps.push(reap::measure(&inits, plan.orphans, kind, runs)?);
    }
    progress(&format!("signal latency: {} sends", plan.signal_sends));
    let latency = signal::measure(&inits, plan.signal_sends)?;
    let (wakeups, rich, side) = rich_mode(&inits[0].path, &plan, || {
        procstat::idle_wakeups(&inits, plan.idle)
    })?;
    let wakeups = wakeups?;
    let ours = &inits[0].path;
    progress(&format!(
        "sockets: ctl restart and SIGKILL, without and with listen x {} runs each, then \
             upgrade-helper upgrade and recreate on a private containerd",
        sockets::RUNS
    ));
    let socks = sockets::measure(ours)?;
    let results = report::Results {
        startup,
        reaps,
        latency,
        wakeups,
        footprint,
    };
    let docker = docker_stop::section(ours, plan.quick)?;
    let rows = report::rows(&plan, &results, &inits);
    print!("{header}");
    println!();
    print!("{}", table::render(&inits, &rows));
    println!();
    print!("{}", footprint_report::personalities(&results.footprint));
    println!();
    print!("{}", rich_tables(&rich, &side));
    print!("{}", sockets_report::table(&socks));
    println!();
    print!("{}", hooks_report::table(&hooks));
    println!();
    print!("{}", upgrade_report::table(&upgrade));
    println!();
    print!("{}", systemd::table(&units));
    println!();
    println!("{}", podman_stop::table(&inits, plan.quick)?);
    print!("{docker}");
    println!();
    print!("{}", rich_notes(&rich, &side));
    print!("{}", sockets_report::notes(&socks));
    print!("{}", hooks_report::notes(&hooks));
    print!("{}", upgrade_report::notes(&upgrade));
    print!("{}", systemd::notes(&units));
    print!("{}", report::notes(&inits, &results, begun.elapsed()));
    Ok(())
}

/// The memory footprint, every init one at a time (footprint.rs).
fn footprint(inits: &[peers::Init], plan: &Plan) -> Result<footprint::Footprint, String> {
    progress(&format!(
        "footprint: {} inits and ours as dumb-init and tini, one at a time, cold and warm x {} \
         rounds",
        inits.len(),
        plan.footprint_runs
    ));
    footprint::measure(inits, plan.footprint_runs)
}

/// Rich mode: its idle measure and crash loop in the background while `beside` runs,
/// its boot and shutdown, then the same beside supervisord and s6 (rich_peers.rs).
fn rich_mode<T: Send>(
    ours: &Path,
    plan: &Plan,
    beside: impl FnOnce() -> T + Send,
) -> Result<(T, rich_report::RichResults, rich_peers::SideBySide), String> {
    progress(&format!(
        "idle wake-ups: {} s, with rich mode idle ({} services) and a {} s crash loop beside it",
        plan.idle.as_secs(),
        rich::IDLE_SERVICES,
        plan.crash_window.as_secs()
    ));
    let mut background = rich::Background::start(ours, plan.crash_window)?;
    let (beside, rich_idle) = std::thread::scope(|s| {
        let rich_idle = s.spawn(|| background.idle_wakeups(plan.idle));
        let beside = beside();
        let rich_idle = rich_idle
            .join()
            .unwrap_or_else(|_| Err("the rich idle measure panicked".to_string()));
        (beside, rich_idle)
    });
    progress(&format!(
        "rich mode: boot and shutdown with {} services x {} runs",
        rich::SERVICES,
        plan.rich_runs
    ));
    let boot = rich::boot_shutdown(ours, plan.rich_runs);
    progress("rich mode: end of the crash loop");
    // Always stopped, whatever failed above: nothing may be left running.
    let crash = background.finish();
    let (rich_idle, boot) = (rich_idle?, boot?);
    let (crash, crash_leftovers) = crash?;
    progress(&format!(
        "rich mode beside supervisord and s6: boot, memory and shutdown x {} runs, then idle and \
         a {} s crash loop, with the readiness boot (ours) x {} beside them",
        plan.rich_runs,
        plan.crash_window.as_secs(),
        plan.ready_runs
    ));
    let side = rich_peers::measure(
        ours,
        plan.rich_runs,
        plan.ready_runs,
        plan.idle,
        plan.crash_window,
    )?;
    let rich = rich_report::RichResults {
        leftovers: boot.leftovers + crash_leftovers + side.ready.leftovers,
        boot,
        idle: plan.idle,
        idle_wakeups: rich_idle,
        crash,
        ready_boot_ms: side.ready.boot_ms.clone(),
    };
    Ok((beside, rich, side))
}

/// The rich-mode table and the one beside supervisord and s6, each with a blank line after.
fn rich_tables(rich: &rich_report::RichResults, side: &rich_peers::SideBySide) -> String {
    format!(
        "{}\n{}\n",
        rich_report::table(rich),
        rich_peers_report::table(side)
    )
}

fn rich_notes(rich: &rich_report::RichResults, side: &rich_peers::SideBySide) -> String {
    rich_report::notes(rich) + &rich_peers_report::notes(side)
}
