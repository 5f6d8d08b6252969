//! The layout guard (issue 16): the code that `X -- sleep` runs at start-up sits together
//! at the front of the text, so a cold start maps few 64 KiB windows of the binary.
//!
//! The kernel maps a file's text in aligned 64 KiB windows around each page a process
//! touches (fault-around). `make build` orders the start-up path with a profile of the
//! binary being linked (integration/layout/link.rs); without it the same start-up maps
//! most of the text (25 of 32 windows before the ordering, 2026-12-06). This test counts the windows
//! from /proc/PID/pagemap once the init is waiting for its CMD, in each personality, from
//! a cold page cache: a change that scatters the start-up path again fails here. Nothing
//! is timed.

use crate::harness::{only_child, require, static_bin, wait_for, TempDir};
use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Text windows the start-up may map. The ordered build maps 4 or 5 of 19 (2026-12-06,
/// after glibc's stdio left the binary; 5 or 6 of 25 before): the ordered start-up path
/// spans 3 or 4, and glibc's IFUNC stubs in `.iplt`, at the end of the text, 1, or 2 when
/// they straddle a boundary. Which, depends on where the kernel loads the binary: at any
/// 4 KiB boundary (a binary under 2 MiB), so the windows fall differently at each start.
const MAX_TEXT_WINDOWS: usize = 6;

/// The kernel's fault-around window (fault_around_bytes' default).
const WINDOW: u64 = 64 * 1024;

/// Drop the file's pages from the page cache, so that the next start reads it cold.
fn drop_from_cache(path: &Path) {
    let file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    file.sync_all()
        .unwrap_or_else(|e| panic!("cannot sync {}: {e}", path.display()));
    posix_fadvise(
        file.as_raw_fd(),
        0,
        0,
        PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    )
    .unwrap_or_else(|e| panic!("posix_fadvise on {}: {e}", path.display()));
}

/// The executable mapping of `file` in `pid`: (start, end) addresses.
fn text_mapping(pid: u32, file: &Path) -> (u64, u64) {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/maps: {e}"));
    let name = file.to_string_lossy();
    maps.lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(1)?.contains('x') && fields.get(5) == Some(&&*name) {
                let (lo, hi) = fields.first()?.split_once('-')?;
                Some((
                    u64::from_str_radix(lo, 16).ok()?,
                    u64::from_str_radix(hi, 16).ok()?,
                ))
            } else {
                None
            }
        })
        .unwrap_or_else(|| panic!("no executable mapping of {name} in pid {pid}:\n{maps}"))
}

/// The 64 KiB windows of `[lo, hi)` with a page present in `pid`'s page tables, as
/// window numbers (address / 64 KiB).
fn windows_present(pid: u32, lo: u64, hi: u64) -> Vec<u64> {
    let path = format!("/proc/{pid}/pagemap");
    let mut pagemap =
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    let pages = usize::try_from((hi - lo) / 4096).expect("mapping size");
    let mut entries = vec![0u8; pages * 8];
    pagemap
        .seek(SeekFrom::Start(lo / 4096 * 8))
        .and_then(|_| pagemap.read_exact(&mut entries))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut windows: Vec<u64> = entries
        .chunks_exact(8)
        .enumerate()
        .filter(|(_, e)| e[7] & 0x80 != 0) // bit 63: present
        .map(|(i, _)| (lo + i as u64 * 4096) / WINDOW)
        .collect();
    windows.dedup();
    windows
}

/// The init, started cold as `name ARGS`, once it waits for its CMD (`sleep` running).
fn start_cold(dir: &TempDir, name: &str, args: &[&str], real: &Path) -> Child {
    drop_from_cache(real);
    let child = Command::new(dir.join(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let cmd = only_child(child.id() as i32);
    wait_for(&format!("{name}'s CMD to exec sleep"), || {
        let comm = std::fs::read_to_string(format!("/proc/{cmd}/comm")).ok()?;
        (comm.trim() == "sleep").then_some(())
    });
    child
}

/// The size of the section named `name` in an ELF64 file (section headers survive
/// stripping).
fn section_size(elf: &[u8], name: &[u8]) -> Option<u64> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(elf.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?));
    let shoff = usize::try_from(u64_at(0x28)?).ok()?;
    let (size, count) = (usize::from(u16_at(0x3a)?), usize::from(u16_at(0x3c)?));
    let names = usize::try_from(u64_at(shoff + usize::from(u16_at(0x3e)?) * size + 0x18)?).ok()?;
    (0..count).find_map(|i| {
        let header = shoff + i * size;
        let at = names + usize::try_from(u32_at(header)?).ok()?;
        let rest = elf.get(at..)?;
        (rest.get(..rest.iter().position(|b| *b == 0)?)? == name).then(|| u64_at(header + 0x20))?
    })
}

