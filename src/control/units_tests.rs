//! Table-driven tests of the unit requests and responses: round trips both ways, and every
//! refusal naming its field.

use super::super::{parse_request, parse_response, render_request, render_response};
use super::*;
use crate::control::{Request, Response};
use crate::units::status::{JournalEntry, Process, UnitInfo};

fn nginx() -> UnitInfo {
    UnitInfo {
        id: "nginx.service".into(),
        names: vec!["nginx.service".into()],
        description: "A high performance web server".into(),
        load_state: "loaded".into(),
        active_state: "active".into(),
        sub_state: "running".into(),
        unit_file_state: "enabled".into(),
        unit_file_preset: "enabled".into(),
        fragment_path: "/lib/systemd/system/nginx.service".into(),
        drop_in_paths: vec!["/etc/systemd/system/nginx.service.d/x.conf".into()],
        service_type: "forking".into(),
        restart: "no".into(),
        main_pid: 123,
        exec_main_pid: 123,
        exec_main_start_us: 1_796_556_001_000_000,
        result: "success".into(),
        n_restarts: 2,
        active_enter_us: 1_796_556_001_000_000,
        can_reload: true,
        documentation: vec!["man:nginx(8)".into()],
        processes: vec![Process {
            pid: 123,
            cmdline: "nginx: master process /usr/sbin/nginx".into(),
        }],
        ..UnitInfo::default()
    }
}

#[test]
fn requests_round_trip() {
    let cases = [
        Request::Units { names: vec![] },
        Request::Units {
            names: vec!["cron.service".into(), "getty@tty1.service".into()],
        },
        Request::UnitJob {
            verb: JobVerb::Start,
            names: vec!["nginx.service".into()],
            no_block: false,
        },
        Request::UnitJob {
            verb: JobVerb::TryReloadOrRestart,
            names: vec!["a.service".into(), "b.service".into()],
            no_block: true,
        },
        Request::UnitJob {
            verb: JobVerb::ResetFailed,
            names: vec![],
            no_block: false,
        },
        Request::UnitJob {
            verb: JobVerb::Kill {
                signal: 1,
                whom: KillWhom::Main,
            },
            names: vec!["nginx.service".into()],
            no_block: false,
        },
        Request::UnitJob {
            verb: JobVerb::Kill {
                signal: 37,
                whom: KillWhom::All,
            },
            names: vec!["x.service".into()],
            no_block: true,
        },
        Request::DaemonReload,
        Request::SystemState,
        Request::Journal {
            unit: None,
            lines: None,
            follow: false,
        },
        Request::Journal {
            unit: Some("cron.service".into()),
            lines: Some(10),
            follow: true,
        },
    ];
    for request in cases {
        let line = render_request(&request);
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let back = parse_request(line.as_bytes());
        assert_eq!(back.ok(), Some(request.clone()), "{line}");
    }
    for verb in VERBS.map(|(_, v)| v) {
        assert_eq!(JobVerb::parse(verb.as_str()), Some(verb));
    }
}

