//! The in-place upgrade table (issue 5; upgrade-helper against the recreate path that
//! users take without it, both on the same containerd in the same run) and its notes.

use crate::stats::{median, percentile};
use crate::table::markdown;
use crate::upgrade::{UpgradeResults, IMAGE_1, IMAGE_2, RECREATE_STEPS, WARMUP_ROUNDS};
use std::fmt::Write;

/// Target: the upgrade's total time as a fraction of the recreate path's.
pub const TOTAL_RATIO: f64 = 0.5;
/// Target: the service gap of an upgrade, ms.
pub const GAP_MS: f64 = 100.0;

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() < 100.0 => format!("{v:.1} ms"),
        Some(v) => format!("{v:.0} ms"),
        None => "—".to_string(),
    }
}

fn median_p90(v: &[f64]) -> String {
    format!("{} (p90 {})", ms(median(v)), ms(percentile(v, 90.0)))
}

fn ratio(a: &[f64], b: &[f64]) -> Option<f64> {
    Some(median(a)? / median(b)?)
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or_else(|| "—".to_string(), |r| format!("{r:.2}×"))
}

fn verdict(meets: Option<bool>) -> String {
    match meets {
        Some(true) => "meets",
        Some(false) => "misses",
        None => "not measured",
    }
    .to_string()
}

fn kept(lost: &[String]) -> String {
    if lost.is_empty() {
        "all kept".to_string()
    } else {
        format!("lost {}", lost.join(", "))
    }
}

pub fn table(r: &UpgradeResults) -> String {
    let n = r.rounds;
    let total = ratio(&r.upgrade_ms, &r.recreate_ms);
    let gap = median(&r.upgrade_gap_events_ms);
    let requests = median(&r.grpc_requests);
    let dash = || "—".to_string();
    let rows: Vec<[String; 6]> = vec![
        [
            format!("total time, running :1 → running :2, median of {n}"),
            median_p90(&r.upgrade_ms),
            median_p90(&r.recreate_ms),
            ratio_text(total),
            format!("≤ {TOTAL_RATIO}× recreate"),
            verdict(total.map(|t| t <= TOTAL_RATIO)),
        ],
        [
            format!("service gap, old task's exit → new task's start (events), median of {n}"),
            median_p90(&r.upgrade_gap_events_ms),
            median_p90(&r.recreate_gap_events_ms),
            ratio_text(ratio(&r.upgrade_gap_events_ms, &r.recreate_gap_events_ms)),
            format!("≤ {GAP_MS:.0} ms"),
            verdict(gap.map(|g| g <= GAP_MS)),
        ],
        [
            format!("service gap as the helper counts it: old task deleted → new task started, median of {n}"),
            median_p90(&r.upgrade_gap_ms),
            median_p90(&r.recreate_gap_deleted_ms),
            ratio_text(ratio(&r.upgrade_gap_ms, &r.recreate_gap_deleted_ms)),
            dash(),
            dash(),
        ],
        [
            "gRPC requests per upgrade, median (counted by upgrade-helper itself)".into(),
            requests.map_or_else(dash, |q| format!("{q:.0}")),
            "not counted".into(),
            dash(),
            dash(),
            dash(),
        ],
        [
            "container options after the change (netns, /data bind mount, env, label)".into(),
            kept(&r.upgrade_lost),
            kept(&r.recreate_lost),
            dash(),
            "all kept".into(),
            verdict(Some(r.upgrade_lost.is_empty())),
        ],
        [
            "left behind (tasks, shims, mounts, cgroups, netns, temp dir)".into(),
            if r.leftovers.is_empty() {
                "nothing".into()
            } else {
                r.leftovers.join("; ")
            },
            dash(),
            dash(),
            "nothing".into(),
            verdict(Some(r.leftovers.is_empty())),
        ],
    ];
    let mut lines = vec![[
        "in-place upgrade (ours only: no peer ships one)",
        "upgrade-helper",
        "recreate (ctr)",
        "ratio",
        "target",
        "verdict",
    ]
    .map(String::from)
    .to_vec()];
    lines.extend(rows.into_iter().map(|r| r.to_vec()));
    markdown(&lines)
}

/// "name median" for each series.
fn medians<'a>(series: impl Iterator<Item = (&'a str, &'a [f64])>) -> String {
    series
        .map(|(name, v)| format!("{name} {}", ms(median(v))))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn notes(r: &UpgradeResults) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- upgrade: {}, private (own root, state, sockets and namespace under a temp dir, CRI \
         off, overlayfs), images {IMAGE_1} and {IMAGE_2} from `make images` (rich-init --rich \
         with crond and syslogd, CMD sleep; SIGTERM stops it). The container joins a netns \
         (`ip netns add`), bind-mounts a host dir at /data, has an env var and a label and logs \
         to a file; the recreate path's `ctr run -d` repeats those options. Each round runs \
         both paths from a running :1 to a running :2 and back (the way back untimed), the \
         path that goes first alternating; {} thrown-away round(s), then {} rounds.",
        r.containerd_version, WARMUP_ROUNDS, r.rounds
    );
    let _ = writeln!(
        out,
        "- upgrade path: `upgrade-helper --address SOCK --namespace NS upgrade svc --image \
         {IMAGE_2} --health-window 0 --stop-timeout 2s --json`, wall time from spawn to exit \
         (its own total_ms: median {}). The request count comes from its JSON: the gRPC calls \
         its client made. Its own gap figure (JSON service_gap_ms, whole ms) runs from the \
         return of its delete of the old task to the return of its start of the new one, so \
         it leaves out the delete (inside its 4/8 stop, with the SIGTERM and the wait for the \
         exit). Its steps, medians: {}.",
        ms(median(&r.helper_total_ms)),
        medians(
            r.helper_steps
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice()))
        )
    );
    let _ = writeln!(
        out,
        "- recreate path: `ctr task kill svc` (SIGTERM), wait for the task's /tasks/exit event \
         (one `ctr events` subscription for the whole measure, so no polling; a script that \
         polls `ctr task ls` or sleeps would take longer), `ctr task delete`, `ctr container \
         delete`, `ctr run -d ... {IMAGE_2} svc`, timed from the kill's spawn until `ctr run -d` \
         returns (the new task is started then). Steps, medians: {}. Its gap as the helper \
         counts: from the return of `ctr task delete` to the return of `ctr run -d`.",
        medians(
            RECREATE_STEPS
                .iter()
                .zip(&r.recreate_steps)
                .map(|(n, v)| (*n, v.as_slice()))
        ),
    );
    let _ = writeln!(
        out,
        "- service gap (events), both paths alike: from the old task's exited_at in its \
         /tasks/exit event (the shim's clock) to the publication time of the new task's \
         /tasks/start event (its shim's clock, the same CLOCK_REALTIME), both read from the \
         `ctr events` subscription; exit events reached the bench a median {} after \
         exited_at. After each step the bench checks, untimed, that the task is RUNNING with a \
         new pid and the container on the new image with its options.",
        ms(median(&r.event_delay_ms))
    );
    let _ = writeln!(
        out,
        "- upgrade figures depend on the load: containerd, its shims and runc are separate \
         processes, and anything else running (other tests, builds) shows in the p90 and can \
         move the medians by tens of ms."
    );
    out
}
