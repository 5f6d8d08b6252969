//! The control socket's pure side: the JSON-lines protocol, the `rich-init ctl` command line
//! and the human `ctl status` table. The socket itself (SO_PEERCRED, mode 0600) comes later.

mod error;
pub mod handover;
pub mod journal_msg;
mod json;
pub mod protocol;
pub mod response;
mod unit_json;
pub mod units;

pub use error::{CtlUsageError, ProtocolError};
pub use protocol::{
    check_service_name, parse_code, parse_request, parse_signal, render_request, Request, MAX_LINE,
};
pub use response::{
    parse_response, render_response, ExitInfo, Response, ServiceStatus, MAX_RESPONSE_LINE,
};
pub use units::{check_unit_name, JobOutcome, JobResult, JobVerb, KillWhom};

use crate::signame;

/// The one-line usage that every `ctl` argument error ends with.
pub const CTL_USAGE: &str = "usage: rich-init ctl status [--json] | start NAME | stop NAME \
                             | restart NAME | signal NAME SIG | shutdown [CODE]";

fn service(name: &str) -> Result<String, CtlUsageError> {
    protocol::check_service_name(name)?;
    Ok(name.to_string())
}

/// Parse the words after `rich-init ctl` into a request and whether `--json` was asked for.
/// Errors are one line that ends with the usage.
pub fn parse_ctl_args(args: &[String]) -> Result<(Request, bool), CtlUsageError> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let request = match words.as_slice() {
        [] => return Err(CtlUsageError::NoCommand),
        ["status"] => Request::Status,
        ["status", "--json"] => return Ok((Request::Status, true)),
        ["start", name] => Request::Start {
            service: service(name)?,
        },
        ["stop", name] => Request::Stop {
            service: service(name)?,
        },
        ["restart", name] => Request::Restart {
            service: service(name)?,
        },
        ["signal", name, sig] => Request::Signal {
            service: service(name)?,
            signal: protocol::parse_signal(sig)?,
        },
        ["shutdown"] => Request::Shutdown { code: None },
        ["shutdown", code] => Request::Shutdown {
            code: Some(protocol::parse_code(code)?),
        },
        [cmd @ ("status" | "start" | "stop" | "restart" | "signal" | "shutdown"), ..] => {
            return Err(CtlUsageError::WrongArguments(cmd.to_string()))
        }
        [other, ..] => return Err(CtlUsageError::UnknownCommand(other.to_string())),
    };
    Ok((request, false))
}

/// A duration for people: `850ms`, `42s`, `3m12s`, `2h05m`, `3d04h`.
pub fn format_uptime(ms: u64) -> String {
    let s = ms / 1000;
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    if ms < 1000 {
        format!("{ms}ms")
    } else if s < 60 {
        format!("{s}s")
    } else if h == 0 {
        format!("{m}m{:02}s", s % 60)
    } else if d == 0 {
        format!("{h}h{:02}m", m % 60)
    } else {
        format!("{d}d{:02}h", h % 24)
    }
}

fn last_exit_text(exit: Option<ExitInfo>) -> String {
    match exit {
        None => "-".into(),
        Some(ExitInfo::Code(code)) => format!("exit {code}"),
        Some(ExitInfo::Signal(sig)) => signame::name(sig),
    }
}

/// The human `ctl status` table: a header, one row per service, columns aligned, no
/// trailing spaces.
pub fn format_status_table(services: &[ServiceStatus]) -> String {
    let header = ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST-EXIT"].map(String::from);
    let mut rows = vec![header];
    for s in services {
        rows.push([
            s.name.clone(),
            s.state.clone(),
            s.pid.map_or_else(|| "-".into(), |p| p.to_string()),
            s.uptime_ms.map_or_else(|| "-".into(), format_uptime),
            s.restarts.to_string(),
            last_exit_text(s.last_exit),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
