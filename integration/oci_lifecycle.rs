//! `rich-init oci inject` then a real runtime (runc and crun): the CMD under rich-init as
//! pid 1 with the initscript run at prestart inside the container; a failing or escaping
//! initscript makes `create` fail and leaves nothing behind; poststop runs at `delete`.
//!
//! crun, unlike runc, does not show a hook's output: the annotation
//! `run.oci.hooks.stderr` makes it write the hook's stderr to a file, which the tests read.

use crate::harness::{stat, wait_for, Outcome, TempDir};
use crate::oci_rig::{
    inject_ok, members_of_pidns, ns_of, set_annotation, set_hook_env, shared, wait_shared,
    write_script, Gate, IN_CONTAINER_BIN,
};
use crate::runc::{runtime_cmd, Bundle, Container, Runtime, Spec};
use crate::runc_create::Created;
use serde_json::Value;

/// At prestart, inside the container: the state, the netns, the environment, a file.
const INITSCRIPT: &str = r#"#!/bin/sh
cat > /shared/init-state.json
readlink /proc/self/ns/net > /shared/init-netns
echo "$RICH_INIT_STAGE|$RICH_INIT_CONTAINER_ID|$RICH_INIT_CONTAINER_PID|$GREETING" > /shared/init-env
echo "initscript was here" > /etc/initscript-mark
"#;

/// The CMD: what it sees, then it waits at the gate.
const CMD: &str = r#"readlink /proc/self/ns/net > /shared/cmd-netns
tr '\0' ' ' < /proc/1/cmdline > /shared/pid1-cmdline
echo $PPID > /shared/cmd-ppid
cat /etc/initscript-mark > /shared/cmd-saw-mark
echo ready > /shared/cmd-ready
read line < /shared/gate
exit 7"#;

fn injected_bundle(cmd: &str, initscript: Option<&str>) -> Bundle {
    let bundle = Bundle::new();
    bundle.write_config(&Spec::new(&["/bin/sh", "-c", cmd]).env("GREETING=hello there"));
    match initscript {
        Some(text) => {
            write_script(&bundle.rootfs().join("init.sh"), text);
            inject_ok(&bundle, &["--initscript", "/init.sh"]);
        }
        None => {
            inject_ok(&bundle, &[]);
        }
    }
    bundle
}

fn run_injected(runtime: Runtime) {
    let bundle = injected_bundle(CMD, Some(INITSCRIPT));
    let gate = Gate::new(&bundle, "gate");
    let mut container = Container::run_bundle(runtime, &bundle);
    let id = container.id().to_string();
    wait_for("the CMD to be ready", || {
        container.assert_running("the CMD to be ready");
        (!shared(&bundle, "cmd-ready").is_empty()).then_some(())
    });
    let state: Value = serde_json::from_str(&shared(&bundle, "init-state.json"))
        .unwrap_or_else(|e| panic!("the initscript got the state JSON on stdin ({e})"));
    assert_eq!(state["id"], id.as_str(), "{state}");
    assert_eq!(
        state["bundle"],
        bundle.path().display().to_string(),
        "{state}"
    );
    let pid = state["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("state has a pid: {state}"));
    let pid = i32::try_from(pid).expect("pid fits");
    let host_cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        host_cmdline.starts_with(format!("{IN_CONTAINER_BIN}\0--rich\0").as_bytes()),
        "the state's pid is rich-init: {:?}",
        String::from_utf8_lossy(&host_cmdline)
    );
    let container_netns = ns_of(pid, "net").expect("the container's netns from the host");
    assert_ne!(
        Some(&container_netns),
        ns_of(std::process::id() as i32, "net").as_ref()
    );
    assert_eq!(
        shared(&bundle, "cmd-netns").trim(),
        container_netns,
        "CMD's netns"
    );
    assert_eq!(
        shared(&bundle, "init-netns").trim(),
        container_netns,
        "the initscript's netns"
    );
    assert_eq!(
        shared(&bundle, "init-env"),
        format!("prestart|{id}|{pid}|hello there\n"),
        "the initscript's environment: stage, id, pid, process.env"
    );
    assert!(
        shared(&bundle, "pid1-cmdline")
            .starts_with(&format!("{IN_CONTAINER_BIN} --rich -- /bin/sh -c ")),
        "pid 1 in the container is rich-init: {}",
        shared(&bundle, "pid1-cmdline")
    );
    assert_eq!(
        shared(&bundle, "cmd-ppid"),
        "1\n",
        "CMD is rich-init's child"
    );
    assert_eq!(
        shared(&bundle, "cmd-saw-mark"),
        "initscript was here\n",
        "the initscript wrote into the container's filesystem before CMD ran"
    );
    gate.open();
    let out = container.wait();
    assert_eq!(
        out.code(),
        Some(7),
        "CMD's status out of {}\n{out}",
        runtime.name()
    );
}

