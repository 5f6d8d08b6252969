//! The client of the zero-refused upgrade test and the containerd rows of the sockets bench
//! (issue 17, part 3). A thread, in a container's network namespace when given one
//! (setns(2) on that thread alone), connects to the server at most once every [`PERIOD`]
//! (about 2,000 a second), one connection at a time: connect, send a line, read the reply
//! `pid=PID image=TAG start=NS` (NS tells apart two servers with one pid in two pid
//! namespaces). It counts answers, refusals (ECONNREFUSED) and other failures (a
//! reset, an EOF or a reply that is not one), times each connect+reply, and records which
//! server answered, in order, until it is stopped.

// Shared by the integration tests and the bench: not every piece is used by every build.
#![allow(dead_code)]

use nix::sched::{setns, CloneFlags};
use std::fmt;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One connection at most every this often.
pub const PERIOD: Duration = Duration::from_micros(500);
/// The longest a connect or a reply may take (it then counts as failed).
const IO_LIMIT: Duration = Duration::from_secs(5);
/// How many failure messages are kept.
const KEEP_ERRORS: usize = 5;

/// Answers in a row from one server process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub pid: String,
    pub image: String,
    /// Its start time as it said (ns since the epoch).
    pub start: String,
    pub answers: usize,
    /// When its first answer of the row came.
    pub first_at: Instant,
}

/// What the client saw so far.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub ok: usize,
    pub refused: usize,
    pub failed: usize,
    /// Connect+reply of each answered connection, ms, in order.
    pub latency_ms: Vec<f64>,
    /// The servers that answered, in order.
    pub servers: Vec<Server>,
    /// The first few failures and refusals, for messages.
    pub errors: Vec<String>,
}

impl Counts {
    /// The server that answered last.
    pub fn last(&self) -> Option<&Server> {
        self.servers.last()
    }

    fn note(&mut self, what: String) {
        if self.errors.len() < KEEP_ERRORS {
            self.errors.push(what);
        }
    }

    fn answered(&mut self, reply: &str, ms: f64) -> bool {
        let field = |name: &str| {
            reply
                .split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_string)
        };
        let (Some(pid), Some(image), Some(start)) =
            (field("pid="), field("image="), field("start="))
        else {
            return false;
        };
        self.ok += 1;
        self.latency_ms.push(ms);
        match self.servers.last_mut() {
            Some(s) if s.pid == pid && s.image == image && s.start == start => s.answers += 1,
            _ => self.servers.push(Server {
                pid,
                image,
                start,
                answers: 1,
                first_at: Instant::now(),
            }),
        }
        true
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("{} (pid {}) x {}", s.image, s.pid, s.answers))
            .collect();
        let mut sorted = self.latency_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted.get(i).map_or("—".to_string(), |v| format!("{v:.2}"))
        };
        write!(
            f,
            "ok={} refused={} failed={}; servers: [{}]; connect+reply p50 {} p99 {} max {} ms; \
             first failures: {:?}",
            self.ok,
            self.refused,
            self.failed,
            servers.join(", "),
            at(0.5),
            at(0.99),
            at(1.0),
            self.errors
        )
    }
}

struct Shared {
    stop: AtomicBool,
    counts: Mutex<Counts>,
}

/// The client thread; Drop stops it.
pub struct Client {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

/// One connection: connect, send a line, read the reply line.
pub fn exchange(addr: &SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(addr, IO_LIMIT)?;
    s.set_read_timeout(Some(IO_LIMIT))?;
    s.write_all(b"hi\n")?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line)?;
    if !line.ends_with('\n') {
        return Err(std::io::Error::new(
            ErrorKind::UnexpectedEof,
            "no full reply",
        ));
    }
    Ok(line)
}

fn run(shared: &Shared, netns: Option<PathBuf>, addr: SocketAddr) -> Result<(), String> {
    if let Some(path) = netns {
        let file = std::fs::File::open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        setns(&file, CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("setns({}): {e}", path.display()))?;
    }
    let mut next = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        // Never behind by more than one period: a slow connect does not cause a burst.
        next = next.max(Instant::now()) + PERIOD;
        let start = Instant::now();
        let got = exchange(&addr);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let mut counts = shared.counts.lock().unwrap_or_else(|e| e.into_inner());
        match got {
            Ok(reply) => {
                if !counts.answered(&reply, ms) {
                    counts.failed += 1;
                    counts.note(format!("not a reply: {reply:?}"));
                }
            }
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                counts.refused += 1;
                let n = counts.ok;
                counts.note(format!("refused after {n} answers"));
            }
            Err(e) => {
                counts.failed += 1;
                let n = counts.ok;
                counts.note(format!("{e} after {n} answers"));
            }
        }
    }
    Ok(())
}

impl Client {
    /// Start connecting to `addr`, from network namespace `netns` (a path such as
    /// /var/run/netns/NAME) or from the caller's.
    pub fn start(netns: Option<PathBuf>, addr: SocketAddr) -> Result<Client, String> {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            counts: Mutex::new(Counts::default()),
        });
        let inner = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("listen-client".into())
            .spawn(move || run(&inner, netns, addr))
            .map_err(|e| format!("cannot start the client thread: {e}"))?;
        Ok(Client {
            shared,
            thread: Some(thread),
        })
    }

    /// Whether the thread is still connecting (it ends early only on a setns error).
    pub fn running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// The server that answered last and how many times in a row, and the counts of
    /// refused and failed so far.
    pub fn progress(&self) -> (Option<Server>, usize, usize) {
        let c = self.shared.counts.lock().unwrap_or_else(|e| e.into_inner());
        (c.last().cloned(), c.refused, c.failed)
    }

    /// Forget what was seen so far (and go on).
    pub fn reset(&self) {
        *self.shared.counts.lock().unwrap_or_else(|e| e.into_inner()) = Counts::default();
    }

    /// Stop the thread and return what it saw.
    pub fn stop(mut self) -> Result<Counts, String> {
        self.shared.stop.store(true, Ordering::Relaxed);
        let outcome = match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err("the client thread panicked".into())),
            None => Err("the client was stopped twice".into()),
        };
        let counts =
            std::mem::take(&mut *self.shared.counts.lock().unwrap_or_else(|e| e.into_inner()));
        outcome.map(|()| counts)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
