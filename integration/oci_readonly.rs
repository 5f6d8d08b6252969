//! README's `oci inject` example (issue 13, finding 6), run as written: `runc spec` makes a
//! read-only rootfs, and the rich container must still work. crond and syslogd stay up,
//! `logger` reaches syslogd's file, `rich-init ctl status` exits 0, and nothing says
//! EROFS. Under crun, as README's comment says, only the last line changes.
//!
//! The block runs in the bundle directory with `rich-init`, `runc` and `crun` on PATH:
//! wrappers that give the runtime a private state root (so `demo` is ours alone) and, for
//! crun, the private mount namespace without /sys/fs/cgroup/unified (see runc.rs).

use crate::harness::{require, static_bin, wait_for, Outcome, Run, TempDir};
use crate::oci_rig::write_script;
use crate::runc::Runtime;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

const README: &str = include_str!("../README.md");

/// The shell block of README that holds `rich-init oci inject --bundle .`.
fn readme_example() -> Vec<String> {
    let mut blocks = README.split("```sh\n").skip(1);
    let block = blocks
        .find_map(|b| {
            let body = b.split("```").next()?;
            body.contains("rich-init oci inject --bundle . ")
                .then_some(body)
        })
        .expect("README has the oci inject example");
    block.lines().map(String::from).collect()
}

/// A bundle dir with a busybox rootfs, the wrappers' bin dir and the runtimes' state.
struct Demo {
    dir: TempDir,
    runtime: Runtime,
}

impl Demo {
    fn new(runtime: Runtime) -> Demo {
        let dir = TempDir::new("readme-demo");
        crate::rootfs::populate(&dir.join("bundle/rootfs"));
        let state = dir.join("state");
        std::fs::create_dir_all(&state).expect("state dir");
        let bin = dir.join("bin");
        std::os::unix::fs::symlink(static_bin(), {
            std::fs::create_dir_all(&bin).expect("bin dir");
            bin.join("rich-init")
        })
        .expect("symlink rich-init");
        write_script(
            &bin.join("runc"),
            &format!(
                "#!/bin/sh\nexec {} --root {}/runc \"$@\"\n",
                require("runc").display(),
                state.display()
            ),
        );
        write_script(
            &bin.join("crun"),
            &format!(
                "#!/bin/sh\nexec {} --mount --propagation private {} -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$0\" \"$@\"' {} --root {}/crun \"$@\"\n",
                require("unshare").display(),
                require("sh").display(),
                require("crun").display(),
                state.display()
            ),
        );
        Demo { dir, runtime }
    }

    fn bundle(&self) -> PathBuf {
        self.dir.join("bundle")
    }

    /// `sh -c LINES` in the bundle with the wrappers first on PATH.
    fn sh(&self, lines: &str) -> Run {
        let path = format!(
            "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            self.dir.join("bin").display()
        );
        let mut run = Run::new(require("sh"))
            .args(["-e", "-c", lines])
            .env("PATH", path);
        run.command_mut().current_dir(self.bundle());
        run
    }

    /// `RUNTIME exec demo ARGS...`.
    fn exec(&self, args: &str) -> Outcome {
        self.sh(&format!("{} exec demo {args}", self.runtime.name()))
            .output()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self
            .sh(&format!("{} delete -f demo", self.runtime.name()))
            .output();
    }
}