#[test]
fn runc_inject_then_run() {
    run_injected(Runtime::Runc);
}

#[test]
fn crun_inject_then_run() {
    run_injected(Runtime::Crun);
}

/// The hook's stderr as runc quotes it in its error: `..., stderr: TEXT"`, `\n` escaped.
fn runc_hook_stderr(said: &str) -> String {
    let Some(at) = said.rfind(", stderr: ") else {
        return String::new();
    };
    let rest = &said[at + ", stderr: ".len()..];
    let end = rest.find("\"\n").unwrap_or(rest.len());
    rest[..end].replace("\\n", "\n").replace("\\\"", "\"")
}

/// Create a container whose prestart fails: nothing is left behind, and the hook said
/// exactly one line on stderr (runc quotes it in its error; crun writes it to the
/// `run.oci.hooks.stderr` file). Returns that line.
fn create_must_fail<'b>(runtime: Runtime, bundle: &'b Bundle) -> (Created<'b>, String, Outcome) {
    let hook_stderr = bundle.path().join("hook-stderr");
    if runtime == Runtime::Crun {
        let path = hook_stderr.display().to_string();
        set_annotation(bundle, "run.oci.hooks.stderr", &path);
    }
    let (created, out) = Created::create(runtime, bundle);
    assert!(
        out.code().is_some_and(|c| c != 0),
        "create must fail\n{out}"
    );
    let said = match runtime {
        Runtime::Runc => runc_hook_stderr(&out.stderr),
        Runtime::Crun => {
            assert!(out.stderr.contains("error executing hook"), "{out}");
            std::fs::read_to_string(&hook_stderr).unwrap_or_default()
        }
    };
    let lines: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line from the hook:\n{said}\n{out}");
    assert!(!said.contains("panicked"), "{out}");
    assert_eq!(created.status(), None, "no container is left behind\n{out}");
    let list = runtime_cmd(runtime, bundle, &["list"]);
    assert!(!list.stdout.contains(created.id()), "list is empty\n{list}");
    (created, lines[0].to_string(), out)
}

fn failing_initscript(runtime: Runtime) {
    let script = "#!/bin/sh\nreadlink /proc/self/ns/pid > /shared/init-pidns\ncat > /shared/init-state.json\nsleep 1000 > /dev/null 2>&1 &\nexit 3\n";
    let bundle = injected_bundle("echo CMD-RAN > /shared/cmd-ran", Some(script));
    let (_created, said, out) = create_must_fail(runtime, &bundle);
    assert_eq!(
        said,
        "rich-init hook prestart: initscript /init.sh failed: exit status 3",
        "our error line in {}'s output:\n{said}\n{out}",
        runtime.name()
    );
    assert_eq!(shared(&bundle, "cmd-ran"), "", "CMD never ran\n{out}");
    let pidns = shared(&bundle, "init-pidns");
    assert!(
        pidns.starts_with("pid:["),
        "the initscript ran in a pid namespace\n{out}"
    );
    let host_pidns = ns_of(std::process::id() as i32, "pid").expect("our own pid ns");
    assert_ne!(
        pidns.trim(),
        host_pidns,
        "the container's, not the host's\n{out}"
    );
    wait_for("every process of the container to be gone", || {
        members_of_pidns(pidns.trim()).is_empty().then_some(())
    });
    let state: Value = serde_json::from_str(&shared(&bundle, "init-state.json")).expect("state");
    let pid = i32::try_from(state["pid"].as_i64().expect("pid")).expect("pid fits");
    assert!(
        stat(pid).is_none(),
        "the container's init ({pid}) is gone and reaped\n{out}"
    );
}

#[test]
fn runc_failing_initscript_fails_create() {
    failing_initscript(Runtime::Runc);
}

#[test]
fn crun_failing_initscript_fails_create() {
    failing_initscript(Runtime::Crun);
}

/// An initscript that hangs past `io.rich-init.hook-timeout` is killed and fails create.
#[test]
fn runc_initscript_past_its_timeout_fails_create() {
    let script = "#!/bin/sh\nreadlink /proc/self/ns/pid > /shared/init-pidns\nexec sleep 1000\n";
    let bundle = injected_bundle("echo CMD-RAN > /shared/cmd-ran", Some(script));
    set_annotation(&bundle, "io.rich-init.hook-timeout", "1s");
    let (_created, said, out) = create_must_fail(Runtime::Runc, &bundle);
    // The contract's form; the line may go on (" and was killed").
    assert!(
        said.starts_with("rich-init hook prestart: initscript /init.sh failed: timed out after 1s"),
        "{said}
{out}"
    );
    let pidns = shared(&bundle, "init-pidns");
    assert!(pidns.starts_with("pid:["), "the initscript ran\n{out}");
    wait_for("every process of the container to be gone", || {
        members_of_pidns(pidns.trim()).is_empty().then_some(())
    });
}

