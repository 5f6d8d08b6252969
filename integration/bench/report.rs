//! The report around the table: the command and the machine on top, the rows built from
//! all results, and the notes below that say what each figure means.

use crate::footprint::Footprint;
use crate::footprint_report;
use crate::orphans::Kind;
use crate::peers::{self, Init};
use crate::reap::Reap;
use crate::signal::Latency;
use crate::startup::Startup;
use crate::table::{Row, Target, Unit};
use crate::Plan;
use std::fmt::Write;
use std::time::Duration;

pub struct Results {
    pub startup: Startup,
    pub reaps: Vec<Reap>,
    pub latency: Vec<Latency>,
    pub wakeups: Vec<f64>,
    pub footprint: Footprint,
}

fn first_line(path: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(prefix))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

fn date() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "unknown date".to_string())
}

/// Command, machine, versions and plan, as Markdown lines.
pub fn header(inits: &[Init], plan: &Plan) -> String {
    let quick = plan.quick;
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    let cpu = first_line("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let mut out = String::new();
    let cargo = "RICH_INIT_BIN=$PWD/build/rich-init cargo bench --locked --bench peers";
    let only = if plan.rich_only {
        Some("rich")
    } else if plan.systemd_only {
        Some("systemd")
    } else if plan.footprint_only {
        Some("footprint")
    } else if plan.sockets_only {
        Some("sockets")
    } else {
        None
    };
    let command = match (quick, only) {
        (true, Some(only)) => format!("BENCH_QUICK=1 BENCH_ONLY={only} {cargo}"),
        (false, Some(only)) => format!("BENCH_ONLY={only} {cargo}"),
        (true, None) => format!("BENCH_QUICK=1 make bench (BENCH_QUICK=1 {cargo})"),
        (false, None) => format!("make bench ({cargo})"),
    };
    let _ = writeln!(out, "command: `{command}`");
    let _ = writeln!(
        out,
        "machine: nproc {nproc}, kernel {kernel}, {cpu}, {}",
        date()
    );
    let versions: Vec<String> = inits
        .iter()
        .map(|i| format!("{} = {}", i.name, peers::version(i)))
        .collect();
    let _ = writeln!(out, "versions: {}", versions.join("; "));
    let rich = format!(
        "idle {} s; rich mode {} boot/shutdown runs, crash loop {} s, readiness boot {} runs",
        plan.idle.as_secs(),
        plan.rich_runs,
        plan.crash_window.as_secs(),
        plan.ready_runs,
    );
    let quick_note = if quick {
        " (QUICK: a smoke test, not figures to publish)"
    } else {
        ""
    };
    let footprint = format!("footprint {} rounds, cold and warm", plan.footprint_runs);
    if plan.rich_only {
        let _ = writeln!(out, "plan: rich mode only: {rich}{quick_note}");
    } else if plan.footprint_only {
        let _ = writeln!(
            out,
            "plan: {footprint}, then startup {} rounds{quick_note}",
            plan.startup_rounds
        );
    } else {
        let _ = writeln!(
            out,
            "plan: {footprint}; startup {} rounds; reaping {} orphans, forked x {} runs and light \
             x {} runs; signals {} sends; {rich}{quick_note}",
            plan.startup_rounds, plan.orphans, plan.fork_runs, plan.light_runs, plan.signal_sends,
        );
    }
    out
}

fn all(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().copied().map(Some).collect()
}

fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Fork => "forked",
        Kind::Light => "light (CLONE_VM)",
    }
}

fn reap_rows(plan: &Plan, reaps: &[Reap]) -> Vec<Row> {
    let mut rows: Vec<Row> = reaps
        .iter()
        .map(|reap| {
            Row::new(
                format!(
                    "reap {} {} orphans as pid 1, median of {}",
                    plan.orphans,
                    kind_text(reap.kind),
                    reap.runs
                ),
                Unit::Millis,
                reap.medians(),
            )
            .target(Target::VsBestPeer(1.0))
        })
        .collect();
    let inits = reaps.first().map_or(0, |r| r.left.len());
    let left = (0..inits)
        .map(|i| Some(reaps.iter().map(|r| r.left[i]).fold(0.0, f64::max)))
        .collect();
    rows.push(Row::new("orphans left unreaped, worst run", Unit::Count, left).target(Target::Zero));
    rows
}

