//! Table-driven tests of responses: round trips, the documented shape, strict parsing.

use super::*;

fn crond() -> ServiceStatus {
    ServiceStatus {
        name: "crond".into(),
        state: "running".into(),
        pid: Some(42),
        uptime_ms: Some(192_000),
        restarts: 1,
        last_exit: Some(ExitInfo::Signal(9)),
    }
}

#[test]
fn responses_round_trip() {
    let stopped = ServiceStatus {
        name: "sshd".into(),
        state: "stopped".into(),
        pid: None,
        uptime_ms: None,
        restarts: u32::MAX,
        last_exit: Some(ExitInfo::Code(-1)),
    };
    let fresh = ServiceStatus {
        last_exit: None,
        uptime_ms: Some(u64::MAX),
        ..crond()
    };
    let cases = [
        Response::Ok,
        Response::Status(vec![]),
        Response::Status(vec![crond(), stopped, fresh]),
        Response::Error {
            message: "no service \"x\"".into(),
        },
        Response::Error {
            message: "two\nlines \u{1b}[31m and ünïcode".into(),
        },
    ];
    for response in cases {
        let line = render_response(&response);
        assert!(
            line.ends_with('\n') && !line[..line.len() - 1].contains('\n'),
            "{line:?}"
        );
        match parse_response(line.as_bytes()) {
            Ok(got) => assert_eq!(got, response, "{line}"),
            Err(e) => panic!("{line}: {e}"),
        }
    }
}

#[test]
fn responses_render_as_documented() {
    assert_eq!(render_response(&Response::Ok), "{\"ok\":true}\n");
    assert_eq!(
        render_response(&Response::Error {
            message: "boom".into()
        }),
        "{\"ok\":false,\"error\":\"boom\"}\n"
    );
    assert_eq!(
        render_response(&Response::Status(vec![crond()])),
        "{\"ok\":true,\"services\":[{\"name\":\"crond\",\"state\":\"running\",\"pid\":42,\
         \"uptime_ms\":192000,\"restarts\":1,\"last_exit\":{\"signal\":9}}]}\n"
    );
}

#[test]
fn bad_responses() {
    let row = |extra: &str| {
        format!(
            r#"{{"ok":true,"services":[{{"name":"a","state":"running","pid":1,"uptime_ms":0,"restarts":0,"last_exit":null{extra}}}]}}"#
        )
    };
    let swap = |from: &str, to: &str| row("").replace(from, to);
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "response line is empty: send one JSON object per line, e.g. {\"cmd\":\"status\"}"),
        ("[]".into(), "response line must be a JSON object, not an array: send e.g. {\"cmd\":\"status\"}"),
        ("{}".into(), "the response has no field \"ok\": add it"),
        (r#"{"ok":"yes"}"#.into(), "field \"ok\" in the response must be true or false, not a string"),
        (r#"{"ok":false}"#.into(), "the response has no field \"error\": add it"),
        (r#"{"ok":false,"error":1}"#.into(), "field \"error\" in the response must be a string, not 1"),
        (r#"{"ok":true,"error":"x"}"#.into(), "the response has an unknown field \"error\": allowed are ok, services"),
        (r#"{"ok":true,"services":{}}"#.into(), "field \"services\" in the response must be an array, not an object"),
        (r#"{"ok":true,"services":[1]}"#.into(), "field \"services[0]\" in the response must be an object, not 1"),
        (row(r#","cpu":1"#), "services[0] has an unknown field \"cpu\": allowed are name, state, pid, uptime_ms, restarts, last_exit"),
        (swap(r#""state":"running","#, ""), "services[0] has no field \"state\": add it"),
        (swap(r#""pid":1"#, r#""pid":0"#), "field \"pid\" in services[0] must be a positive 32-bit integer or null, not 0"),
        (swap(r#""pid":1"#, r#""pid":4294967296"#), "field \"pid\" in services[0] must be a positive 32-bit integer or null, not 4294967296"),
        (swap(r#""uptime_ms":0"#, r#""uptime_ms":-5"#), "field \"uptime_ms\" in services[0] must be an integer >= 0 or null, not -5"),
        (swap(r#""restarts":0"#, r#""restarts":null"#), "field \"restarts\" in services[0] must be an integer 0-4294967295, not null"),
        (swap("null", r#"{"code":1,"signal":9}"#), "services[0].last_exit must have exactly one of the fields \"code\" and \"signal\""),
        (swap("null", "{}"), "services[0].last_exit must have exactly one of the fields \"code\" and \"signal\""),
        (swap("null", r#"{"status":1}"#), "services[0].last_exit has an unknown field \"status\": allowed are code, signal"),
        (swap("null", r#"{"code":"1"}"#), "field \"code\" in services[0].last_exit must be a 32-bit integer, not a string"),
        (swap("null", "7"), "field \"last_exit\" in services[0] must be an object or null, not 7"),
    ];
    for (line, want) in &cases {
        let got = match parse_response(line.as_bytes()) {
            Ok(r) => format!("parsed: {r:?}"),
            Err(e) => e.to_string(),
        };
        assert_eq!(&got, want, "{line}");
    }
    let huge = vec![b' '; MAX_RESPONSE_LINE + 1];
    assert!(matches!(
        parse_response(&huge),
        Err(ProtocolError::TooLong { .. })
    ));
}

#[test]
fn every_prefix_and_byte_flip_is_handled() {
    let line = render_response(&Response::Status(vec![crond()]));
    let line = line.as_bytes();
    for end in 0..line.len() {
        let _ = parse_response(&line[..end]);
    }
    for i in 0..line.len() {
        for byte in [0u8, b'"', b'{', b'[', b'-', b'\\', 0x80, 0xff, b'9'] {
            let mut copy = line.to_vec();
            copy[i] = byte;
            let _ = parse_response(&copy);
        }
    }
}
