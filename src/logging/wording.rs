//! How each personality words each [`Msg`]: rich-init's own lines, and dumb-init's and
//! tini's exactly as the originals print them (the verbose differential tests hold us
//! to that).

use super::{Level, Msg};
use crate::cli::Personality;
use crate::signame;
use crate::sys::reap::Drained;
use crate::sys::spawn::ChildEvent;
use crate::sys::{self, Errno};

fn errno_text(e: Errno) -> String {
    sys::strerror(e)
}

/// Word `msg` for `personality`; `None` when that program says nothing about it.
pub fn render(personality: Personality, msg: Msg) -> Option<(Level, String)> {
    use Level::*;
    use Personality::*;
    let r = |level: Level, text: String| Some((level, text));
    match (personality, msg) {
        (Rich, Msg::NotReaper(e)) => r(
            Warn,
            format!(
                "not pid 1 and cannot become a child subreaper ({}): orphans of CMD will not be reaped; \
                 run as pid 1 or on Linux >= 3.4",
                e.map(errno_text).unwrap_or_else(|| "not requested".into())
            ),
        ),
        (Tini, Msg::NotReaper(_)) => r(
            Warn,
            "Tini is not running as PID 1 and isn't registered as a child subreaper.\n\
             Zombie processes will not be re-parented to Tini, so zombie reaping won't work.\n\
             To fix the problem, use the -s option or set the environment variable TINI_SUBREAPER to \
             register Tini as a child subreaper, or run Tini as PID 1."
                .into(),
        ),
        (DumbInit, Msg::NotReaper(_)) => None,
        (Rich, Msg::Subreaper) => r(Debug, "registered as a child subreaper".into()),
        (Tini, Msg::Subreaper) => r(Trace, "Registered as child subreaper".into()),
        (DumbInit, Msg::Subreaper | Msg::SubreaperUnreadable(_)) => None,
        (Tini, Msg::SubreaperUnreadable(e)) => {
            r(Debug, format!("Failed to read child subreaper attribute: {}", errno_text(e)))
        }
        (Rich, Msg::SubreaperUnreadable(e)) => {
            r(Debug, format!("cannot read the child subreaper bit ({})", errno_text(e)))
        }
        (Tini, Msg::Startup(crate::error::Error::ParentDeathSignal(_))) => {
            r(Error, "Failed to set up parent death signal".into())
        }
        (Tini, Msg::Startup(crate::error::Error::Subreaper(Errno::EINVAL))) => r(
            Error,
            "PR_SET_CHILD_SUBREAPER is unavailable on this platform. Are you using Linux >= 3.4?".into(),
        ),
        (Tini, Msg::Startup(crate::error::Error::Subreaper(e))) => {
            r(Error, format!("Failed to register as child subreaper: {}", errno_text(*e)))
        }
        (Tini, Msg::ChildGone { .. }) => r(Warn, "Child was dead when forwarding signal".into()),
        (DumbInit, Msg::ChildGone { sig }) => r(Debug, format!("Forwarded signal {sig} to children.")),
        (Rich, Msg::ChildGone { sig }) => {
            r(Debug, format!("could not forward {}: CMD is gone", signame::name(sig)))
        }
        (DumbInit, Msg::Startup(crate::error::Error::Fork(_))) => r(Error, "Unable to fork. Exiting.".into()),
        (Tini, Msg::Startup(crate::error::Error::Fork(e))) => r(Error, format!("fork failed: {}", errno_text(*e))),
        (_, Msg::Startup(e)) => r(Error, e.to_string()),
        (DumbInit, Msg::TtyDetached { leader: true }) => {
            r(Debug, "Detached from controlling tty, ignoring the first SIGHUP and SIGCONT we receive.".into())
        }
        (DumbInit, Msg::TtyDetached { leader: false }) => {
            r(Debug, "Detached from controlling tty, but was not session leader.".into())
        }
        (Rich, Msg::TtyDetached { leader }) => r(Debug, format!("gave the terminal to CMD's session (session leader: {leader})")),
        (DumbInit, Msg::TtyDetachFailed(e)) => r(
            Debug,
            format!("Unable to detach from controlling tty (errno={} {}).", e as i32, errno_text(e)),
        ),
        (Rich, Msg::TtyDetachFailed(e)) => r(Debug, format!("no controlling terminal to hand over ({})", errno_text(e))),
        (Tini, Msg::TtyDetached { .. } | Msg::TtyDetachFailed(_)) => None,
        (DumbInit, Msg::Spawned { pid, .. }) => r(Debug, format!("Child spawned with PID {pid}.")),
        (Tini, Msg::Spawned { cmd, pid }) => r(Info, format!("Spawned child process '{cmd}' with pid '{pid}'")),
        (Rich, Msg::Spawned { cmd, pid }) => r(Info, format!("started {cmd} as pid {pid}")),
        (p, Msg::Child { cmd, event }) => render_child(p, cmd, event),
        (DumbInit, Msg::Received(sig)) => r(Debug, format!("Received signal {sig}.")),
        (Tini, Msg::Received(sig)) if sig == libc::SIGCHLD => r(Debug, "Received SIGCHLD".into()),
        // tini ignores these (SIG_IGN), so it never sees them arrive.
        (Tini, Msg::Received(libc::SIGTTIN | libc::SIGTTOU)) => None,
        (Tini, Msg::Received(sig)) => r(Debug, format!("Passing signal: '{}'", sys::strsignal(sig))),
        (Rich, Msg::Received(sig)) => r(Debug, format!("received {}", signame::name(sig))),
        (DumbInit, Msg::Forwarded { sig, .. }) => r(Debug, format!("Forwarded signal {sig} to children.")),
        (Rich, Msg::Forwarded { sig, target }) if target < 0 => {
            r(Debug, format!("forwarded {} to process group {}", signame::name(sig), -target))
        }
        (Rich, Msg::Forwarded { sig, target }) => r(Debug, format!("forwarded {} to pid {target}", signame::name(sig))),
        (Tini, Msg::Forwarded { .. }) => None,
        (DumbInit, Msg::Dropped(_)) => r(Debug, "Not forwarding signal 0 to children (ignored).".into()),
        (Rich, Msg::Dropped(sig)) => r(Debug, format!("not forwarding {} (rewritten to 0)", signame::name(sig))),
        (Tini, Msg::Dropped(_)) => None,
        (DumbInit, Msg::HandoffIgnored(sig)) => r(Debug, format!("Ignoring tty hand-off signal {sig}.")),
        (Rich, Msg::HandoffIgnored(sig)) => r(Debug, format!("ignored {} from the terminal hand-off", signame::name(sig))),
        (Tini, Msg::HandoffIgnored(_)) => None,
        (DumbInit, Msg::Suspending) => r(Debug, "Suspending self due to TTY signal.".into()),
        (Rich, Msg::Suspending) => r(Debug, "stopping ourselves after CMD's job-control stop".into()),
        (Tini, Msg::Suspending) => None,
        (DumbInit, Msg::Reaped { pid, status, .. }) => r(
            Debug,
            match status.signal() {
                Some(sig) => format!("A child with PID {pid} was terminated by signal {sig}."),
                None => format!("A child with PID {pid} exited with exit status {}.", status.exit_code()),
            },
        ),
        (Tini, Msg::Reaped { pid, .. }) => r(Debug, format!("Reaped child with pid: '{pid}'")),
        (Rich, Msg::Reaped { main: true, .. }) => None,
        (Rich, Msg::Reaped { pid, status, warn, .. }) => r(
            if warn { Warn } else { Debug },
            format!("reaped orphan pid {pid} (exit status {})", status.exit_code()),
        ),
        (Tini, Msg::ZombieReaped(pid)) => r(Warn, format!("Reaped zombie process with pid={pid}")),
        (_, Msg::ZombieReaped(_)) => None,
        (Tini, Msg::Drained(Drained::NoChildren)) => r(Trace, "No child to wait".into()),
        (Tini, Msg::Drained(Drained::NoneReady)) => r(Trace, "No child to reap".into()),
        (_, Msg::Drained(Drained::Failed(e))) => r(Warn, format!("waitpid failed: {}", errno_text(e))),
        (_, Msg::Drained(_)) => None,
        (Tini, Msg::Exiting) => r(Trace, "Exiting: child has exited".into()),
        (_, Msg::Exiting) => None,
        (DumbInit, Msg::Translating { from, to }) => r(Debug, format!("Translating signal {from} to {to}.")),
        (_, Msg::Translating { .. }) => None,
        (_, Msg::Note(text)) => r(Debug, text.to_string()),
        (_, Msg::Sweeping { sig, grace }) => r(
            Info,
            format!(
                "sent {} to the processes CMD left; SIGKILL in {}",
                signame::name(sig),
                crate::config::duration::format(grace)
            ),
        ),
        (_, Msg::Rich { level, text }) => r(level, text.to_string()),
        (_, Msg::SweepDone) => r(Debug, "every process CMD left has exited".into()),
        (_, Msg::SweepHurried) => r(Info, "second stop request: not waiting for the grace".into()),
        (_, Msg::SweepKilled(n)) => r(
            Warn,
            format!(
                "the grace ran out: sent SIGKILL to {} still running (raise --grace?)",
                n.map_or_else(|| "what was".to_string(), |n| format!("{n} process(es)"))
            ),
        ),
        (_, Msg::SweepStuck) => r(Warn, "processes survived SIGKILL (uninterruptible sleep?); exiting anyway".into()),
        (DumbInit, Msg::CmdExited { code, .. }) => r(Debug, format!("Child exited with status {code}. Goodbye.")),
        (Tini, Msg::CmdExited { status, code }) => r(
            Info,
            match status.signal() {
                Some(sig) => format!("Main child exited with signal (with signal '{}')", sys::strsignal(sig)),
                None => format!("Main child exited normally (with status '{code}')"),
            },
        ),
        (Rich, Msg::CmdExited { status, code }) => r(
            Info,
            match status.signal() {
                Some(sig) => format!("CMD was killed by {}; exiting with {code}", signame::name(sig)),
                None => format!("CMD exited with status {code}"),
            },
        ),
        (_, Msg::SignalReadFailed(e)) => r(Warn, format!("reading the signalfd failed ({}); using sigwaitinfo", errno_text(e))),
    }
}

