//! Issue 13: the hooks.d files that `make install` ships, used by podman (`--hooks-dir`) as
//! podman uses them: each stage's hook runs for a container annotated
//! `io.rich-init.rich=true`; the initscript runs inside the container at prestart, or at
//! createRuntime with `io.rich-init.initscript-stage=createRuntime` (finding 7: the shipped
//! files must register what that stage needs); the host scripts of poststop run; and a
//! failing initscript's one-line reason is in the hook's log file (finding 8).
//!
//! Every installed file is copied into the rig's hooks dir with the DESTDIR binary as its
//! path, the host scripts dir in its env, and the log file under the rig's temp dir (env
//! `RICH_INIT_LOG_FILE`, and `--log-file` when the file passes one), so nothing on the host
//! outside the temp dir is written.

use crate::oci_hooksd::{install, HOOKSDIR};
use crate::podman_ctr::{Ctr, Oci};
use crate::podman_rig::{Podman, INITSCRIPT};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A host script that records its stage and the container id.
const RECORD: &str = "#!/bin/sh\necho \"$RICH_INIT_STAGE $RICH_INIT_CONTAINER_ID\" >> \"$(dirname \"$0\")/../ran\"\n";

/// The rig's hooks: the installed files, rewritten (see the module comment). Returns the
/// host scripts dir and the log file.
fn install_hooks(rig: &Podman) -> (crate::harness::TempDir, PathBuf, PathBuf) {
    let dest = install();
    let binary = dest.join("usr/local/bin/rich-init");
    let scripts = rig.dir().join("host-hooks");
    for stage in ["prestart", "createRuntime", "poststop"] {
        let at = scripts.join(stage).join("10-record");
        std::fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
        std::fs::write(&at, RECORD).expect("write");
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let log = rig.dir().join("hook.log");
    let shipped = dest.join(HOOKSDIR);
    let entries =
        std::fs::read_dir(&shipped).unwrap_or_else(|e| panic!("{}: {e}", shipped.display()));
    let mut copied = 0;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read a hooks.d file");
        let mut file: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        rewrite(&mut file["hook"], &binary, &scripts, &log);
        let to = rig.hooks_dir().join(entry.file_name());
        std::fs::write(&to, serde_json::to_string_pretty(&file).expect("JSON")).expect("write");
        copied += 1;
    }
    assert!(copied > 0, "make install shipped no hooks.d file");
    (dest, scripts, log)
}

fn rewrite(hook: &mut Value, binary: &Path, scripts: &Path, log: &Path) {
    hook["path"] = json!(binary.display().to_string());
    let log = log.display().to_string();
    if let Some(args) = hook["args"].as_array_mut() {
        for i in 0..args.len() {
            if args[i] == "--log-file" && i + 1 < args.len() {
                args[i + 1] = json!(log);
            } else if args[i]
                .as_str()
                .is_some_and(|a| a.starts_with("--log-file="))
            {
                args[i] = json!(format!("--log-file={log}"));
            }
        }
    }
    let mut env = hook["env"].as_array().cloned().unwrap_or_default();
    env.retain(|v| {
        !v.as_str().is_some_and(|s| {
            s.starts_with("RICH_INIT_HOOKS_DIR=") || s.starts_with("RICH_INIT_LOG_FILE=")
        })
    });
    env.push(json!(format!("RICH_INIT_HOOKS_DIR={}", scripts.display())));
    env.push(json!(format!("RICH_INIT_LOG_FILE={log}")));
    hook["env"] = Value::Array(env);
}

/// The annotations that select our hooks and the initscript, at `stage` if given.
fn annotations(stage: Option<&str>) -> Vec<String> {
    let mut flags: Vec<String> = ["--annotation", "io.rich-init.rich=true", "--annotation"]
        .map(String::from)
        .to_vec();
    flags.push(format!("io.rich-init.initscript={INITSCRIPT}"));
    if let Some(stage) = stage {
        flags.push("--annotation".into());
        flags.push(format!("io.rich-init.initscript-stage={stage}"));
    }
    flags
}

/// Inside the container: the stage and id it was run with; a mark in the container's /etc.
const INITSCRIPT_BODY: &str = "echo \"$RICH_INIT_STAGE $RICH_INIT_CONTAINER_ID\" > /shared/initscript-ran\necho initscript-was-here > /etc/initscript-mark\n";

fn create<'p>(rig: &'p Podman, oci: Oci, stage: Option<&str>, body: &str, cmd: &str) -> Ctr<'p> {
    rig.create(oci, &annotations(stage), &["sh", "-c", cmd], |shared| {
        std::fs::write(shared.join("initscript"), body).expect("write the initscript");
    })
}

fn initscript_at(oci: Oci, stage: Option<&str>) {
    let rig = Podman::new();
    let (_dest, scripts, log) = install_hooks(&rig);
    let ctr = create(
        &rig,
        oci,
        stage,
        INITSCRIPT_BODY,
        "cat /etc/initscript-mark > /shared/cmd-saw",
    );
    let out = ctr.start_created();
    let id = ctr.id().to_string();
    let hook_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        out.code(),
        Some(0),
        "podman start\n{out}\nhook log:\n{hook_log}"
    );
    let want_stage = stage.unwrap_or("prestart");
    assert_eq!(
        ctr.shared("initscript-ran"),
        format!("{want_stage} {id}\n"),
        "the initscript ran at {want_stage} under {}\nhook log:\n{hook_log}",
        oci.name()
    );
    assert_eq!(
        ctr.shared("cmd-saw"),
        "initscript-was-here\n",
        "it ran inside the container, before CMD"
    );
    drop(ctr);
    let ran = std::fs::read_to_string(scripts.join("ran")).unwrap_or_default();
    assert!(
        ran.lines().any(|l| l == format!("{want_stage} {id}")),
        "the host script of {want_stage} ran:\n{ran}"
    );
    assert!(
        ran.lines().any(|l| l == format!("poststop {id}")),
        "the host script of poststop ran once the container was removed:\n{ran}"
    );
    rig.finish();
}

#[test]
fn podman_hooks_d_initscript_at_prestart_and_poststop_runc() {
    initscript_at(Oci::Runc, None);
}

#[test]
fn podman_hooks_d_initscript_at_prestart_and_poststop_crun() {
    initscript_at(Oci::Crun, None);
}

/// Finding 7: the documented createRuntime stage works with the shipped files.
#[test]
fn podman_hooks_d_initscript_at_create_runtime() {
    initscript_at(Oci::Runc, Some("createRuntime"));
}

/// Finding 8: the reason a hook failed is in its log file, one line with the container
/// id, the stage and the reason.
#[test]
fn podman_failing_initscript_reason_is_in_the_hook_log() {
    let rig = Podman::new();
    let (_dest, _scripts, log) = install_hooks(&rig);
    let ctr = create(&rig, Oci::Runc, None, "exit 3\n", "echo ran > /shared/cmd");
    let out = ctr.start_created();
    assert_ne!(
        out.code(),
        Some(0),
        "the failing initscript fails the start\n{out}"
    );
    assert_eq!(ctr.shared("cmd"), "", "CMD never ran");
    let id = ctr.id().to_string();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.lines().any(|l| l.contains(&id)
            && l.contains("prestart")
            && l.contains(&format!("initscript {INITSCRIPT} failed: exit status 3"))),
        "a line with the id {id}, the stage and the reason in {}:\n{text}\npodman said:\n{out}",
        log.display()
    );
    drop(ctr);
    rig.finish();
}