/// What the pty master has buffered, without waiting.
fn drain(master: &OwnedFd) -> String {
    let _ = fcntl(
        std::os::fd::AsRawFd::as_raw_fd(master),
        FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
    );
    let mut file = std::fs::File::from(master.try_clone().expect("dup the master"));
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = file.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn readme_example_works_on_a_read_only_rootfs(runtime: Runtime) {
    let lines = readme_example();
    let (last, setup) = lines.split_last().expect("the example has lines");
    assert!(last.starts_with("runc run demo"), "{last}");
    let run_line = match runtime {
        Runtime::Runc => last.clone(),
        // README: "crun run demo works the same".
        Runtime::Crun => last.replacen("runc run", "crun run", 1),
    };
    let demo = Demo::new(runtime);
    let out = demo.sh(&setup.join("\n")).output();
    assert_eq!(out.code(), Some(0), "the example's setup lines\n{out}");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo.bundle().join("config.json")).expect("read"))
            .expect("config.json");
    assert_eq!(
        config["root"]["readonly"], true,
        "runc spec's rootfs is read-only"
    );
    let warnings: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "one warning per preset path\n{out}");
    for (line, path) in warnings.iter().zip(["/var/spool/cron", "/var/log"]) {
        assert!(
            line.starts_with("rich-init oci inject: warning: ")
                && line.contains(path)
                && line.contains("does not persist"),
            "{line}"
        );
    }

    // `runc spec` asks for a terminal: the example runs on a pty, as in a shell.
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let running = demo.sh(&run_line).stdio(&pty.slave).spawn();
    wait_for("crond to log its start through syslogd", || {
        let messages = demo.exec("cat /var/log/messages");
        messages.stdout.contains("crond (busybox").then_some(())
    });
    let logged = demo.exec("/bin/busybox logger readme-example-was-here");
    assert_eq!(logged.code(), Some(0), "{logged}");
    wait_for("logger's line in /var/log/messages", || {
        demo.exec("cat /var/log/messages")
            .stdout
            .contains("readme-example-was-here")
            .then_some(())
    });
    let status = demo.exec("/.rich-init/rich-init ctl status");
    assert_eq!(status.code(), Some(0), "rich-init ctl status\n{status}");
    for name in ["crond", "syslogd"] {
        let row: Vec<&str> = status
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} in ctl status\n{status}"))
            .split_whitespace()
            .collect();
        assert_eq!(row.get(1), Some(&"running"), "{name}\n{status}");
        assert_eq!(row.get(4), Some(&"0"), "{name} never restarted\n{status}");
    }
    let screen = drain(&pty.master);
    for bad in ["EROFS", "Read-only file system", "warning"] {
        assert!(
            !screen.contains(bad),
            "{bad} on the container's terminal:\n{screen}"
        );
    }
    drop(demo);
    drop(running);
}

#[test]
fn runc_readme_oci_inject_example_on_a_read_only_rootfs() {
    readme_example_works_on_a_read_only_rootfs(Runtime::Runc);
}

#[test]
fn crun_readme_oci_inject_example_on_a_read_only_rootfs() {
    readme_example_works_on_a_read_only_rootfs(Runtime::Crun);
}

/// On `runc spec`'s read-only bundle: `--dry-run` shows the tmpfs mounts and the profile
/// hook switch and writes nothing; injecting twice is once; `--remove` gives back the
/// original bytes.
#[test]
fn read_only_additions_show_in_the_dry_run_and_come_out_on_remove() {
    let demo = Demo::new(Runtime::Runc);
    let spec = demo.sh("runc spec --rootless=false").output();
    assert_eq!(spec.code(), Some(0), "{spec}");
    let config = demo.bundle().join("config.json");
    let original = std::fs::read(&config).expect("config.json");
    let inject = |extra: &str| {
        demo.sh(&format!(
            "rich-init oci inject --bundle . --services crond,syslogd {extra}"
        ))
        .output()
    };
    let dry = inject("--dry-run");
    assert_eq!(dry.code(), Some(0), "{dry}");
    assert_eq!(
        std::fs::read(&config).expect("read"),
        original,
        "a dry run writes nothing"
    );
    for want in [
        "\"destination\": \"/run\",",
        "\"destination\": \"/var/spool/cron\"",
        "\"destination\": \"/var/log\"",
        "\"--profile-hook\",",
    ] {
        let added = dry
            .stdout
            .lines()
            .any(|l| l.starts_with('+') && l.contains(want));
        assert!(added, "{want:?} added in the dry run\n{dry}");
    }
    assert_eq!(dry.stderr.lines().count(), 2, "the same warnings\n{dry}");
    let once = inject("");
    assert_eq!(once.code(), Some(0), "{once}");
    let after_once = std::fs::read(&config).expect("read");
    let twice = inject("");
    assert_eq!(twice.code(), Some(0), "{twice}");
    assert_eq!(
        std::fs::read(&config).expect("read"),
        after_once,
        "twice is once"
    );
    let removed = demo.sh("rich-init oci inject --bundle . --remove").output();
    assert_eq!(removed.code(), Some(0), "{removed}");
    assert_eq!(
        std::fs::read(&config).expect("read"),
        original,
        "--remove gives back the original bytes"
    );
}
