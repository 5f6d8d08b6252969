//! Rich mode: supervision while CMD runs. A service that dies is started again per its
//! `restart`; a critical service with `restart = "never"` that fails ends the run (80).

use crate::harness::{Outcome, PidNs};
use crate::rich::{polite, prefixed, ready_on_pid, Rig, NS};

/// Records each start's pid as a line of $D/pids; exits 0 on SIGTERM.
const FLAKY: &str = r#"trap 'exit 0' TERM
echo $$ >> "$D/pids"
while :; do sleep 0.05; done"#;

/// CMD kills the service with SIGKILL, waits for its second start, stops it with
/// SIGTERM (a clean exit 0), waits for its third start, and exits 0. Pids come from the
/// service's own record, so this works in a pid namespace as well.
const KILL_IT_TWICE: &str = r#"wait_lines() { while [ "$(cat "$D/pids" 2>/dev/null | wc -l)" -lt "$1" ]; do sleep 0.01; done; }
wait_lines 1; kill -KILL "$(sed -n 1p "$D/pids")"
wait_lines 2; kill -TERM "$(sed -n 2p "$D/pids")"
wait_lines 3; exit 0"#;

#[test]
fn a_dead_service_is_restarted() {
    for ns in NS {
        let rig = Rig::new("rich-restart");
        rig.service(
            "flaky",
            FLAKY,
            "restart = \"always\"\nrestart-delay = \"100ms\"\n",
        );
        let out = rig.run(ns, &["--grace", "1h"], KILL_IT_TWICE).output();
        assert_eq!(out.code(), Some(0), "{ns:?}\n{out}");
        let pids: Vec<String> = rig.read("pids").lines().map(str::to_owned).collect();
        let mut distinct = pids.clone();
        distinct.sort();
        distinct.dedup();
        assert!(
            pids.len() == 3 && distinct.len() == 3,
            "{ns:?}: started three times, after SIGKILL and after exit 0: {pids:?}\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}

/// A critical service with `restart = "never"` that exits 3 once CMD runs, beside
/// another service; CMD logs its SIGTERM.
fn run_critical_failure(ns: PidNs) -> (Rig, Outcome) {
    let rig = Rig::new("rich-critical");
    rig.service(
        "other",
        &polite("other", "TERM"),
        &ready_on_pid(&rig, "other"),
    );
    rig.service(
        "vital-svc",
        "while [ ! -e \"$D/go\" ]; do sleep 0.01; done; exit 3",
        "restart = \"never\"\ncritical = true\n",
    );
    let cmd = r#"trap 'echo "cmd TERM" >> "$D/log"; exit 9' TERM
: > "$D/go"
while :; do sleep 0.05; done"#;
    let out = rig.run(ns, &["--grace", "1h"], cmd).output();
    (rig, out)
}

/// rich-init's stderr lines that name the critical service.
fn naming_vital(out: &Outcome) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| l.contains("vital-svc"))
        .collect()
}

#[test]
fn a_critical_service_that_fails_ends_the_run_with_80() {
    for ns in NS {
        let (rig, out) = run_critical_failure(ns);
        assert_eq!(out.code(), Some(80), "{ns:?}\n{out}");
        assert_eq!(
            rig.read("log"),
            "start other\ncmd TERM\nstop other TERM\n",
            "{ns:?}: a shutdown: CMD, then the other service\n{out}"
        );
        // How many lines is `a_critical_failure_is_one_line`.
        assert!(
            !naming_vital(&out).is_empty(),
            "{ns:?}: a line names the failed service\n{out}"
        );
        assert!(
            prefixed(&out.stdout, &["vital-svc"]).is_empty(),
            "{ns:?}: the service said nothing\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}

#[test]
fn a_critical_failure_is_one_line() {
    let (_rig, out) = run_critical_failure(PidNs::Host);
    let naming = naming_vital(&out);
    assert_eq!(
        naming.len(),
        1,
        "one line names the failed service, not {naming:?}\n{out}"
    );
}

/// `ready = { notify = true }`: CMD starts only after the service sent READY=1 to
/// $NOTIFY_SOCKET (an abstract socket), as sd_notify(3) does.
#[test]
fn sd_notify_readiness() {
    let python = crate::harness::require("python3");
    for ns in NS {
        let rig = Rig::new("rich-notify");
        let notify = r#"import os, socket, time
d = os.environ["D"]
open(d + "/before-ready", "w").close()
addr = os.environ["NOTIFY_SOCKET"]
addr = "\0" + addr[1:] if addr.startswith("@") else addr
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"STATUS=warming up\nREADY=1\n", addr)
open(d + "/notified", "w").close()
while True:
    time.sleep(1)
"#;
        let script = rig.path("notifier.py");
        std::fs::write(&script, notify).expect("write the notifier");
        rig.service_file(
            "notifier.toml",
            &format!(
                "command = [{}, {}]\nready = {{ notify = true, timeout = \"30s\" }}\nenv = {{ D = {} }}\n",
                crate::rich::toml_str(&python.display().to_string()),
                crate::rich::toml_str(&script.display().to_string()),
                crate::rich::toml_str(rig.d())
            ),
        );
        let out = rig
            .run(
                ns,
                &[],
                "test -e \"$D/before-ready\" && echo ok > \"$D/cmd\"; exit 0",
            )
            .output();
        assert_eq!(out.code(), Some(0), "{ns:?}: {out}");
        assert_eq!(
            rig.read("cmd"),
            "ok\n",
            "{ns:?}: CMD ran after READY=1\n{out}"
        );
    }
}
