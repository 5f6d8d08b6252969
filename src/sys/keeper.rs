//! A unit's keeper: how rich-init knows a systemd unit's processes without a writable cgroup.
//!
//! Every command of a unit (ExecStartPre=, ExecStart=, ExecStop=, …) is started through a
//! keeper: a forked copy of the init (no exec, so its pages are shared with pid 1) that
//! makes itself a child subreaper, forks the command, and then only reaps. Whatever the
//! command forks, and whatever those processes leave behind when they exit (a `Type=forking`
//! daemon's double fork), re-parents to the keeper, never to pid 1. So:
//! - the unit's processes are the keeper's descendants (`systemctl status` lists them,
//!   `systemctl stop` signals them all: KillMode=control-group);
//! - every exit among them reaches the init as a [`Record`] on one shared pipe (the main
//!   pid of a forking daemon is not the init's child, but its exit status still arrives);
//! - the keeper exits by itself once it has no process left (waitpid: ECHILD), and the
//!   init reaps it: "the unit's group is empty".
//!
//! The keeper blocks every signal (it inherits the init's mask) and closes every
//! descriptor but the record pipe, so it holds nothing of the init's and ignores the
//! signals meant for the unit's processes; only SIGKILL ends it early, after which its
//! orphans fall back to pid 1 as before.

