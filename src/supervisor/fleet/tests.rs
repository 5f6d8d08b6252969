//! Step scripts for the fleet: at `t` ms feed an event, expect exactly these actions and
//! then this phase (the style of `service/tests.rs`).

use super::*;
use crate::supervisor::service::{
    Action as S, Event as SE, Note as SN, Phase as ServicePhase, Policy, Readiness, Restart,
};
use std::time::Duration;
use Event::*;

const TERM: i32 = 15;
const KILL: i32 = 9;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config() -> Config {
    Config {
        grace: ms(5000),
        after_kill: ms(2000),
        stop_cmd_first: true,
        cmd_exit_shuts_down: true,
        cmd_after: None,
        remap_to_zero: Vec::new(),
        has_cmd: true,
    }
}

use crate::supervisor::service::tests::CHECK;

/// The service machine's test policy (backoff 100 ms to 1 s, SIGTERM, 5 s stop timeout).
fn policy(ready: Readiness, restart: Restart, critical: bool) -> Policy {
    Policy {
        critical,
        ..crate::supervisor::service::tests::policy(restart, ready)
    }
}

fn member(name: &str, after: &[&str]) -> Member {
    member_with(name, after, Readiness::Immediately)
}

fn member_with(name: &str, after: &[&str], ready: Readiness) -> Member {
    Member {
        name: name.into(),
        after: after.iter().map(|a| (*a).into()).collect(),
        kind: MemberKind::Service(policy(ready, Restart::Always, false)),
    }
}

fn svc(name: &str, event: SE) -> Event {
    Event::Service {
        name: name.into(),
        event,
    }
}

fn act(name: &str, action: S) -> Action {
    Action::Service {
        name: name.into(),
        action,
    }
}

fn spawned(name: &str, pid: i32) -> Event {
    svc(name, SE::Spawned { pid })
}

fn exited(name: &str, raw: i32) -> Event {
    svc(
        name,
        SE::Exited {
            status: WaitStatus::from_raw(raw),
        },
    )
}

fn code(c: u8) -> WaitStatus {
    WaitStatus::exited(c)
}

type Step = (u64, Event, Vec<Action>, Phase);

fn run(fleet: &mut Fleet, t0: Instant, steps: Vec<Step>) {
    for (i, (at, event, want, phase)) in steps.into_iter().enumerate() {
        let label = format!("step {i}: {event:?} at {at}ms");
        let got = fleet.handle(event, t0 + ms(at));
        assert_eq!(got, want, "{label}");
        assert_eq!(fleet.phase(), phase, "{label}: phase");
    }
}

fn fleet(config: Config, members: Vec<Member>, scripts: usize) -> (Fleet, Instant) {
    let t0 = Instant::now();
    (Fleet::new(config, members, scripts, t0), t0)
}

/// The last service `name` exits at `at`: then the leftovers and no stop scripts.
fn last_stops(at: u64, name: &str) -> Vec<Step> {
    let mut steps = vec![(
        at,
        exited(name, TERM),
        vec![act(name, S::Stopped), Action::Sweep],
        Phase::Stopping,
    )];
    steps.extend(sweep_and_end(at + 1));
    steps
}

/// The tail of every shutdown after the services: leftovers, then no stop scripts.
fn sweep_and_end(at: u64) -> Vec<Step> {
    vec![
        (at, Swept, vec![Action::ListStopScripts], Phase::Stopping),
        (at, StopScriptsListed { count: 0 }, vec![], Phase::Done),
    ]
}

#[test]
fn boot_runs_scripts_then_independent_services_together_then_cmd() {
    // a and b are independent; c waits for a; CMD waits for all.
    let members = vec![member("a", &[]), member("b", &[]), member("c", &["a"])];
    let (mut f, t0) = fleet(config(), members, 2);
    run(
        &mut f,
        t0,
        vec![
            (0, Boot, vec![Action::RunInitScript(0)], Phase::Boot),
            (1, ScriptSpawned { pid: 10 }, vec![], Phase::Boot),
            (
                2,
                ScriptExited {
                    pid: 10,
                    status: code(0),
                },
                vec![Action::RunInitScript(1)],
                Phase::Boot,
            ),
            (3, ScriptSpawned { pid: 11 }, vec![], Phase::Boot),
            (
                4,
                ScriptExited {
                    pid: 11,
                    status: code(0),
                },
                vec![act("a", S::Spawn), act("b", S::Spawn)],
                Phase::Boot,
            ),
            (
                5,
                spawned("a", 20),
                vec![act("a", S::BecameReady), act("c", S::Spawn)],
                Phase::Boot,
            ),
            (
                6,
                spawned("b", 21),
                vec![act("b", S::BecameReady)],
                Phase::Boot,
            ),
            (
                7,
                spawned("c", 22),
                vec![act("c", S::BecameReady), Action::StartCmd],
                Phase::Running,
            ),
            (8, CmdSpawned { pid: 30 }, vec![], Phase::Running),
        ],
    );
    assert_eq!(f.cmd_pid(), Some(30));
    assert_eq!(f.exit_code(), None);
}

