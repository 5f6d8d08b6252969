//! upgrade-helper removes only the snapshots it may: on rollback, the one its journal
//! says it made, and only if it carries the label it put there, no container names it
//! and no snapshot is its child; after a commit, the old snapshot under the same last two
//! conditions. Each time it leaves one alone it says so in one line. And `recover` leaves
//! an upgrade alone while the process that runs it lives (the owner in its lease).

use crate::containerd::SNAPSHOTTER;
use crate::harness::wait_for;
use crate::upgrade_image::ImageSpec;
use crate::upgrade_rig::{Rig, JOURNAL_LABEL};
use serde_json::Value;

const V1: &str = "rich-init-it/app:1";
const V2: &str = "rich-init-it/app:2";
const LEASE: &str = "rich-init-upgrade-web";

fn rig() -> Rig {
    Rig::new(&[ImageSpec::app(V1, "1"), ImageSpec::app(V2, "2")])
}

fn snapshot_key(rig: &Rig, id: &str) -> String {
    rig.info(id)["SnapshotKey"]
        .as_str()
        .unwrap_or_else(|| panic!("{id} has a snapshot key"))
        .to_string()
}

/// `ctr snapshots info KEY` as JSON; None when there is no such snapshot.
fn snapshot(rig: &Rig, key: &str) -> Option<Value> {
    let out = rig
        .ctd
        .ctr(["snapshots", "--snapshotter", SNAPSHOTTER, "info", key]);
    (out.code() == Some(0)).then(|| {
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("snapshots info is not JSON ({e})\n{out}"))
    })
}

/// Crash an upgrade of web at `fault`, then change its journal with `edit`.
fn crash_and_edit(rig: &Rig, fault: &str, edit: impl FnOnce(&mut Value)) {
    let out = rig.upgrade_with_fault("web", V2, fault);
    assert_eq!(
        out.signal(),
        Some(9),
        "the helper crashed at {fault}\n{out}"
    );
    let text = rig.info("web")["Labels"][JOURNAL_LABEL]
        .as_str()
        .unwrap_or_else(|| panic!("the crash at {fault} left a journal\n{out}"))
        .to_string();
    let mut journal: Value = serde_json::from_str(&text).expect("the journal is JSON");
    edit(&mut journal);
    rig.ctd.ctr_ok([
        "containers".to_string(),
        "label".into(),
        "web".into(),
        format!("{JOURNAL_LABEL}={journal}"),
    ]);
}

/// `recover web` settles it (exit 0) and says `line` about the snapshot it leaves.
fn recover_leaves(rig: &Rig, line: &str) {
    let out = rig.recover(&["web"]);
    assert_eq!(out.code(), Some(0), "recover\n{out}");
    assert!(
        out.stderr.lines().any(|l| l == line),
        "recover says {line:?}\n{out}"
    );
    rig.assert_no_journal("web");
}

#[test]
fn recover_never_removes_a_snapshot_that_something_else_refers_to() {
    let rig = rig();
    rig.start(&rig.container(V1, "web"));
    let bystander = rig.start(&rig.container(V1, "bystander"));
    rig.wait_log("bystander", "app 1 up", 1);
    let theirs = snapshot_key(&rig, "bystander");
    let chain_top = snapshot(&rig, &theirs).expect("bystander's snapshot")["Parent"]
        .as_str()
        .expect("it has a parent")
        .to_string();

    // 1. A journal whose new snapshot is the bystander's: not one the helper made.
    crash_and_edit(&rig, "kill@stop", |j| {
        j["new_snapshot"] = theirs.as_str().into()
    });
    recover_leaves(
        &rig,
        &format!("upgrade-helper: rollback: snapshot {theirs} is left alone: upgrade-helper did not make it for web (no label io.rich-init.upgrade.for=web)"),
    );
    // 2. The same, with the helper's label forged onto it: a container uses it.
    rig.ctd.ctr_ok([
        "snapshots",
        "--snapshotter",
        SNAPSHOTTER,
        "label",
        &theirs,
        "io.rich-init.upgrade.for=web",
    ]);
    crash_and_edit(&rig, "kill@stop", |j| {
        j["new_snapshot"] = theirs.as_str().into()
    });
    recover_leaves(
        &rig,
        &format!("upgrade-helper: rollback: snapshot {theirs} is left alone: container bystander uses it"),
    );
    rig.assert_runs("web", rig.image(V1));
    // 3. A committed upgrade whose old snapshot is an image layer: it has children.
    crash_and_edit(&rig, "kill@commit-cleanup", |j| {
        j["old_snapshot"] = chain_top.as_str().into()
    });
    let out = rig.recover(&["web"]);
    assert_eq!(out.code(), Some(0), "recover\n{out}");
    let prefix = format!("upgrade-helper: commit: snapshot {chain_top} is left alone: snapshot ");
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with(&prefix) && l.ends_with(" is its child")),
        "recover says the layer has a child\n{out}"
    );
    rig.assert_no_journal("web");
    rig.assert_runs("web", rig.image(V2));

    // The bystander, its snapshot and the layer are as they were.
    assert!(snapshot(&rig, &theirs).is_some(), "{theirs} is gone");
    assert!(snapshot(&rig, &chain_top).is_some(), "{chain_top} is gone");
    let now = rig.assert_runs("bystander", rig.image(V1));
    assert_eq!(now.pid, bystander.pid, "the bystander's task was touched");
    assert_eq!(snapshot_key(&rig, "bystander"), theirs);
    rig.assert_nothing_leaked();
}

#[test]
fn recover_leaves_an_upgrade_whose_owner_lives_alone() {
    let rig = rig();
    rig.start(&rig.container(V1, "web"));
    rig.wait_log("web", "app 1 up", 1);
    // The probe holds the upgrade at its health gate until the test lets it go.
    let volume = rig.volume("web");
    let upgrade = rig
        .helper()
        .args([
            "upgrade",
            "web",
            "--image",
            V2,
            "--health-window=0s",
            "--probe",
        ])
        .arg("touch /data/probing; while [ ! -e /data/go ]; do sleep 0.05; done")
        .spawn();
    wait_for("the upgrade to reach its probe", || {
        volume.join("probing").exists().then_some(())
    });
    let pid = upgrade.pid();
    let want = format!(
        "upgrade-helper: recover web: its upgrade is still running (pid {pid}); left alone, run recover again once it has ended"
    );
    for names in [&["web"][..], &[]] {
        let out = rig.recover(names);
        assert_eq!(out.code(), Some(1), "recover {names:?}\n{out}");
        assert!(
            out.stderr.lines().any(|l| l == want),
            "recover {names:?} says {want:?}\n{out}"
        );
        assert!(
            !out.stderr.contains("removed lease"),
            "the running upgrade's lease was swept\n{out}"
        );
        assert!(rig.ctd.leases().iter().any(|l| l == LEASE), "{out}");
        assert!(
            rig.info("web")["Labels"][JOURNAL_LABEL].is_string(),
            "the journal is still there\n{out}"
        );
    }
    std::fs::write(volume.join("go"), "").expect("let the probe pass");
    let out = upgrade.wait();
    assert_eq!(
        out.code(),
        Some(0),
        "the upgrade, left alone, finishes\n{out}"
    );
    rig.assert_no_journal("web");
    rig.assert_runs("web", rig.image(V2));
    // Once it has ended, recover has nothing to do.
    let out = rig.recover(&["web"]);
    assert_eq!(out.code(), Some(0), "{out}");
    rig.assert_nothing_leaked();
}
