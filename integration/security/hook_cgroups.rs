//! The initscript runs in the container's cgroups: a runc container with a pids limit and a
//! memory limit, the hook run against it as a runtime would run it at a stage. The
//! initscript's /proc/self/cgroup is the container process's; the container's cgroups
//! hold the container's process and the hook's two (the intermediate one and the
//! initscript), never the hook itself; the pids limit stops the initscript's forks at an
//! exact count; nothing is left in the cgroups (they are gone) after `runc delete`. When a
//! cgroup cannot be joined, the initscript never runs and the hook says which file.

use super::rig::{Held, INITSCRIPT};
use crate::harness::{all_stats, children, require, static_bin, wait_for, Run, TempDir};
use crate::oci_rig::{
    assert_no_panic, assert_one_error_line, inject_ok, set_annotation, shared, state_json,
    wait_shared, write_script, Gate,
};
use crate::runc::{Bundle, Container, Runtime, Spec};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const PIDS_LIMIT: u32 = 20;
const MEMORY_LIMIT: u64 = 64 << 20;
/// More forks than the limit allows.
const TRIES: u32 = 2 * PIDS_LIMIT;

/// The container's CMD: ready, then wait at its gate (one process: `read` is built in).
/// The initscript's sleepers end up its children when the subshell that started them
/// ends; their deaths (the hook kills them) interrupt its open of the FIFO: it opens again.
const CMD: &str = "echo up > /shared/ready; until read line < /shared/gate; do :; done";

/// Records its cgroups, waits; then forks sleepers in a subshell until a fork fails (busy-
/// box sh leaves a subshell whose fork failed), counting the ones that started; waits.
fn initscript() -> String {
    format!(
        r#"#!/bin/sh
cat /proc/self/cgroup > /shared/init.cgroup
echo waiting > /shared/init.first
read line < /shared/init-gate
( i=0; while [ $i -lt {TRIES} ]; do sleep 1000 & i=$((i+1)); echo $i > /shared/forked; done; echo all > /shared/forked-all )
echo "subshell $?" > /shared/init.second
read line < /shared/init-gate2
"#
    )
}

fn limit(bundle: &Bundle) {
    bundle.edit_config(|config| {
        config["linux"]["resources"] = serde_json::json!({
            "pids": {"limit": PIDS_LIMIT},
            "memory": {"limit": MEMORY_LIMIT},
        });
    });
}

/// A runc container with the limits whose CMD waits at its gate, and its pid.
fn start_limited(bundle: &Bundle) -> (Container<'_>, Gate, i32) {
    bundle.write_config(&Spec::new(&["/bin/sh", "-c", CMD]));
    limit(bundle);
    let held = Held::start_written(bundle);
    (held.container, held.gate, held.pid)
}

fn cgroup_text(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default()
}

/// A cgroup hierarchy's directory for `pid`: (controllers, "" for v2; directory), for
/// each hierarchy mounted here, found through our own mountinfo (not assumed paths).
fn cgroup_dirs(pid: i32) -> Vec<(String, PathBuf)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let text = cgroup_text(pid);
    assert!(!text.is_empty(), "/proc/{pid}/cgroup is readable");
    let mut dirs = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
        let (controllers, path) = (controllers.unwrap_or(""), path.unwrap_or("/"));
        let dir = info.lines().find_map(|m| {
            let (left, right) = m.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let options: Vec<&str> = right.get(2)?.split(',').collect();
            let holds = match *right.first()? {
                "cgroup2" => controllers.is_empty(),
                "cgroup" => {
                    !controllers.is_empty() && controllers.split(',').all(|c| options.contains(&c))
                }
                _ => false,
            };
            let unescape = |s: &str| s.replace("\\040", " ");
            let below = Path::new(path)
                .strip_prefix(unescape(left.get(3)?))
                .ok()?
                .to_path_buf();
            let point = PathBuf::from(unescape(left.get(4)?));
            holds.then(|| point.join(below))
        });
        if let Some(dir) = dir {
            dirs.push((controllers.to_string(), dir));
        }
    }
    dirs
}

fn procs_in(dir: &Path) -> BTreeSet<i32> {
    let file = dir.join("cgroup.procs");
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()))
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn pids_dir(dirs: &[(String, PathBuf)]) -> PathBuf {
    dirs.iter()
        .find(|(c, _)| c.split(',').any(|c| c == "pids"))
        .map(|(_, d)| d.clone())
        .unwrap_or_else(|| panic!("the container has a pids cgroup here: {dirs:?}"))
}

fn pids_current(dir: &Path) -> u32 {
    let text = std::fs::read_to_string(dir.join("pids.current")).unwrap_or_default();
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("pids.current of {} is {text:?}", dir.display()))
}

