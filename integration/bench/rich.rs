//! Rich mode (`rich-init --rich`), ours only, on the host as a child subreaper:
//! - boot: start until CMD runs, with 50 services that are ready once started;
//! - shutdown: SIGTERM to rich-init until it has been reaped, with 50 services that exit
//!   on SIGTERM and write the moment they exit, so that what rich-init adds after the
//!   slowest service's own exit can be told apart;
//! - idle: context switches of rich-init with 10 services running and no ready checks;
//! - crash loop: one service that exits at once, restarted with a 100 ms backoff doubling
//!   to 30 s: rich-init's CPU time over the window and the restart times.
//!
//! Idle and the crash loop run in the background (see [`Background`]) while the peers'
//! idle measure runs, so that they add little to the bench's time.

use crate::proctree::cpu_time;
use crate::rich_proc::{read_stamps, toml_argv, toml_str, Rich};
use crate::{helpers, procstat, sys};
use nix::sys::signal::{SigSet, Signal};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const SERVICES: usize = 50;
pub const IDLE_SERVICES: usize = 10;
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// s6-overlay's S6_SERVICES_GRACETIME default, as its README documents it; not measured.
pub const S6_GRACE_MS: f64 = 3000.0;
/// Time given to an idle rich-init before counting its wake-ups.
const SETTLE: Duration = Duration::from_millis(500);

/// A trivial service: `exec sleep 1000` under /bin/sh, ready once started.
fn sleeper() -> String {
    "command = [\"/bin/sh\", \"-c\", \"exec sleep 1000\"]\n".to_string()
}

/// A service that runs this bench as `__helper MODE FILE`.
fn helper_service(mode: &str, file: &Path, extra: &str) -> Result<String, String> {
    let argv: Vec<String> = helpers::helper_argv(mode, &[file.display().to_string()])?
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    Ok(format!("command = {}\n{extra}", toml_argv(&argv)))
}

fn named(
    n: usize,
    body: impl Fn(usize) -> Result<String, String>,
) -> Result<Vec<(String, String)>, String> {
    (0..n)
        .map(|i| Ok((format!("svc{i:02}"), body(i)?)))
        .collect()
}

pub struct BootShutdown {
    pub runs: usize,
    /// Start until CMD runs, ms, with `exec sleep 1000` services (one per run).
    pub boot_ms: Vec<f64>,
    /// The same with the stamping services of the shutdown runs, ms.
    pub boot_stamping_ms: Vec<f64>,
    /// SIGTERM until rich-init reaped, ms: stamping services / sleep services.
    pub shutdown_ms: Vec<f64>,
    pub shutdown_sleepers_ms: Vec<f64>,
    /// SIGTERM until the slowest service's own exit, ms.
    pub to_slowest_ms: Vec<f64>,
    /// rich-init reaped − slowest service's own exit, ms.
    pub after_slowest_ms: Vec<f64>,
    /// SIGTERM until the first service's own exit, ms.
    pub to_first_ms: Vec<f64>,
    /// Processes left below rich-init after it exited, all runs.
    pub leftovers: usize,
    /// Exit codes of rich-init other than 0 (CMD exits 0 on SIGTERM).
    pub bad_codes: Vec<Option<i32>>,
}

