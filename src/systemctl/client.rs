//! One request to the init over the control socket, one response back (the same exchange
//! as `rich-init ctl`, with systemctl's words when there is no init to talk to).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use crate::control::{self, Request, Response};
use crate::sys::{unix_socket, Errno};

/// systemctl's lines when pid 1 is not a service manager it can talk to.
pub const NO_INIT: &str = "System has not been booted with systemd as init system (PID 1). \
                           Can't operate.\nFailed to connect to bus: Host is down\n";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No socket, or nobody listening: pid 1 is not rich-init --systemd.
    #[error("{}", NO_INIT.trim_end())]
    NoInit,
    #[error("Failed to connect to bus: {0}")]
    Connect(String),
    #[error("Failed to talk to the init at {socket}: {error}")]
    Io { socket: String, error: String },
    /// The init answered `{"ok":false}`.
    #[error("{0}")]
    Refused(String),
    #[error("The init's answer makes no sense ({0}).")]
    Garbled(String),
}

/// Send `request` to the init listening on `socket` and read its one answer line.
pub fn exchange(socket: &Path, request: &Request) -> Result<Response, ClientError> {
    let stream = unix_socket::connect(socket).map_err(|e| match e {
        Errno::ENOENT | Errno::ECONNREFUSED | Errno::ENOTDIR => ClientError::NoInit,
        other => ClientError::Connect(crate::sys::strerror(other)),
    })?;
    let io = |error: std::io::Error| ClientError::Io {
        socket: socket.display().to_string(),
        error: error.to_string(),
    };
    (&stream)
        .write_all(control::render_request(request).as_bytes())
        .map_err(io)?;
    let limit = u64::try_from(control::MAX_RESPONSE_LINE)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut line = Vec::new();
    BufReader::new((&stream).take(limit))
        .read_until(b'\n', &mut line)
        .map_err(io)?;
    if line.is_empty() {
        return Err(ClientError::Io {
            socket: socket.display().to_string(),
            error: "closed without an answer".into(),
        });
    }
    match control::parse_response(&line) {
        Ok(Response::Error { message }) => Err(ClientError::Refused(message)),
        Ok(response) => Ok(response),
        Err(e) => Err(ClientError::Garbled(e.to_string())),
    }
}
