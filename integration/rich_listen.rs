//! Socket activation (issue 17, part 1): `listen` sockets bound by rich-init, passed by
//! the sd_listen_fds(3) contract, and held across `ctl restart` and a SIGKILL of the
//! service, so that a client connecting in a loop meanwhile is never refused.
//!
//! The server (Python) accepts on fd 3 when LISTEN_FDS and LISTEN_PID say it may, and
//! binds itself otherwise; it answers each connection with its pid. The client connects
//! in a bounded loop (at most about 2,000 a second) and counts answers, refusals and other
//! failures. Everything hand-shakes through files in the rig dir; nothing is timed.
//! Loopback on a port found free at run time, in the test's own network namespace (as
//! every rich-mode test runs).

use crate::harness::{bin, require, PidNs};
use crate::rich::{toml_str, Rig, NS};

/// The server: records what it was given in $D/web.env (one line per start), writes
/// $D/web.pid, then answers every connection with its pid. SIGTERM ends it between two
/// connections, never in the middle of one.
const SERVER: &str = r#"
import fcntl, os, select, signal, socket, sys
D = os.environ["D"]
me = os.getpid()
n = int(os.environ.get("LISTEN_FDS", "0"))
if n and os.environ.get("LISTEN_PID") == str(me):
    fds = list(range(3, 3 + n))
    lst = socket.socket(fileno=3)
else:
    fds = []
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", int(sys.argv[1])))
    lst.listen(128)
def family(fd):
    s = socket.socket(fileno=os.dup(fd))
    f = {socket.AF_INET: "inet", socket.AF_UNIX: "unix"}.get(s.family, str(s.family))
    s.close()
    return f
cloexec = ",".join(str(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC) for fd in fds)
# The descriptor just above the passed ones: nothing else of the init's may be open.
try:
    os.fstat(3 + n)
    extra = "open"
except OSError:
    extra = "closed"
line = "pid=%d listen_pid=%s fds=%s names=%s cloexec=%s families=%s port=%d next_fd=%s\n" % (
    me, os.environ.get("LISTEN_PID"), os.environ.get("LISTEN_FDS"),
    os.environ.get("LISTEN_FDNAMES"), cloexec, ",".join(family(fd) for fd in fds),
    lst.getsockname()[1], extra)
with open(D + "/web.env", "a") as f:
    f.write(line)
with open(D + "/web.pid.tmp", "w") as f:
    f.write(str(me))
os.rename(D + "/web.pid.tmp", D + "/web.pid")
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

/// The client: `client.py PORT`; connects until $D/client.stop exists, at most about
/// 2,000 times a second; $D/client.npids is how many server pids it has been answered
/// by so far; at the end $D/client.out has the counts.
pub(crate) const CLIENT: &str = r#"
import os, socket, sys, time
D = os.environ["D"]
port = int(sys.argv[1])
ok = refused = failed = 0
pids = []
while not os.path.exists(D + "/client.stop"):
    time.sleep(0.0005)
    s = socket.socket()
    s.settimeout(60)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"hi\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(64)
            if not chunk:
                break
            data += chunk
        if not data.endswith(b"\n"):
            failed += 1
            continue
        ok += 1
        pid = data.strip().decode()
        if pid not in pids:
            pids.append(pid)
            with open(D + "/client.npids.tmp", "w") as f:
                f.write(str(len(pids)))
            os.rename(D + "/client.npids.tmp", D + "/client.npids")
    except ConnectionRefusedError:
        refused += 1
    except OSError:
        failed += 1
    finally:
        s.close()
with open(D + "/client.out", "w") as f:
    f.write("ok=%d refused=%d failed=%d pids=%d\n" % (ok, refused, failed, len(pids)))
"#;

/// A loopback port that nothing listens on now.
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe socket");
    probe.local_addr().expect("the probe's address").port()
}

fn ctl(rig: &Rig) -> String {
    format!("{} ctl --socket {}/ctl.sock", bin().display(), rig.d())
}

/// The counts in client.out, by name.
fn count(out: &str, name: &str) -> u64 {
    out.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in client output {out:?}"))
}

