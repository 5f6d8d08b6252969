//! The table of rich mode beside supervisord and s6 (ours, each peer, and ours / each
//! peer), and its notes: the workload, what counts as each supervisor's own, the
//! restart policies and every run's figure.

use crate::rich_peers::{
    Crash, Figures, Run, SideBySide, FEW_SERVICES, IDLE_SERVICES, READY_AFTER, READY_SERVICES,
    SERVICES, SETTLE,
};
use crate::rich_report::bad_codes_note;
use crate::stats::median;
use crate::supervisors::{self, Kind};
use crate::table::{format_value, markdown, ratio, Unit};
use std::fmt::Write;

/// One row: the measure, then per supervisor its value and the text of its cell.
struct Line {
    measure: String,
    values: Vec<Option<f64>>,
    cells: Vec<String>,
    /// Whether ours / peer means something on this row.
    ratios: bool,
}

impl Line {
    fn numbers(measure: String, unit: Unit, values: Vec<Option<f64>>) -> Line {
        let cells = values
            .iter()
            .map(|v| v.map_or("—".to_string(), |v| format_value(unit, v)))
            .collect();
        Line {
            measure,
            values,
            cells,
            ratios: true,
        }
    }

    fn with_cells(mut self, cells: Vec<String>) -> Line {
        self.cells = cells;
        self
    }

    fn text(measure: String, cells: Vec<String>) -> Line {
        Line {
            measure,
            values: vec![None; cells.len()],
            cells,
            ratios: false,
        }
    }
}

fn per(figures: &[Figures], f: impl Fn(&Figures) -> Option<f64>) -> Vec<Option<f64>> {
    figures.iter().map(f).collect()
}

/// One figure of each run.
fn each_run(runs: &[Run], pick: impl Fn(&Run) -> f64) -> Vec<f64> {
    runs.iter().map(pick).collect()
}

/// Its own processes in these runs (the last run's count).
fn own_processes(runs: &[Run]) -> usize {
    runs.last().map_or(0, |r| r.own_processes)
}

/// The runs with `n` services: 50 or 10.
fn runs_with(f: &Figures, n: usize) -> &[Run] {
    if n == FEW_SERVICES {
        &f.few
    } else {
        &f.runs
    }
}

/// The memory rows for one smaps field: with 10 services, with 50, and the cost of one
/// service more, (m50 − m10) / 40, from the medians.
fn memory_lines(f: &[Figures], runs: usize, name: &str, pick: fn(&Run) -> f64) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut medians = Vec::new();
    for n in [FEW_SERVICES, SERVICES] {
        let values = per(f, |x| median(&each_run(runs_with(x, n), pick)));
        let cells = f
            .iter()
            .zip(&values)
            .map(|(x, v)| match v {
                Some(v) => format!(
                    "{} ({})",
                    format_value(Unit::KiB, *v),
                    processes(own_processes(runs_with(x, n)))
                ),
                None => "—".to_string(),
            })
            .collect();
        lines.push(
            Line::numbers(
                format!("supervisor's own {name}, {n} services, median of {runs}"),
                Unit::KiB,
                values.clone(),
            )
            .with_cells(cells),
        );
        medians.push(values);
    }
    let extra = (SERVICES - FEW_SERVICES) as f64;
    let per_service: Vec<Option<f64>> = medians[0]
        .iter()
        .zip(&medians[1])
        .map(|(few, many)| Some(((*many)? - (*few)?) / extra))
        .collect();
    let cells = per_service
        .iter()
        .map(|v| v.map_or("—".to_string(), |v| format!("{v:.1} kB")))
        .collect();
    lines.push(
        Line::numbers(
            format!(
                "{name} per service, ({SERVICES} − {FEW_SERVICES}) / {}",
                SERVICES - FEW_SERVICES
            ),
            Unit::KiB,
            per_service,
        )
        .with_cells(cells),
    );
    lines
}

fn cpu_ms(c: &Crash) -> f64 {
    c.cpu.as_secs_f64() * 1e3
}

fn processes(n: usize) -> String {
    if n == 1 {
        "1 process".to_string()
    } else {
        format!("{n} processes")
    }
}

