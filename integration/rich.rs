//! Rich mode (issue 3), the rig the rich_* test files share: a temp dir with services.d,
//! init.d, stop.d and bin/ (service scripts), and rich-init started on it as a subreaper
//! on the host or as pid 1 of a fresh pid namespace. Scripts record what happens to them
//! in files under the temp dir and hand-shake through files; nothing is timed.
//!
//! Every script starts with `D='<temp dir>'; export D`: its descendants carry `D=<dir>`
//! in their environment, which is how [`Rig::leftovers`] finds what outlived rich-init.

// Not every rich_* file uses every piece.
#![allow(dead_code)]

use crate::harness::TempDir;
use crate::harness::{bin, only_child, read_or_empty, wait_for, Outcome, PidNs, Run, Running};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// Both places rich-init runs in: subreaper on the host, pid 1 of a pid namespace.
pub const NS: [PidNs; 2] = [PidNs::Host, PidNs::Init];

/// `s` as a TOML basic string.
pub fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The shell functions every CMD may use: wait until a file exists.
const CMD_HELPERS: &str = "wait_file() { while [ ! -e \"$1\" ]; do sleep 0.01; done; }\n";

/// A service body that logs `start NAME` to $D/log, writes $D/NAME.pid and, on `sig`,
/// logs `stop NAME SIG` and exits 0. A SIGTERM it is not meant to get (when `sig` is
/// not TERM) is logged as `NAME got TERM` and otherwise ignored.
pub fn polite(name: &str, sig: &str) -> String {
    let stray = if sig == "TERM" {
        String::new()
    } else {
        format!("trap 'echo \"{name} got TERM\" >> \"$D/log\"' TERM\n")
    };
    format!(
        "{stray}trap 'echo \"stop {name} {sig}\" >> \"$D/log\"; exit 0' {sig}\n\
         echo \"start {name}\" >> \"$D/log\"\n\
         echo $$ > \"$D/{name}.pid.tmp\"; mv \"$D/{name}.pid.tmp\" \"$D/{name}.pid\"\n\
         while :; do sleep 0.05; done"
    )
}

/// `ready` that waits for $D/NAME.pid (written by [`polite`]).
pub fn ready_on_pid(rig: &Rig, name: &str) -> String {
    format!(
        "ready = {{ command = [\"/bin/test\", \"-e\", {}], interval = \"10ms\", timeout = \"30s\" }}\n",
        toml_str(&format!("{}/{name}.pid", rig.d()))
    )
}

/// A stop.d script body that appends `NAME gone` or `NAME alive` for each named service
/// (by its $D/NAME.pid) to $D/stop-saw.
pub fn check_gone(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "if kill -0 \"$(cat \"$D/{n}.pid\")\" 2>/dev/null; then echo \"{n} alive\"; \
                 else echo \"{n} gone\"; fi >> \"$D/stop-saw\"\n"
            )
        })
        .collect()
}

pub struct Rig {
    dir: TempDir,
    d: String,
}

impl Rig {
    pub fn new(label: &str) -> Rig {
        let dir = TempDir::new(label);
        let d = dir.path().display().to_string();
        assert!(
            !d.contains(['\'', '"', '\\', ' ']),
            "the temp dir {d} must need no quoting"
        );
        for sub in ["services.d", "init.d", "stop.d", "bin"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create a rig dir");
        }
        Rig { dir, d }
    }

