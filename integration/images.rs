//! images/: the OCI image tarballs `make images` writes, checked without containerd.
//! The rich-busybox recipe run twice (into two directories) gives the same bytes; its
//! index, manifest and config are well-formed OCI with rich-init as ENTRYPOINT; its layers
//! hold what the crond and syslogd presets need. The builder itself: [`builder`].
//! (`ctr images import` and a run under a real containerd are for the containerd tests.)

mod builder;

use crate::harness::{require, static_bin, Outcome, Run, TempDir};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const REF_1: &str = "rich-init.test/rich-busybox:1";
const ENTRYPOINT: &[&str] = &[
    "/sbin/rich-init",
    "--rich",
    "--services",
    "crond,syslogd",
    "--",
];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn ok(run: Run) -> Outcome {
    let out = run.output();
    assert_eq!(out.code(), Some(0), "{out}");
    out
}

/// A builder or recipe run, with no SOURCE_DATE_EPOCH from the caller.
fn script(path: &str) -> Run {
    require("python3");
    let mut run = Run::new(repo(path));
    run.command_mut().env_remove("SOURCE_DATE_EPOCH");
    run
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `make images` minus `make build`: the rich-busybox recipe into `out`.
fn build_rich_busybox(out: &Path) {
    require("file");
    require("busybox");
    let run = script("images/rich-busybox/build")
        .env("RICH_INIT_BIN", static_bin())
        .arg(out);
    ok(run);
}

/// "sha256:HEX" of what the shell pipeline `pipe` prints, with `file` as its "$1".
fn sha256_of(pipe: &str, file: &Path) -> String {
    let shell = format!("{pipe} | sha256sum");
    let out = ok(Run::new(require("sh")).args(["-c", &shell, "sh"]).arg(file));
    let hex = out.stdout.split_whitespace().next().unwrap_or_default();
    assert_eq!(hex.len(), 64, "no digest from {shell}\n{out}");
    format!("sha256:{hex}")
}

const CAT: &str = "cat \"$1\"";

/// An OCI layout tarball unpacked into a temp dir.
struct Layout {
    dir: TempDir,
}

impl Layout {
    fn open(tar: &Path) -> Layout {
        let dir = TempDir::new("oci-layout");
        let tar_bin = require("tar");
        ok(Run::new(tar_bin)
            .arg("-xf")
            .arg(tar)
            .arg("-C")
            .arg(dir.path()));
        Layout { dir }
    }

    fn json(&self, name: &str) -> Value {
        let path = self.dir.join(name);
        serde_json::from_slice(&read(&path))
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
    }

    /// The blob a descriptor points to, after checking its digest and size.
    fn blob(&self, desc: &Value) -> PathBuf {
        let digest = desc["digest"].as_str().expect("descriptor digest");
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        let path = self.dir.join("blobs/sha256").join(hex);
        assert_eq!(
            sha256_of(CAT, &path),
            digest,
            "blob content matches its name"
        );
        assert_eq!(
            desc["size"].as_u64(),
            Some(read(&path).len() as u64),
            "descriptor size of {digest}"
        );
        path
    }

    fn blob_json(&self, desc: &Value) -> Value {
        let path = self.blob(desc);
        serde_json::from_slice(&read(&path))
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
    }

    /// The single manifest of index.json with its annotations, then (manifest, config).
    fn image(&self, reference: &str, tag: &str) -> (Value, Value) {
        assert_eq!(
            self.json("oci-layout"),
            json!({"imageLayoutVersion": "1.0.0"})
        );
        let index = self.json("index.json");
        assert_eq!(index["schemaVersion"], 2);
        assert_eq!(
            index["mediaType"],
            "application/vnd.oci.image.index.v1+json"
        );
        let entries = index["manifests"].as_array().expect("index.json manifests");
        assert_eq!(entries.len(), 1, "{index:#}");
        let entry = &entries[0];
        assert_eq!(
            entry["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(entry["platform"]["os"], "linux");
        assert_eq!(
            entry["annotations"],
            json!({"io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag}),
            "ctr import names the image by io.containerd.image.name"
        );
        let manifest = self.blob_json(entry);
        assert_eq!(manifest["schemaVersion"], 2);
        assert_eq!(
            manifest["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(
            manifest["config"]["mediaType"],
            "application/vnd.oci.image.config.v1+json"
        );
        let config = self.blob_json(&manifest["config"]);
        assert_eq!(config["os"], "linux");
        assert_eq!(config["architecture"], entry["platform"]["architecture"]);
        assert_eq!(config["created"], "1970-01-01T00:00:00Z");
        assert_eq!(config["rootfs"]["type"], "layers");
        // Each layer: gzip, and its diff_id is the digest of the uncompressed tar.
        let layers = manifest["layers"].as_array().expect("manifest layers");
        let diff_ids = config["rootfs"]["diff_ids"].as_array().expect("diff_ids");
        assert_eq!(layers.len(), diff_ids.len(), "one diff_id per layer");
        for (layer, diff_id) in layers.iter().zip(diff_ids) {
            assert_eq!(
                layer["mediaType"],
                "application/vnd.oci.image.layer.v1.tar+gzip"
            );
            assert_eq!(
                Some(sha256_of("gzip -dc \"$1\"", &self.blob(layer)).as_str()),
                diff_id.as_str()
            );
        }
        (manifest, config)
    }

    /// Manifest layer `i`'s blob.
    fn layer(&self, manifest: &Value, i: usize) -> PathBuf {
        self.blob(&manifest["layers"][i])
    }
}

/// One entry of `tar -tv` of a layer: mode string and link target.
#[derive(Debug)]
struct Entry {
    mode: String,
    link: Option<String>,
}

/// Every entry of a gzip layer by name, after checking that each is owned by 0/0 and
/// dated 1970-01-01 00:00.
fn entries(layer: &Path) -> BTreeMap<String, Entry> {
    let tar_bin = require("tar");
    let run = Run::new(tar_bin)
        .env("TZ", "UTC")
        .args(["--numeric-owner", "-tvzf"]);
    let out = ok(run.arg(layer));
    let mut map = BTreeMap::new();
    for line in out.stdout.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(f.len() >= 6, "tar -tv line {line:?}");
        assert_eq!((f[1], f[3], f[4]), ("0/0", "1970-01-01", "00:00"), "{line}");
        let name = f[5].trim_end_matches('/').to_string();
        let link = (f.get(6) == Some(&"->")).then(|| f[7..].join(" "));
        map.insert(
            name,
            Entry {
                mode: f[0].to_string(),
                link,
            },
        );
    }
    map
}

/// A text file of a gzip layer.
fn file_in_layer(layer: &Path, name: &str) -> String {
    let tar_bin = require("tar");
    ok(Run::new(tar_bin).arg("-xzOf").arg(layer).arg(name)).stdout
}

#[test]
fn rich_busybox_twice_gives_the_same_bytes() {
    let (a, b) = (TempDir::new("images-a"), TempDir::new("images-b"));
    build_rich_busybox(a.path());
    build_rich_busybox(b.path());
    for name in ["rich-busybox-1.tar", "rich-busybox-2.tar"] {
        let (x, y) = (a.join(name), b.join(name));
        assert!(
            read(&x) == read(&y),
            "{name} differs between two builds: {} vs {}",
            sha256_of(CAT, &x),
            sha256_of(CAT, &y)
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(a.path())
        .expect("read the output dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["rich-busybox-1.tar", "rich-busybox-2.tar"],
        "only the tarballs are left"
    );
}

#[test]
fn rich_busybox_is_rich_init_with_crond_and_syslogd() {
    let out = TempDir::new("images");
    build_rich_busybox(out.path());
    let one = Layout::open(&out.join("rich-busybox-1.tar"));
    let two = Layout::open(&out.join("rich-busybox-2.tar"));
    let (manifest, config) = one.image(REF_1, "1");
    let (manifest2, config2) = two.image("rich-init.test/rich-busybox:2", "2");

    let c = &config["config"];
    assert_eq!(c["Entrypoint"], json!(ENTRYPOINT));
    assert_eq!(c["Cmd"], json!(["/bin/sleep", "infinity"]));
    assert_eq!(
        c["Env"],
        json!(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    );
    assert_eq!(c["StopSignal"], "SIGTERM");
    assert_eq!(
        c["Labels"]["org.opencontainers.image.title"],
        "rich-busybox"
    );
    // Tag 2: the same config and base layer; only the top layer differs.
    assert_eq!(config["config"], config2["config"]);
    assert_eq!(
        manifest["layers"][0], manifest2["layers"][0],
        "shared base layer"
    );
    assert_ne!(manifest["layers"][1], manifest2["layers"][1]);

    let base = entries(&one.layer(&manifest, 0));
    let mode = |name: &str| base.get(name).map(|e| e.mode.as_str());
    let link = |name: &str| base.get(name).and_then(|e| e.link.as_deref());
    assert_eq!(
        mode("bin/busybox"),
        Some("-rwxr-xr-x"),
        "the presets need /bin/busybox"
    );
    assert_eq!(mode("sbin/rich-init"), Some("-rwxr-xr-x"));
    assert_eq!(link("bin/sh"), Some("busybox"), "the presets run /bin/sh");
    assert_eq!(link("bin/sleep"), Some("busybox"), "CMD");
    assert_eq!(link("usr/sbin/crond"), Some("../../bin/busybox"));
    assert_eq!(link("sbin/syslogd"), Some("../bin/busybox"));
    assert_eq!(link("usr/bin/logger"), Some("../../bin/busybox"));
    for dir in [
        "var/spool/cron/crontabs",
        "var/log",
        "run",
        "etc",
        "dev",
        "proc",
        "sys",
    ] {
        assert_eq!(mode(dir), Some("drwxr-xr-x"), "/{dir}");
    }
    assert_eq!(mode("tmp"), Some("drwxrwxrwt"));
    assert_eq!(mode("root"), Some("drwx------"));
    let layer0 = one.layer(&manifest, 0);
    let passwd = file_in_layer(&layer0, "etc/passwd");
    assert!(
        passwd.starts_with("root:x:0:0:root:/root:/bin/sh\n"),
        "{passwd}"
    );
    let group = file_in_layer(&layer0, "etc/group");
    assert!(group.starts_with("root:x:0:\n"), "{group}");
    assert_eq!(
        sha256_of("tar -xzOf \"$1\" sbin/rich-init", &layer0),
        sha256_of(CAT, &static_bin()),
        "/sbin/rich-init is the binary under test"
    );

    for (layout, manifest, tag) in [(&one, &manifest, "1\n"), (&two, &manifest2, "2\n")] {
        let top = layout.layer(manifest, 1);
        let names: Vec<String> = entries(&top).into_keys().collect();
        assert_eq!(names, ["etc", "etc/rich-busybox-release"]);
        assert_eq!(file_in_layer(&top, "etc/rich-busybox-release"), tag);
    }
}
