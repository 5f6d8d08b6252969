//! Soak: a crash-looping service and a service that writes 10 MB/s of numbered, checksummed
//! lines (`log = "prefix"`: rich-init frames them onto its stdout) for `SOAK_SECONDS`
//! (default 20; `make soak` runs 600). The test reads rich-init's stdout as a stream and
//! checks every line as it comes (none split, changed, lost or repeated) without keeping
//! them. The init's RSS and descriptors at the end are those at the start.

use super::common::{figures, service_row};
use crate::harness::PidNs;
use crate::rich::{init_pid, toml_str, Rig};
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const RATE: u64 = 10 * 1024 * 1024;
const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

/// Line `seq`: `SEQ PAYLOAD CRC32` where PAYLOAD is 100..2000 bytes of ALPHA (repeated)
/// from offset seq % 64, and CRC32 (IEEE, as zlib) covers `SEQ PAYLOAD`.
const LOGGER: &str = r#"import os, sys, time, zlib
d = os.environ["D"]
secs = float(os.environ["SOAK_SECONDS"])
rate = int(os.environ["RATE"])
alpha = os.environ["ALPHA"].encode() * 40
out = sys.stdout.buffer
seq = sent = 0
tick = 0.01
start = time.monotonic()
while True:
    now = time.monotonic() - start
    if now >= secs:
        break
    due = int(rate * min(now + tick, secs))
    batch = []
    while sent < due:
        off = seq % 64
        body = b"%d %s" % (seq, alpha[off:off + 100 + (seq * 7919) % 1900])
        line = b"%s %08x\n" % (body, zlib.crc32(body))
        batch.append(line)
        sent += len(line)
        seq += 1
    out.write(b"".join(batch))
    out.flush()
    time.sleep(max(0.0, start + (int(now / tick) + 1) * tick - time.monotonic()))
out.write(b"END %d\n" % seq)
out.flush()
open(d + "/logger.done.tmp", "w").close()
os.rename(d + "/logger.done.tmp", d + "/logger.done")
while True:
    time.sleep(3600)
"#;

fn crc32(data: &[u8]) -> u32 {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, b| {
        table[((c ^ u32::from(*b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// What the stream checker saw.
#[derive(Debug, Default)]
struct Seen {
    lines: u64,
    bytes: u64,
    end: Option<u64>,
    bad: u64,
    other: u64,
    first_bad: Vec<String>,
}

/// Why `body` (one `[logger] ` line without its prefix and newline) is not line `seq`.
fn check(body: &[u8], seq: u64) -> Result<(), String> {
    let cut = body
        .iter()
        .rposition(|b| *b == b' ')
        .ok_or("no checksum field")?;
    let (text, crc) = (&body[..cut], &body[cut + 1..]);
    let crc = std::str::from_utf8(crc)
        .ok()
        .and_then(|c| u32::from_str_radix(c, 16).ok())
        .ok_or("the checksum is not hex")?;
    if crc32(text) != crc {
        return Err("checksum mismatch".into());
    }
    let cut = text.iter().position(|b| *b == b' ').ok_or("no payload")?;
    let (num, payload) = (&text[..cut], &text[cut + 1..]);
    let num: u64 = std::str::from_utf8(num)
        .ok()
        .and_then(|n| n.parse().ok())
        .ok_or("the sequence number is not a number")?;
    if num != seq {
        return Err(format!("sequence {num} where {seq} was due"));
    }
    let off = (seq % 64) as usize;
    let len = 100 + (seq * 7919 % 1900) as usize;
    let want = (0..len).map(|i| ALPHA[(off + i) % ALPHA.len()]);
    if payload.len() != len || !payload.iter().copied().eq(want) {
        return Err("payload differs".into());
    }
    Ok(())
}

/// Read rich-init's stdout to its end, checking each `[logger]` line as it comes.
fn read_stream(read: OwnedFd, lines: Arc<AtomicU64>) -> Seen {
    let mut seen = Seen::default();
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::from(read));
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return seen,
            Ok(n) => seen.bytes += n as u64,
        }
        let mut problem = None;
        match line.strip_prefix(b"[logger] ") {
            Some(rest) => match rest.strip_suffix(b"\n") {
                None => problem = Some("no newline at the end of the stream".to_string()),
                Some(body) => {
                    if let Some(n) = body.strip_prefix(b"END ") {
                        seen.end = std::str::from_utf8(n).ok().and_then(|n| n.parse().ok());
                    } else if let Err(e) = check(body, seen.lines) {
                        problem = Some(e);
                    } else {
                        seen.lines += 1;
                        lines.store(seen.lines, Ordering::Relaxed);
                    }
                }
            },
            None => seen.other += 1,
        }
        if let Some(e) = problem {
            seen.bad += 1;
            if seen.first_bad.len() < 5 {
                let shown = String::from_utf8_lossy(&line[..line.len().min(120)]).into_owned();
                seen.first_bad
                    .push(format!("after line {}: {e}: {shown:?}", seen.lines));
            }
            // Resynchronise on what the next line should be.
            if let Some(num) = line
                .strip_prefix(b"[logger] ")
                .and_then(|r| r.split(|b| *b == b' ').next())
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<u64>().ok())
            {
                seen.lines = num + 1;
            }
        }
    }
}

fn soak_seconds() -> u64 {
    match std::env::var("SOAK_SECONDS") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("SOAK_SECONDS={v:?} is not a number of seconds")),
        Err(_) => 20,
    }
}

