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
        Err(line) => return say(2, &format!("rich-init {line}")),
    };
    let stream = match unix_socket::connect(&socket) {
        Ok(s) => s,
        Err(e) => {
            return say(3, &format!("rich-init ctl: cannot reach the init at {}: {e}; is rich-init running with --rich?", socket.display()))
        }
    };
    let mut writer = &stream;
    // A refusal may come (and the init close its end) before we have sent anything: the
    // answer is then still there to read.
    let sent = writer.write_all(control::render_request(&request).as_bytes());
    let mut line = Vec::new();
    if let Err(e) = BufReader::new(
        (&stream).take(
            u64::try_from(control::MAX_RESPONSE_LINE)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
        ),
    )
    .read_until(b'\n', &mut line)
    {
        return say(
            3,
            &format!("rich-init ctl: no answer from {}: {e}", socket.display()),
        );
    }
    if let (Err(e), true) = (&sent, line.is_empty()) {
        return say(
            3,
            &format!("rich-init ctl: cannot send to {}: {e}", socket.display()),
        );
    }
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
        Err(e) => say(
            3,
            &format!("rich-init ctl: the init's answer makes no sense ({e})"),
        ),
    }
}

fn say(code: i32, line: &str) -> i32 {
    crate::sys::write_all_raw(2, format!("{line}\n").as_bytes());
    code
}
