//! Issue 13: `podman stop` of a `sleep` container with each init as podman's
//! `--init --init-path` (ours, tini-static, catatonit), under runc and crun, on the private
//! podman of the integration tests (integration/podman_rig.rs, podman_ctr.rs). One sample:
//! `podman run -d` of `sleep 1000`, wait until sleep runs, time `podman stop -t 10`, check
//! the exit code (143), remove. The inits take turns in each round. The rig panics on a
//! failure, as the tests want; that panic becomes this measure's error.

use crate::peers::{Init as Peer, Kind};
use crate::podman_ctr::{Init, Oci};
use crate::podman_rig::Podman;
use crate::stats::median;
use crate::table::{render, Row, Unit};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// The inits, in the table's column order (ours first).
const INITS: [(Kind, Init); 3] = [
    (Kind::Ours, Init::Ours),
    (Kind::TiniStatic, Init::TiniStatic),
    (Kind::Catatonit, Init::Catatonit),
];

/// Milliseconds of each `podman stop`, per init (INITS order), and exit codes other than 143.
struct Samples {
    ms: Vec<Vec<f64>>,
    odd_codes: Vec<String>,
}

fn sample(rig: &Podman, oci: Oci, init: Init) -> (Duration, i32) {
    let ctr = rig.start(oci, &init.flags(), &["sleep", "1000"]);
    crate::harness::wait_for("sleep to run under the init", || {
        (ctr.exec(&[], &["pidof", "sleep"]).code() == Some(0)).then_some(())
    });
    let (out, took) = ctr.stop(10);
    assert_eq!(out.code(), Some(0), "podman stop\n{out}");
    (took, ctr.wait())
}

fn measure_one(oci: Oci, runs: usize) -> Samples {
    let rig = Podman::new();
    let mut samples = Samples {
        ms: vec![Vec::new(); INITS.len()],
        odd_codes: Vec::new(),
    };
    // One round first, thrown away: page cache, podman's first storage and cgroup setup.
    for round in 0..=runs {
        for (i, (_, init)) in INITS.iter().enumerate() {
            let (took, code) = sample(&rig, oci, *init);
            if round == 0 {
                continue;
            }
            samples.ms[i].push(took.as_secs_f64() * 1000.0);
            if code != 143 {
                samples.odd_codes.push(format!(
                    "{} under {}: exit {code}",
                    init.name(),
                    oci.name()
                ));
            }
        }
    }
    rig.finish();
    samples
}

/// Measure and render the table with its notes.
pub fn table(inits: &[Peer], quick: bool) -> Result<String, String> {
    let runs = if quick { 3 } else { 15 };
    let columns: Vec<Peer> = INITS
        .iter()
        .filter_map(|(kind, _)| inits.iter().find(|p| p.kind == *kind).cloned())
        .collect();
    if columns.len() != INITS.len() {
        return Err("podman stop: ours, tini-static or catatonit is missing".into());
    }
    let mut rows = Vec::new();
    let mut notes = String::new();
    for oci in Oci::ALL {
        crate::progress(&format!(
            "podman stop: a sleep container under {} x {runs} runs per init",
            oci.name()
        ));
        let samples = catch_unwind(AssertUnwindSafe(|| measure_one(oci, runs))).map_err(|e| {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            format!("podman stop under {}: {why}", oci.name())
        })?;
        rows.push(Row::new(
            format!(
                "`podman stop` of `sleep` ({}), median of {runs}",
                oci.name()
            ),
            Unit::Millis,
            samples.ms.iter().map(|v| median(v)).collect(),
        ));
        for odd in samples.odd_codes {
            notes.push_str(&format!("- not 143: {odd}\n"));
        }
    }
    let mut out = render(&columns, &rows);
    out.push_str(
        "\n`podman stop -t 10` wall time, podman 4.3 with its own storage (vfs) under a temp \
         dir, `--init --init-path` each init; CMD is `sleep 1000`, which SIGTERM ends (exit 143). \
         It is mostly podman's own time (a podman process, the runtime's kill, conmon's exit \
         file, the cleanup).\n",
    );
    out.push_str(&notes);
    Ok(out)
}
