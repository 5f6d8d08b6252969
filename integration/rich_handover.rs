//! The descriptor hand-over of an in-place upgrade (issue 17, parts 3 and 4), the init's
//! side, with a test-side client of the protocol (`rich_init::control::handover`):
//! init A runs a service with a `listen` socket and an fd store; the test takes A's
//! descriptors, starts init B with RICH_INIT_HANDOVER_UNTIL, gives them to B, and stops A,
//! while a client connects in a loop: never refused, and B's service gets the very socket
//! A held (the same inode) and A's stored one. Around it, what must be refused: another
//! uid, a give to an init that does not wait for one, a pipe or an address nobody
//! listens on in a give, an FDSTORE=1 from a process outside the service.
//!
//! Both inits run in the test's pid and network namespaces (their control sockets
//! differ). Everything hand-shakes through files and the control sockets.

use crate::harness::{require, wait_for};
use crate::rich::{toml_str, Rig};
use crate::runner::{PidNs, Run, Running};
use rich_init::control::handover::{
    parse_given, parse_hand_line, render_hand_line, Given, HandLine, Handed, Kind, HANDOVER_VAR,
};
use rich_init::sys::unix_socket::{recv_fds_wait, send_fds};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The service: accepts on fd 3 and answers each connection with its pid. At each start
/// it writes a line to $D/web.env: its pid, LISTEN_FDNAMES, the inode of fd 3, the port
/// of a stored socket named `keep` (if it got one) and NOTIFY_SOCKET. At its first start
/// it stores a pipe and a listening socket of its own as `keep` (FDSTORE=1): only the
/// socket may travel.
const SERVER: &str = r#"
import os, select, signal, socket
D = os.environ["D"]
me = os.getpid()
names = os.environ.get("LISTEN_FDNAMES", "").split(":")
assert os.environ.get("LISTEN_PID") == str(me), "no LISTEN_PID"
lst = socket.socket(fileno=3)
keep = "-"
if "keep" in names:
    k = socket.socket(fileno=3 + names.index("keep"))
    keep = str(k.getsockname()[1])
else:
    k = socket.socket()
    k.bind(("127.0.0.1", 0))
    k.listen(1)
    keep = "new" + str(k.getsockname()[1])
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    addr = os.environ["NOTIFY_SOCKET"]
    n.connect("\0" + addr[1:] if addr.startswith("@") else addr)
    pr, pw = os.pipe()
    socket.send_fds(n, [b"FDSTORE=1\nFDNAME=keep"], [pr, k.fileno()])
with open(D + "/web.env", "a") as f:
    f.write("pid=%d names=%s ino=%d keep=%s notify=%s\n" % (
        me, ":".join(names), os.fstat(3).st_ino, keep, os.environ["NOTIFY_SOCKET"]))
r, w = os.pipe()
os.set_blocking(w, False)
signal.set_wakeup_fd(w)
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while not stop:
    ready, _, _ = select.select([lst, r], [], [])
    if stop or r in ready:
        break
    conn, _ = lst.accept()
    with conn:
        conn.recv(64)
        conn.sendall(b"%d\n" % me)
"#;

/// A process outside the service that sends FDSTORE=1 with a pipe to its notify socket.
const OUTSIDER: &str = r#"
import os, socket, sys
addr = sys.argv[1]
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n.connect("\0" + addr[1:] if addr.startswith("@") else addr)
r, w = os.pipe()
socket.send_fds(n, [b"FDSTORE=1\nFDNAME=intruder"], [r])
"#;

/// As another uid (setpriv): connect to the control socket, send one line, print the
/// answer.
const OTHER_UID: &str = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    s.sendall(sys.argv[2].encode() + b"\n")
except OSError:
    pass  # refused before it was read: the answer is there all the same
print(s.recv(4096).decode().strip())
"#;