#[test]
fn listen_sockets_survive_restart_and_sigkill_with_zero_refused() {
    let python = require("python3");
    for ns in NS {
        let rig = Rig::new("rich-listen");
        let port = free_port();
        let server = rig.path("bin/server.py");
        std::fs::write(&server, SERVER).expect("write the server");
        let client = rig.path("bin/client.py");
        std::fs::write(&client, CLIENT).expect("write the client");
        let sock = format!("{}/run/web.sock", rig.d());
        rig.service_file(
            "web.toml",
            &format!(
                "command = [{py}, {server}, \"{port}\"]\n\
                 restart-delay = \"100ms\"\n\
                 env = {{ D = {d} }}\n\
                 listen = [\"tcp:127.0.0.1:{port}\", {{ address = {unix}, name = \"ctl\", mode = \"0660\" }}]\n",
                py = toml_str(&python.display().to_string()),
                server = toml_str(&server.display().to_string()),
                unix = toml_str(&format!("unix:{sock}")),
                d = toml_str(rig.d()),
            ),
        );
        let script = format!(
            "wait_n() {{ while [ \"$(cat \"$D/client.npids\" 2>/dev/null)\" != \"$1\" ]; do sleep 0.01; done; }}\n\
             {py} \"$D/bin/client.py\" {port} &\nclient=$!\n\
             wait_n 1\n\
             {ctl} restart web > \"$D/restart.out\" 2>&1\n\
             wait_n 2\n\
             kill -KILL \"$(cat \"$D/web.pid\")\"\n\
             wait_n 3\n\
             : > \"$D/client.stop\"; wait $client\n\
             stat -c %a \"{sock}\" > \"$D/sock.mode\"\n\
             ls -l /proc/self/fd > \"$D/cmd.fds\"\n\
             exit 0",
            py = python.display(),
            ctl = ctl(&rig),
        );
        let out = rig.run(ns, &[], &script).output();
        assert_eq!(out.code(), Some(0), "{ns:?}: {out}");

        // 0 refused. A SIGKILL can break the one connection the server had accepted and
        // not yet answered (the client has one at a time); nothing else may fail.
        let counts = rig.read("client.out");
        assert_eq!(count(&counts, "refused"), 0, "{ns:?}: {counts}\n{out}");
        assert!(count(&counts, "failed") <= 1, "{ns:?}: {counts}\n{out}");
        assert_eq!(count(&counts, "pids"), 3, "{ns:?}: {counts}");
        assert!(count(&counts, "ok") >= 3, "{ns:?}: {counts}");

        // sd_listen_fds(3): fd 3 onwards in listen order, LISTEN_PID the exec'd process,
        // names as given or SERVICE.socket (systemd.socket(5), FileDescriptorName=), no
        // FD_CLOEXEC on them, nothing else of the init's above them; the same at every
        // start.
        let env = rig.read("web.env");
        let lines: Vec<&str> = env.lines().collect();
        assert_eq!(lines.len(), 3, "{ns:?}: three starts: {env}");
        for line in &lines {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(&format!("{name}=")))
                    .unwrap_or_default()
                    .to_string()
            };
            assert_eq!(field("listen_pid"), field("pid"), "{ns:?}: {line}");
            assert_eq!(field("fds"), "2", "{ns:?}: {line}");
            assert_eq!(field("names"), "web.socket:ctl", "{ns:?}: {line}");
            assert_eq!(field("cloexec"), "0,0", "{ns:?}: {line}");
            assert_eq!(field("families"), "inet,unix", "{ns:?}: {line}");
            assert_eq!(field("port"), port.to_string(), "{ns:?}: {line}");
            assert_eq!(field("next_fd"), "closed", "{ns:?}: {line}");
        }
        assert_eq!(rig.read("sock.mode").trim(), "660", "{ns:?}");
        // The init's own copies are close-on-exec: CMD (and its children) got none.
        let fds = rig.read("cmd.fds");
        assert!(
            !fds.contains("socket:"),
            "{ns:?}: CMD holds a socket: {fds}"
        );
        assert!(!out.stderr.contains("cannot listen"), "{ns:?}: {out}");
        rig.assert_nothing_left(ns, &out);
    }
}

#[test]
fn listen_bind_failure_fails_that_service_only() {
    let rig = Rig::new("rich-listen-busy");
    // Held by the test: the service's socket cannot be bound.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a busy socket");
    let port = busy.local_addr().expect("its address").port();
    rig.service_file(
        "web.toml",
        &format!(
            "command = [\"/bin/sleep\", \"1000\"]\nrestart = \"never\"\n\
             listen = [\"tcp:127.0.0.1:{port}\"]\n"
        ),
    );
    rig.service("other", "echo $$ > \"$D/other.pid\"; exec sleep 1000", "");
    let script = format!(
        "while ! {ctl} status > \"$D/status\" 2>&1 || ! grep -q failed \"$D/status\"; do sleep 0.01; done\n\
         wait_file \"$D/other.pid\"\nexit 0",
        ctl = ctl(&rig)
    );
    let out = rig.run(PidNs::Host, &[], &script).output();
    assert_eq!(out.code(), Some(0), "the init goes on: {out}");
    let want = format!(
        "service web: cannot listen on tcp:127.0.0.1:{port}: bind: Address already in use; \
         free the address or change key \"listen\" in {}/services.d/web.toml",
        rig.d()
    );
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("cannot listen"))
        .collect();
    assert_eq!(said.len(), 1, "one line: {out}");
    assert!(said[0].ends_with(&want), "{out}");
    drop(busy);
    rig.assert_nothing_left(PidNs::Host, &out);
}
