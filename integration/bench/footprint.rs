//! Footprint: the memory an init costs while its CMD (`sleep`) runs, read from /proc of
//! the init's own process, for ours in its three personalities and for each peer.
//!
//! RSS depends on how the binary sits in the page cache (a file just written maps all
//! its cached pages, and its unwritten pages count as Private_Dirty), so every start is
//! measured in two conditions, the same way for every binary:
//! - cold: `sync()`, then `posix_fadvise(DONTNEED)` on the binary's real file (and on
//!   the shared libraries of a dynamic one), then the start;
//! - warm: `sync()`, one start thrown away, then the start that is measured.
//!
//! One init at a time, never two at once, so that one's page cache cannot help another's.

use crate::child;
use crate::peers::{os, Init, Kind, Mode};
use crate::procstat::proc_field;
use crate::proctree::{descendants, kill_alive, stat_fields};
use crate::rich_proc::TempDir;
use crate::stats::median;
use crate::sys;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// From the moment CMD exists until the figures are read.
pub const SETTLE: Duration = Duration::from_millis(300);
/// The longest an init may take to start its CMD.
const CHILD_LIMIT: Duration = Duration::from_secs(5);
/// How often to look for the init's child while waiting for it.
const POLL: Duration = Duration::from_millis(1);
/// CMD's sleep; the bench stops the init with SIGTERM long before it ends.
pub const SLEEP_SECS: &str = "30";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Cold,
    Warm,
}

pub const CONDITIONS: [Condition; 2] = [Condition::Cold, Condition::Warm];

impl Condition {
    pub fn name(self) -> &'static str {
        match self {
            Condition::Cold => "cold",
            Condition::Warm => "warm",
        }
    }
}

/// One binary as one init: how it is started, and the files it maps from disk.
pub struct Subject {
    /// Its column's name.
    pub label: &'static str,
    /// RICH_INIT_BIN, in one of its personalities.
    pub ours: bool,
    /// The command line it takes (`init.kind`) and the path argv[0] names; for ours in
    /// the dumb-init or tini personality, a symlink of that name to RICH_INIT_BIN.
    pub init: Init,
    /// The real file (symlinks resolved): the one dropped from the page cache.
    pub file: PathBuf,
    /// Shared libraries it maps (`ldd`), dropped from the cache as well; empty if static.
    pub libs: Vec<PathBuf>,
    pub size: u64,
    pub dynamic: bool,
    /// The read-ahead of the block device that holds the file, kB, when sysfs tells.
    pub read_ahead_kb: Option<u64>,
}

/// One start's figures, of the init's own process: kB, and page faults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub hwm: f64,
    pub vm_rss: f64,
    pub rss: f64,
    pub private_dirty: f64,
    pub private_clean: f64,
    pub shared_clean: f64,
    pub anonymous: f64,
    pub minflt: f64,
    pub majflt: f64,
}

/// Pages of a file still in the page cache right after DONTNEED, and all its pages.
#[derive(Debug, Clone)]
pub struct Left {
    pub file: PathBuf,
    pub resident: usize,
    pub pages: usize,
}

pub struct Footprint {
    pub runs: usize,
    /// The inits' columns first (ours as rich-init, then the peers, in the order of
    /// `peers::discover`), then ours as dumb-init and as tini.
    pub subjects: Vec<Subject>,
    /// Per subject, per condition (in [`CONDITIONS`] order), one sample per run.
    pub samples: Vec<[Vec<Sample>; 2]>,
    /// Per subject: each file's pages left in the cache after DONTNEED, worst run.
    pub left: Vec<Vec<Left>>,
    /// Processes still running below an init after it exited (then killed), all runs.
    pub leftovers: usize,
}

impl Footprint {
    /// The subject in `init`'s column of the main table.
    pub fn column(&self, init: &Init) -> Option<usize> {
        self.subjects
            .iter()
            .position(|s| s.init.kind == init.kind && s.init.path == init.path)
    }

    /// The median of `pick` over `subject`'s runs in `condition`.
    pub fn median(&self, subject: usize, c: Condition, pick: impl Fn(&Sample) -> f64) -> f64 {
        let v: Vec<f64> = self.samples[subject][c as usize].iter().map(pick).collect();
        median(&v).unwrap_or(f64::NAN)
    }

