//! `upgrade-helper upgrade` that must not go through (issue 5): refusals that change
//! nothing (the same image, an image that is not there, no such container, a container
//! the CRI plugin owns), and upgrades that fail after the old task was stopped and are
//! rolled back (a new task that cannot start, one that exits within the health window, a
//! probe that fails), each leaving the old container running as before.

use crate::upgrade_image::ImageSpec;
use crate::upgrade_rig::Rig;
use serde_json::Value;

const V1: &str = "rich-init-it/app:1";
const V2: &str = "rich-init-it/app:2";
const BROKEN: &str = "rich-init-it/app:broken";
const FLAKY: &str = "rich-init-it/app:flaky";

/// The images named, of: image 1 and 2; BROKEN, whose entrypoint binary is not in the
/// image (the task cannot be created/started); FLAKY, which exits 3 after a second.
fn images(names: &[&str]) -> Vec<ImageSpec> {
    [
        ImageSpec::app(V1, "1"),
        ImageSpec::app(V2, "2"),
        ImageSpec::app(BROKEN, "broken").entrypoint(&["/sbin/not-there"]),
        ImageSpec::app(FLAKY, "flaky").cmd(&["/bin/sh", "-c", "echo flaky up; sleep 1; exit 3"]),
    ]
    .into_iter()
    .filter(|i| names.contains(&i.name.as_str()))
    .collect()
}

/// A running container `id` from image 1 with a file in its own rootfs (/marker) and one
/// in its volume; the record as it was.
fn running(rig: &Rig, id: &str) -> Value {
    rig.start(&rig.container(V1, id));
    rig.wait_log(id, "app 1 up", 1);
    rig.exec(
        id,
        &["sh", "-c", "echo kept > /marker; echo data > /data/file"],
    );
    rig.info(id)
}

/// The upgrade failed and says the container is as it was.
fn assert_failed(out: &crate::harness::Outcome, why: &str) {
    assert_eq!(
        out.code(),
        Some(1),
        "the upgrade should fail (exit 1)\n{out}"
    );
    assert!(out.stderr.contains(why), "stderr should say {why:?}\n{out}");
}

/// The container has its old record, runs image 1 again (restarted: `starts` "app 1 up"
/// lines in its log, the same stdio) on its old rootfs, and nothing is left over.
fn assert_rolled_back(rig: &Rig, id: &str, before: &Value, starts: usize) {
    let info = rig.info(id);
    for field in [
        "Image",
        "SnapshotKey",
        "Snapshotter",
        "Spec",
        "Labels",
        "Runtime",
    ] {
        assert_eq!(
            info[field], before[field],
            "{id}'s {field} is not what it was before the upgrade\n{info:#}"
        );
    }
    rig.assert_runs(id, rig.image(V1));
    assert_eq!(
        rig.text_inside(id, "/marker").as_deref(),
        Some("kept\n"),
        "the old rootfs"
    );
    assert_eq!(
        rig.text_inside(id, "/data/file").as_deref(),
        Some("data\n"),
        "the volume"
    );
    rig.wait_log(id, "app 1 up", starts);
    rig.assert_no_journal(id);
    let status = rig.status_json(id);
    assert_eq!(status["image"], V1, "{status}");
    assert_eq!(status["task"], "running", "{status}");
    rig.assert_nothing_leaked();
}

