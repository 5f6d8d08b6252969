//! `layout-link`: the linker `make` gives rustc for the rich-init binary, so that the code
//! its start-up runs sits together at the front of `.text` (issue 16, footprint).
//!
//! The kernel maps a file's text in aligned 64 KiB chunks around each page a process
//! touches (fault-around), so a start-up path scattered over the whole text maps most of
//! the file. This program:
//! 1. links the binary as asked, but unstripped, to `OUTPUT.probe`;
//! 2. runs the probe under ptrace, one instruction at a time, in each personality
//!    (`SCENARIOS`: rich-init, dumb-init, docker-init and tini running `true`), following
//!    its forks until they exec, and lists the functions it runs in the order it first runs
//!    them;
//! 3. links again, as asked, with that list as lld's `--symbol-ordering-file` (and a link
//!    map beside the output, `OUTPUT.map`).
//!
//! Both links take rustc's objects without their unwind tables (`.eh_frame`, a tenth of the
//! file): rich-init is built with `panic = "abort"`, so nothing unwinds through Rust frames.
//! This is what `-C force-unwind-tables=no` would do, if std's code, compiled into the same
//! LTO object with unwind tables, let it. A panic's backtrace (RUST_BACKTRACE) then shows no
//! Rust frames; the init aborts just the same.
//!
//! The list comes from the code being linked, every time: nothing is kept by hand, and no
//! stale entry can hide behind `--no-warn-symbol-ordering`. If tracing is impossible here
//! (ptrace refused, no `true` in PATH), the binary is linked unordered with one warning line,
//! and the layout test (`integration/layout.rs`) fails.
//!
//! Built by `make` with plain `rustc` (no crates); invoked by rustc as `layout-link CC-ARGS`.

use std::collections::HashSet;
use std::ffi::{c_int, c_long, c_void, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The personalities, as argv: argv[0] picks the personality, the probe is what runs.
/// argv[0] is a path and CMD is found through PATH, as in a container (`/sbin/docker-init
/// -- sleep`): which code runs depends on both.
const SCENARIOS: &[&[&str]] = &[
    &["/usr/local/bin/rich-init", "--", "true"],
    &["/usr/bin/dumb-init", "true"],
    &["/sbin/docker-init", "--", "true"],
    &["/usr/bin/tini", "-s", "--", "true"],
];

/// A container's environment: what docker and podman set, one of our own variables (so
/// that looking the variables up compares names as in a real container), and a library
/// path, which images often set.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOSTNAME", "layout-probe"),
    ("HOME", "/root"),
    ("TERM", "xterm"),
    ("container", "podman"),
    ("RICH_INIT_QUIET", "0"),
    // glibc's start-up reads it even in a static binary (`_dl_init_paths`).
    ("LD_LIBRARY_PATH", "/usr/local/lib"),
];

