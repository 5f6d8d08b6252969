//! A busybox-static root filesystem for containers, with our static binary in it as
//! /sbin/rich-init and, by symlink, /sbin/dumb-init, /sbin/tini and /sbin/docker-init;
//! Debian's tini-static goes in as /peer/tini, a reference that runs in the same rootfs.

use crate::harness::{assert_static, require, static_bin};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

/// Busybox applets linked into /bin.
const APPLETS: &[&str] = &[
    "sh", "ash", "ps", "sleep", "cat", "echo", "kill", "ls", "true", "false", "test", "[", "env",
    "id", "grep", "wc", "sed", "head", "tail", "mkdir", "rm", "touch", "mkfifo", "printf",
    "readlink", "stat", "tr", "cut", "sort", "uniq", "xargs", "seq", "mount", "umount",
];

fn create_dir(path: &Path) {
    std::fs::create_dir_all(path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
}

fn copy_executable(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", to.display()));
}

fn link(target: &str, at: &Path) {
    symlink(target, at).unwrap_or_else(|e| panic!("cannot create symlink {}: {e}", at.display()));
}

/// Fill `root` (an empty or missing directory) with the busybox rootfs.
pub fn populate(root: &Path) {
    let busybox = require("busybox");
    assert_static(
        &busybox,
        "the container rootfs needs a static busybox: install busybox-static (`make deps`)",
    );
    let tini_static = require("tini-static");
    assert_static(&tini_static, "install Debian's tini package (`make deps`)");
    let ours = static_bin();

    for dir in [
        "bin", "sbin", "proc", "dev", "sys", "tmp", "etc", "root", "run", "peer", "shared",
    ] {
        create_dir(&root.join(dir));
    }
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
        .expect("chmod /tmp in the rootfs");
    copy_executable(&busybox, &root.join("bin/busybox"));
    for applet in APPLETS {
        link("busybox", &root.join("bin").join(applet));
    }
    copy_executable(&ours, &root.join("sbin/rich-init"));
    for name in ["dumb-init", "tini", "docker-init"] {
        link("rich-init", &root.join("sbin").join(name));
    }
    copy_executable(&tini_static, &root.join("peer/tini"));
    let files = [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ("etc/hostname", "rich-init-it\n"),
    ];
    for (name, text) in files {
        let path = root.join(name);
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