    /// The temp dir, as the scripts' $D.
    pub fn d(&self) -> &str {
        &self.d
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        read_or_empty(&self.path(rel))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// The preamble of every script: `D` set and exported.
    pub fn preamble(&self) -> String {
        format!("D='{}'; export D\n", self.d)
    }

    /// Write an sh script at `rel` (e.g. "init.d/10-a") with `mode`; returns its path.
    pub fn script_mode(&self, rel: &str, body: &str, mode: u32) -> PathBuf {
        let path = self
            .dir
            .write(rel, &format!("#!/bin/sh\n{}{body}\n", self.preamble()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
        path
    }

    /// Write an executable sh script at `rel`; returns its path.
    pub fn script(&self, rel: &str, body: &str) -> PathBuf {
        self.script_mode(rel, body, 0o755)
    }

    /// services.d/NAME.toml running bin/NAME.sh (`body`), plus the TOML lines `extra`.
    pub fn service(&self, name: &str, body: &str, extra: &str) {
        let script = self.script(&format!("bin/{name}.sh"), body);
        let text = format!(
            "command = [\"/bin/sh\", {}]\n{extra}",
            toml_str(&script.display().to_string())
        );
        self.dir.write(&format!("services.d/{name}.toml"), &text);
    }

    /// services.d/FILE exactly as given.
    pub fn service_file(&self, file: &str, text: &str) {
        self.dir.write(&format!("services.d/{file}"), text);
    }

    /// The options that keep rich-init inside the temp dir.
    pub fn base_args(&self) -> Vec<String> {
        let d = &self.d;
        [
            "--rich".to_string(),
            "--services-dir".into(),
            format!("{d}/services.d"),
            "--init-dir".into(),
            format!("{d}/init.d"),
            "--stop-dir".into(),
            format!("{d}/stop.d"),
            "--env-file".into(),
            format!("{d}/env"),
            "--profile-hook".into(),
            String::new(),
            "--control-socket".into(),
            format!("{d}/ctl.sock"),
        ]
        .to_vec()
    }

    /// CMD as the argv `/bin/sh -c SCRIPT` (with the preamble and CMD_HELPERS).
    pub fn cmd(&self, script: &str) -> Vec<String> {
        vec![
            "/bin/sh".into(),
            "-c".into(),
            format!("{}{CMD_HELPERS}{script}", self.preamble()),
        ]
    }

    /// rich-init with `args`, then `--`, then CMD running `script`.
    pub fn run_args(&self, ns: PidNs, args: &[String], script: &str) -> Run {
        let run = Run::in_ns(ns, bin())
            .args(args)
            .arg("--")
            .args(self.cmd(script));
        // On the host: not a group of our own, whose killing after the exit would hide
        // leftovers. In a pid namespace nothing can survive anyway.
        match ns {
            PidNs::Host => run.without_own_group(),
            _ => run,
        }
    }

    /// rich-init with the base options, `extra`, then CMD running `script`.
    pub fn run(&self, ns: PidNs, extra: &[&str], script: &str) -> Run {
        let mut args = self.base_args();
        args.extend(extra.iter().map(|s| s.to_string()));
        self.run_args(ns, &args, script)
    }

    /// Every live process that belongs to this rig: `D=<dir>` in its environment or the
    /// dir in its command line. As "pid: cmdline".
    pub fn leftovers(&self) -> Vec<String> {
        let marker = format!("D={}", self.d);
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for pid in entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let in_env = environ.split(|b| *b == 0).any(|v| v == marker.as_bytes());
            if in_env || cmdline.contains(&self.d) {
                found.push(format!("{pid}: {cmdline}"));
            }
        }
        found
    }

    /// On the host, nothing of the rig may be left once rich-init has exited (in a pid
    /// namespace the kernel sees to that).
    pub fn assert_nothing_left(&self, ns: PidNs, out: &Outcome) {
        if ns == PidNs::Host {
            let left = self.leftovers();
            if !left.is_empty() {
                for line in &left {
                    if let Some(pid) = line.split(':').next().and_then(|p| p.parse().ok()) {
                        // SAFETY: kill takes plain integers; the pid was just seen as ours.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
                panic!("processes outlived rich-init: {left:#?}\n{out}");
            }
        }
    }

    /// Wait until `rel` exists, failing early if rich-init is gone.
    pub fn wait_file(&self, running: &mut Running, rel: &str) {
        let path = self.path(rel);
        let what = format!("{} to appear", path.display());
        wait_for(&what, || {
            running.assert_running(&what);
            path.exists().then_some(())
        });
    }
}

/// rich-init's own pid as seen from the test (for signals): `unshare`'s child in a pid
/// namespace.
pub fn init_pid(running: &Running, ns: PidNs) -> i32 {
    match ns {
        PidNs::Host => running.pid(),
        _ => only_child(running.pid()),
    }
}

/// The lines of `text` that start with `[NAME] `, for the given names, in order.
pub fn prefixed(text: &str, names: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|l| names.iter().any(|n| l.starts_with(&format!("[{n}] "))))
        .map(str::to_owned)
        .collect()
}