#[test]
fn readiness_waits_hold_back_dependents_and_cmd_only() {
    // a is ready once its check passes; c waits for a; CMD waits for a only, so b's
    // slow start does not hold it back.
    let members = vec![
        member_with("a", &[], CHECK),
        member_with("b", &[], CHECK),
        member("c", &["a"]),
    ];
    let mut cfg = config();
    cfg.cmd_after = Some(vec!["a".into()]);
    let (mut f, t0) = fleet(cfg, members, 0);
    run(
        &mut f,
        t0,
        vec![
            (
                0,
                Boot,
                vec![act("a", S::Spawn), act("b", S::Spawn)],
                Phase::Boot,
            ),
            (
                0,
                spawned("a", 20),
                vec![act("a", S::RunReadyCheck)],
                Phase::Boot,
            ),
            (
                0,
                spawned("b", 21),
                vec![act("b", S::RunReadyCheck)],
                Phase::Boot,
            ),
            (50, svc("a", SE::ReadyCheckFailed), vec![], Phase::Boot),
            (100, svc("b", SE::ReadyCheckFailed), vec![], Phase::Boot),
            (149, Timer, vec![], Phase::Boot),
            (150, Timer, vec![act("a", S::RunReadyCheck)], Phase::Boot),
            (
                160,
                svc("a", SE::ReadyCheckPassed),
                vec![
                    act("a", S::BecameReady),
                    act("c", S::Spawn),
                    Action::StartCmd,
                ],
                Phase::Running,
            ),
            (161, CmdSpawned { pid: 30 }, vec![], Phase::Running),
            (
                162,
                spawned("c", 22),
                vec![act("c", S::BecameReady)],
                Phase::Running,
            ),
        ],
    );
    // b is still starting: its check is due 100 ms after its failure.
    assert_eq!(
        f.service("b").map(|s| s.phase()),
        Some(ServicePhase::Starting)
    );
    assert_eq!(f.next_deadline(), Some(t0 + ms(200)));
}

#[test]
fn a_dependency_that_gives_up_starting_does_not_hold_its_dependents() {
    let members = vec![member_with("a", &[], CHECK), member("c", &["a"])];
    let (mut f, t0) = fleet(config(), members, 0);
    let timeout = S::Log(SN::ReadyTimeout { after: ms(1000) });
    run(
        &mut f,
        t0,
        vec![
            (0, Boot, vec![act("a", S::Spawn)], Phase::Boot),
            (
                0,
                spawned("a", 20),
                vec![act("a", S::RunReadyCheck)],
                Phase::Boot,
            ),
            (10, svc("a", SE::ReadyCheckFailed), vec![], Phase::Boot),
            // Killed for not becoming ready: it has given up starting, so c starts.
            (
                1000,
                Timer,
                vec![act("a", S::Kill), act("a", timeout), act("c", S::Spawn)],
                Phase::Boot,
            ),
            (
                1001,
                exited("a", KILL),
                vec![act("a", S::Log(SN::Restarting { delay: ms(100) }))],
                Phase::Boot,
            ),
            (
                1002,
                spawned("c", 21),
                vec![act("c", S::BecameReady), Action::StartCmd],
                Phase::Running,
            ),
        ],
    );
}

