//! Crash safety of `upgrade-helper` (issue 5): a fault injected at every step
//! (UPGRADE_HELPER_FAULT=fail@STEP, the helper rolls back itself) and a SIGKILL of the
//! helper at every step (kill@STEP, a crash), each followed by `upgrade-helper recover`.
//! Afterwards the container is either fully old (its record exactly as before, the old
//! rootfs, its task running if it ran) or fully new, no journal is left, `status` says no
//! upgrade is pending, and no lease or snapshot is leaked (see upgrade_rig.rs). Before
//! `recover`, a crash after the journal was written shows as a pending upgrade in the
//! phase the journal had reached. The rollback step is reached with fail@health.
//!
//! Needs the helper built with the `fault-injection` feature (`make test`).

use crate::upgrade_image::ImageSpec;
use crate::upgrade_rig::Rig;
use serde_json::Value;

const V1: &str = "rich-init-it/app:1";
const V2: &str = "rich-init-it/app:2";

/// The steps in order; the hand-over's take (at the start of stop), start and health run
/// only for a container whose task ran. (These images do not run rich-init in rich mode:
/// the take itself is skipped, its fault point is not; the give is reached only with
/// descriptors held, in upgrade_listen.rs.)
const STEPS: &[&str] = &[
    "lease",
    "journal",
    "snapshot",
    "handover-take",
    "stop",
    "swap",
    "start",
    "health",
    "commit",
    "commit-cleanup",
];

/// One fault: the UPGRADE_HELPER_FAULT value and the step where it strikes.
struct Case {
    fault: String,
    step: &'static str,
    kill: bool,
}

fn cases(kill: bool, running: bool) -> Vec<Case> {
    let mode = if kill { "kill" } else { "fail" };
    let mut all: Vec<Case> = STEPS
        .iter()
        .filter(|s| running || !matches!(**s, "handover-take" | "start" | "health"))
        .map(|step| Case {
            fault: format!("{mode}@{step}"),
            step,
            kill,
        })
        .collect();
    if running {
        all.push(Case {
            fault: format!("fail@health,{mode}@rollback"),
            step: "rollback",
            kill,
        });
    }
    all
}

impl Case {
    /// The container's id: the fault, spelled for containerd.
    fn id(&self, running: bool) -> String {
        let base = self.fault.replace(['@', ','], "-");
        if running {
            base
        } else {
            format!("stopped-{base}")
        }
    }

    /// Whether the container ends on the new image: only once the commit was written.
    fn ends_new(&self) -> bool {
        self.step == "commit-cleanup"
    }

    /// The journal's phase left for `recover`, if any.
    fn pending(&self) -> Option<&'static str> {
        match (self.kill, self.step) {
            (_, "rollback") => Some("swapped"),
            (false, _) | (true, "lease" | "journal") => None,
            (true, "snapshot" | "handover-take" | "stop" | "swap") => Some("prepared"),
            (true, "start" | "health" | "commit") => Some("swapped"),
            (true, _) => Some("committing"),
        }
    }

    /// Whether the upgrade's lease is still there for `recover`.
    fn lease_left(&self) -> bool {
        match (self.kill, self.step) {
            (_, "rollback") => true,
            (true, step) => step != "lease",
            (false, _) => false,
        }
    }
}

fn rig() -> Rig {
    Rig::new(&[ImageSpec::app(V1, "1"), ImageSpec::app(V2, "2")])
}

/// Container `id` from image 1, with a marker in its own rootfs; running or with no task.
fn container(rig: &Rig, id: &str, running: bool) -> Value {
    rig.start(&rig.container(V1, id));
    rig.wait_log(id, "app 1 up", 1);
    rig.exec(id, &["sh", "-c", "echo kept > /marker"]);
    if !running {
        rig.ctd.ctr_ok(["tasks", "kill", "--signal", "SIGKILL", id]);
        rig.ctd.wait_task_status(id, "STOPPED");
        rig.ctd.ctr_ok(["tasks", "delete", id]);
    }
    rig.info(id)
}

