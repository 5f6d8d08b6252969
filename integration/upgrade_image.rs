//! Images for the upgrade-helper tests, built by images/ as OCI layout tarballs for
//! `ctr images import`: the rich-busybox recipe itself (rich-busybox-1.tar, -2.tar), and
//! variants made with images/oci-image from two layers: the rich-busybox root filesystem
//! (images/rich-busybox/rootfs.sh: busybox-static, the static rich-init at /sbin/rich-init),
//! the same bytes in every variant, and a small top layer per image (/etc/image-version, an
//! `app` script that says which image it runs from and sleeps, /srv), with the config each
//! test needs (Entrypoint, Cmd, Env, Labels, WorkingDir, StopSignal). The images' chain
//! IDs differ while the base is unpacked once. Each variant is built once per test process
//! (see [`image`]).

use crate::harness::{require, static_bin, Run, TempDir};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The entrypoint of the "good" variants: rich-init as pid 1.
pub const INIT: &[&str] = &["/sbin/rich-init", "--"];

/// The script every variant runs by default: one line to stdout, then sleep until stopped.
const APP: &str = "#!/bin/sh\necho \"app $(cat /etc/image-version) up: $*\"\nexec sleep 1000000\n";
pub const APP_PATH: &str = "/usr/local/bin/app";

