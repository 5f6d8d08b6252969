//! Run one hook action (a host script, or an initscript inside the container) to its
//! end: the state JSON on its stdin, its output collected into lines, a deadline after
//! which its process group is killed. When it ends, whatever it left in its process
//! group is killed too: a hook leaves nothing running.

use crate::logsink::{Line, LineBuffer};
use crate::sys::caps::CapSets;
use crate::sys::enter::{self, Middle, Target};
use crate::sys::signals::{self, SigSet};
use crate::sys::spawn::{self, ChildEvent, ChildSignals, Ids, Placement, Setup, Step};
use crate::sys::{io, reap, Errno};
use crate::wait_status::WaitStatus;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// One thing to run.
pub struct Action<'a> {
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    pub cwd: Option<CString>,
    /// Run inside this container instead of on the host.
    pub inside: Option<&'a Target>,
    /// The user (uid, gid, supplementary groups) to run as; None: ours.
    pub user: Option<(u32, u32, Vec<u32>)>,
    /// The capabilities to run with; None: ours.
    pub caps: Option<CapSets>,
    pub no_new_privs: bool,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit status 0.
    Success,
    Exited(i32),
    Signaled(i32),
    /// Killed at the deadline.
    TimedOut(Duration),
    /// exec failed: ENOENT means the program is not there.
    ExecFailed(Errno),
    /// A step before exec failed.
    SetupFailed(Step, Errno),
    /// Joining the container's cgroup of this index (`Target::cgroup_file`) failed.
    CgroupFailed(usize, Errno),
    /// We could not even start it (fork, pipes).
    NotStarted(Errno),
}

impl Outcome {
    pub fn is_success(self) -> bool {
        self == Outcome::Success
    }

    /// Why it failed, for "... failed: <reason>"; `inside` is the container it ran in.
    pub fn reason(self, inside: Option<&Target>) -> String {
        match self {
            Outcome::Success => "succeeded".into(),
            Outcome::Exited(code) => format!("exit status {code}"),
            Outcome::Signaled(sig) => {
                format!("killed by signal {sig} ({})", crate::signame::name(sig))
            }
            Outcome::TimedOut(after) => format!(
                "timed out after {} and was killed",
                crate::config::duration::format(after)
            ),
            Outcome::ExecFailed(Errno::ENOENT) if inside.is_some() => {
                "not found inside the container's root filesystem (paths and links resolve there)"
                    .into()
            }
            Outcome::ExecFailed(Errno::ENOENT) => "no such file".into(),
            Outcome::ExecFailed(e) => format!("cannot execute it: {}", crate::sys::strerror(e)),
            Outcome::SetupFailed(step, e) => {
                format!("cannot {}: {}", step.describe(), crate::sys::strerror(e))
            }
            Outcome::CgroupFailed(index, e) => format!(
                "cannot join the container's cgroup {}: {} (it never runs outside the \
                 container's limits)",
                inside
                    .and_then(|t| t.cgroup_file(index))
                    .map_or_else(|| format!("#{index}"), |p| p.display().to_string()),
                crate::sys::strerror(e)
            ),
            Outcome::NotStarted(e) => format!("cannot start it: {}", crate::sys::strerror(e)),
        }
    }
}

/// Records on the report pipe: [kind, a, b] as native-endian i32s, one write each.
const EVENT_EXEC: i32 = 1;
const EVENT_SETUP: i32 = 2;
const EVENT_STARTED: i32 = 3;
const EVENT_EXITED: i32 = 4;
const EVENT_CGROUP: i32 = 5;
const RECORD: usize = 12;

fn step_code(step: Step) -> i32 {
    STEPS
        .iter()
        .position(|s| *s == step)
        .map_or(-1, |i| i as i32)
}

const STEPS: [Step; 14] = [
    Step::Stdio,
    Step::Chdir,
    Step::Umask,
    Step::Groups,
    Step::Gid,
    Step::Uid,
    Step::NoNewPrivs,
    Step::CloseFds,
    Step::DeathSignal,
    Step::Namespace,
    Step::Root,
    Step::Fork,
    Step::Wait,
    Step::Caps,
];

