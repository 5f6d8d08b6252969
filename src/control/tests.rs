//! Tests of the `ctl` command line, uptimes and the status table.

use super::*;

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

#[test]
fn ctl_args_good() {
    let cases: &[(&str, Request, bool)] = &[
        ("status", Request::Status, false),
        ("status --json", Request::Status, true),
        (
            "start crond",
            Request::Start {
                service: "crond".into(),
            },
            false,
        ),
        (
            "stop syslogd",
            Request::Stop {
                service: "syslogd".into(),
            },
            false,
        ),
        (
            "restart getty@tty1",
            Request::Restart {
                service: "getty@tty1".into(),
            },
            false,
        ),
        (
            "signal crond HUP",
            Request::Signal {
                service: "crond".into(),
                signal: 1,
            },
            false,
        ),
        (
            "signal crond SIGUSR2",
            Request::Signal {
                service: "crond".into(),
                signal: 12,
            },
            false,
        ),
        (
            "signal crond 9",
            Request::Signal {
                service: "crond".into(),
                signal: 9,
            },
            false,
        ),
        (
            "signal crond RTMAX",
            Request::Signal {
                service: "crond".into(),
                signal: 64,
            },
            false,
        ),
        ("shutdown", Request::Shutdown { code: None }, false),
        ("shutdown 0", Request::Shutdown { code: Some(0) }, false),
        ("shutdown 255", Request::Shutdown { code: Some(255) }, false),
    ];
    for (line, request, json) in cases {
        assert_eq!(
            parse_ctl_args(&args(line)).map_err(|e| e.to_string()),
            Ok((request.clone(), *json)),
            "{line}"
        );
    }
}

#[test]
fn ctl_args_bad_say_the_usage() {
    let cases: &[(&str, &str)] = &[
        ("", "no command given"),
        ("reboot", "unknown command \"reboot\""),
        ("--json status", "unknown command \"--json\""),
        ("status --yaml", "wrong arguments for \"status\""),
        ("start", "wrong arguments for \"start\""),
        ("stop a b", "wrong arguments for \"stop\""),
        ("restart", "wrong arguments for \"restart\""),
        ("signal crond", "wrong arguments for \"signal\""),
        ("shutdown 1 2", "wrong arguments for \"shutdown\""),
        (
            "start .x",
            "invalid service name \".x\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'",
        ),
        (
            "stop a/b",
            "invalid service name \"a/b\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'",
        ),
        (
            "signal crond BOGUS",
            "unknown signal \"BOGUS\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64",
        ),
        (
            "signal crond 0",
            "unknown signal \"0\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64",
        ),
        (
            "shutdown 256",
            "bad exit code \"256\": use an integer 0-255",
        ),
        ("shutdown -1", "bad exit code \"-1\": use an integer 0-255"),
        ("shutdown x", "bad exit code \"x\": use an integer 0-255"),
    ];
    for (line, problem) in cases {
        let want = format!("ctl: {problem}; {CTL_USAGE}");
        assert_eq!(
            parse_ctl_args(&args(line)).map_err(|e| e.to_string()),
            Err(want),
            "{line}"
        );
    }
    assert_eq!(
        CTL_USAGE,
        "usage: rich-init ctl status [--json] | start NAME | stop NAME | restart NAME \
         | signal NAME SIG | shutdown [CODE]"
    );
}

#[test]
fn ctl_args_render_to_parseable_requests() {
    for line in [
        "status",
        "start crond",
        "signal sshd RTMIN+2",
        "shutdown 7",
        "shutdown",
    ] {
        let (request, _) = parse_ctl_args(&args(line)).unwrap();
        let rendered = render_request(&request);
        assert_eq!(
            parse_request(rendered.as_bytes()).ok(),
            Some(request),
            "{line}"
        );
    }
}

#[test]
fn uptimes() {
    let cases: &[(u64, &str)] = &[
        (0, "0ms"),
        (999, "999ms"),
        (1000, "1s"),
        (59_999, "59s"),
        (60_000, "1m00s"),
        (192_000, "3m12s"),
        (3_599_999, "59m59s"),
        (3_600_000, "1h00m"),
        (7_500_000, "2h05m"),
        (86_399_999, "23h59m"),
        (86_400_000, "1d00h"),
        (273_600_000, "3d04h"),
        (u64::MAX, "213503982334d14h"),
    ];
    for (ms, want) in cases {
        assert_eq!(format_uptime(*ms), *want, "{ms}");
    }
}

#[test]
fn status_table() {
    let rows = [
        ServiceStatus {
            name: "crond".into(),
            state: "running".into(),
            pid: Some(42),
            uptime_ms: Some(192_000),
            restarts: 1,
            last_exit: Some(ExitInfo::Signal(9)),
        },
        ServiceStatus {
            name: "syslogd".into(),
            state: "backoff".into(),
            pid: None,
            uptime_ms: None,
            restarts: 12,
            last_exit: Some(ExitInfo::Code(1)),
        },
        ServiceStatus {
            name: "sshd".into(),
            state: "running".into(),
            pid: Some(1234567),
            uptime_ms: Some(500),
            restarts: 0,
            last_exit: None,
        },
    ];
    let want = "\
NAME     STATE    PID      UPTIME  RESTARTS  LAST-EXIT
crond    running  42       3m12s   1         SIGKILL
syslogd  backoff  -        -       12        exit 1
sshd     running  1234567  500ms   0         -
";
    assert_eq!(format_status_table(&rows), want);
    assert_eq!(
        format_status_table(&[]),
        "NAME  STATE  PID  UPTIME  RESTARTS  LAST-EXIT\n"
    );
}