/// Boot a, b (independent), c after a and b, d after c; CMD running as pid 30.
fn running_diamond(cfg: Config) -> (Fleet, Instant) {
    let members = vec![
        member("a", &[]),
        member("b", &[]),
        member("c", &["a", "b"]),
        member("d", &["c"]),
    ];
    let (mut f, t0) = fleet(cfg, members, 0);
    for (name, pid) in [("a", 20), ("b", 21), ("c", 22), ("d", 23)] {
        f.handle(Boot, t0);
        f.handle(spawned(name, pid), t0);
    }
    f.handle(CmdSpawned { pid: 30 }, t0);
    assert_eq!(f.phase(), Phase::Running);
    (f, t0)
}

#[test]
fn stop_goes_cmd_first_then_services_in_reverse_order_independent_ones_together() {
    let (mut f, t0) = running_diamond(config());
    let term = |n: &str| act(n, S::Signal(TERM));
    let stopped = |n: &str| act(n, S::Stopped);
    let mut steps = vec![
        (
            0,
            StopSignal { signal: TERM },
            vec![
                Action::Log(Note::ShuttingDown { signal: TERM }),
                Action::StopCmd,
            ],
            Phase::Stopping,
        ),
        // A second stop signal says nothing and changes nothing.
        (1, StopSignal { signal: 2 }, vec![], Phase::Stopping),
        (
            2,
            CmdExited {
                status: WaitStatus::killed(TERM),
            },
            vec![term("d")],
            Phase::Stopping,
        ),
        (
            3,
            exited("d", TERM),
            vec![stopped("d"), term("c")],
            Phase::Stopping,
        ),
        (
            4,
            exited("c", TERM),
            vec![stopped("c"), term("b"), term("a")],
            Phase::Stopping,
        ),
        (5, exited("a", TERM), vec![stopped("a")], Phase::Stopping),
        (
            6,
            exited("b", TERM),
            vec![stopped("b"), Action::Sweep],
            Phase::Stopping,
        ),
    ];
    steps.extend(sweep_and_end(7));
    run(&mut f, t0, steps);
    assert_eq!(
        f.exit_reason(),
        Some(ExitReason::Cmd(WaitStatus::killed(TERM)))
    );
    assert_eq!(f.exit_code(), Some(143));
}

#[test]
fn cmd_last_when_asked_and_sigkill_at_the_grace() {
    let mut cfg = config();
    cfg.stop_cmd_first = false;
    let members = vec![member("a", &[])];
    let (mut f, t0) = fleet(cfg, members, 0);
    f.handle(Boot, t0);
    f.handle(spawned("a", 20), t0);
    f.handle(CmdSpawned { pid: 30 }, t0);
    let mut steps = vec![
        (
            0,
            StopSignal { signal: TERM },
            vec![
                Action::Log(Note::ShuttingDown { signal: TERM }),
                act("a", S::Signal(TERM)),
            ],
            Phase::Stopping,
        ),
        (
            10,
            exited("a", TERM),
            vec![act("a", S::Stopped), Action::StopCmd],
            Phase::Stopping,
        ),
        (5009, Timer, vec![], Phase::Stopping),
        (5010, Timer, vec![Action::KillCmd], Phase::Stopping),
        // Not reaped within after_kill: the shutdown moves on without it.
        (7010, Timer, vec![Action::Sweep], Phase::Stopping),
    ];
    steps.extend(sweep_and_end(7011));
    run(&mut f, t0, steps);
    assert_eq!(
        f.exit_reason(),
        Some(ExitReason::StoppedBeforeCmd { signal: TERM })
    );
}

#[test]
fn a_critical_failure_stops_everything_and_exits_80() {
    let mut crit = member("a", &[]);
    crit.kind = MemberKind::Service(policy(Readiness::Immediately, Restart::Never, true));
    let (mut f, t0) = fleet(config(), vec![crit, member("b", &[])], 0);
    f.handle(Boot, t0);
    f.handle(spawned("a", 20), t0);
    f.handle(spawned("b", 21), t0);
    f.handle(CmdSpawned { pid: 30 }, t0);
    let why = SN::Exited {
        status: code(2),
        ready: true,
    };
    let mut steps = vec![
        (
            100,
            exited("a", 2 << 8),
            vec![
                Action::ServiceFailed {
                    name: "a".into(),
                    why: Some(why),
                    critical: true,
                },
                Action::StopCmd,
            ],
            Phase::Stopping,
        ),
        (
            101,
            CmdExited { status: code(0) },
            vec![act("b", S::Signal(TERM))],
            Phase::Stopping,
        ),
    ];
    steps.extend(last_stops(102, "b"));
    run(&mut f, t0, steps);
    assert_eq!(f.exit_code(), Some(EXIT_CRITICAL));
}

