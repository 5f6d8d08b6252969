//! The pid-1 loop for single-child mode: with every signal blocked (from the first
//! instruction of `main`), start CMD, then sleep in one blocking read of the signalfd
//! and dispatch what arrives. Idle means no wake-ups.

mod cmd;
pub mod forward;
mod reaping;
mod rich;
pub mod shutdown;

pub(crate) use cmd::{signal_cmd, spawn_cmd};

use crate::cli::{Personality, Settings};
use crate::error::Error;
use crate::logging::{Logger, Msg};
use crate::procs::{Owner, Procs};
use crate::sys::reap::{self, Drained, Exit};
use crate::sys::signals::{self, Received, SigSet, SignalFd};
use crate::sys::spawn::{ChildEvent, ChildSignals};
use crate::sys::{self, subreaper, Errno};
use crate::wait_status::WaitStatus;
use forward::{Handoff, Route, Rules};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

/// Run CMD under our supervision; returns our exit code. `blocked` is what
/// [`signals::block_all`] returned at the start of `main`: the mask we started with.
pub fn run(settings: &Settings, blocked: Result<SigSet, Errno>) -> i32 {
    let log = Logger::new(settings.personality, settings.verbosity);
    for note in &settings.notes {
        log.emit(Msg::Note(note));
    }
    let result = blocked
        .map_err(Error::BlockSignals)
        .and_then(|mask| match &settings.rich {
            Some(rich) => rich::run(settings, rich, &log, mask),
            None => start(settings, &log, mask),
        });
    match result {
        Ok(code) => code,
        Err(e) => {
            log.emit(Msg::Startup(&e));
            e.exit_code()
        }
    }
}

/// The child's exit code for a fatal event between fork and exec.
pub(crate) fn child_exit_code(personality: Personality, event: ChildEvent) -> i32 {
    match (personality, event) {
        (Personality::DumbInit, ChildEvent::ExecFailed(_)) => 2,
        (_, ChildEvent::ExecFailed(Errno::ENOENT)) => 127,
        (_, ChildEvent::ExecFailed(Errno::EACCES)) => 126,
        // tini: any other exec failure is a plain 1.
        (Personality::Tini, ChildEvent::ExecFailed(_)) => 1,
        (_, ChildEvent::ExecFailed(_)) => 126,
        _ => 1,
    }
}

pub(crate) fn build_argv(command: &[std::ffi::OsString]) -> Result<Vec<CString>, Error> {
    command
        .iter()
        .enumerate()
        .map(|(index, a)| CString::new(a.as_bytes()).map_err(|_| Error::NulInArgument { index }))
        .collect()
}

/// Become a reaper of orphans, as the settings ask (see [`reaping`]).
pub(crate) fn set_up_reaping(settings: &Settings, log: &Logger) -> Result<(), Error> {
    // With SIGCHLD ignored (inherited from our parent), the kernel would reap CMD behind
    // our back and we would wait for its status for ever.
    signals::set_default(libc::SIGCHLD).map_err(Error::BlockSignals)?;
    let notes = reaping::set_up(
        settings.personality,
        settings.subreaper,
        subreaper::is_pid1(),
        subreaper::become_subreaper,
        subreaper::is_child_subreaper,
    )
    .map_err(Error::Subreaper)?;
    for note in notes {
        log.emit(match note {
            reaping::Note::Registered => Msg::Subreaper,
            reaping::Note::Unreadable(e) => Msg::SubreaperUnreadable(e),
            reaping::Note::NotReaper(e) => Msg::NotReaper(e),
        });
    }
    Ok(())
}

