//! Control-socket abuse: 1,000 connections held open at once by clients that never send,
//! send half a request, send a megabyte with no newline, send garbage, or ask for the
//! status. Meanwhile `rich-init ctl status` is run again and again: it must answer every
//! time (its latency is printed, never asserted), and the init's memory and descriptors
//! stay bounded, coming back once the flood is over.

use super::common::{ctl, figures, median_max, timed_status, wait_running};
use crate::harness::PidNs;
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

#[test]
fn control_socket_flood() {
    let rig = Rig::new("stress-ctl");
    rig.service("svc", &polite("svc", "TERM"), &ready_on_pid(&rig, "svc"));
    let mut running = rig
        .run(PidNs::Init, &["--grace", "5s"], "while :; do sleep 1; done")
        .spawn();
    let init = init_pid(&running, PidNs::Init);
    rig.wait_file(&mut running, "svc.pid");
    rig.wait_file(&mut running, "ctl.sock");
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
    let out = ctl(&rig, &["shutdown", "5"]);
    assert_eq!(out.code(), Some(0), "{out}");
    let out = running.wait();
    assert_eq!(out.code(), Some(5), "{out}");
}
