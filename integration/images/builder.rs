//! images/oci-image, the builder the recipes and the upgrade tests use: the same bytes for
//! the same files whatever their mtimes, creation order and owners; the config values it is
//! given and nothing else; bad values refused before anything is written; a --help.

use super::{entries, ok, read, script, Layout};
use crate::harness::{Run, TempDir};
use serde_json::{json, Value};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A small rootfs: the same files in `root` whatever `variant` is, but created in another
/// order, with other mtimes and (variant 1) another owner.
fn small_rootfs(root: &Path, variant: u32) {
    let write = |name: &str, text: &str, mode: u32| {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create dirs");
        std::fs::write(&path, text).expect("write a rootfs file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 * u64::from(variant + 1));
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_modified(when).expect("set mtime");
    };
    if variant == 0 {
        write("etc/motd", "hello\n", 0o644);
        write("bin/app", "#!/bin/sh\nexit 0\n", 0o755);
    } else {
        write("bin/app", "#!/bin/sh\nexit 0\n", 0o755);
        write("etc/motd", "hello\n", 0o644);
        std::os::unix::fs::chown(root.join("etc/motd"), Some(1234), Some(1234))
            .expect("chown a rootfs file (the integration tests run as root, as for runc)");
    }
    symlink("app", root.join("bin/run")).expect("symlink");
    std::fs::hard_link(root.join("etc/motd"), root.join("etc/issue")).expect("hard link");
    std::fs::create_dir(root.join("tmp")).expect("mkdir");
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
        .expect("chmod");
}

const VARIANT: &str = "rich-init.test/variant:exits";

/// images/oci-image with a variant's config values; ARGS still to add.
fn oci_image(rootfs: &Path, out: &Path) -> Run {
    script("images/oci-image")
        .arg("--output")
        .arg(out)
        .args(["--ref", VARIANT, "--layer"])
        .arg(rootfs)
        .args(["--entrypoint", r#"["/bin/app", "a b"]"#, "--cmd", "null"])
        .args(["--env", "A=1", "--env", "B=x=y", "--label", "k=v"])
        .args([
            "--workdir",
            "/etc",
            "--user",
            "1000:1000",
            "--stop-signal",
            "SIGINT",
        ])
}

#[test]
fn oci_image_same_files_same_bytes_and_the_config_given() {
    let work = TempDir::new("oci-image");
    for variant in [0, 1] {
        small_rootfs(&work.join(format!("rootfs{variant}")), variant);
        ok(oci_image(
            &work.join(format!("rootfs{variant}")),
            &work.join(format!("{variant}.tar")),
        ));
    }
    assert!(
        read(&work.join("0.tar")) == read(&work.join("1.tar")),
        "mtimes, creation order and owners do not change the tarball"
    );
    let layout = Layout::open(&work.join("1.tar"));
    let (manifest, config) = layout.image(VARIANT, "exits");
    assert_eq!(
        config["config"],
        json!({
            "Entrypoint": ["/bin/app", "a b"],
            "Env": ["A=1", "B=x=y"],
            "Labels": {"k": "v"},
            "WorkingDir": "/etc",
            "User": "1000:1000",
            "StopSignal": "SIGINT",
        }),
        "--cmd null leaves Cmd out"
    );
    let layer = entries(&layout.layer(&manifest, 0));
    let modes: Vec<(&str, &str)> = layer
        .iter()
        .map(|(n, e)| (n.as_str(), e.mode.as_str()))
        .collect();
    assert_eq!(
        modes,
        [
            ("bin", "drwxr-xr-x"),
            ("bin/app", "-rwxr-xr-x"),
            ("bin/run", "lrwxrwxrwx"),
            ("etc", "drwxr-xr-x"),
            ("etc/issue", "-rw-r--r--"),
            ("etc/motd", "hrw-r--r--"),
            ("tmp", "drwxrwxrwt"),
        ],
        "sorted names, permission bits kept, the second name of a file is a hard link"
    );
    assert_eq!(layer["bin/run"].link.as_deref(), Some("app"));

    // Two references: two index entries, one manifest.
    let both = work.join("both.tar");
    ok(oci_image(&work.join("rootfs0"), &both).args(["--ref", "rich-init.test/variant:latest"]));
    let index = Layout::open(&both).json("index.json");
    let names: Vec<&Value> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| &m["annotations"]["io.containerd.image.name"])
        .collect();
    assert_eq!(names, [VARIANT, "rich-init.test/variant:latest"]);
    assert_eq!(
        index["manifests"][0]["digest"],
        index["manifests"][1]["digest"]
    );
}

#[test]
fn oci_image_refuses_bad_values_and_has_help() {
    let work = TempDir::new("oci-image-bad");
    std::fs::create_dir(work.join("rootfs")).expect("mkdir");
    let rootfs = work.join("rootfs");
    let out = work.join("out.tar");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--ref", VARIANT, "--entrypoint", "/bin/app"],
            "--entrypoint is not JSON",
        ),
        (
            &["--ref", VARIANT, "--cmd", r#"{"a": 1}"#],
            "--cmd must be a JSON list",
        ),
        (&["--ref", "rich-init.test/variant"], "needs a tag"),
        (&["--ref", VARIANT, "--env", "NOEQUALS"], "is not KEY=VALUE"),
    ];
    for (args, says) in cases {
        let run = script("images/oci-image").arg("--output").arg(&out);
        let got = run.args(["--layer"]).arg(&rootfs).args(*args).output();
        assert_eq!(got.code(), Some(1), "{got}");
        assert!(got.stderr.contains(says), "stderr says {says:?}\n{got}");
        assert!(!out.exists(), "no tarball after an error\n{got}");
    }
    let missing = script("images/oci-image").arg("--output").arg(&out);
    let got = missing
        .args(["--ref", VARIANT, "--layer"])
        .arg(work.join("none"))
        .output();
    assert!(
        got.code() == Some(1) && got.stderr.contains("not a directory"),
        "{got}"
    );
    let help = ok(script("images/oci-image").arg("--help"));
    for word in [
        "Usage:",
        "--entrypoint JSON",
        "--layer DIR",
        "SOURCE_DATE_EPOCH",
    ] {
        assert!(help.stdout.contains(word), "--help mentions {word}\n{help}");
    }
}