/// rustc's unwind tables are left out of the link (layout-link: panic = "abort"); what
/// remains is glibc's, 17 KiB (45 KiB before glibc's stdio left too). With them,
/// `.eh_frame` was 212 KiB.
#[test]
fn the_binary_carries_no_rust_unwind_tables() {
    let path = static_bin();
    let elf = std::fs::read(&path).expect("read the binary under test");
    let eh_frame = section_size(&elf, b".eh_frame").expect("an .eh_frame section (glibc's)");
    assert!(
        eh_frame < 64 * 1024,
        "{}: .eh_frame is {eh_frame} bytes: rustc's unwind tables are linked in again; \
         `make build` links rich-init through integration/layout/link.rs, which leaves them out",
        path.display()
    );
}

#[test]
fn a_cold_start_maps_few_text_windows_in_each_personality() {
    let dir = TempDir::new("layout");
    // A copy of our own: no other test keeps its pages mapped, so dropping them works.
    let real = dir.join("rich-init");
    std::fs::copy(static_bin(), &real).expect("copy the binary under test");
    for name in ["dumb-init", "tini"] {
        std::os::unix::fs::symlink(&real, dir.join(name)).expect("personality symlink");
    }
    let scenarios: [(&str, &[&str]); 3] = [
        ("rich-init", &["--", "sleep", "60"]),
        ("dumb-init", &["sleep", "60"]),
        ("tini", &["-s", "--", "sleep", "60"]),
    ];
    let mut report = Vec::new();
    for (name, args) in scenarios {
        let mut init = start_cold(&dir, name, args, &real);
        let (lo, hi) = text_mapping(init.id(), &real);
        let windows = windows_present(init.id(), lo, hi);
        let touched = windows.len();
        // Where they are, as offsets into the text mapping (for a look at the link map
        // that layout-link leaves beside the binary in target/).
        let offsets: Vec<String> = windows
            .iter()
            .map(|w| format!("{:#x}", (w * WINDOW).saturating_sub(lo)))
            .collect();
        let total = usize::try_from(hi.div_ceil(WINDOW) - lo / WINDOW).expect("windows");
        // SIGTERM goes on to sleep (every personality forwards it); the init then exits.
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(init.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("signal the init");
        init.wait().expect("wait for the init");
        // An unordered start maps three quarters of the windows (25 of 32 when this test
        // was written): a bound under half of them tells the two apart.
        assert!(
            total > 2 * MAX_TEXT_WINDOWS,
            "the text is only {total} windows: the bound {MAX_TEXT_WINDOWS} proves nothing"
        );
        report.push(format!("{name}: {touched} of {total}"));
        let offsets = offsets.join(" ");
        assert!(
            touched <= MAX_TEXT_WINDOWS,
            "{name}: a cold start maps {touched} of the text's {total} 64 KiB windows (at most \
             {MAX_TEXT_WINDOWS}; at text offsets {offsets}): the start-up path is scattered \
             again. `make build` orders it (integration/layout/link.rs); a binary not built by \
             make is not ordered"
        );
    }
    eprintln!("text windows mapped at start-up: {}", report.join(", "));
}

/// The static binary defines the few C names whose glibc objects would bring in stdio,
/// printf, iconv and `dlopen` (src/sys/libc_subst.rs), and an unwinder that never unwinds
/// (src/sys/nounwind.rs), which keeps std's backtrace resolver out. Each leaves a string
/// behind when it comes back: iconv its configuration file's name, the resolver its
/// crate's name in panic locations.
#[test]
fn the_binary_links_neither_stdio_nor_the_backtrace_resolver() {
    let path = static_bin();
    let elf = std::fs::read(&path).expect("read the binary under test");
    let has = |needle: &[u8]| elf.windows(needle.len()).any(|w| w == needle);
    for (needle, what) in [
        (
            &b"gconv-modules"[..],
            "glibc's iconv (and with it stdio, printf and dlopen)",
        ),
        (&b"gimli"[..], "std's backtrace resolver (gimli)"),
    ] {
        assert!(
            !has(needle),
            "{}: links {what} again ({:?} is in it): a glibc object that src/sys/libc_subst.rs \
             keeps out, or libgcc's unwinder, came back. Find out which with \
             `-C link-arg=-Wl,--why-extract=FILE` and define its name there",
            path.display(),
            String::from_utf8_lossy(needle)
        );
    }
}

/// Issue 16's size target: the pid-1 binary is copied into every container, so it stays
/// within twice Debian's tini-static (1.96x when the target was met, 2026-12-06). Code that
/// pushes it over has to pay for itself elsewhere: README's Footprint section lists what
/// was cut and what is left.
#[test]
fn the_binary_is_at_most_twice_tini_static() {
    let ours = static_bin();
    let peer = require("tini-static");
    let size = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len())
            .expect("the binary's size")
    };
    let (ours_len, peer_len) = (size(&ours), size(&peer));
    assert!(
        ours_len <= 2 * peer_len,
        "{} is {ours_len} bytes, {:.2}x {} ({peer_len} bytes): over the 2.0x budget; see \
         README, Footprint, for where the bytes go and `make build`'s link map in target/",
        ours.display(),
        ours_len as f64 / peer_len as f64,
        peer.display()
    );
}