    /// Ours as rich-init, as dumb-init and as tini.
    pub fn personalities(&self) -> Vec<usize> {
        (0..self.subjects.len())
            .filter(|&i| self.subjects[i].ours)
            .collect()
    }

    /// The subject of a peer.
    pub fn peer(&self, kind: Kind) -> Option<usize> {
        self.subjects
            .iter()
            .position(|s| s.init.kind == kind && !s.ours)
    }
}

/// The shared libraries `ldd` names for `file`, by their real paths.
fn shared_libs(file: &Path) -> Result<Vec<PathBuf>, String> {
    let out = child::run(
        Command::new("ldd")
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        Duration::from_secs(10),
        &format!("ldd {}", file.display()),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut libs = Vec::new();
    for line in text.lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux… (0x…)"
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            let real = std::fs::canonicalize(p).map_err(|e| format!("cannot resolve {p}: {e}"))?;
            if !libs.contains(&real) {
                libs.push(real);
            }
        }
    }
    Ok(libs)
}

fn subject(label: &'static str, ours: bool, init: Init) -> Result<Subject, String> {
    let file = std::fs::canonicalize(&init.path)
        .map_err(|e| format!("cannot resolve {}: {e}", init.path.display()))?;
    let size = std::fs::metadata(&file)
        .map_err(|e| format!("cannot stat {}: {e}", file.display()))?
        .len();
    let dynamic = init.is_dynamic()?;
    let libs = if dynamic {
        shared_libs(&file)?
    } else {
        Vec::new()
    };
    Ok(Subject {
        read_ahead_kb: read_ahead_kb(&file),
        label,
        ours,
        init,
        file,
        libs,
        size,
        dynamic,
    })
}

/// The read-ahead (sysfs `queue/read_ahead_kb`) of the block device that holds `file`,
/// or of the disk when that device is a partition; None on a device with no queue
/// (overlayfs, tmpfs).
fn read_ahead_kb(file: &Path) -> Option<u64> {
    use nix::sys::stat::{major, minor};
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(file).ok()?.dev();
    let base = format!("/sys/dev/block/{}:{}", major(dev), minor(dev));
    ["queue/read_ahead_kb", "../queue/read_ahead_kb"]
        .iter()
        .find_map(|p| {
            std::fs::read_to_string(format!("{base}/{p}"))
                .ok()?
                .trim()
                .parse()
                .ok()
        })
}

/// The subjects: `inits` (ours first), then ours through symlinks named dumb-init and
/// tini in `links`, which choose those personalities by argv[0].
fn subjects(inits: &[Init], links: &TempDir) -> Result<Vec<Subject>, String> {
    let mut all = Vec::new();
    for init in inits {
        let ours = init.kind == Kind::Ours;
        let label = if ours { "ours (rich-init)" } else { init.name };
        all.push(subject(label, ours, init.clone())?);
    }
    let ours = &inits[0].path;
    // Kind is the command line: ours as tini takes `-s --` as tini does.
    for (label, name, kind) in [
        ("ours as dumb-init", "dumb-init", Kind::DumbInit),
        ("ours as tini", "tini", Kind::Tini),
    ] {
        let path = links.path.join(name);
        std::os::unix::fs::symlink(ours, &path)
            .map_err(|e| format!("cannot link {} to {}: {e}", path.display(), ours.display()))?;
        all.push(subject(label, true, Init { kind, name, path })?);
    }
    Ok(all)
}

/// `runs` rounds; in each, every subject in turn: cold, then warm.
pub fn measure(inits: &[Init], runs: usize) -> Result<Footprint, String> {
    let links = TempDir::new("personalities", &[])?;
    let subjects = subjects(inits, &links)?;
    let mut samples: Vec<[Vec<Sample>; 2]> = subjects.iter().map(|_| Default::default()).collect();
    let mut left: Vec<Vec<Left>> = subjects.iter().map(|_| Vec::new()).collect();
    let mut leftovers = 0;
    for _ in 0..runs {
        for (i, s) in subjects.iter().enumerate() {
            for c in CONDITIONS {
                sys::sync();
                match c {
                    Condition::Cold => worst(&mut left[i], drop_from_cache(s)?),
                    Condition::Warm => leftovers += start_once(s).map(|(_, n)| n)?,
                }
                let (sample, n) = start_once(s)?;
                leftovers += n;
                samples[i][c as usize].push(sample);
            }
        }
    }
    Ok(Footprint {
        runs,
        subjects,
        samples,
        left,
        leftovers,
    })
}

