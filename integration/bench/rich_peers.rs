//! Rich mode beside supervisord and s6, all from one run, on the same services:
//! - boot: spawn until all 50 services run. Each service is
//!   `echo up >FIFO; exec sleep 1000` under /bin/sh, and "runs" once the bench has read
//!   its line from the FIFO: the same test under every supervisor;
//! - memory: the sums of Private_Dirty and of Rss over the supervisor's own processes,
//!   with 10 services and with 50 (the same boot, in runs of its own), after a `sync`;
//! - shutdown: SIGTERM to the supervisor until the bench has reaped it;
//! - idle: context switches of the supervisor's own processes over the idle window, 10
//!   services;
//! - crash loop: one service that exits 1 at once (this bench, `__helper stamp`), each
//!   supervisor's restart policy: its own processes' CPU over the window from the first
//!   start, and the starts.
//!
//! Also ours alone: the boot with 20 services whose ready check passes 1 s after each
//! one starts, run beside the idle and crash-loop window.

use crate::fifo::{sh_quote, Fifo};
use crate::proctree::{cpu_time, sum_over};
use crate::rich_proc::{toml_argv, Rich, Stopped, TempDir, LIMIT};
use crate::supervisors::{self, Kind, Running, Service, KINDS};
use crate::{helpers, procstat, rich, sys};
use std::path::Path;
use std::time::{Duration, Instant};

pub const SERVICES: usize = rich::SERVICES;
/// The fewer services of the memory measure: the cost per service is the difference
/// between 50 and this many, over their difference.
pub const FEW_SERVICES: usize = 10;
pub const IDLE_SERVICES: usize = rich::IDLE_SERVICES;
pub const READY_SERVICES: usize = 20;
/// How long after its start each readiness service becomes ready.
pub const READY_AFTER: Duration = Duration::from_secs(1);
/// The readiness boot's limit: serial, it takes 20 × (1 s + up to one check interval).
const READY_LIMIT: Duration = Duration::from_secs(60);
/// From boot until the memory reading and SIGTERM: past supervisord's `startsecs` (1 s),
/// so that every service counts as running under each supervisor.
pub const SETTLE: Duration = Duration::from_millis(1500);

/// One supervisor's figures.
pub struct Figures {
    pub kind: Kind,
    /// One per boot/shutdown run after the warm-up, 50 services.
    pub runs: Vec<Run>,
    /// The same with 10 services, for the memory per service.
    pub few: Vec<Run>,
    /// The idle and crash-loop window.
    pub window: Window,
    /// Every stop of it (warm-up, runs, idle, crash loop): left-behind processes, codes.
    pub stops: Vec<Stopped>,
}

/// One boot/shutdown run, 50 services (or 10).
pub struct Run {
    /// Spawn until the last service's marker was read, ms.
    pub boot_ms: f64,
    /// SIGTERM until reaped, ms.
    pub shutdown_ms: f64,
    /// Sums of Private_Dirty and of Rss over its own processes, kB, and how many there were.
    pub private_dirty_kb: f64,
    pub rss_kb: f64,
    pub own_processes: usize,
}

/// What the window measured: idle with 10 services, and the crash loop, at once.
pub struct Window {
    pub idle: Idle,
    pub crash: Crash,
}

/// Context switches of its own processes over the idle window, 10 services.
pub struct Idle {
    pub wakeups: f64,
    pub own_processes: usize,
}

pub struct Crash {
    /// Its own processes' utime + stime from the first start to the end of the window.
    pub cpu: Duration,
    pub window: Duration,
    /// The service's start stamps (CLOCK_MONOTONIC ns), in order.
    pub starts: Vec<u64>,
}

/// Ours only: start until CMD runs with the readiness services, ms, one per run.
pub struct ReadyBoot {
    pub boot_ms: Vec<f64>,
    pub leftovers: usize,
}

pub struct SideBySide {
    pub runs: usize,
    pub idle: Duration,
    pub figures: Vec<Figures>,
    pub ready: ReadyBoot,
}

impl Figures {
    /// Processes left below it after it exited, all its stops.
    pub fn leftovers(&self) -> usize {
        self.stops.iter().map(|s| s.leftovers).sum()
    }

    /// Its exit codes other than 0 after SIGTERM.
    pub fn bad_codes(&self) -> Vec<Option<i32>> {
        self.stops
            .iter()
            .map(|s| s.code)
            .filter(|c| *c != Some(0))
            .collect()
    }
}

