//! What the helper keeps after a give, against a fake init: a thread of this process
//! listening in a temporary directory, reached through `/proc/OUR-PID/root`.

use super::*;
use rich_init::control::handover::{parse_hand_line, render_given, HandLine, Kind};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

fn socket_in(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uh-held-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("c.sock")
}

fn held(names: &[&str], wait: Duration) -> Held {
    let fds = names
        .iter()
        .map(|n| {
            let (a, _b) = UnixStream::pair().expect("socketpair");
            let h = Handed {
                service: "web".into(),
                name: (*n).into(),
                kind: Kind::Listen {
                    address: "tcp:127.0.0.1:0".into(),
                },
            };
            (h, OwnedFd::from(a))
        })
        .collect();
    Held {
        fds,
        wait,
        deadline_ms: Some(deadline_ms(SystemTime::now(), wait)),
    }
}

/// A fake init that reads one give and answers `given`.
fn fake_give(path: &std::path::Path, given: Given) -> std::thread::JoinHandle<()> {
    let listener = UnixListener::bind(path).expect("bind");
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().expect("accept");
        let mut lines = BufReader::new(&conn).lines();
        lines.next().expect("request").expect("request");
        for line in lines {
            let line = line.expect("line");
            if let Ok(HandLine::End { .. }) = parse_hand_line(line.as_bytes()) {
                break;
            }
        }
        (&conn)
            .write_all(render_given(given).as_bytes())
            .expect("answer");
    })
}

fn rich_spec(path: &std::path::Path) -> Value {
    json!({"process": {
        "args": ["/sbin/rich-init", "--rich", "--control-socket", path, "x"],
        "env": [],
    }})
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

#[test]
fn copies_stay_while_the_init_kept_all_and_go_when_it_closed_some() {
    let me = std::process::id();
    for (closed, left) in [(0, 2), (1, 0)] {
        let path = socket_in(&format!("closed{closed}"));
        let init = fake_give(
            &path,
            Given {
                kept: 2 - closed,
                closed,
            },
        );
        let mut h = held(&["a", "b"], Duration::from_secs(5));
        let given = run(give(&mut h, me, &rich_spec(&path), "new init"));
        init.join().expect("the fake init");
        assert_eq!(given.map(|g| g.closed), Some(closed));
        assert_eq!(h.len(), left, "closed {closed}");
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn copies_go_before_the_inits_deadline_when_it_never_answers() {
    let me = std::process::id();
    let path = socket_in("never");
    let wait = Duration::from_millis(400);
    let mut h = held(&["a"], wait);
    let deadline = h.deadline_ms.unwrap_or_default();
    let given = run(give(&mut h, me, &rich_spec(&path), "new init"));
    assert!(given.is_none());
    assert!(h.is_empty());
    let now = deadline_ms(SystemTime::now(), Duration::ZERO);
    // Given up 100 ms (wait / 4) before the deadline, copies closed by then.
    assert!(now < deadline, "now {now}, deadline {deadline}");
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
