//! The inits under test: ours (from RICH_INIT_BIN) and the Debian peers, and how each one
//! is asked to run a command, either as a child subreaper or as pid 1 of a namespace.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a command as pid 1 of a fresh pid namespace.
pub const UNSHARE: &str = "/usr/bin/unshare";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    TiniStatic,
    Tini,
    DumbInit,
    Catatonit,
}

/// Where the init runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A plain child of the bench: it must register as child subreaper (tini needs `-s`).
    Subreaper,
    /// pid 1 of its own pid namespace (the caller wraps it in `unshare`).
    Pid1,
}

#[derive(Debug, Clone)]
pub struct Init {
    pub kind: Kind,
    pub name: &'static str,
    pub path: PathBuf,
}

impl Init {
    /// The argv that makes this init run `cmd` in `mode`.
    pub fn argv(&self, mode: Mode, cmd: &[OsString]) -> Vec<OsString> {
        let mut argv = vec![self.path.clone().into_os_string()];
        match (self.kind, mode) {
            (Kind::TiniStatic | Kind::Tini, Mode::Subreaper) => {
                argv.extend(["-s", "--"].map(OsString::from));
            }
            // dumb-init has no `--`: it stops parsing options at the first operand.
            (Kind::DumbInit, _) => {}
            _ => argv.push("--".into()),
        }
        argv.extend(cmd.iter().cloned());
        argv
    }

    /// A Command for `argv(mode, cmd)`; pid-1 mode is wrapped in `unshare --pid --fork`.
    pub fn command(&self, mode: Mode, cmd: &[OsString]) -> Command {
        let argv = self.argv(mode, cmd);
        let mut command = match mode {
            Mode::Subreaper => Command::new(&argv[0]),
            Mode::Pid1 => {
                let mut c = Command::new(UNSHARE);
                c.args(["--pid", "--fork", "--kill-child"]).arg(&argv[0]);
                c
            }
        };
        command.args(&argv[1..]);
        command
    }

    /// Is the file a dynamically linked ELF (has a PT_INTERP program header)?
    pub fn is_dynamic(&self) -> Result<bool, String> {
        let bytes = std::fs::read(&self.path)
            .map_err(|e| format!("cannot read {}: {e}", self.path.display()))?;
        has_interpreter(&bytes)
            .ok_or_else(|| format!("{} is not a 64-bit ELF file", self.path.display()))
    }
}

/// Parse just enough of a little-endian ELF64 header to find a PT_INTERP segment.
fn has_interpreter(elf: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if elf.get(..5)? != b"\x7fELF\x02" {
        return None;
    }
    let u16_at = |off: usize| Some(u16::from_le_bytes(elf.get(off..off + 2)?.try_into().ok()?));
    let u32_at = |off: usize| Some(u32::from_le_bytes(elf.get(off..off + 4)?.try_into().ok()?));
    let phoff = usize::try_from(u64::from_le_bytes(elf.get(0x20..0x28)?.try_into().ok()?)).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    for i in 0..phnum {
        if u32_at(phoff + i * phentsize)? == PT_INTERP {
            return Some(true);
        }
    }
    Some(false)
}

/// Ours first, then the peers in a fixed order. Fails with what to install when a binary
/// is missing.
pub fn discover() -> Result<Vec<Init>, String> {
    let ours = std::env::var_os("RICH_INIT_BIN")
        .filter(|v| !v.is_empty())
        .ok_or(
            "RICH_INIT_BIN is not set: run `make bench`, which builds build/rich-init and sets it",
        )?;
    let ours = PathBuf::from(ours);
    check_executable(&ours, "run `make build` first")?;
    let mut inits = vec![Init {
        kind: Kind::Ours,
        name: "ours",
        path: ours,
    }];
    let peers = [
        (
            Kind::TiniStatic,
            "tini-static",
            "/usr/bin/tini-static",
            "tini",
        ),
        (Kind::Tini, "tini", "/usr/bin/tini", "tini"),
        (
            Kind::DumbInit,
            "dumb-init",
            "/usr/bin/dumb-init",
            "dumb-init",
        ),
        (
            Kind::Catatonit,
            "catatonit",
            "/usr/bin/catatonit",
            "catatonit",
        ),
    ];
    for (kind, name, path, package) in peers {
        let path = PathBuf::from(path);
        check_executable(
            &path,
            &format!("install the peers with `make deps` (Debian package {package})"),
        )?;
        inits.push(Init { kind, name, path });
    }
    check_executable(
        Path::new(UNSHARE),
        "install it with `make deps` (Debian package util-linux)",
    )?;
    Ok(inits)
}

pub fn check_executable(path: &Path, fix: &str) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(()),
        Ok(_) => Err(format!(
            "{} is not an executable file: {fix}",
            path.display()
        )),
        Err(e) => Err(format!("{} is missing ({e}): {fix}", path.display())),
    }
}

/// The first line a binary prints for its version flag, for the table's header.
pub fn version(init: &Init) -> String {
    let flag = match init.kind {
        Kind::DumbInit | Kind::Catatonit => "-V",
        _ => "--version",
    };
    let out = Command::new(&init.path).arg(flag).output();
    let text = match out {
        Ok(o) => {
            let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            t
        }
        Err(e) => format!("? ({e})"),
    };
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("?")
        .to_string()
}

/// `path` as an argv element.
pub fn os(s: impl AsRef<OsStr>) -> OsString {
    s.as_ref().to_os_string()
}