/// Every measure; `runs` boot/shutdown runs of each supervisor, taking turns.
pub fn measure(
    ours: &Path,
    runs: usize,
    ready_runs: usize,
    idle: Duration,
    window: Duration,
) -> Result<SideBySide, String> {
    let mut figures: Vec<Figures> = KINDS
        .iter()
        .map(|&kind| Figures {
            kind,
            runs: Vec::new(),
            few: Vec::new(),
            window: Window {
                idle: Idle {
                    wakeups: 0.0,
                    own_processes: 0,
                },
                crash: Crash {
                    cpu: Duration::ZERO,
                    window,
                    starts: Vec::new(),
                },
            },
            stops: Vec::new(),
        })
        .collect();
    // One warm-up round first, thrown away (page cache, python's bytecode cache).
    for run in 0..=runs {
        for f in figures.iter_mut() {
            let (one, stopped) = boot_shutdown(f.kind, ours, SERVICES)?;
            f.stops.push(stopped);
            let (few, stopped) = boot_shutdown(f.kind, ours, FEW_SERVICES)?;
            f.stops.push(stopped);
            if run > 0 {
                f.runs.push(one);
                f.few.push(few);
            }
        }
    }
    let (window_result, ready) = std::thread::scope(|s| {
        let ready = s.spawn(|| ready_boot(ours, ready_runs));
        let window_result = idle_and_crash(ours, &mut figures, idle, window);
        let ready = ready
            .join()
            .unwrap_or_else(|_| Err("the readiness boot panicked".to_string()));
        (window_result, ready)
    });
    window_result?;
    Ok(SideBySide {
        runs,
        idle,
        figures,
        ready: ready?,
    })
}

/// `n` services that write a line to `fifo` and become `sleep 1000`.
fn sleepers(n: usize, fifo: &Fifo) -> Vec<Service> {
    let script = format!(
        "echo up >{}; exec sleep 1000",
        sh_quote(&fifo.path.display().to_string())
    );
    (0..n)
        .map(|i| Service {
            name: format!("svc{i:02}"),
            script: script.clone(),
            crashes: false,
        })
        .collect()
}

/// Start `kind` with `n` sleepers; returns once all have written their line, with the
/// time of the last line (ns) read.
fn start_up(kind: Kind, ours: &Path, what: &str, n: usize) -> Result<(Running, u64), String> {
    let mut fifo = Fifo::new(what)?;
    let services = sleepers(n, &fifo);
    let (running, lines) = std::thread::scope(|s| {
        // Reading before the spawn: each line is timed as it comes.
        let reader = s.spawn(|| fifo.lines(n, LIMIT));
        let running = supervisors::start(kind, ours, what, &services);
        let lines = reader
            .join()
            .unwrap_or_else(|_| Err("the marker reader panicked".to_string()));
        (running, lines)
    });
    let running = running?;
    let lines = lines?;
    match lines.last() {
        Some(&(last, _)) if lines.len() >= n => Ok((running, last)),
        _ => Err(format!(
            "{} {what}: {} of {n} services ran within {LIMIT:?}; its log: {}",
            kind.name(),
            lines.len(),
            running.tree().log().trim()
        )),
    }
}

/// Boot with `n` services, read the memory, shut down. A `sync` first, so that no page
/// of the supervisor's files is dirty in the page cache.
fn boot_shutdown(kind: Kind, ours: &Path, n: usize) -> Result<(Run, Stopped), String> {
    sys::sync();
    let (mut running, last_ns) = start_up(kind, ours, "boot", n)?;
    let boot_ms = last_ns.saturating_sub(running.tree().spawned_ns) as f64 / 1e6;
    std::thread::sleep(SETTLE);
    running.check_running()?;
    let own = running.own_pids();
    let smaps = |field: &str| sum_over(&own, |p| procstat::proc_field(p, "smaps_rollup", field));
    let private_dirty_kb = smaps("Private_Dirty")? as f64;
    let rss_kb = smaps("Rss")? as f64;
    let stopped = running.stop()?;
    let run = Run {
        boot_ms,
        shutdown_ms: stopped.ms(),
        private_dirty_kb,
        rss_kb,
        own_processes: own.len(),
    };
    Ok((run, stopped))
}

/// A crash-loop instance and what it needs until the end of its window.
struct CrashRun {
    running: Running,
    fifo: Fifo,
    first_ns: u64,
    cpu_before: Duration,
}

