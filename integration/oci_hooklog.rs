//! Where a hook's output is found (issue 13, findings 7 and 8): every `rich-init hook`
//! appends to a host log file (`--log-file`, RICH_INIT_LOG_FILE; default
//! /var/log/rich-init/hook.log), under runc and under crun, which shows none of a hook's
//! output. A succeeding initscript's lines are there, and a failing one's reason: the
//! same line the hook prints. An initscript asked for at createRuntime runs there, and
//! one whose stage has no rich-init hook is an error, not silence.

use crate::harness::TempDir;
use crate::oci_rig::{inject_ok, set_hook_env, shared, write_script};
use crate::runc::{Bundle, Container, Runtime, Spec};
use crate::runc_create::Created;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const SUCCEEDS: &str = "#!/bin/sh\necho \"hello from init at $RICH_INIT_STAGE\"\necho \"hostname=$(/bin/busybox hostname)\"\necho \"$RICH_INIT_STAGE\" > /shared/init-stage\n";
const FAILS: &str = "#!/bin/sh\necho 'about to fail'\nexit 3\n";

/// A bundle whose CMD records that it ran, with `script` as /init.sh, injected with
/// `extra`, its hooks logging to a file in a directory that does not exist yet.
fn bundle_with(script: &str, extra: &[&str]) -> (Bundle, TempDir, PathBuf) {
    let bundle = Bundle::new();
    bundle.write_config(&Spec::new(&["/bin/sh", "-c", "echo ran > /shared/cmd-ran"]));
    write_script(&bundle.rootfs().join("init.sh"), script);
    let mut args = vec!["--initscript", "/init.sh"];
    args.extend_from_slice(extra);
    inject_ok(&bundle, &args);
    let logs = TempDir::new("hook-log");
    let log = logs.join("rich-init/hook.log");
    set_hook_env(&bundle, &[format!("RICH_INIT_LOG_FILE={}", log.display())]);
    (bundle, logs, log)
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()))
}

/// The log's line that holds `text`, checked for its form: `TIMESTAMP ID [STAGE ACTION] TEXT`.
fn line_with<'a>(text: &'a str, id: &str, head: &str, want: &str) -> &'a str {
    let line = text
        .lines()
        .find(|l| l.contains(want))
        .unwrap_or_else(|| panic!("{want:?} in the hook log:\n{text}"));
    let (stamp, rest) = line.split_once(' ').expect("a timestamp");
    assert!(
        stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "a UTC timestamp: {line}"
    );
    assert_eq!(rest, format!("{id} [{head}] {want}"), "{text}");
    line
}

fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("the host's hostname")
        .trim()
        .to_string()
}

fn success_is_logged(runtime: Runtime) {
    let (bundle, _logs, log) = bundle_with(SUCCEEDS, &[]);
    let container = Container::run_bundle(runtime, &bundle);
    let id = container.id().to_string();
    let out = container.wait();
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(shared(&bundle, "cmd-ran"), "ran\n", "{out}");
    let text = read_log(&log);
    let head = "prestart initscript /init.sh";
    line_with(&text, &id, head, "hello from init at prestart");
    line_with(&text, &id, head, "succeeded");
    // What README says: at prestart the container's hostname is not set yet.
    line_with(&text, &id, head, &format!("hostname={}", host_hostname()));
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&log), 0o640, "the log file's mode");
    assert_eq!(mode(log.parent().expect("dir")), 0o755, "its directory's");
}

#[test]
fn runc_a_succeeding_initscript_is_in_the_hook_log() {
    success_is_logged(Runtime::Runc);
}

#[test]
fn crun_a_succeeding_initscript_is_in_the_hook_log() {
    success_is_logged(Runtime::Crun);
}

fn failure_is_logged(runtime: Runtime) {
    let (bundle, _logs, log) = bundle_with(FAILS, &[]);
    let (created, out) = Created::create(runtime, &bundle);
    assert!(
        out.code().is_some_and(|c| c != 0),
        "create must fail\n{out}"
    );
    let text = read_log(&log);
    let head = "prestart initscript /init.sh";
    line_with(&text, created.id(), head, "about to fail");
    let reason = "rich-init hook prestart: initscript /init.sh failed: exit status 3";
    line_with(&text, created.id(), head, reason);
    if runtime == Runtime::Runc {
        assert!(
            out.stderr.contains(reason),
            "the same line runc shows\n{out}"
        );
    }
    assert_eq!(shared(&bundle, "cmd-ran"), "", "CMD never ran");
}

#[test]
fn runc_a_failing_initscript_reason_is_in_the_hook_log() {
    failure_is_logged(Runtime::Runc);
}

#[test]
fn crun_a_failing_initscript_reason_is_in_the_hook_log() {
    failure_is_logged(Runtime::Crun);
}

fn create_runtime_stage(runtime: Runtime) {
    let (bundle, _logs, log) = bundle_with(SUCCEEDS, &["--initscript-stage", "createRuntime"]);
    let container = Container::run_bundle(runtime, &bundle);
    let id = container.id().to_string();
    let out = container.wait();
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(shared(&bundle, "init-stage"), "createRuntime\n", "{out}");
    let text = read_log(&log);
    let head = "createRuntime initscript /init.sh";
    line_with(&text, &id, head, "hello from init at createRuntime");
    line_with(&text, &id, head, &format!("hostname={}", host_hostname()));

    // The same annotation, with only the prestart and poststop hooks (the hooks.d files
    // of old): the container does not start without its initscript.
    let (bundle, _logs, log) = bundle_with(SUCCEEDS, &["--initscript-stage", "createRuntime"]);
    bundle.edit_config(|c| {
        c["hooks"]
            .as_object_mut()
            .expect("hooks")
            .shift_remove("createRuntime");
    });
    let (created, out) = Created::create(runtime, &bundle);
    assert!(
        out.code().is_some_and(|c| c != 0),
        "create must fail\n{out}"
    );
    let text = read_log(&log);
    let line = text
        .lines()
        .find(|l| {
            l.contains(
                "rich-init hook prestart: annotation io.rich-init.initscript-stage=createRuntime",
            )
        })
        .unwrap_or_else(|| panic!("the error in the hook log:\n{text}\n{out}"));
    assert!(
        line.contains(&format!(" {} [prestart hook] ", created.id())),
        "{line}"
    );
    assert!(
        line.contains("rich-init-createRuntime.json"),
        "the fix: {line}"
    );
    if runtime == Runtime::Runc {
        assert!(
            out.stderr
                .contains("io.rich-init.initscript-stage=createRuntime"),
            "{out}"
        );
    }
    assert_eq!(shared(&bundle, "init-stage"), "", "it never ran\n{out}");
}

#[test]
fn runc_an_initscript_at_create_runtime_runs_there_or_fails_loudly() {
    create_runtime_stage(Runtime::Runc);
}

#[test]
fn crun_an_initscript_at_create_runtime_runs_there_or_fails_loudly() {
    create_runtime_stage(Runtime::Crun);
}
