//! The OCI hooks table (issue 4; ours only: no peer ships OCI hooks) and its notes.

use crate::hooks::{HookResults, WARMUP_ROUNDS};
use crate::stats::{median, percentile};
use crate::table::markdown;
use std::fmt::Write;

/// Target: what one hook may add to a container's `runc run`, ms.
pub const PER_HOOK_MS: f64 = 5.0;

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() < 100.0 => format!("{v:.2} ms"),
        Some(v) => format!("{v:.1} ms"),
        None => "—".to_string(),
    }
}

/// "median (p90 …)" of the samples.
fn median_p90(v: &[f64]) -> String {
    format!("{} (p90 {})", ms(median(v)), ms(percentile(v, 90.0)))
}

fn verdict(meets: Option<bool>) -> String {
    match meets {
        Some(true) => "meets",
        Some(false) => "misses",
        None => "not measured",
    }
    .to_string()
}

pub fn table(r: &HookResults) -> String {
    let n = r.runs;
    let added = r.added_ms();
    let per_hook = added.map(|a| a / 2.0);
    let null_per_hook = r.null_added_ms().map(|a| a / 2.0);
    let ran = |stage: &str| {
        if r.check_ran(stage) {
            "ran"
        } else {
            "did not run"
        }
    };
    let both = r.check_ran("prestart") && r.check_ran("poststop");
    let rows: Vec<[String; 4]> = vec![
        [
            format!("`runc run` of `/bin/true`, no hooks, median of {n}"),
            median_p90(&r.bare_ms),
            "—".into(),
            "—".into(),
        ],
        [
            format!("`runc run` of `/bin/true`, our prestart + poststop hooks, median of {n}"),
            median_p90(&r.hooked_ms),
            "—".into(),
            "—".into(),
        ],
        [
            "added by the two hooks (median with − median without)".into(),
            ms(added),
            "—".into(),
            "—".into(),
        ],
        [
            "added per hook (÷ 2)".into(),
            ms(per_hook),
            format!("< {PER_HOOK_MS:.0} ms"),
            verdict(per_hook.map(|p| p < PER_HOOK_MS)),
        ],
        [
            format!(
                "`runc run` of `/bin/true`, static busybox `true` as both hooks, median of {n}"
            ),
            median_p90(&r.null_hooked_ms),
            "—".into(),
            "—".into(),
        ],
        [
            "added per do-nothing hook (÷ 2): runc's own cost of a hook".into(),
            ms(null_per_hook),
            "—".into(),
            "—".into(),
        ],
        [
            format!("`rich-init hook prestart` alone, state on stdin, median of {n}"),
            median_p90(&r.prestart_ms),
            "—".into(),
            "—".into(),
        ],
        [
            format!("`rich-init hook poststop` alone, state on stdin, median of {n}"),
            median_p90(&r.poststop_ms),
            "—".into(),
            "—".into(),
        ],
        [
            format!("floor: spawn + reap static `busybox true`, same plumbing, median of {n}"),
            median_p90(&r.floor_ms),
            "—".into(),
            "—".into(),
        ],
        [
            "check run: hooks-dir scripts at prestart / poststop".into(),
            format!("{} / {}", ran("prestart"), ran("poststop")),
            "both run".into(),
            verdict(Some(both)),
        ],
    ];
    let mut lines = vec![["OCI hooks (ours only)", "ours", "target", "verdict"]
        .map(String::from)
        .to_vec()];
    lines.extend(rows.into_iter().map(|r| r.to_vec()));
    markdown(&lines)
}

pub fn notes(r: &HookResults) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- hooks: {}; `runc --root TMP run --bundle B ID` of a busybox-static rootfs running \
         `/bin/true` (pid, ipc, uts, mount, network namespaces; no terminal), wall time from spawn \
         to reaped exit (runc deletes the container, and so runs poststop, before it exits). \
         The variant with hooks has `{{\"path\": build/rich-init, \"args\": [\"rich-init\", \"hook\", \
         STAGE], \"env\": [\"RICH_INIT_HOOKS_DIR=<an empty dir>\"]}}` at prestart and poststop: our \
         own cost, no script's. The do-nothing variant has `{{\"path\": \"/usr/bin/busybox\", \
         \"args\": [\"busybox\", \"true\"]}}` at both stages instead. Variants take turns, the \
         first of each round rotating, after {} thrown-away rounds; {} runs each.",
        r.runc_version,
        WARMUP_ROUNDS,
        r.runs
    );
    let _ = writeln!(
        out,
        "- hooks, paired: median of (with − without) per round = {}; the table's figure is the \
         difference of the medians. For scale, `runc run` without hooks: median {}, p90 {}; \
         a difference much smaller than that spread is not resolved by {} runs (it can even come \
         out negative), and the hooks alone, below, are then the precise figure of our own cost.",
        ms(r.paired_added_ms()),
        ms(median(&r.bare_ms)),
        ms(percentile(&r.bare_ms, 90.0)),
        r.runs
    );
    let _ = writeln!(
        out,
        "- hooks alone: `rich-init hook STAGE` spawned by the bench with runc's env (cleared but \
         for RICH_INIT_HOOKS_DIR, the same empty dir), the state JSON written to its stdin \
         (prestart: status creating, pid of a sleeping child of the bench; poststop: status \
         stopped, no pid), the hooked bundle's config.json; the three commands take turns. \
         The floor is the same spawn of a static binary that does nothing; what a hook adds to \
         `runc run` beyond its own run time is runc's (the do-nothing hook row)."
    );
    let lines = if r.check_lines.is_empty() {
        "none".to_string()
    } else {
        r.check_lines.join("; ")
    };
    let _ = writeln!(
        out,
        "- hooks check: one run before the measure, with an executable script in the hooks dir's \
         prestart/ and poststop/ that appends \"$RICH_INIT_STAGE $RICH_INIT_CONTAINER_ID\" to a \
         file; container {}, lines written: {lines}.",
        r.check_id
    );
    out
}
