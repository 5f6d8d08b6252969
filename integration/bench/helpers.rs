//! Helper processes, run as the init's CMD by re-executing this bench binary:
//! `peers __helper orphans N fork|light` (see orphans.rs), `peers __helper sigwait`, and
//! the rich-mode CMD and services (`rich-cmd`, `stamp FILE`, `term-stamp FILE`, rich.rs).

use crate::{orphans, sys};
use nix::sys::signal::{SigSet, Signal};
use std::ffi::OsString;
use std::io::Write;

/// The first argument that selects helper mode.
pub const HELPER: &str = "__helper";

/// The argv (after the executable) that runs `mode` with `args`.
pub fn helper_argv(mode: &str, args: &[String]) -> Result<Vec<OsString>, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot resolve this bench's own executable: {e}"))?;
    // The real path, not /proc/self/exe: that would name the init once it execs us.
    let mut argv = vec![exe.into_os_string(), HELPER.into(), mode.into()];
    argv.extend(args.iter().map(OsString::from));
    Ok(argv)
}

/// Run a helper mode; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let result = match args.first().map(String::as_str) {
        Some("orphans") => match (
            args.get(1).and_then(|n| n.parse().ok()),
            args.get(2).and_then(|k| orphans::Kind::parse(k)),
        ) {
            (Some(count), Some(kind)) => orphans::run(count, kind),
            _ => Err("usage: __helper orphans COUNT fork|light".to_string()),
        },
        Some("sigwait") => sigwait(),
        Some(mode) => crate::rich::helper(mode, &args[1..])
            .unwrap_or_else(|| Err(format!("unknown helper mode {args:?}"))),
        None => Err("no helper mode".to_string()),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench helper: {e}");
            1
        }
    }
}

/// Block SIGUSR1, say "ready" with one byte, then for each SIGUSR1 write the
/// CLOCK_MONOTONIC time it was received (8 bytes, little endian) to stdout.
fn sigwait() -> Result<(), String> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGUSR1);
    set.thread_block()
        .map_err(|e| format!("blocking SIGUSR1: {e}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(b"R")
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing ready: {e}"))?;
    loop {
        match sys::sigwaitinfo(&set) {
            Ok(_) => {
                let t1 = sys::monotonic_ns();
                out.write_all(&t1.to_le_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("writing a receive time: {e}"))?;
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("sigwaitinfo: {e}")),
        }
    }
}