#[test]
fn a_stop_during_an_init_script_stops_it_and_exits_128_plus_the_signal() {
    let (mut f, t0) = fleet(config(), vec![member("a", &[])], 2);
    run(
        &mut f,
        t0,
        vec![
            (0, Boot, vec![Action::RunInitScript(0)], Phase::Boot),
            (1, ScriptSpawned { pid: 10 }, vec![], Phase::Boot),
            (
                2,
                StopSignal { signal: TERM },
                vec![
                    Action::Log(Note::ShuttingDown { signal: TERM }),
                    Action::SignalScript {
                        pid: 10,
                        signal: TERM,
                    },
                ],
                Phase::Boot,
            ),
            // It ignores SIGTERM: SIGKILL at the grace, once.
            (
                5002,
                Timer,
                vec![Action::SignalScript {
                    pid: 10,
                    signal: KILL,
                }],
                Phase::Boot,
            ),
            (5003, Timer, vec![], Phase::Boot),
            // Its status does not matter; the second script never runs; stop scripts do.
            (
                5004,
                ScriptExited {
                    pid: 10,
                    status: WaitStatus::killed(KILL),
                },
                vec![Action::Sweep],
                Phase::Stopping,
            ),
            (5005, Swept, vec![Action::ListStopScripts], Phase::Stopping),
            (
                5006,
                StopScriptsListed { count: 1 },
                vec![Action::RunStopScript(0)],
                Phase::Stopping,
            ),
            (5007, ScriptSpawned { pid: 11 }, vec![], Phase::Stopping),
            (
                5008,
                ScriptExited {
                    pid: 11,
                    status: code(0),
                },
                vec![],
                Phase::Done,
            ),
        ],
    );
    assert_eq!(f.exit_code(), Some(143));
    assert_eq!(
        f.service("a").map(|s| s.phase()),
        Some(ServicePhase::Stopped)
    );
}

#[test]
fn a_stop_while_services_come_up_stops_them_and_never_starts_cmd() {
    let members = vec![member_with("a", &[], CHECK), member("c", &["a"])];
    let (mut f, t0) = fleet(config(), members, 0);
    f.handle(Boot, t0);
    f.handle(spawned("a", 20), t0);
    let mut steps = vec![(
        50,
        StopSignal { signal: 2 },
        vec![
            Action::Log(Note::ShuttingDown { signal: 2 }),
            act("a", S::CancelReadyCheck),
            act("a", S::Signal(TERM)),
        ],
        Phase::Stopping,
    )];
    steps.extend(last_stops(60, "a"));
    run(&mut f, t0, steps);
    assert_eq!(f.exit_code(), Some(130));
    assert_eq!(
        f.service("c").map(|s| s.phase()),
        Some(ServicePhase::Stopped)
    );
}

#[test]
fn a_failed_init_script_sweeps_and_exits_79_without_stop_scripts() {
    let (mut f, t0) = fleet(config(), vec![member("a", &[])], 2);
    run(
        &mut f,
        t0,
        vec![
            (0, Boot, vec![Action::RunInitScript(0)], Phase::Boot),
            (1, ScriptSpawned { pid: 10 }, vec![], Phase::Boot),
            (
                2,
                ScriptExited {
                    pid: 10,
                    status: code(3),
                },
                vec![
                    Action::Log(Note::InitScriptFailed {
                        index: 0,
                        status: code(3),
                    }),
                    Action::Sweep,
                ],
                Phase::Stopping,
            ),
            (3, Swept, vec![], Phase::Done),
        ],
    );
    assert_eq!(f.exit_reason(), Some(ExitReason::InitScriptFailed));
    assert_eq!(f.exit_code(), Some(EXIT_INIT_SCRIPT));
    // An init script that cannot be started fails the same way.
    let (mut f, t0) = fleet(config(), vec![], 1);
    f.handle(Boot, t0);
    let got = f.handle(ScriptSpawnFailed, t0);
    assert_eq!(
        got,
        [
            Action::Log(Note::InitScriptFailed {
                index: 0,
                status: code(1)
            }),
            Action::Sweep
        ]
    );
}