fn send(fd: RawFd, kind: i32, a: i32, b: i32) {
    let mut rec = [0u8; RECORD];
    for (chunk, v) in rec.chunks_exact_mut(4).zip([kind, a, b]) {
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    crate::sys::write_all_raw(fd, &rec);
}

/// What the report pipe said.
#[derive(Debug, Default)]
struct Reports {
    failure: Option<Outcome>,
    group: Option<i32>,
    exited: Option<i32>,
    partial: Vec<u8>,
}

impl Reports {
    fn take(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        let whole = self.partial.len() / RECORD * RECORD;
        let records: Vec<u8> = self.partial.drain(..whole).collect();
        for rec in records.chunks_exact(RECORD) {
            let word = |i: usize| {
                rec.get(i * 4..i * 4 + 4)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map_or(0, i32::from_ne_bytes)
            };
            let (kind, a, b) = (word(0), word(1), word(2));
            match kind {
                EVENT_EXEC => self.failure = Some(Outcome::ExecFailed(Errno::from_raw(a))),
                EVENT_SETUP => {
                    let step = usize::try_from(a)
                        .ok()
                        .and_then(|i| STEPS.get(i))
                        .copied()
                        .unwrap_or(Step::Fork);
                    self.failure = Some(Outcome::SetupFailed(step, Errno::from_raw(b)));
                }
                EVENT_STARTED => self.group = Some(a),
                EVENT_EXITED => self.exited = Some(a),
                EVENT_CGROUP => {
                    let index = usize::try_from(a).unwrap_or(usize::MAX);
                    self.failure = Some(Outcome::CgroupFailed(index, Errno::from_raw(b)));
                }
                _ => {}
            }
        }
    }
}

fn outcome_of(status: WaitStatus) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(0), _) => Outcome::Success,
        (None, Some(sig)) => Outcome::Signaled(sig),
        _ => Outcome::Exited(status.exit_code()),
    }
}

/// Run `action` with `stdin` as its input until it ends or `timeout` passes; each line it
/// prints (stdout and stderr together) goes to `log`. `mask` is the signal mask the
/// hook process was started with; the action gets it back.
pub fn run(
    action: &Action,
    stdin: &[u8],
    timeout: Duration,
    mask: SigSet,
    log: &mut dyn FnMut(&Line),
) -> Outcome {
    match start_and_wait(action, stdin, timeout, mask, log) {
        Ok(outcome) => outcome,
        Err(e) => Outcome::NotStarted(e),
    }
}

fn start_and_wait(
    action: &Action,
    stdin: &[u8],
    timeout: Duration,
    mask: SigSet,
    log: &mut dyn FnMut(&Line),
) -> Result<Outcome, Errno> {
    let input = io::memfd_with(stdin)?;
    let (out_r, out_w) = io::pipe()?;
    let (rep_r, rep_w) = io::pipe()?;
    let setup = Setup {
        env: Some(&action.env),
        cwd: action.cwd.as_deref(),
        stdin: Some(input.as_raw_fd()),
        stdout: Some(out_w.as_raw_fd()),
        stderr: Some(out_w.as_raw_fd()),
        close_other_fds: true,
        parent_death_signal: Some(libc::SIGKILL),
        ids: action.user.as_ref().map(|(uid, gid, groups)| Ids {
            uid: *uid,
            gid: *gid,
            groups,
        }),
        caps: action.caps.as_ref(),
        no_new_privs: action.no_new_privs,
        ..Setup::default()
    };
    let rep = rep_w.as_raw_fd();
    let report = move |event: ChildEvent| -> i32 {
        match event {
            ChildEvent::ExecFailed(e) => send(rep, EVENT_EXEC, e as i32, 0),
            ChildEvent::SetupFailed(step, e) => send(rep, EVENT_SETUP, step_code(step), e as i32),
            ChildEvent::SetpgidFailed(e) | ChildEvent::SetsidFailed(e) => {
                send(rep, EVENT_SETUP, step_code(Step::Fork), e as i32)
            }
            _ => {}
        }
        if matches!(event, ChildEvent::ExecFailed(Errno::ENOENT)) {
            127
        } else {
            126
        }
    };
    let pid = match action.inside {
        None => spawn::spawn(
            &action.argv,
            Placement::OwnGroup,
            ChildSignals::Restore(mask),
            &setup,
            &report,
        )?,
        Some(target) => {
            let middle = move |m: Middle| match m {
                Middle::Started(pid) => send(rep, EVENT_STARTED, pid, 0),
                Middle::Exited(status) => send(rep, EVENT_EXITED, status, 0),
                Middle::Failed(step, e) => send(rep, EVENT_SETUP, step_code(step), e as i32),
                Middle::Cgroup(index, e) => send(
                    rep,
                    EVENT_CGROUP,
                    i32::try_from(index).unwrap_or(i32::MAX),
                    e as i32,
                ),
            };
            enter::spawn_inside(
                target,
                &action.argv,
                ChildSignals::Restore(mask),
                &setup,
                &report,
                &middle,
            )?
        }
    };
    drop((out_w, rep_w, input));
    let mut reports = Reports::default();
    if action.inside.is_none() {
        reports.group = Some(pid);
    }
    let status = supervise(pid, &out_r, &rep_r, timeout, &mut reports, log)?;
    // Whatever it left behind in its group goes with it.
    if let Some(group) = reports.group {
        let _ = signals::kill(-group, libc::SIGKILL);
    }
    Ok(match (reports.failure, status) {
        (Some(failure), _) => failure,
        (None, Err(after)) => Outcome::TimedOut(after),
        (None, Ok(status)) => match (action.inside, reports.exited) {
            (None, _) => outcome_of(WaitStatus::from_raw(status)),
            (Some(_), Some(inner)) => outcome_of(WaitStatus::from_raw(inner)),
            (Some(_), None) => Outcome::SetupFailed(Step::Wait, Errno::ECHILD),
        },
    })
}