#[test]
fn refusals_change_nothing() {
    let rig = Rig::new(&images(&[V1, V2]));
    let before = running(&rig, "web");
    let pid = rig.ctd.task("web").map(|t| t.pid);
    rig.start(
        &rig.container(V1, "kube")
            .label("io.cri-containerd.kind=container"),
    );
    let kube_before = rig.info("kube");

    let same = rig.upgrade("web", V1, &[]);
    assert_failed(&same, "image not changed");
    let missing = rig.upgrade("web", "rich-init-it/app:missing", &[]);
    assert_failed(
        &missing,
        "rich-init-it/app:missing is not in containerd's image store",
    );
    let nobody = rig.upgrade("nobody", V2, &[]);
    assert_failed(&nobody, "container nobody does not exist");
    let cri = rig.upgrade("kube", V2, &[]);
    assert_failed(&cri, "io.cri-containerd.kind");
    assert!(
        cri.stderr.contains("CRI"),
        "the refusal should name the CRI plugin\n{cri}"
    );
    for out in [&same, &missing, &nobody, &cri] {
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "a refusal is one clear line on stderr\n{out}"
        );
    }

    // Not even an update: the records are byte for byte what they were.
    assert_eq!(rig.info("web"), before);
    assert_eq!(rig.info("kube"), kube_before);
    assert_eq!(
        rig.ctd.task("web").map(|t| t.pid),
        pid,
        "the task was touched"
    );
    assert_eq!(
        rig.ctd.task("kube").map(|t| t.status),
        Some("RUNNING".into())
    );
    assert_eq!(rig.ctd.leases(), Vec::<String>::new());
    rig.assert_no_journal("web");
    rig.assert_nothing_leaked();
}

#[test]
fn a_new_task_that_cannot_start_is_rolled_back() {
    let rig = Rig::new(&images(&[V1, BROKEN]));
    let before = running(&rig, "web");
    let old = rig.ctd.task("web").expect("a task");
    let out = rig.upgrade("web", BROKEN, &[]);
    assert_failed(&out, "the container is as it was");
    assert!(
        out.stderr.contains("cannot create the task")
            || out.stderr.contains("cannot start the task"),
        "the error should say the new task did not start\n{out}"
    );
    assert!(out.stderr.contains("not-there"), "and why\n{out}");
    let task = rig.ctd.task("web").expect("a task");
    assert_ne!(
        task.pid, old.pid,
        "the old task was stopped, so it was started again"
    );
    assert_rolled_back(&rig, "web", &before, 2);
}

#[test]
fn the_health_gate_rolls_back_a_task_that_exits_or_fails_its_probe() {
    let rig = Rig::new(&images(&[V1, V2, FLAKY]));
    let before = running(&rig, "web");

    let out = rig.upgrade("web", FLAKY, &["--health-window=3s", "--json"]);
    assert_failed(&out, "the container is as it was");
    assert!(
        out.stderr
            .contains("exited with status 3 within the health window"),
        "{out}"
    );
    let report: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("--json did not print one JSON document: {e}\n{out}"));
    assert_eq!(report["result"], "rolled-back", "{report:#}");
    assert_eq!(report["old_image"], V1, "{report:#}");
    assert_eq!(report["new_image"], FLAKY, "{report:#}");
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("health window")),
        "{report:#}"
    );
    rig.wait_log("web", "flaky up", 1);
    assert_rolled_back(&rig, "web", &before, 2);

    let out = rig.upgrade("web", V2, &["--probe", "test -f /no/such/file"]);
    assert_failed(&out, "the container is as it was");
    assert!(out.stderr.contains("probe"), "{out}");
    rig.wait_log("web", "app 2 up", 1);
    assert_rolled_back(&rig, "web", &before, 3);

    // A probe that passes: the upgrade goes through.
    let out = rig.upgrade(
        "web",
        V2,
        &["--probe", "test \"$(cat /etc/image-version)\" = 2"],
    );
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stderr.contains("passed"), "{out}");
    rig.assert_runs("web", rig.image(V2));
    rig.assert_no_journal("web");
    rig.assert_nothing_leaked();
}

