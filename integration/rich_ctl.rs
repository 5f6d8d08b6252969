//! `rich-init ctl` against a running rich-init: status shows restarts, only root or the
//! init's uid is answered, shutdown CODE sets the exit code, bad use is one line.

use crate::harness::{bin, Run};
use crate::rich::{polite, ready_on_pid, Rig, NS};

fn ctl(rig: &Rig) -> String {
    format!("{} ctl --socket {}/ctl.sock", bin().display(), rig.d())
}

#[test]
fn status_json_shows_a_restart() {
    for ns in NS {
        let rig = Rig::new("rich-ctl-status");
        rig.service(
            "svc",
            &polite("svc", "TERM"),
            &format!("restart-delay = \"10ms\"\n{}", ready_on_pid(&rig, "svc")),
        );
        let script = format!(
            "wait_file \"$D/svc.pid\"\nold=$(cat \"$D/svc.pid\"); rm \"$D/svc.pid\"; kill -KILL \"$old\"\n\
             wait_file \"$D/svc.pid\"\n\
             while ! {ctl} status --json > \"$D/status.json\" 2>\"$D/status.err\" || ! grep -q '\"state\":\"running\"' \"$D/status.json\"; do sleep 0.01; done\n\
             {ctl} status > \"$D/status.txt\"\nexit 0",
            ctl = ctl(&rig)
        );
        let out = rig.run(ns, &[], &script).output();
        assert_eq!(out.code(), Some(0), "{ns:?}: {out}");
        let json = rig.read("status.json");
        assert!(
            json.contains("\"name\":\"svc\"") && json.contains("\"restarts\":1"),
            "{ns:?}: {json}"
        );
        assert!(
            json.contains("\"last_exit\":{\"signal\":9}"),
            "{ns:?}: {json}"
        );
        let table = rig.read("status.txt");
        assert!(
            table.starts_with("NAME") && table.contains("svc") && table.contains("SIGKILL"),
            "{ns:?}: {table}"
        );
        assert!(rig.leftovers().is_empty(), "{ns:?}: {:?}", rig.leftovers());
    }
}

/// `ctl status` as uid 65534 against a running init, after `prepare` (shell, run as
/// root once the socket exists). Returns (ctl's exit code, its stdout, its stderr).
fn ctl_as_nobody(label: &str, prepare: &str) -> (String, String, String) {
    let rig = Rig::new(label);
    let setpriv = crate::harness::require("setpriv");
    let script = format!(
        "wait_file \"$D/ctl.sock\"; {prepare}; chmod 755 \"$D\"\n\
         {setpriv} --reuid=65534 --regid=65534 --clear-groups {ctl} status > \"$D/out\" 2> \"$D/err\"; echo $? > \"$D/code\"\n\
         exit 0",
        setpriv = setpriv.display(),
        ctl = ctl(&rig)
    );
    let out = rig.run(crate::harness::PidNs::Host, &[], &script).output();
    assert_eq!(out.code(), Some(0), "{out}");
    (
        rig.read("code").trim().to_string(),
        rig.read("out"),
        rig.read("err"),
    )
}

#[test]
fn other_uids_are_refused() {
    // The socket is 0600; open it up so that only the SO_PEERCRED check stands between.
    let (code, out, err) = ctl_as_nobody("rich-ctl-peercred", "chmod 666 \"$D/ctl.sock\"");
    assert_eq!(code, "1", "refused: ctl exits 1; stderr: {err}");
    assert_eq!(
        err,
        "rich-init ctl: permission denied: only root or uid 0 may control rich-init\n"
    );
    assert_eq!(out, "");
}

/// Issue 13, finding 9: with the socket as the init makes it (0600), another uid cannot
/// even connect (EACCES). That is a refusal, exit 1 and "permission denied", as README
/// promises, not "cannot reach the init" and 3.
#[test]
fn other_uids_get_permission_denied_at_connect() {
    let (code, out, err) = ctl_as_nobody("rich-ctl-eacces", ":");
    assert_eq!(code, "1", "refused: ctl exits 1; stderr: {err}");
    assert!(
        err.starts_with("rich-init ctl: permission denied on "),
        "{err}"
    );
    assert!(
        err.contains("(Permission denied)") && err.ends_with("run ctl as root\n"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(out, "");
}

#[test]
fn shutdown_code_becomes_the_exit_code() {
    for ns in NS {
        let rig = Rig::new("rich-ctl-shutdown");
        rig.service("svc", &polite("svc", "TERM"), &ready_on_pid(&rig, "svc"));
        let script = format!(
            "wait_file \"$D/svc.pid\"\n{} shutdown 9\nwhile :; do sleep 0.05; done",
            ctl(&rig)
        );
        let out = rig.run(ns, &[], &script).output();
        assert_eq!(out.code(), Some(9), "{ns:?}: {out}");
        assert!(
            rig.read("log").contains("stop svc TERM"),
            "{ns:?}: the service was stopped: {}",
            rig.read("log")
        );
    }
}

#[test]
fn bad_use_is_one_line() {
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["ctl", "--socket", "/nonexistent/ctl.sock", "status"],
            3,
            "rich-init ctl: cannot reach the init at /nonexistent/ctl.sock",
        ),
        (
            &["ctl", "reboot"],
            2,
            "rich-init ctl: unknown command \"reboot\"",
        ),
        (&["ctl"], 2, "rich-init ctl: no command given"),
        (&["ctl", "signal", "svc", "BOGUS"], 2, "rich-init ctl: "),
    ];
    for (args, code, start) in cases {
        let out = Run::new(bin()).args(*args).output();
        assert_eq!(out.code(), Some(*code), "{args:?}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: one line: {out}");
        assert!(out.stderr.starts_with(start), "{args:?}: {out}");
    }
}