fn run_case(rig: &Rig, case: &Case, running: bool) {
    let id = case.id(running);
    let id = id.as_str();
    let before = container(rig, id, running);
    let out = rig.upgrade_with_fault(id, V2, &case.fault);
    let what = format!(
        "{} on a {} container",
        case.fault,
        if running { "running" } else { "stopped" }
    );
    let at = if case.kill {
        "injected crash (SIGKILL) at step"
    } else {
        "injected fault at step"
    };
    assert!(
        out.stderr.contains(&format!("{at} {}", case.step)),
        "{what}: the fault did not strike (is the helper built with fault-injection?)\n{out}"
    );
    match (case.kill, case.step) {
        (true, _) => assert_eq!(out.signal(), Some(9), "{what}\n{out}"),
        (false, "commit-cleanup") => assert_eq!(
            out.code(),
            Some(0),
            "{what}: past the commit it finishes\n{out}"
        ),
        (false, "rollback") => {
            assert_eq!(
                out.code(),
                Some(3),
                "{what}: the rollback is incomplete\n{out}"
            );
            assert!(
                out.stderr.contains(&format!("upgrade-helper recover {id}")),
                "{what}\n{out}"
            );
        }
        (false, _) => assert_eq!(out.code(), Some(1), "{what}: rolled back\n{out}"),
    }

    // What is left for recover.
    let status = rig.status_json(id);
    match case.pending() {
        None => assert_eq!(status["journal"], Value::Null, "{what}: {status}"),
        Some(phase) => {
            let want = serde_json::json!({"phase": phase, "old_image": V1, "new_image": V2});
            assert_eq!(status["journal"], want, "{what}: {status}");
            let text = rig.status(id);
            assert!(
                text.stdout.contains(&format!(
                    "pending upgrade: {V1} → {V2} (phase {phase}); run `upgrade-helper recover {id}`"
                )),
                "{what}\n{text}"
            );
            let again = rig.upgrade(id, V2, &[]);
            assert_eq!(
                again.code(),
                Some(1),
                "{what}: a second upgrade must wait\n{again}"
            );
            assert!(
                again.stderr.contains("has a pending upgrade"),
                "{what}\n{again}"
            );
        }
    }
    let leases = rig.ctd.leases();
    assert_eq!(
        leases.len(),
        usize::from(case.lease_left()),
        "{what}: leases {leases:?}"
    );

    let rec = rig.recover(&[]);
    assert_eq!(rec.code(), Some(0), "{what}: recover\n{rec}");
    if case.pending().is_some() {
        let end = if case.ends_new() {
            "upgrade finished"
        } else {
            "rolled back"
        };
        assert!(
            rec.stderr.contains(&format!("recovered {id}: {end}")),
            "{what}\n{rec}"
        );
    } else {
        assert!(
            !rec.stderr.contains("recovered"),
            "{what}: nothing to recover\n{rec}"
        );
    }

    // Fully old or fully new.
    let info = rig.info(id);
    if case.ends_new() {
        assert_eq!(info["Image"], V2, "{what}\n{info:#}");
        assert_ne!(info["SnapshotKey"], before["SnapshotKey"], "{what}");
        assert_eq!(
            crate::upgrade_rig::process(&info).0,
            rig.image(V2).spec.args(),
            "{what}"
        );
    } else {
        for field in ["Image", "SnapshotKey", "Spec", "Labels"] {
            assert_eq!(
                info[field], before[field],
                "{what}: {field} is not the old one\n{info:#}"
            );
        }
    }
    if running {
        let image = rig.image(if case.ends_new() { V2 } else { V1 });
        rig.assert_runs(id, image);
        let marker = rig.text_inside(id, "/marker");
        let want = (!case.ends_new()).then(|| "kept\n".to_string());
        assert_eq!(marker, want, "{what}: /marker in the rootfs");
    } else {
        assert!(
            rig.ctd.task(id).is_none(),
            "{what}: a stopped container got a task"
        );
    }
    rig.assert_no_journal(id);
    rig.assert_nothing_leaked();
    rig.remove(id);
}

#[test]
fn fail_at_every_step_then_recover() {
    let rig = rig();
    for case in cases(false, true) {
        run_case(&rig, &case, true);
    }
}

#[test]
fn kill_at_every_step_then_recover() {
    let rig = rig();
    for case in cases(true, true) {
        run_case(&rig, &case, true);
    }
}

#[test]
fn faults_on_a_stopped_container_then_recover() {
    let rig = rig();
    for case in cases(false, false).into_iter().chain(cases(true, false)) {
        run_case(&rig, &case, false);
    }
}
