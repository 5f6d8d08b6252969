//! `BENCH_ONLY=sockets`, the containerd rows (issue 17, part 3): what a client sees while
//! a rich container's TCP service goes to a new image, by `upgrade-helper upgrade` without
//! and with `listen`, and by recreating the container with `ctr` (without: a new container
//! has a new init, and nothing holds a socket for it).
//!
//! A private containerd (ctrd.rs), a network namespace (netns.rs) and the images of the
//! upgrade test (integration/listen_image.rs: rich-busybox's rootfs, rich-init --rich, the
//! static server at fd 3 or binding 0.0.0.0:8080 itself, tags v1 and v2). One container at
//! a time in the namespace; each event takes it to the other tag. The client
//! (integration/listen_client.rs) runs in the namespace from [`BEFORE`] before the event
//! until a new server pid has answered plus [`AFTER`].

use crate::ctr_events::{Events, EXIT};
use crate::ctrd::{Ctrd, LIMIT};
use crate::listen_client::Client;
use crate::listen_image::{self, PORT};
use crate::netns::NetNs;
use crate::sockets::{Cell, Run, AFTER, BEFORE, RUNS};
use crate::upgrade_image;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ID: &str = "sockets";
/// The longest a client window may wait for a server (first answer, or a new one).
const WINDOW_LIMIT: Duration = Duration::from_secs(20);

/// The containerd rows' runs.
#[derive(Debug, Default)]
pub struct CtrdResults {
    /// `upgrade-helper upgrade`: [0 = without listen, 1 = with].
    pub upgrade: [Cell; 2],
    /// Recreate with `ctr`, without listen.
    pub recreate: Cell,
    pub containerd_version: String,
    pub leftovers: Vec<String>,
}

struct Bench<'a> {
    ctrd: &'a Ctrd,
    events: &'a Events,
    helper: &'a Path,
    netns: PathBuf,
}

impl Bench<'_> {
    /// The pid of the task of [`ID`], which must be RUNNING.
    fn task_pid(&self) -> Result<i64, String> {
        let out = self.ctrd.ctr_ok(&["tasks", "ls"])?;
        out.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.first() == Some(&ID) && f.get(2) == Some(&"RUNNING"))
            .and_then(|f| f.get(1)?.parse().ok())
            .ok_or_else(|| format!("no running task {ID} in `ctr task ls`:\n{out}"))
    }

    fn run_detached(&self, image: &str) -> Result<(), String> {
        let log = self.ctrd.dir().join(format!("{ID}.log"));
        let flags = [
            format!("--log-uri=file://{}", log.display()),
            format!("--with-ns=network:{}", self.netns.display()),
        ];
        let mut args = vec!["run", "-d"];
        args.extend(flags.iter().map(String::as_str));
        args.extend([image, ID]);
        self.ctrd.ctr_ok(&args).map(drop)
    }

    /// Stop the task (SIGTERM, its exit event), delete it and the container.
    fn remove(&self) -> Result<(), String> {
        let pid = self.task_pid()?;
        self.events.drain();
        self.ctrd.ctr_ok(&["tasks", "kill", ID])?;
        self.events.take(EXIT, ID, pid)?;
        self.ctrd.ctr_ok(&["tasks", "delete", ID])?;
        self.ctrd.ctr_ok(&["containers", "delete", ID]).map(drop)
    }

    fn upgrade(&self, image: &str) -> Result<(), String> {
        let what = format!("upgrade-helper upgrade {ID} --image {image}");
        let mut command = Command::new(self.helper);
        command
            .arg("--address")
            .arg(self.ctrd.address())
            .args(["--namespace", self.ctrd.namespace(), "upgrade", ID])
            .args([
                "--image",
                image,
                "--health-window",
                "0",
                "--stop-timeout",
                "2s",
            ])
            .env_remove("CONTAINERD_ADDRESS")
            .env_remove("CONTAINERD_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::child::run(&mut command, LIMIT, &what).map(drop)
    }

    /// A client window around `event`.
    fn window(&self, event: impl FnOnce() -> Result<(), String>) -> Result<Run, String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], PORT));
        let client = Client::start(Some(self.netns.clone()), addr)?;
        let (old, _) = wait(&client, None)?;
        client.reset();
        std::thread::sleep(BEFORE);
        let at = Instant::now();
        event()?;
        let (_, first) = wait(&client, Some(&old))?;
        let back = first.duration_since(at);
        std::thread::sleep(AFTER);
        let counts = client.stop()?;
        Ok(Run {
            ok: counts.ok,
            refused: counts.refused,
            failed: counts.failed,
            latency_ms: counts.latency_ms,
            back_ms: back.as_secs_f64() * 1e3,
        })
    }
}