/// The two startup rows (the footprint issue's "startup still ≤ 1.05×" beside its memory).
pub fn startup_rows(s: &Startup) -> Vec<Row> {
    vec![
        Row::new(
            "startup `X -- /bin/true`, median",
            Unit::Micros,
            all(&s.wall_us),
        )
        .target(Target::VsTiniStatic(1.05)),
        Row::new(
            format!(
                "startup overhead, median − bare /bin/true ({:.0} µs)",
                s.bare_us
            ),
            Unit::Micros,
            all(&s.overhead_us()),
        )
        .target(Target::VsTiniStatic(1.05)),
    ]
}

pub fn rows(plan: &Plan, r: &Results, inits: &[Init]) -> Vec<Row> {
    let mut rows = startup_rows(&r.startup);
    rows.extend(reap_rows(plan, &r.reaps));
    rows.extend([
        Row::new(
            format!("SIGUSR1 latency, median of {}", plan.signal_sends),
            Unit::Micros,
            r.latency.iter().map(|l| Some(l.median_us)).collect(),
        ),
        Row::new(
            "SIGUSR1 latency, p99",
            Unit::Micros,
            r.latency.iter().map(|l| Some(l.p99_us)).collect(),
        ),
        Row::new(
            format!("wake-ups while idle {} s", plan.idle.as_secs()),
            Unit::Count,
            all(&r.wakeups),
        )
        .target(Target::Zero),
    ]);
    rows.extend(footprint_report::rows(&r.footprint, inits));
    rows
}

/// What "(dyn)" in a cell means.
pub fn dyn_note() -> String {
    "- (dyn): dynamically linked, so the file size leaves out libc, which static binaries carry, \
     and its memory counts the pages of libc and ld.so it maps, shared with other processes; not \
     counted as the best peer for size or footprint.\n"
        .to_string()
}

/// "name lo–hi ms" for each init's reaping runs.
fn spread(inits: &[Init], reap: &Reap) -> String {
    let parts: Vec<String> = inits
        .iter()
        .zip(&reap.times_ms)
        .map(|(init, times)| {
            let lo = times.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = times.iter().copied().fold(0.0, f64::max);
            if times.is_empty() {
                format!("{} —", init.name)
            } else {
                format!("{} {lo:.0}–{hi:.0}", init.name)
            }
        })
        .collect();
    format!("{} ms", parts.join(", "))
}

pub fn notes(inits: &[Init], r: &Results, took: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- startup: `X -- /bin/true` spawned and reaped by the bench, the inits as child \
         subreapers (tini `-s`), taking turns round-robin; overhead = median − median of a bare /bin/true."
    );
    let _ = writeln!(
        out,
        "- reap: each init is pid 1 of a new pid namespace (`unshare --pid --fork`); CMD leaves \
         the orphans with it, releases them at once, and polls kill(pid, 0) until every pid is gone. \
         Forked orphans each tear down an address space when they exit, kernel work that dominates \
         that figure; light orphans (clone with CLONE_VM, still separate processes) leave mostly \
         the init's reaping. Both are noisy: on few CPUs, 10,000 runnable processes contend with \
         the init, so a reap verdict means little unless the ratio lies well outside the spread below."
    );
    for reap in &r.reaps {
        let _ = writeln!(
            out,
            "- reap spread, {} orphans, fastest–slowest run: {}",
            kind_text(reap.kind),
            spread(inits, reap)
        );
    }
    let _ = writeln!(
        out,
        "- SIGUSR1: sent to the init (a child subreaper); time until CMD's sigwaitinfo returns \
         (CLOCK_MONOTONIC), one signal in flight, the inits taking turns; everything pinned to one \
         CPU, over 5 sessions of fresh processes, so that CPU placement does not favour one init."
    );
    let _ = writeln!(
        out,
        "- wake-ups: voluntary + involuntary context switches of the init's own pid; all inits measured at once."
    );
    out.push_str(&footprint_report::notes(&r.footprint));
    out.push_str(&dyn_note());
    let _ = writeln!(out, "- the whole run took {:.0} s.", took.as_secs_f64());
    out
}
