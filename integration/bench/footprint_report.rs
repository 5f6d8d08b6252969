//! The footprint's rows in the main table (ours as rich-init beside each peer), the
//! table of ours' three personalities beside tini-static and catatonit, and the notes
//! that say how it was measured.

use crate::footprint::{Condition, Footprint, Sample, CONDITIONS, SETTLE, SLEEP_SECS};
use crate::peers::{Init, Kind};
use crate::table::{format_value, markdown, ratio, target_text, verdict, Row, Target, Unit};
use std::fmt::Write;

/// One measure of the footprint: its name, how to pick it from a sample, its target.
struct Measure {
    name: &'static str,
    unit: Unit,
    pick: fn(&Sample) -> f64,
    target: Target,
}

const MEASURES: [Measure; 5] = [
    Measure {
        name: "peak RSS (VmHWM)",
        unit: Unit::KiB,
        pick: |s| s.hwm,
        target: Target::VsTiniStatic(1.0),
    },
    Measure {
        name: "RSS (VmRSS)",
        unit: Unit::KiB,
        pick: |s| s.vm_rss,
        target: Target::None,
    },
    Measure {
        name: "Private_Dirty",
        unit: Unit::KiB,
        pick: |s| s.private_dirty,
        target: Target::VsTiniStatic(1.25),
    },
    Measure {
        name: "Private_Clean",
        unit: Unit::KiB,
        pick: |s| s.private_clean,
        target: Target::None,
    },
    Measure {
        name: "page faults (minor + major)",
        unit: Unit::Count,
        pick: |s| s.minflt + s.majflt,
        target: Target::None,
    },
];

const SIZE_TARGET: Target = Target::VsTiniStatic(2.0);

fn measure_name(m: &Measure, c: Condition, runs: usize) -> String {
    format!("footprint {}: {}, median of {runs}", c.name(), m.name)
}

/// Subject `i`'s median of `m` in `c`, and its cell text (faults split minor + major).
fn value(fp: &Footprint, i: usize, m: &Measure, c: Condition) -> (f64, String) {
    let v = fp.median(i, c, m.pick);
    let text = if m.unit == Unit::Count {
        format!(
            "{v:.0} ({:.0} + {:.0})",
            fp.median(i, c, |s| s.minflt),
            fp.median(i, c, |s| s.majflt)
        )
    } else {
        format_value(m.unit, v)
    };
    (v, text)
}

fn dyn_mark(fp: &Footprint, i: usize) -> &'static str {
    if fp.subjects[i].dynamic {
        " (dyn)"
    } else {
        ""
    }
}

/// The rows of the main table, one value per init in `inits`' order.
pub fn rows(fp: &Footprint, inits: &[Init]) -> Vec<Row> {
    let at: Vec<Option<usize>> = inits.iter().map(|i| fp.column(i)).collect();
    let marks: Vec<&'static str> = at
        .iter()
        .map(|i| i.map_or("", |i| dyn_mark(fp, i)))
        .collect();
    // A dynamic binary's memory and size leave out what it shares: never the best peer.
    let dynamic: Vec<bool> = at
        .iter()
        .map(|i| i.is_some_and(|i| fp.subjects[i].dynamic))
        .collect();
    let mut rows = Vec::new();
    for c in CONDITIONS {
        for m in &MEASURES {
            let cells: Vec<Option<(f64, String)>> =
                at.iter().map(|i| i.map(|i| value(fp, i, m, c))).collect();
            rows.push(
                Row::new(
                    measure_name(m, c, fp.runs),
                    m.unit,
                    cells.iter().map(|x| x.as_ref().map(|x| x.0)).collect(),
                )
                .texts(cells.into_iter().map(|x| x.map(|x| x.1)).collect())
                .marks(marks.clone())
                .not_best(dynamic.clone())
                .target(m.target),
            );
        }
    }
    let size = |i: Option<usize>| i.map(|i| fp.subjects[i].size as f64);
    rows.push(
        Row::new(
            "binary size, bytes",
            Unit::Bytes,
            at.iter().map(|&i| size(i)).collect(),
        )
        .marks(marks)
        .not_best(dynamic)
        .target(SIZE_TARGET),
    );
    rows
}