fn render_child(personality: Personality, cmd: &str, event: ChildEvent) -> Option<(Level, String)> {
    use ChildEvent::*;
    use Personality::*;
    let text = match (personality, event) {
        (DumbInit, ExecFailed(e)) => format!("{cmd}: {}", errno_text(e)),
        (Tini, ExecFailed(e)) => format!("exec {cmd} failed: {}", errno_text(e)),
        (Rich, ExecFailed(Errno::ENOENT)) => {
            format!("cannot run {cmd:?}: command not found (check the name and PATH, or give a full path)")
        }
        (Rich, ExecFailed(Errno::EACCES)) => {
            format!("cannot run {cmd:?}: permission denied (is it a directory, or not executable? try chmod +x)")
        }
        (Rich, ExecFailed(e)) => format!("cannot run {cmd:?}: {}", errno_text(e)),
        (DumbInit, SetsidFailed(e)) => format!("Unable to setsid: {}. Exiting.", errno_text(e)),
        (_, SetsidFailed(e)) => {
            format!("cannot start a new session for {cmd:?}: {}", errno_text(e))
        }
        (DumbInit, SetsidDone) => return Some((Level::Debug, "setsid complete.".into())),
        (_, SetsidDone) => return None,
        (DumbInit, TtyAttachFailed(e)) => {
            let text = format!(
                "Unable to attach to controlling tty (errno={} {}).",
                e as i32,
                errno_text(e)
            );
            return Some((Level::Debug, text));
        }
        (_, TtyAttachFailed(e)) => {
            return Some((
                Level::Debug,
                format!("CMD has no controlling terminal ({})", errno_text(e)),
            ))
        }
        (Tini, SetpgidFailed(e)) => format!("setpgid failed: {}", errno_text(e)),
        (_, SetpgidFailed(e)) => format!(
            "cannot put {cmd:?} in its own process group: {}",
            errno_text(e)
        ),
        // tini prints this to its stdout just before exec; through a pipe the buffered
        // line is lost with the exec, so nothing is seen.
        (Tini, ForegroundFailed(_)) if !event.is_fatal() => return None,
        (_, ForegroundFailed(e)) if !event.is_fatal() => {
            return Some((
                Level::Debug,
                format!("no terminal to give to CMD ({})", errno_text(e)),
            ))
        }
        (_, SetupFailed(step, e)) => {
            format!("cannot {} for {cmd:?}: {}", step.describe(), errno_text(e))
        }
        (Tini, ForegroundFailed(e)) => format!("tcsetpgrp on fd 0 failed: {}", errno_text(e)),
        (_, ForegroundFailed(e)) => {
            format!("cannot give the terminal to {cmd:?}: {}", errno_text(e))
        }
    };
    Some((Level::Error, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait_status::WaitStatus;

    fn text(p: Personality, msg: Msg) -> Option<String> {
        render(p, msg).map(|(_, t)| t)
    }

    #[test]
    fn exec_failures_as_each_original_says_them() {
        let missing = Msg::Child {
            cmd: "nonexist",
            event: ChildEvent::ExecFailed(Errno::ENOENT),
        };
        assert_eq!(
            text(Personality::DumbInit, missing).as_deref(),
            Some("nonexist: No such file or directory")
        );
        assert_eq!(
            text(Personality::Tini, missing).as_deref(),
            Some("exec nonexist failed: No such file or directory")
        );
        let rich = text(Personality::Rich, missing).unwrap_or_default();
        assert!(
            rich.contains("\"nonexist\"") && rich.contains("not found"),
            "{rich}"
        );
        let denied = Msg::Child {
            cmd: "/etc/passwd",
            event: ChildEvent::ExecFailed(Errno::EACCES),
        };
        assert_eq!(
            text(Personality::DumbInit, denied).as_deref(),
            Some("/etc/passwd: Permission denied")
        );
    }

    #[test]
    fn tini_says_nothing_about_the_signals_it_ignores() {
        let cases = [
            (libc::SIGTTIN, None),
            (libc::SIGTTOU, None),
            (libc::SIGTSTP, Some("Passing signal: 'Stopped'")),
            (libc::SIGCHLD, Some("Received SIGCHLD")),
        ];
        for (sig, want) in cases {
            assert_eq!(
                text(Personality::Tini, Msg::Received(sig)).as_deref(),
                want,
                "{sig}"
            );
        }
        assert!(text(Personality::DumbInit, Msg::Received(libc::SIGTTIN)).is_some());
    }

    #[test]
    fn dumb_init_reap_wording() {
        let exited = Msg::Reaped {
            pid: 7,
            status: WaitStatus::from_raw(3 << 8),
            main: true,
            warn: false,
        };
        assert_eq!(
            text(Personality::DumbInit, exited).as_deref(),
            Some("A child with PID 7 exited with exit status 3.")
        );
        let killed = Msg::Reaped {
            pid: 7,
            status: WaitStatus::from_raw(15),
            main: true,
            warn: false,
        };
        assert_eq!(
            text(Personality::DumbInit, killed).as_deref(),
            Some("A child with PID 7 was terminated by signal 15.")
        );
    }
}