/// Boot and shutdown, `runs` times each: a run with `exec sleep 1000` services, then one
/// with services that stamp their exit.
pub fn boot_shutdown(bin: &Path, runs: usize) -> Result<BootShutdown, String> {
    let mut r = BootShutdown {
        runs,
        boot_ms: Vec::new(),
        boot_stamping_ms: Vec::new(),
        shutdown_ms: Vec::new(),
        shutdown_sleepers_ms: Vec::new(),
        to_slowest_ms: Vec::new(),
        after_slowest_ms: Vec::new(),
        to_first_ms: Vec::new(),
        leftovers: 0,
        bad_codes: Vec::new(),
    };
    // One warm-up run of each kind, thrown away (page cache, dentries).
    for run in 0..=runs {
        let keep = run > 0;
        let rich = Rich::start(bin, "boot", &named(SERVICES, |_| Ok(sleeper()))?)?;
        let boot = rich.boot_ms();
        let stopped = rich.stop()?;
        r.leftovers += stopped.leftovers;
        if stopped.code != Some(0) {
            r.bad_codes.push(stopped.code);
        }
        if keep {
            r.boot_ms.push(boot);
            r.shutdown_sleepers_ms
                .push(stopped.reaped_ns.saturating_sub(stopped.sent_ns) as f64 / 1e6);
        }

        let exits = std::env::temp_dir().join(format!(
            "rich-init-bench-{}-exits-{run}",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&exits);
        let services = named(SERVICES, |_| helper_service("term-stamp", &exits, ""))?;
        let mut rich = Rich::start(bin, "shutdown", &services)?;
        let boot = rich.boot_ms();
        // Each service blocks SIGTERM first thing; give them all time to get there.
        std::thread::sleep(Duration::from_millis(300));
        rich.check_running()?;
        let stopped = rich.stop()?;
        let stamps = read_stamps(&exits);
        let _ = std::fs::remove_file(&exits);
        r.leftovers += stopped.leftovers;
        if stopped.code != Some(0) {
            r.bad_codes.push(stopped.code);
        }
        if stamps.len() != SERVICES {
            return Err(format!(
                "shutdown run: {} of {SERVICES} services recorded their exit",
                stamps.len()
            ));
        }
        let slowest = stamps.iter().copied().max().unwrap_or(0);
        let first = stamps.iter().copied().min().unwrap_or(0);
        if keep {
            r.boot_stamping_ms.push(boot);
            r.shutdown_ms
                .push(stopped.reaped_ns.saturating_sub(stopped.sent_ns) as f64 / 1e6);
            r.to_slowest_ms
                .push(slowest.saturating_sub(stopped.sent_ns) as f64 / 1e6);
            r.after_slowest_ms
                .push(stopped.reaped_ns as f64 / 1e6 - slowest as f64 / 1e6);
            r.to_first_ms
                .push(first.saturating_sub(stopped.sent_ns) as f64 / 1e6);
        }
    }
    Ok(r)
}

/// The idle and crash-loop instances, running side by side.
pub struct Background {
    idle: Rich,
    crash: Rich,
    starts_file: PathBuf,
    window: Duration,
    began: Instant,
    /// Context switches of the crash-loop rich-init once its CMD ran.
    crash_switches: u64,
}

pub struct CrashLoop {
    pub window: Duration,
    /// rich-init's utime + stime over the window (from its start), as % of wall time.
    pub cpu_percent: f64,
    pub cpu: Duration,
    /// rich-init's context switches from its CMD's start to the end of the window.
    pub switches: u64,
    /// Start times of the service, relative to its first start.
    pub starts: Vec<Duration>,
    /// Most starts the backoff allows within the window from the first start.
    pub expected_starts: usize,
    /// Whether every gap between starts is at least its backoff delay and at most that
    /// delay plus [`GAP_SLACK`].
    pub follows_backoff: bool,
}

/// How much later than its backoff delay a restart may come and still count as on time
/// (the exit of the previous run, the fork and exec of the next).
pub const GAP_SLACK: Duration = Duration::from_millis(50);

/// The n-th restart's delay (n from 1): FIRST_DELAY × 2^(n−1), capped at MAX_DELAY.
pub fn backoff_delay(n: usize) -> Duration {
    let mut d = FIRST_DELAY;
    for _ in 1..n {
        d = (d * 2).min(MAX_DELAY);
    }
    d.min(MAX_DELAY)
}

/// Starts within `window` of the first, if each run took no time at all.
pub fn expected_starts(window: Duration) -> usize {
    let mut at = Duration::ZERO;
    let mut starts = 1;
    loop {
        at += backoff_delay(starts);
        if at > window {
            return starts;
        }
        starts += 1;
    }
}

impl Background {
    pub fn start(bin: &Path, window: Duration) -> Result<Background, String> {
        let idle = Rich::start(bin, "idle", &named(IDLE_SERVICES, |_| Ok(sleeper()))?)?;
        let starts_file = idle.tree.dir.path.join("crash-starts");
        let extra = format!(
            "restart-delay = {}\nrestart-delay-max = {}\n",
            toml_str(&format!("{}ms", FIRST_DELAY.as_millis())),
            toml_str(&format!("{}s", MAX_DELAY.as_secs())),
        );
        let crash = Rich::start(
            bin,
            "crash-loop",
            &[(
                "crash".to_string(),
                helper_service("stamp", &starts_file, &extra)?,
            )],
        )?;
        let crash_switches = procstat::context_switches(crash.pid())?;
        Ok(Background {
            crash_switches,
            idle,
            crash,
            starts_file,
            window,
            began: Instant::now(),
        })
    }

    /// Context switches of the idle rich-init over `idle`, after a settle time.
    pub fn idle_wakeups(&mut self, idle: Duration) -> Result<f64, String> {
        std::thread::sleep(SETTLE);
        self.idle.check_running()?;
        let before = procstat::context_switches(self.idle.pid())?;
        std::thread::sleep(idle);
        let after = procstat::context_switches(self.idle.pid())?;
        self.idle.check_running()?;
        Ok(after.saturating_sub(before) as f64)
    }

    /// Wait out the crash-loop window, read its figures, stop both instances.
    pub fn finish(mut self) -> Result<(CrashLoop, usize), String> {
        let left = self.window.saturating_sub(self.began.elapsed());
        std::thread::sleep(left);
        self.crash.check_running()?;
        let cpu = cpu_time(self.crash.pid())?;
        let switches =
            procstat::context_switches(self.crash.pid())?.saturating_sub(self.crash_switches);
        let now = sys::monotonic_ns();
        let wall = Duration::from_nanos(now.saturating_sub(self.crash.tree.spawned_ns));
        let mut stamps = read_stamps(&self.starts_file);
        stamps.sort_unstable();
        let crash = self.crash.stop();
        let idle = self.idle.stop();
        let leftovers =
            crash.as_ref().map_or(0, |s| s.leftovers) + idle.as_ref().map_or(0, |s| s.leftovers);
        crash?;
        idle?;
        let first = stamps.first().copied().unwrap_or(now);
        let starts: Vec<Duration> = stamps
            .iter()
            .map(|s| Duration::from_nanos(s - first))
            .collect();
        let since_first = Duration::from_nanos(now.saturating_sub(first));
        let follows_backoff = !starts.is_empty()
            && starts.windows(2).enumerate().all(|(i, w)| {
                let gap = w[1] - w[0];
                let d = backoff_delay(i + 1);
                gap >= d && gap <= d + GAP_SLACK
            });
        Ok((
            CrashLoop {
                window: self.window,
                cpu_percent: cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
                cpu,
                switches,
                starts,
                expected_starts: expected_starts(since_first),
                follows_backoff,
            },
            leftovers,
        ))
    }
}

/// Helper modes for rich mode; None when `mode` is not one of them.
pub fn helper(mode: &str, args: &[String]) -> Option<Result<(), String>> {
    let file = || {
        args.first()
            .map(PathBuf::from)
            .ok_or_else(|| format!("usage: __helper {mode} FILE"))
    };
    match mode {
        "rich-cmd" => Some(rich_cmd()),
        "stamp" => Some(file().and_then(|f| {
            append_stamp(&f)?;
            // A crash: exit at once, with a failure.
            sys::exit_now(1)
        })),
        "term-stamp" => Some(file().and_then(|f| term_stamp(&f))),
        _ => None,
    }
}

fn block_term() -> Result<SigSet, String> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.thread_block()
        .map_err(|e| format!("blocking SIGTERM: {e}"))?;
    Ok(set)
}

fn wait_term(set: &SigSet) -> Result<(), String> {
    loop {
        match sys::sigwaitinfo(set) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("sigwaitinfo: {e}")),
        }
    }
}

/// rich-init's CMD: write CLOCK_MONOTONIC (8 bytes LE) to stdout, then exit 0 on SIGTERM.
fn rich_cmd() -> Result<(), String> {
    let set = block_term()?;
    let now = sys::monotonic_ns();
    let mut out = std::io::stdout().lock();
    out.write_all(&now.to_le_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing the stamp: {e}"))?;
    wait_term(&set)
}

/// Append CLOCK_MONOTONIC as one line, in one write.
fn append_stamp(file: &Path) -> Result<(), String> {
    let line = format!("{}\n", sys::monotonic_ns());
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| format!("appending to {}: {e}", file.display()))
}

/// A service that exits on SIGTERM and records the moment it does, just before exiting.
fn term_stamp(file: &Path) -> Result<(), String> {
    let set = block_term()?;
    wait_term(&set)?;
    append_stamp(file)
}
