//! Where a hook's lines go: action output to syslog (when /dev/log is there) or stderr,
//! and everything, the hook's own results and failure reasons too, to the host log file.

use super::hook::{say, HookArgs, LogTo};
use super::hooklog::HookLog;
use crate::logsink::{self, Line};
use std::os::unix::net::UnixDatagram;

/// Where lines go: action output to syslog or stderr, and everything (output, results,
/// the failure reason) to the host log file too.
pub(super) struct Sink {
    to: Dest,
    pub(super) log: HookLog,
    stage: &'static str,
}

enum Dest {
    Stderr,
    Syslog(UnixDatagram),
}

impl Sink {
    pub(super) fn open(args: &HookArgs) -> Sink {
        let syslog = || {
            let sock = UnixDatagram::unbound().ok()?;
            sock.connect("/dev/log").ok()?;
            Some(Dest::Syslog(sock))
        };
        let to = match args.log {
            LogTo::Stderr => Dest::Stderr,
            LogTo::Syslog | LogTo::Auto => syslog().unwrap_or(Dest::Stderr),
        };
        let stage = args.stage.name();
        let (log, warning) = HookLog::open(args.log_file.as_deref(), stage);
        if let Some(warning) = warning {
            say(&format!("rich-init hook {stage}: warning: {warning}"));
        }
        Sink { to, log, stage }
    }

    /// One line of `action`'s output.
    pub(super) fn line(&self, action: &str, line: &Line) {
        self.log.output(action, line);
        let source = format!("{} {action}", self.stage);
        if let Dest::Syslog(sock) = &self.to {
            let mut text = format!("[{source}] ").into_bytes();
            text.extend_from_slice(&line.text);
            if sock
                .send(&logsink::syslog_datagram("rich-init-hook", false, &text))
                .is_ok()
            {
                return;
            }
        }
        crate::sys::write_all_raw(
            2,
            &logsink::frame(&format!("rich-init hook {source}"), line),
        );
    }

    /// A line of the hook's own: on stderr (where the runtime may show it) and in the log.
    pub(super) fn tell(&self, action: &str, text: &str) {
        say(text);
        self.log.say(action, text);
    }

    /// A line for the log file only (a success: the runtime shows nothing for it).
    pub(super) fn note(&self, action: &str, text: &str) {
        self.log.say(action, text);
    }
}