/// Wait for `pid` while passing its output on; Err(timeout) if it had to be killed.
fn supervise(
    pid: i32,
    out: &OwnedFd,
    rep: &OwnedFd,
    timeout: Duration,
    reports: &mut Reports,
    log: &mut dyn FnMut(&Line),
) -> Result<Result<i32, Duration>, Errno> {
    let pidfd = io::pidfd_open(pid).ok();
    let deadline = Instant::now() + timeout;
    let mut lines = LineBuffer::default();
    let mut pieces = Vec::new();
    let mut ready = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut killed = false;
    let mut last_resort: Option<Instant> = None;
    let mut status = None;
    let (mut out_open, mut rep_open) = (true, true);
    while status.is_none() {
        let mut fds = Vec::with_capacity(3);
        // A pipe at its end stays readable: leave it out, or poll would spin.
        if out_open {
            fds.push(out.as_raw_fd());
        }
        if rep_open {
            fds.push(rep.as_raw_fd());
        }
        fds.extend(pidfd.as_ref().map(AsRawFd::as_raw_fd));
        let left = deadline.saturating_duration_since(Instant::now());
        // Without a pidfd (Linux < 5.3), look at the child every 20 ms.
        let wait = if pidfd.is_some() {
            left
        } else {
            left.min(Duration::from_millis(20))
        };
        let wait = if killed {
            Duration::from_millis(100)
        } else {
            wait
        };
        io::poll_readable(&fds, Some(wait), &mut ready)?;
        out_open &= drain(out.as_raw_fd(), &mut buf, &mut |b| {
            lines.push(b, &mut pieces)
        });
        rep_open &= drain(rep.as_raw_fd(), &mut buf, &mut |b| reports.take(b));
        for piece in pieces.drain(..) {
            log(&piece);
        }
        status = reap::wait_for(pid, false)?;
        let now = Instant::now();
        if status.is_none() && !killed && now >= deadline {
            match reports.group {
                // Kill the action's group, and only that: an intermediate process (inside a
                // container) must live to reap it. Were it killed too, the action would be
                // reparented outside its pid namespace, to the runtime (a subreaper that
                // never reaps it), and the container's init could never finish exiting.
                Some(group) => {
                    let _ = signals::kill(-group, libc::SIGKILL);
                    last_resort = Some(now + Duration::from_secs(5));
                }
                None => {
                    let _ = signals::kill(pid, libc::SIGKILL);
                }
            }
            killed = true;
        }
        if status.is_none() && last_resort.is_some_and(|t| now >= t) {
            let _ = signals::kill(pid, libc::SIGKILL);
            last_resort = None;
        }
    }
    // What it wrote just before it ended; a descendant that keeps the pipe open does not
    // hold us up (the read end is non-blocking).
    let _ = drain(out.as_raw_fd(), &mut buf, &mut |b| {
        lines.push(b, &mut pieces)
    });
    let _ = drain(rep.as_raw_fd(), &mut buf, &mut |b| reports.take(b));
    lines.finish(&mut pieces);
    for piece in pieces.drain(..) {
        log(&piece);
    }
    match (killed, status) {
        (true, _) => Ok(Err(timeout)),
        (false, Some(s)) => Ok(Ok(s)),
        (false, None) => Err(Errno::ECHILD),
    }
}

/// Pass on what `fd` holds now; false once it is at its end (or broken).
fn drain(fd: RawFd, buf: &mut [u8], sink: &mut dyn FnMut(&[u8])) -> bool {
    // Bounded: a chatty action cannot keep us from checking its deadline.
    for _ in 0..64 {
        match io::read_some(fd, buf) {
            Ok(0) => return false,
            Ok(n) => sink(buf.get(..n).unwrap_or_default()),
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => return true,
            Err(_) => return false,
        }
    }
    true
}
