use super::*;

fn listen(service: &str, name: &str, address: &str) -> HandLine {
    HandLine::Fd(Handed {
        service: service.into(),
        name: name.into(),
        kind: Kind::Listen {
            address: address.into(),
        },
    })
}

fn store(service: &str, name: &str) -> HandLine {
    HandLine::Fd(Handed {
        service: service.into(),
        name: name.into(),
        kind: Kind::Store,
    })
}

#[test]
fn lines_render_and_parse_back() {
    let cases: &[(HandLine, &str)] = &[
        (
            listen("web", "web.socket", "tcp:0.0.0.0:8080"),
            r#"{"fd":{"service":"web","name":"web.socket","kind":"listen","address":"tcp:0.0.0.0:8080"}}"#,
        ),
        (
            store("db", "state"),
            r#"{"fd":{"service":"db","name":"state","kind":"store"}}"#,
        ),
        (HandLine::End { count: 0 }, r#"{"end":0}"#),
        (HandLine::End { count: 4096 }, r#"{"end":4096}"#),
    ];
    for (l, text) in cases {
        let rendered = render_hand_line(l);
        assert_eq!(rendered, format!("{text}\n"));
        assert_eq!(&parse_hand_line(rendered.as_bytes()).expect(text), l);
    }
}

#[test]
fn bad_lines_are_one_error_naming_the_field() {
    let cases: &[(&str, &str)] = &[
        (r#"{"ok":false,"error":"no"}"#, "the init refused: no"),
        (r#"{"fd":1}"#, "\"fd\""),
        (
            r#"{"fd":{"service":"web","name":"x","kind":"pipe"}}"#,
            "kind",
        ),
        (
            r#"{"fd":{"service":"web","name":"a:b","kind":"store"}}"#,
            "name",
        ),
        (
            r#"{"fd":{"service":"../x","name":"a","kind":"store"}}"#,
            "service name",
        ),
        (
            r#"{"fd":{"service":"web","name":"a","kind":"listen"}}"#,
            "address",
        ),
        (
            r#"{"fd":{"service":"web","name":"a","kind":"store","address":"x"}}"#,
            "address",
        ),
        (r#"{"end":-1}"#, "end"),
        (r#"{"end":1,"fd":{}}"#, "fd"),
        (r#"{}"#, "fd\" or \"end"),
        ("[]", "JSON object"),
    ];
    for (text, needle) in cases {
        let e = parse_hand_line(text.as_bytes())
            .expect_err(text)
            .to_string();
        assert!(e.contains(needle), "{text}: {e}");
        assert!(!e.contains('\n'), "{text}: {e}");
    }
    let long = format!(r#"{{"end":{}}}"#, "1".repeat(MAX_HAND_LINE));
    assert!(parse_hand_line(long.as_bytes()).is_err());
}

#[test]
fn give_answers() {
    let g = Given { kept: 2, closed: 1 };
    let text = render_given(g);
    assert_eq!(text, "{\"ok\":true,\"kept\":2,\"closed\":1}\n");
    assert_eq!(parse_given(text.as_bytes()).expect("parses"), g);
    let e = parse_given(br#"{"ok":false,"error":"not waiting"}"#).expect_err("refused");
    assert_eq!(e.to_string(), "the init refused: not waiting");
    assert!(parse_given(br#"{"ok":true}"#).is_err());
}

#[test]
fn waits() {
    let max = MAX_WAIT.as_millis();
    let cases: &[(&str, u128, Option<u64>)] = &[
        ("1000", 400, Some(600)),
        ("1000", 1000, Some(0)),
        ("1000", 5000, Some(0)),
        (" 1000\n", 0, Some(1000)),
        (&"9".repeat(30), 0, Some(max as u64)),
        ("", 0, None),
        ("-5", 0, None),
        ("1.5", 0, None),
        ("soon", 0, None),
    ];
    for (value, now, want) in cases {
        let got = wait_for(value, *now).ok().map(|d| d.as_millis() as u64);
        assert_eq!(got, *want, "{value:?} at {now}");
    }
    assert_eq!(handover_value(1234), "1234");
    let e = wait_for("soon", 0).expect_err("bad").to_string();
    assert!(e.contains(HANDOVER_VAR), "{e}");
}
