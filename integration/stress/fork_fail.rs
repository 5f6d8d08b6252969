//! Fork failure: rich-init, pid 1 of a pid namespace, inside a pids cgroup (v1, or v2) of our
//! own whose limit makes every fork fail with EAGAIN. A service that dies cannot be started
//! again: the attempts back off (the log and `ctl status` show it), the init does not spin
//! (its CPU ticks stay few) and it survives. Once the limit is lifted the service runs again.

use super::common::{ctl, figures, release_cmd, service_row, wait_running};
use crate::harness::PidNs;
use crate::rich::{init_pid, Rig};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The v1 pids hierarchy, where it is usually mounted.
const PIDS_V1: &str = "/sys/fs/cgroup/pids";

/// Where to make a pids cgroup: the v1 pids hierarchy, else a cgroup2 mount (from
/// /proc/self/mountinfo) that offers the pids controller, which is then enabled for its
/// children. Panics, naming what is missing, when there is neither.
fn pids_root() -> PathBuf {
    let v1 = PathBuf::from(PIDS_V1);
    if v1.join("cgroup.procs").is_file() {
        return v1;
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let v2 = mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        let point = left.split_whitespace().nth(4)?;
        let root = PathBuf::from(point.replace("\\040", " "));
        let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).ok()?;
        (fstype == "cgroup2" && controllers.split_whitespace().any(|c| c == "pids")).then_some(root)
    });
    let Some(root) = v2 else {
        panic!(
            "this test needs a pids cgroup: the v1 pids controller at {PIDS_V1}, or a cgroup2 \
             mount offering `pids` in cgroup.controllers (run as root)"
        );
    };
    let control = root.join("cgroup.subtree_control");
    std::fs::write(&control, "+pids")
        .unwrap_or_else(|e| panic!("cannot enable pids in {}: {e}", control.display()));
    root
}

/// A child cgroup with the pids controller (v1 or v2); on drop its limit is lifted,
/// whatever is left in it is SIGKILLed, and it is removed (also when the test failed).
struct PidsCgroup {
    dir: PathBuf,
}

impl PidsCgroup {
    fn new(label: &str) -> PidsCgroup {
        let root = pids_root();
        let dir = root.join(format!("rich-init-stress-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot create the cgroup {}: {e}", dir.display()));
        PidsCgroup { dir }
    }

    fn write(&self, file: &str, value: &str) {
        let path = self.dir.join(file);
        std::fs::write(&path, value)
            .unwrap_or_else(|e| panic!("cannot write {value:?} to {}: {e}", path.display()));
    }

    fn read(&self, file: &str) -> String {
        let path = self.dir.join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    fn current(&self) -> u64 {
        let text = self.read("pids.current");
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("pids.current is not a number: {text:?}"))
    }

    fn procs_file(&self) -> std::fs::File {
        let path = self.dir.join("cgroup.procs");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
    }

    fn pids(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("pids.max"), "max");
        for _ in 0..500 {
            let left = self.pids();
            if left.is_empty() && std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            for pid in left {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "warning: could not remove the cgroup {}",
            self.dir.display()
        );
    }
}

/// The stderr lines that report a failed start of `svc`.
fn spawn_failures(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("service svc: could not be started"))
        .collect()
}

#[test]
fn fork_failure_backs_off_and_recovers() {
    let cgroup = PidsCgroup::new("fork");
    let rig = Rig::new("stress-fork");
    rig.service(
        "svc",
        "echo start >> \"$D/starts\"\nexec sleep 100000",
        "restart-delay = \"10ms\"\nrestart-delay-max = \"500ms\"\n",
    );
    let go = rig.path("go");
    nix::unistd::mkfifo(&go, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .unwrap_or_else(|e| panic!("cannot create fifo {}: {e}", go.display()));
    // CMD waits on a FIFO with a builtin: it needs no fork while forks fail.
    let mut run = rig.run(
        PidNs::Init,
        &["--grace", "5s", "-v"],
        "read x < \"$D/go\"; exit 0",
    );
    let procs = cgroup.procs_file();
    let procs_fd = procs.as_raw_fd();
    // SAFETY: write(2) of a static buffer is async-signal-safe. "0" moves the writer itself.
    unsafe {
        run.command_mut().pre_exec(move || {
            if libc::write(procs_fd, b"0".as_ptr().cast(), 1) == 1 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut running = run.spawn();
    drop(procs);
    let init = init_pid(&running, PidNs::Init);
    rig.wait_file(&mut running, "starts");
    wait_running(&mut running, "svc to be running", |_| {
        (service_row(&rig, "svc")["state"] == "running").then_some(())
    });

    // One below what runs now: once svc is killed, nothing in the cgroup can fork.
    let limit = cgroup.current() - 1;
    cgroup.write("pids.max", &limit.to_string());
    let before = figures(init);
    let blocked_at = Instant::now();
    let out = ctl(&rig, &["signal", "svc", "KILL"]);
    assert_eq!(out.code(), Some(0), "{out}");
    const ATTEMPTS: usize = 10;
    wait_running(
        &mut running,
        &format!("{ATTEMPTS} failed starts of svc"),
        |r| (spawn_failures(&r.stderr_so_far()).len() >= ATTEMPTS).then_some(()),
    );
    let after = figures(init);
    let blocked_for = blocked_at.elapsed();
    let row = service_row(&rig, "svc");
    let stderr = running.stderr_so_far();
    let failures = spawn_failures(&stderr);
    assert!(
        failures
            .iter()
            .all(|l| l.contains("Resource temporarily unavailable")),
        "the starts failed with EAGAIN:\n{stderr}"
    );
    assert_eq!(
        row["state"], "backoff",
        "ctl status answers while forks fail and shows the backoff: {row}"
    );
    assert!(
        row["restarts"].as_u64() >= Some(ATTEMPTS as u64),
        "ctl status counts the failed starts: {row}"
    );
    // The delays logged after the failures double up to restart-delay-max.
    let delays: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split("service svc: restarting in ").nth(1))
        .collect();
    for want in ["10ms", "20ms", "40ms", "80ms", "160ms", "320ms", "500ms"] {
        assert!(
            delays.contains(&want),
            "a {want} backoff among {delays:?}\n{stderr}"
        );
    }
    let ticks = after.cpu_ticks - before.cpu_ticks;
    let wakeups = after.wakeups - before.wakeups;
    println!(
        "fork failure: {} failed starts (EAGAIN) in {blocked_for:?}; init CPU {ticks} ticks, {wakeups} wake-ups, RSS {} -> {} kB; status: {row}",
        failures.len(),
        before.rss_kb,
        after.rss_kb
    );
    // Counts, not times: a spinning loop would burn a tick per 10 ms of the >= 1.1 s that
    // the backoff schedule takes to allow ATTEMPTS starts, and wake up far more than once
    // or twice per attempt.
    assert!(
        ticks <= 20,
        "the init must sleep through the backoff, not spin: {ticks} CPU ticks for {} attempts",
        failures.len()
    );
    assert!(
        wakeups <= 5 * failures.len() as u64 + 20,
        "the init woke {wakeups} times for {} attempts",
        failures.len()
    );

    // The limit is lifted: the next attempt succeeds and the service runs.
    cgroup.write("pids.max", "max");
    wait_running(&mut running, "svc to run again once forks work", |_| {
        (rig.read("starts").lines().count() == 2 && service_row(&rig, "svc")["state"] == "running")
            .then_some(())
    });
    release_cmd(&go);
    let out = running.wait();
    assert_eq!(
        out.code(),
        Some(0),
        "the init survived and exits with CMD's 0: {out}"
    );
}
