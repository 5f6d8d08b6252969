//! The commands that talk to the running init rather than being one: `journalctl` and
//! `service` (argv[0] personalities, see `cli::Client`). Their pure halves are in `cli`,
//! `units::journal_show` and `control::journal_msg`; here is the I/O.

pub mod journalctl;
pub mod service;

use crate::sys::Errno;
use std::path::PathBuf;

/// Where the init listens: `RICH_INIT_CONTROL_SOCKET`, or the default.
pub fn control_socket(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    env("RICH_INIT_CONTROL_SOCKET")
        .map_or_else(|| PathBuf::from(crate::ctl::CONTROL_SOCKET), PathBuf::from)
}

/// Why a client could not get its answer. One line each: what failed, on what, what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("permission denied on {}: only root or the init's own uid may ask rich-init; run as root", path.display())]
    Denied { path: PathBuf },
    #[error("cannot reach the init at {}: {errno}; is rich-init running as pid 1 with --rich (or set RICH_INIT_CONTROL_SOCKET)?", path.display())]
    Unreachable { path: PathBuf, errno: Errno },
    #[error("lost the connection to the init at {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "the init's answer makes no sense ({0}); are this command and pid 1 the same rich-init?"
    )]
    Protocol(#[from] crate::control::ProtocolError),
    #[error("the init refused: {0}")]
    Refused(String),
}

/// Connect to the init's control socket.
pub fn connect(socket: &std::path::Path) -> Result<std::os::unix::net::UnixStream, ClientError> {
    crate::sys::unix_socket::connect(socket).map_err(|e| match e {
        Errno::EACCES | Errno::EPERM => ClientError::Denied {
            path: socket.to_path_buf(),
        },
        errno => ClientError::Unreachable {
            path: socket.to_path_buf(),
            errno,
        },
    })
}

/// Read one `\n`-terminated line of at most `max` bytes; None at end of stream.
pub fn read_line(
    reader: &mut impl std::io::BufRead,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::{BufRead, Read};
    let mut line = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader.by_ref().take(limit).read_until(b'\n', &mut line)?;
    Ok((!line.is_empty()).then_some(line))
}