fn start_crash(kind: Kind, ours: &Path) -> Result<CrashRun, String> {
    let mut fifo = Fifo::new("crash")?;
    let argv = helpers::helper_argv("stamp", &[fifo.path.display().to_string()])?;
    let quoted: Vec<String> = argv
        .iter()
        .map(|a| sh_quote(&a.to_string_lossy()))
        .collect();
    let service = Service {
        name: "crash".into(),
        script: format!("exec {}", quoted.join(" ")),
        crashes: true,
    };
    let running = supervisors::start(kind, ours, "crash-loop", &[service])?;
    let first = fifo.lines(1, LIMIT)?;
    // The stamp the service wrote, else the moment the bench read it.
    let first_ns = first
        .first()
        .map(|(read, line)| line.trim().parse().unwrap_or(*read));
    let Some(first_ns) = first_ns else {
        return Err(format!(
            "{} crash loop: the service did not start within {LIMIT:?}; its log: {}",
            kind.name(),
            running.tree().log().trim()
        ));
    };
    let cpu_before = sum_over(&running.own_pids(), cpu_time)?;
    Ok(CrashRun {
        running,
        fifo,
        first_ns,
        cpu_before,
    })
}

/// The crash loops of all three over `window`, and beside them the idle measure.
fn idle_and_crash(
    ours: &Path,
    figures: &mut [Figures],
    idle: Duration,
    window: Duration,
) -> Result<(), String> {
    let mut crashes = Vec::new();
    for f in figures.iter() {
        crashes.push(start_crash(f.kind, ours)?);
    }
    let mut idles = Vec::new();
    for f in figures.iter() {
        idles.push(start_up(f.kind, ours, "idle", IDLE_SERVICES)?.0);
    }
    std::thread::sleep(SETTLE);
    let own: Vec<Vec<i32>> = idles.iter().map(Running::own_pids).collect();
    let count = |own: &[Vec<i32>]| -> Result<Vec<u64>, String> {
        own.iter()
            .map(|pids| sum_over(pids, procstat::process_switches))
            .collect()
    };
    let before = count(&own)?;
    std::thread::sleep(idle);
    let after = count(&own)?;
    for (((f, running), pids), (b, a)) in figures
        .iter_mut()
        .zip(idles.iter_mut())
        .zip(&own)
        .zip(before.iter().zip(&after))
    {
        running.check_running()?;
        f.window.idle = Idle {
            wakeups: a.saturating_sub(*b) as f64,
            own_processes: pids.len(),
        };
    }
    for (f, mut c) in figures.iter_mut().zip(crashes) {
        let end = Duration::from_nanos(c.first_ns) + window;
        let now = Duration::from_nanos(sys::monotonic_ns());
        std::thread::sleep(end.saturating_sub(now));
        c.running.check_running()?;
        let cpu = sum_over(&c.running.own_pids(), cpu_time)?;
        let mut starts: Vec<u64> = vec![c.first_ns];
        let rest = c.fifo.lines(usize::MAX, Duration::ZERO)?;
        starts.extend(
            rest.iter()
                .filter_map(|(_, l)| l.trim().parse::<u64>().ok()),
        );
        starts.sort_unstable();
        starts.retain(|&s| s <= end.as_nanos() as u64);
        f.window.crash = Crash {
            cpu: cpu.saturating_sub(c.cpu_before),
            window,
            starts,
        };
        f.stops.push(c.running.stop()?);
    }
    for (f, running) in figures.iter_mut().zip(idles) {
        f.stops.push(running.stop()?);
    }
    Ok(())
}

/// Ours alone: 20 services with no `after`, each ready 1 s after it starts (it touches
/// a file then; its ready command tests for the file), start until CMD runs.
fn ready_boot(ours: &Path, runs: usize) -> Result<ReadyBoot, String> {
    let mut boot_ms = Vec::new();
    let mut leftovers = 0;
    for _ in 0..runs {
        let marks = TempDir::new("ready-marks", &[])?;
        let services: Vec<(String, String)> = (0..READY_SERVICES)
            .map(|i| {
                let name = format!("svc{i:02}");
                let mark = marks.path.join(&name).display().to_string();
                let script = format!(
                    "sleep {}; : >{}; exec sleep 1000",
                    READY_AFTER.as_secs(),
                    sh_quote(&mark)
                );
                let run = ["/bin/sh", "-c", &script].map(String::from);
                let check = ["/bin/test", "-e", &mark].map(String::from);
                let body = format!(
                    "command = {}\nready = {{ command = {}, interval = \"100ms\", timeout = \"10s\" }}\n",
                    toml_argv(&run),
                    toml_argv(&check)
                );
                (name, body)
            })
            .collect();
        let started = Instant::now();
        let rich = Rich::start_within(ours, "ready-boot", &services, READY_LIMIT)
            .map_err(|e| format!("{e} (after {:?})", started.elapsed()))?;
        boot_ms.push(rich.boot_ms());
        leftovers += rich.stop()?.leftovers;
    }
    Ok(ReadyBoot { boot_ms, leftovers })
}