pub fn table(r: &SideBySide) -> String {
    let f = &r.figures;
    let n = r.runs;
    let secs = f.first().map_or(0, |x| x.window.crash.window.as_secs());
    let mut lines = vec![
        Line::numbers(
            format!("boot: start → {SERVICES} services running (each one's marker read), median of {n}"),
            Unit::Millis,
            per(f, |x| median(&each_run(&x.runs, |r| r.boot_ms))),
        ),
        Line::numbers(
            format!("shutdown: SIGTERM → supervisor reaped, {SERVICES} services, median of {n}"),
            Unit::Millis,
            per(f, |x| median(&each_run(&x.runs, |r| r.shutdown_ms))),
        ),
        Line::numbers(
            format!(
                "wake-ups while idle {} s, {IDLE_SERVICES} services, the supervisor's own processes",
                r.idle.as_secs()
            ),
            Unit::Count,
            per(f, |x| Some(x.window.idle.wakeups)),
        ),
    ];
    lines.extend(memory_lines(f, n, "Private_Dirty", |r| r.private_dirty_kb));
    lines.extend(memory_lines(f, n, "Rss (a sum)", |r| r.rss_kb));
    lines.extend([
        Line::numbers(
            format!("crash loop {secs} s: the supervisor's own CPU (utime+stime)"),
            Unit::Millis,
            per(f, |x| Some(cpu_ms(&x.window.crash))),
        )
        .with_cells(
            f.iter()
                .map(|x| {
                    let pct = cpu_ms(&x.window.crash) / (x.window.crash.window.as_secs_f64() * 1e3)
                        * 100.0;
                    format!("{:.0} ms ({pct:.3} %)", cpu_ms(&x.window.crash))
                })
                .collect(),
        ),
        Line::text(
            format!("crash loop {secs} s: starts of the service"),
            f.iter()
                .map(|x| x.window.crash.starts.len().to_string())
                .collect(),
        ),
        Line::text(
            "processes left behind, all runs".to_string(),
            f.iter().map(|x| x.leftovers().to_string()).collect(),
        ),
    ]);
    let mut rows = vec![{
        let mut h = vec!["rich mode beside supervisord and s6".to_string()];
        h.extend(f.iter().map(|x| x.kind.name().to_string()));
        h.extend(f.iter().skip(1).map(|x| format!("ours/{}", x.kind.name())));
        h
    }];
    for line in lines {
        let mut row = vec![line.measure];
        row.extend(line.cells);
        let ours = line.values.first().copied().flatten();
        for v in line.values.iter().skip(1) {
            row.push(if line.ratios {
                ratio(ours, *v)
            } else {
                "—".to_string()
            });
        }
        rows.push(row);
    }
    markdown(&rows)
}

fn list(v: &[f64], unit: Unit) -> String {
    let parts: Vec<String> = v.iter().map(|x| format_value(unit, *x)).collect();
    parts.join(", ")
}

/// Gaps between starts in ms.
fn gaps(c: &Crash) -> String {
    let gaps: Vec<String> = c
        .starts
        .windows(2)
        .map(|w| format!("{:.0}", (w[1] - w[0]) as f64 / 1e6))
        .collect();
    if gaps.is_empty() {
        "none".to_string()
    } else {
        format!("{} ms", gaps.join(", "))
    }
}