#[test]
fn request_wire_format() {
    let cases: &[(Request, &str)] = &[
        (
            Request::Units {
                names: vec!["a.service".into()],
            },
            r#"{"cmd":"units","names":["a.service"]}"#,
        ),
        (
            Request::UnitJob {
                verb: JobVerb::Kill {
                    signal: 15,
                    whom: KillWhom::Control,
                },
                names: vec!["a.service".into()],
                no_block: false,
            },
            r#"{"cmd":"unit-job","verb":"kill","names":["a.service"],"no_block":false,"signal":"TERM","whom":"control"}"#,
        ),
        (Request::DaemonReload, r#"{"cmd":"daemon-reload"}"#),
        (
            Request::Journal {
                unit: None,
                lines: Some(3),
                follow: false,
            },
            r#"{"cmd":"journal","unit":null,"lines":3,"follow":false}"#,
        ),
    ];
    for (request, want) in cases {
        assert_eq!(render_request(request), format!("{want}\n"));
    }
}

#[test]
fn bad_requests() {
    let long = "x".repeat(300);
    let cases: Vec<(String, &str)> = vec![
        (r#"{"cmd":"units"}"#.into(), "a \"units\" request has no field \"names\": add it"),
        (r#"{"cmd":"units","names":"a"}"#.into(), "field \"names\" in a \"units\" request must be an array of strings, not a string"),
        (r#"{"cmd":"units","names":[1]}"#.into(), "field \"names\" in a \"units\" request must be an array of strings, not 1"),
        (r#"{"cmd":"units","names":["a/b"]}"#.into(), "invalid unit name \"a/b\": use 1-255 printable characters without '/', e.g. cron.service"),
        (r#"{"cmd":"units","names":[""]}"#.into(), "invalid unit name \"\": use 1-255 printable characters without '/', e.g. cron.service"),
        (format!(r#"{{"cmd":"units","names":["{long}"]}}"#), "invalid unit name \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\": use 1-255 printable characters without '/', e.g. cron.service"),
        (r#"{"cmd":"units","names":[],"all":true}"#.into(), "a \"units\" request has an unknown field \"all\": allowed are cmd, names"),
        (r#"{"cmd":"unit-job","verb":"isolate","names":[],"no_block":false}"#.into(), "unknown job verb \"isolate\": use start, stop, restart, try-restart, reload, reload-or-restart, try-reload-or-restart, reset-failed or kill"),
        (r#"{"cmd":"unit-job","verb":"start","names":[]}"#.into(), "a \"unit-job\" request has no field \"no_block\": add it"),
        (r#"{"cmd":"unit-job","verb":"start","names":[],"no_block":0}"#.into(), "field \"no_block\" in a \"unit-job\" request must be true or false, not 0"),
        (r#"{"cmd":"unit-job","verb":"start","names":[],"no_block":false,"signal":"HUP"}"#.into(), "a \"unit-job\" request has an unknown field \"signal\": allowed are cmd, verb, names, no_block"),
        (r#"{"cmd":"unit-job","verb":"kill","names":[],"no_block":false,"whom":"all"}"#.into(), "a \"unit-job\" request has no field \"signal\": add it"),
        (r#"{"cmd":"unit-job","verb":"kill","names":[],"no_block":false,"signal":"NOPE","whom":"all"}"#.into(), "unknown signal \"NOPE\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64"),
        (r#"{"cmd":"unit-job","verb":"kill","names":[],"no_block":false,"signal":9,"whom":"both"}"#.into(), "unknown kill target \"both\": use main, control or all"),
        (r#"{"cmd":"daemon-reload","force":true}"#.into(), "a \"daemon-reload\" request has an unknown field \"force\": allowed are cmd"),
        (r#"{"cmd":"system-state","x":1}"#.into(), "a \"system-state\" request has an unknown field \"x\": allowed are cmd"),
        (r#"{"cmd":"journal","unit":null,"lines":-1,"follow":false}"#.into(), "field \"lines\" in a \"journal\" request must be an integer >= 0 or null, not -1"),
        (r#"{"cmd":"journal","unit":3,"lines":null,"follow":false}"#.into(), "field \"unit\" in a \"journal\" request must be a unit name or null, not 3"),
        (r#"{"cmd":"journal","unit":null,"lines":null}"#.into(), "a \"journal\" request has no field \"follow\": add it"),
    ];
    for (line, want) in cases {
        let got = match parse_request(line.as_bytes()) {
            Ok(r) => format!("parsed: {r:?}"),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, want, "{line}");
    }
}

#[test]
fn responses_round_trip() {
    let cases = [
        Response::Units(vec![]),
        Response::Units(vec![nginx(), UnitInfo::not_found("foo.service")]),
        Response::Jobs(vec![
            JobOutcome::new("a.service", JobResult::Done),
            JobOutcome::new("b.service", JobResult::Failed),
            JobOutcome::new("c.service", JobResult::Canceled),
            JobOutcome::new("d.service", JobResult::Timeout),
            JobOutcome::new("e.service", JobResult::Dependency),
            JobOutcome::new("f.service", JobResult::Skipped),
            JobOutcome::new("g.service", JobResult::NotFound),
            JobOutcome::new(
                "h.service",
                JobResult::NotLoaded {
                    load_state: "bad-setting".into(),
                },
            ),
            JobOutcome::new("i.service", JobResult::NoReload),
            JobOutcome::new("j.service", JobResult::Masked),
        ]),
        Response::SystemState(SystemState::Running),
        Response::SystemState(SystemState::Degraded),
        Response::Journal(vec![]),
        Response::Journal(vec![JournalEntry {
            time_us: 5,
            unit: "cron.service".into(),
            ident: "CRON".into(),
            pid: 77,
            message: "(root) CMD (true)".into(),
        }]),
    ];
    for response in cases {
        let line = render_response(&response);
        assert_eq!(
            parse_response(line.as_bytes()).ok(),
            Some(response.clone()),
            "{line}"
        );
    }
}

#[test]
fn bad_responses() {
    let unit = render_response(&Response::Units(vec![nginx()]));
    let unit = unit.trim_end();
    let cases: Vec<(String, &str)> = vec![
        (r#"{"ok":true,"units":[],"jobs":[]}"#.into(), "the response carries units, jobs: send exactly one of units, jobs, system_state, journal"),
        (r#"{"ok":true,"units":[],"services":[]}"#.into(), "the response has an unknown field \"services\": allowed are ok, units, jobs, system_state, journal"),
        (r#"{"ok":true,"units":{}}"#.into(), "field \"units\" in the response must be an array, not an object"),
        (r#"{"ok":true,"units":[1]}"#.into(), "field \"units[0]\" in the response must be an object, not 1"),
        (unit.replace(r#""main_pid":123"#, r#""main_pid":"123""#), "field \"main_pid\" in units[0] must be a 32-bit integer, not a string"),
        (unit.replace(r#""can_reload":true"#, r#""can_reload":true,"cpu":1"#), "units[0] has an unknown field \"cpu\": allowed are id, names, description, load_state, active_state, sub_state, unit_file_state, unit_file_preset, fragment_path, source_path, drop_in_paths, type, restart, main_pid, control_pid, exec_main_pid, exec_main_code, exec_main_status, exec_main_start_us, exec_main_exit_us, result, n_restarts, active_enter_us, active_exit_us, inactive_enter_us, inactive_exit_us, state_change_us, can_reload, documentation, processes"),
        (unit.replace(r#","result":"success""#, ""), "units[0] has no field \"result\": add it"),
        (unit.replace(r#""pid":123,"#, ""), "units[0].processes[0] has no field \"pid\": add it"),
        (unit.replace(r#""active_enter_us":1796556001000000"#, r#""active_enter_us":-1"#), "field \"active_enter_us\" in units[0] must be an integer >= 0 (microseconds), not -1"),
        (r#"{"ok":true,"jobs":[{"unit":"a","result":"exploded"}]}"#.into(), "unknown job result \"exploded\": use done, failed, canceled, timeout, dependency, skipped, not-found, not-loaded, no-reload or masked"),
        (r#"{"ok":true,"jobs":[{"unit":"a","result":"not-loaded"}]}"#.into(), "jobs[0] has no field \"load_state\": add it"),
        (r#"{"ok":true,"jobs":[{"unit":"a","result":"done","load_state":"x"}]}"#.into(), "jobs[0] has an unknown field \"load_state\": allowed are unit, result"),
        (r#"{"ok":true,"system_state":"maintenance"}"#.into(), "unknown system state \"maintenance\": use starting, running, degraded or stopping"),
        (r#"{"ok":true,"journal":[{"time_us":1,"unit":"","ident":"x","pid":0}]}"#.into(), "journal[0] has no field \"message\": add it"),
    ];
    for (line, want) in cases {
        let got = match parse_response(line.as_bytes()) {
            Ok(r) => format!("parsed: {r:?}"),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, want, "{line}");
    }
}

#[test]
fn hostile_input_never_panics() {
    let unit = render_response(&Response::Units(vec![nginx()]));
    for cut in 0..unit.len() {
        let _ = parse_response(&unit.as_bytes()[..cut]);
    }
    let job = render_request(&Request::UnitJob {
        verb: JobVerb::Kill {
            signal: 9,
            whom: KillWhom::All,
        },
        names: vec!["a.service".into()],
        no_block: true,
    });
    for cut in 0..job.len() {
        let _ = parse_request(&job.as_bytes()[..cut]);
    }
}
