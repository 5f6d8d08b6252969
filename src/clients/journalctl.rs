//! `journalctl`: ask the init for its journal and print it as journalctl does.
//!
//! One unit and no identifier: the init filters and counts (`-u cron -n 20`). Several units
//! or identifiers: we ask for everything and filter here, then keep the last N. With
//! `--follow`, the init's first line is the backlog (the last N is taken of it) and every
//! later line is new entries, printed as they come until we are interrupted.

use super::{connect, read_line, ClientError};
use crate::cli::journalctl::{Args, EXIT_FAILURE};
use crate::control::journal_msg::{
    parse_journal_reply, render_journal_request, JournalReply, JournalRequest,
};
use crate::control::MAX_RESPONSE_LINE;
use crate::units::journal_show::{format_entry, Style, NO_ENTRIES};
use crate::units::status::JournalEntry;
use std::io::{BufReader, Write};

/// What we filter ourselves, after the init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// Entries of any of these units pass (all when empty).
    pub units: Vec<String>,
    /// Entries with any of these identifiers pass (all when empty).
    pub identifiers: Vec<String>,
    /// Keep the last N of what passed (None: the init already counted, or all).
    pub last: Option<usize>,
}

impl Local {
    fn passes(&self, e: &JournalEntry) -> bool {
        (self.units.is_empty() || self.units.contains(&e.unit))
            && (self.identifiers.is_empty() || self.identifiers.contains(&e.ident))
    }

    /// Filter, then keep the last N.
    pub fn apply(&self, entries: Vec<JournalEntry>) -> Vec<JournalEntry> {
        let mut kept: Vec<JournalEntry> = entries.into_iter().filter(|e| self.passes(e)).collect();
        if let Some(n) = self.last {
            kept.drain(..kept.len().saturating_sub(n));
        }
        kept
    }
}

/// The request to send and the filtering left to us.
pub fn plan(args: &Args) -> (JournalRequest, Local) {
    match (args.units.as_slice(), args.identifiers.is_empty()) {
        ([unit], true) => (
            JournalRequest {
                unit: Some(unit.clone()),
                lines: args.lines,
                follow: args.follow,
            },
            Local {
                units: vec![],
                identifiers: vec![],
                last: None,
            },
        ),
        ([], true) => (
            JournalRequest {
                unit: None,
                lines: args.lines,
                follow: args.follow,
            },
            Local {
                units: vec![],
                identifiers: vec![],
                last: None,
            },
        ),
        _ => (
            JournalRequest {
                unit: None,
                lines: None,
                follow: args.follow,
            },
            Local {
                units: args.units.clone(),
                identifiers: args.identifiers.clone(),
                last: args.lines,
            },
        ),
    }
}

/// The host name journalctl would show: the kernel's (as `_HOSTNAME` is gethostname()).
fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim_end().to_string())
}

pub fn run(args: &Args, env: &dyn Fn(&str) -> Option<String>) -> i32 {
    match show(args, env) {
        Ok(()) => 0,
        Err(e) => {
            crate::sys::write_all_raw(2, format!("journalctl: {e}\n").as_bytes());
            EXIT_FAILURE
        }
    }
}

fn show(args: &Args, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ClientError> {
    let socket = super::control_socket(env);
    let (request, local) = plan(args);
    let host = if args.no_hostname { None } else { hostname() };
    let style = Style {
        output: args.output,
        hostname: host.as_deref(),
        all: args.all,
    };
    let stream = connect(&socket)?;
    let io = |error| ClientError::Io {
        path: socket.clone(),
        error,
    };
    (&stream)
        .write_all(render_journal_request(&request).as_bytes())
        .map_err(io)?;
    let mut reader = BufReader::new(&stream);
    let mut next = || -> Result<Option<Vec<JournalEntry>>, ClientError> {
        let Some(line) = read_line(&mut reader, MAX_RESPONSE_LINE).map_err(io)? else {
            return Ok(None);
        };
        match parse_journal_reply(&line)? {
            JournalReply::Entries(entries) => Ok(Some(entries)),
            JournalReply::Error(message) => Err(ClientError::Refused(message)),
        }
    };
    let print = |entries: &[JournalEntry], tail: &str| {
        let mut text: String = entries.iter().map(|e| format_entry(e, &style)).collect();
        text.push_str(tail);
        // A closed stdout (`journalctl | head`) ends us: SIGPIPE is not blocked here.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    };
    if args.follow {
        let mut first = true;
        while let Some(entries) = next()? {
            let shown = if first {
                local.apply(entries)
            } else {
                Local {
                    last: None,
                    ..local.clone()
                }
                .apply(entries)
            };
            first = false;
            print(&shown, "");
        }
        return Ok(());
    }
    let mut all = Vec::new();
    while let Some(entries) = next()? {
        all.extend(entries);
    }
    let mut shown = local.apply(all);
    if args.reverse {
        shown.reverse();
    }
    let tail = if shown.is_empty() && !args.quiet {
        format!("{NO_ENTRIES}\n")
    } else {
        String::new()
    };
    print(&shown, &tail);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::journal_show::Output;

    fn args(units: &[&str], identifiers: &[&str], lines: Option<usize>) -> Args {
        Args {
            units: units.iter().map(|s| s.to_string()).collect(),
            identifiers: identifiers.iter().map(|s| s.to_string()).collect(),
            lines,
            follow: false,
            reverse: false,
            quiet: false,
            no_hostname: false,
            all: false,
            output: Output::Short,
        }
    }

    fn entry(unit: &str, ident: &str, message: &str) -> JournalEntry {
        JournalEntry {
            unit: unit.into(),
            ident: ident.into(),
            message: message.into(),
            ..JournalEntry::default()
        }
    }

    #[test]
    fn the_init_filters_one_unit_we_filter_the_rest() {
        // (args, request unit, request lines, local filtering?)
        let cases = [
            (args(&[], &[], None), None, None, false),
            (args(&[], &[], Some(5)), None, Some(5), false),
            (
                args(&["a.service"], &[], Some(5)),
                Some("a.service"),
                Some(5),
                false,
            ),
            (
                args(&["a.service", "b.service"], &[], Some(5)),
                None,
                None,
                true,
            ),
            (args(&["a.service"], &["cron"], Some(5)), None, None, true),
            (args(&[], &["cron"], None), None, None, true),
        ];
        for (a, unit, lines, local) in cases {
            let (req, filter) = plan(&a);
            assert_eq!((req.unit.as_deref(), req.lines), (unit, lines), "{a:?}");
            let filters = !filter.units.is_empty() || !filter.identifiers.is_empty();
            assert_eq!(filters, local, "{a:?}");
            assert_eq!(filter.last, if local { a.lines } else { None });
        }
    }

    #[test]
    fn local_filter_then_last_n() {
        let entries = vec![
            entry("a.service", "a", "1"),
            entry("b.service", "b", "2"),
            entry("c.service", "cron", "3"),
            entry("a.service", "a", "4"),
            entry("b.service", "b", "5"),
        ];
        let (_, local) = plan(&args(&["a.service", "b.service"], &[], Some(3)));
        let got: Vec<String> = local
            .apply(entries.clone())
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(got, ["2", "4", "5"]);
        let (_, local) = plan(&args(&[], &["cron", "b"], None));
        let got: Vec<String> = local
            .apply(entries)
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(got, ["2", "3", "5"]);
    }
}