/// Keep, per file, the run that left the most pages in the cache.
fn worst(kept: &mut Vec<Left>, now: Vec<Left>) {
    if kept.is_empty() {
        *kept = now;
        return;
    }
    for (k, n) in kept.iter_mut().zip(now) {
        if n.resident > k.resident {
            *k = n;
        }
    }
}

/// DONTNEED on the subject's file and libraries; what each still has in the cache.
fn drop_from_cache(s: &Subject) -> Result<Vec<Left>, String> {
    let mut left = Vec::new();
    for path in std::iter::once(&s.file).chain(&s.libs) {
        let file = std::fs::File::open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        sys::fadvise_dontneed(&file)
            .map_err(|e| format!("posix_fadvise(DONTNEED) on {}: {e}", path.display()))?;
        let (resident, pages) = sys::resident_pages(&file)
            .map_err(|e| format!("mincore on {}: {e}", path.display()))?;
        left.push(Left {
            file: path.clone(),
            resident,
            pages,
        });
    }
    Ok(left)
}

/// Start `X sleep` once, read its figures once CMD runs, stop it with SIGTERM; the
/// sample and how many processes it left behind.
fn start_once(s: &Subject) -> Result<(Sample, usize), String> {
    let what = format!("{} footprint", s.label);
    let mut command = s
        .init
        .command(Mode::Subreaper, &[os("sleep"), os(SLEEP_SECS)]);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut running = child::spawn(&mut command, &what)?;
    let sample = sample_running(&mut running, &what);
    let pid = i32::try_from(running.id()).map_err(|_| format!("{what}: bad pid"))?;
    let below = descendants(pid);
    let signalled = child::signal(&running, Signal::SIGTERM, &what);
    let finished = child::finish(running, Duration::from_secs(5), &what);
    let leftovers = kill_alive(&below);
    let sample = sample?;
    signalled?;
    finished?;
    Ok((sample, leftovers))
}

/// Wait until the init has a child (its CMD), let it settle, then read.
fn sample_running(running: &mut Child, what: &str) -> Result<Sample, String> {
    let pid = running.id();
    let children = format!("/proc/{pid}/task/{pid}/children");
    let begun = Instant::now();
    loop {
        let text = std::fs::read_to_string(&children)
            .map_err(|e| format!("{what}: cannot read {children}: {e}"))?;
        if !text.trim().is_empty() {
            break;
        }
        if let Ok(Some(status)) = running.try_wait() {
            return Err(format!(
                "{what}: the init exited ({status}) before its CMD ran"
            ));
        }
        if begun.elapsed() > CHILD_LIMIT {
            return Err(format!("{what}: no CMD within {CHILD_LIMIT:?}"));
        }
        std::thread::sleep(POLL);
    }
    std::thread::sleep(SETTLE);
    let faults = stat_fields(i32::try_from(pid).map_err(|_| format!("{what}: bad pid"))?)
        .ok_or_else(|| format!("{what}: cannot read /proc/{pid}/stat"))?;
    // Fields 10 and 12 of /proc/PID/stat; stat_fields starts at field 3.
    let fault = |field: usize| -> Result<f64, String> {
        faults
            .get(field - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| format!("{what}: no field {field} in /proc/{pid}/stat"))
    };
    let status = |f: &str| proc_field(pid, "status", f).map(|v| v as f64);
    let smaps = |f: &str| proc_field(pid, "smaps_rollup", f).map(|v| v as f64);
    let sample = Sample {
        hwm: status("VmHWM")?,
        vm_rss: status("VmRSS")?,
        rss: smaps("Rss")?,
        private_dirty: smaps("Private_Dirty")?,
        private_clean: smaps("Private_Clean")?,
        shared_clean: smaps("Shared_Clean")?,
        anonymous: smaps("Anonymous")?,
        minflt: fault(10)?,
        majflt: fault(12)?,
    };
    if let Ok(Some(status)) = running.try_wait() {
        return Err(format!(
            "{what}: the init exited ({status}) while being measured"
        ));
    }
    Ok(sample)
}