fn start(settings: &Settings, log: &Logger, mask: SigSet) -> Result<i32, Error> {
    let argv = build_argv(&settings.command)?;
    let sigfd = SignalFd::new().map_err(Error::SignalFd)?;
    if let Some(sig) = settings.parent_death_signal {
        subreaper::set_parent_death_signal(sig).map_err(Error::ParentDeathSignal)?;
    }
    set_up_reaping(settings, log)?;

    let child_signals = match settings.personality {
        Personality::DumbInit => ChildSignals::Reset,
        Personality::Rich | Personality::Tini => ChildSignals::Restore(mask),
    };
    let (pid, handoff) = spawn_cmd(settings, log, &argv, child_signals)?;
    if settings.personality == Personality::DumbInit {
        // dumb-init does not keep its start directory busy; CMD keeps its own.
        let _ = nix::unistd::chdir("/");
    }

    let mut procs = Procs::default();
    procs.register(pid, Owner::Cmd);
    let rules = Rules::new(settings);
    let mut loop_state = Loop {
        rules: &rules,
        log,
        child: pid,
        procs,
        handoff,
        warn_on_reap: settings.warn_on_reap,
    };
    let status = loop_state.supervise(&sigfd)?;
    Ok(finish(settings, log, &sigfd, pid, status))
}

/// What the loop needs while CMD runs.
struct Loop<'a> {
    rules: &'a Rules,
    log: &'a Logger,
    child: i32,
    procs: Procs,
    handoff: Handoff,
    warn_on_reap: bool,
}

impl Loop<'_> {
    /// Wait for signals until CMD has exited; returns its wait status.
    fn supervise(&mut self, sigfd: &SignalFd) -> Result<WaitStatus, Error> {
        let me = u32::try_from(sys::getpid()).unwrap_or(0);
        let mut batch: Vec<Received> = Vec::with_capacity(16);
        let mut exits: Vec<Exit> = Vec::with_capacity(64);
        loop {
            batch.clear();
            if let Err(e) = sigfd.read(&mut batch) {
                if e != Errno::EINTR && e != Errno::EAGAIN {
                    self.log.emit(Msg::SignalReadFailed(e));
                    if let Ok(r) = signals::wait_one() {
                        batch.push(r);
                    }
                }
            }
            for r in &batch {
                self.log.emit(Msg::Received(r.signo));
                match forward::route(self.rules, &mut self.handoff, r.signo, r.pid == me) {
                    Route::Reap => {
                        if let Some(status) = self.reap(&mut exits)? {
                            // Signals after CMD's exit have no one to go to.
                            return Ok(status);
                        }
                    }
                    Route::HandoffIgnored => self.log.emit(Msg::HandoffIgnored(r.signo)),
                    Route::Skip => {}
                    Route::Forward { sig, stop_self } => {
                        self.forward(r.signo, sig);
                        if stop_self {
                            self.log.emit(Msg::Suspending);
                            // A stop we cannot apply (pid 1 in its namespace) is simply ignored.
                            let _ = signals::kill(sys::getpid(), libc::SIGSTOP);
                        }
                    }
                }
            }
        }
    }

    /// Collect every exited child; CMD's status once it is among them.
    fn reap(&mut self, exits: &mut Vec<Exit>) -> Result<Option<WaitStatus>, Error> {
        exits.clear();
        let end = reap::drain(exits);
        let mut cmd_status = None;
        for e in exits.iter() {
            let main = self.procs.exited(e.pid) == Some(Owner::Cmd);
            if main {
                cmd_status = Some(e.status);
            }
            let warn = self.warn_on_reap && !main;
            self.log.emit(Msg::Reaped {
                pid: e.pid,
                status: e.status,
                main,
                warn,
            });
            if warn {
                self.log.emit(Msg::ZombieReaped(e.pid));
            }
            // tini says how its child exited as it reaps it, before the drain ends.
            if main && self.log.personality() == Personality::Tini {
                self.log.emit(Msg::CmdExited {
                    status: e.status,
                    code: e.status.exit_code(),
                });
            }
        }
        self.log.emit(Msg::Drained(end));
        if cmd_status.is_none() && end == Drained::NoChildren {
            return Err(Error::CmdVanished { pid: self.child });
        }
        Ok(cmd_status)
    }

    /// Forward `original`, translated to `sig`, while CMD runs.
    fn forward(&self, original: i32, sig: i32) {
        let log = self.log;
        if sig != original {
            log.emit(Msg::Translating {
                from: original,
                to: sig,
            });
        }
        if sig == 0 {
            log.emit(Msg::Dropped(original));
            return;
        }
        let target = self.rules.target(self.child);
        match signal_cmd(self.rules, self.child, sig) {
            Err(Errno::ESRCH) => log.emit(Msg::ChildGone { sig }),
            _ => log.emit(Msg::Forwarded { sig, target }),
        }
    }
}

