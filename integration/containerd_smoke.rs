//! Smoke tests of the containerd and netns harness: a private daemon answers and leaves no
//! process, mount, cgroup or directory behind; two run side by side; a netns has its
//! addresses and answers ping; a container from an OCI image (busybox, built here) runs in
//! a netns with a bind mount, env and a label, and dropping the daemon while it runs
//! removes all of it.

use crate::containerd::{Containerd, SNAPSHOTTER};
use crate::ctr_run::CtrRun;
use crate::harness::{assert_static, read_or_empty, require, wait_for, Run, TempDir};
use crate::leaks;
use crate::netns::{host_link_exists, netns_inode, NetNs, INSIDE_IF};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

/// What a daemon made on the host, to look for after it is dropped.
struct Traces {
    address: String,
    dir: PathBuf,
    namespace: String,
}

fn traces(ctd: &Containerd) -> Traces {
    Traces {
        address: ctd.address().display().to_string(),
        dir: ctd.dir().to_path_buf(),
        namespace: ctd.namespace().to_string(),
    }
}

fn assert_nothing_left(t: &Traces) {
    for needle in [&t.address, &t.dir.display().to_string()] {
        let pids = leaks::pids_with_in_cmdline(needle);
        let lines: Vec<String> = pids
            .iter()
            .map(|p| format!("{p}: {}", leaks::cmdline(*p).join(" ")))
            .collect();
        assert!(
            pids.is_empty(),
            "processes left that mention {needle}:\n{}",
            lines.join("\n")
        );
    }
    assert_eq!(
        leaks::mounts_under(&t.dir),
        Vec::<PathBuf>::new(),
        "mounts left"
    );
    assert!(!t.dir.exists(), "{} is still there", t.dir.display());
    assert_eq!(
        leaks::cgroups_named(&t.namespace),
        Vec::<PathBuf>::new(),
        "cgroups left"
    );
    let runc_root = Path::new("/run/containerd/runc").join(&t.namespace);
    assert!(
        !runc_root.exists(),
        "{} is still there",
        runc_root.display()
    );
}

/// The UUID line of the server part of `ctr version`: one per daemon.
fn server_uuid(ctd: &Containerd) -> String {
    let out = ctd.ctr_ok(["version"]);
    let server = out
        .stdout
        .split("Server:")
        .nth(1)
        .unwrap_or_else(|| panic!("no Server part in `ctr version`\n{out}"));
    server
        .lines()
        .find_map(|l| l.trim().strip_prefix("UUID:"))
        .map(|u| u.trim().to_string())
        .unwrap_or_else(|| panic!("no server UUID in `ctr version`\n{out}"))
}

#[test]
fn daemon_answers_and_leaves_nothing() {
    let ctd = Containerd::start();
    let out = ctd.ctr_ok(["version"]);
    assert!(
        out.stdout.contains("Server:") && out.stdout.contains("Version:  1.6"),
        "expected containerd 1.6 to answer\n{out}"
    );
    assert_eq!(ctd.images(), Vec::<String>::new());
    assert_eq!(ctd.snapshots(), Vec::<String>::new());
    assert_eq!(ctd.leases(), Vec::<String>::new());
    let t = traces(&ctd);
    drop(ctd);
    assert_nothing_left(&t);
}

#[test]
fn two_daemons_run_side_by_side() {
    let a = Containerd::start();
    let b = Containerd::start();
    assert_ne!(a.address(), b.address());
    assert_ne!(a.namespace(), b.namespace());
    assert_ne!(server_uuid(&a), server_uuid(&b));
    let (ta, tb) = (traces(&a), traces(&b));
    drop(a);
    assert_eq!(b.images(), Vec::<String>::new(), "b must still answer");
    drop(b);
    assert_nothing_left(&ta);
    assert_nothing_left(&tb);
}

