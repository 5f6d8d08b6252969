//! `rich-init ctl [--socket PATH] status [--json] | start NAME | stop NAME | restart NAME |
//! signal NAME SIG | shutdown [CODE]`: one request to the running init, one answer.

use crate::control::{self, Response};
use crate::sys::unix_socket;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

/// Where the init listens unless told otherwise.
pub const CONTROL_SOCKET: &str = "/run/rich-init/control.sock";

/// Exit codes: 0 done, 1 the init refused or failed it, 2 bad arguments, 3 no init to talk to.
pub fn run(words: &[String], env: &dyn Fn(&str) -> Option<String>) -> i32 {
    let (socket, rest) = match words {
        [flag, path, rest @ ..] if flag == "--socket" => (PathBuf::from(path), rest),
        rest => (
            env("RICH_INIT_CONTROL_SOCKET")
                .map_or_else(|| PathBuf::from(CONTROL_SOCKET), PathBuf::from),
            rest,
        ),
    };
    let (request, json) = match control::parse_ctl_args(rest) {
        Ok(parsed) => parsed,
        Err(e) => return say(e.exit_code(), &format!("rich-init {e}")),
    };
    let mut tries = 1;
    let line = loop {
        match exchange(&socket, &request) {
            Ok(line) => break line,
            // Closed without a word: under a flood of connections the init drops the
            // oldest that have not sent a whole request, and such a request was never
            // carried out, so sending it again is safe.
            Err(Failed::Dropped(_)) if tries < TRIES => {
                std::thread::sleep(std::time::Duration::from_millis(5 * u64::from(tries)));
                tries += 1;
            }
            // The socket is mode 0600: another uid cannot even connect. That is the
            // init's refusal (exit 1, as its SO_PEERCRED check answers), not its absence.
            Err(Failed::Unreachable(e @ (crate::sys::Errno::EACCES | crate::sys::Errno::EPERM))) => {
                return say(1, &format!("rich-init ctl: permission denied on {} ({}): only root or the init's own uid may control rich-init; run ctl as root", socket.display(), crate::sys::strerror(e)))
            }
            Err(Failed::Unreachable(e)) => {
                return say(3, &format!("rich-init ctl: cannot reach the init at {}: {e}; is rich-init running with --rich?", socket.display()))
            }
            Err(Failed::Dropped(Some((what, e)))) => {
                return say(
                    3,
                    &format!("rich-init ctl: {what} {}: {e}", socket.display()),
                )
            }
            Err(Failed::Dropped(None)) => break Vec::new(),
        }
    };
    match control::parse_response(&line) {
        Ok(Response::Ok) => 0,
        Ok(Response::Status(_)) if json => {
            crate::sys::write_all_raw(1, &line);
            0
        }
        Ok(Response::Status(services)) => {
            crate::sys::write_all_raw(1, control::format_status_table(&services).as_bytes());
            0
        }
        Ok(Response::Error { message }) => say(1, &format!("rich-init ctl: {message}")),
        Ok(_) => say(
            3,
            "rich-init ctl: the init's answer makes no sense (unit data for a ctl request)",
        ),
        Err(e) => say(
            3,
            &format!("rich-init ctl: the init's answer makes no sense ({e})"),
        ),
    }
}

/// How many times a request goes out when the init closes the connection without an answer.
const TRIES: u32 = 8;

enum Failed {
    /// connect(2) failed.
    Unreachable(crate::sys::Errno),
    /// The init closed the connection without an answer (with the error seen, if any:
    /// "no answer from" or "cannot send to").
    Dropped(Option<(&'static str, std::io::Error)>),
}

/// One connection: send `request`, read the answer line (empty if the init said nothing).
fn exchange(socket: &std::path::Path, request: &control::Request) -> Result<Vec<u8>, Failed> {
    let stream = unix_socket::connect(socket).map_err(Failed::Unreachable)?;
    let mut writer = &stream;
    // A refusal may come (and the init close its end) before we have sent anything: the
    // answer is then still there to read.
    let sent = writer.write_all(control::render_request(request).as_bytes());
    let mut line = Vec::new();
    let read = BufReader::new(
        (&stream).take(
            u64::try_from(control::MAX_RESPONSE_LINE)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
        ),
    )
    .read_until(b'\n', &mut line);
    match (read, sent) {
        (Err(e), _) if line.is_empty() => Err(Failed::Dropped(Some(("no answer from", e)))),
        (_, Err(e)) if line.is_empty() => Err(Failed::Dropped(Some(("cannot send to", e)))),
        _ if line.is_empty() => Err(Failed::Dropped(None)),
        _ => Ok(line),
    }
}

fn say(code: i32, line: &str) -> i32 {
    crate::sys::write_all_raw(2, format!("{line}\n").as_bytes());
    code
}
