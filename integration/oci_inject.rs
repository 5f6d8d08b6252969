//! `rich-init oci inject`: the config.json it writes for each mode, idempotence, --remove
//! byte-for-byte, --dry-run, and its errors (one line each, never a panic).

use crate::harness::static_bin;
use crate::oci_rig::{
    assert_no_panic, assert_one_error_line, hooks_of, inject, inject_ok, our_hook, IN_CONTAINER_BIN,
};
use crate::runc::{Bundle, Spec};
use serde_json::Value;
use std::os::unix::fs::MetadataExt;

const CMD: &[&str] = &["/bin/sh", "-c", "exit 0"];

fn bundle_with(spec: &Spec) -> Bundle {
    let bundle = Bundle::new();
    bundle.write_config(spec);
    bundle
}

fn plain() -> Bundle {
    bundle_with(&Spec::new(CMD).env("GREETING=hello"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_string()
        })
        .collect()
}

fn mount_at<'c>(config: &'c Value, destination: &str) -> Option<&'c Value> {
    config["mounts"]
        .as_array()?
        .iter()
        .find(|m| m["destination"] == destination)
}

/// Names in the bundle dir (hidden ones too): no temp file may be left behind.
fn listing(bundle: &Bundle) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(bundle.path())
        .expect("list the bundle")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn rich_mode_rewrites_args_mount_env_hooks_and_annotations() {
    let bundle = plain();
    let before = bundle.config();
    let inode = std::fs::metadata(bundle.config_path()).expect("stat").ino();
    inject_ok(
        &bundle,
        &["--initscript", "/init.sh", "--services", "crond,syslogd"],
    );
    let c = bundle.config();
    let mut want_args: Vec<String> = [
        IN_CONTAINER_BIN,
        "--rich",
        "--services",
        "crond,syslogd",
        "--",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    want_args.extend(CMD.iter().map(|s| s.to_string()));
    assert_eq!(strings(&c["process"]["args"]), want_args, "{c:#}");
    let mount =
        mount_at(&c, IN_CONTAINER_BIN).unwrap_or_else(|| panic!("no mount of the binary\n{c:#}"));
    assert_eq!(
        mount["source"],
        static_bin().display().to_string(),
        "{mount}"
    );
    assert!(
        strings(&mount["options"]).contains(&"ro".to_string()),
        "read-only: {mount}"
    );
    let env = strings(&c["process"]["env"]);
    for pair in [
        "rich_mode=true",
        "rich_mode_launch_manner=rich-init",
        "GREETING=hello",
    ] {
        assert!(env.contains(&pair.to_string()), "env has {pair}: {env:?}");
    }
    for stage in ["prestart", "poststop"] {
        assert!(
            hooks_of(&c, stage).contains(&our_hook(stage)),
            "hooks.{stage}\n{c:#}"
        );
    }
    let notes = &c["annotations"];
    assert_eq!(notes["io.rich-init.rich"], "true", "{notes}");
    assert_eq!(notes["io.rich-init.initscript"], "/init.sh", "{notes}");
    assert!(
        !notes["io.rich-init.injected"].is_null(),
        "the record for --remove: {notes}"
    );
    for key in ["root", "hostname", "linux", "ociVersion"] {
        assert_eq!(c[key], before[key], "{key} is left alone");
    }
    assert_ne!(
        std::fs::metadata(bundle.config_path()).expect("stat").ino(),
        inode,
        "written to a temp file and renamed over config.json"
    );
}

#[test]
fn dumb_init_and_tini_modes() {
    for mode in ["dumb-init", "tini"] {
        let bundle = plain();
        inject_ok(&bundle, &["--rich-mode", mode]);
        let c = bundle.config();
        let at = format!("/.rich-init/{mode}");
        let mut want = vec![at.clone(), "--".to_string()];
        want.extend(CMD.iter().map(|s| s.to_string()));
        assert_eq!(strings(&c["process"]["args"]), want, "{mode}\n{c:#}");
        let mount = mount_at(&c, &at).unwrap_or_else(|| panic!("{mode}: no mount at {at}\n{c:#}"));
        assert!(
            strings(&mount["options"]).contains(&"ro".to_string()),
            "{mount}"
        );
        let env = strings(&c["process"]["env"]);
        assert!(
            env.contains(&format!("rich_mode_launch_manner={mode}")),
            "{env:?}"
        );
        assert!(env.contains(&"rich_mode=true".to_string()), "{env:?}");
    }
}

#[test]
fn injecting_twice_gives_the_bytes_of_once() {
    for extra in [
        &[][..],
        &["--initscript", "/init.sh", "--services", "crond"][..],
    ] {
        let bundle = plain();
        inject_ok(&bundle, extra);
        let once = bundle.raw_config();
        let names = listing(&bundle);
        inject_ok(&bundle, extra);
        assert_eq!(
            listing(&bundle),
            names,
            "no file left behind by the second inject"
        );
        assert_eq!(
            String::from_utf8_lossy(&bundle.raw_config()),
            String::from_utf8_lossy(&once),
            "inject {extra:?} twice"
        );
    }
}

/// A config with hooks and annotations of its own, in its own formatting.
fn decorated() -> Bundle {
    let mut spec = Spec::new(CMD);
    spec.hooks =
        Some(r#"{"prestart": [{"path": "/bin/true", "args": ["true", "theirs"]}]}"#.into());
    let bundle = bundle_with(&spec);
    let text = String::from_utf8(bundle.raw_config()).expect("utf-8");
    let text = text.replacen(
        "\"hostname\"",
        "\"annotations\":   {\"theirs\": \"kept\"},\n  \"hostname\"",
        1,
    );
    bundle.write_raw_config(&text);
    bundle
}

#[test]
fn remove_restores_the_original_bytes() {
    for (label, bundle) in [("plain", plain()), ("own hooks", decorated())] {
        let original = bundle.raw_config();
        let names = listing(&bundle);
        inject_ok(&bundle, &["--initscript", "/init.sh"]);
        let injected = bundle.config();
        if label == "own hooks" {
            let prestart = hooks_of(&injected, "prestart");
            assert_eq!(
                prestart.len(),
                2,
                "their hook is kept beside ours\n{injected:#}"
            );
            assert_eq!(injected["annotations"]["theirs"], "kept", "{injected:#}");
        }
        inject_ok(&bundle, &["--initscript", "/init.sh"]);
        inject_ok(&bundle, &["--remove"]);
        assert_eq!(
            String::from_utf8_lossy(&bundle.raw_config()),
            String::from_utf8_lossy(&original),
            "{label}: --remove after inject (twice) restores config.json byte-for-byte"
        );
        assert_eq!(
            listing(&bundle),
            names,
            "{label}: nothing left beside config.json"
        );
    }
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let bundle = plain();
    let original = bundle.raw_config();
    let names = listing(&bundle);
    let out = inject(bundle.path(), &["--dry-run", "--initscript", "/init.sh"]);
    assert_eq!(out.code(), Some(0), "{out}");
    assert_no_panic(&out);
    assert_eq!(
        bundle.raw_config(),
        original,
        "--dry-run leaves config.json alone\n{out}"
    );
    assert_eq!(listing(&bundle), names, "--dry-run creates no file\n{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('+') && l.contains(IN_CONTAINER_BIN)),
        "a `+` line adds the binary\n{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('-') && l.contains("/bin/sh")),
        "a `-` line drops the old args\n{out}"
    );
}

fn with_caps(caps: &[&str]) -> Bundle {
    let bundle = plain();
    bundle.edit_config(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = serde_json::json!(caps);
        }
    });
    bundle
}

