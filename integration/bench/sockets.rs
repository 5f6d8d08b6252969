//! `BENCH_ONLY=sockets` (issue 17): what a client sees while rich mode restarts a TCP
//! service, without `listen` (the service binds its port itself, SO_REUSEADDR) and with it
//! (rich-init holds the socket; the service accepts on fd 3).
//!
//! Each run starts `rich-init --rich` on the host (rich_proc.rs) with its control socket
//! and one service, a small Python server that answers every connection with its pid. A
//! client thread in the bench connects to 127.0.0.1:PORT at a bounded rate, sends a line
//! and reads the reply, from before the event until a new server has answered plus
//! [`AFTER`]; it counts refused (ECONNREFUSED) and other failed connections and times each
//! connect+reply. Events: `rich-init ctl restart`, and SIGKILL of the server (restarted by
//! the backoff). Nothing is judged: the figures are printed. The rows for an upgrade to a
//! new image and for recreating the container are measured on a private containerd
//! (sockets_ctrd.rs); the table and notes are in sockets_report.rs.

use crate::child;
use crate::proctree::descendants;
use crate::rich_proc::{toml_str, Rich, TempDir};
use crate::sockets_ctrd::{self, CtrdResults};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Runs of each event in each mode; the table shows medians and the worst refused count.
pub const RUNS: usize = 3;
/// One connection at most every this often: about 2,000 a second.
pub const PERIOD: Duration = Duration::from_micros(500);
/// The client runs this long before the event...
pub const BEFORE: Duration = Duration::from_millis(300);
/// ...and this long after a new server first answered.
pub const AFTER: Duration = Duration::from_millis(300);
/// The service's restart-delay (the backoff's first delay after the SIGKILL).
pub const RESTART_DELAY: &str = "100ms";
/// The longest a connect or a reply may take, and a run's client window, before the
/// bench gives up on it.
const IO_LIMIT: Duration = Duration::from_secs(5);
const WINDOW_LIMIT: Duration = Duration::from_secs(20);

/// The server: accepts on fd 3 when LISTEN_FDS and LISTEN_PID say it may, binds itself
/// otherwise; answers each connection with its pid. SIGTERM ends it between two
/// connections.
const SERVER: &str = r#"
import os, select, signal, socket, sys
me = os.getpid()
if int(os.environ.get("LISTEN_FDS", "0")) and os.environ.get("LISTEN_PID") == str(me):
    lst = socket.socket(fileno=3)
else:
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", int(sys.argv[1])))
    lst.listen(128)
r, w = os.pipe()
os.set_blocking(w, False)
signal.set_wakeup_fd(w)
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while not stop:
    ready, _, _ = select.select([lst, r], [], [])
    if stop or r in ready:
        break
    conn, _ = lst.accept()
    with conn:
        conn.recv(64)
        conn.sendall(b"%d\n" % me)
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Restart,
    Kill,
}

impl Event {
    pub const ALL: [Event; 2] = [Event::Restart, Event::Kill];

    pub fn label(self) -> &'static str {
        match self {
            Event::Restart => "`ctl restart` of the service",
            Event::Kill => "the service killed by SIGKILL, restarted by backoff",
        }
    }
}

/// One client window.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub ok: usize,
    pub refused: usize,
    pub failed: usize,
    /// Connect+reply of every answered connection, ms.
    pub latency_ms: Vec<f64>,
    /// The event until a new server first answered, ms.
    pub back_ms: f64,
}

/// The runs of one event in one mode.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub runs: Vec<Run>,
}

pub struct SocketsResults {
    /// [event][0 = without listen, 1 = with listen]
    pub cells: Vec<[Cell; 2]>,
    pub python: String,
    pub leftovers: usize,
    pub bad_codes: Vec<Option<i32>>,
    /// `upgrade-helper upgrade` and recreate on a private containerd (sockets_ctrd.rs).
    pub ctrd: CtrdResults,
}

fn free_port() -> Result<u16, String> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot bind a probe socket: {e}"))?;
    probe
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("the probe's address: {e}"))
}

/// One connection: connect, send a line, read the reply (the server's pid).
fn exchange(addr: &SocketAddr) -> std::io::Result<String> {
    crate::listen_client::exchange(addr).map(|line| line.trim().to_string())
}

