//! The fd store (issue 17, part 2): sd_notify(3) FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1,
//! and `fd-store-max`, as systemd's FILE_DESCRIPTOR_STORE and systemd.service(5)
//! (FileDescriptorStoreMax=, FileDescriptorStorePreserve=no) describe them.
//!
//! The service (Python) follows a plan, one argument per start: at each start it writes
//! what it was given (LISTEN_FDS, LISTEN_FDNAMES, and for each passed descriptor what it
//! is: a socket's port, a pipe's inode and the bytes waiting in it) as a line of
//! $D/app.env, then does the start's steps, then writes $D/app.done.N and waits. Steps:
//! `wait` (write $D/app.up.N, wait for $D/go.N: the test counts the init's descriptors
//! meanwhile), `store:NAME:KIND,...` (new listening sockets or pipes with "hello" in
//! them, sent with FDSTORE=1 and FDNAME=NAME; `-` sends no FDNAME=, `bad` an invalid
//! one), `bare` (a pipe sent without FDSTORE=1), `remove:NAME` (FDSTOREREMOVE=1).
//! What it sends is described in $D/app.sent. Everything hand-shakes through files.

use crate::harness::require;
use crate::rich::{toml_str, Rig, NS};

const APP: &str = r#"
import fcntl, os, socket, stat, sys, time
D = os.environ["D"]
me = os.getpid()
try:
    with open(D + "/app.env") as f:
        start = len(f.readlines()) + 1
except FileNotFoundError:
    start = 1
plan = sys.argv[start] if start < len(sys.argv) else ""
n = int(os.environ.get("LISTEN_FDS", "0")) if os.environ.get("LISTEN_PID") == str(me) else 0
def describe(fd):
    st = os.fstat(fd)
    flag = fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    if stat.S_ISSOCK(st.st_mode):
        s = socket.socket(fileno=os.dup(fd))
        acc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        d = "sock/%d/%d/%d" % (s.getsockname()[1], acc, flag)
        s.close()
        return d
    if stat.S_ISFIFO(st.st_mode):
        os.set_blocking(fd, False)
        try:
            data = os.read(fd, 64).decode()
        except BlockingIOError:
            data = ""
        return "pipe/%d/%s/%d" % (st.st_ino, data, flag)
    return "other"
got = ",".join(describe(fd) for fd in range(3, 3 + n))
with open(D + "/app.env", "a") as f:
    f.write("start=%d lp=%d fds=%s names=%s got=%s\n" % (
        start, os.environ.get("LISTEN_PID") == str(me), os.environ.get("LISTEN_FDS"), os.environ.get("LISTEN_FDNAMES"), got))
with open(D + "/app.pid.tmp", "w") as f:
    f.write(str(me))
os.rename(D + "/app.pid.tmp", D + "/app.pid")
addr = os.environ["NOTIFY_SOCKET"]
addr = "\0" + addr[1:] if addr.startswith("@") else addr
note = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
note.connect(addr)
keep = []
def make(kind):
    if kind == "sock":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        keep.append(s)
        return s.fileno(), "sock/%d" % s.getsockname()[1]
    r, w = os.pipe()
    os.write(w, b"hello")
    keep.append(w)
    return r, "pipe/%d/hello" % os.fstat(r).st_ino
for step in filter(None, plan.split("+")):
    what, _, rest = step.partition(":")
    if what == "wait":
        open("%s/app.up.%d" % (D, start), "w").close()
        while not os.path.exists("%s/go.%d" % (D, start)):
            time.sleep(0.01)
    elif what == "store":
        name, _, kinds = rest.partition(":")
        made = [make(k) for k in kinds.split(",")]
        text = "FDSTORE=1\n"
        if name == "bad":
            text += "FDNAME=a:b\n"
        elif name != "-":
            text += "FDNAME=%s\n" % name
        socket.send_fds(note, [text.encode()], [fd for fd, _ in made])
        with open(D + "/app.sent", "a") as f:
            f.write("".join("%s %s\n" % (name, d) for _, d in made))
    elif what == "bare":
        fd, _ = make("pipe")
        socket.send_fds(note, [b"STATUS=not for the store\n"], [fd])
    elif what == "ready":
        note.send(b"READY=1\n")
    elif what == "remove":
        note.send(("FDSTOREREMOVE=1\nFDNAME=%s\n" % rest).encode())
