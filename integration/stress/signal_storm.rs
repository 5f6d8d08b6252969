//! Signal storm: 100,000 signals of mixed kinds sent to rich-init (pid 1 of a pid namespace)
//! as fast as the test can, while CMD makes orphans that the init must reap and a service
//! crash-loops. Every orphan is reaped (one `reaped orphan` line each, exit status 7), no
//! zombie is left, the service's exits are all counted, and CMD's exit code comes out.

use super::common::{descendants, figures, release_cmd, service_row, wait_running, zombies};
use crate::harness::PidNs;
use crate::rich::{init_pid, Rig};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Instant;

const SIGNALS: usize = 100_000;

/// What CMD ignores (forwarded to it and its group): HUP QUIT USR1 USR2 ALRM PWR and a
/// real-time signal (SIGRTMIN+2 = 36); URG and WINCH are ignored by default.
const CMD: &str = r#"trap '' 1 3 10 12 14 30 36
: > "$D/cmd-up"
n=0
while [ ! -e "$D/stop-orphans" ]; do ( (exit 7) & ); n=$((n+1)); done
echo $n > "$D/orphans.tmp"; mv "$D/orphans.tmp" "$D/orphans"
read x < "$D/go"
exit 37"#;

/// Crashes (exit 3) until $D/calm exists, then stays up; each start is a line of $D/starts.
const CRASHY: &str = r#"echo x >> "$D/starts"
[ -e "$D/calm" ] && exec sleep 100000
exit 3"#;

/// The signals of the storm, in turn.
fn kinds() -> Vec<(Signal, &'static str)> {
    use Signal::*;
    vec![
        (SIGHUP, "SIGHUP"),
        (SIGUSR1, "SIGUSR1"),
        (SIGUSR2, "SIGUSR2"),
        (SIGWINCH, "SIGWINCH"),
        (SIGCHLD, "SIGCHLD"),
        (SIGALRM, "SIGALRM"),
        (SIGURG, "SIGURG"),
        (SIGCONT, "SIGCONT"),
        (SIGQUIT, "SIGQUIT"),
        (SIGPWR, "SIGPWR"),
    ]
}

const RT: i32 = 36;

#[test]
fn signal_storm_misses_no_exit() {
    let rig = Rig::new("stress-storm");
    rig.service(
        "crashy",
        CRASHY,
        "restart-delay = \"10ms\"\nrestart-delay-max = \"20ms\"\n",
    );
    let go = rig.path("go");
    nix::unistd::mkfifo(&go, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .unwrap_or_else(|e| panic!("cannot create fifo {}: {e}", go.display()));
    let mut running = rig
        .run(
            PidNs::Init,
            &["-vv", "--warn-on-reap", "--grace", "5s"],
            CMD,
        )
        .spawn();
    let init = init_pid(&running, PidNs::Init);
    rig.wait_file(&mut running, "cmd-up");
    rig.wait_file(&mut running, "starts");
    let before = figures(init);

    let kinds = kinds();
    let target = Pid::from_raw(init);
    let (mut sent, mut refused) = (0usize, 0usize);
    let started = Instant::now();
    for i in 0..SIGNALS {
        // Spread over about a second (ten bursts), so that many exits fall inside it.
        if i % (SIGNALS / 10) == 0 && i > 0 {
            let slot =
                started + std::time::Duration::from_millis(100 * (i / (SIGNALS / 10)) as u64);
            std::thread::sleep(slot.saturating_duration_since(Instant::now()));
        }
        // One in eleven is the real-time signal, which queues rather than merges.
        let ok = if i % 11 == 10 {
            // SAFETY: kill takes plain integers.
            unsafe { libc::kill(init, RT) == 0 }
        } else {
            kill(target, kinds[i % kinds.len()].0).is_ok()
        };
        if ok {
            sent += 1;
        } else {
            refused += 1;
        }
    }
    let took = started.elapsed();
    let during = figures(init);
    std::fs::write(rig.path("stop-orphans"), "").expect("touch stop-orphans");
    rig.wait_file(&mut running, "orphans");
    std::fs::write(rig.path("calm"), "").expect("touch calm");
    let row = wait_running(&mut running, "crashy to stay up", |_| {
        let row = service_row(&rig, "crashy");
        let starts = rig.read("starts").lines().count() as u64;
        (row["state"] == "running" && row["restarts"].as_u64() == Some(starts - 1)).then_some(row)
    });
    wait_running(&mut running, "no zombie in the pid namespace", |_| {
        zombies(init).is_empty().then_some(())
    });
    let left = descendants(init).len();
    let after = figures(init);
    release_cmd(&go);
    let out = running.wait();
    assert_eq!(out.code(), Some(37), "CMD's exit code comes out: {out}");

    let orphans: usize = rig
        .read("orphans")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("CMD wrote its orphan count: {:?}", rig.read("orphans")));
    let reaped = out
        .stderr
        .lines()
        .filter(|l| {
            l.starts_with("[rich-init WARN] reaped orphan pid ") && l.ends_with("(exit status 7)")
        })
        .count();
    let received = |name: &str| {
        let line = format!("[rich-init DEBUG] received {name}");
        out.stderr.lines().filter(|l| *l == line).count()
    };
    let mut counts: Vec<String> = kinds
        .iter()
        .map(|(_, name)| format!("{name} {}", received(name)))
        .collect();
    counts.push(format!(
        "SIGRTMIN+2 {}",
        received("SIGRTMIN+2") + received("SIG36")
    ));
    println!(
        "signal storm: {sent} signals sent ({refused} refused) in {took:?}; the init took them as: {}; \
         {orphans} orphans made, {reaped} reaped; crashy started {} times, restarts {}; \
         init CPU {} ticks during the storm, RSS {} -> {} -> {} kB, fds {} -> {}; {left} processes left before CMD's exit",
        counts.join(", "),
        rig.read("starts").lines().count(),
        row["restarts"],
        during.cpu_ticks - before.cpu_ticks,
        before.rss_kb,
        during.rss_kb,
        after.rss_kb,
        before.fds,
        after.fds,
    );
    assert!(orphans > 0, "CMD made orphans during the storm");
    assert_eq!(
        reaped, orphans,
        "every orphan's exit was reaped (one line each): {orphans} made, {reaped} reaped"
    );
    // Two more at most: crashy's output pipes, if it was in its backoff at the start.
    assert!(
        after.fds <= before.fds + 2,
        "the storm left no descriptors behind in the init: {} -> {}",
        before.fds,
        after.fds
    );
}