#[test]
fn ctl_shutdown_with_a_code_wins_over_cmd() {
    // (code asked for, CMD's exit code, exit reason)
    let cases = [
        (Some(3), 0, ExitReason::Requested(3)),
        (None, 4, ExitReason::Cmd(code(4))),
    ];
    for (asked, cmd, reason) in cases {
        let (mut f, t0) = running_diamond(config());
        f.handle(Shutdown { code: asked }, t0);
        f.handle(CmdExited { status: code(cmd) }, t0);
        for name in ["d", "c", "a", "b"] {
            f.handle(exited(name, TERM), t0);
        }
        f.handle(Swept, t0);
        f.handle(StopScriptsListed { count: 0 }, t0);
        assert_eq!(f.exit_reason(), Some(reason), "ctl shutdown {asked:?}");
    }
}

#[test]
fn cmd_exit_keeps_services_when_asked() {
    let mut cfg = config();
    cfg.cmd_exit_shuts_down = false;
    cfg.remap_to_zero = vec![5];
    let (mut f, t0) = fleet(cfg, vec![member("a", &[])], 0);
    f.handle(Boot, t0);
    f.handle(spawned("a", 20), t0);
    f.handle(CmdSpawned { pid: 30 }, t0);
    let mut steps = vec![
        (10, CmdExited { status: code(5) }, vec![], Phase::Running),
        (
            20,
            StopSignal { signal: TERM },
            vec![
                Action::Log(Note::ShuttingDown { signal: TERM }),
                act("a", S::Signal(TERM)),
            ],
            Phase::Stopping,
        ),
    ];
    steps.extend(last_stops(30, "a"));
    run(&mut f, t0, steps);
    assert_eq!(f.exit_code(), Some(0), "5 is remapped to 0");
}

#[test]
fn cmd_that_cannot_be_forked_stops_the_services_and_exits_1() {
    let (mut f, t0) = fleet(config(), vec![member("a", &[])], 0);
    f.handle(Boot, t0);
    assert_eq!(
        f.handle(spawned("a", 20), t0),
        [act("a", S::BecameReady), Action::StartCmd]
    );
    assert_eq!(f.handle(CmdSpawnFailed, t0), [act("a", S::Signal(TERM))]);
    f.handle(exited("a", TERM), t0);
    f.handle(Swept, t0);
    f.handle(StopScriptsListed { count: 0 }, t0);
    assert_eq!(f.exit_code(), Some(EXIT_CMD_NOT_STARTED));
}

#[test]
fn stop_scripts_run_one_at_a_time_and_a_stop_signal_ends_them() {
    let (mut f, t0) = fleet(config(), vec![], 0);
    f.handle(Boot, t0);
    f.handle(CmdSpawned { pid: 30 }, t0);
    f.handle(CmdExited { status: code(0) }, t0);
    assert_eq!(f.phase(), Phase::Stopping);
    let stop = |pid, signal| Action::SignalScript { pid, signal };
    run(
        &mut f,
        t0,
        vec![
            (0, Swept, vec![Action::ListStopScripts], Phase::Stopping),
            (
                0,
                StopScriptsListed { count: 3 },
                vec![Action::RunStopScript(0)],
                Phase::Stopping,
            ),
            (1, ScriptSpawned { pid: 40 }, vec![], Phase::Stopping),
            (
                2,
                ScriptExited {
                    pid: 40,
                    status: code(2),
                },
                vec![
                    Action::Log(Note::StopScriptFailed {
                        index: 0,
                        status: code(2),
                    }),
                    Action::RunStopScript(1),
                ],
                Phase::Stopping,
            ),
            (3, ScriptSpawned { pid: 41 }, vec![], Phase::Stopping),
            (
                4,
                StopSignal { signal: TERM },
                vec![
                    Action::Log(Note::ShuttingDown { signal: TERM }),
                    stop(41, TERM),
                ],
                Phase::Stopping,
            ),
            (
                5,
                ScriptExited {
                    pid: 41,
                    status: WaitStatus::killed(TERM),
                },
                vec![],
                Phase::Done,
            ),
        ],
    );
    assert_eq!(f.exit_code(), Some(0));
}

