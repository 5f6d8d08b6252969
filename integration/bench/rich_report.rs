//! The rich-mode table (ours only: no peer has a rich mode) and its notes.

use crate::rich::{self, BootShutdown, CrashLoop};
use crate::rich_peers;
use crate::stats::median;
use crate::table::markdown;
use std::fmt::Write;
use std::time::Duration;

pub struct RichResults {
    pub boot: BootShutdown,
    pub idle: Duration,
    pub idle_wakeups: f64,
    pub crash: CrashLoop,
    /// Start until CMD runs, ms, with services that are ready 1 s after their start.
    pub ready_boot_ms: Vec<f64>,
    /// Processes left below rich-init after it exited, over every rich run.
    pub leftovers: usize,
}

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 100.0 => format!("{v:.2} ms"),
        Some(v) => format!("{v:.1} ms"),
        None => "—".to_string(),
    }
}

fn worst(v: &[f64]) -> Option<f64> {
    v.iter().copied().max_by(f64::total_cmp)
}

fn verdict(meets: Option<bool>) -> String {
    match meets {
        Some(true) => "meets",
        Some(false) => "misses",
        None => "not measured",
    }
    .to_string()
}

pub fn table(r: &RichResults) -> String {
    let b = &r.boot;
    let n = b.runs;
    let within_10 = |v: Option<f64>| verdict(v.map(|v| v <= 10.0));
    let c = &r.crash;
    let secs = c.window.as_secs();
    let restarts = c.starts.len().saturating_sub(1);
    let rows: Vec<[String; 5]> = vec![
        [
            format!("boot: start → CMD runs, {} services (`exec sleep 1000`), median of {n}", rich::SERVICES),
            ms(median(&b.boot_ms)),
            "—".into(),
            "—".into(),
            "—".into(),
        ],
        [
            format!(
                "boot: start → CMD runs, {} services ready {} s after their start (ready command, no `after`), median of {}",
                rich_peers::READY_SERVICES,
                rich_peers::READY_AFTER.as_secs(),
                r.ready_boot_ms.len()
            ),
            ms(median(&r.ready_boot_ms)),
            format!(
                "one at a time: ≥ {} s; all at once: ≈ {} s",
                rich_peers::READY_SERVICES as u64 * rich_peers::READY_AFTER.as_secs(),
                rich_peers::READY_AFTER.as_secs()
            ),
            "—".into(),
            "—".into(),
        ],
        [
            format!("shutdown: SIGTERM → rich-init reaped, {} services that exit on SIGTERM, median of {n}", rich::SERVICES),
            ms(median(&b.shutdown_ms)),
            format!(
                "s6-overlay: {:.0} ms S6_SERVICES_GRACETIME default (documented, not measured)",
                rich::S6_GRACE_MS
            ),
            "—".into(),
            "—".into(),
        ],
        [
            format!("shutdown − slowest service's own exit, median of {n}"),
            ms(median(&b.after_slowest_ms)),
            "s6-overlay: waits its grace (issue 3; not measured)".into(),
            "≤ 10 ms".into(),
            within_10(median(&b.after_slowest_ms)),
        ],
        [
            format!("shutdown − slowest service's own exit, worst of {n}"),
            ms(worst(&b.after_slowest_ms)),
            "—".into(),
            "≤ 10 ms".into(),
            within_10(worst(&b.after_slowest_ms)),
        ],
        [
            format!("wake-ups while idle {} s, {} services", r.idle.as_secs(), rich::IDLE_SERVICES),
            format!("{:.0}", r.idle_wakeups),
            "—".into(),
            "0".into(),
            verdict(Some(r.idle_wakeups == 0.0)),
        ],
        [
            format!("crash loop {secs} s: rich-init CPU (utime+stime) / wall"),
            format!(
                "{:.3} % ({:.0} ms)",
                c.cpu_percent,
                c.cpu.as_secs_f64() * 1e3
            ),
            "—".into(),
            "< 1 %".into(),
            verdict(Some(c.cpu_percent < 1.0)),
        ],
        [
            format!("crash loop {secs} s: starts (restarts)"),
            format!("{} ({restarts})", c.starts.len()),
            format!(
                "backoff 100 ms doubling to 30 s allows ≤ {} starts",
                c.expected_starts
            ),
            "gaps = backoff".into(),
            verdict(Some(
                c.follows_backoff && c.starts.len() <= c.expected_starts,
            )),
        ],
        [
            "processes left behind by rich-init, all rich runs".into(),
            r.leftovers.to_string(),
            "—".into(),
            "0".into(),
            verdict(Some(r.leftovers == 0)),
        ],
    ];
    let mut lines = vec![[
        "rich mode (ours only)",
        "ours",
        "reference",
        "target",
        "verdict",
    ]
    .map(String::from)
    .to_vec()];
    lines.extend(rows.into_iter().map(|r| r.to_vec()));
    markdown(&lines)
}

fn list_ms(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.2}")).collect();
    format!("{} ms", parts.join(", "))
}