/// Issue 15: without CAP_SYS_ADMIN the image's own init cannot run; `--rich-mode systemd`
/// (and sbin-init) then has rich-init boot the image's units, with systemctl in PATH.
#[test]
fn systemd_modes_boot_the_units_without_cap_sys_admin() {
    for mode in ["systemd", "sbin-init"] {
        let script = "systemctl is-active demo.service; systemctl show -p SubState --value demo";
        let bundle = bundle_with(&Spec::new(&["/bin/sh", "-c", script]));
        let root = bundle.rootfs();
        crate::oci_rig::write_file(
            &root.join("lib/systemd/system/demo.service"),
            "[Unit]\nDescription=Demo\n[Service]\nExecStart=/bin/sleep 1000\n",
            0o644,
        );
        let wants = root.join("etc/systemd/system/multi-user.target.wants");
        std::fs::create_dir_all(&wants).expect("wants");
        std::os::unix::fs::symlink(
            "/lib/systemd/system/demo.service",
            wants.join("demo.service"),
        )
        .expect("wants link");
        std::fs::create_dir_all(root.join("usr/bin")).expect("usr/bin");
        let original = bundle.raw_config();
        inject_ok(&bundle, &["--rich-mode", mode]);
        let c = bundle.config();
        assert_eq!(
            strings(&c["process"]["args"]),
            [
                "/.rich-init/rich-init",
                "--systemd",
                "--",
                "/bin/sh",
                "-c",
                script
            ],
            "{c:#}"
        );
        for at in ["/usr/bin/systemctl", "/usr/bin/journalctl"] {
            let m = mount_at(&c, at).unwrap_or_else(|| panic!("no mount at {at}\n{c:#}"));
            assert_eq!(m["type"], "bind", "{m}");
        }
        let out = crate::runc::Container::run_bundle(crate::runc::Runtime::Runc, &bundle).wait();
        assert_eq!(out.code(), Some(0), "{mode}\n{out}");
        assert_eq!(out.stdout, "active\nrunning\n", "{mode}\n{out}");
        inject_ok(&bundle, &["--remove"]);
        assert_eq!(
            bundle.raw_config(),
            original,
            "{mode}: --remove restores it"
        );
    }
}

