//! An init on a pseudo-terminal, in one of two seats:
//! - `Leader`: the init leads a new session whose controlling terminal is the pty, as
//!   with `docker run -t` (it must hand the terminal over to CMD itself);
//! - `Job`: a shell-like session leader owns the pty and runs the init as its foreground
//!   job in a process group of its own, as when a user types `dumb-init CMD` in a terminal.
//!
//! CMD is a shell that records each SIGWINCH it gets and stays until told to quit. The test drives the terminal through the master side.

use crate::harness::{only_child, stat, wait_for, Run, Running, Stat, TempDir};
use crate::signal_rig::KEEPER;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    Leader,
    Job,
}

/// Sent directly to CMD to make it exit 0.
const QUIT: i32 = 62;

/// CMD waits on a keeper (see signal_rig), and kills it on its way out.
fn cmd_script() -> String {
    format!(
        r#"mark="$RIG/keeper"
{KEEPER}
trap 'echo winch >> "$RIG/winch"' WINCH
trap 'kill -KILL $keeper; exit 0' 62
: > "$RIG/ready"
while :; do
    wait $keeper
done
"#
    )
}

pub struct PtyRig {
    running: Running,
    master: std::fs::File,
    pub init: i32,
    pub cmd: i32,
    winches: usize,
    screen: Arc<Mutex<Vec<u8>>>,
    dir: TempDir,
}

fn cloexec(fd: &OwnedFd) {
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .expect("cannot set FD_CLOEXEC on the pty");
}

/// In the forked child before exec (only async-signal-safe calls): become a session
/// leader with the pty (already on fd 0) as controlling terminal; for `Job`, fork again,
/// stay behind as the session leader that waits for the init like a shell, and let the
/// new child go on to exec the init in its own, foreground, process group.
fn seat_child(seat: Seat) -> std::io::Result<()> {
    let check = |rc: libc::c_int| {
        if rc < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    };
    // SAFETY: plain syscalls on our own process and descriptors.
    unsafe {
        check(libc::setsid())?;
        check(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
        if seat == Seat::Leader {
            return Ok(());
        }
        let mut gate = [0; 2];
        check(libc::pipe2(gate.as_mut_ptr(), libc::O_CLOEXEC))?;
        let pid = check(libc::fork())?;
        if pid == 0 {
            libc::close(gate[1]);
            libc::setpgid(0, 0);
            // Wait until the leader has made our group the foreground one.
            let mut byte = 0u8;
            libc::read(gate[0], std::ptr::addr_of_mut!(byte).cast(), 1);
            libc::close(gate[0]);
            return Ok(());
        }
        libc::close(gate[0]);
        libc::setpgid(pid, pid);
        libc::tcsetpgrp(0, pid);
        libc::write(gate[1], b"g".as_ptr().cast(), 1);
        libc::close(gate[1]);
        // Close the spawner's exec-error pipe so that it sees our exec-less "success".
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        let mut status = 0;
        loop {
            let rc = libc::waitpid(pid, &mut status, 0);
            if rc == pid {
                break;
            }
            if rc < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(125);
            }
        }
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else if libc::WIFSIGNALED(status) {
            128 + libc::WTERMSIG(status)
        } else {
            125
        };
        libc::_exit(code)
    }
}

impl PtyRig {
    pub fn start(init: &[OsString], seat: Seat) -> PtyRig {
        let dir = TempDir::new("pty");
        let pty = nix::pty::openpty(None, None).expect("openpty");
        cloexec(&pty.master);
        cloexec(&pty.slave);
        let (program, rest) = init.split_first().expect("an init command line");
        let mut run = Run::new(program)
            .args(rest)
            .args(["--", "sh", "-c", &cmd_script()])
            .env("RIG", dir.path())
            .stdio(&pty.slave)
            .without_own_group();
        // SAFETY: seat_child only makes async-signal-safe calls.
        unsafe {
            run.command_mut().pre_exec(move || seat_child(seat));
        }
        let mut running = run.spawn();
        drop(pty.slave);
        let master = std::fs::File::from(pty.master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("dup the pty master");
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.extend_from_slice(&chunk[..n]);
                }
            }
        });
        let ready = dir.join("ready");
        let what = format!("CMD to start on the pty ({})", running.label());
        wait_for(&what, || {
            running.assert_running(&what);
            ready.exists().then_some(())
        });
        let init = match seat {
            Seat::Leader => running.pid(),
            Seat::Job => only_child(running.pid()),
        };
        let cmd = only_child(init);
        PtyRig {
            running,
            master,
            init,
            cmd,
            winches: 0,
            screen,
            dir,
        }
    }

    pub fn cmd_stat(&self) -> Stat {
        stat(self.cmd).expect("CMD is alive")
    }

    /// (init, CMD) stopped?
    pub fn stopped(&self) -> (bool, bool) {
        let s = |pid| stat(pid).is_some_and(|s| matches!(s.state, 'T' | 't'));
        (s(self.init), s(self.cmd))
    }

    /// What the processes wrote to the terminal so far (for failure messages).
    pub fn screen(&self) -> String {
        let bytes = self.screen.lock().map(|s| s.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Type bytes on the terminal.
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        self.master
            .write_all(bytes)
            .expect("write to the pty master");
    }

    /// Resize the terminal, which sends SIGWINCH to its foreground group, and wait until
    /// CMD has recorded one more SIGWINCH, or is stopped (it cannot record it then).
    /// Anything the foreground group was sent before has then been dealt with: pending
    /// signals are taken lowest number first, and SIGWINCH is above the job-control stops.
    pub fn winch_fence(&mut self) {
        self.winches += 1;
        let size = libc::winsize {
            ws_row: 24,
            ws_col: u16::try_from(80 + self.winches).unwrap_or(80),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize from the pointer we pass.
        let rc = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        assert_eq!(rc, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
        let path = self.dir.join("winch");
        let want = self.winches;
        wait_for("CMD to record SIGWINCH or to stop", || {
            let n = std::fs::read_to_string(&path)
                .unwrap_or_default()
                .lines()
                .count();
            (n >= want || self.stopped().1).then_some(())
        });
    }

    /// Tell CMD to exit 0 and return the exit status of what we started.
    pub fn finish(self) -> Option<i32> {
        // SAFETY: kill(2) with a plain pid and signal number.
        unsafe { libc::kill(self.cmd, QUIT) };
        self.running.wait().code()
    }
}