use super::spawn::{spawn, ChildEvent, ChildSignals, Placement, Setup};
use super::Errno;
use crate::wait_status::WaitStatus;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One exit a keeper saw: `pid` (a descendant of `keeper`) ended with `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub keeper: i32,
    pub pid: i32,
    pub status: WaitStatus,
}

/// The size of one record on the pipe: three native `i32`s, written in one write (less
/// than PIPE_BUF, so records of several keepers never interleave).
pub const RECORD_LEN: usize = 12;

impl Record {
    fn encode(self) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        let parts = [self.keeper, self.pid, self.status.raw()];
        for (chunk, value) in out.chunks_exact_mut(4).zip(parts) {
            chunk.copy_from_slice(&value.to_ne_bytes());
        }
        out
    }

    /// Decode as many whole records as `bytes` holds; the rest is returned unread.
    pub fn decode_all<'a>(bytes: &'a [u8], out: &mut Vec<Record>) -> &'a [u8] {
        let mut chunks = bytes.chunks_exact(RECORD_LEN);
        for chunk in chunks.by_ref() {
            let word = |i: usize| {
                let mut b = [0u8; 4];
                b.copy_from_slice(chunk.get(i * 4..i * 4 + 4).unwrap_or(&[0; 4]));
                i32::from_ne_bytes(b)
            };
            out.push(Record {
                keeper: word(0),
                pid: word(1),
                status: WaitStatus::from_raw(word(2)),
            });
        }
        chunks.remainder()
    }
}

/// The pipe keepers write their records to: (read end, non-blocking, for the init's poll;
/// write end, inherited by each keeper).
pub fn record_pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    super::io::pipe()
}

/// Fork a keeper that spawns `argv` as [`spawn`] would and then reaps for it, writing a
/// [`Record`] to `records` for each process it reaps. Returns (keeper pid, command pid).
///
/// Crate-private for the reason [`spawn`] is: the forked copies run Rust code between fork
/// and exec, which is only sound in a process that never started a thread.
pub(crate) fn spawn_kept(
    argv: &[CString],
    placement: Placement,
    signals_for_child: ChildSignals,
    setup: &Setup,
    report: &dyn Fn(ChildEvent) -> i32,
    records: RawFd,
) -> Result<(i32, i32), Errno> {
    let (sync_read, sync_write) = blocking_pipe()?;
    // SAFETY: we are single-threaded (pid 1 never starts threads); the keeper only makes
    // syscalls and runs `spawn`, which is written for a forked child.
    let keeper = unsafe { libc::fork() };
    if keeper < 0 {
        return Err(Errno::last());
    }
    if keeper > 0 {
        drop(sync_write);
        let answer = read_i32(sync_read.as_raw_fd());
        return match answer {
            Some(pid) if pid > 0 => Ok((keeper, pid)),
            other => {
                // The keeper could not fork the command and exits at once: reap it here so
                // nothing is left behind.
                let _ = super::reap::wait_for(keeper, true);
                Err(other.map_or(Errno::EIO, |e| Errno::from_raw(-e)))
            }
        };
    }
    drop(sync_read);
    // SAFETY: PR_SET_CHILD_SUBREAPER takes 1 and zeros. If it fails, the command's orphans
    // go to pid 1 instead, which still reaps them; the unit then only loses track of them.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let answer = match spawn(argv, placement, signals_for_child, setup, report) {
        Ok(pid) => pid,
        Err(e) => -(e as i32),
    };
    super::write_all_raw(sync_write.as_raw_fd(), &answer.to_ne_bytes());
    drop(sync_write);
    if answer <= 0 {
        super::exit_now(0);
    }
    close_all_but(records);
    drop_heap();
    // `ps` and `pgrep rich-init` tell it from the init (its cmdline stays the init's).
    // SAFETY: PR_SET_NAME takes a NUL-terminated name of at most 16 bytes, and zeros.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"rich-keeper".as_ptr(), 0, 0, 0) };
    keep(records)
}

/// The keeper's whole life after the fork: reap, report, and exit once nothing is left.
fn keep(records: RawFd) -> ! {
    let me = super::getpid();
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one status into `status`.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid > 0 {
            let record = Record {
                keeper: me,
                pid,
                status: WaitStatus::from_raw(status),
            };
            super::write_all_raw(records, &record.encode());
            continue;
        }
        match Errno::last() {
            Errno::EINTR => continue,
            Errno::ECHILD => super::exit_now(0),
            _ => super::exit_now(1),
        }
    }
}

/// Give back the keeper's copy of the init's heap: it never touches it again (its loop
/// lives on the stack), and otherwise every page the init writes after the fork becomes the
/// keeper's own (copy-on-write leaves the old page to it). start_brk is field 47 of
/// /proc/self/stat, read into a stack buffer with raw calls (no allocation here).
fn drop_heap() {
    let mut buf = [0u8; 1024];
    // SAFETY: the path is a NUL-terminated literal.
    let fd = unsafe {
        libc::open(
            c"/proc/self/stat".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return;
    }
    // SAFETY: reads into a live stack buffer of its length; fd is ours and closed after.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    let Ok(n) = usize::try_from(n) else {
        return;
    };
    let Some(start) = start_brk(buf.get(..n).unwrap_or_default()) else {
        return;
    };
    // SAFETY: sbrk(0) only reads the current program break.
    let end = unsafe { libc::sbrk(0) } as usize;
    let page = 4096usize;
    let start = start.div_ceil(page) * page;
    if end > start {
        // SAFETY: [start, end) is this process's own brk heap, which nothing uses from here
        // on; MADV_DONTNEED drops the keeper's pages (the init's are untouched).
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Field 47 (start_brk) of a /proc/PID/stat line; fields are counted after the `)` that
/// closes the command name (which may hold spaces).
fn start_brk(stat: &[u8]) -> Option<usize> {
    let close = stat.iter().rposition(|b| *b == b')')?;
    let rest = stat.get(close + 1..)?;
    // After ")" comes field 3 (state); field 47 is the 45th word from there.
    let word = rest
        .split(|b| *b == b' ')
        .filter(|w| !w.is_empty())
        .nth(44)?;
    let mut n: usize = 0;
    for d in word {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(usize::from(d - b'0'))?;
    }
    Some(n)
}

/// Close every descriptor above stderr except `keep`.
fn close_all_but(keep: RawFd) {
    let keep = libc::c_uint::try_from(keep).unwrap_or(0);
    if keep > 3 {
        // SAFETY: close_range takes plain integers and only touches our descriptor table.
        unsafe { libc::close_range(3, keep - 1, 0) };
    }
    // SAFETY: as above.
    unsafe { libc::close_range(keep.max(2) + 1, libc::c_uint::MAX, 0) };
}

/// A close-on-exec pipe whose read end blocks.
fn blocking_pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Errno::last());
    }
    // SAFETY: pipe2 succeeded; both descriptors are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Read one native i32, retrying on EINTR; None at end of file (the writer died).
fn read_i32(fd: RawFd) -> Option<i32> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < buf.len() {
        let rest = buf.get_mut(got..)?;
        // SAFETY: the pointer and length come from a live, writable slice.
        let n = unsafe { libc::read(fd, rest.as_mut_ptr().cast(), rest.len()) };
        match usize::try_from(n) {
            Ok(0) => return None,
            Ok(k) => got += k,
            Err(_) if Errno::last() == Errno::EINTR => continue,
            Err(_) => return None,
        }
    }
    Some(i32::from_ne_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_brk_is_field_47() {
        let mut line = b"42 (a b) c) S".to_vec();
        for n in 4..=52 {
            line.extend_from_slice(format!(" {n}").as_bytes());
        }
        assert_eq!(start_brk(&line), Some(47));
        let own = std::fs::read("/proc/self/stat").expect("own stat");
        assert!(start_brk(&own).is_some_and(|b| b > 0));
        assert_eq!(start_brk(b"1 (x) S 2 3"), None);
    }

    #[test]
    fn records_round_trip_and_keep_a_partial_tail() {
        let records = [
            Record {
                keeper: 10,
                pid: 11,
                status: WaitStatus::from_raw(3 << 8),
            },
            Record {
                keeper: 12,
                pid: 4_000_000,
                status: WaitStatus::from_raw(libc::SIGKILL),
            },
        ];
        let mut bytes: Vec<u8> = records.iter().flat_map(|r| r.encode()).collect();
        bytes.extend_from_slice(&[1, 2, 3]);
        let mut out = Vec::new();
        let rest = Record::decode_all(&bytes, &mut out);
        assert_eq!(out, records);
        assert_eq!(rest, &[1, 2, 3]);
    }
}