#[test]
fn netns_has_its_addresses_answers_ping_and_goes_away() {
    let ns = NetNs::new();
    let (name, path, host_if) = (ns.name().to_string(), ns.path(), ns.host_if().to_string());
    let inside = ns.ip(["-4", "addr", "show", "dev", INSIDE_IF]);
    assert!(
        inside.code() == Some(0)
            && inside
                .stdout
                .contains(&format!("inet {}/30", ns.inside_ip())),
        "{INSIDE_IF} in {name} should have {}/30\n{inside}",
        ns.inside_ip()
    );
    let host = Run::new(require("ip"))
        .args(["-4", "addr", "show", "dev", &host_if])
        .output();
    assert!(
        host.stdout.contains(&format!("inet {}/30", ns.host_ip())),
        "{host_if} should have {}/30\n{host}",
        ns.host_ip()
    );
    // busybox-static's ping: no extra package.
    let ping = Run::new(require("busybox"))
        .args(["ping", "-c1", "-W2", &ns.inside_ip().to_string()])
        .output();
    assert_eq!(
        ping.code(),
        Some(0),
        "ping from the host into {name}\n{ping}"
    );
    assert_ne!(ns.inode(), netns_inode(std::process::id() as i32));
    drop(ns);
    assert!(!path.exists(), "{} is still there", path.display());
    assert!(!host_link_exists(&host_if), "{host_if} is still there");
}

/// Busybox applets in the test image.
const APPLETS: &[&str] = &["sh", "sleep", "cat", "echo", "ls", "ip", "ping", "env"];

/// Write `bytes` as a blob of the OCI layout; its digest ("sha256:HEX") and size.
fn add_blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
    let staging = layout.join("blob.tmp");
    std::fs::write(&staging, bytes)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", staging.display()));
    let out = Run::new(require("sha256sum")).arg(&staging).output();
    let hex = out
        .stdout
        .split_whitespace()
        .next()
        .filter(|h| h.len() == 64)
        .unwrap_or_else(|| panic!("sha256sum gave no digest\n{out}"))
        .to_string();
    let blob = layout.join("blobs/sha256").join(&hex);
    std::fs::rename(&staging, &blob)
        .unwrap_or_else(|e| panic!("cannot rename to {}: {e}", blob.display()));
    (format!("sha256:{hex}"), bytes.len())
}

fn tar(args: &[&str], dir: &Path, out: &Path) {
    let run = Run::new(require("tar"))
        .args(args)
        .arg("-C")
        .arg(dir)
        .arg("-cf")
        .arg(out)
        .arg(".")
        .output();
    assert_eq!(run.code(), Some(0), "tar failed\n{run}");
}

/// A one-layer OCI image archive named `name` (busybox-static, CMD /bin/sh), built in
/// `dir` without any image tool; returns the tar for `ctr images import`.
pub fn busybox_image(dir: &TempDir, name: &str) -> PathBuf {
    let busybox = require("busybox");
    assert_static(&busybox, "install busybox-static (`make deps`)");
    let rootfs = dir.join("image-rootfs");
    for sub in ["bin", "proc", "dev", "sys", "tmp", "etc", "data", "run"] {
        let d = rootfs.join(sub);
        std::fs::create_dir_all(&d)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", d.display()));
    }
    let target = rootfs.join("bin/busybox");
    std::fs::copy(&busybox, &target).unwrap_or_else(|e| panic!("cannot copy busybox: {e}"));
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", target.display()));
    for applet in APPLETS {
        let at = rootfs.join("bin").join(applet);
        symlink("busybox", &at).unwrap_or_else(|e| panic!("cannot link {}: {e}", at.display()));
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n")
        .expect("write /etc/passwd in the image");

    let layout = dir.join("image-layout");
    std::fs::create_dir_all(layout.join("blobs/sha256")).expect("create the OCI layout");
    let layer_tar = dir.join("layer.tar");
    let reproducible = [
        "--sort=name",
        "--mtime=@0",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
    ];
    tar(&reproducible, &rootfs, &layer_tar);
    let layer_bytes = std::fs::read(&layer_tar).expect("read the layer tar");
    let (layer, layer_size) = add_blob(&layout, &layer_bytes);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]}},"rootfs":{{"type":"layers","diff_ids":["{layer}"]}}}}"#
    );
    let (config, config_size) = add_blob(&layout, config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{layer_size}}}]}}"#
    );
    let (manifest, manifest_size) = add_blob(&layout, manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest}","size":{manifest_size},"annotations":{{"org.opencontainers.image.ref.name":"{name}"}}}}]}}"#
    );
    std::fs::write(layout.join("index.json"), index).expect("write index.json");
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write oci-layout");
    let archive = dir.join("image.tar");
    tar(&[], &layout, &archive);
    archive
}