#[test]
fn status_shows_image_task_and_no_pending_upgrade() {
    let rig = Rig::new(&images(&[V1]));
    running(&rig, "web");
    rig.ctd.ctr_ok(["containers", "create", V1, "idle"]);

    let text = rig.status("web");
    assert_eq!(
        text.stdout,
        format!("container: web\nimage: {V1}\ntask: running\npending upgrade: none\n"),
        "{text}"
    );
    let json = rig.status_json("web");
    assert_eq!(
        json,
        serde_json::json!({"container": "web", "image": V1, "task": "running", "journal": null})
    );
    let idle = rig.status_json("idle");
    assert_eq!(idle["task"], "no task", "{idle}");
    assert_eq!(idle["image"], V1, "{idle}");

    let gone = rig.helper().args(["status", "nobody"]).output();
    assert_eq!(gone.code(), Some(1), "{gone}");
    assert!(gone.stderr.contains("nobody"), "{gone}");
    assert_eq!(gone.stdout, "", "{gone}");
}

#[test]
fn recover_without_a_pending_upgrade_changes_nothing_and_says_so() {
    let rig = Rig::new(&images(&[V1]));
    let before = running(&rig, "web");
    let pid = rig.ctd.task("web").map(|t| t.pid);
    let all = rig.recover(&[]);
    assert_eq!(all.code(), Some(0), "{all}");
    assert_eq!(all.stderr, "", "nothing was pending\n{all}");
    let named = rig.recover(&["web"]);
    assert_eq!(named.code(), Some(0), "{named}");
    assert!(
        !named.stderr.contains("rolled back"),
        "nothing was rolled back: web had no pending upgrade\n{named}"
    );
    assert_eq!(rig.info("web"), before);
    assert_eq!(rig.ctd.task("web").map(|t| t.pid), pid);
    // A name that is not a container: an error about that name, not "rollback
    // incomplete" (exit 3), which would send the user to run recover again.
    let nobody = rig.recover(&["nobody"]);
    assert!(nobody.stderr.contains("nobody"), "{nobody}");
    assert_eq!(nobody.code(), Some(1), "{nobody}");
}

#[test]
fn bad_command_lines_exit_2() {
    let rig = Rig::new(&images(&[V1]));
    running(&rig, "web");
    let bad: &[&[&str]] = &[
        &[],
        &["frobnicate"],
        &["upgrade"],
        &["upgrade", "web"],
        &["upgrade", "web", "--image"],
        &["upgrade", "web", "--image", V2, "--health-window", "soon"],
        &["upgrade", "web", "--image", V2, "--stop-timeout", "-1s"],
        &["upgrade", "web", "--image", V2, "--no-such-flag"],
        &["upgrade", "web", "--image", V2, "--env", "NOEQUALS"],
        &["upgrade", "web", "--image", V2, "--label", "=value"],
        &["upgrade", "web", "--image", V2, "--label", "novalue"],
        &["status"],
        &["status", "web", "extra"],
    ];
    for args in bad {
        let out = rig.helper().args(args.iter()).output();
        assert_eq!(out.code(), Some(2), "{args:?} is a usage error\n{out}");
        assert!(
            !out.stderr.trim().is_empty(),
            "{args:?} should say what is wrong\n{out}"
        );
    }
    // None of them touched the container.
    rig.assert_runs("web", rig.image(V1));
    rig.assert_no_journal("web");
    assert_eq!(rig.ctd.leases(), Vec::<String>::new());
}

#[test]
fn bad_command_lines_exit_2_without_a_daemon_too() {
    // A usage error is one whatever the state of containerd: K=V checks included.
    let nowhere = crate::harness::TempDir::new("no-containerd");
    let socket = nowhere.join("containerd.sock");
    for args in [
        ["--env", "NOEQUALS"],
        ["--label", "=value"],
        ["--health-window", "soon"],
    ] {
        let out = crate::harness::Run::new(crate::upgrade_rig::helper_bin())
            .arg("--address")
            .arg(&socket)
            .args(["upgrade", "web", "--image", V2])
            .args(args)
            .output();
        assert_eq!(out.code(), Some(2), "{args:?} is a usage error\n{out}");
    }
}
