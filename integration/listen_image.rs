//! The images of the zero-refused upgrade test and bench rows (issue 17, part 3): the
//! upgrade tests' variants (upgrade_image.rs: the rich-busybox root filesystem, no Python
//! in it) with rich-init in rich mode as ENTRYPOINT, and in their top layer the static
//! TCP server of integration/listen/server.rs at /usr/local/bin/listen-server and its
//! service file, /etc/rich-init/services.d/web.toml. The server answers each connection
//! with its pid and the image's tag, so a client tells the old image from the new one.
//!
//! Two kinds: with `listen = ["tcp:0.0.0.0:PORT"]` (rich-init binds and holds the socket,
//! the server accepts on fd 3) and without it (the server binds the port itself). The
//! server is built once per process, by rustc alone, statically (about a second).

use crate::harness::require;
use crate::upgrade_image::ImageSpec;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The port the server listens on inside the container's network namespace.
pub const PORT: u16 = 8080;
/// Where the server is in the images.
pub const SERVER: &str = "/usr/local/bin/listen-server";
/// The entrypoint: rich-init in rich mode (services.d in its default place), then CMD.
pub const RICH: &[&str] = &["/sbin/rich-init", "--rich", "--"];

/// The files of this process: the server binary and the service files. Removed at exit.
static DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_dir() {
    if let Some(dir) = DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The process's dir, with the server built into it.
fn dir() -> &'static Path {
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rich-init-it-listen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir); // a leftover of an earlier process
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        // SAFETY: registers a plain function that only removes a directory.
        let registered = unsafe { libc::atexit(remove_dir) };
        assert_eq!(registered, 0, "atexit failed");
        build_server(&dir.join("listen-server"));
        dir
    })
}

/// `rustc -O -C target-feature=+crt-static` of integration/listen/server.rs into `out`.
fn build_server(out: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/listen/server.rs");
    let rustc = require("rustc");
    let built = std::process::Command::new(&rustc)
        .args([
            "--edition",
            "2021",
            "-O",
            "-C",
            "target-feature=+crt-static",
        ])
        .arg("-o")
        .arg(out)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", rustc.display()));
    assert!(
        built.status.success(),
        "rustc could not build {} ({}):\n{}",
        source.display(),
        built.status,
        String::from_utf8_lossy(&built.stderr)
    );
    crate::harness::assert_static(out, "rustc must be able to link statically (libc6-dev)");
}

/// The image name of tag `tag` ("v1", "v2"), with or without `listen`.
pub fn name(tag: &str, listen: bool) -> String {
    let repo = if listen { "listen" } else { "bind" };
    format!("rich-init-it/{repo}:{tag}")
}

/// The service file: the server answering as `tag`, with `listen` or not.
pub fn service(tag: &str, listen: bool) -> String {
    let addr = format!("0.0.0.0:{PORT}");
    let mut text = format!("command = [\"{SERVER}\", \"{addr}\", \"{tag}\"]\n");
    if listen {
        text.push_str(&format!("listen = [\"tcp:{addr}\"]\n"));
    }
    text
}

/// The image `tag` with or without `listen`: rich-init --rich, the app script as CMD, the
/// server and its service file.
pub fn spec(tag: &str, listen: bool) -> ImageSpec {
    let dir = dir();
    let file = dir.join(format!("web-{tag}-{listen}.toml"));
    std::fs::write(&file, service(tag, listen))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
    ImageSpec::app(&name(tag, listen), tag)
        .entrypoint(RICH)
        .file(SERVER, &dir.join("listen-server"))
        .file("/etc/rich-init/services.d/web.toml", &file)
}
