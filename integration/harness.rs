//! Reusable pieces for the integration tests: where our binary and the system tools are,
//! temporary directories, the peer-name symlinks, output normalisation and bounded waits.
//! Running processes lives in `runner`; it is re-exported here so tests only import this.

// Shared by every test file and by later issues: not every piece is used by every build.
#![allow(dead_code)]

pub use crate::runner::{Outcome, PidNs, Run, Running};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The hard limit for one process run; a failsafe, never something to assert on.
pub const HARD_TIMEOUT: Duration = Duration::from_secs(90);
/// The limit for a bounded wait on a handshake inside a test.
pub const HANDSHAKE_LIMIT: Duration = Duration::from_secs(30);

/// Docker's default capability set (moby's `oci/caps/defaults.go`).
pub const DOCKER_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The rich-init binary under test: `RICH_INIT_BIN` (set by `make test`), else cargo's build.
pub fn bin() -> PathBuf {
    match std::env::var_os("RICH_INIT_BIN") {
        Some(p) if !p.is_empty() => {
            let path = PathBuf::from(p);
            assert!(
                path.is_file(),
                "RICH_INIT_BIN={} does not exist; run `make build` or `make test`",
                path.display()
            );
            path
        }
        _ => PathBuf::from(env!("CARGO_BIN_EXE_rich-init")),
    }
}

/// The binary under test, which must be statically linked (it goes into a busybox rootfs).
pub fn static_bin() -> PathBuf {
    let path = bin();
    assert_static(
        &path,
        "run `make test` (or `make build` and set RICH_INIT_BIN=$PWD/build/rich-init)",
    );
    path
}

/// Panics unless `path` is an ELF file without a PT_INTERP program header.
pub fn assert_static(path: &Path, fix: &str) {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    match elf_interpreter(&bytes) {
        Ok(false) => {}
        Ok(true) => panic!(
            "{} is dynamically linked (it has an ELF interpreter) but this test needs a static binary: {fix}",
            path.display()
        ),
        Err(why) => panic!("{} is not a usable ELF binary ({why}): {fix}", path.display()),
    }
}

/// Whether a 64-bit little-endian ELF image has a PT_INTERP program header.
fn elf_interpreter(bytes: &[u8]) -> Result<bool, &'static str> {
    const PT_INTERP: u32 = 3;
    let u16_at = |off: usize| -> Result<usize, &'static str> {
        let b = bytes.get(off..off + 2).ok_or("truncated header")?;
        Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err("no ELF magic");
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF");
    }
    let phoff_bytes: [u8; 8] = bytes
        .get(0x20..0x28)
        .and_then(|b| b.try_into().ok())
        .ok_or("truncated header")?;
    let phoff = usize::try_from(u64::from_le_bytes(phoff_bytes)).map_err(|_| "bad e_phoff")?;
    let (entsize, count) = (u16_at(0x36)?, u16_at(0x38)?);
    for i in 0..count {
        let at = phoff + i * entsize;
        let kind: [u8; 4] = bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or("truncated program headers")?;
        if u32::from_le_bytes(kind) == PT_INTERP {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Debian package that provides each system tool the tests use.
fn package_of(tool: &str) -> &'static str {
    match tool {
        "dumb-init" => "dumb-init",
        "tini" | "tini-static" => "tini",
        "catatonit" => "catatonit",
        "runc" => "runc",
        "crun" => "crun",
        "busybox" => "busybox-static",
        "unshare" | "setsid" | "mount" | "umount" => "util-linux",
        "ps" => "procps",
        "file" => "file",
        "sh" => "dash",
        "containerd" | "ctr" | "containerd-shim-runc-v2" => "containerd",
        "ip" => "iproute2",
        "make" => "make",
        "python3" => "python3",
        "cc" => "build-essential",
        "perl" => "perl-base",
        "bash" => "bash",
        "tar" => "tar",
        "debootstrap" => "debootstrap",
        "rustc" => "rustc",
        "ssh" | "ssh-keygen" => "openssh-client",
        "podman" | "conmon" => "podman",
        "docker" | "dockerd" => "docker.io",
        _ => "coreutils",
    }
}

/// The path of a required system tool. A missing prerequisite is a failure, never a skip.
pub fn require(tool: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .map(PathBuf::from)
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "missing prerequisite {tool}: install it with `make deps` (Debian package {})",
                package_of(tool)
            )
        })
}