/// Ours' three personalities beside tini-static and catatonit: each of ours' cells
/// carries its ratios to both, and the verdicts are one per personality.
pub fn personalities(fp: &Footprint) -> String {
    let ours = fp.personalities();
    let (ts, cat) = (fp.peer(Kind::TiniStatic), fp.peer(Kind::Catatonit));
    let others: Vec<usize> = [ts, cat].into_iter().flatten().collect();
    let mut header =
        vec!["footprint of ours' personalities (× tini-static / × catatonit)".to_string()];
    header.extend(
        ours.iter()
            .chain(&others)
            .map(|&i| fp.subjects[i].label.to_string()),
    );
    header.extend(["target", "verdicts"].map(String::from));
    let mut lines = vec![header];
    let mut line = |name: String, target: Target, cell: &dyn Fn(usize) -> (f64, String)| {
        let peer = |at: Option<usize>| at.map(|i| cell(i).0);
        let mut row = vec![name];
        let mut verdicts = Vec::new();
        for &i in &ours {
            let (v, text) = cell(i);
            row.push(format!(
                "{text} ({} / {})",
                ratio(Some(v), peer(ts)),
                ratio(Some(v), peer(cat))
            ));
            verdicts.push(verdict(target, Some(v), peer(ts), None));
        }
        row.extend(others.iter().map(|&i| cell(i).1));
        row.push(target_text(target));
        row.push(if target == Target::None {
            "—".to_string()
        } else {
            verdicts.join(" · ")
        });
        lines.push(row);
    };
    for c in CONDITIONS {
        for m in &MEASURES {
            line(measure_name(m, c, fp.runs), m.target, &|i| {
                value(fp, i, m, c)
            });
        }
    }
    line("binary size, bytes".to_string(), SIZE_TARGET, &|i| {
        let v = fp.subjects[i].size as f64;
        (v, format_value(Unit::Bytes, v))
    });
    markdown(&lines)
}

fn kb(v: f64) -> String {
    format_value(Unit::KiB, v)
}

pub fn notes(fp: &Footprint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- footprint: each init runs `sleep {SLEEP_SECS}` as CMD, as a child subreaper of the bench \
         (tini, tini-static and ours as tini with `-s`, ours as rich-init and catatonit by \
         themselves; dumb-init and ours as dumb-init register nothing, which does not change \
         their memory); one init at a time, never two at once. \
         Per round, every init in turn: cold = `sync()`, then `posix_fadvise(fd, 0, 0, \
         POSIX_FADV_DONTNEED)` on its real file (symlinks resolved) and, for a dynamic one (tini, \
         dumb-init), on the libraries `ldd` names, then the start; warm = `sync()`, one start thrown away, then \
         the start measured. The bench polls /proc/PID/task/PID/children until CMD exists, waits \
         {} ms, then reads the init's own process: VmHWM and VmRSS (status), Rss, Private_Dirty, \
         Private_Clean, Shared_Clean, Anonymous (smaps_rollup), minflt and majflt (stat fields \
         10 and 12, counted since the bench's fork, so they include the exec), then sends \
         SIGTERM. Medians of {} rounds (the minor and major parts of the faults are medians of \
         their own).",
        SETTLE.as_millis(),
        fp.runs
    );
    let _ = writeln!(
        out,
        "- footprint personalities: ours as dumb-init and as tini are RICH_INIT_BIN run through \
         symlinks of those names in a temp dir (argv[0] picks the personality): one file, so its \
         size is ours'."
    );
    let lefts: Vec<String> = fp
        .subjects
        .iter()
        .zip(&fp.left)
        .flat_map(|(s, left)| {
            left.iter().map(move |l| {
                format!(
                    "{} {} {}/{}",
                    s.label,
                    l.file.display(),
                    l.resident,
                    l.pages
                )
            })
        })
        .collect();
    let _ = writeln!(
        out,
        "- footprint cold: pages still in the page cache right after DONTNEED (mincore), worst \
         round: {}. DONTNEED drops only clean pages that no process maps: libc and ld.so stay, \
         every dynamic process (this bench included) maps them.",
        lefts.join("; ")
    );
    let ahead: Vec<String> = fp
        .subjects
        .iter()
        .map(|s| {
            let kb = s
                .read_ahead_kb
                .map_or("unknown".to_string(), |k| format!("{k} kB"));
            format!("{} {kb}", s.file.display())
        })
        .fold(Vec::new(), |mut seen, x| {
            if !seen.contains(&x) {
                seen.push(x);
            }
            seen
        });
    let _ = writeln!(
        out,
        "- footprint cold: read-ahead of the block device under each file (sysfs \
         queue/read_ahead_kb): {}. A cold start's first fault in a file reads up to that much \
         of it at once, so with a large read-ahead cold and warm map nearly the same pages and \
         differ in major faults, not in RSS.",
        ahead.join("; ")
    );
    for (i, s) in fp.subjects.iter().enumerate() {
        let per = |c: Condition| {
            format!(
                "{} Rss {}, Shared_Clean {}, Anonymous {}",
                c.name(),
                kb(fp.median(i, c, |x| x.rss)),
                kb(fp.median(i, c, |x| x.shared_clean)),
                kb(fp.median(i, c, |x| x.anonymous)),
            )
        };
        let path = if s.init.path == s.file {
            s.file.display().to_string()
        } else {
            let name = s.init.path.file_name().unwrap_or_default();
            format!("{} → {}", name.to_string_lossy(), s.file.display())
        };
        let _ = writeln!(
            out,
            "- footprint {} (`{path}`): {}; {}.",
            s.label,
            per(Condition::Cold),
            per(Condition::Warm)
        );
    }
    if fp.leftovers > 0 {
        let _ = writeln!(
            out,
            "- footprint: {} processes were still running below an init after it exited (killed).",
            fp.leftovers
        );
    }
    out
}