pub fn notes(r: &SideBySide) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- beside supervisord and s6: {}.",
        supervisors::versions()
    );
    let _ = writeln!(
        out,
        "- side by side: each supervisor is a child of the bench, in a temp dir of its own: ours \
         `rich-init --rich` with a services.d TOML file per service (`command = [\"/bin/sh\", \"-c\", SCRIPT]`) \
         and this bench as CMD; supervisord with its own config file (`nodaemon=true`, its socket, \
         pidfile, logfile and the programs' log files in the temp dir, `command=/bin/sh -c SCRIPT`); \
         s6 as `s6-svscan SCANDIR` with a service directory per service whose `run` is `#!/bin/sh` \
         then SCRIPT. One /bin/sh per service under each; every other setting is the supervisor's \
         default. The three take turns, one run each, after one thrown-away round."
    );
    let _ = writeln!(
        out,
        "- boot: SCRIPT is `echo up >FIFO; exec sleep 1000`; the bench reads the FIFO (a thread \
         blocked in poll, started before the spawn) and a service counts as running when its line \
         has been read. Boot = CLOCK_MONOTONIC just before spawning the supervisor until the \
         {SERVICES}th line; for ours that is not when CMD starts."
    );
    let _ = writeln!(
        out,
        "- memory and shutdown: `sync`, the boot, and {:.1} s after it (past supervisord's \
         startsecs of 1 s, so that every program is RUNNING) the sums of Private_Dirty and of Rss \
         (smaps_rollup) over the supervisor's own processes: rich-init; the python process of \
         supervisord; s6-svscan and every s6-supervise below it (one per service). Then SIGTERM to \
         the supervisor until the bench's waitpid returns; what was below it and still runs after \
         that counts as left behind. The same with {FEW_SERVICES} services, in runs of their own \
         beside each {SERVICES}-service run: per service = (median with {SERVICES} − median with \
         {FEW_SERVICES}) / {}. Rss is a plain sum, so s6's text pages, shared by its s6-supervise \
         processes, count once per process: read its Rss per service as what each process maps, \
         not what it adds to the machine.",
        SETTLE.as_secs_f64(),
        SERVICES - FEW_SERVICES
    );
    let _ = writeln!(
        out,
        "- idle: the same services, {IDLE_SERVICES} of them, {:.1} s after they all ran: voluntary + \
         involuntary context switches of every thread of the supervisor's own processes over {} s, \
         the three at once.",
        SETTLE.as_secs_f64(),
        r.idle.as_secs()
    );
    let _ = writeln!(
        out,
        "- crash loop: one service, SCRIPT `exec BENCH __helper stamp FIFO`, which writes its \
         CLOCK_MONOTONIC to the FIFO and exits 1; the three at once, beside the idle measure. \
         CPU = utime+stime of the supervisor's own processes (as for memory) from the service's \
         first start to {} s later (clock-tick resolution); starts = the stamps within that window.",
        r.figures.first().map_or(0, |x| x.window.crash.window.as_secs())
    );
    for f in &r.figures {
        let name = f.kind.name();
        let _ = writeln!(
            out,
            "- {name}: boot {}; shutdown {}; Private_Dirty {} ({FEW_SERVICES} services) and {} \
             ({SERVICES}) over {}; Rss {} and {}; idle over {}; crash loop: {} (restart policy: {}).",
            list(&each_run(&f.runs, |r| r.boot_ms), Unit::Millis),
            list(&each_run(&f.runs, |r| r.shutdown_ms), Unit::Millis),
            list(&each_run(&f.few, |r| r.private_dirty_kb), Unit::KiB),
            list(&each_run(&f.runs, |r| r.private_dirty_kb), Unit::KiB),
            processes(own_processes(&f.runs)),
            list(&each_run(&f.few, |r| r.rss_kb), Unit::KiB),
            list(&each_run(&f.runs, |r| r.rss_kb), Unit::KiB),
            processes(f.window.idle.own_processes),
            if f.window.crash.starts.len() > 1 {
                format!("gaps between starts {}", gaps(&f.window.crash))
            } else {
                "no restart".to_string()
            },
            f.kind.restart_policy()
        );
        bad_codes_note(&mut out, name, &f.bad_codes());
    }
    let _ = writeln!(
        out,
        "- readiness boot (ours only, in the rich-mode table): {READY_SERVICES} services with no `after`, \
         each `sleep {}; : >MARK; exec sleep 1000` with `ready = {{ command = [\"/bin/test\", \"-e\", MARK], \
         interval = \"100ms\", timeout = \"10s\" }}`; start until CMD runs, run beside the crash loops: {}.",
        READY_AFTER.as_secs(),
        list(&r.ready.boot_ms, Unit::Millis)
    );
    if r.figures.iter().any(|f| f.kind == Kind::Supervisord) {
        let _ = writeln!(
            out,
            "- supervisord: its main loop polls its sockets and the programs' output pipes \
             with a 1 s timeout and makes its state changes after each poll; the first pass, \
             which spawns the programs, comes after the first such poll (its log shows the \
             spawns about 1 s after \"supervisord started\")."
        );
    }
    out
}
