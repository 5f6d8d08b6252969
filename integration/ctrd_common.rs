//! What the test harness (containerd.rs, leaks.rs) and the bench (bench/ctrd.rs,
//! bench/host.rs) both need to run a private containerd and clean up after it; plain std,
//! so that both crates can include it.

use std::path::Path;
use std::time::{Duration, Instant};

/// A path as a TOML string.
fn toml_string(path: &Path) -> String {
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// containerd's config: root, state and temp under `dir`, gRPC on `sock` and ttrpc beside
/// it, CRI and the plugins we do not use off, no debug or metrics sockets.
pub fn config_toml(dir: &Path, sock: &Path) -> String {
    let ttrpc = format!("{}.ttrpc", sock.display());
    format!(
        r#"version = 2
root = {root}
state = {state}
temp = {temp}
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = {sock}

[ttrpc]
  address = {ttrpc}

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""
"#,
        root = toml_string(&dir.join("root")),
        state = toml_string(&dir.join("state")),
        temp = toml_string(&dir.join("tmp")),
        sock = toml_string(sock),
        ttrpc = toml_string(Path::new(&ttrpc)),
    )
}

/// Poll `done` with a short back-off until it holds or `limit` passes; whether it held.
/// For clean-up only (it never panics); a test waits with `harness::wait_for`.
pub fn settle(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if done() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