open("%s/app.done.%d" % (D, start), "w").close()
while True:
    time.sleep(1)
"#;

fn ctl(rig: &Rig) -> String {
    format!(
        "{} ctl --socket {}/ctl.sock",
        crate::harness::bin().display(),
        rig.d()
    )
}

/// The app's service file: `extra` TOML lines, then one argument per start.
fn app(rig: &Rig, python: &str, extra: &str, plan: &[&str]) {
    let script = rig.path("bin/app.py");
    std::fs::write(&script, APP).expect("write the app");
    let args: Vec<String> = plan.iter().map(|p| toml_str(p)).collect();
    rig.service_file(
        "app.toml",
        &format!(
            "command = [{py}, {script}, {args}]\nrestart-delay = \"100ms\"\nenv = {{ D = {d} }}\n{extra}",
            py = toml_str(python),
            script = toml_str(&script.display().to_string()),
            args = args.join(", "),
            d = toml_str(rig.d()),
        ),
    );
}

/// Shell: `count NAME` writes how many descriptors the init (CMD's parent) has open
/// to $D/NAME; `go N` lets start N go on once it is up, and waits for it to be done.
const HELPERS: &str = "count() { ls /proc/$PPID/fd | wc -l > \"$D/$1\"; }\n\
    go() { wait_file \"$D/app.up.$1\"; count f$1; : > \"$D/go.$1\"; wait_file \"$D/app.done.$1\"; }\n\
    kill_app() { kill -KILL \"$(cat \"$D/app.pid\")\"; }\n";

/// The field `name=` of an app.env line.
fn field(line: &str, name: &str) -> String {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
        .to_string()
}

fn number(rig: &Rig, file: &str) -> usize {
    let text = rig.read(file);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{file}: not a count: {text:?}"))
}

/// What start 1 sent, by the name it was sent under (in order).
fn sent(rig: &Rig) -> Vec<(String, String)> {
    rig.read("app.sent")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect()
}

/// Stored descriptors survive a SIGKILL and a `ctl restart`, come back after the listen
/// sockets as the very objects sent (same port, still listening; same pipe, its bytes
/// still in it), under their names ("stored" for a missing or invalid FDNAME=);
/// FDSTOREREMOVE=1 closes them; `ctl stop` empties the store (FileDescriptorStorePreserve=no);
/// descriptors sent without FDSTORE=1 are closed at once. The init's descriptor count
/// says nothing leaks.
#[test]
fn stored_descriptors_survive_crash_and_restart_and_go_with_stop() {
    let python = require("python3").display().to_string();
    for ns in NS {
        let rig = Rig::new("rich-fdstore");
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe");
        let port = probe.local_addr().expect("its address").port();
        drop(probe);
        app(
            &rig,
            &python,
            &format!(
                "fd-store-max = 8\nlisten = [{{ address = \"tcp:127.0.0.1:{port}\", name = \"web\" }}]\n"
            ),
            &[
                "wait+store:x:sock+store:pipe:pipe+store:bad:pipe+bare",
                "wait+remove:pipe",
                "wait",
                "wait",
            ],
        );
        let script = format!(
            "{HELPERS}go 1\nkill_app\ngo 2\n{ctl} restart app > \"$D/restart.out\" 2>&1\ngo 3\n\
             {ctl} stop app > \"$D/stop.out\" 2>&1\n\
             until {ctl} status 2>&1 | grep -q '^app .*stopped'; do sleep 0.01; done\n\
             {ctl} start app > \"$D/start.out\" 2>&1\ngo 4\nexit 0",
            ctl = ctl(&rig),
        );
        let out = rig.run(ns, &[], &script).output();
        assert_eq!(out.code(), Some(0), "{ns:?}: {out}");

        let sent = sent(&rig);
        let desc = |name: &str| {
            sent.iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| d.clone())
                .unwrap_or_else(|| panic!("{ns:?}: nothing sent as {name}: {sent:?}"))
        };
        let (x, pipe, bad) = (desc("x"), desc("pipe"), desc("bad"));
        let env = rig.read("app.env");
        let lines: Vec<&str> = env.lines().collect();
        assert_eq!(lines.len(), 4, "{ns:?}: four starts: {env}\n{out}");
        let listen = format!("sock/{port}/1/0");
        // systemd's order: the listen sockets, then the store in the order it was filled.
        let want: [(&str, &str, String); 4] = [
            ("1", "web", listen.clone()),
            (
                "4",
                "web:x:pipe:stored",
                format!("{listen},{x}/1/0,{pipe}/0,{bad}/0"),
            ),
            // The pipe stored as "stored" was read at start 2: the same inode, now empty.
            (
                "3",
                "web:x:stored",
                format!("{listen},{x}/1/0,{}/0", bad.replace("/hello", "/")),
            ),
            ("1", "web", listen.clone()),
        ];
        for (line, (fds, names, got)) in lines.iter().zip(&want) {
            assert_eq!(field(line, "lp"), "1", "{ns:?}: LISTEN_PID: {line}\n{out}");
            assert_eq!(field(line, "fds"), *fds, "{ns:?}: {line}\n{out}");
            assert_eq!(field(line, "names"), *names, "{ns:?}: {line}\n{out}");
            assert_eq!(field(line, "got"), *got, "{ns:?}: {line}\n{out}");
        }
        // The init's descriptors: three stored at start 2 (the one sent without FDSTORE=1
        // closed at once), two at start 3, none after the stop.
        let f1 = number(&rig, "f1");
        assert_eq!(number(&rig, "f2"), f1 + 3, "{ns:?}: {out}");
        assert_eq!(number(&rig, "f3"), f1 + 2, "{ns:?}: {out}");
        assert_eq!(
            number(&rig, "f4"),
            f1,
            "{ns:?}: the store outlived the stop: {out}"
        );
        assert!(!out.stderr.contains("fd store"), "{ns:?}: {out}");
        assert!(!out.stderr.contains("FDSTORE"), "{ns:?}: {out}");
        rig.assert_nothing_left(ns, &out);
    }
}

