//! Table-driven tests of the protocol: every request kind good and bad, hostile input,
//! response round trips.

use super::*;

fn start(name: &str) -> Request {
    Request::Start {
        service: name.into(),
    }
}

fn err(line: &[u8]) -> String {
    match parse_request(line) {
        Ok(r) => format!("parsed: {r:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn good_requests() {
    let signal = |service: &str, signal| Request::Signal {
        service: service.into(),
        signal,
    };
    let cases: &[(&str, Request)] = &[
        (r#"{"cmd":"status"}"#, Request::Status),
        ("{\"cmd\":\"status\"}\n", Request::Status),
        (" { \"cmd\" : \"status\" } \r\n", Request::Status),
        (r#"{"cmd":"start","service":"crond"}"#, start("crond")),
        (
            r#"{"service":"getty@tty1","cmd":"start"}"#,
            start("getty@tty1"),
        ),
        (
            r#"{"cmd":"stop","service":"a.b_c-d"}"#,
            Request::Stop {
                service: "a.b_c-d".into(),
            },
        ),
        (
            r#"{"cmd":"restart","service":"x"}"#,
            Request::Restart {
                service: "x".into(),
            },
        ),
        (
            r#"{"cmd":"signal","service":"crond","signal":"HUP"}"#,
            signal("crond", 1),
        ),
        (
            r#"{"cmd":"signal","service":"crond","signal":"SIGUSR1"}"#,
            signal("crond", 10),
        ),
        (
            r#"{"cmd":"signal","service":"crond","signal":"term"}"#,
            signal("crond", 15),
        ),
        (
            r#"{"cmd":"signal","service":"crond","signal":"RTMIN+3"}"#,
            signal("crond", 37),
        ),
        (
            r#"{"cmd":"signal","service":"crond","signal":"9"}"#,
            signal("crond", 9),
        ),
        (
            r#"{"cmd":"signal","service":"crond","signal":64}"#,
            signal("crond", 64),
        ),
        (r#"{"cmd":"shutdown"}"#, Request::Shutdown { code: None }),
        (
            r#"{"cmd":"shutdown","code":0}"#,
            Request::Shutdown { code: Some(0) },
        ),
        (
            r#"{"cmd":"shutdown","code":255}"#,
            Request::Shutdown { code: Some(255) },
        ),
    ];
    for (line, want) in cases {
        match parse_request(line.as_bytes()) {
            Ok(got) => assert_eq!(&got, want, "{line}"),
            Err(e) => panic!("{line}: {e}"),
        }
    }
}

#[test]
fn bad_requests_each_have_one_clear_message() {
    let long_name = "a".repeat(65);
    let long_cmd = "x".repeat(100);
    let cases: Vec<(String, String)> = vec![
        ("[1,2]".into(), "request line must be a JSON object, not an array: send e.g. {\"cmd\":\"status\"}".into()),
        ("\"status\"".into(), "request line must be a JSON object, not a string: send e.g. {\"cmd\":\"status\"}".into()),
        ("42".into(), "request line must be a JSON object, not 42: send e.g. {\"cmd\":\"status\"}".into()),
        ("null".into(), "request line must be a JSON object, not null: send e.g. {\"cmd\":\"status\"}".into()),
        ("{}".into(), "the request has no field \"cmd\": add it".into()),
        (r#"{"cmd":5}"#.into(), "field \"cmd\" in the request must be a string, not 5".into()),
        (r#"{"cmd":["status"]}"#.into(), "field \"cmd\" in the request must be a string, not an array".into()),
        (r#"{"cmd":"reboot"}"#.into(), "unknown cmd \"reboot\": use status, start, stop, restart, signal or shutdown".into()),
        (format!(r#"{{"cmd":"{long_cmd}"}}"#), format!("unknown cmd \"{}...\": use status, start, stop, restart, signal or shutdown", "x".repeat(64))),
        (r#"{"cmd":"status","verbose":true}"#.into(), "a \"status\" request has an unknown field \"verbose\": allowed are cmd".into()),
        (r#"{"cmd":"start"}"#.into(), "a \"start\" request has no field \"service\": add it".into()),
        (r#"{"cmd":"start","svc":"crond"}"#.into(), "a \"start\" request has an unknown field \"svc\": allowed are cmd, service".into()),
        (r#"{"cmd":"stop","service":7}"#.into(), "field \"service\" in a \"stop\" request must be a string, not 7".into()),
        (r#"{"cmd":"restart","service":null}"#.into(), "field \"service\" in a \"restart\" request must be a string, not null".into()),
        (r#"{"cmd":"start","service":""}"#.into(), "invalid service name \"\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'".into()),
        (r#"{"cmd":"start","service":".hidden"}"#.into(), "invalid service name \".hidden\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'".into()),
        (r#"{"cmd":"start","service":"../etc"}"#.into(), "invalid service name \"../etc\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'".into()),
        (r#"{"cmd":"start","service":"a/b"}"#.into(), "invalid service name \"a/b\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'".into()),
        (r#"{"cmd":"start","service":"a b"}"#.into(), "invalid service name \"a b\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'".into()),
        (r#"{"cmd":"start","service":"a\nb"}"#.into(), "invalid service name \"a\\nb\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'".into()),
        (r#"{"cmd":"start","service":"crönd"}"#.into(), "invalid service name \"crönd\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'".into()),
        (format!(r#"{{"cmd":"start","service":"{long_name}"}}"#), format!("invalid service name \"{}...\": use 1-64 of A-Z a-z 0-9 . _ @ -, not starting with '.'", "a".repeat(64))),
        (r#"{"cmd":"signal","service":"crond"}"#.into(), "a \"signal\" request has no field \"signal\": add it".into()),
        (r#"{"cmd":"signal","signal":"HUP"}"#.into(), "a \"signal\" request has no field \"service\": add it".into()),
        (r#"{"cmd":"signal","service":"crond","signal":"BOGUS"}"#.into(), "unknown signal \"BOGUS\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64".into()),
        (r#"{"cmd":"signal","service":"crond","signal":""}"#.into(), "unknown signal \"\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64".into()),
        (r#"{"cmd":"signal","service":"crond","signal":0}"#.into(), "unknown signal \"0\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64".into()),
        (r#"{"cmd":"signal","service":"crond","signal":65}"#.into(), "unknown signal \"65\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64".into()),
        (r#"{"cmd":"signal","service":"crond","signal":-9}"#.into(), "unknown signal \"-9\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64".into()),
        (r#"{"cmd":"signal","service":"crond","signal":1.5}"#.into(), "unknown signal \"1.5\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64".into()),
        (r#"{"cmd":"signal","service":"crond","signal":18446744073709551616}"#.into(), "unknown signal \"1.8446744073709552e+19\": use a name (HUP, SIGTERM, RTMIN+3) or a number 1-64".into()),
        (r#"{"cmd":"signal","service":"crond","signal":true}"#.into(), "field \"signal\" in a \"signal\" request must be a signal name or number, not a boolean".into()),
        (r#"{"cmd":"signal","service":"crond","signal":"HUP","pid":1}"#.into(), "a \"signal\" request has an unknown field \"pid\": allowed are cmd, service, signal".into()),
        (r#"{"cmd":"shutdown","code":256}"#.into(), "bad exit code 256: use an integer 0-255".into()),
        (r#"{"cmd":"shutdown","code":-1}"#.into(), "bad exit code -1: use an integer 0-255".into()),
        (r#"{"cmd":"shutdown","code":3.0}"#.into(), "bad exit code 3.0: use an integer 0-255".into()),
        (r#"{"cmd":"shutdown","code":99999999999999999999999}"#.into(), "bad exit code 1e+23: use an integer 0-255".into()),
        (r#"{"cmd":"shutdown","code":"3"}"#.into(), "field \"code\" in a \"shutdown\" request must be an integer 0-255, not a string".into()),
        (r#"{"cmd":"shutdown","code":null}"#.into(), "field \"code\" in a \"shutdown\" request must be an integer 0-255, not null".into()),
        (r#"{"cmd":"shutdown","service":"crond"}"#.into(), "a \"shutdown\" request has an unknown field \"service\": allowed are cmd, code".into()),
    ];
    for (line, want) in &cases {
        assert_eq!(&err(line.as_bytes()), want, "{line}");
    }
}

#[test]
fn malformed_lines_are_errors_not_panics() {
    let mut deep = "[".repeat(2000);
    deep.push_str(&"]".repeat(2000));
    let nested = format!(
        r#"{{"cmd":"status","x":{}}}"#,
        "{\"a\":".repeat(500) + "1" + &"}".repeat(500)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "request line is empty: send one JSON object per line, e.g. {\"cmd\":\"status\"}"),
        (b"\n".to_vec(), "request line is empty: send one JSON object per line, e.g. {\"cmd\":\"status\"}"),
        (b"  \t \r\n".to_vec(), "request line is empty: send one JSON object per line, e.g. {\"cmd\":\"status\"}"),
        (b"{\"cmd\":\"st\xffatus\"}".to_vec(), "request line is not valid UTF-8 (bad byte at offset 10): send JSON text"),
        (vec![0xc3], "request line is not valid UTF-8 (bad byte at offset 0): send JSON text"),
        (b"{\"cmd\":\"status\"".to_vec(), "request line is not valid JSON (EOF while parsing an object at line 1 column 15): send one JSON object per line"),
        (b"{\"cmd\":".to_vec(), "request line is not valid JSON (EOF while parsing a value at line 1 column 7): send one JSON object per line"),
        (b"{\"cmd\":\"status\"}{}".to_vec(), "request line is not valid JSON (trailing characters at line 1 column 17): send one JSON object per line"),
        (b"{\"cmd\":\"status\"}\n{}".to_vec(), "request line is not valid JSON (trailing characters at line 2 column 1): send one JSON object per line"),
        (b"{\"cmd\":\"status\",\"cmd\":\"start\"}".to_vec(), "a \"start\" request has no field \"service\": add it"),
        (b"\x00\x01\x02garbage".to_vec(), "request line is not valid JSON (expected value at line 1 column 1): send one JSON object per line"),
        (b"{\"cmd\":\"a\x01\"}".to_vec(), "request line is not valid JSON (control character (\\u0000-\\u001F) found while parsing a string at line 1 column 10): send one JSON object per line"),
        (b"{\"cmd\":1e400}".to_vec(), "request line is not valid JSON (number out of range at line 1 column 12): send one JSON object per line"),
        (deep.into_bytes(), "request line is not valid JSON (recursion limit exceeded at line 1 column 128): send one JSON object per line"),
        (nested.into_bytes(), "request line is not valid JSON (recursion limit exceeded at line 1 column 651): send one JSON object per line"),
    ];
    for (line, want) in &cases {
        assert_eq!(&err(line), want, "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn line_length_limit() {
    let pad = |n: usize| {
        let head = r#"{"cmd":"status""#;
        let mut line = head.to_string();
        line.push_str(&" ".repeat(n - head.len() - 1));
        line.push('}');
        line
    };
    let exact = pad(MAX_LINE);
    assert_eq!(parse_request(exact.as_bytes()).ok(), Some(Request::Status));
    assert_eq!(
        parse_request(format!("{exact}\n").as_bytes()).ok(),
        Some(Request::Status)
    );
    let over = pad(MAX_LINE + 1);
    assert_eq!(
        err(over.as_bytes()),
        "request line is 4097 bytes, over the 4096-byte limit: send one short JSON object per line"
    );
    let huge = vec![b'x'; 1 << 20];
    assert_eq!(err(&huge), "request line is 1048576 bytes, over the 4096-byte limit: send one short JSON object per line");
    let mut huge_json = br#"{"cmd":""#.to_vec();
    huge_json.extend(vec![b'a'; 1 << 20]);
    huge_json.extend(br#""}"#);
    assert!(matches!(
        parse_request(&huge_json),
        Err(ProtocolError::TooLong { .. })
    ));
}

#[test]
fn every_prefix_and_byte_flip_is_handled() {
    let line = br#"{"cmd":"signal","service":"crond","signal":"RTMIN+3"}"#;
    for end in 0..line.len() {
        let _ = parse_request(&line[..end]);
    }
    for i in 0..line.len() {
        for byte in [0u8, b'"', b'{', b'\\', 0x80, 0xff, b'9'] {
            let mut copy = line.to_vec();
            copy[i] = byte;
            let _ = parse_request(&copy);
        }
    }
}

#[test]
fn requests_round_trip() {
    let cases = [
        Request::Status,
        start("crond"),
        Request::Stop {
            service: "syslogd".into(),
        },
        Request::Restart {
            service: "getty@tty1".into(),
        },
        Request::Signal {
            service: "sshd".into(),
            signal: 1,
        },
        Request::Signal {
            service: "sshd".into(),
            signal: 31,
        },
        Request::Signal {
            service: "sshd".into(),
            signal: 34,
        },
        Request::Signal {
            service: "sshd".into(),
            signal: 64,
        },
        Request::Shutdown { code: None },
        Request::Shutdown { code: Some(0) },
        Request::Shutdown { code: Some(255) },
    ];
    for request in cases {
        let line = render_request(&request);
        assert!(
            line.ends_with('\n') && !line[..line.len() - 1].contains('\n'),
            "{line:?}"
        );
        assert_eq!(
            parse_request(line.as_bytes()).ok(),
            Some(request.clone()),
            "{line}"
        );
    }
    for sig in 1..=64 {
        let request = Request::Signal {
            service: "s".into(),
            signal: sig,
        };
        assert_eq!(
            parse_request(render_request(&request).as_bytes()).ok(),
            Some(request)
        );
    }
}

#[test]
fn requests_render_as_documented() {
    let cases = [
        (Request::Status, "{\"cmd\":\"status\"}\n"),
        (
            start("crond"),
            "{\"cmd\":\"start\",\"service\":\"crond\"}\n",
        ),
        (
            Request::Signal {
                service: "crond".into(),
                signal: 1,
            },
            "{\"cmd\":\"signal\",\"service\":\"crond\",\"signal\":\"HUP\"}\n",
        ),
        (
            Request::Shutdown { code: Some(3) },
            "{\"cmd\":\"shutdown\",\"code\":3}\n",
        ),
    ];
    for (request, want) in cases {
        assert_eq!(render_request(&request), want);
    }
}

#[test]
fn hand_over_requests() {
    for (request, text) in [
        (Request::FdsTake, "{\"cmd\":\"fds-take\"}\n"),
        (Request::FdsGive, "{\"cmd\":\"fds-give\"}\n"),
    ] {
        assert_eq!(render_request(&request), text);
        assert_eq!(parse_request(text.as_bytes()).expect(text), request);
    }
    assert!(parse_request(br#"{"cmd":"fds-take","service":"x"}"#).is_err());
}
