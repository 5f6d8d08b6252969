//! Shared pieces of the OCI tests (issue 4): running `rich-init oci inject` and
//! `rich-init hook STAGE` on the host, the one-error-line check, scripts on disk, the hook
//! entries that inject writes, processes of a pid namespace, and a FIFO gate that holds a
//! container's CMD until the test has looked at it.

// Each test file uses its own subset.
#![allow(dead_code)]

use crate::harness::{static_bin, wait_for, Outcome, Run, TempDir};
use crate::runc::Bundle;
use serde_json::Value;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where inject mounts the binary in rich-init mode.
pub const IN_CONTAINER_BIN: &str = "/.rich-init/rich-init";

/// (The oci tests' name for it; it lives in the harness, which the bench shares.)
pub use crate::harness::write_file;

/// An executable script.
pub fn write_script(path: &Path, text: &str) {
    write_file(path, text, 0o755);
}

/// `rich-init oci inject --bundle DIR --binary <static binary> EXTRA...`.
pub fn inject_cmd(bundle: &Path, extra: &[&str]) -> Run {
    Run::new(static_bin())
        .args(["oci", "inject", "--bundle"])
        .arg(bundle)
        .arg("--binary")
        .arg(static_bin())
        .args(extra)
}

pub fn inject(bundle: &Path, extra: &[&str]) -> Outcome {
    inject_cmd(bundle, extra).output()
}

/// Inject, which must succeed.
pub fn inject_ok(bundle: &Bundle, extra: &[&str]) -> Outcome {
    let out = inject(bundle.path(), extra);
    assert_eq!(out.code(), Some(0), "inject failed\n{out}");
    assert_no_panic(&out);
    out
}

/// `rich-init hook ARGS...` with `stdin` as its standard input.
pub fn hook_cmd(args: &[&str], stdin: &[u8]) -> (Run, TempDir) {
    let dir = TempDir::new("hook-stdin");
    let path = dir.join("state.json");
    std::fs::write(&path, stdin).expect("write the hook's stdin");
    let file = std::fs::File::open(&path).expect("open the hook's stdin");
    let mut run = Run::new(static_bin()).arg("hook").args(args);
    run.command_mut().stdin(file);
    (run, dir)
}

pub fn hook(args: &[&str], stdin: &[u8]) -> Outcome {
    let (run, _dir) = hook_cmd(args, stdin);
    run.output()
}

/// An OCI state document as a runtime hands it to a hook.
pub fn state_json(id: &str, pid: i32, status: &str, bundle: &Path) -> String {
    format!(
        r#"{{"ociVersion":"1.0.2","id":"{id}","pid":{pid},"status":"{status}","bundle":{},"annotations":{{}}}}"#,
        crate::runc::json_string(&bundle.display().to_string())
    )
}

pub fn assert_no_panic(out: &Outcome) {
    assert!(
        !out.stderr.contains("panicked") && out.signal().is_none(),
        "it must never panic or die of a signal\n{out}"
    );
}

/// Exit `code`, no panic, and exactly one line on stderr: it starts with `prefix` and
/// contains each of `mentions`. Returns the line.
pub fn assert_one_error_line(out: &Outcome, code: i32, prefix: &str, mentions: &[&str]) -> String {
    assert_no_panic(out);
    assert_eq!(out.code(), Some(code), "exit status\n{out}");
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "exactly one error line on stderr\n{out}");
    let line = lines[0];
    assert!(
        line.starts_with(prefix),
        "the line starts with {prefix:?}\n{out}"
    );
    for m in mentions {
        assert!(line.contains(m), "the error line names {m:?}\n{out}");
    }
    line.to_string()
}

/// The entries of hooks.STAGE in a config.
pub fn hooks_of(config: &Value, stage: &str) -> Vec<Value> {
    config["hooks"][stage]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The entry inject writes for `stage`.
pub fn our_hook(stage: &str) -> Value {
    serde_json::json!({
        "path": static_bin().display().to_string(),
        "args": ["rich-init", "hook", stage],
    })
}

/// Give every `rich-init hook` entry of config.json the environment `pairs` (e.g.
/// RICH_INIT_HOOKS_DIR=...), after inject.
pub fn set_hook_env(bundle: &Bundle, pairs: &[String]) {
    bundle.edit_config(|config| {
        let Some(hooks) = config["hooks"].as_object_mut() else {
            panic!("config.json has no hooks");
        };
        for entry in hooks.values_mut().filter_map(Value::as_array_mut).flatten() {
            if entry["args"].get(1).and_then(Value::as_str) == Some("hook") {
                entry["env"] = serde_json::json!(pairs);
            }
        }
    });
}

/// Set an annotation in config.json.
pub fn set_annotation(bundle: &Bundle, key: &str, value: &str) {
    bundle.edit_config(|config| {
        if !config["annotations"].is_object() {
            config["annotations"] = serde_json::json!({});
        }
        config["annotations"][key] = Value::String(value.to_string());
    });
}

/// A file in the bundle's /shared, or "" when it is not there.
pub fn shared(bundle: &Bundle, name: &str) -> String {
    std::fs::read_to_string(bundle.shared().join(name)).unwrap_or_default()
}

/// Wait until `name` in /shared is complete (its writer renames `name.tmp` onto it, or
/// the test waits for a file the writer finished before).
pub fn wait_shared(bundle: &Bundle, name: &str) -> String {
    let path = bundle.shared().join(name);
    wait_for(&format!("{} to be written", path.display()), || {
        std::fs::read_to_string(&path)
            .ok()
            .filter(|s| !s.is_empty())
    })
}

/// The inode in a namespace link text such as `net:[4026532181]`.
pub fn ns_of(pid: i32, kind: &str) -> Option<String> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()?;
    Some(link.display().to_string())
}

/// Host pids of every process in the pid namespace `ns` (a `pid:[N]` link text).
pub fn members_of_pidns(ns: &str) -> Vec<i32> {
    crate::harness::all_stats()
        .into_iter()
        .map(|s| s.pid)
        .filter(|pid| ns_of(*pid, "pid").as_deref() == Some(ns))
        .collect()
}

/// A FIFO in /shared that a CMD reads (`read _ < /shared/NAME`) to wait for the test.
pub struct Gate {
    path: PathBuf,
}

impl Gate {
    pub fn new(bundle: &Bundle, name: &str) -> Gate {
        let path = bundle.shared().join(name);
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o666))
            .unwrap_or_else(|e| panic!("cannot create fifo {}: {e}", path.display()));
        Gate { path }
    }

    /// Let the reader go: wait until it has the FIFO open, then write a line.
    pub fn open(&self) {
        use std::io::Write;
        let mut w = wait_for("the CMD to open its gate FIFO", || {
            std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.path)
                .ok()
        });
        w.write_all(b"go\n").expect("write to the gate FIFO");
    }
}