/// CMD has exited: clean up after it as the personality does and compute our code.
fn finish(
    settings: &Settings,
    log: &Logger,
    sigfd: &SignalFd,
    child: i32,
    status: WaitStatus,
) -> i32 {
    let rules = Rules::new(settings);
    let code = status.exit_code();
    // With a sweep (which may take up to the grace), say so first; dumb-init says it last.
    if settings.grace.is_some() {
        log.emit(Msg::CmdExited { status, code });
    }
    if settings.term_on_exit {
        let sig = rules.translate(libc::SIGTERM);
        if sig != libc::SIGTERM {
            log.emit(Msg::Translating {
                from: libc::SIGTERM,
                to: sig,
            });
        }
        let target = rules.target(child);
        match settings.grace {
            // rich-init: everything CMD left, then SIGKILL at the grace deadline.
            Some(grace) if target < 0 => shutdown::sweep(log, sigfd, sig, grace),
            _ if sig == 0 => log.emit(Msg::Dropped(libc::SIGTERM)),
            _ => {
                // What is left of CMD's group. CMD alone is reaped, and its pid may
                // already belong to someone else, so in child mode nothing is sent.
                if target < 0 {
                    let _ = signals::kill(target, sig);
                }
                log.emit(Msg::Forwarded { sig, target });
            }
        }
    }
    if settings.grace.is_none() && settings.personality != Personality::Tini {
        log.emit(Msg::CmdExited { status, code });
    }
    log.emit(Msg::Exiting);
    if settings.remap_to_zero.iter().any(|c| i32::from(*c) == code) {
        0
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failure_codes_per_personality() {
        let cases = [
            (
                Personality::Rich,
                ChildEvent::ExecFailed(Errno::ENOENT),
                127,
            ),
            (
                Personality::Rich,
                ChildEvent::ExecFailed(Errno::EACCES),
                126,
            ),
            (
                Personality::Rich,
                ChildEvent::ExecFailed(Errno::ENOEXEC),
                126,
            ),
            (
                Personality::Tini,
                ChildEvent::ExecFailed(Errno::ENOENT),
                127,
            ),
            (
                Personality::Tini,
                ChildEvent::ExecFailed(Errno::EACCES),
                126,
            ),
            (
                Personality::DumbInit,
                ChildEvent::ExecFailed(Errno::ENOENT),
                2,
            ),
            (
                Personality::DumbInit,
                ChildEvent::ExecFailed(Errno::EACCES),
                2,
            ),
            (
                Personality::DumbInit,
                ChildEvent::SetsidFailed(Errno::EPERM),
                1,
            ),
            (
                Personality::Tini,
                ChildEvent::SetpgidFailed(Errno::EPERM),
                1,
            ),
        ];
        for (p, event, want) in cases {
            assert_eq!(child_exit_code(p, event), want, "{p:?} {event:?}");
        }
    }

    #[test]
    fn nul_in_argument_is_an_error() {
        let args = vec![
            std::ffi::OsString::from("echo"),
            std::ffi::OsString::from("a\0b"),
        ];
        assert!(matches!(
            build_argv(&args),
            Err(Error::NulInArgument { index: 1 })
        ));
    }
}