fn connect(path: &str) -> UnixStream {
    let s = UnixStream::connect(path).unwrap_or_else(|e| panic!("connect {path}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    s.set_write_timeout(Some(Duration::from_secs(10)))
        .expect("write timeout");
    s
}

/// Take: the fd lines with their descriptors, and the end count.
fn take(path: &str) -> (Vec<(Handed, OwnedFd)>, u64) {
    let mut s = connect(path);
    s.write_all(b"{\"cmd\":\"fds-take\"}\n")
        .expect("send fds-take");
    let (mut buf, mut fds, mut got) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let mut chunk = [0u8; 8192];
        let n = recv_fds_wait(s.as_raw_fd(), &mut chunk, &mut fds)
            .unwrap_or_else(|e| panic!("take from {path}: {e}"));
        assert!(n > 0, "take from {path}: closed before the end line");
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            match parse_hand_line(&line[..end]) {
                Ok(HandLine::Fd(h)) => {
                    assert!(!fds.is_empty(), "{h:?} came without its descriptor");
                    got.push((h, fds.remove(0)));
                }
                Ok(HandLine::End { count }) => {
                    assert!(fds.is_empty(), "descriptors without a line: {}", fds.len());
                    return (got, count);
                }
                Err(e) => panic!("take from {path}: {e}"),
            }
        }
    }
}

/// Give: each line with its descriptor, then the end line with `count`; the answer.
fn give(path: &str, items: &[(Handed, &OwnedFd)], count: u64) -> Result<Given, String> {
    let mut s = connect(path);
    s.write_all(b"{\"cmd\":\"fds-give\"}\n")
        .expect("send fds-give");
    for (h, fd) in items {
        let line = render_hand_line(&HandLine::Fd(h.clone()));
        if send_fds(s.as_raw_fd(), line.as_bytes(), &[fd.as_raw_fd()]).is_err() {
            break; // refused already: the answer says why
        }
    }
    let _ = s.write_all(render_hand_line(&HandLine::End { count }).as_bytes());
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.ends_with(b"\n") {
        let mut fds = Vec::new();
        match recv_fds_wait(s.as_raw_fd(), &mut chunk, &mut fds) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer).trim().to_string();
    parse_given(text.as_bytes()).map_err(|e| format!("{e}: {text}"))
}

/// One request line as another uid; its answer.
fn as_nobody(python: &str, script: &str, path: &str, request: &str) -> String {
    let out = Run::new(require("setpriv"))
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            python,
            script,
        ])
        .args([path, request])
        .output();
    format!("{}{}", out.stdout.trim(), out.stderr.trim())
}

fn handed(service: &str, name: &str, kind: Kind) -> Handed {
    Handed {
        service: service.into(),
        name: name.into(),
        kind,
    }
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
}

fn start(rig: &Rig, ctl: &str, stop: &str, env: Option<(&str, String)>) -> Running {
    let mut args = rig.base_args();
    args.push("-v".into());
    if let Some(i) = args.iter().position(|a| a == "--control-socket") {
        args[i + 1] = format!("{}/{ctl}", rig.d());
    }
    let mut run = rig.run_args(
        PidNs::Host,
        &args,
        &format!("wait_file \"$D/{stop}\"; exit 0"),
    );
    if let Some((k, v)) = env {
        run = run.env(k, v);
    }
    run.spawn()
}

