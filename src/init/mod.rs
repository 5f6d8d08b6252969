//! The pid-1 loop for single-child mode: block every signal, start CMD, then sleep in
//! one blocking read of the signalfd and dispatch what arrives. Idle means no wake-ups.

pub mod forward;

use crate::cli::{Isolation, Personality, Settings, Subreaper};
use crate::error::Error;
use crate::logging::{Logger, Msg};
use crate::procs::{Owner, Procs};
use crate::sys::reap::{self, Exit};
use crate::sys::signals::{self, Received, SignalFd};
use crate::sys::spawn::{self, ChildEvent, Placement};
use crate::sys::{self, subreaper, tty, Errno};
use forward::{Handoff, Route, Rules};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

/// Run CMD under our supervision; returns our exit code.
pub fn run(settings: &Settings) -> i32 {
    let log = Logger::new(settings.personality, settings.verbosity);
    for note in &settings.notes {
        log.emit(Msg::Note(note));
    }
    match start(settings, &log) {
        Ok(code) => code,
        Err(e) => {
            log.emit(Msg::Startup(&e));
            e.exit_code()
        }
    }
}

/// The child's exit code for a fatal event between fork and exec.
fn child_exit_code(personality: Personality, event: ChildEvent) -> i32 {
    match (personality, event) {
        (Personality::DumbInit, ChildEvent::ExecFailed(_)) => 2,
        (_, ChildEvent::ExecFailed(Errno::ENOENT)) => 127,
        (_, ChildEvent::ExecFailed(_)) => 126,
        _ => 1,
    }
}

fn build_argv(command: &[std::ffi::OsString]) -> Result<Vec<CString>, Error> {
    command
        .iter()
        .enumerate()
        .map(|(index, a)| CString::new(a.as_bytes()).map_err(|_| Error::NulInArgument { index }))
        .collect()
}

fn start(settings: &Settings, log: &Logger) -> Result<i32, Error> {
    let argv = build_argv(&settings.command)?;
    let mask = signals::block_all().map_err(Error::BlockSignals)?;
    let sigfd = SignalFd::new().map_err(Error::SignalFd)?;

    if let Some(sig) = settings.parent_death_signal {
        if let Err(e) = subreaper::set_parent_death_signal(sig) {
            log.emit(Msg::ParentDeathSignalFailed(e));
        }
    }
    if !subreaper::is_pid1() {
        match settings.subreaper {
            Subreaper::Auto | Subreaper::Requested => match subreaper::become_subreaper() {
                Ok(()) => log.emit(Msg::Subreaper),
                Err(e) => log.emit(Msg::NotReaper(Some(e))),
            },
            Subreaper::Off => log.emit(Msg::NotReaper(None)),
        }
    }

    let mut handoff = Handoff::default();
    if settings.isolation == Isolation::Session {
        match tty::detach_controlling_tty() {
            Ok(()) => {
                let leader = tty::is_session_leader();
                if leader {
                    handoff = Handoff::armed();
                }
                log.emit(Msg::TtyDetached { leader });
            }
            Err(e) => log.emit(Msg::TtyDetachFailed(e)),
        }
    }

    let cmd = settings
        .command
        .first()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    let placement = match settings.isolation {
        Isolation::Session => Placement::Session,
        Isolation::Group => Placement::Group,
        Isolation::None => Placement::Inherit,
    };
    let report = |event: ChildEvent| {
        log.emit(Msg::Child { cmd: &cmd, event });
        child_exit_code(settings.personality, event)
    };
    let pid = spawn::spawn(&argv, placement, &mask, &report).map_err(Error::Fork)?;
    log.emit(Msg::Spawned { cmd: &cmd, pid });

    let mut procs = Procs::default();
    procs.register(pid, Owner::Cmd);
    let status = supervise(
        &Rules::new(settings),
        log,
        &sigfd,
        pid,
        &mut procs,
        handoff,
        settings.warn_on_reap,
    );
    Ok(finish(settings, log, pid, status))
}

/// Wait for signals until CMD has exited; returns its raw wait status.
fn supervise(
    rules: &Rules,
    log: &Logger,
    sigfd: &SignalFd,
    child: i32,
    procs: &mut Procs,
    mut handoff: Handoff,
    warn_on_reap: bool,
) -> i32 {
    let me = u32::try_from(sys::getpid()).unwrap_or(0);
    let mut batch: Vec<Received> = Vec::with_capacity(64);
    let mut exits: Vec<Exit> = Vec::with_capacity(64);
    loop {
        batch.clear();
        if let Err(e) = sigfd.read(&mut batch) {
            if e != Errno::EINTR && e != Errno::EAGAIN {
                log.emit(Msg::SignalReadFailed(e));
                if let Ok(r) = signals::wait_one() {
                    batch.push(r);
                }
            }
        }
        let mut cmd_status = None;
        for r in &batch {
            log.emit(Msg::Received(r.signo));
            match forward::route(rules, &mut handoff, r.signo, r.pid == me) {
                Route::Reap => {
                    exits.clear();
                    let end = reap::drain(&mut exits);
                    for e in &exits {
                        let main = procs.exited(e.pid) == Some(Owner::Cmd);
                        if main {
                            cmd_status = Some(e.status);
                        }
                        let warn = warn_on_reap && !main;
                        log.emit(Msg::Reaped {
                            pid: e.pid,
                            status: e.status,
                            main,
                            warn,
                        });
                        if warn {
                            log.emit(Msg::ZombieReaped(e.pid));
                        }
                    }
                    log.emit(Msg::Drained(end));
                }
                Route::HandoffIgnored => log.emit(Msg::HandoffIgnored(r.signo)),
                Route::Skip => {}
                Route::Forward { sig, stop_self } => {
                    deliver(rules, log, child, r.signo, sig);
                    if stop_self {
                        log.emit(Msg::Suspending);
                        // A stop we cannot apply (pid 1 in its namespace) is simply ignored.
                        let _ = signals::kill(sys::getpid(), libc::SIGSTOP);
                    }
                }
            }
        }
        if let Some(status) = cmd_status {
            return status;
        }
    }
}

/// Send `sig` (the translation of `original`) to the child or its group.
fn deliver(rules: &Rules, log: &Logger, child: i32, original: i32, sig: i32) {
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
    let target = rules.target(child);
    // ESRCH (the child or its group is already gone) leaves nothing to forward to.
    let _ = signals::kill(target, sig);
    log.emit(Msg::Forwarded { sig, target });
}

/// CMD has exited: clean up after it as the personality does and compute our code.
fn finish(settings: &Settings, log: &Logger, child: i32, status: i32) -> i32 {
    let rules = Rules::new(settings);
    if settings.term_on_exit {
        let sig = rules.translate(libc::SIGTERM);
        deliver(&rules, log, child, libc::SIGTERM, sig);
    }
    let code = reap::exit_code(status);
    log.emit(Msg::CmdExited { status, code });
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