/// /init.sh is a symlink meant to reach a host script: inside the container's root it
/// resolves to nothing, and the host script never runs.
fn escaping_symlink(runtime: Runtime) {
    let host = TempDir::new("host-script");
    let marker = host.join("marker");
    let evil = host.join("evil.sh");
    write_script(
        &evil,
        &format!("#!/bin/sh\necho ran > {}\n", marker.display()),
    );
    let relative = format!("../../../../../../..{}", evil.display());
    for target in [relative, evil.display().to_string()] {
        let bundle = injected_bundle(
            "echo CMD-RAN > /shared/cmd-ran",
            Some("#!/bin/sh\nexit 0\n"),
        );
        let link = bundle.rootfs().join("init.sh");
        std::fs::remove_file(&link).expect("remove init.sh");
        std::os::unix::fs::symlink(&target, &link).expect("symlink init.sh");
        let (_created, said, out) = create_must_fail(runtime, &bundle);
        assert!(
            !marker.exists(),
            "the host script ran through /init.sh -> {target}\n{out}"
        );
        assert!(
            said.starts_with("rich-init hook prestart: initscript /init.sh")
                && said.contains("not found inside the container's root filesystem"),
            "the hook says the initscript is not in the container (-> {target}):\n{said}\n{out}"
        );
        assert_eq!(shared(&bundle, "cmd-ran"), "", "CMD never ran\n{out}");
    }
}

#[test]
fn runc_initscript_symlink_cannot_escape() {
    escaping_symlink(Runtime::Runc);
}

#[test]
fn crun_initscript_symlink_cannot_escape() {
    escaping_symlink(Runtime::Crun);
}

/// A host hook that records its stage, the container id and the state on stdin.
const RECORD: &str = "#!/bin/sh\nd=$(dirname \"$0\")/../out\n{ echo \"$RICH_INIT_STAGE $RICH_INIT_CONTAINER_ID\"; cat; } > \"$d/$RICH_INIT_STAGE.tmp\"\nmv \"$d/$RICH_INIT_STAGE.tmp\" \"$d/$RICH_INIT_STAGE\"\n";

fn poststop_at_delete(runtime: Runtime) {
    let hooks = TempDir::new("hooks-dir");
    std::fs::create_dir_all(hooks.join("out")).expect("mkdir out");
    for stage in ["prestart", "poststop"] {
        write_script(&hooks.join(stage).join("10-record"), RECORD);
    }
    let bundle = injected_bundle("echo CMD-RAN > /shared/cmd-ran", None);
    set_hook_env(
        &bundle,
        &[format!("RICH_INIT_HOOKS_DIR={}", hooks.path().display())],
    );
    let record = |stage: &str| std::fs::read_to_string(hooks.join("out").join(stage)).ok();
    let (created, out) = Created::create(runtime, &bundle);
    assert_eq!(out.code(), Some(0), "create\n{out}");
    let id = created.id().to_string();
    let prestart = record("prestart").unwrap_or_else(|| panic!("prestart ran at create\n{out}"));
    assert!(
        prestart.starts_with(&format!("prestart {id}\n")),
        "{prestart}"
    );
    created.must("start");
    wait_shared(&bundle, "cmd-ran");
    wait_for("the container to stop", || {
        (created.status().as_deref() == Some("stopped")).then_some(())
    });
    assert_eq!(record("poststop"), None, "poststop waits for delete");
    created.must("delete");
    let poststop = record("poststop").unwrap_or_else(|| panic!("poststop ran at delete"));
    let (first, state) = poststop.split_once('\n').expect("two parts");
    assert_eq!(first, format!("poststop {id}"));
    let state: Value = serde_json::from_str(state).unwrap_or_else(|e| panic!("{e}: {state}"));
    assert_eq!(state["id"], id.as_str(), "the state on the script's stdin");
    assert_eq!(created.status(), None, "deleted");
}

#[test]
fn runc_poststop_runs_at_delete() {
    poststop_at_delete(Runtime::Runc);
}

#[test]
fn crun_poststop_runs_at_delete() {
    poststop_at_delete(Runtime::Crun);
}
