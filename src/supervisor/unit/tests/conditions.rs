//! Condition…= and Assert…= (systemd.unit(5), "Conditions and Asserts"): checked when the
//! start runs, before ExecCondition=; unmet, the start is skipped and the unit stays
//! inactive; a failed assertion fails the start job, and the unit stays inactive too.

use super::*;

fn with_conditions() -> Spec {
    Spec {
        has_conditions: true,
        ..spec(ServiceType::Simple)
    }
}

fn checked(met: bool, asserted: bool) -> Event {
    Event::ConditionsChecked { met, asserted }
}

#[test]
fn conditions_are_checked_first_and_the_start_goes_on_when_they_hold() {
    run(
        with_conditions(),
        &[
            (
                0,
                Event::Start,
                vec![Action::CheckConditions],
                (A::Activating, S::Condition),
            ),
            (
                1,
                checked(true, true),
                vec![spawn(ExecKind::Start, 0)],
                (A::Activating, S::Start),
            ),
            (
                2,
                Event::Spawned { pid: 10 },
                vec![Action::BecameActive],
                (A::Active, S::Running),
            ),
        ],
    );
}

#[test]
fn an_unmet_condition_skips_the_start_without_failing() {
    let (u, _) = run(
        with_conditions(),
        &[
            (
                0,
                Event::Start,
                vec![Action::CheckConditions],
                (A::Activating, S::Condition),
            ),
            (
                1,
                checked(false, true),
                vec![Action::Log(Note::ConditionUnmet), Action::Stopped],
                (A::Inactive, S::Dead),
            ),
        ],
    );
    assert_eq!(u.result(), UnitResult::Success);
}

#[test]
fn a_failed_assertion_leaves_the_unit_inactive() {
    run(
        with_conditions(),
        &[
            (
                0,
                Event::Start,
                vec![Action::CheckConditions],
                (A::Activating, S::Condition),
            ),
            (
                1,
                checked(true, false),
                vec![Action::Log(Note::AssertFailed), Action::Stopped],
                (A::Inactive, S::Dead),
            ),
        ],
    );
}

#[test]
fn a_late_answer_is_ignored() {
    run(
        spec(ServiceType::Simple),
        &[(0, checked(true, true), vec![], (A::Inactive, S::Dead))],
    );
}