/// A note line when `who` exited with codes other than 0 after SIGTERM.
pub fn bad_codes_note(out: &mut String, who: &str, codes: &[Option<i32>]) {
    if !codes.is_empty() {
        let _ = writeln!(
            out,
            "- {who} exited with a code other than 0 after SIGTERM: {codes:?}"
        );
    }
}

pub fn notes(r: &RichResults) -> String {
    let b = &r.boot;
    let c = &r.crash;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- rich mode: `rich-init --rich` on the host as a child subreaper of the bench, with \
         temporary services.d/init.d/stop.d and `--env-file '' --profile-hook '' --control-socket ''`; \
         CMD is this bench (`__helper rich-cmd`), which writes its CLOCK_MONOTONIC on start and exits 0 on SIGTERM. \
         Each figure has one thrown-away warm-up run first."
    );
    let _ = writeln!(
        out,
        "- boot: CLOCK_MONOTONIC before spawning rich-init until CMD's own reading; services have no \
         ready check (ready once started). Runs: {}. With the shutdown runs' services (this bench \
         as a service, `__helper term-stamp`): {}.",
        list_ms(&b.boot_ms),
        list_ms(&b.boot_stamping_ms)
    );
    let _ = writeln!(
        out,
        "- shutdown: SIGTERM sent to rich-init until waitpid returned in the bench. Each service \
         blocks SIGTERM, waits for it, appends its CLOCK_MONOTONIC to a file and exits; \
         \"slowest service's own exit\" is the latest of those. SIGTERM → reaped: {}; of which \
         SIGTERM → slowest service's exit: {}; slowest exit → reaped: {}. With `exec sleep 1000` \
         services, SIGTERM → reaped: {}.",
        list_ms(&b.shutdown_ms),
        list_ms(&b.to_slowest_ms),
        list_ms(&b.after_slowest_ms),
        list_ms(&b.shutdown_sleepers_ms)
    );
    let spread: Vec<f64> = b
        .to_slowest_ms
        .iter()
        .zip(&b.to_first_ms)
        .map(|(last, first)| last - first)
        .collect();
    let per_service = median(&spread).unwrap_or(0.0) / (rich::SERVICES - 1) as f64;
    // One at a time, each service would wait for the one before: the spread would be at
    // least (services - 1) times one service's own stop time (SIGTERM → first exit).
    let one_stop = median(&b.to_first_ms).unwrap_or(0.0);
    let reading = if per_service >= one_stop / 2.0 {
        "The exits come one after another, each about one service's stop time after the one \
         before: services are stopped one at a time, so shutdown grows with the sum of the \
         services' stop times, not with the slowest one."
    } else {
        "The exits come much closer together than one service's own stop time: the services \
         were all signalled at once, and the spread is their scheduling on the machine's cores."
    };
    let _ = writeln!(
        out,
        "- shutdown order: SIGTERM → first service's exit: {}; first → last service's exit: {} \
         ({per_service:.2} ms per service, median). {reading}",
        list_ms(&b.to_first_ms),
        list_ms(&spread),
    );
    bad_codes_note(&mut out, "rich-init (CMD exits 0)", &b.bad_codes);
    let _ = writeln!(
        out,
        "- s6-overlay: not on this machine, so nothing of it was measured; s6 itself, the \
         supervision tree under it, is measured in the table beside supervisord. Its README documents \
         S6_SERVICES_GRACETIME = {:.0} ms by default; issue 3 states that s6-overlay waits its grace \
         time at shutdown whatever its services do. That figure is a documented constant, set \
         beside our measured one, not a measurement.",
        rich::S6_GRACE_MS
    );
    let _ = writeln!(
        out,
        "- idle: voluntary + involuntary context switches of rich-init's pid, {} services running \
         `exec sleep 1000` without ready checks, over the same {} s as the peers' idle measure.",
        rich::IDLE_SERVICES,
        r.idle.as_secs()
    );
    let gaps: Vec<String> = c
        .starts
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            format!(
                "{:.0} ({})",
                (w[1] - w[0]).as_secs_f64() * 1e3,
                rich::backoff_delay(i + 1).as_millis()
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "- crash loop: one service (this bench, `__helper stamp`) that appends its CLOCK_MONOTONIC \
         to a file and exits 1 at once; `restart-delay = \"100ms\"`, `restart-delay-max = \"30s\"`; \
         run beside the idle measure. CPU = rich-init's utime+stime from /proc/PID/stat \
         ({:.0} ms, clock-tick resolution) over the wall time since its spawn, boot included; \
         its context switches from CMD's start to the end: {} (for {} starts). \
         Gaps between starts in ms (backoff delay in brackets): {}. \"gaps = backoff\": each gap is \
         at least its delay and at most {} ms more.",
        c.cpu.as_secs_f64() * 1e3,
        c.switches,
        c.starts.len(),
        if gaps.is_empty() {
            "none".to_string()
        } else {
            gaps.join(", ")
        },
        rich::GAP_SLACK.as_millis()
    );
    out
}
