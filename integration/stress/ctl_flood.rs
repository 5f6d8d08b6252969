//! Control-socket abuse: 1,000 connections held open at once by clients that never send,
//! send half a request, send a megabyte with no newline, send garbage, or ask for the
//! status. Meanwhile `rich-init ctl status` is run again and again: it must answer every
//! time (its latency is printed, never asserted), and the init's memory and descriptors
//! stay bounded, coming back once the flood is over. Then the same idle clients with the
//! init out of descriptors: it neither spins nor goes deaf.

use super::common::{ctl, figures, median_max, timed_status, wait_running};
use crate::harness::{PidNs, Running};
use crate::rich::{init_pid, polite, ready_on_pid, Rig};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const THREADS: usize = 10;
const PER_THREAD: usize = 100;
const STATUS_RUNS: usize = 30;
const PROBES: usize = 200;

/// One status request on a fresh connection; false if the init closed it unanswered.
fn probe(sock: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return false;
    };
    let _ = s.write_all(b"{\"cmd\":\"status\"}\n");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(
        answer.is_empty() || answer.starts_with(b"{\"ok\":true"),
        "a status answer: {}",
        String::from_utf8_lossy(&answer)
    );
    !answer.is_empty()
}

#[derive(Default)]
struct Counts {
    connects: AtomicUsize,
    refused: AtomicUsize,
    closed_by_init: AtomicUsize,
    replies: AtomicUsize,
    /// Every slot has been connected at least once.
    ready_threads: AtomicUsize,
}

#[derive(Clone, Copy)]
enum Kind {
    Idle,
    HalfRequest,
    Oversized,
    Garbage,
    Status,
}

fn kind(i: usize) -> Kind {
    match i % 10 {
        0..=5 => Kind::Idle,
        6 => Kind::HalfRequest,
        7 => Kind::Oversized,
        8 => Kind::Garbage,
        _ => Kind::Status,
    }
}

/// A cheap deterministic byte stream (xorshift) for garbage.
fn garbage(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 24) as u8
        })
        .collect()
}

struct Slot {
    kind: Kind,
    stream: Option<UnixStream>,
    /// Bytes still to send (oversized, garbage, status, half request).
    out: Vec<u8>,
    ever: bool,
}

