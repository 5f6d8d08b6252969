use super::*;

fn entry(unit: &str, message: &str) -> JournalEntry {
    JournalEntry {
        time_us: 1,
        unit: unit.into(),
        ident: unit.trim_end_matches(".service").into(),
        pid: 7,
        message: message.into(),
    }
}

fn messages(entries: &[JournalEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| format!("{}:{}", e.unit, e.message))
        .collect()
}

const ROOMY: Limits = Limits {
    unit_entries: 100,
    unit_bytes: 1 << 20,
    total_bytes: 1 << 20,
};

#[test]
fn query_is_chronological_across_units_and_takes_the_last_n() {
    let mut j = Journal::new(ROOMY);
    for (unit, msg) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4"), ("b", "5")] {
        j.push(entry(unit, msg));
    }
    // (unit filter, last, expected)
    let cases: &[(Option<&str>, Option<usize>, &[&str])] = &[
        (None, None, &["a:1", "b:2", "a:3", "c:4", "b:5"]),
        (None, Some(2), &["c:4", "b:5"]),
        (None, Some(0), &[]),
        (None, Some(99), &["a:1", "b:2", "a:3", "c:4", "b:5"]),
        (Some("a"), None, &["a:1", "a:3"]),
        (Some("b"), Some(1), &["b:5"]),
        (Some("nope"), None, &[]),
    ];
    for (unit, last, want) in cases {
        assert_eq!(messages(&j.query(*unit, *last)), *want, "{unit:?} {last:?}");
    }
    assert_eq!(j.len(), 5);
}

#[test]
fn since_gives_what_came_after_a_cursor() {
    let mut j = Journal::new(ROOMY);
    j.push(entry("a", "old"));
    let cursor = j.cursor();
    assert_eq!(j.since(cursor, None), (vec![], cursor));
    let seq = j.push(entry("b", "new1"));
    assert_eq!(seq, cursor);
    j.push(entry("a", "new2"));
    let (got, next) = j.since(cursor, None);
    assert_eq!(messages(&got), ["b:new1", "a:new2"]);
    assert_eq!(next, cursor + 2);
    let (got, _) = j.since(cursor, Some("a"));
    assert_eq!(messages(&got), ["a:new2"]);
    assert!(j.since(next, None).0.is_empty());
}

#[test]
fn per_unit_entry_bound_drops_that_units_oldest() {
    let mut j = Journal::new(Limits {
        unit_entries: 2,
        ..ROOMY
    });
    for (unit, msg) in [("a", "1"), ("b", "x"), ("a", "2"), ("a", "3")] {
        j.push(entry(unit, msg));
    }
    assert_eq!(messages(&j.query(None, None)), ["b:x", "a:2", "a:3"]);
}

#[test]
fn per_unit_byte_bound_keeps_at_least_the_newest() {
    let per = ENTRY_OVERHEAD + 10;
    let mut j = Journal::new(Limits {
        unit_bytes: 2 * per,
        ..ROOMY
    });
    for msg in ["0123456789", "abcdefghij", "ABCDEFGHIJ"] {
        j.push(entry("a", msg));
    }
    assert_eq!(
        messages(&j.query(None, None)),
        ["a:abcdefghij", "a:ABCDEFGHIJ"]
    );
    // One entry over the bound on its own is still kept.
    let mut tiny = Journal::new(Limits {
        unit_bytes: 1,
        ..ROOMY
    });
    tiny.push(entry("a", "first"));
    tiny.push(entry("a", "second"));
    assert_eq!(messages(&tiny.query(None, None)), ["a:second"]);
}

#[test]
fn global_bound_drops_the_oldest_of_all_units_and_forgets_empty_units() {
    let per = ENTRY_OVERHEAD + 1;
    let mut j = Journal::new(Limits {
        total_bytes: 3 * per,
        ..ROOMY
    });
    for (unit, msg) in [("a", "1"), ("b", "2"), ("b", "3"), ("c", "4")] {
        j.push(entry(unit, msg));
    }
    assert_eq!(messages(&j.query(None, None)), ["b:2", "b:3", "c:4"]);
    assert!(j.query(Some("a"), None).is_empty());
    assert_eq!(j.memory(), 3 * per + "b".len() * 2 + "c".len() * 2);
    j.push(entry("a", "5"));
    j.push(entry("a", "6"));
    assert_eq!(messages(&j.query(None, None)), ["c:4", "a:5", "a:6"]);
}

