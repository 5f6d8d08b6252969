//! Table tests of the job messages and exit codes.

use super::*;
use crate::control::KillWhom;

/// (verb, unit, result, its service's Result=, the message and exit code wanted).
type FailureCase<'a> = (
    JobVerb,
    &'a str,
    JobResult,
    Option<&'a str>,
    Option<(Option<&'a str>, i32)>,
);
/// (units, states that count, exit code otherwise, quiet, text, exit code).
type StateCase<'a> = (Vec<UnitInfo>, &'a [&'a str], i32, bool, &'a str, i32);

#[test]
fn job_failures() {
    let kill = JobVerb::Kill {
        signal: 15,
        whom: KillWhom::All,
    };
    let nl = |s: &str| JobResult::NotLoaded {
        load_state: s.into(),
    };
    let cases: Vec<FailureCase> = vec![
        (JobVerb::Start, "a.service", JobResult::Done, None, None),
        (JobVerb::Start, "a.service", JobResult::Skipped, None, None),
        (JobVerb::Start, "foo.service", JobResult::NotFound, None, Some((Some("Failed to start foo.service: Unit foo.service not found."), 5))),
        (JobVerb::Restart, "foo.service", JobResult::NotFound, None, Some((Some("Failed to restart foo.service: Unit foo.service not found."), 5))),
        (JobVerb::Stop, "foo.service", JobResult::NotFound, None, Some((Some("Failed to stop foo.service: Unit foo.service not loaded."), 5))),
        (kill, "foo.service", JobResult::NotFound, None, Some((Some("Failed to kill unit foo.service: Unit foo.service not loaded."), 1))),
        (JobVerb::ResetFailed, "foo.service", JobResult::NotFound, None, Some((Some("Failed to reset failed state of unit foo.service: Unit foo.service not loaded."), 1))),
        (JobVerb::Start, "m.service", JobResult::Masked, None, Some((Some("Failed to start m.service: Unit m.service is masked."), 1))),
        (JobVerb::Start, "b.service", nl("bad-setting"), None, Some((Some("Failed to start b.service: Unit b.service has a bad unit file setting."), 1))),
        (JobVerb::Start, "e.service", nl("error"), None, Some((Some("Failed to start e.service: Unit e.service failed to load properly, please adjust/correct and reload service manager."), 6))),
        (JobVerb::Reload, "r.service", JobResult::NoReload, None, Some((Some("Failed to reload r.service: Job type reload is not applicable for unit r.service."), 3))),
        (JobVerb::Start, "a.service", JobResult::Canceled, None, Some((Some("Job for a.service canceled."), 1))),
        (JobVerb::Start, "a.service", JobResult::Timeout, None, Some((Some("Job for a.service timed out."), 1))),
        (JobVerb::Start, "a.service", JobResult::Dependency, None, Some((Some("A dependency job for a.service failed. See 'journalctl -xe' for details."), 1))),
        (JobVerb::Start, "nginx.service", JobResult::Failed, Some("exit-code"), Some((Some("Job for nginx.service failed because the control process exited with error code.\nSee \"systemctl status nginx.service\" and \"journalctl -xeu nginx.service\" for details."), 1))),
        (JobVerb::Restart, "nginx.service", JobResult::Failed, Some("timeout"), Some((Some("Job for nginx.service failed because a timeout was exceeded.\nSee \"systemctl status nginx.service\" and \"journalctl -xeu nginx.service\" for details."), 1))),
        (JobVerb::Start, "x.service", JobResult::Failed, Some("start-limit-hit"), Some((Some("Job for x.service failed.\nSee \"systemctl status x.service\" and \"journalctl -xeu x.service\" for details."), 1))),
        (JobVerb::Start, "x.service", JobResult::Failed, None, Some((Some("Job for x.service failed.\nSee \"systemctl status x.service\" and \"journalctl -xeu x.service\" for details."), 1))),
        (JobVerb::Start, "x.mount", JobResult::Failed, None, Some((Some("Job failed. See \"journalctl -xe\" for details."), 1))),
    ];
    for (verb, unit, result, service_result, want) in cases {
        let outcome = JobOutcome::new(unit, result);
        let got = failure(verb, &outcome, service_result, false);
        let got = got.as_ref().map(|(m, c)| (m.as_deref(), *c));
        assert_eq!(got, want, "{verb:?} {outcome:?}");
    }
    let failed = JobOutcome::new("x.service", JobResult::Failed);
    assert!(needs_service_result(&failed));
    assert_eq!(
        failure(JobVerb::Start, &failed, None, true),
        Some((None, 1))
    );
    assert!(!needs_service_result(&JobOutcome::new(
        "x.mount",
        JobResult::Failed
    )));
}

#[test]
fn state_checks() {
    let u = |s: &str| UnitInfo {
        active_state: s.into(),
        ..UnitInfo::default()
    };
    let active = ["active", "reloading"];
    let cases: Vec<StateCase> = vec![
        (vec![u("active")], &active, 3, false, "active\n", 0),
        (vec![u("inactive")], &active, 3, false, "inactive\n", 3),
        (
            vec![u("inactive"), u("reloading")],
            &active,
            3,
            false,
            "inactive\nreloading\n",
            0,
        ),
        (vec![u("failed")], &active, 3, true, "", 3),
        (vec![u("failed")], &["failed"], 1, false, "failed\n", 0),
        (vec![u("active")], &["failed"], 1, false, "active\n", 1),
        (vec![u("")], &active, 3, false, "unknown\n", 3),
    ];
    for (units, good, otherwise, quiet, text, code) in cases {
        assert_eq!(
            check_states(&units, good, otherwise, quiet),
            (text.to_string(), code)
        );
    }
    assert_eq!(
        system_running(SystemState::Running, false),
        ("running\n".into(), 0)
    );
    assert_eq!(
        system_running(SystemState::Degraded, false),
        ("degraded\n".into(), 1)
    );
    assert_eq!(
        system_running(SystemState::Starting, true),
        (String::new(), 1)
    );
}
