//! Signal forwarding latency: SIGUSR1 sent to the init until its CMD (the `sigwait`
//! helper) has it. We read CLOCK_MONOTONIC just before kill(); the helper reads it when
//! sigwaitinfo returns and sends that time back.

use crate::child;
use crate::helpers::helper_argv;
use crate::peers::{Init, Mode};
use crate::stats::{median, percentile};
use crate::sys;
use nix::sys::signal::Signal;
use std::ffi::OsString;
use std::io::Read;
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

const WARMUP_SENDS: usize = 20;
/// A forwarded signal that takes this long is a lost one.
const SEND_LIMIT: Duration = Duration::from_secs(5);

pub struct Latency {
    pub median_us: f64,
    pub p99_us: f64,
}

/// One init running the `sigwait` helper, with the helper's stdout.
struct Receiver {
    what: String,
    proc: Child,
    out: ChildStdout,
    samples: Vec<f64>,
}

/// All inits run at once and take turns, one signal in flight at a time, so that drift
/// in the machine's speed falls on all of them alike.
///
/// Everything runs pinned to one CPU: otherwise the figure depends on whether the
/// scheduler happened to put an init and its helper on the bench's CPU or the other one,
/// a placement that lasts for the life of the processes and so biases one init's figures.
pub fn measure(inits: &[Init], sends: usize) -> Result<Vec<Latency>, String> {
    let cmd = helper_argv("sigwait", &[])?;
    let original =
        sys::pin_to_one_cpu().map_err(|e| format!("cannot pin the bench to one CPU: {e}"))?;
    let result = measure_pinned(inits, sends, &cmd);
    sys::restore_affinity(&original)
        .map_err(|e| format!("cannot restore the bench's CPU affinity: {e}"))?;
    result
}

/// Sends are split over sessions with fresh processes, so that no one process's luck
/// (where its memory landed, what ran beside it) decides an init's figure.
const SESSIONS: usize = 5;

fn measure_pinned(inits: &[Init], sends: usize, cmd: &[OsString]) -> Result<Vec<Latency>, String> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(sends); inits.len()];
    let sessions = SESSIONS.min(sends);
    for session in 0..sessions {
        let share = sends / sessions + usize::from(session < sends % sessions);
        for (all, new) in samples.iter_mut().zip(run_session(inits, share, cmd)?) {
            all.extend(new);
        }
    }
    Ok(samples
        .iter()
        .map(|s| Latency {
            median_us: median(s).unwrap_or(f64::NAN),
            p99_us: percentile(s, 99.0).unwrap_or(f64::NAN),
        })
        .collect())
}

/// Start every init with the helper, take `sends` samples of each, stop them.
fn run_session(inits: &[Init], sends: usize, cmd: &[OsString]) -> Result<Vec<Vec<f64>>, String> {
    let mut receivers = Vec::new();
    let mut result = Ok(());
    for init in inits {
        match start(init, cmd, sends) {
            Ok(r) => receivers.push(r),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        result = sample_all(&mut receivers, sends);
    }
    // Stop them whatever happened: SIGTERM is forwarded and ends the helper.
    let mut samples = Vec::new();
    for r in receivers {
        let stopped = child::signal(&r.proc, Signal::SIGTERM, &r.what)
            .and_then(|()| child::finish(r.proc, Duration::from_secs(5), &r.what));
        if let (Ok(()), Err(e)) = (&result, stopped) {
            result = Err(e);
        }
        samples.push(r.samples);
    }
    result.map(|()| samples)
}

fn start(init: &Init, cmd: &[OsString], sends: usize) -> Result<Receiver, String> {
    let what = format!("{} forwarding SIGUSR1", init.name);
    let mut command = init.command(Mode::Subreaper, cmd);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut proc = child::spawn(&mut command, &what)?;
    let out = proc.stdout.take().expect("stdout was piped");
    Ok(Receiver {
        what,
        proc,
        out,
        samples: Vec::with_capacity(sends),
    })
}

fn sample_all(receivers: &mut [Receiver], sends: usize) -> Result<(), String> {
    for r in receivers.iter_mut() {
        let mut ready = [0u8; 1];
        await_bytes(&mut r.out, &mut ready, &r.what, "the helper's ready byte")?;
    }
    let n = receivers.len();
    for round in 0..WARMUP_SENDS + sends {
        for k in 0..n {
            let r = &mut receivers[(round + k) % n];
            let mut t1 = [0u8; 8];
            let t0 = sys::monotonic_ns();
            child::signal(&r.proc, Signal::SIGUSR1, &r.what)?;
            await_bytes(&mut r.out, &mut t1, &r.what, "SIGUSR1 at the helper")?;
            let latency_ns = u64::from_le_bytes(t1).saturating_sub(t0);
            if round >= WARMUP_SENDS {
                r.samples.push(latency_ns as f64 / 1e3);
            }
        }
    }
    Ok(())
}

fn await_bytes(
    out: &mut ChildStdout,
    buf: &mut [u8],
    what: &str,
    awaited: &str,
) -> Result<(), String> {
    match sys::readable_within(out, SEND_LIMIT) {
        Ok(true) => {}
        Ok(false) => return Err(format!("{what}: no {awaited} within {SEND_LIMIT:?}")),
        Err(e) => return Err(format!("{what}: poll: {e}")),
    }
    out.read_exact(buf)
        .map_err(|e| format!("{what}: reading {awaited}: {e}"))
}