/// A fresh directory under the system temp dir, removed (with its contents) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("rich-init-it-{label}-{}-{n}", std::process::id()));
        // A leftover from an earlier run with the same pid would be stale: start clean.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create temp dir {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// Write `text` to `name` inside the directory and return its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Create a FIFO named `name` inside the directory.
    pub fn fifo(&self, name: &str) -> PathBuf {
        let path = self.join(name);
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .unwrap_or_else(|e| panic!("cannot create fifo {}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Our binary under the names of the programs it replaces.
pub struct PersonalityDir {
    dir: TempDir,
}

/// A temp dir holding `dumb-init`, `tini` and `docker-init` symlinks to our binary.
pub fn personality_dir() -> PersonalityDir {
    let dir = TempDir::new("links");
    let target = bin();
    for name in ["dumb-init", "tini", "tini-static", "docker-init"] {
        let link = dir.join(name);
        std::os::unix::fs::symlink(&target, &link)
            .unwrap_or_else(|e| panic!("cannot create symlink {}: {e}", link.display()));
    }
    PersonalityDir { dir }
}

impl PersonalityDir {
    /// Our binary as `name` (dumb-init, tini or docker-init).
    pub fn path(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        assert!(path.exists(), "no personality symlink named {name}");
        path
    }
}

/// Make peer output comparable with ours: the invoked program path becomes `PROG`, and
/// tini's pid in its message prefixes (`[FATAL tini (1234)]`) becomes `PID`.
pub fn normalise(text: &str, program: &Path) -> String {
    let replaced = text.replace(&*program.to_string_lossy(), "PROG");
    let mut out = String::with_capacity(replaced.len());
    let mut rest = replaced.as_str();
    while let Some(at) = rest.find("tini (") {
        let (head, tail) = rest.split_at(at + "tini (".len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && tail[digits..].starts_with(')') {
            out.push_str("PID");
            rest = &tail[digits..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Poll `probe` until it returns `Some`, for at most [`HANDSHAKE_LIMIT`]. Only for
/// waiting on a handshake that the process under test performs; panics with `what`.
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            start.elapsed() < HANDSHAKE_LIMIT,
            "gave up after {HANDSHAKE_LIMIT:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Contents of a file, or "" when it does not exist yet.
pub fn read_or_empty(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Fields of /proc/PID/stat after the command name: state, ppid, pgrp, session, tty_nr, tpgid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub pid: i32,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub tty_nr: i32,
    pub tpgid: i32,
}

/// Parse one /proc/PID/stat line.
pub fn parse_stat(line: &str) -> Option<Stat> {
    let pid = line.split(' ').next()?.parse().ok()?;
    let after = &line[line.rfind(')')? + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let num = |i: usize| f.get(i).and_then(|s| s.trim().parse::<i32>().ok());
    Some(Stat {
        pid,
        state: f.first()?.chars().next()?,
        ppid: num(1)?,
        pgrp: num(2)?,
        session: num(3)?,
        tty_nr: num(4)?,
        tpgid: num(5)?,
    })
}

/// /proc/PID/stat of a live process (as seen from the test's pid namespace).
pub fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process whose parent is `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    all_stats()
        .into_iter()
        .filter(|s| s.ppid == pid)
        .map(|s| s.pid)
        .collect()
}

/// A snapshot of every process visible in /proc.
pub fn all_stats() -> Vec<Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

/// Wait until `pid` has exactly one child and return it (a handshake on a fork).
pub fn only_child(pid: i32) -> i32 {
    wait_for(
        &format!("pid {pid} to have exactly one child"),
        || match children(pid).as_slice() {
            [one] => Some(*one),
            _ => None,
        },
    )
}

/// Write `text` to `path` (parents created) with `mode`.
pub fn write_file(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_program_and_tini_pid() {
        let p = Path::new("/tmp/x/tini");
        assert_eq!(
            normalise("[FATAL tini (1234)] bad\n/tmp/x/tini: invalid option -- 'x'\ntini (tini version 0.19.0)\n", p),
            "[FATAL tini (PID)] bad\nPROG: invalid option -- 'x'\ntini (tini version 0.19.0)\n"
        );
    }

    #[test]
    fn stat_line_with_spaces_in_comm() {
        let s = parse_stat("42 (a b) S 1 42 42 34816 42 4194560 0").expect("parses");
        assert_eq!(
            (s.pid, s.state, s.ppid, s.pgrp, s.session, s.tty_nr, s.tpgid),
            (42, 'S', 1, 42, 42, 34816, 42)
        );
    }
}