/// The hook's arguments: prestart, its lines on stderr, no host scripts (an empty dir).
fn hook_args(run: Run, hooks: &TempDir) -> Run {
    let dir = hooks.join("hooks.d");
    std::fs::create_dir_all(&dir).expect("create the hooks dir");
    run.args(["hook", "prestart", "--log", "stderr", "--hooks-dir"])
        .arg(dir)
}

/// `run` with the held container's state on its stdin, as a runtime hands it.
fn with_state(
    mut run: Run,
    bundle: &Bundle,
    container: &Container,
    pid: i32,
    hooks: &TempDir,
) -> Run {
    let state = hooks.write(
        "state.json",
        &state_json(container.id(), pid, "running", bundle.path()),
    );
    run.command_mut()
        .stdin(std::fs::File::open(&state).expect("open the state"));
    run
}

#[test]
fn initscript_runs_in_the_containers_cgroups_and_under_its_limits() {
    require("runc");
    let bundle = Bundle::new();
    write_script(&bundle.rootfs().join("init.sh"), &initscript());
    let (container, gate, pid) = start_limited(&bundle);
    set_annotation(&bundle, INITSCRIPT, "/init.sh");
    let theirs = cgroup_text(pid);
    let dirs = cgroup_dirs(pid);
    let ours = cgroup_text(std::process::id() as i32);
    assert!(
        dirs.iter().any(|(c, _)| c == "memory") && theirs != ours,
        "the container has cgroups of its own: {theirs}"
    );
    let pids = pids_dir(&dirs);
    assert_eq!(
        procs_in(&pids),
        BTreeSet::from([pid]),
        "before the hook: the CMD alone"
    );
    let first = Gate::new(&bundle, "init-gate");
    let second = Gate::new(&bundle, "init-gate2");
    let hooks = TempDir::new("hooks-dir");
    let run = hook_args(Run::new(static_bin()), &hooks);
    let mut hook = with_state(run, &bundle, &container, pid, &hooks).spawn();
    let hook_pid = hook.pid();
    wait_for("the initscript to record its cgroups", || {
        hook.assert_running("the initscript to record its cgroups");
        (!shared(&bundle, "init.first").is_empty()).then_some(())
    });

    assert_eq!(
        shared(&bundle, "init.cgroup"),
        theirs,
        "the initscript's /proc/self/cgroup is the container process's"
    );
    assert_eq!(
        cgroup_text(hook_pid),
        ours,
        "the hook itself stays in its own (the caller's) cgroups"
    );
    // hook → intermediate process (outside the pid namespace) → initscript (inside).
    let middle = children(hook_pid);
    assert_eq!(middle.len(), 1, "the hook has one child: {middle:?}");
    let script = children(middle[0]);
    assert_eq!(
        script.len(),
        1,
        "the intermediate has one child: {script:?}"
    );
    let want = BTreeSet::from([pid, middle[0], script[0]]);
    for (controllers, dir) in &dirs {
        assert_eq!(
            procs_in(dir),
            want,
            "{controllers:?} cgroup {}: the CMD and the hook's two processes, never the hook ({hook_pid})",
            dir.display()
        );
    }
    assert_eq!(pids_current(&pids), 3, "pids.current in {}", pids.display());

    // Fork until the limit: the CMD, the intermediate, the initscript and its subshell
    // hold 4 of the PIDS_LIMIT; every other fork started a sleeper, the next one failed.
    first.open();
    wait_for("the initscript's forks to stop", || {
        hook.assert_running("the initscript's forks to stop");
        (!shared(&bundle, "init.second").is_empty()).then_some(())
    });
    let forked: u32 = shared(&bundle, "forked").trim().parse().unwrap_or(0);
    let said = hook.stderr_so_far();
    assert_eq!(
        forked,
        PIDS_LIMIT - 4,
        "sleepers started out of {TRIES} tries under pids.max {PIDS_LIMIT}\n{said}"
    );
    assert_eq!(
        shared(&bundle, "forked-all"),
        "",
        "not every fork succeeded"
    );
    assert_ne!(
        shared(&bundle, "init.second").trim(),
        "subshell 0",
        "the subshell ended on the failed fork\n{said}"
    );
    assert!(said.contains("can't fork"), "sh said why:\n{said}");
    assert_eq!(
        pids_current(&pids),
        PIDS_LIMIT - 1,
        "the limit is reached, less the subshell that ended"
    );
    second.open();
    let out = hook.wait();
    assert_no_panic(&out);
    assert_eq!(out.code(), Some(0), "{out}");
    // The hook killed what the initscript left (its group); the CMD stays. A killed
    // process is listed until its exit is through, with no namespace left to read while it
    // dies: wait until every member can be read, then hold each to the CMD's namespace.
    let cmd_ns = crate::oci_rig::ns_of(pid, "pid");
    for (controllers, dir) in &dirs {
        wait_for(
            &format!("the processes the hook killed to leave {}", dir.display()),
            || {
                procs_in(dir)
                    .into_iter()
                    .all(|m| crate::oci_rig::ns_of(m, "pid").is_some())
                    .then_some(())
            },
        );
        for member in procs_in(dir) {
            assert_eq!(
                crate::oci_rig::ns_of(member, "pid"),
                cmd_ns,
                "after the hook, {controllers:?} cgroup {} holds only the container's processes",
                dir.display()
            );
        }
    }

    gate.open();
    let done = container.wait();
    assert_eq!(done.code(), Some(0), "{done}");
    // Container::wait has run `runc delete -f`.
    for (controllers, dir) in &dirs {
        assert!(
            !dir.exists(),
            "{controllers:?} cgroup {} is gone after delete (it would stay if anything was left in it)",
            dir.display()
        );
    }
    let left: Vec<i32> = all_stats()
        .into_iter()
        .map(|s| s.pid)
        .filter(|p| cgroup_text(*p) == theirs)
        .collect();
    assert!(
        left.is_empty(),
        "processes left in the container's cgroups: {left:?}"
    );
}