#[test]
fn memory_stays_bounded_under_a_flood() {
    let limits = Limits::DEFAULT;
    let mut j = Journal::new(limits);
    let line = "x".repeat(200);
    for i in 0..50_000 {
        j.push(entry(&format!("unit{}.service", i % 40), &line));
    }
    let shared = 40 * 2 * "unitNN.service".len();
    assert!(j.memory() <= limits.total_bytes + shared, "{}", j.memory());
    assert!(j.memory() > limits.total_bytes / 2);
    // The newest survived, the oldest went.
    let last = j.query(None, Some(1));
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].unit, "unit39.service");
}

#[test]
fn messages_are_cut_on_a_character_boundary() {
    let mut j = Journal::new(ROOMY);
    // 'é' is two bytes: MAX_MESSAGE falls in the middle of one.
    let long = format!("a{}", "é".repeat(MAX_MESSAGE));
    j.push(entry("a", &long));
    let got = &j.query(None, None)[0].message;
    assert_eq!(got.len(), MAX_MESSAGE - 1);
    assert!(long.starts_with(got.as_str()));
    let cases = [
        ("abc", 2, "ab"),
        ("abc", 3, "abc"),
        ("é", 1, ""),
        ("", 0, ""),
    ];
    for (text, max, want) in cases {
        assert_eq!(cut(text, max), want, "{text:?} {max}");
    }
}

#[test]
fn identifiers_are_shared_and_kept_per_entry() {
    let mut j = Journal::new(ROOMY);
    let mut e = entry("cron.service", "one");
    j.push(e.clone());
    e.ident = "systemd".into();
    e.pid = 1;
    e.message = "Started cron.service.".into();
    j.push(e);
    let got = j.query(Some("cron.service"), None);
    let idents: Vec<(&str, i32)> = got.iter().map(|e| (e.ident.as_str(), e.pid)).collect();
    assert_eq!(idents, [("cron", 7), ("systemd", 1)]);
}

#[test]
fn splitter_turns_pipe_bytes_into_entries() {
    let source = Source {
        unit: "web.service".into(),
        ident: "web".into(),
        pid: 42,
    };
    let mut s = Splitter::new(source);
    // (bytes, time, lines out)
    let steps: &[(&[u8], u64, &[&str])] = &[
        (b"hel", 1, &[]),
        (b"lo\nwor", 2, &["hello"]),
        (b"ld\r\n\n", 3, &["world", ""]),
        (b"bad \xff byte\n", 4, &["bad \u{fffd} byte"]),
        (b"tail", 5, &[]),
    ];
    for (bytes, t, want) in steps {
        let got = s.push(bytes, *t);
        let texts: Vec<&str> = got.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(texts, *want, "{bytes:?}");
        assert!(got.iter().all(|e| e.time_us == *t && e.pid == 42));
        assert!(got
            .iter()
            .all(|e| e.unit == "web.service" && e.ident == "web"));
    }
    let last = s.finish(6);
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].message, "tail");
    assert!(s.finish(7).is_empty());
}

#[test]
fn splitter_splits_overlong_lines_into_entries() {
    let mut s = Splitter::new(Source::default());
    let mut input = vec![b'x'; MAX_MESSAGE + 5];
    input.push(b'\n');
    let got = s.push(&input, 1);
    let lens: Vec<usize> = got.iter().map(|e| e.message.len()).collect();
    assert_eq!(lens, [MAX_MESSAGE, 5]);
}

#[test]
fn the_per_entry_overhead_is_what_the_docs_say() {
    // Sequence, time, pid (padded), the shared identifier and the message: 56 bytes on a
    // 64-bit target (module docs and the report quote it).
    if cfg!(target_pointer_width = "64") {
        assert_eq!(ENTRY_OVERHEAD, 56);
    }
}
