//! Rich mode: the end of a run. CMD's exit code, services stopped in reverse `after`
//! order with their stop-signal and stop-timeout, what services left behind, stop.d
//! after all that, and SIGTERM/SIGINT to rich-init. `--grace 1h` everywhere: shutdown
//! must end when everything has exited, never by waiting out the grace (a run that does
//! would hit the harness's hard timeout).

use crate::harness::PidNs;
use crate::rich::{check_gone, init_pid, polite, prefixed, ready_on_pid, Rig, NS};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[test]
fn cmd_exit_code_propagates() {
    for ns in NS {
        for (script, want) in [
            ("exit 7", 7),
            ("kill -USR1 $$", 128 + 10),
            ("kill -KILL $$", 128 + 9),
        ] {
            let rig = Rig::new("rich-code");
            rig.service("svc", &polite("svc", "TERM"), &ready_on_pid(&rig, "svc"));
            let out = rig
                .run(
                    ns,
                    &["--grace", "1h"],
                    &format!("wait_file \"$D/svc.pid\"\n{script}"),
                )
                .output();
            assert_eq!(out.code(), Some(want), "{ns:?} {script}: CMD's code\n{out}");
            assert_eq!(
                rig.read("log"),
                "start svc\nstop svc TERM\n",
                "{ns:?}: the service was stopped\n{out}"
            );
            rig.assert_nothing_left(ns, &out);
        }
    }
}