#[test]
fn systemd_mode_in_a_privileged_container() {
    let bundle = with_caps(&["CAP_SYS_ADMIN", "CAP_KILL"]);
    inject_ok(&bundle, &["--rich-mode", "systemd"]);
    let c = bundle.config();
    assert_eq!(strings(&c["process"]["args"]), ["/sbin/init"], "{c:#}");
    for (at, kind) in [
        ("/run", "tmpfs"),
        ("/tmp", "tmpfs"),
        ("/sys/fs/cgroup", "cgroup"),
    ] {
        let m = mount_at(&c, at).unwrap_or_else(|| panic!("no mount at {at}\n{c:#}"));
        assert_eq!(m["type"], kind, "{m}");
    }
    assert_eq!(
        c["annotations"]["org.opencontainers.image.stopSignal"], "SIGRTMIN+3",
        "{c:#}"
    );
    assert!(
        strings(&c["process"]["env"]).contains(&"rich_mode_launch_manner=systemd".to_string()),
        "{c:#}"
    );
}

#[test]
fn errors_are_one_line() {
    let gone = crate::harness::TempDir::new("no-bundle");
    let missing = gone.join("not-there");
    let out = inject(&missing, &[]);
    assert_one_error_line(&out, 1, "rich-init", &[&missing.display().to_string()]);

    let empty = crate::harness::TempDir::new("empty-bundle");
    let out = inject(empty.path(), &[]);
    let config = empty.join("config.json").display().to_string();
    assert_one_error_line(&out, 1, "rich-init", &[&config]);

    let bad = plain();
    let broken = "{\"ociVersion\": \"1.0.2\", \"process\": ";
    bad.write_raw_config(broken);
    let out = inject(bad.path(), &[]);
    let path = bad.config_path().display().to_string();
    assert_one_error_line(&out, 1, "rich-init", &[&path]);
    assert_eq!(bad.raw_config(), broken.as_bytes(), "left as it was\n{out}");

    let bundle = plain();
    let out = inject(bundle.path(), &["--rich-mode", "upstart"]);
    assert_no_panic(&out);
    // The contract lists a bad mode among the exit-1 errors and says "2 for usage".
    assert!(matches!(out.code(), Some(1 | 2)), "bad mode\n{out}");
    assert_eq!(out.stderr.lines().count(), 1, "one line\n{out}");
    assert!(out.stderr.contains("upstart"), "names the mode\n{out}");

    let out = inject(bundle.path(), &["--frobnicate"]);
    assert_one_error_line(&out, 2, "rich-init", &["--frobnicate"]);
}
