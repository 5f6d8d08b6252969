//! The hand-over's conversations on an init's control socket, blocking (they run on
//! tokio's blocking pool): connect and check who listens, take, give. The wire protocol
//! is `rich_init::control::handover`'s.

use anyhow::{anyhow, bail, Result};
use rich_init::control::handover::{
    parse_given, parse_hand_line, render_hand_line, Given, HandLine, Handed, MAX_HAND_LINE,
};
use rich_init::control::protocol::{render_request, Request};
use rich_init::sys::{peer::peer_pid, strerror, unix_socket, Errno};
use std::collections::VecDeque;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long one read or write on the control socket may take, and a take as a whole.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The most descriptors a take accepts (a container's init is not trusted to be sane).
const MAX_FDS: usize = 1024;
/// The pauses between attempts to reach a new init's socket: 1 ms, doubling, up to 50 ms.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
const LONGEST_PAUSE: Duration = Duration::from_millis(50);

/// Why a conversation did not happen.
pub enum Fail {
    /// Nothing listens there (ENOENT, ENOTDIR, ECONNREFUSED): no rich-init control
    /// socket, or not yet.
    Absent(Errno),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Fail {
        Fail::Other(e)
    }
}

/// Connect to the control socket at `path` (under `/proc/PID/root`) of init `pid`,
/// waiting at most `within` for the connect (a full backlog), with read and write
/// timeouts. The listener must be that init itself: a symlink in the container must not
/// lead us to another socket of the host.
fn open(path: &Path, pid: u32, within: Duration) -> Result<UnixStream, Fail> {
    let stream = unix_socket::connect_timeout(path, within).map_err(|e| match e {
        Errno::ENOENT | Errno::ENOTDIR | Errno::ECONNREFUSED => Fail::Absent(e),
        Errno::ETIMEDOUT => Fail::Other(anyhow!(
            "cannot connect to {}: it did not accept within {} ms",
            path.display(),
            within.as_millis()
        )),
        e => Fail::Other(anyhow!(
            "cannot connect to {}: {}",
            path.display(),
            strerror(e)
        )),
    })?;
    let listener = peer_pid(stream.as_raw_fd()).map_err(|e| {
        anyhow!(
            "cannot tell who listens on {}: {}",
            path.display(),
            strerror(e)
        )
    })?;
    if u32::try_from(listener).ok() != Some(pid) {
        return Err(Fail::Other(anyhow!(
            "{} is not the init's own socket: pid {listener} listens on it, the init is pid {pid}",
            path.display()
        )));
    }
    for set in [UnixStream::set_read_timeout, UnixStream::set_write_timeout] {
        set(&stream, Some(IO_TIMEOUT))
            .map_err(|e| anyhow!("cannot set a timeout on {}: {e}", path.display()))?;
    }
    Ok(stream)
}

/// Lines from the socket, and the descriptors that came with them, in order: the n-th
/// descriptor belongs to the n-th fd line (each fd line carries exactly one, on its first
/// byte, so it has always arrived by the time its line is whole).
struct Reader<'a> {
    stream: &'a UnixStream,
    buf: Vec<u8>,
    fds: VecDeque<OwnedFd>,
    until: Instant,
}

