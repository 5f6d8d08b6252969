//! The sockets table (`BENCH_ONLY=sockets`, issue 17) and its notes: the rich-mode rows
//! of sockets.rs and the containerd rows of sockets_ctrd.rs.

use crate::listen_image::PORT;
use crate::sockets::{
    Cell, Event, Run, SocketsResults, AFTER, BEFORE, PERIOD, RESTART_DELAY, RUNS,
};
use crate::stats::{median, percentile};
use crate::table::markdown;
use std::fmt::Write as _;

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 10.0 => format!("{v:.2}"),
        Some(v) if v < 100.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.0}"),
        None => "—".to_string(),
    }
}

fn cell(c: &Cell) -> String {
    let of = |f: &dyn Fn(&Run) -> f64| -> Vec<f64> { c.runs.iter().map(f).collect() };
    let refused = of(&|r| r.refused as f64);
    let worst = refused.iter().copied().fold(0.0, f64::max);
    let failed = of(&|r| r.failed as f64);
    let p50 = of(&|r| percentile(&r.latency_ms, 50.0).unwrap_or(f64::NAN));
    let p99 = of(&|r| percentile(&r.latency_ms, 99.0).unwrap_or(f64::NAN));
    let max = of(&|r| percentile(&r.latency_ms, 100.0).unwrap_or(f64::NAN));
    format!(
        "{:.0} (worst {worst:.0}) / {:.0} / {} / {} / {} ms",
        median(&refused).unwrap_or(0.0),
        median(&failed).unwrap_or(0.0),
        ms(median(&p50)),
        ms(median(&p99)),
        ms(median(&max)),
    )
}

pub fn table(r: &SocketsResults) -> String {
    let mut lines = vec![vec![
        format!("event (median of {RUNS})"),
        "without `listen`: refused (worst) / failed / p50 / p99 / max".to_string(),
        "with `listen`: refused (worst) / failed / p50 / p99 / max".to_string(),
    ]];
    for (event, cells) in Event::ALL.iter().zip(&r.cells) {
        lines.push(vec![
            event.label().to_string(),
            cell(&cells[0]),
            cell(&cells[1]),
        ]);
    }
    let c = &r.ctrd;
    lines.push(vec![
        "`upgrade-helper upgrade` to a new image".to_string(),
        cell(&c.upgrade[0]),
        cell(&c.upgrade[1]),
    ]);
    lines.push(vec![
        "recreate (`ctr` delete + run, same netns)".to_string(),
        cell(&c.recreate),
        "—".to_string(),
    ]);
    markdown(&lines)
}

pub fn notes(r: &SocketsResults) -> String {
    let mut out = String::new();
    let per_s = 1.0 / PERIOD.as_secs_f64();
    let _ = writeln!(
        out,
        "- sockets: `rich-init --rich` on the host (a child subreaper of the bench, its \
         control socket in a temp dir) with one service, a Python server ({}) that answers \
         each connection with its pid: it accepts on fd 3 when LISTEN_FDS/LISTEN_PID say so \
         (`listen = [\"tcp:127.0.0.1:PORT\"]`), and otherwise binds 127.0.0.1:PORT itself \
         (SO_REUSEADDR, backlog 128); SIGTERM ends it between two connections; \
         restart-delay = \"{RESTART_DELAY}\". A fresh rich-init and a free port for each run.",
        r.python
    );
    let _ = writeln!(
        out,
        "- client: a thread of the bench, one connection at a time, at most one every {} µs \
         (about {per_s:.0} a second): connect, send a line, read the reply; from {} ms before \
         the event until a new server pid has answered plus {} ms. Refused = ECONNREFUSED; \
         failed = any other error (a reset, an EOF before the reply); latency = connect + \
         reply of the answered connections, ms (p50, p99 and max within a run). Events: \
         `rich-init ctl --socket S restart web` (timed from its spawn), and SIGKILL of the \
         server from the bench. Each event {RUNS} runs in each mode (alternating); the table \
         shows the median of the runs' counts and percentiles, and the worst run's refused \
         count.",
        PERIOD.as_micros(),
        BEFORE.as_millis(),
        AFTER.as_millis(),
    );
    let back: Vec<String> = Event::ALL
        .iter()
        .zip(&r.cells)
        .map(|(e, cells)| {
            let b = |c: &Cell| {
                let v: Vec<f64> = c.runs.iter().map(|r| r.back_ms).collect();
                ms(median(&v))
            };
            format!(
                "{}: {} ms without `listen`, {} ms with it",
                e.label(),
                b(&cells[0]),
                b(&cells[1])
            )
        })
        .collect();
    let total: usize = r
        .cells
        .iter()
        .flat_map(|c| c.iter())
        .flat_map(|c| c.runs.iter())
        .map(|r| r.ok + r.refused + r.failed)
        .sum();
    let _ = writeln!(
        out,
        "- sockets: the event until a new server first answered, medians: {}. {total} \
         connections in all. Processes left behind by rich-init: {}; rich-init exit codes \
         other than 0: {}.",
        back.join("; "),
        r.leftovers,
        if r.bad_codes.is_empty() {
            "none".to_string()
        } else {
            format!("{:?}", r.bad_codes)
        }
    );
    out + &ctrd_notes(r)
}

/// The containerd rows' note.
fn ctrd_notes(r: &SocketsResults) -> String {
    let c = &r.ctrd;
    let back = |cell: &Cell| {
        let v: Vec<f64> = cell.runs.iter().map(|r| r.back_ms).collect();
        ms(median(&v))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- sockets, the upgrade and recreate rows: a private {} (the upgrade measure's), a \
         container in a network namespace of its own (`ip netns add`, lo up) from the upgrade \
         test's images (integration/listen_image.rs): rich-busybox's root filesystem, \
         `rich-init --rich` as ENTRYPOINT, service `web` a static Rust server \
         (integration/listen/server.rs) that answers each connection with its pid and the \
         image's tag, on fd 3 with `listen = [\"tcp:0.0.0.0:{PORT}\"]` or binding the port \
         itself. Each event takes the container to the other tag (v1 ↔ v2): `upgrade-helper \
         upgrade ID --image IMAGE --health-window 0 --stop-timeout 2s`; recreate = `ctr task \
         kill` (SIGTERM), the exit event, `ctr task delete`, `ctr container delete`, `ctr run \
         -d` in the same namespace. The client is the test's (integration/listen_client.rs): a \
         thread of the bench in the namespace (setns), connecting to 127.0.0.1:{PORT} as above; \
         {RUNS} runs of each. The event until a new server first answered, medians: upgrade {} ms \
         without `listen`, {} ms with it; recreate {} ms. Left behind by the clean-up: {}.",
        c.containerd_version,
        back(&c.upgrade[0]),
        back(&c.upgrade[1]),
        back(&c.recreate),
        if c.leftovers.is_empty() {
            "nothing".to_string()
        } else {
            c.leftovers.join("; ")
        }
    );
    out
}
