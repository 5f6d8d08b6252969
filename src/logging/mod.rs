//! Init's own log. Each event is a [`Msg`]; each personality words and prefixes it as
//! its original does (`[rich-init WARN] …`, `[dumb-init] …`, `[WARN  tini (7)] …`).
//! A line is written with one write(2), so lines never interleave mid-line. The wording
//! itself is in [`wording`].

mod wording;

pub use crate::wait_status::WaitStatus;
use wording::render;

use crate::cli::Personality;
use crate::error::Error;
use crate::sys::reap::Drained;
use crate::sys::spawn::ChildEvent;
use crate::sys::{self, Errno};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4,
}

/// Something worth saying.
#[derive(Debug, Clone, Copy)]
pub enum Msg<'a> {
    /// Not pid 1 and not a subreaper (with the prctl error when we tried).
    NotReaper(Option<Errno>),
    Subreaper,
    /// PR_GET_CHILD_SUBREAPER failed.
    SubreaperUnreadable(Errno),
    /// A forwarded signal found CMD (or its group) gone.
    ChildGone {
        sig: i32,
    },
    Startup(&'a Error),
    TtyDetached {
        leader: bool,
    },
    TtyDetachFailed(Errno),
    Spawned {
        cmd: &'a str,
        pid: i32,
    },
    Child {
        cmd: &'a str,
        event: ChildEvent,
    },
    Received(i32),
    Forwarded {
        sig: i32,
        target: i32,
    },
    Dropped(i32),
    HandoffIgnored(i32),
    Suspending,
    /// A child was reaped: CMD (`main`) or an orphan; `warn` asks for warning level.
    Reaped {
        pid: i32,
        status: WaitStatus,
        main: bool,
        warn: bool,
    },
    /// tini -w: the extra warning for a reaped orphan.
    ZombieReaped(i32),
    /// How a round of reaping ended.
    Drained(Drained),
    /// CMD has exited and we are about to exit.
    Exiting,
    /// A signal is being rewritten before forwarding.
    Translating {
        from: i32,
        to: i32,
    },
    /// A debug-level remark from argument parsing.
    Note(&'a str),
    /// A rich-mode line (services, scripts, boot and shutdown steps).
    Rich {
        level: Level,
        text: &'a str,
    },
    /// After CMD: `sig` sent to everything left, SIGKILL after `grace`.
    Sweeping {
        sig: i32,
        grace: std::time::Duration,
    },
    /// Everything left after CMD is gone.
    SweepDone,
    /// A second stop request cut the grace short.
    SweepHurried,
    /// The grace ran out: SIGKILL sent (to this many processes, when counted).
    SweepKilled(Option<usize>),
    /// Processes survived SIGKILL (uninterruptible sleep); we exit anyway.
    SweepStuck,
    CmdExited {
        status: WaitStatus,
        code: i32,
    },
    SignalReadFailed(Errno),
}

#[derive(Debug, Clone)]
pub struct Logger {
    personality: Personality,
    verbosity: u8,
}

impl Logger {
    /// The program whose wording this logger uses.
    pub fn personality(&self) -> Personality {
        self.personality
    }

    pub fn new(personality: Personality, verbosity: u8) -> Logger {
        Logger {
            personality,
            verbosity,
        }
    }

    pub fn emit(&self, msg: Msg) {
        // Skip the wording (and its allocations) for what no personality would show.
        if (floor(&msg) as u8) > self.verbosity {
            return;
        }
        let Some((level, text)) = render(self.personality, msg) else {
            return;
        };
        if level as u8 > self.verbosity && level != Level::Error {
            return;
        }
        let (fd, line) = self.frame(level, &text);
        sys::write_all_raw(fd, line.as_bytes());
    }

    /// The prefix and stream for a line at `level`.
    fn frame(&self, level: Level, text: &str) -> (i32, String) {
        match self.personality {
            Personality::Rich => {
                let name = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"][level as usize];
                (2, format!("[rich-init {name}] {text}\n"))
            }
            Personality::DumbInit => (2, format!("[dumb-init] {text}\n")),
            Personality::Tini => {
                let name = ["FATAL", "WARN ", "INFO ", "DEBUG", "TRACE"][level as usize];
                let fd = if level <= Level::Warn { 2 } else { 1 };
                (fd, format!("[{name} tini ({})] {text}\n", sys::getpid()))
            }
        }
    }
}

/// The most severe level at which any personality shows `msg`: below it, nothing to do.
pub fn floor(msg: &Msg) -> Level {
    match msg {
        Msg::NotReaper(_)
        | Msg::SignalReadFailed(_)
        | Msg::ZombieReaped(_)
        | Msg::ChildGone { .. } => Level::Warn,
        Msg::Reaped { warn: true, .. } | Msg::Drained(Drained::Failed(_)) => Level::Warn,
        Msg::Spawned { .. } | Msg::CmdExited { .. } => Level::Info,
        Msg::Child { event, .. } if !event.is_fatal() => Level::Debug,
        Msg::Subreaper
        | Msg::SubreaperUnreadable(_)
        | Msg::TtyDetached { .. }
        | Msg::TtyDetachFailed(_)
        | Msg::Received(_)
        | Msg::Forwarded { .. }
        | Msg::Dropped(_)
        | Msg::HandoffIgnored(_)
        | Msg::Suspending
        | Msg::Reaped { .. }
        | Msg::Translating { .. }
        | Msg::Note(_) => Level::Debug,
        Msg::Drained(_) | Msg::Exiting => Level::Trace,
        Msg::SweepKilled(_) | Msg::SweepStuck => Level::Warn,
        Msg::Sweeping { .. } | Msg::SweepHurried => Level::Info,
        Msg::SweepDone => Level::Debug,
        Msg::Rich { level, .. } => *level,
        Msg::Startup(_) | Msg::Child { .. } => Level::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        let orphan = |warn| Msg::Reaped {
            pid: 5,
            status: WaitStatus::from_raw(0),
            main: false,
            warn,
        };
        assert_eq!(
            render(Personality::Rich, orphan(false)).map(|r| r.0),
            Some(Level::Debug)
        );
        assert_eq!(
            render(Personality::Rich, orphan(true)).map(|r| r.0),
            Some(Level::Warn)
        );
        assert_eq!(
            render(Personality::Tini, orphan(true)).map(|r| r.0),
            Some(Level::Debug)
        );
        assert_eq!(
            render(Personality::Tini, Msg::ZombieReaped(5)).map(|r| r.0),
            Some(Level::Warn)
        );
        assert!(render(Personality::DumbInit, Msg::NotReaper(None)).is_none());
        assert_eq!(
            render(Personality::Tini, Msg::NotReaper(None)).map(|r| r.0),
            Some(Level::Warn)
        );
    }

    #[test]
    fn floor_is_never_above_what_render_says() {
        let err = Error::Fork(Errno::EAGAIN);
        let pdeath = Error::ParentDeathSignal(Errno::EINVAL);
        let samples = [
            Msg::NotReaper(None),
            Msg::Subreaper,
            Msg::SubreaperUnreadable(Errno::EINVAL),
            Msg::ChildGone { sig: 10 },
            Msg::Startup(&pdeath),
            Msg::Startup(&err),
            Msg::TtyDetached { leader: true },
            Msg::TtyDetachFailed(Errno::ENOTTY),
            Msg::Spawned { cmd: "x", pid: 2 },
            Msg::Child {
                cmd: "x",
                event: ChildEvent::ExecFailed(Errno::ENOENT),
            },
            Msg::Child {
                cmd: "x",
                event: ChildEvent::TtyAttachFailed(Errno::ENOTTY),
            },
            Msg::Child {
                cmd: "x",
                event: ChildEvent::ForegroundFailed(Errno::EIO),
            },
            Msg::Child {
                cmd: "x",
                event: ChildEvent::SetsidDone,
            },
            Msg::Received(10),
            Msg::Forwarded {
                sig: 10,
                target: -2,
            },
            Msg::Dropped(10),
            Msg::HandoffIgnored(1),
            Msg::Suspending,
            Msg::Reaped {
                pid: 3,
                status: WaitStatus::from_raw(0),
                main: false,
                warn: false,
            },
            Msg::Reaped {
                pid: 3,
                status: WaitStatus::from_raw(0),
                main: false,
                warn: true,
            },
            Msg::Reaped {
                pid: 3,
                status: WaitStatus::from_raw(0),
                main: true,
                warn: false,
            },
            Msg::ZombieReaped(3),
            Msg::Drained(Drained::NoChildren),
            Msg::Drained(Drained::Failed(Errno::EINVAL)),
            Msg::Exiting,
            Msg::Translating { from: 10, to: 12 },
            Msg::Note("n"),
            Msg::CmdExited {
                status: WaitStatus::from_raw(15),
                code: 143,
            },
            Msg::SignalReadFailed(Errno::EBADF),
            Msg::Sweeping {
                sig: 15,
                grace: std::time::Duration::from_secs(5),
            },
            Msg::SweepDone,
            Msg::SweepHurried,
            Msg::SweepKilled(Some(3)),
            Msg::SweepStuck,
            Msg::Rich {
                level: Level::Info,
                text: "x",
            },
        ];
        for p in [Personality::Rich, Personality::DumbInit, Personality::Tini] {
            for msg in samples {
                if let Some((level, _)) = render(p, msg) {
                    assert!(
                        level >= floor(&msg),
                        "{p:?} {msg:?}: {level:?} < {:?}",
                        floor(&msg)
                    );
                }
            }
        }
    }
}