impl<'a> Reader<'a> {
    fn new(stream: &'a UnixStream) -> Reader<'a> {
        Reader {
            stream,
            buf: Vec::new(),
            fds: VecDeque::new(),
            until: Instant::now() + IO_TIMEOUT,
        }
    }

    /// The next line, without its `\n`.
    fn line(&mut self) -> Result<Vec<u8>> {
        loop {
            if let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
                let rest = self.buf.split_off(end + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                line.pop();
                return Ok(line);
            }
            if self.buf.len() > MAX_HAND_LINE {
                bail!("the init sent a line longer than {MAX_HAND_LINE} bytes");
            }
            if Instant::now() >= self.until {
                bail!("the init did not finish within {} s", IO_TIMEOUT.as_secs());
            }
            let mut chunk = [0u8; 4096];
            let mut got = Vec::new();
            match unix_socket::recv_fds_wait(self.stream.as_raw_fd(), &mut chunk, &mut got) {
                Ok(0) => bail!("the init closed the connection mid-answer"),
                Ok(n) => {
                    self.buf
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                    self.fds.extend(got);
                    if self.fds.len() > MAX_FDS {
                        bail!("the init sent more than {MAX_FDS} descriptors");
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    bail!("the init did not answer within {} s", IO_TIMEOUT.as_secs())
                }
                Err(e) => bail!("cannot read from the init's socket: {}", strerror(e)),
            }
        }
    }
}

fn is_socket(fd: OwnedFd) -> (bool, OwnedFd) {
    let file = std::fs::File::from(fd);
    let socket = file.metadata().is_ok_and(|m| m.file_type().is_socket());
    (socket, OwnedFd::from(file))
}

/// What a take got: the socket descriptors, and how many others it closed.
pub struct Taken {
    pub fds: Vec<(Handed, OwnedFd)>,
    pub not_sockets: usize,
}

/// `fds-take` from init `pid` at `path`.
pub fn take(path: &Path, pid: u32) -> Result<Taken, Fail> {
    let mut stream = open(path, pid, IO_TIMEOUT)?;
    stream
        .write_all(render_request(&Request::FdsTake).as_bytes())
        .map_err(|e| anyhow!("cannot send the take: {e}"))?;
    let mut r = Reader::new(&stream);
    let mut got = Vec::new();
    loop {
        let line = r.line()?;
        match parse_hand_line(&line).map_err(|e| anyhow!("{e}"))? {
            HandLine::Fd(h) => {
                let fd = r.fds.pop_front().ok_or_else(|| {
                    anyhow!(
                        "the line for {}/{} came without its descriptor",
                        h.service,
                        h.name
                    )
                })?;
                got.push((h, fd));
            }
            HandLine::End { count } => {
                if usize::try_from(count).ok() != Some(got.len()) {
                    return Err(anyhow!(
                        "the init said {count} descriptors but sent {} lines",
                        got.len()
                    )
                    .into());
                }
                if !r.fds.is_empty() {
                    return Err(anyhow!("the init sent more descriptors than lines").into());
                }
                break;
            }
        }
    }
    let mut taken = Taken {
        fds: Vec::new(),
        not_sockets: 0,
    };
    for (h, fd) in got {
        match is_socket(fd) {
            (true, fd) => taken.fds.push((h, fd)),
            (false, _) => taken.not_sockets += 1,
        }
    }
    Ok(taken)
}

fn until(deadline_unix_ms: u128) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Duration::from_millis(u64::try_from(deadline_unix_ms.saturating_sub(now)).unwrap_or(u64::MAX))
}

/// The longest a [`take`] may run, as a whole: its connect, its request and its answer
/// are each bounded by [`IO_TIMEOUT`]; this bound only guards against a bug.
pub const TAKE_BOUND: Duration = Duration::from_secs(4 * IO_TIMEOUT.as_secs());

/// The longest a [`give`] that gives up at `give_up_unix_ms` may run, as a whole: its
/// reach ends then, and the rest is bounded by [`IO_TIMEOUT`] per step.
pub fn give_bound(give_up_unix_ms: u128) -> Duration {
    until(give_up_unix_ms).saturating_add(4 * IO_TIMEOUT)
}

/// Reach init `pid` at `path`, which may not listen yet: try again after a pause (1 ms,
/// doubling up to 50 ms) until `give_up_unix_ms`, or until it is gone.
fn reach(path: &Path, pid: u32, give_up_unix_ms: u128) -> Result<UnixStream> {
    let mut pause = FIRST_PAUSE;
    loop {
        let within = until(give_up_unix_ms).min(IO_TIMEOUT);
        match open(path, pid, within) {
            Ok(stream) => return Ok(stream),
            Err(Fail::Other(e)) => return Err(e),
            Err(Fail::Absent(e)) => {
                if !Path::new("/proc").join(pid.to_string()).exists() {
                    bail!("the init (pid {pid}) is gone");
                }
                let left = until(give_up_unix_ms);
                if left.is_zero() {
                    bail!(
                        "its control socket {} did not answer in time ({}); the init binds afresh at its deadline",
                        path.display(),
                        strerror(e)
                    );
                }
                std::thread::sleep(pause.min(left));
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }
    }
}

/// A send to the init failed with `e`: if the init closed its end (EPIPE, ECONNRESET),
/// its last line may say why (`{"ok":false,"error":…}`); that refusal then, else `e`.
fn why_not_sent(stream: &UnixStream, errno: Option<Errno>, e: anyhow::Error) -> anyhow::Error {
    if !matches!(errno, Some(Errno::EPIPE | Errno::ECONNRESET)) {
        return e;
    }
    match Reader::new(stream).line().map(|line| parse_given(&line)) {
        Ok(Err(refusal)) => anyhow!("{refusal} ({e})"),
        _ => e,
    }
}

/// `fds-give` of `fds` to init `pid` at `path`, trying to reach it until
/// `give_up_unix_ms` (before the init's own deadline, so that copies the helper then
/// closes are gone by the time the init binds afresh).
pub fn give(
    path: &Path,
    pid: u32,
    fds: &[(Handed, OwnedFd)],
    give_up_unix_ms: u128,
) -> Result<Given> {
    let mut stream = reach(path, pid, give_up_unix_ms)?;
    let errno = |e: &std::io::Error| e.raw_os_error().map(Errno::from_raw);
    if let Err(e) = stream.write_all(render_request(&Request::FdsGive).as_bytes()) {
        let n = errno(&e);
        return Err(why_not_sent(
            &stream,
            n,
            anyhow!("cannot send the give: {e}"),
        ));
    }
    for (h, fd) in fds {
        let line = render_hand_line(&HandLine::Fd(h.clone()));
        if let Err(e) =
            unix_socket::send_fds(stream.as_raw_fd(), line.as_bytes(), &[fd.as_raw_fd()])
        {
            let why = anyhow!(
                "cannot send descriptor {}/{}: {}",
                h.service,
                h.name,
                strerror(e)
            );
            return Err(why_not_sent(&stream, Some(e), why));
        }
    }
    let count = u64::try_from(fds.len()).unwrap_or(u64::MAX);
    if let Err(e) = stream.write_all(render_hand_line(&HandLine::End { count }).as_bytes()) {
        let n = errno(&e);
        return Err(why_not_sent(
            &stream,
            n,
            anyhow!("cannot send the give: {e}"),
        ));
    }
    let line = Reader::new(&stream).line()?;
    parse_given(&line).map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
#[path = "handover_io_tests.rs"]
mod tests;