/// More single steps than any scenario needs (about 200,000 today): a bound, not a budget.
const MAX_STEPS: u64 = 50_000_000;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("layout-link: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The C compiler driver rustc would have called.
fn cc() -> OsString {
    std::env::var_os("LAYOUT_LINK_CC").unwrap_or_else(|| "cc".into())
}

/// Run the C compiler driver on `args`; its success or failure is ours.
fn link(args: &[OsString]) -> Result<ExitCode, String> {
    let status = Command::new(cc())
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {:?}: {e}", cc()))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// rustc's objects (`*.rcgu.o`) copied without `.eh_frame`, beside the output; the paths of
/// the copies, to remove once linked.
fn without_unwind_tables(
    args: &[OsString],
    output: &Path,
) -> Result<(Vec<OsString>, Vec<PathBuf>), String> {
    let mut out = Vec::with_capacity(args.len());
    let mut copies = Vec::new();
    for arg in args {
        if !arg.as_bytes().ends_with(b".rcgu.o") {
            out.push(arg.clone());
            continue;
        }
        let copy = with_suffix(output, &format!(".{}.noeh.o", copies.len()));
        let objcopy = std::env::var_os("LAYOUT_LINK_OBJCOPY").unwrap_or_else(|| "objcopy".into());
        let status = Command::new(&objcopy)
            .args([
                "--remove-section=.eh_frame",
                "--remove-section=.rela.eh_frame",
            ])
            .arg(arg)
            .arg(&copy)
            .status()
            .map_err(|e| format!("cannot run {objcopy:?} (binutils): {e}"))?;
        if !status.success() {
            return Err(format!(
                "{objcopy:?} could not copy {arg:?} without .eh_frame"
            ));
        }
        out.push(copy.clone().into_os_string());
        copies.push(copy);
    }
    Ok((out, copies))
}

fn run(args: &[OsString]) -> Result<ExitCode, String> {
    let Some(at) = args.iter().position(|a| a == "-o") else {
        return link(args);
    };
    let Some(output) = args.get(at + 1).map(PathBuf::from) else {
        return link(args);
    };
    let (args, copies) = without_unwind_tables(args, &output)?;
    let result = link_ordered(&args, &output);
    for copy in copies {
        let _ = std::fs::remove_file(copy);
    }
    result
}

fn link_ordered(args: &[OsString], output: &Path) -> Result<ExitCode, String> {
    let probe = with_suffix(output, ".probe");
    let order = with_suffix(output, ".order");
    let mut probe_args: Vec<OsString> = args
        .iter()
        .filter(|a| {
            !matches!(
                a.to_str(),
                Some("-s" | "-Wl,--strip-all" | "-Wl,--strip-debug")
            )
        })
        .cloned()
        .collect();
    if let Some(o) = probe_args.iter().position(|a| a == "-o") {
        probe_args[o + 1] = probe.clone().into_os_string();
    }
    if link(&probe_args)? != ExitCode::SUCCESS {
        return Ok(ExitCode::FAILURE);
    }
    let profiled = profile(&probe);
    let _ = std::fs::remove_file(&probe);
    let ordered = match profiled {
        Ok(names) => {
            let mut text = Vec::new();
            for n in &names {
                text.extend_from_slice(n);
                text.push(b'\n');
            }
            std::fs::write(&order, text)
                .map_err(|e| format!("cannot write {}: {e}", order.display()))?;
            eprintln!(
                "layout-link: {} functions on the start-up path, in {}",
                names.len(),
                order.display()
            );
            true
        }
        Err(e) => {
            eprintln!(
                "layout-link: warning: {} is linked without start-up ordering: {e}",
                output.display()
            );
            false
        }
    };
    let mut final_args = args.to_vec();
    // The final layout, for looking into what a start-up touches (OUTPUT.map).
    let mut map = OsString::from("-Wl,-Map=");
    map.push(with_suffix(output, ".map"));
    final_args.push(map);
    if ordered {
        let mut flag = OsString::from("-Wl,--symbol-ordering-file=");
        flag.push(&order);
        final_args.push(flag);
    }
    link(&final_args)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The functions the probe runs, in the order the scenarios first run them.
fn profile(probe: &Path) -> Result<Vec<Vec<u8>>, String> {
    let elf = std::fs::read(probe).map_err(|e| format!("cannot read {}: {e}", probe.display()))?;
    let funcs = elf::functions(&elf)?;
    if funcs.is_empty() {
        return Err(format!("{} has no function symbols", probe.display()));
    }
    let mut seen = vec![false; funcs.len()];
    let mut order = Vec::new();
    for argv in SCENARIOS {
        let addresses = trace::run(probe, argv, MAX_STEPS)?;
        let mut last: Option<usize> = None;
        for addr in addresses {
            if let Some(i) = last {
                if funcs[i].contains(addr) {
                    continue;
                }
            }
            last = elf::find(&funcs, addr);
            if let Some(i) = last {
                if !seen[i] {
                    seen[i] = true;
                    order.push(i);
                }
            }
        }
    }
    // One name once, even where two local symbols share it (lld orders both).
    let mut named: HashSet<&[u8]> = HashSet::new();
    Ok(order
        .into_iter()
        .filter_map(|i| {
            let name = funcs[i].name.as_slice();
            named.insert(name).then(|| name.to_vec())
        })
        .collect())
}

/// Just enough ELF64 (little-endian) to list the function symbols of `.symtab`.
mod elf {
    pub struct Function {
        pub start: u64,
        pub end: u64,
        pub name: Vec<u8>,
    }

    impl Function {
        pub fn contains(&self, addr: u64) -> bool {
            (self.start..self.end).contains(&addr)
        }
    }

    const SHT_SYMTAB: u32 = 2;
    const STT_FUNC: u8 = 2;

    fn u16_at(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
    }
    fn u32_at(b: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    }
    fn u64_at(b: &[u8], at: usize) -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    }

    /// Sized function symbols, sorted by address.
    pub fn functions(elf: &[u8]) -> Result<Vec<Function>, String> {
        parse(elf).ok_or_else(|| "the probe is not an ELF64 file with a .symtab".to_string())
    }

    fn parse(elf: &[u8]) -> Option<Vec<Function>> {
        if elf.get(..5)? != b"\x7fELF\x02" {
            return None;
        }
        let shoff = usize::try_from(u64_at(elf, 0x28)?).ok()?;
        let shentsize = usize::from(u16_at(elf, 0x3a)?);
        let shnum = usize::from(u16_at(elf, 0x3c)?);
        let header = |i: usize| shoff + i * shentsize;
        let symtab = (0..shnum).find(|i| u32_at(elf, header(*i) + 4) == Some(SHT_SYMTAB))?;
        let sh = header(symtab);
        let (off, size) = (u64_at(elf, sh + 0x18)?, u64_at(elf, sh + 0x20)?);
        let strtab = header(usize::try_from(u32_at(elf, sh + 0x28)?).ok()?);
        let str_off = usize::try_from(u64_at(elf, strtab + 0x18)?).ok()?;
        let (off, size) = (usize::try_from(off).ok()?, usize::try_from(size).ok()?);
        let mut out = Vec::new();
        for sym in elf.get(off..off + size)?.chunks_exact(24) {
            let info = *sym.get(4)?;
            let (value, len) = (u64_at(sym, 8)?, u64_at(sym, 16)?);
            if info & 0xf != STT_FUNC || len == 0 {
                continue;
            }
            let name_at = str_off + usize::try_from(u32_at(sym, 0)?).ok()?;
            let rest = elf.get(name_at..)?;
            let name = rest.get(..rest.iter().position(|b| *b == 0)?)?;
            if !name.is_empty() {
                out.push(Function {
                    start: value,
                    end: value + len,
                    name: name.to_vec(),
                });
            }
        }
        out.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        Some(out)
    }

    /// The function at `addr` (the innermost of overlapping aliases is as good as any).
    pub fn find(funcs: &[Function], addr: u64) -> Option<usize> {
        let i = funcs.partition_point(|f| f.start <= addr).checked_sub(1)?;
        funcs[i].contains(addr).then_some(i)
    }
}

/// Single-stepping a program and its forks with ptrace(2).
mod trace {
    use super::*;

    const PTRACE_TRACEME: c_int = 0;
    const PTRACE_PEEKUSER: c_int = 3;
    const PTRACE_SINGLESTEP: c_int = 9;
    const PTRACE_DETACH: c_int = 17;
    const PTRACE_SETOPTIONS: c_int = 0x4200;
    const OPTIONS: c_long = 0x2 | 0x4 | 0x8 | 0x10 | 0x10_0000; // fork, vfork, clone, exec, exitkill
    const EVENT_EXEC: c_int = 4;
    const RIP_OFFSET: c_long = 16 * 8; // user_regs_struct.rip
    const WALL: c_int = 0x4000_0000;
    const SIGTRAP: c_int = 5;
    const SIGSTOP: c_int = 19;
    const SIGKILL: c_int = 9;

    extern "C" {
        fn ptrace(request: c_int, ...) -> c_long;
        fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
        fn kill(pid: c_int, sig: c_int) -> c_int;
        fn __errno_location() -> *mut c_int;
    }

    fn errno() -> c_int {
        // SAFETY: __errno_location returns this thread's errno slot, always valid.
        unsafe { *__errno_location() }
    }

    fn set_errno(value: c_int) {
        // SAFETY: as above; writing our own thread's errno.
        unsafe { *__errno_location() = value }
    }

    fn request(req: c_int, pid: c_int, addr: c_long, data: c_long) -> c_long {
        // SAFETY: these requests take integers only (no pointers to our memory).
        unsafe { ptrace(req, pid, addr as *mut c_void, data as *mut c_void) }
    }

    fn wait_any() -> Option<(c_int, c_int)> {
        let mut status = 0;
        loop {
            // SAFETY: status is a live local the kernel writes.
            let pid = unsafe { waitpid(-1, &mut status, WALL) };
            if pid > 0 {
                return Some((pid, status));
            }
            if errno() != 4 {
                return None; // ECHILD: nothing left
            }
        }
    }

    fn rip(pid: c_int) -> Option<u64> {
        set_errno(0);
        let v = request(PTRACE_PEEKUSER, pid, RIP_OFFSET, 0);
        (v != -1 || errno() == 0).then_some(v as u64)
    }

    /// Where the probe's first mapping starts in `pid` (a static-pie is loaded anywhere).
    fn base(pid: c_int, probe: &Path) -> Result<u64, String> {
        let maps = std::fs::read(format!("/proc/{pid}/maps"))
            .map_err(|e| format!("cannot read the probe's maps: {e}"))?;
        let path = std::fs::canonicalize(probe).unwrap_or_else(|_| probe.to_path_buf());
        for line in maps.split(|b| *b == b'\n') {
            if !line.ends_with(path.as_os_str().as_bytes()) {
                continue;
            }
            let text = String::from_utf8_lossy(line);
            let mut fields = text.split_whitespace();
            let range = fields.next().unwrap_or_default();
            let offset = fields.nth(1).unwrap_or_default();
            if u64::from_str_radix(offset, 16) == Ok(0) {
                let start = range.split('-').next().unwrap_or_default();
                return u64::from_str_radix(start, 16)
                    .map_err(|_| format!("bad line in the probe's maps: {text}"));
            }
        }
        Err("the probe is not in its own maps".to_string())
    }

    /// Every instruction address (relative to the binary) that `probe`, run as `argv`,
    /// executes, its forks included until they exec.
    pub fn run(probe: &Path, argv: &[&str], max_steps: u64) -> Result<Vec<u64>, String> {
        let (first, rest) = argv.split_first().ok_or("empty scenario")?;
        let mut command = Command::new(probe);
        command
            .arg0(first)
            .args(rest)
            .env_clear()
            .envs(ENVIRONMENT.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        // SAFETY: the closure runs in the forked child before exec and only calls ptrace,
        // which is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if request(PTRACE_TRACEME, 0, 0, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start the probe as {first}: {e}"))?;
        let main = c_int::try_from(child.id()).map_err(|_| "pid out of range")?;
        let result = follow(main, probe, max_steps);
        if result.is_err() {
            // SAFETY: kill takes integers; the probe is our child.
            unsafe { kill(main, SIGKILL) };
            while wait_any().is_some() {}
        }
        result
    }

    fn follow(main: c_int, probe: &Path, max_steps: u64) -> Result<Vec<u64>, String> {
        let (pid, status) = wait_any().ok_or("the probe vanished")?;
        if pid != main || status & 0xff != 0x7f {
            return Err(format!(
                "the probe did not stop at exec (status {status:#x}); is ptrace allowed here?"
            ));
        }
        let base = base(main, probe)?;
        if request(PTRACE_SETOPTIONS, main, 0, OPTIONS) == -1 {
            return Err(format!("PTRACE_SETOPTIONS failed (errno {})", errno()));
        }
        let mut out = Vec::new();
        let mut steps = 0u64;
        request(PTRACE_SINGLESTEP, main, 0, 0);
        while let Some((pid, status)) = wait_any() {
            if status & 0xff != 0x7f {
                continue; // exited or killed
            }
            let sig = (status >> 8) & 0xff;
            let event = status >> 16;
            if event == EVENT_EXEC && pid != main {
                request(PTRACE_DETACH, pid, 0, 0);
                continue;
            }
            steps += 1;
            if steps > max_steps {
                return Err(format!(
                    "more than {max_steps} steps: the probe does not finish"
                ));
            }
            if let Some(ip) = rip(pid) {
                out.push(ip.wrapping_sub(base));
            }
            // Our own stops (single step, events, a new fork's first SIGSTOP) are not the
            // program's signals; any other signal is delivered.
            let deliver = if event != 0 || sig == SIGTRAP || sig == SIGSTOP {
                0
            } else {
                sig
            };
            request(PTRACE_SINGLESTEP, pid, 0, c_long::from(deliver));
        }
        Ok(out)
    }
}
