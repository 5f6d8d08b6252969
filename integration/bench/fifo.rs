//! A FIFO that services write marker lines into, read by the bench, which notes the
//! moment it read each line. The side-by-side boot tells that a service runs this way
//! under every supervisor alike, and the crash-loop service stamps its starts here.

use crate::rich_proc::TempDir;
use crate::sys;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct Fifo {
    pub path: PathBuf,
    file: File,
    /// Bytes read after the last full line.
    pending: Vec<u8>,
    _dir: TempDir,
}

impl Fifo {
    /// A new FIFO in a temporary directory of its own, open for reading.
    pub fn new(what: &str) -> Result<Fifo, String> {
        let dir = TempDir::new(what, &[])?;
        let path = dir.path.join("markers");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .map_err(|e| format!("cannot create the fifo {}: {e}", path.display()))?;
        // Read and write: the open does not wait for a writer, and reads never see an
        // end of file between two services' writes.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| format!("cannot open the fifo {}: {e}", path.display()))?;
        Ok(Fifo {
            path,
            file,
            pending: Vec::new(),
            _dir: dir,
        })
    }

    /// Lines (without their newline) until `n` have come in this call, or until `limit`
    /// has passed; each with the CLOCK_MONOTONIC time (ns) at which the bench read it.
    /// `limit` zero takes just what is there.
    pub fn lines(&mut self, n: usize, limit: Duration) -> Result<Vec<(u64, String)>, String> {
        let deadline = Instant::now() + limit;
        let mut got = Vec::new();
        loop {
            self.drain_into(&mut got)?;
            let left = deadline.saturating_duration_since(Instant::now());
            if got.len() >= n || left.is_zero() {
                return Ok(got);
            }
            // Woken by the next write, or at the deadline (never a zero-length poll).
            sys::readable_within(&self.file, left.max(Duration::from_millis(1)))
                .map_err(|e| format!("poll on {}: {e}", self.path.display()))?;
        }
    }

    /// Read everything there is now, appending each full line to `got`.
    fn drain_into(&mut self, got: &mut Vec<(u64, String)>) -> Result<(), String> {
        let mut buf = [0u8; 4096];
        loop {
            match self.file.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(k) => {
                    let now = sys::monotonic_ns();
                    self.pending.extend_from_slice(&buf[..k]);
                    while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = self.pending.drain(..=end).collect();
                        let text = String::from_utf8_lossy(&line[..end]).into_owned();
                        got.push((now, text));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading {}: {e}", self.path.display())),
            }
        }
    }
}

/// `s` quoted for /bin/sh (single quotes; a `'` inside becomes `'\''`).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
