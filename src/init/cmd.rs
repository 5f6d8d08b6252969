//! CMD's start and its signals, shared by the single-child loop and rich mode.

use super::child_exit_code;
use super::forward::{Handoff, Rules};
use crate::cli::{Isolation, Settings};
use crate::error::Error;
use crate::logging::{Logger, Msg};
use crate::sys::signals;
use crate::sys::spawn::{self, ChildEvent, ChildSignals, Placement};
use crate::sys::{tty, Errno};
use std::ffi::CString;

/// Give the terminal to CMD's session (session isolation), then fork and exec CMD as
/// the settings place it. Returns its pid and the terminal hand-off signals to expect.
pub(crate) fn spawn_cmd(
    settings: &Settings,
    log: &Logger,
    argv: &[CString],
    child_signals: ChildSignals,
) -> Result<(i32, Handoff), Error> {
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
    let pid = spawn::spawn(
        argv,
        placement,
        child_signals,
        &spawn::Setup::default(),
        &report,
    )
    .map_err(Error::Fork)?;
    log.emit(Msg::Spawned { cmd: &cmd, pid });
    Ok((pid, handoff))
}

/// Send `sig` to CMD or its group, as the rules say. Until CMD has made its own group
/// (setsid/setpgid happen after fork) the group does not exist; CMD is then still in
/// ours, reachable by pid, and keeps the signal pending across exec until it unblocks it.
pub(crate) fn signal_cmd(rules: &Rules, child: i32, sig: i32) -> Result<(), Errno> {
    if rules.target(child) < 0 {
        signals::kill_group_or_pid(child, sig)
    } else {
        signals::kill(child, sig)
    }
}