/// Wait until a server other than `not` (a start time) answers; its start time and when
/// it first answered.
fn wait(client: &Client, not: Option<&str>) -> Result<(String, Instant), String> {
    let until = Instant::now() + WINDOW_LIMIT;
    loop {
        if let (Some(s), _, _) = client.progress() {
            if Some(s.start.as_str()) != not {
                return Ok((s.start, s.first_at));
            }
        }
        if !client.running() || Instant::now() > until {
            return Err(format!(
                "no new server answered on 127.0.0.1:{PORT} within {WINDOW_LIMIT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The four images (v1, v2, without and with listen), built as the test builds them.
fn images() -> Result<Vec<PathBuf>, String> {
    catch_unwind(AssertUnwindSafe(|| {
        [false, true]
            .iter()
            .flat_map(|&listen| ["v1", "v2"].map(|tag| listen_image::spec(tag, listen)))
            .map(|spec| upgrade_image::image(&spec).tar)
            .collect()
    }))
    .map_err(|e| {
        let why = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("cannot build the listen images: {why}")
    })
}

fn rows(bench: &Bench, r: &mut CtrdResults) -> Result<(), String> {
    for (i, listen) in [false, true].into_iter().enumerate() {
        let name = |k: usize| listen_image::name(["v1", "v2"][k % 2], listen);
        bench.run_detached(&name(0))?;
        let mut k = 0;
        for run in 0..RUNS {
            crate::progress(&format!(
                "sockets: upgrade-helper upgrade, {} listen, run {}/{RUNS}",
                if listen { "with" } else { "without" },
                run + 1
            ));
            k += 1;
            let one = bench.window(|| bench.upgrade(&name(k)))?;
            r.upgrade[i].runs.push(one);
        }
        if !listen {
            for run in 0..RUNS {
                crate::progress(&format!(
                    "sockets: recreate with ctr, without listen, run {}/{RUNS}",
                    run + 1
                ));
                k += 1;
                let one = bench.window(|| {
                    bench.remove()?;
                    bench.run_detached(&name(k))
                })?;
                r.recreate.runs.push(one);
            }
        }
        bench.remove()?;
    }
    Ok(())
}

pub fn measure(rich_init: &Path) -> Result<CtrdResults, String> {
    let helper = rich_init.with_file_name("upgrade-helper");
    if !helper.is_file() {
        return Err(format!(
            "{} is missing: run `make build` (make bench does)",
            helper.display()
        ));
    }
    let tars = images()?;
    let mut r = CtrdResults::default();
    let ctrd = Ctrd::start()?;
    let mut netns = NetNs::add("sockets")?;
    let outcome = (|| {
        r.containerd_version = ctrd.version()?;
        for tar in &tars {
            let tar = tar.to_str().ok_or("the image path is not UTF-8")?;
            ctrd.ctr_ok(&["images", "import", tar])?;
        }
        let events = Events::subscribe(&ctrd)?;
        let bench = Bench {
            ctrd: &ctrd,
            events: &events,
            helper: &helper,
            netns: netns.path(),
        };
        rows(&bench, &mut r)
    })();
    let mut left = ctrd.finish();
    left.extend(netns.remove());
    match outcome {
        Ok(()) => {
            r.leftovers = left;
            Ok(r)
        }
        Err(e) if left.is_empty() => Err(format!("sockets, containerd rows: {e}")),
        Err(e) => Err(format!(
            "sockets, containerd rows: {e}; and the clean-up left: {}",
            left.join("; ")
        )),
    }
}