/// `ctl restart` of a service waiting to be restarted spawns it now, and never reports it
/// stopped (which would empty its fd store).
#[test]
fn operator_restart_during_backoff_spawns_without_stopping() {
    let (mut f, t0) = running_diamond(config());
    let got = f.handle(exited("d", KILL), t0 + ms(5));
    assert_eq!(
        got.last(),
        Some(&act("d", S::Log(SN::Restarting { delay: ms(100) }))),
        "d is in backoff"
    );
    let got = f.handle(
        Control {
            name: "d".into(),
            op: Op::Restart,
        },
        t0 + ms(10),
    );
    assert_eq!(got, [act("d", S::Spawn)]);
}

#[test]
fn operators_may_stop_but_not_start_once_stopping() {
    let (mut f, t0) = running_diamond(config());
    assert!(f.accepts(Op::Start) && f.accepts(Op::Restart) && f.accepts(Op::Stop));
    let got = f.handle(
        Control {
            name: "d".into(),
            op: Op::Restart,
        },
        t0,
    );
    assert_eq!(got, [act("d", S::Signal(TERM))]);
    f.handle(Shutdown { code: None }, t0);
    assert!(!f.accepts(Op::Start) && !f.accepts(Op::Restart) && f.accepts(Op::Stop));
    let got = f.handle(
        Control {
            name: "a".into(),
            op: Op::Start,
        },
        t0,
    );
    assert_eq!(got, []);
}

#[test]
fn twenty_services_ready_after_one_second_each_are_all_ready_after_one_second() {
    let members: Vec<Member> = (0..20)
        .map(|i| member_with(&format!("s{i:02}"), &[], CHECK))
        .collect();
    let (mut f, t0) = fleet(config(), members, 0);
    let boot = f.handle(Boot, t0);
    assert_eq!(boot.len(), 20, "all 20 are spawned at once: {boot:?}");
    for i in 0..20 {
        f.handle(spawned(&format!("s{i:02}"), 100 + i), t0);
    }
    let mut last = Vec::new();
    for i in 0..20 {
        last = f.handle(
            svc(&format!("s{i:02}"), SE::ReadyCheckPassed),
            t0 + ms(1000),
        );
    }
    assert_eq!(last, [act("s19", S::BecameReady), Action::StartCmd]);
    assert_eq!(f.phase(), Phase::Running);
}

#[test]
fn exit_reasons_and_their_codes() {
    // (reason, remap_to_zero, code)
    let cases: &[(ExitReason, &[u8], i32)] = &[
        (ExitReason::InitScriptFailed, &[79], 79),
        (ExitReason::CriticalFailed, &[80], 80),
        (ExitReason::Requested(7), &[7], 7),
        (ExitReason::CmdNotStarted, &[], 1),
        (ExitReason::Cmd(code(3)), &[], 3),
        (ExitReason::Cmd(code(3)), &[3], 0),
        (ExitReason::Cmd(WaitStatus::killed(9)), &[], 137),
        (ExitReason::StoppedBeforeCmd { signal: 15 }, &[], 143),
        (ExitReason::StoppedBeforeCmd { signal: 15 }, &[143], 0),
        (ExitReason::Clean, &[], 0),
    ];
    for (reason, remap, want) in cases {
        assert_eq!(reason.exit_code(remap), *want, "{reason:?} remap {remap:?}");
    }
}

#[test]
fn only_the_running_scripts_exit_counts() {
    let (mut f, t0) = fleet(config(), vec![], 1);
    f.handle(Boot, t0);
    f.handle(ScriptSpawned { pid: 10 }, t0);
    let stale = ScriptExited {
        pid: 99,
        status: code(3),
    };
    assert_eq!(f.handle(stale, t0), []);
    assert_eq!(f.phase(), Phase::Boot);
    let done = ScriptExited {
        pid: 10,
        status: code(0),
    };
    assert_eq!(f.handle(done, t0), [Action::StartCmd]);
}

#[test]
fn an_early_ctl_stop_does_not_keep_the_boot_from_starting_a_service() {
    // c waits for a; an operator stops c before the boot has reached it.
    let members = vec![member_with("a", &[], CHECK), member("c", &["a"])];
    let (mut f, t0) = fleet(config(), members, 0);
    f.handle(Boot, t0);
    f.handle(spawned("a", 20), t0);
    let stop = Control {
        name: "c".into(),
        op: Op::Stop,
    };
    assert_eq!(f.handle(stop, t0), []);
    let got = f.handle(svc("a", SE::ReadyCheckPassed), t0);
    assert_eq!(got, [act("a", S::BecameReady), act("c", S::Spawn)]);
}
