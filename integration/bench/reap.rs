//! Reaping: each init runs as pid 1 of a fresh pid namespace (so dumb-init and catatonit
//! reap orphans too) with the `orphans` helper as CMD, which leaves N orphans with it,
//! releases them at once and times until the last one is reaped (see orphans.rs).

use crate::child;
use crate::helpers::helper_argv;
use crate::orphans::Kind;
use crate::peers::{Init, Mode};
use crate::stats::median;
use std::process::Stdio;
use std::time::Duration;

/// One run forks N processes and waits up to 10 s for the reaping; this is plenty.
const RUN_LIMIT: Duration = Duration::from_secs(60);

pub struct Reap {
    pub kind: Kind,
    pub runs: usize,
    /// Per init: the time until all orphans were reaped, ms, of each run that left none.
    pub times_ms: Vec<Vec<f64>>,
    /// Per init: the most orphans any run left unreaped.
    pub left: Vec<f64>,
}

impl Reap {
    pub fn medians(&self) -> Vec<Option<f64>> {
        self.times_ms.iter().map(|t| median(t)).collect()
    }
}

pub fn measure(inits: &[Init], orphans: usize, kind: Kind, runs: usize) -> Result<Reap, String> {
    let cmd = helper_argv("orphans", &[orphans.to_string(), kind.name().to_string()])?;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); inits.len()];
    let mut left = vec![0.0; inits.len()];
    for run in 0..runs {
        for k in 0..inits.len() {
            let at = (run + k) % inits.len();
            let init = &inits[at];
            let what = format!(
                "{} as pid 1 with {orphans} {} orphans",
                init.name,
                kind.name()
            );
            let mut command = init.command(Mode::Pid1, &cmd);
            command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let out = child::run(&mut command, RUN_LIMIT, &what)?;
            let (ns, this_left) = parse(&String::from_utf8_lossy(&out.stdout))
                .ok_or_else(|| format!("{what}: no `reap_ns=N left=K` line in its output"))?;
            if this_left == 0 {
                times[at].push(ns as f64 / 1e6);
            }
            left[at] = f64::max(left[at], this_left as f64);
        }
    }
    Ok(Reap {
        kind,
        runs,
        times_ms: times,
        left,
    })
}

fn parse(output: &str) -> Option<(u64, u64)> {
    let line = output.lines().find(|l| l.starts_with("reap_ns="))?;
    let mut ns = None;
    let mut left = None;
    for field in line.split_whitespace() {
        match field.split_once('=')? {
            ("reap_ns", v) => ns = v.parse().ok(),
            ("left", v) => left = v.parse().ok(),
            _ => {}
        }
    }
    Some((ns?, left?))
}