#[test]
fn soak_crash_loop_and_10mb_per_second_of_logs() {
    let secs = soak_seconds();
    let python = crate::harness::require("python3");
    let rig = Rig::new("stress-soak");
    let script = rig.path("logger.py");
    std::fs::write(&script, LOGGER).expect("write the logger");
    rig.service_file(
        "logger.toml",
        &format!(
            "command = [{}, {}]\nenv = {{ D = {}, SOAK_SECONDS = \"{secs}\", RATE = \"{RATE}\", ALPHA = {} }}\n",
            toml_str(&python.display().to_string()),
            toml_str(&script.display().to_string()),
            toml_str(rig.d()),
            toml_str(std::str::from_utf8(ALPHA).expect("ascii")),
        ),
    );
    rig.service(
        "crash",
        "exit 1",
        "restart-delay = \"10ms\"\nrestart-delay-max = \"100ms\"\n",
    );
    let (read, write) = nix::unistd::pipe().expect("a pipe for rich-init's stdout");
    let devnull = OwnedFd::from(std::fs::File::open("/dev/null").expect("open /dev/null"));
    let errfile = std::fs::File::create(rig.path("init.err")).expect("create init.err");
    let mut run = rig
        .run(
            PidNs::Init,
            &["--grace", "5s"],
            "while [ ! -e \"$D/end-sampled\" ]; do sleep 0.2; done; exit 0",
        )
        .timeout(Duration::from_secs(secs + 120))
        .stdio(&devnull);
    run.command_mut().stdout(write).stderr(errfile);
    let lines = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&lines);
    let mut running = run.spawn();
    let reader = std::thread::spawn(move || read_stream(read, counter));
    let init = init_pid(&running, PidNs::Init);

    // Warm-up: the first lines have gone through and the crash loop has turned a few times.
    let started = Instant::now();
    let warm = Duration::from_secs((secs / 10).clamp(2, 30));
    while started.elapsed() < warm || lines.load(Ordering::Relaxed) == 0 {
        running.assert_running("the logger's first lines");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no line from the logger in 60 s; init's stderr:\n{}",
            rig.read("init.err")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let start = figures(init);
    let mut peak_rss = start.rss_kb;
    let deadline = Instant::now() + Duration::from_secs(secs + 60);
    while !rig.exists("logger.done") {
        running.assert_running("the logger to finish");
        assert!(
            Instant::now() < deadline,
            "the logger did not finish within {secs} s + 60 s; init's stderr:\n{}",
            rig.read("init.err")
        );
        peak_rss = peak_rss.max(figures(init).rss_kb);
        std::thread::sleep(Duration::from_millis(500));
    }
    let end = figures(init);
    let crash = service_row(&rig, "crash");
    std::fs::write(rig.path("end-sampled"), "").expect("touch end-sampled");
    let out = running.wait();
    let seen = reader.join().expect("the stream checker panicked");
    let took = started.elapsed();
    let stderr = rig.read("init.err");
    println!(
        "soak {secs} s: {} lines, {} MB checked ({:.1} MB/s over the run), {} bad, {} other lines; \
         crash loop: {} restarts; init RSS start {} kB, peak {} kB, end {} kB; fds {} -> {}; CPU {} ticks",
        seen.lines,
        seen.bytes / 1_000_000,
        seen.bytes as f64 / 1_048_576.0 / took.as_secs_f64(),
        seen.bad,
        seen.other,
        crash["restarts"],
        start.rss_kb,
        peak_rss,
        end.rss_kb,
        start.fds,
        end.fds,
        end.cpu_ticks - start.cpu_ticks,
    );
    assert_eq!(out.code(), Some(0), "{out}\ninit's stderr:\n{stderr}");
    assert!(
        seen.bad == 0 && seen.other == 0,
        "every line whole, in order, unchanged: {seen:?}"
    );
    assert_eq!(
        seen.end,
        Some(seen.lines),
        "the logger's END count is the number of lines that arrived: {seen:?}"
    );
    assert!(
        crash["restarts"].as_u64() > Some(5),
        "the crash loop turned: {crash}"
    );
    // A leak of even one byte per line would show: > 1 MB over the default 20 s.
    assert!(
        end.rss_kb <= start.rss_kb + 256,
        "the init's RSS does not grow: {} kB at the start, {} kB at the end",
        start.rss_kb,
        end.rss_kb
    );
    assert!(
        end.fds <= start.fds + 2,
        "no descriptor leaks (crash's two pipes may be open at one end): {} -> {}",
        start.fds,
        end.fds
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64) -> Vec<u8> {
        let off = (seq % 64) as usize;
        let len = 100 + (seq * 7919 % 1900) as usize;
        let mut body = format!("{seq} ").into_bytes();
        body.extend((0..len).map(|i| ALPHA[(off + i) % ALPHA.len()]));
        let crc = crc32(&body);
        body.extend(format!(" {crc:08x}").bytes());
        body
    }

    #[test]
    fn checker_knows_good_from_bad() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(check(&line(7), 7), Ok(()));
        assert!(check(&line(7), 8).is_err(), "a lost line");
        let mut cut = line(9);
        cut.truncate(50);
        assert!(check(&cut, 9).is_err(), "a split line");
        let mut flipped = line(11);
        flipped[20] ^= 1;
        assert!(check(&flipped, 11).is_err(), "a changed byte");
    }
}
