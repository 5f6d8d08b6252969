//! listen-server: the TCP server that runs inside the busybox test images (issue 17, part 3),
//! where there is no Python. Built by rustc alone, statically (`rustc --edition 2021 -O -C
//! target-feature=+crt-static`), at test time (integration/listen_image.rs); no crates.
//!
//! Usage: `listen-server ADDR TAG`. When LISTEN_FDS >= 1 and LISTEN_PID is its pid
//! (sd_listen_fds(3)) it accepts on fd 3; otherwise it binds ADDR itself (std sets
//! SO_REUSEADDR). For each connection it reads one request line and answers
//! `pid=PID image=TAG start=NS` and a newline, then closes it; NS is when it started (ns
//! since the epoch), which tells two servers apart that got the same pid in two containers'
//! pid namespaces. SIGTERM ends it between two
//! connections, never in the middle of one: the handler only writes to a socket pair that
//! the loop polls beside the listening socket.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SIGTERM: i32 = 15;
const POLLIN: i16 = 0x1;
/// The first passed descriptor (SD_LISTEN_FDS_START).
const LISTEN_FDS_START: i32 = 3;

/// struct pollfd.
#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    fn poll(fds: *mut PollFd, nfds: std::ffi::c_ulong, timeout: i32) -> i32;
}

/// The write end of the wake-up pair, for the signal handler.
static WAKE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_term(_: i32) {
    let fd = WAKE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is one byte on this stack.
        unsafe { write(fd, &byte, 1) };
    }
}

/// fd 3 when sd_listen_fds(3) says it is ours.
fn passed() -> Option<TcpListener> {
    let pid = std::env::var("LISTEN_PID").ok()?;
    let fds: i32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if fds < 1 || pid != std::process::id().to_string() {
        return None;
    }
    // SAFETY: LISTEN_FDS/LISTEN_PID say fd 3 is a socket passed to this process, and
    // nothing else in it owns fd 3.
    Some(unsafe { TcpListener::from_raw_fd(LISTEN_FDS_START) })
}

/// Read one request line, answer, close. Errors only lose this connection.
fn answer(conn: TcpStream, reply: &[u8]) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    let mut reader = BufReader::new(&conn);
    if reader.read_line(&mut line).is_ok() {
        let _ = (&conn).write_all(reply);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: listen-server ADDR TAG");
        std::process::exit(2);
    }
    let me = std::process::id();
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let (listener, how) = match passed() {
        Some(l) => (l, "fd 3 (LISTEN_FDS)"),
        None => match TcpListener::bind(&args[1]) {
            Ok(l) => (l, "bound itself"),
            Err(e) => {
                eprintln!("listen-server: cannot bind {}: {e}", args[1]);
                std::process::exit(1);
            }
        },
    };
    let (wake_rd, wake_wr) = match UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("listen-server: socketpair: {e}");
            std::process::exit(1);
        }
    };
    WAKE.store(wake_wr.as_raw_fd(), Ordering::Relaxed);
    // SAFETY: on_term only does an async-signal-safe write(2).
    unsafe { signal(SIGTERM, on_term) };
    eprintln!("listen-server {} pid {me}: {how} on {}", args[2], args[1]);
    let reply = format!("pid={me} image={} start={start}\n", args[2]);
    loop {
        let mut fds = [
            PollFd {
                fd: listener.as_raw_fd(),
                events: POLLIN,
                revents: 0,
            },
            PollFd {
                fd: wake_rd.as_raw_fd(),
                events: POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds is a valid array of two pollfd structs for the length given.
        let n = unsafe { poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("listen-server: poll: {e}");
            std::process::exit(1);
        }
        if fds[1].revents != 0 {
            break;
        }
        if fds[0].revents != 0 {
            match listener.accept() {
                Ok((conn, _)) => answer(conn, reply.as_bytes()),
                Err(e) => eprintln!("listen-server: accept: {e}"),
            }
        }
    }
    eprintln!("listen-server {} pid {me}: SIGTERM, exiting", args[2]);
}