/// One flood thread: keeps PER_THREAD connections open, reconnecting each one the init
/// closes, until `stop`.
fn flood(sock: PathBuf, base: usize, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ base as u64;
    let mut slots: Vec<Slot> = (0..PER_THREAD)
        .map(|i| Slot {
            kind: kind(base + i),
            stream: None,
            out: Vec::new(),
            ever: false,
        })
        .collect();
    let mut all_connected = false;
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        for slot in &mut slots {
            if slot.stream.is_none() {
                connect(&sock, slot, &mut seed, &counts);
            }
            let Some(stream) = slot.stream.as_mut() else {
                continue;
            };
            let mut gone = false;
            if !slot.out.is_empty() {
                match stream.write(&slot.out) {
                    Ok(n) => {
                        slot.out.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => gone = true,
                }
            }
            match stream.read(&mut buf) {
                Ok(0) => gone = true,
                Ok(n) => {
                    if buf[..n].contains(&b'\n') {
                        counts.replies.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => gone = true,
            }
            if gone {
                counts.closed_by_init.fetch_add(1, Ordering::Relaxed);
                slot.stream = None;
            }
        }
        if !all_connected && slots.iter().all(|s| s.ever) {
            all_connected = true;
            counts.ready_threads.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn connect(sock: &Path, slot: &mut Slot, seed: &mut u64, counts: &Counts) {
    match UnixStream::connect(sock) {
        Ok(s) => {
            counts.connects.fetch_add(1, Ordering::Relaxed);
            let _ = s.set_nonblocking(true);
            slot.out = match slot.kind {
                Kind::Idle => Vec::new(),
                Kind::HalfRequest => b"{\"cmd\":".to_vec(),
                Kind::Oversized => vec![b'x'; 1 << 20],
                Kind::Garbage => {
                    let mut g = garbage(seed, 300);
                    g.push(b'\n');
                    g
                }
                Kind::Status => b"{\"cmd\":\"status\"}\n".to_vec(),
            };
            slot.stream = Some(s);
            slot.ever = true;
        }
        Err(_) => {
            counts.refused.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// rich-init as pid 1 of a pid namespace with one service, svc, and its control socket up.
fn start_with_svc(label: &str) -> (Rig, Running, i32) {
    let rig = Rig::new(label);
    rig.service("svc", &polite("svc", "TERM"), &ready_on_pid(&rig, "svc"));
    let mut running = rig
        .run(PidNs::Init, &["--grace", "5s"], "while :; do sleep 1; done")
        .spawn();
    let init = init_pid(&running, PidNs::Init);
    rig.wait_file(&mut running, "svc.pid");
    rig.wait_file(&mut running, "ctl.sock");
    (rig, running, init)
}

/// `ctl shutdown 5`: the init exits 5.
fn shut_down(rig: &Rig, running: Running) {
    let out = ctl(rig, &["shutdown", "5"]);
    assert_eq!(out.code(), Some(0), "{out}");
    let out = running.wait();
    assert_eq!(out.code(), Some(5), "{out}");
}

#[test]
fn control_socket_flood() {
    let (rig, mut running, init) = start_with_svc("stress-ctl");
    let (out, quiet) = timed_status(&rig);
    assert_eq!(out.code(), Some(0), "{out}");
    let before = figures(init);

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let sock = rig.path("ctl.sock");
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (sock, stop, counts) = (sock.clone(), Arc::clone(&stop), Arc::clone(&counts));
            std::thread::spawn(move || flood(sock, t * PER_THREAD, stop, counts))
        })
        .collect();
    wait_running(&mut running, "every flood client to have connected", |_| {
        (counts.ready_threads.load(Ordering::Relaxed) == THREADS).then_some(())
    });
    let mut times = Vec::new();
    let mut peak = figures(init);
    for _ in 0..STATUS_RUNS {
        let (out, took) = timed_status(&rig);
        assert_eq!(
            out.code(),
            Some(0),
            "ctl status answers during the flood: {out}"
        );
        assert!(out.stdout.contains("\"name\":\"svc\""), "{out}");
        times.push(took);
        let now = figures(init);
        peak.rss_kb = peak.rss_kb.max(now.rss_kb);
        peak.fds = peak.fds.max(now.fds);
    }
    // The same from inside the test: connect, send, read the answer; a connection the
    // init dropped before reading it is tried again, as `ctl` does.
    let mut probe_times = Vec::new();
    let mut dropped = 0;
    for _ in 0..PROBES {
        let start = std::time::Instant::now();
        let mut tries = 0;
        while !probe(&sock) {
            tries += 1;
            dropped += 1;
            assert!(tries < 8, "the init dropped 8 status requests in a row");
        }
        probe_times.push(start.elapsed());
    }
    let flood_ticks = figures(init).cpu_ticks - before.cpu_ticks;
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("a flood thread panicked");
    }
    let after = wait_running(
        &mut running,
        "the init to drop the flood's connections",
        |_| {
            let f = figures(init);
            (f.fds <= before.fds).then_some(f)
        },
    );
    let (median, max) = median_max(times.clone());
    let (probe_median, probe_max) = median_max(probe_times);
    println!(
        "ctl flood: {} connects ({} refused, {} closed by the init, {} replies); ctl status x{STATUS_RUNS} \
         during the flood: median {median:?}, max {max:?} (quiet: {quiet:?}); in-process status x{PROBES}: \
         median {probe_median:?}, max {probe_max:?}, {dropped} dropped and sent again; init RSS {} -> peak {} -> {} kB, \
         fds {} -> peak {} -> {}, CPU {flood_ticks} ticks",
        counts.connects.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.closed_by_init.load(Ordering::Relaxed),
        counts.replies.load(Ordering::Relaxed),
        before.rss_kb,
        peak.rss_kb,
        after.rss_kb,
        before.fds,
        peak.fds,
        after.fds,
    );
    assert!(
        peak.rss_kb <= before.rss_kb + 2048,
        "the init's memory stays bounded under the flood: {} kB -> {} kB",
        before.rss_kb,
        peak.rss_kb
    );
    shut_down(&rig, running);
}

/// Idle clients held while the init is out of descriptors.
const IDLE: usize = 50;

/// Sets the soft RLIMIT_NOFILE of process `pid` (the hard one stays); returns the old one.
fn set_open_files(pid: i32, soft: u64) -> u64 {
    // SAFETY: rlimit is plain old data; all zeros is valid.
    let mut old: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: a null new-limit pointer only reads the current one into `old`.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) };
    assert_eq!(
        rc,
        0,
        "prlimit NOFILE of {pid}: {}",
        std::io::Error::last_os_error()
    );
    let new = libc::rlimit {
        rlim_cur: soft,
        rlim_max: old.rlim_max,
    };
    // SAFETY: `new` is a valid rlimit; a null old-limit pointer is allowed.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) };
    assert_eq!(
        rc,
        0,
        "prlimit NOFILE {soft} on {pid}: {}",
        std::io::Error::last_os_error()
    );
    old.rlim_cur
}

/// The control socket's listener in `pid`: the lowest of the descriptors that share a
/// socket (the init keeps a duplicate of its listener in reserve).
fn listener_fd(pid: i32) -> u64 {
    let mut sockets: Vec<(u64, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read the init's /proc/PID/fd")
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name().to_str()?.parse().ok()?;
            let link = std::fs::read_link(e.path()).ok()?.display().to_string();
            link.starts_with("socket:").then_some((n, link))
        })
        .collect();
    sockets.sort();
    sockets
        .iter()
        .find(|(_, link)| sockets.iter().filter(|(_, l)| l == link).count() > 1)
        .map(|(n, _)| *n)
        .unwrap_or_else(|| panic!("no socket held twice by {pid}: {sockets:?}"))
}

/// `ctl status` answers, with svc in it.
fn status_answers(rig: &Rig, when: &str) {
    let out = ctl(rig, &["status", "--json"]);
    assert_eq!(out.code(), Some(0), "ctl status {when}: {out}");
    assert!(out.stdout.contains("\"name\":\"svc\""), "{when}: {out}");
}

/// The init's CPU ticks over 2 s. Counts, not times: a loop spinning on a readable
/// listener it cannot accept from burns a tick every 10 ms.
fn ticks_in_two_seconds(init: i32) -> u64 {
    let start = figures(init);
    std::thread::sleep(Duration::from_secs(2));
    figures(init).cpu_ticks - start.cpu_ticks
}

/// Out of descriptors, while IDLE clients connect and never send (fewer than the listen
/// backlog, so that their connects do not block). accept fails with EMFILE and the backlog
/// stays readable; the init must not spin on it.
/// - The open files limit two above what the init holds: idle connections give up their
///   descriptors, so `ctl status` is still answered.
/// - The limit just above the listener: no connection is left to close and the spare
///   descriptor is above the limit too, so nothing can be freed; the init rests.
/// - The limit back: `ctl status` answers again, and CMD's code comes out at shutdown.
#[test]
fn out_of_descriptors_the_init_sleeps_and_recovers() {
    let (rig, running, init) = start_with_svc("stress-ctl-emfile");
    status_answers(&rig, "before the limit");
    let before = figures(init);
    let sock = rig.path("ctl.sock");
    let connect_idle = || -> Vec<UnixStream> {
        (0..IDLE)
            .map(|i| {
                UnixStream::connect(&sock)
                    .unwrap_or_else(|e| panic!("idle client {i} cannot connect: {e}"))
            })
            .collect()
    };

    let limit = before.fds + 2;
    let old = set_open_files(init, limit as u64);
    let idle = connect_idle();
    let tight_ticks = ticks_in_two_seconds(init);
    assert!(
        tight_ticks <= 20,
        "limit {limit}: the init spins on a listener it cannot accept from: {tight_ticks} CPU ticks in 2 s"
    );
    for _ in 0..5 {
        status_answers(
            &rig,
            &format!("with the open files limit at {limit}, {IDLE} idle clients"),
        );
    }
    let tight = figures(init);
    assert!(
        tight.fds <= limit,
        "the init holds {} descriptors over its limit of {limit}",
        tight.fds
    );
    drop(idle);

    let lowest = listener_fd(init) + 1;
    set_open_files(init, lowest);
    let idle = connect_idle();
    let none_ticks = ticks_in_two_seconds(init);
    assert!(
        none_ticks <= 20,
        "limit {lowest}: the init spins on a listener it cannot accept from: {none_ticks} CPU ticks in 2 s"
    );
    drop(idle);

    set_open_files(init, old);
    for _ in 0..5 {
        status_answers(&rig, "with the open files limit back");
    }
    let after = figures(init);
    let warnings = running
        .stderr_so_far()
        .lines()
        .filter(|l| l.contains("control socket: cannot accept a connection ("))
        .count();
    println!(
        "out of descriptors, {IDLE} idle clients: limit {limit} (fds {} -> {}): init CPU {tight_ticks} \
         ticks in 2 s, 5 of 5 ctl status answered; limit {lowest}: CPU {none_ticks} ticks in 2 s; limit \
         back: 5 of 5 answered, fds {}; {warnings} warnings",
        before.fds, tight.fds, after.fds
    );
    assert!(
        !running.stderr_so_far().contains("poll failed"),
        "the limit stays above what the init polls: {}",
        running.stderr_so_far()
    );
    assert!(
        (2..=8).contains(&warnings),
        "one warning per episode out of descriptors (two, plus at most one per ctl status in \
         the first), not one per attempt: {warnings}\n{}",
        running.stderr_so_far()
    );
    shut_down(&rig, running);
}
