//! Issue 4, hook overhead: `runc run` of a trivial container (`/bin/true` in a busybox-static
//! rootfs) without hooks, with our prestart + poststop hooks (`rich-init hook STAGE`, an empty
//! hooks dir, so that our own cost is measured and no script's), and with a do-nothing static
//! hook at both stages (busybox `true`: what runc itself spends on running any hook), the
//! variants taking turns; and `rich-init hook STAGE` alone, fed a state JSON on stdin, to show
//! where the time goes. A check run with marker scripts in the hooks dir first proves that
//! both hooks run.

use crate::child;
use crate::stats::median;
use serde_json::{json, Value};
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const RUNC: &str = "runc";
/// Static busybox: the container's /bin/busybox, and the process floor on the host.
const BUSYBOX: &str = "/usr/bin/busybox";
/// Longest a `runc run` or a lone hook may take before the bench gives up on it.
const LIMIT: Duration = Duration::from_secs(30);
/// Rounds run first and thrown away: page cache, dentries, runc's first cgroup setup.
pub const WARMUP_ROUNDS: usize = 2;

pub struct HookResults {
    pub runs: usize,
    pub runc_version: String,
    /// `runc run` wall time, ms: without hooks / with our prestart + poststop hooks / with
    /// busybox `true` as both hooks.
    pub bare_ms: Vec<f64>,
    pub hooked_ms: Vec<f64>,
    pub null_hooked_ms: Vec<f64>,
    /// `rich-init hook prestart|poststop` alone, state JSON on stdin, ms.
    pub prestart_ms: Vec<f64>,
    pub poststop_ms: Vec<f64>,
    /// Spawn and reap of a static busybox `true` with the same plumbing, ms.
    pub floor_ms: Vec<f64>,
    /// Stages whose marker script ran in the check run, as "STAGE ID" lines.
    pub check_lines: Vec<String>,
    pub check_id: String,
}

impl HookResults {
    pub fn check_ran(&self, stage: &str) -> bool {
        let want = format!("{stage} {}", self.check_id);
        self.check_lines.contains(&want)
    }

    /// Median with hooks − median without, ms.
    pub fn added_ms(&self) -> Option<f64> {
        Some(median(&self.hooked_ms)? - median(&self.bare_ms)?)
    }

    /// Median with the do-nothing hooks − median without, ms.
    pub fn null_added_ms(&self) -> Option<f64> {
        Some(median(&self.null_hooked_ms)? - median(&self.bare_ms)?)
    }

