//! The helper's conversations against a tiny fake init: a thread of this process that
//! listens on a socket in a temporary directory (so the listener's pid is ours).

use super::*;
use rich_init::control::handover::{render_given, Kind};
use rich_init::control::protocol::parse_request;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::thread::JoinHandle;

fn me() -> u32 {
    std::process::id()
}

/// A socket path in a directory of its own, removed with it.
struct TempSocket(PathBuf);

impl std::ops::Deref for TempSocket {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempSocket {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn temp_socket(name: &str) -> TempSocket {
    let dir = std::env::temp_dir().join(format!("uh-handover-{}-{name}", me()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempSocket(dir.join("control.sock"))
}

fn listen_line(name: &str) -> Handed {
    Handed {
        service: "web".into(),
        name: name.into(),
        kind: Kind::Listen {
            address: "tcp:127.0.0.1:0".into(),
        },
    }
}

/// A fake init that answers one take with `lines`: each (line, descriptor to attach).
fn fake_take(path: &Path, lines: Vec<(String, Option<OwnedFd>)>) -> JoinHandle<()> {
    let listener = UnixListener::bind(path).expect("bind");
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().expect("accept");
        let mut request = String::new();
        BufReader::new(&conn).read_line(&mut request).expect("read");
        assert_eq!(
            parse_request(request.trim_end().as_bytes()).ok(),
            Some(Request::FdsTake)
        );
        for (line, fd) in &lines {
            let fds: Vec<_> = fd.iter().map(AsRawFd::as_raw_fd).collect();
            // A client that found the answer bad may have closed already (EPIPE): it has
            // what it needed.
            if unix_socket::send_fds(conn.as_raw_fd(), line.as_bytes(), &fds).is_err() {
                break;
            }
        }
    })
}

fn fd_line(name: &str) -> String {
    render_hand_line(&HandLine::Fd(listen_line(name)))
}

fn end(count: u64) -> String {
    render_hand_line(&HandLine::End { count })
}

fn a_socket() -> Option<OwnedFd> {
    let (a, _b) = UnixStream::pair().expect("socketpair");
    Some(OwnedFd::from(a))
}

fn a_pipe() -> Option<OwnedFd> {
    let (r, _w) = std::io::pipe().expect("pipe");
    Some(OwnedFd::from(r))
}

#[test]
fn a_take_keeps_the_sockets_and_closes_the_rest() {
    let path = temp_socket("take");
    let init = fake_take(
        &path,
        vec![
            (fd_line("a"), a_socket()),
            (fd_line("b"), a_pipe()),
            (fd_line("c"), a_socket()),
            (end(3), None),
        ],
    );
    let taken = take(&path, me()).ok().expect("the take");
    init.join().expect("the fake init");
    let names: Vec<_> = taken.fds.iter().map(|(h, _)| h.name.as_str()).collect();
    assert_eq!(names, ["a", "c"]);
    assert_eq!(taken.not_sockets, 1);
}

#[test]
fn a_bad_take_is_an_error_and_keeps_nothing() {
    let cases: Vec<Vec<(String, Option<OwnedFd>)>> = vec![
        // The count does not match.
        vec![(fd_line("a"), a_socket()), (end(2), None)],
        // A line without its descriptor.
        vec![(fd_line("a"), None), (end(1), None)],
        // More descriptors than lines.
        vec![(fd_line("a"), a_socket()), (end(1), a_socket())],
        // A refusal, and a connection closed mid-answer.
        vec![("{\"ok\":false,\"error\":\"no\"}\n".into(), None)],
        vec![(fd_line("a"), a_socket())],
    ];
    for (i, lines) in cases.into_iter().enumerate() {
        let path = temp_socket(&format!("bad{i}"));
        let init = fake_take(&path, lines);
        match take(&path, me()) {
            Err(Fail::Other(_)) => {}
            Err(Fail::Absent(e)) => panic!("case {i}: absent {e}"),
            Ok(t) => panic!("case {i}: took {}", t.fds.len()),
        }
        init.join().expect("the fake init");
    }
}

#[test]
fn nobody_there_is_absent_and_someone_else_is_refused() {
    let path = temp_socket("absent");
    assert!(matches!(
        take(&path, me()),
        Err(Fail::Absent(Errno::ENOENT))
    ));
    // A socket file nobody listens on any more.
    drop(UnixListener::bind(&*path).expect("bind"));
    assert!(matches!(
        take(&path, me()),
        Err(Fail::Absent(Errno::ECONNREFUSED))
    ));
    // Our listener, but the init is said to be another process: not its socket.
    let _ = std::fs::remove_file(&*path);
    let _listener = UnixListener::bind(&*path).expect("bind");
    assert!(matches!(take(&path, me() + 1), Err(Fail::Other(_))));
}

#[test]
fn a_give_reaches_an_init_that_listens_late_and_reads_its_answer() {
    let path = temp_socket("give");
    let late = path.0.clone();
    let init = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        let listener = UnixListener::bind(&late).expect("bind");
        let (conn, _) = listener.accept().expect("accept");
        let mut r = Reader::new(&conn);
        let request = r.line().expect("request");
        assert_eq!(parse_request(&request).ok(), Some(Request::FdsGive));
        let mut names = Vec::new();
        loop {
            match parse_hand_line(&r.line().expect("line")).expect("hand line") {
                HandLine::Fd(h) => names.push(h.name),
                HandLine::End { count } => {
                    assert_eq!(usize::try_from(count).ok(), Some(names.len()));
                    break;
                }
            }
        }
        assert_eq!(r.fds.len(), names.len(), "one descriptor per line");
        let given = Given { kept: 1, closed: 1 };
        (&conn)
            .write_all(render_given(given).as_bytes())
            .expect("answer");
        names
    });
    let fds: Vec<_> = ["a", "b"]
        .iter()
        .filter_map(|n| a_socket().map(|fd| (listen_line(n), fd)))
        .collect();
    let deadline = crate::handover_spec::deadline_ms(SystemTime::now(), Duration::from_secs(5));
    let given = give(&path, me(), &fds, deadline).expect("the give");
    assert_eq!(given, Given { kept: 1, closed: 1 });
    assert_eq!(init.join().expect("the fake init"), ["a", "b"]);
}

