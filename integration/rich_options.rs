//! Rich-mode options that change the lifecycle: --on-cmd-exit stay and --stop-cmd last.

use crate::harness::wait_for;
use crate::rich::{init_pid, polite, ready_on_pid, Rig, NS};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[test]
fn on_cmd_exit_stay_keeps_services_until_sigterm() {
    for ns in NS {
        let rig = Rig::new("rich-stay");
        rig.service("svc", &polite("svc", "TERM"), &ready_on_pid(&rig, "svc"));
        let running = rig
            .run(
                ns,
                &["-v", "--on-cmd-exit", "stay"],
                "echo done > \"$D/cmd-done\"; exit 4",
            )
            .spawn();
        // Reaped by rich-init, not only past its last line: a SIGTERM sooner would reach CMD
        // (stopped first), and its code would be 143.
        wait_for("CMD to have exited", || {
            running
                .stderr_so_far()
                .contains("CMD exited with status 4")
                .then_some(())
        });
        // CMD is gone, the service is not, and rich-init is still there.
        kill(Pid::from_raw(init_pid(&running, ns)), Signal::SIGTERM).expect("SIGTERM to rich-init");
        let out = running.wait();
        assert_eq!(
            out.code(),
            Some(4),
            "{ns:?}: CMD's code after the stop\n{out}"
        );
        assert!(
            rig.read("log").contains("stop svc TERM"),
            "{ns:?}: the service ran until the stop: {}",
            rig.read("log")
        );
        assert!(rig.leftovers().is_empty(), "{:?}", rig.leftovers());
    }
}

#[test]
fn stop_cmd_last_stops_services_before_cmd() {
    for ns in NS {
        for (option, first, second) in [
            ("first", "cmd TERM", "stop svc TERM"),
            ("last", "stop svc TERM", "cmd TERM"),
        ] {
            let rig = Rig::new("rich-stop-order");
            rig.service("svc", &polite("svc", "TERM"), &ready_on_pid(&rig, "svc"));
            let script = "trap 'echo \"cmd TERM\" >> \"$D/log\"; exit 0' TERM\necho up > \"$D/cmd-up\"\nwhile :; do sleep 0.05; done";
            let running = rig.run(ns, &["--stop-cmd", option], script).spawn();
            wait_for("CMD to run", || rig.exists("cmd-up").then_some(()));
            kill(Pid::from_raw(init_pid(&running, ns)), Signal::SIGTERM)
                .expect("SIGTERM to rich-init");
            let out = running.wait();
            assert_eq!(out.code(), Some(0), "{ns:?} {option}: {out}");
            let log = rig.read("log");
            let (a, b) = (log.find(first), log.find(second));
            assert!(
                a.is_some() && b.is_some() && a < b,
                "{ns:?} --stop-cmd {option}: {first:?} before {second:?} in:\n{log}"
            );
        }
    }
}