/// PATH in the variants' Env (the rich-busybox rootfs has applets in all of these).
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a variant image is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// The image name in containerd.
    pub name: String,
    /// The content of /etc/image-version (its `version_file`).
    pub version: String,
    /// The file inside the image that holds `version`.
    pub version_file: String,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub working_dir: String,
    pub stop_signal: Option<String>,
    /// More files for the top layer: (path inside the image, host file copied with its
    /// permission bits).
    pub files: Vec<(String, PathBuf)>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl ImageSpec {
    /// rich-init as ENTRYPOINT, CMD the app script, PATH and IMAGE_VERSION in Env, and
    /// `org.example.version` as label.
    pub fn app(name: &str, version: &str) -> ImageSpec {
        ImageSpec {
            name: name.to_string(),
            version: version.to_string(),
            version_file: "/etc/image-version".into(),
            entrypoint: strings(INIT),
            cmd: strings(&[APP_PATH]),
            env: vec![format!("PATH={PATH}"), format!("IMAGE_VERSION={version}")],
            labels: vec![("org.example.version".into(), version.into())],
            working_dir: String::new(),
            stop_signal: None,
            files: Vec::new(),
        }
    }

    pub fn entrypoint(mut self, argv: &[&str]) -> ImageSpec {
        self.entrypoint = strings(argv);
        self
    }

    pub fn cmd(mut self, argv: &[&str]) -> ImageSpec {
        self.cmd = strings(argv);
        self
    }

    pub fn env(mut self, pair: &str) -> ImageSpec {
        self.env.push(pair.to_string());
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> ImageSpec {
        self.labels.push((key.to_string(), value.to_string()));
        self
    }

    pub fn working_dir(mut self, dir: &str) -> ImageSpec {
        self.working_dir = dir.to_string();
        self
    }

    pub fn stop_signal(mut self, signal: &str) -> ImageSpec {
        self.stop_signal = Some(signal.to_string());
        self
    }

    /// A file of the top layer at `dest`, copied from the host's `src`.
    pub fn file(mut self, dest: &str, src: &Path) -> ImageSpec {
        self.files.push((dest.to_string(), src.to_path_buf()));
        self
    }

    /// Entrypoint followed by Cmd: the process args of a container made from the image.
    pub fn args(&self) -> Vec<String> {
        [self.entrypoint.clone(), self.cmd.clone()].concat()
    }
}

/// A built image archive.
#[derive(Debug, Clone)]
pub struct Image {
    pub spec: ImageSpec,
    pub tar: PathBuf,
    /// The chain IDs of its layers, bottom first: the committed snapshots it unpacks to.
    pub chain: Vec<String>,
}

/// A file of the repository.
fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A script of images/, which must succeed.
fn run_script(run: Run) {
    let out = run.output();
    assert_eq!(out.code(), Some(0), "images/ failed\n{out}");
}

fn script(path: &str) -> Run {
    require("python3");
    require("busybox");
    let mut run = Run::new(repo(path));
    run.command_mut().env_remove("SOURCE_DATE_EPOCH");
    run.env("RICH_INIT_BIN", static_bin())
        .env("BUSYBOX", require("busybox"))
}

/// sha256 of a file, as "sha256:HEX".
fn sha256_file(path: &Path) -> String {
    let out = Run::new(require("sha256sum")).arg(path).output();
    let hex = out
        .stdout
        .split_whitespace()
        .next()
        .filter(|h| h.len() == 64)
        .unwrap_or_else(|| panic!("sha256sum gave no digest\n{out}"));
    format!("sha256:{hex}")
}

/// One member of a tar archive, as JSON.
fn json_in_tar(tar: &Path, member: &str) -> Value {
    let out = Run::new(require("tar"))
        .arg("-xOf")
        .arg(tar)
        .arg(member)
        .output();
    assert_eq!(
        out.code(),
        Some(0),
        "no {member} in {}\n{out}",
        tar.display()
    );
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{member} in {} is not JSON: {e}", tar.display()))
}

fn blob(digest: &Value) -> String {
    let d = digest.as_str().expect("a digest");
    format!("blobs/sha256/{}", d.trim_start_matches("sha256:"))
}

/// The config (application/vnd.oci.image.config.v1+json) of an OCI layout tarball's
/// (first) image.
fn config_in_tar(tar: &Path) -> Value {
    let index = json_in_tar(tar, "index.json");
    let manifest = json_in_tar(tar, &blob(&index["manifests"][0]["digest"]));
    json_in_tar(tar, &blob(&manifest["config"]["digest"]))
}

/// The chain IDs of an image's layers from its config's diff_ids:
/// chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
fn chain_ids(config: &Value, scratch: &Path) -> Vec<String> {
    let diffs: Vec<String> = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap_or_else(|| panic!("no diff_ids in {config}"))
        .iter()
        .map(|d| d.as_str().expect("a diff_id").to_string())
        .collect();
    let mut chain: Vec<String> = Vec::new();
    for diff in diffs {
        let next = match chain.last() {
            None => diff,
            Some(prev) => {
                std::fs::write(scratch, format!("{prev} {diff}")).expect("write the chain input");
                sha256_file(scratch)
            }
        };
        chain.push(next);
    }
    chain
}

fn config_strings(config: &Value, key: &str) -> Vec<String> {
    config["config"][key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// `images/rich-busybox/build OUT` (what `make images` runs): rich-busybox:1 and :2.
pub fn rich_busybox(work: &TempDir) -> Vec<Image> {
    let out = work.join("rich-busybox");
    require("file");
    run_script(script("images/rich-busybox/build").arg(&out));
    ["1", "2"]
        .iter()
        .map(|tag| {
            let tar = out.join(format!("rich-busybox-{tag}.tar"));
            let config = config_in_tar(&tar);
            let chain = chain_ids(&config, &work.join("chain-input"));
            let spec = ImageSpec {
                name: format!("rich-init.test/rich-busybox:{tag}"),
                version: tag.to_string(),
                version_file: "/etc/rich-busybox-release".into(),
                entrypoint: config_strings(&config, "Entrypoint"),
                cmd: config_strings(&config, "Cmd"),
                env: config_strings(&config, "Env"),
                labels: Vec::new(),
                working_dir: String::new(),
                stop_signal: None,
                files: Vec::new(),
            };
            Image { spec, tar, chain }
        })
        .collect()
}

/// Variants already built in this test process, shared by the tests: building one takes
/// most of a second (gzip), the rootfs about as long. They live in one temp dir that is
/// removed when the test process exits.
static CACHE: Mutex<Option<Builder>> = Mutex::new(None);
static CACHE_DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_cache_dir() {
    if let Some(dir) = CACHE_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The variant image for `spec`, built once per test process.
pub fn image(spec: &ImageSpec) -> Image {
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let builder = cache.get_or_insert_with(|| {
        let dir = std::env::temp_dir().join(format!(
            "rich-init-it-upgrade-images-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir); // a leftover of an earlier process
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        CACHE_DIR.get_or_init(|| dir.clone());
        // SAFETY: registers a plain function that only removes a directory.
        let registered = unsafe { libc::atexit(remove_cache_dir) };
        assert_eq!(registered, 0, "atexit failed");
        Builder::new(dir)
    });
    if let Some(found) = builder.built.iter().find(|i| i.spec == *spec) {
        return found.clone();
    }
    let built = builder.build(spec);
    builder.built.push(built.clone());
    built
}

/// Builds variants in a dir; the base root filesystem is made once.
struct Builder {
    dir: PathBuf,
    base: PathBuf,
    built: Vec<Image>,
}

impl Builder {
    /// Make the rich-busybox root filesystem in `dir`.
    fn new(dir: PathBuf) -> Builder {
        let base = dir.join("base");
        run_script(script("images/rich-busybox/rootfs.sh").arg(&base));
        Builder {
            dir,
            base,
            built: Vec::new(),
        }
    }

    /// An OCI archive for `spec`, ready for `ctr images import`.
    fn build(&self, spec: &ImageSpec) -> Image {
        let dir = self.dir.join(format!("image-{}", self.built.len()));
        let top = dir.join("top");
        for sub in ["etc", "srv", "usr/local/bin"] {
            std::fs::create_dir_all(top.join(sub)).expect("create the top layer");
        }
        std::fs::write(top.join("etc/image-version"), format!("{}\n", spec.version))
            .expect("write /etc/image-version");
        let app = top.join("usr/local/bin/app");
        std::fs::write(&app, APP).expect("write the app script");
        std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).expect("chmod app");
        for (dest, src) in &spec.files {
            let at = top.join(dest.trim_start_matches('/'));
            std::fs::create_dir_all(at.parent().expect("a file in a dir"))
                .expect("create the top layer's dirs");
            std::fs::copy(src, &at)
                .unwrap_or_else(|e| panic!("cannot copy {} into the image: {e}", src.display()));
        }

        let tar = dir.join("image.tar");
        let list = |v: &[String]| json!(v).to_string();
        let mut run = script("images/oci-image")
            .arg("--output")
            .arg(&tar)
            .args(["--ref", &spec.name, "--layer"])
            .arg(&self.base)
            .arg("--layer")
            .arg(&top)
            .args(["--entrypoint", &list(&spec.entrypoint)])
            .args(["--cmd", &list(&spec.cmd)]);
        for e in &spec.env {
            run = run.args(["--env", e]);
        }
        for (k, v) in &spec.labels {
            run = run.args(["--label", &format!("{k}={v}")]);
        }
        if !spec.working_dir.is_empty() {
            run = run.args(["--workdir", &spec.working_dir]);
        }
        if let Some(sig) = &spec.stop_signal {
            run = run.args(["--stop-signal", sig]);
        }
        run_script(run);
        let chain = chain_ids(&config_in_tar(&tar), &dir.join("chain-input"));
        Image {
            spec: spec.clone(),
            tar,
            chain,
        }
    }
}