#[test]
fn a_give_stops_at_the_deadline() {
    let path = temp_socket("late");
    let started = Instant::now();
    let deadline = crate::handover_spec::deadline_ms(SystemTime::now(), Duration::from_millis(100));
    let fds: Vec<_> = a_socket()
        .map(|fd| (listen_line("a"), fd))
        .into_iter()
        .collect();
    assert!(give(&path, me(), &fds, deadline).is_err());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(80), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_give_refused_midway_says_what_the_init_said() {
    let path = temp_socket("refused");
    let listener = UnixListener::bind(&*path).expect("bind");
    let init = std::thread::spawn(move || {
        let (conn, _) = listener.accept().expect("accept");
        let mut r = Reader::new(&conn);
        let request = r.line().expect("request");
        assert_eq!(parse_request(&request).ok(), Some(Request::FdsGive));
        r.line().expect("the first descriptor's line");
        (&conn)
            .write_all(b"{\"ok\":false,\"error\":\"not waiting for descriptors\"}\n")
            .expect("refuse");
    });
    // Enough lines that the init closes before the last of them is sent (or, at worst,
    // the refusal is read as the answer): either way the init's words are in the error.
    let fds: Vec<_> = (0..200)
        .filter_map(|i| a_socket().map(|fd| (listen_line(&format!("s{i}")), fd)))
        .collect();
    let deadline = crate::handover_spec::deadline_ms(SystemTime::now(), Duration::from_secs(5));
    let e = give(&path, me(), &fds, deadline).expect_err("a refusal");
    init.join().expect("the fake init");
    let text = format!("{e:#}");
    assert!(text.contains("not waiting for descriptors"), "{text}");
}
