//! Startup: wall time of `X -- /bin/true` from spawn to reaped exit, and of a bare
//! `/bin/true` for the baseline. Binaries take turns round-robin (with a rotating first
//! one) so that drift in the machine's speed falls on all of them alike.

use crate::peers::{os, Init, Mode};
use crate::stats::median;
use std::process::{Command, Stdio};
use std::time::Instant;

const TRUE: &str = "/bin/true";
/// Rounds run first and thrown away: page cache, dentries, CPU frequency.
const WARMUP_ROUNDS: usize = 20;

pub struct Startup {
    /// Median wall time of the bare /bin/true, µs.
    pub bare_us: f64,
    /// Median wall time per init (in the order of the inits), µs.
    pub wall_us: Vec<f64>,
}

impl Startup {
    /// The init's own cost: its median minus the bare median.
    pub fn overhead_us(&self) -> Vec<f64> {
        self.wall_us.iter().map(|w| w - self.bare_us).collect()
    }
}

pub fn measure(inits: &[Init], rounds: usize) -> Result<Startup, String> {
    let mut commands: Vec<(String, Command)> = inits
        .iter()
        .map(|i| (i.name.to_string(), i.command(Mode::Subreaper, &[os(TRUE)])))
        .collect();
    commands.push(("bare /bin/true".to_string(), Command::new(TRUE)));
    for (_, c) in &mut commands {
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    }
    let n = commands.len();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); n];
    for round in 0..WARMUP_ROUNDS + rounds {
        for k in 0..n {
            let at = (round + k) % n;
            let (name, command) = &mut commands[at];
            let start = Instant::now();
            let status = command
                .status()
                .map_err(|e| format!("cannot run {name} -- /bin/true: {e}"))?;
            let took = start.elapsed();
            if !status.success() {
                return Err(format!("{name} -- /bin/true failed: {status}"));
            }
            if round >= WARMUP_ROUNDS {
                samples[at].push(took.as_secs_f64() * 1e6);
            }
        }
    }
    let medians: Vec<f64> = samples
        .iter()
        .map(|s| median(s).expect("at least one round was run"))
        .collect();
    let (bare, wall) = medians.split_last().expect("the bare command is last");
    Ok(Startup {
        bare_us: *bare,
        wall_us: wall.to_vec(),
    })
}