/// fd-store-max: what does not fit is closed with one warning line; with 0 (the default)
/// nothing is kept and the warning says to set it.
#[test]
fn the_store_keeps_at_most_fd_store_max() {
    let python = require("python3").display().to_string();
    type Case = (&'static str, &'static str, usize, &'static str);
    let cases: &[Case] = &[
        (
            "fd-store-max = 2\n",
            "a:a",
            2,
            "service app: fd store full (fd-store-max = 2): closed 1 descriptor(s) named a",
        ),
        (
            "ready = { notify = true }\n",
            "None",
            0,
            "service app: FDSTORE=1 but fd-store-max is 0: closed 3 descriptor(s); set \
             fd-store-max in RIG/services.d/app.toml to keep them",
        ),
    ];
    for (extra, names, kept, warning) in cases {
        let rig = Rig::new("rich-fdstore-max");
        app(
            &rig,
            &python,
            extra,
            &["ready+wait+store:a:pipe,pipe,pipe", "ready+wait"],
        );
        let script = format!("{HELPERS}go 1\nkill_app\ngo 2\nexit 0");
        let out = rig.run(crate::harness::PidNs::Host, &[], &script).output();
        assert_eq!(out.code(), Some(0), "{extra}: {out}");
        let env = rig.read("app.env");
        let lines: Vec<&str> = env.lines().collect();
        assert_eq!(lines.len(), 2, "{extra}: {env}\n{out}");
        assert_eq!(field(lines[0], "names"), "None", "{extra}: {env}\n{out}");
        assert_eq!(field(lines[1], "names"), *names, "{extra}: {env}\n{out}");
        assert_eq!(
            number(&rig, "f2"),
            number(&rig, "f1") + kept,
            "{extra}: {out}"
        );
        let warning = warning.replace("RIG", rig.d());
        let said: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("FDSTORE") || l.contains("fd store"))
            .collect();
        assert_eq!(said.len(), 1, "{extra}: one line: {out}");
        assert!(said[0].ends_with(&warning), "{extra}: {out}");
        rig.assert_nothing_left(crate::harness::PidNs::Host, &out);
    }
}