/// A daemon with the busybox image (built in `work`) imported; the image's name.
fn daemon_with_image(work: &TempDir) -> (Containerd, &'static str) {
    let image = "rich-init-it/busybox:smoke";
    let archive = busybox_image(work, image);
    let ctd = Containerd::start();
    ctd.import(&archive, &[]);
    assert_eq!(ctd.images(), vec![image.to_string()]);
    (ctd, image)
}

#[test]
fn container_in_a_netns_runs_and_dropping_the_daemon_removes_it() {
    let work = TempDir::new("ctr-image");
    let data = work.join("data");
    std::fs::create_dir_all(&data).expect("create the data dir");
    let ns = NetNs::new();
    let (ctd, image) = daemon_with_image(&work);

    let spec = CtrRun::new(image, "smoke")
        .netns(&ns.path())
        .bind(&data, "/data")
        .env("K=V")
        .label("rich-init.test=smoke")
        .cmd(&[
            "sh",
            "-c",
            "echo hello; echo \"$K\" > /data/env; exec sleep 1000",
        ]);
    ctd.run_detached(&spec);
    wait_for("the container to write /data/env", || {
        (read_or_empty(&data.join("env")) == "V\n").then_some(())
    });
    let task = ctd.wait_task_status("smoke", "RUNNING");
    assert_eq!(
        netns_inode(task.pid),
        ns.inode(),
        "the task is not in the netns"
    );
    wait_for("the task's stdout in its log", || {
        ctd.task_log("smoke").contains("hello").then_some(())
    });
    let info = ctd.container_info("smoke");
    assert_eq!(info["Labels"]["rich-init.test"], "smoke", "{info:#}");
    assert_eq!(info["Snapshotter"], SNAPSHOTTER, "{info:#}");
    let key = info["SnapshotKey"].as_str().unwrap_or_default().to_string();
    assert!(
        ctd.snapshots().contains(&key),
        "no snapshot {key} for the container"
    );
    assert_eq!(ctd.leases(), Vec::<String>::new());
    assert!(
        !leaks::mounts_under(ctd.dir()).is_empty(),
        "the running container's rootfs should be mounted under {}",
        ctd.dir().display()
    );

    let t = traces(&ctd);
    drop(ctd); // with the task still running
    assert_nothing_left(&t);
    assert!(
        leaks::exited(task.pid),
        "the container's process {} survived the daemon",
        task.pid
    );
}

#[test]
fn a_killed_daemon_still_leaves_nothing() {
    let work = TempDir::new("ctr-image");
    let (ctd, image) = daemon_with_image(&work);
    ctd.run_detached(&CtrRun::new(image, "orphan").cmd(&["sleep", "1000"]));
    let task = ctd.wait_task_status("orphan", "RUNNING");
    // As if containerd crashed: its shim, the container and the rootfs mount stay.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ctd.pid()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("SIGKILL containerd");
    wait_for("containerd to die", || {
        leaks::exited(ctd.pid()).then_some(())
    });
    let shims = leaks::pids_with_in_cmdline(&ctd.address().display().to_string());
    assert!(!shims.is_empty(), "the shim should outlive containerd");
    let t = traces(&ctd);
    drop(ctd);
    assert_nothing_left(&t);
    assert!(
        leaks::exited(task.pid),
        "the container's process {} survived",
        task.pid
    );
}