#[test]
fn handover_between_two_inits_with_zero_refused() {
    let python = require("python3").display().to_string();
    let rig = Rig::new("rich-handover");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let d = rig.d().to_string();
    for (file, text) in [
        ("bin/server.py", SERVER),
        ("bin/outsider.py", OUTSIDER),
        ("bin/other_uid.py", OTHER_UID),
        ("bin/client.py", crate::rich_listen::CLIENT),
    ] {
        std::fs::write(rig.path(file), text).expect("write a script");
    }
    rig.service_file(
        "web.toml",
        &format!(
            "command = [{py}, {server}]\nfd-store-max = 2\nenv = {{ D = {d} }}\n\
             listen = [\"tcp:127.0.0.1:{port}\"]\n",
            py = toml_str(&python),
            server = toml_str(&format!("{d}/bin/server.py")),
            d = toml_str(&d),
        ),
    );
    let (ctl_a, ctl_b) = (format!("{d}/ctl.sock"), format!("{d}/ctl-b.sock"));
    let mut a = start(&rig, "ctl.sock", "a.stop", None);

    // A's service is up and has stored its pipe and socket: a take gives the listen
    // socket and the stored socket, never the pipe.
    let (taken, count) = wait_for("A's web to store its socket", || {
        a.assert_running("A's web");
        UnixStream::connect(&ctl_a).ok()?;
        let (got, count) = take(&ctl_a);
        (got.len() == 2).then_some((got, count))
    });
    assert_eq!(count, 2);
    let want_listen = handed(
        "web",
        "web.socket",
        Kind::Listen {
            address: format!("tcp:127.0.0.1:{port}"),
        },
    );
    assert_eq!(taken[0].0, want_listen);
    assert_eq!(taken[1].0, handed("web", "keep", Kind::Store));
    for (h, fd) in &taken {
        let st = nix::sys::stat::fstat(fd.as_raw_fd()).expect("fstat");
        assert_eq!(st.st_mode & libc::S_IFMT, libc::S_IFSOCK, "{h:?}");
    }

    let client = Run::new(&python)
        .args([format!("{d}/bin/client.py"), port.to_string()])
        .env("D", &d)
        .spawn();
    let npids = |n: &str| rig.read("client.npids").trim() == n;
    wait_for("the client's first answer", || npids("1").then_some(()));

    // Not root nor our uid: refused (the socket opened to all, so that the uid check is
    // what refuses).
    let other = format!("{d}/bin/other_uid.py");
    use std::os::unix::fs::PermissionsExt;
    let open_to_all = |p: &str| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).expect("chmod")
    };
    let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755));
    open_to_all(&ctl_a);
    let said = as_nobody(&python, &other, &ctl_a, "{\"cmd\":\"fds-take\"}");
    assert!(said.contains("permission denied"), "{said}");

    // A does not wait for a give: refused, and what came with it is closed.
    let (pr, pw) = std::io::pipe().expect("pipe");
    let pw = OwnedFd::from(pw);
    let refused = give(&ctl_a, &[(handed("web", "x", Kind::Store), &pw)], 1);
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("no hand-over is awaited")),
        "{refused:?}"
    );
    drop(pw);
    let mut ready = Vec::new();
    let polled = rich_init::sys::io::poll_readable(
        &[pr.as_raw_fd()],
        Some(Duration::from_secs(10)),
        &mut ready,
    );
    assert_eq!((polled, ready), (Ok(()), vec![true]), "the pipe stays open");
    let ended = rich_init::sys::io::read_some(pr.as_raw_fd(), &mut [0u8; 8]);
    assert_eq!(ended, Ok(0), "A kept a copy of the pipe it was given");

    // B waits; meanwhile other requests are told to come back, other uids refused.
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        + 10_000;
    let mut b = start(
        &rig,
        "ctl-b.sock",
        "b.stop",
        Some((HANDOVER_VAR, until.to_string())),
    );
    wait_for("B's control socket", || {
        b.assert_running("B's control socket");
        UnixStream::connect(&ctl_b).ok().map(drop)
    });
    let mut s = connect(&ctl_b);
    s.write_all(b"{\"cmd\":\"status\"}\n").expect("status");
    let mut text = String::new();
    let _ = std::io::Read::read_to_string(&mut s, &mut text);
    assert!(
        text.contains("waiting for an upgrade's descriptor hand-over"),
        "{text}"
    );
    open_to_all(&ctl_b);
    let said = as_nobody(&python, &other, &ctl_b, "{\"cmd\":\"fds-give\"}");
    assert!(said.contains("permission denied"), "{said}");

    // The give: A's two, a pipe, and a socket on an address nobody listens on.
    let (_r2, w2) = std::io::pipe().expect("pipe");
    let w2 = OwnedFd::from(w2);
    let stray = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let stray_addr = format!("tcp:{}", stray.local_addr().expect("address"));
    let stray = OwnedFd::from(stray);
    let mut items: Vec<(Handed, &OwnedFd)> = taken.iter().map(|(h, fd)| (h.clone(), fd)).collect();
    items.push((handed("web", "pipe", Kind::Store), &w2));
    let stray_kind = Kind::Listen {
        address: stray_addr,
    };
    items.push((handed("web", "stray", stray_kind), &stray));
    let given = give(&ctl_b, &items, 4);
    assert_eq!(given, Ok(Given { kept: 2, closed: 2 }));
    // Only the inits hold the socket from now on.
    drop(items);
    drop(taken);

    // A goes; B's web answers; never a refusal.
    std::fs::write(rig.path("a.stop"), "").expect("stop A");
    let out_a = a.wait();
    assert_eq!(out_a.code(), Some(0), "A: {out_a}");
    assert!(
        out_a.stderr.contains("hand-over: gave 2 descriptors"),
        "A: {out_a}"
    );
    wait_for("B's web to answer", || npids("2").then_some(()));

    // An FDSTORE=1 from outside B's web is refused: B's store keeps only `keep`.
    let env = rig.read("web.env");
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(lines.len(), 2, "{env}");
    let notify_b = field(lines[1], "notify");
    let out = Run::new(&python)
        .args([format!("{d}/bin/outsider.py"), notify_b.to_string()])
        .output();
    assert_eq!(out.code(), Some(0), "{out}");
    let (again, count) = take(&ctl_b);
    assert_eq!(count, 2, "{again:?}");
    let names: Vec<&str> = again.iter().map(|(h, _)| h.name.as_str()).collect();
    assert_eq!(names, ["web.socket", "keep"]);

    std::fs::write(rig.path("client.stop"), "").expect("stop the client");
    let out_c = client.wait();
    let counts = rig.read("client.out");
    assert_eq!(field(&counts, "refused"), "0", "{counts}\n{out_c}");
    assert!(
        field(&counts, "failed")
            .parse::<u32>()
            .is_ok_and(|f| f <= 1),
        "{counts}"
    );

    std::fs::write(rig.path("b.stop"), "").expect("stop B");
    let out_b = b.wait();
    assert_eq!(out_b.code(), Some(0), "B: {out_b}");

    // B's web got A's very socket and A's stored one.
    assert_eq!(field(lines[1], "names"), "web.socket:keep", "{env}");
    assert_eq!(field(lines[0], "ino"), field(lines[1], "ino"), "{env}");
    let kept_port = field(lines[0], "keep").trim_start_matches("new");
    assert_eq!(field(lines[1], "keep"), kept_port, "{env}");
    for want in [
        "waiting up to",
        "descriptor hand-over: received 4: kept 2, closed 2",
        "web/pipe (store): not a socket",
        "no service of this config listens on that address",
        "refused an fd-store message from pid",
    ] {
        assert!(out_b.stderr.contains(want), "B said no {want:?}: {out_b}");
    }
    assert!(!out_b.stderr.contains("cannot listen"), "{out_b}");
    assert!(rig.leftovers().is_empty(), "{:?}", rig.leftovers());
}

#[test]
fn handover_deadline_passes_and_the_variable_is_gone() {
    let rig = Rig::new("rich-handover-late");
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        + 300;
    rig.service("env", "env > \"$D/svc.env\"; exec sleep 1000", "");
    let script = "wait_file \"$D/svc.env\"; env > \"$D/cmd.env\"; exit 0";
    let out = rig
        .run(PidNs::Host, &["-v"], script)
        .env(HANDOVER_VAR, until.to_string())
        .output();
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stderr.contains("waiting up to"), "{out}");
    assert!(
        out.stderr.contains("deadline passed: binding afresh"),
        "{out}"
    );
    for file in ["svc.env", "cmd.env"] {
        assert!(!rig.read(file).contains(HANDOVER_VAR), "{file}");
    }
    // Malformed: one warning, no wait.
    let out = rig
        .run(PidNs::Host, &[], "exit 0")
        .env(HANDOVER_VAR, "soon")
        .output();
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stderr.contains(HANDOVER_VAR), "{out}");
    assert!(!out.stderr.contains("waiting up to"), "{out}");
    rig.assert_nothing_left(PidNs::Host, &out);
}