    /// Median of the paired differences: each hooked run minus the plain run of its round.
    pub fn paired_added_ms(&self) -> Option<f64> {
        let diffs: Vec<f64> = self
            .hooked_ms
            .iter()
            .zip(&self.bare_ms)
            .map(|(h, b)| h - b)
            .collect();
        median(&diffs)
    }
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let path =
            std::env::temp_dir().join(format!("rich-init-bench-{}-hooks", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mkdir(path: &Path) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    std::fs::write(path, text)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn utf8(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

/// /bin/busybox (static) and /bin/true, plus the mount points the config names.
fn populate_rootfs(root: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(BUSYBOX)
        .map_err(|e| format!("{BUSYBOX} is missing ({e}): install busybox-static (`make deps`)"))?;
    if !meta.is_file() {
        return Err(format!("{BUSYBOX} is not a file"));
    }
    for dir in ["bin", "proc", "dev", "sys", "tmp"] {
        mkdir(&root.join(dir))?;
    }
    let to = root.join("bin/busybox");
    std::fs::copy(BUSYBOX, &to)
        .and_then(|_| std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("cannot copy {BUSYBOX} to {}: {e}", to.display()))?;
    symlink("busybox", root.join("bin/true"))
        .map_err(|e| format!("cannot link /bin/true in {}: {e}", root.display()))
}

/// One of our hooks as runc runs it: argv[0] "rich-init", the hooks dir in its env.
fn hook(bin: &Path, stage: &str, hooks_dir: &Path) -> Result<Value, String> {
    Ok(json!({
        "path": utf8(bin)?,
        "args": ["rich-init", "hook", stage],
        "env": [format!("RICH_INIT_HOOKS_DIR={}", utf8(hooks_dir)?)],
    }))
}

/// Our hooks at prestart and poststop, with `hooks_dir` as their hooks dir.
fn our_hooks(bin: &Path, hooks_dir: &Path) -> Result<Value, String> {
    Ok(json!({
        "prestart": [hook(bin, "prestart", hooks_dir)?],
        "poststop": [hook(bin, "poststop", hooks_dir)?],
    }))
}

/// A hook that does nothing, fast: static busybox `true`, at prestart and poststop.
fn null_hooks() -> Value {
    let hook = json!({"path": BUSYBOX, "args": ["busybox", "true"]});
    json!({"prestart": [hook.clone()], "poststop": [hook]})
}

/// config.json of the trivial container, like integration/runc.rs's Spec.
fn config(rootfs: &Path, hooks: Option<Value>) -> Result<String, String> {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let mut config = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/bin/true"],
            "env": ["PATH=/sbin:/bin:/usr/sbin:/usr/bin"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps, "ambient": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": utf8(rootfs)?, "readonly": false},
        "hostname": "rich-init-bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    if let Some(hooks) = hooks {
        config["hooks"] = hooks;
    }
    serde_json::to_string_pretty(&config).map_err(|e| format!("cannot write config.json: {e}"))
}

/// The temp dir's layout: one shared rootfs, a bundle per variant, runc's state root.
struct Setup {
    /// Removed on drop, with everything in it.
    _dir: TempDir,
    state: PathBuf,
    plain: PathBuf,
    hooked: PathBuf,
    null_hooked: PathBuf,
    check: PathBuf,
    empty_hooks: PathBuf,
    marks: PathBuf,
    next_id: usize,
}

impl Setup {
    fn new(bin: &Path) -> Result<Setup, String> {
        let dir = TempDir::new()?;
        let at = |name: &str| dir.0.join(name);
        let (rootfs, state, empty_hooks) = (at("rootfs"), at("state"), at("hooks-empty"));
        populate_rootfs(&rootfs)?;
        let (plain, hooked, check) = (at("plain"), at("hooked"), at("check"));
        let null_hooked = at("null-hooked");
        let check_hooks = at("hooks-check");
        let marks = at("marks");
        for d in [&state, &empty_hooks, &plain, &hooked, &null_hooked, &check] {
            mkdir(d)?;
        }
        write(&plain.join("config.json"), &config(&rootfs, None)?, 0o644)?;
        let hooked_config = config(&rootfs, Some(our_hooks(bin, &empty_hooks)?))?;
        write(&hooked.join("config.json"), &hooked_config, 0o644)?;
        let null_config = config(&rootfs, Some(null_hooks()))?;
        write(&null_hooked.join("config.json"), &null_config, 0o644)?;
        let check_config = config(&rootfs, Some(our_hooks(bin, &check_hooks)?))?;
        write(&check.join("config.json"), &check_config, 0o644)?;
        // Marker scripts: the hook clears their env but for RICH_INIT_*, so the marks
        // file is written into the script itself.
        let script = format!(
            "#!/bin/sh\necho \"$RICH_INIT_STAGE $RICH_INIT_CONTAINER_ID\" >> '{}'\n",
            utf8(&marks)?
        );
        for stage in ["prestart", "poststop"] {
            mkdir(&check_hooks.join(stage))?;
            write(&check_hooks.join(stage).join("10-mark"), &script, 0o755)?;
        }
        Ok(Setup {
            _dir: dir,
            state,
            plain,
            hooked,
            null_hooked,
            check,
            empty_hooks,
            marks,
            next_id: 0,
        })
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("rich-init-bench-{}-{}", std::process::id(), self.next_id)
    }

    /// `runc --root STATE run --bundle BUNDLE ID` to its end; its wall time in ms.
    fn run(&self, bundle: &Path, id: &str) -> Result<f64, String> {
        let mut command = Command::new(RUNC);
        command
            .arg("--root")
            .arg(&self.state)
            .args(["run", "--bundle"])
            .arg(bundle)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = format!("runc run {id} (bundle {})", bundle.display());
        let start = Instant::now();
        let result = child::run(&mut command, LIMIT, &what);
        let took = start.elapsed();
        if result.is_err() {
            // Whatever is left of it: processes, cgroup, state.
            let _ = Command::new(RUNC)
                .arg("--root")
                .arg(&self.state)
                .args(["delete", "-f", id])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        result.map(|_| took.as_secs_f64() * 1e3)
    }
}

/// `rich-init hook STAGE` alone with `state` on stdin, env as runc gives it; wall time, ms.
fn hook_alone(bin: &Path, stage: &str, hooks_dir: &Path, state: &str) -> Result<f64, String> {
    let mut command = Command::new(bin);
    command
        .arg0("rich-init")
        .args(["hook", stage])
        .env_clear()
        .env("RICH_INIT_HOOKS_DIR", hooks_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("rich-init hook {stage}");
    let start = Instant::now();
    let mut child = child::spawn(&mut command, &what)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that exits early closes the pipe; its exit status tells why.
        let _ = stdin.write_all(state.as_bytes());
    }
    succeeded(child::finish(child, LIMIT, &what)?, &what)?;
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

fn succeeded(out: Output, what: &str) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}); stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The floor for a lone hook: spawn, write to stdin, reap a static busybox `true`.
fn floor(state: &str) -> Result<f64, String> {
    let mut command = Command::new(BUSYBOX);
    command
        .arg("true")
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = child::spawn(&mut command, "busybox true")?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(state.as_bytes());
    }
    succeeded(child::finish(child, LIMIT, "busybox true")?, "busybox true")?;
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

/// A process that stands in for the container's pid in the prestart state; killed on drop.
struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn runc_version() -> String {
    Command::new(RUNC)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "runc: version unknown".to_string())
}

pub fn measure(bin: &Path, runs: usize) -> Result<HookResults, String> {
    let mut setup = Setup::new(bin)?;
    let mut r = HookResults {
        runs,
        runc_version: runc_version(),
        bare_ms: Vec::with_capacity(runs),
        hooked_ms: Vec::with_capacity(runs),
        null_hooked_ms: Vec::with_capacity(runs),
        prestart_ms: Vec::with_capacity(runs),
        poststop_ms: Vec::with_capacity(runs),
        floor_ms: Vec::with_capacity(runs),
        check_lines: Vec::new(),
        check_id: setup.id(),
    };

    // The check: marker scripts in the hooks dir must run at prestart and at poststop.
    setup.run(&setup.check, &r.check_id)?;
    r.check_lines = std::fs::read_to_string(&setup.marks)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();

    // Interleaved, the first of each round rotating, so that drift and order fall on
    // every variant alike.
    let bundles = [
        setup.plain.clone(),
        setup.hooked.clone(),
        setup.null_hooked.clone(),
    ];
    for round in 0..WARMUP_ROUNDS + runs {
        let keep = round >= WARMUP_ROUNDS;
        for k in 0..bundles.len() {
            let at = (round + k) % bundles.len();
            let id = setup.id();
            let ms = setup.run(&bundles[at], &id)?;
            if keep {
                [&mut r.bare_ms, &mut r.hooked_ms, &mut r.null_hooked_ms][at].push(ms);
            }
        }
    }

    // The hooks alone, with the hooked bundle's config.json and a live pid for prestart.
    let sleeper = Sleeper(child::spawn(
        Command::new(BUSYBOX)
            .args(["sleep", "1000"])
            .stdin(Stdio::null()),
        "busybox sleep",
    )?);
    let bundle = utf8(&setup.hooked)?;
    let creating = json!({"ociVersion": "1.0.2", "id": "x", "status": "creating",
        "pid": sleeper.0.id(), "bundle": bundle})
    .to_string();
    let stopped = json!({"ociVersion": "1.0.2", "id": "x", "status": "stopped", "bundle": bundle})
        .to_string();
    let empty = setup.empty_hooks.clone();
    for round in 0..WARMUP_ROUNDS + runs {
        let keep = round >= WARMUP_ROUNDS;
        for k in 0..3 {
            let (ms, into) = match (round + k) % 3 {
                0 => (
                    hook_alone(bin, "prestart", &empty, &creating)?,
                    &mut r.prestart_ms,
                ),
                1 => (
                    hook_alone(bin, "poststop", &empty, &stopped)?,
                    &mut r.poststop_ms,
                ),
                _ => (floor(&creating)?, &mut r.floor_ms),
            };
            if keep {
                into.push(ms);
            }
        }
    }
    drop(sleeper);
    Ok(r)
}