#[test]
fn stop_scripts_run_after_the_services_have_stopped() {
    for ns in NS {
        let rig = Rig::new("rich-stopd");
        rig.service("svc", &polite("svc", "TERM"), &ready_on_pid(&rig, "svc"));
        let check = format!(
            "{}cat \"$D/log\" >> \"$D/stop-saw\"\necho checked\necho \"10-check err\" >&2",
            check_gone(&["svc"])
        );
        rig.script("stop.d/10-check", &check);
        rig.script_mode(
            "stop.d/15-not-executable",
            "echo BAD >> \"$D/stop-saw\"",
            0o644,
        );
        rig.script(
            "stop.d/20-second",
            "echo 20-second >> \"$D/stop-saw\"; echo \"second out\"",
        );
        let out = rig
            .run(
                ns,
                &["--grace", "1h"],
                "wait_file \"$D/svc.pid\"; echo cmd >> \"$D/log\"; exit 0",
            )
            .output();
        assert_eq!(out.code(), Some(0), "{ns:?}\n{out}");
        assert_eq!(
            rig.read("stop-saw"),
            "svc gone\nstart svc\ncmd\nstop svc TERM\n20-second\n",
            "{ns:?}: stop.d ran in name order once the service had exited\n{out}"
        );
        assert_eq!(
            prefixed(&out.stdout, &["10-check", "20-second"]),
            ["[10-check] checked", "[20-second] second out"],
            "{ns:?}: stop.d output, prefixed\n{out}"
        );
        assert_eq!(
            prefixed(&out.stderr, &["10-check"]),
            ["[10-check] 10-check err"],
            "{ns:?}\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}

#[test]
fn services_start_in_after_order_and_stop_in_reverse() {
    for ns in NS {
        let rig = Rig::new("rich-order");
        // Names against the alphabet: only `after` can put them in this order.
        rig.service("zeta", &polite("zeta", "TERM"), &ready_on_pid(&rig, "zeta"));
        let alpha = format!(
            "after = [\"zeta\"]\nstop-signal = \"USR1\"\nstop-timeout = \"1h\"\n{}",
            ready_on_pid(&rig, "alpha")
        );
        rig.service("alpha", &polite("alpha", "USR1"), &alpha);
        let mid = format!("after = [\"alpha\"]\n{}", ready_on_pid(&rig, "mid"));
        rig.service("mid", &polite("mid", "TERM"), &mid);
        rig.script("stop.d/10-mark", "echo stop.d >> \"$D/log\"");
        let out = rig
            .run(ns, &["--grace", "1h"], "echo cmd >> \"$D/log\"; exit 0")
            .output();
        assert_eq!(out.code(), Some(0), "{ns:?}\n{out}");
        assert_eq!(
            rig.read("log"),
            "start zeta\nstart alpha\nstart mid\ncmd\n\
             stop mid TERM\nstop alpha USR1\nstop zeta TERM\nstop.d\n",
            "{ns:?}: each started when the one before was ready, CMD last; stopped in \
             reverse with its own stop-signal, stop.d after\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}

#[test]
fn a_service_that_ignores_its_stop_signal_is_killed_at_its_stop_timeout() {
    for ns in NS {
        let rig = Rig::new("rich-stubborn");
        rig.service("base", &polite("base", "TERM"), &ready_on_pid(&rig, "base"));
        let stubborn = "trap 'echo \"stubborn got TERM\" >> \"$D/log\"' TERM\n\
                        echo \"start stubborn\" >> \"$D/log\"\n\
                        echo $$ > \"$D/stubborn.pid.tmp\"; mv \"$D/stubborn.pid.tmp\" \"$D/stubborn.pid\"\n\
                        while :; do sleep 0.05; done";
        // 2s: far more than the trap needs to log the TERM, far less than the grace.
        let extra = format!(
            "after = [\"base\"]\nstop-timeout = \"2s\"\n{}",
            ready_on_pid(&rig, "stubborn")
        );
        rig.service("stubborn", stubborn, &extra);
        rig.script("stop.d/10-check", &check_gone(&["stubborn", "base"]));
        let out = rig
            .run(ns, &["--grace", "1h"], "echo cmd >> \"$D/log\"; exit 4")
            .output();
        assert_eq!(out.code(), Some(4), "{ns:?}\n{out}");
        assert_eq!(
            rig.read("log"),
            "start base\nstart stubborn\ncmd\nstubborn got TERM\nstop base TERM\n",
            "{ns:?}: stubborn got TERM and, once killed, base was stopped\n{out}"
        );
        assert_eq!(
            rig.read("stop-saw"),
            "stubborn gone\nbase gone\n",
            "{ns:?}: both gone before stop.d\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}

/// A service that leaves a daemon in a session of its own: the service's own stop signal
/// cannot reach it, the sweep after the services must.
#[test]
fn what_a_service_left_behind_is_stopped_too() {
    for ns in NS {
        let rig = Rig::new("rich-leftover");
        let daemon = r#"trap 'echo TERM >> "$D/daemon-got"; exit 0' TERM
echo $$ > "$D/daemon.pid.tmp"; mv "$D/daemon.pid.tmp" "$D/daemon.pid"
while :; do sleep 0.05; done"#;
        rig.script("bin/daemon.sh", daemon);
        let spawner = format!(
            "setsid /bin/sh \"$D/bin/daemon.sh\" </dev/null >/dev/null 2>&1 &\n{}",
            polite("spawner", "TERM")
        );
        rig.service("spawner", &spawner, &ready_on_pid(&rig, "spawner"));
        rig.script("stop.d/10-check", &check_gone(&["daemon", "spawner"]));
        let out = rig
            .run(
                ns,
                &["--grace", "1h"],
                "wait_file \"$D/daemon.pid\"; exit 0",
            )
            .output();
        assert_eq!(out.code(), Some(0), "{ns:?}\n{out}");
        assert_eq!(
            rig.read("daemon-got"),
            "TERM\n",
            "{ns:?}: the daemon got SIGTERM\n{out}"
        );
        assert_eq!(
            rig.read("stop-saw"),
            "daemon gone\nspawner gone\n",
            "{ns:?}: both gone before stop.d\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}

/// CMD logs the signal it gets, then dies of it.
const CMD_DIES_OF_SIGNALS: &str = r#"trap 'echo "cmd TERM" >> "$D/log"; trap - TERM; kill -TERM $$' TERM
trap 'echo "cmd INT" >> "$D/log"; trap - INT; kill -INT $$' INT
echo cmd >> "$D/log"; : > "$D/cmd.up"
while :; do sleep 0.05; done"#;

/// Start two services and CMD, send `sig` to rich-init, return the outcome.
fn signal_rich_init(ns: PidNs, rig: &Rig, sig: Signal) -> crate::harness::Outcome {
    rig.service("a", &polite("a", "TERM"), &ready_on_pid(rig, "a"));
    let b = format!("after = [\"a\"]\n{}", ready_on_pid(rig, "b"));
    rig.service("b", &polite("b", "TERM"), &b);
    rig.script("stop.d/10-mark", "echo stop.d >> \"$D/log\"");
    let mut running = rig.run(ns, &["--grace", "1h"], CMD_DIES_OF_SIGNALS).spawn();
    rig.wait_file(&mut running, "cmd.up");
    let pid = init_pid(&running, ns);
    kill(Pid::from_raw(pid), sig).unwrap_or_else(|e| panic!("cannot send {sig} to rich-init: {e}"));
    running.wait()
}

#[test]
fn sigterm_to_rich_init_stops_everything_and_exits_with_cmds_143() {
    for ns in NS {
        let rig = Rig::new("rich-sigterm");
        let out = signal_rich_init(ns, &rig, Signal::SIGTERM);
        assert_eq!(out.code(), Some(143), "{ns:?}: CMD's 128+15\n{out}");
        assert_eq!(
            rig.read("log"),
            "start a\nstart b\ncmd\ncmd TERM\nstop b TERM\nstop a TERM\nstop.d\n",
            "{ns:?}: CMD first, then the services in reverse, then stop.d\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}

#[test]
fn sigint_to_rich_init_shuts_down_too() {
    for ns in NS {
        let rig = Rig::new("rich-sigint");
        let out = signal_rich_init(ns, &rig, Signal::SIGINT);
        // CMD gets SIGTERM, whichever of the two rich-init got.
        assert_eq!(out.code(), Some(143), "{ns:?}: CMD's 128+15\n{out}");
        assert_eq!(
            rig.read("log"),
            "start a\nstart b\ncmd\ncmd TERM\nstop b TERM\nstop a TERM\nstop.d\n",
            "{ns:?}: CMD first (with SIGTERM), then the services in reverse, then stop.d\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}
