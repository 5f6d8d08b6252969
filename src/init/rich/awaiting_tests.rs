use super::*;

fn fds(n: usize) -> Vec<OwnedFd> {
    (0..n)
        .map(|_| io::null().unwrap_or_else(|e| panic!("/dev/null: {e}")))
        .collect()
}

const GIVE: &str = "{\"cmd\":\"fds-give\"}\n";
const FD: &str = "{\"fd\":{\"service\":\"web\",\"kind\":\"listen\",\"name\":\"web.socket\",\"address\":\"tcp:127.0.0.1:80\"}}\n";
const STORE: &str = "{\"fd\":{\"service\":\"web\",\"kind\":\"store\",\"name\":\"state\"}}\n";

/// What came in each recvmsg (text, descriptors), and how it ends: `Ok(n)` a give of
/// n descriptors, `Err(text)` an answer that contains text, "" when still reading.
type Case = (
    &'static [(&'static str, usize)],
    Result<usize, &'static str>,
);

/// A case with its reads as owned strings.
type Owned = (Vec<(String, usize)>, Result<usize, &'static str>);

#[test]
fn gives() {
    let fd_then_end = format!("{FD}{{\"end\":1}}\n");
    let glued = format!("{GIVE}{FD}");
    let cases: Vec<Owned> = {
        let raw: &[Case] = &[
            (
                &[(GIVE, 0), (FD, 1), (STORE, 1), ("{\"end\":2}\n", 0)],
                Ok(2),
            ),
            (&[(GIVE, 0), ("{\"end\":0}\n", 0)], Ok(0)),
            (&[(GIVE, 0), (FD, 0)], Err("exactly one")),
            (&[(GIVE, 0), (FD, 2)], Err("came with 2 descriptors")),
            (
                &[(GIVE, 0), (FD, 1), ("{\"end\":2}\n", 0)],
                Err("ended with 2 but 1"),
            ),
            (&[(GIVE, 0), (FD, 1), ("{\"end\":1}\n", 1)], Err("end line")),
            (&[(GIVE, 1)], Err("request line")),
            (
                &[("{\"cmd\":\"status\"}\n", 0)],
                Err("waiting for an upgrade's descriptor hand-over"),
            ),
            (&[("{\"cmd\":\"nope\"}\n", 0)], Err("nope")),
            (&[(GIVE, 0), ("{\"fd\":{}}\n", 1)], Err("\"ok\":false")),
            (&[(GIVE, 0), (FD, 1)], Err("")),
        ];
        raw.iter()
            .map(|(steps, want)| {
                (
                    steps.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
                    *want,
                )
            })
            .chain([
                // A line in two reads: its descriptors with the first.
                (
                    vec![
                        (GIVE.to_string(), 0),
                        (FD[..10].to_string(), 1),
                        (FD[10..].to_string(), 0),
                        ("{\"end\":1}\n".to_string(), 0),
                    ],
                    Ok(1),
                ),
                (
                    vec![
                        (GIVE.to_string(), 0),
                        (FD[..10].to_string(), 0),
                        (FD[10..].to_string(), 1),
                    ],
                    Err("middle of a line"),
                ),
                // The request and the first fd line in one read (the kernel glues a
                // message without descriptors to the next one with).
                (vec![(glued, 1), ("{\"end\":1}\n".to_string(), 0)], Ok(1)),
                // Two lines in one read, the descriptor the second's: refused.
                (
                    vec![(GIVE.to_string(), 0), (format!("{FD}{FD}"), 1)],
                    Err("exactly one"),
                ),
                (
                    vec![(GIVE.to_string(), 0), (fd_then_end, 1)],
                    Err("exactly one"),
                ),
                (
                    vec![(GIVE.to_string(), 0), ("x".repeat(MAX_HAND_LINE + 1), 0)],
                    Err("longer than"),
                ),
            ])
            .collect()
    };
    for (steps, want) in cases {
        let mut reader = Reader::default();
        let mut last = Step::More;
        for (text, n) in &steps {
            last = reader.feed(text.as_bytes(), fds(*n));
            if !matches!(last, Step::More) {
                break;
            }
        }
        match (&last, want) {
            (Step::Give(got), Ok(n)) => assert_eq!(got.len(), n, "{steps:?}"),
            (Step::More, Err("")) => {}
            (Step::Answer(text), Err(part)) if !part.is_empty() => {
                assert!(text.contains(part), "{steps:?}: {text}");
                assert!(text.starts_with("{\"ok\":false"), "{steps:?}: {text}");
            }
            _ => panic!("{steps:?}: {last:?}, want {want:?}"),
        }
    }
}