/// The pid that answers now, waiting up to `limit` for one.
fn first_answer(addr: &SocketAddr, limit: Duration) -> Result<String, String> {
    let until = Instant::now() + limit;
    loop {
        match exchange(addr) {
            Ok(pid) => return Ok(pid),
            Err(e) if Instant::now() > until => {
                return Err(format!("the server never answered on {addr}: {e}"))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// The client loop: runs until `event_at` is set and a pid other than `old` has answered,
/// plus [`AFTER`].
fn client(addr: SocketAddr, old: &str, event_at: &Mutex<Option<Instant>>) -> Run {
    let mut run = Run::default();
    let begun = Instant::now();
    let mut next = begun;
    let mut back: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if back.is_some_and(|b| now >= b + AFTER) || now >= begun + WINDOW_LIMIT {
            break;
        }
        if next > now {
            std::thread::sleep(next - now);
        }
        next += PERIOD;
        let start = Instant::now();
        match exchange(&addr) {
            Ok(pid) => {
                run.ok += 1;
                run.latency_ms.push(start.elapsed().as_secs_f64() * 1e3);
                if back.is_none() && pid != old {
                    let done = Instant::now();
                    back = Some(done);
                    let at = *event_at.lock().unwrap_or_else(|e| e.into_inner());
                    run.back_ms = at.map_or(0.0, |at| (done - at).as_secs_f64() * 1e3);
                }
            }
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => run.refused += 1,
            Err(_) => run.failed += 1,
        }
        // Never fall behind by more than one period: a slow connect does not cause a burst.
        next = next.max(Instant::now());
    }
    run
}

fn service(python: &Path, server: &Path, port: u16, listen: bool) -> String {
    let mut body = format!(
        "command = [{}, {}, \"{port}\"]\nrestart-delay = \"{RESTART_DELAY}\"\n",
        toml_str(&python.display().to_string()),
        toml_str(&server.display().to_string()),
    );
    if listen {
        body.push_str(&format!("listen = [\"tcp:127.0.0.1:{port}\"]\n"));
    }
    body
}

/// The pid of the python server below rich-init (its only service).
fn server_pid(rich: &Rich) -> Option<i32> {
    descendants(rich.pid() as i32)
        .iter()
        .map(|p| p.pid)
        .find(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("server.py"))
        })
}

fn one_run(
    bin: &Path,
    python: &Path,
    server: &Path,
    event: Event,
    listen: bool,
    r: &mut SocketsResults,
) -> Result<Run, String> {
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let services = [("web".to_string(), service(python, server, port, listen))];
    let mut rich = Rich::start_with_control(bin, "sockets", &services)?;
    let result = (|| {
        let old = first_answer(&addr, Duration::from_secs(10))?;
        let event_at = Mutex::new(None);
        let run = std::thread::scope(|s| {
            let c = s.spawn(|| client(addr, &old, &event_at));
            std::thread::sleep(BEFORE);
            *event_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            let done = match event {
                Event::Restart => ctl_restart(bin, &rich.control_socket()),
                Event::Kill => match server_pid(&rich) {
                    Some(pid) => kill(Pid::from_raw(pid), Signal::SIGKILL)
                        .map_err(|e| format!("kill -KILL {pid}: {e}")),
                    None => Err("no server process below rich-init".to_string()),
                },
            };
            let run = c
                .join()
                .map_err(|_| "the client thread panicked".to_string());
            done.and(run)
        })?;
        if run.back_ms == 0.0 {
            return Err(format!(
                "no new server answered within {WINDOW_LIMIT:?} of the event"
            ));
        }
        rich.check_running()?;
        Ok(run)
    })();
    let stopped = rich.stop()?;
    r.leftovers += stopped.leftovers;
    if stopped.code != Some(0) {
        r.bad_codes.push(stopped.code);
    }
    result
}

fn ctl_restart(bin: &Path, socket: &Path) -> Result<(), String> {
    child::run(
        Command::new(bin)
            .arg("ctl")
            .arg("--socket")
            .arg(socket)
            .args(["restart", "web"]),
        IO_LIMIT,
        "rich-init ctl restart web",
    )
    .map(drop)
}

fn which(name: &str) -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|f| f.is_file())
        })
        .ok_or_else(|| format!("{name} not found in PATH (the sockets measure needs it)"))
}

pub fn measure(bin: &Path) -> Result<SocketsResults, String> {
    let python = which("python3")?;
    let version = Command::new(&python)
        .arg("--version")
        .output()
        .map_err(|e| format!("{} --version: {e}", python.display()))?;
    let dir = TempDir::new("sockets-server", &[])?;
    let server = dir.write("server.py", SERVER, 0o644)?;
    let mut r = SocketsResults {
        cells: Vec::new(),
        python: String::from_utf8_lossy(&version.stdout).trim().to_string(),
        leftovers: 0,
        bad_codes: Vec::new(),
        ctrd: CtrdResults::default(),
    };
    for event in Event::ALL {
        let mut cells: [Cell; 2] = Default::default();
        for run in 0..RUNS {
            for (i, listen) in [false, true].into_iter().enumerate() {
                crate::progress(&format!(
                    "sockets: {}, {} listen, run {}/{RUNS}",
                    event.label(),
                    if listen { "with" } else { "without" },
                    run + 1
                ));
                let one = one_run(bin, &python, &server, event, listen, &mut r)?;
                cells[i].runs.push(one);
            }
        }
        r.cells.push(cells);
    }
    r.ctrd = sockets_ctrd::measure(bin)?;
    Ok(r)
}
