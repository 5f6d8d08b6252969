//! Shared pieces of the security tests: a runc container held at a gate (so that
//! `rich-init hook` can be run against it directly, many times), the hook's one line as
//! runc quotes it, and the host script that leaves a marker if it ever runs.

use crate::harness::{wait_for, Outcome, TempDir};
use crate::oci_rig::{shared, write_script, Gate};
use crate::runc::{runtime_cmd, Bundle, Container, Runtime, Spec};
use std::path::PathBuf;

/// The annotation that names the initscript.
pub const INITSCRIPT: &str = "io.rich-init.initscript";

/// A host directory with `evil.sh`, which writes `marker` (a host path) if it ever runs.
pub struct HostBait {
    pub dir: TempDir,
}

impl HostBait {
    pub fn new() -> HostBait {
        let dir = TempDir::new("host-bait");
        let marker = dir.join("marker");
        write_script(
            &dir.join("evil.sh"),
            &format!("#!/bin/sh\necho ran >> {}\n", marker.display()),
        );
        HostBait { dir }
    }

    pub fn script(&self) -> PathBuf {
        self.dir.join("evil.sh")
    }

    /// What the host script wrote: "" if it never ran.
    pub fn marker(&self) -> String {
        std::fs::read_to_string(self.dir.join("marker")).unwrap_or_default()
    }
}

/// A runc container whose CMD waits at a gate: the target of direct `rich-init hook` runs.
pub struct Held<'b> {
    pub container: Container<'b>,
    pub gate: Gate,
    pub pid: i32,
}

impl<'b> Held<'b> {
    pub fn start(bundle: &'b Bundle, spec: &Spec) -> Held<'b> {
        bundle.write_config(spec);
        Held::start_written(bundle)
    }

    /// The same with the bundle's config.json as it is (written, then edited, by the caller).
    pub fn start_written(bundle: &'b Bundle) -> Held<'b> {
        let gate = Gate::new(bundle, "gate");
        let mut container = Container::run_bundle(Runtime::Runc, bundle);
        wait_for("the CMD to be ready", || {
            container.assert_running("the CMD to be ready");
            (!shared(bundle, "ready").is_empty()).then_some(())
        });
        let out = runtime_cmd(Runtime::Runc, bundle, &["state", container.id()]);
        let state: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("runc state is not JSON ({e})\n{out}"));
        let pid = state["pid"]
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .unwrap_or_else(|| panic!("runc state has a pid\n{out}"));
        Held {
            container,
            gate,
            pid,
        }
    }

    /// The CMD that `start` expects: ready, then wait at the gate.
    pub const CMD: &'static str = "echo up > /shared/ready; read line < /shared/gate";

    /// The state a runtime would hand the hook for this container.
    pub fn state(&self, bundle: &Bundle) -> String {
        crate::oci_rig::state_json(self.container.id(), self.pid, "running", bundle.path())
    }

    /// Let the CMD end and wait for the container.
    pub fn finish(self) -> Outcome {
        self.gate.open();
        self.container.wait()
    }
}

/// The hook's stderr as runc quotes it in its error: `..., stderr: TEXT"`, `\n` escaped.
pub fn runc_hook_stderr(said: &str) -> String {
    let Some(at) = said.rfind(", stderr: ") else {
        return String::new();
    };
    let rest = &said[at + ", stderr: ".len()..];
    let end = rest.find("\"\n").unwrap_or(rest.len());
    rest[..end].replace("\\n", "\n").replace("\\\"", "\"")
}