#[test]
fn a_cgroup_that_cannot_be_joined_is_an_error_and_the_initscript_never_runs() {
    require("runc");
    let unshare = require("unshare");
    let bundle = Bundle::new();
    write_script(
        &bundle.rootfs().join("init.sh"),
        "#!/bin/sh\necho ran > /shared/init-ran\n",
    );
    let (container, gate, pid) = start_limited(&bundle);
    set_annotation(&bundle, INITSCRIPT, "/init.sh");
    let pids = pids_dir(&cgroup_dirs(pid));
    let mount = std::fs::read_to_string("/proc/self/mountinfo")
        .expect("read mountinfo")
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(String::from))
        .filter(|point| pids.starts_with(point))
        .max_by_key(String::len)
        .expect("the pids cgroup is under a mount");
    // In a mount namespace of its own, the hook sees the pids hierarchy read-only.
    let hooks = TempDir::new("hooks-dir");
    let run = Run::new(&unshare)
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -o remount,bind,ro \"$0\" || exit 125; exec \"$@\"")
        .arg(&mount)
        .arg(static_bin());
    let out = with_state(hook_args(run, &hooks), &bundle, &container, pid, &hooks).output();
    let file = pids.join("cgroup.procs").display().to_string();
    assert_one_error_line(
        &out,
        1,
        "rich-init hook prestart: initscript /init.sh failed: cannot join the container's cgroup",
        &[&file, "Read-only file system"],
    );
    assert_eq!(shared(&bundle, "init-ran"), "", "the initscript never ran");
    assert_eq!(procs_in(&pids), BTreeSet::from([pid]), "nothing joined it");
    gate.open();
    let done = container.wait();
    assert_eq!(done.code(), Some(0), "{done}");
}

/// As runc runs it: `oci inject --initscript`, the hook at prestart while runc holds the
/// container's process; the initscript's cgroups are those of the CMD under rich-init.
#[test]
fn under_runc_the_initscript_and_the_cmd_share_the_containers_cgroups() {
    require("runc");
    let bundle = Bundle::new();
    bundle.write_config(&Spec::new(&[
        "/bin/sh",
        "-c",
        "cat /proc/self/cgroup > /shared/cmd.cgroup; echo ok > /shared/cmd.done",
    ]));
    limit(&bundle);
    write_script(
        &bundle.rootfs().join("init.sh"),
        "#!/bin/sh\ncat /proc/self/cgroup > /shared/init.cgroup\n",
    );
    inject_ok(&bundle, &["--initscript", "/init.sh"]);
    let container = Container::run_bundle(Runtime::Runc, &bundle);
    wait_shared(&bundle, "cmd.done");
    let out = container.wait();
    assert_eq!(out.code(), Some(0), "{out}");
    let cmd = shared(&bundle, "cmd.cgroup");
    assert!(
        cmd.lines().any(|l| l.contains(":pids:/")) && cmd.contains(":memory:/"),
        "the CMD has pids and memory cgroups: {cmd}"
    );
    assert_ne!(
        cmd,
        cgroup_text(std::process::id() as i32),
        "the container's cgroups are its own"
    );
    assert_eq!(
        shared(&bundle, "init.cgroup"),
        cmd,
        "the initscript ran in the container's cgroups\n{out}"
    );
}
