//! `.socket` units under `rich-init --systemd` (systemd.socket(5), sd_listen_fds(3)), as
//! pid 1 of a runc container: only `web.socket` is enabled (sockets.target.wants), so the
//! boot brings `web.service` with it; the init binds `ListenStream=PORT` (dual-stack) and
//! `ListenStream=/run/web.sock` when the boot begins and holds them, and every start of
//! ExecStart= gets them at fd 3 onwards with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID,
//! then what it stored with FDSTORE=1 (FileDescriptorStoreMax=). A client connecting in a
//! loop across `systemctl restart` and a SIGKILL of the service is never refused.
//!
//! The rootfs is busybox: the server and the client are one small C program, built static
//! here (a C compiler is a prerequisite, as Rust's own linker is). Everything hand-shakes
//! through files in /shared; nothing is timed.

use crate::harness::require;
use crate::oci_rig::write_file as write;
use crate::runc::{Bundle, Container, Runtime, Spec};
use std::process::Command;

/// `probe server`: records what it was given in /shared/web.env (one line per start),
/// stores a pipe in the fd store on a start that got none, writes /shared/web.pid, and
/// answers each connection on any passed socket with its pid; SIGTERM ends it between two
/// connections. `probe client HOST PORT`: connects until /shared/client.stop exists,
/// /shared/client.npids is how many server pids answered so far, and /shared/client.out
/// has the counts. `probe once HOST PORT` (or `once unix PATH`): one answer, exit 0 if any.
const PROBE: &str = r#"
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static void put(const char *path, const char *text) {
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) exit(20);
    fputs(text, f);
    fclose(f);
    rename(tmp, path);
}

/* FDSTORE=1 FDNAME=kept with one end of a new pipe, to $NOTIFY_SOCKET (abstract: @…). */
static int store_one(void) {
    const char *addr = getenv("NOTIFY_SOCKET");
    int p[2];
    if (!addr || pipe(p) != 0) return -1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len = strlen(addr);
    if (len >= sizeof sa.sun_path) return -1;
    memcpy(sa.sun_path, addr, len);
    if (sa.sun_path[0] == '@') sa.sun_path[0] = 0;
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    char text[] = "FDSTORE=1\nFDNAME=kept";
    struct iovec iov = { .iov_base = text, .iov_len = strlen(text) };
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct msghdr m = { .msg_name = &sa, .msg_namelen = offsetof(struct sockaddr_un, sun_path) + len,
                        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int));
    int rc = sendmsg(s, &m, 0) < 0 ? -1 : 0;
    close(s); close(p[0]); close(p[1]);
    return rc;
}

static const char *family(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return "none";
    switch (ss.ss_family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    default: return "other";
    }
}

static int server(void) {
    const char *e_fds = getenv("LISTEN_FDS"), *e_pid = getenv("LISTEN_PID");
    const char *e_names = getenv("LISTEN_FDNAMES");
    int n = e_fds ? atoi(e_fds) : 0;
    char me[32], line[1024], fams[256] = "", clo[64] = "";
    snprintf(me, sizeof me, "%d", (int)getpid());
    for (int fd = 3; fd < 3 + n; fd++) {
        snprintf(fams + strlen(fams), sizeof fams - strlen(fams), "%s%s", fd > 3 ? "," : "", family(fd));
        snprintf(clo + strlen(clo), sizeof clo - strlen(clo), "%s%d", fd > 3 ? "," : "",
                 (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? 1 : 0);
    }
    struct stat st;
    snprintf(line, sizeof line,
             "pid=%s listen_pid=%s fds=%s names=%s cloexec=%s families=%s next_fd=%s\n", me,
             e_pid ? e_pid : "-", e_fds ? e_fds : "-", e_names ? e_names : "-", clo, fams,
             fstat(3 + n, &st) == 0 ? "open" : "closed");
    FILE *f = fopen("/shared/web.env", "a");
    if (!f) return 21;
    fputs(line, f);
    fclose(f);
    if (!e_pid || strcmp(e_pid, me) != 0 || n < 1) return 3;
    if (!strstr(e_names ? e_names : "", "kept") && store_one() != 0) return 4;
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    put("/shared/web.pid", me);
    struct pollfd pf[8];
    int listening = 0;
    for (int fd = 3; fd < 3 + n && listening < 8; fd++) {
        int type = 0;
        socklen_t tl = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM) {
            pf[listening].fd = fd;
            pf[listening].events = POLLIN;
            listening++;
        }
    }
    while (!stop) {
        if (poll(pf, listening, -1) < 0) continue;
        for (int i = 0; i < listening && !stop; i++) {
            if (!(pf[i].revents & POLLIN)) continue;
            int c = accept4(pf[i].fd, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0) continue;
            char buf[64];
            (void)!read(c, buf, sizeof buf);
            char out[40];
            int k = snprintf(out, sizeof out, "%s\n", me);
            (void)!write(c, out, k);
            close(c);
        }
    }
    return 0;
}

/* One connection: 0 answered (its pid in `pid`), 1 refused, 2 other failure. */
static int ask(const char *host, const char *port, char *pid, size_t size) {
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (!strcmp(host, "unix")) {
        struct sockaddr_un *u = (struct sockaddr_un *)&ss;
        u->sun_family = AF_UNIX;
        snprintf(u->sun_path, sizeof u->sun_path, "%s", port);
        len = sizeof *u;
    } else if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(atoi(port));
        inet_pton(AF_INET6, host, &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(atoi(port));
        inet_pton(AF_INET, host, &a->sin_addr);
        len = sizeof *a;
    }
    int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return 2;
    if (connect(s, (struct sockaddr *)&ss, len) != 0) {
        int refused = errno == ECONNREFUSED;
        close(s);
        return refused ? 1 : 2;
    }
    (void)!write(s, "hi\n", 3);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < size && (r = read(s, pid + got, size - 1 - got)) > 0) got += r;
    close(s);
    pid[got] = 0;
    if (got == 0 || pid[got - 1] != '\n') return 2;
    pid[got - 1] = 0;
    return 0;
}

static int client(const char *host, const char *port) {
    long ok = 0, refused = 0, failed = 0;
    char pids[16][32];
    int npids = 0;
    struct stat st;
    while (stat("/shared/client.stop", &st) != 0) {
        usleep(500);
        char pid[32];
        int r = ask(host, port, pid, sizeof pid);
        if (r == 1) { refused++; continue; }
        if (r == 2) { failed++; continue; }
        ok++;
        int seen = 0;
        for (int i = 0; i < npids; i++) seen |= !strcmp(pids[i], pid);
        if (!seen && npids < 16) {
            snprintf(pids[npids++], sizeof pids[0], "%s", pid);
            char text[16];
            snprintf(text, sizeof text, "%d", npids);
            put("/shared/client.npids", text);
        }
    }
    char out[128];
    snprintf(out, sizeof out, "ok=%ld refused=%ld failed=%ld pids=%d\n", ok, refused, failed, npids);
    put("/shared/client.out", out);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "server")) return server();
    if (argc == 4 && !strcmp(argv[1], "client")) return client(argv[2], argv[3]);
    char pid[32];
    if (argc == 4 && !strcmp(argv[1], "once")) return ask(argv[2], argv[3], pid, sizeof pid);
    return 64;
}
"#;

/// Build PROBE static into `at`.
pub(crate) fn build_probe(at: &std::path::Path) {
    build_c(at, PROBE);
}

/// Build the C program `source` static into `at`.
pub(crate) fn build_c(at: &std::path::Path, source: &str) {
    let cc = require("cc");
    let src = at.with_extension("c");
    std::fs::write(&src, source).expect("write the C source");
    let out = Command::new(&cc)
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(at)
        .arg(&src)
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "cc -static {} failed (install gcc and libc6-dev with `make deps`): {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&src);
}

/// The port of web.socket: the container has its own network namespace, where nothing
/// else listens.
pub(crate) const PORT: u16 = 18080;

pub(crate) const WEB_SOCKET: &str = "[Unit]
Description=Web socket
[Socket]
ListenStream=18080
ListenStream=/run/web.sock
SocketMode=0660
[Install]
WantedBy=sockets.target
";

pub(crate) const WEB_SERVICE: &str = "[Unit]
Description=Web server, socket-activated
[Service]
ExecStart=/usr/local/bin/probe server
Restart=always
RestartSec=100ms
FileDescriptorStoreMax=4
";

const ECHO_SOCKET: &str =
    "[Socket]\nListenStream=7\nAccept=yes\n[Install]\nWantedBy=sockets.target\n";
const ECHO_SERVICE: &str = "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n";

pub(crate) fn value<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("{key}=");
    out.lines()
        .rev()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
}

pub(crate) fn count(out: &str, name: &str) -> u64 {
    out.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in client output {out:?}"))
}

#[test]
fn socket_units_pass_their_sockets_and_keep_them_across_restart_and_sigkill() {
    let bundle = Bundle::new();
    let root = bundle.rootfs();
    std::fs::create_dir_all(root.join("usr/bin")).expect("usr/bin");
    std::fs::create_dir_all(root.join("usr/local/bin")).expect("usr/local/bin");
    build_probe(&root.join("usr/local/bin/probe"));
    let _ = std::fs::remove_file(root.join("usr/bin/systemctl"));
    std::os::unix::fs::symlink("/sbin/rich-init", root.join("usr/bin/systemctl"))
        .expect("systemctl link");
    let lib = root.join("lib/systemd/system");
    write(&lib.join("web.socket"), WEB_SOCKET, 0o644);
    write(&lib.join("web.service"), WEB_SERVICE, 0o644);
    // Per-connection instances (Accept=yes) are not supported: skipped with one line.
    write(&lib.join("echo.socket"), ECHO_SOCKET, 0o644);
    write(&lib.join("echo@.service"), ECHO_SERVICE, 0o644);
    // Only the sockets are enabled: web.service boots because of web.socket.
    let wants = root.join("etc/systemd/system/sockets.target.wants");
    std::fs::create_dir_all(&wants).expect("wants dir");
    for unit in ["web.socket", "echo.socket"] {
        std::os::unix::fs::symlink(format!("/lib/systemd/system/{unit}"), wants.join(unit))
            .expect("wants link");
    }
    let script = format!(
        "wait_n() {{ while [ \"$(cat /shared/client.npids 2>/dev/null)\" != \"$1\" ]; do sleep 0.01; done; }}\n\
         /usr/local/bin/probe client 127.0.0.1 {PORT} &\nclient=$!\n\
         wait_n 1\n\
         systemctl restart web.service; echo restart_rc=$?\n\
         wait_n 2\n\
         kill -KILL \"$(cat /shared/web.pid)\"\n\
         wait_n 3\n\
         : > /shared/client.stop; wait $client\n\
         echo client=\"$(cat /shared/client.out)\"\n\
         /usr/local/bin/probe once 127.0.0.1 {PORT}; echo v4=$?\n\
         if grep -q ' lo$' /proc/net/if_inet6 2>/dev/null; then\n\
           /usr/local/bin/probe once ::1 {PORT}; echo v6=$?\n\
         else echo v6=no-ipv6; fi\n\
         /usr/local/bin/probe once unix /run/web.sock; echo unix=$?\n\
         echo mode=$(stat -c %a /run/web.sock)\n\
         echo socket_active=$(systemctl is-active web.socket)\n\
         systemctl status web.socket > /shared/status.out 2>&1; echo status_rc=$?\n\
         systemctl list-units > /shared/list.out 2>&1; echo list_rc=$?\n\
         ls -l /proc/self/fd > /shared/cmd.fds\n\
         exit 0"
    );
    write(&root.join("check.sh"), &script, 0o755);
    let spec = Spec::new(&[
        "/sbin/rich-init",
        "--systemd",
        "-v",
        "--",
        "/bin/sh",
        "/check.sh",
    ])
    .env("PATH=/usr/bin:/sbin:/bin");
    bundle.write_config(&spec);
    let out = Container::run_bundle(Runtime::Runc, &bundle).wait();
    assert_eq!(out.code(), Some(0), "{out}");
    let said = &out.stdout;
    assert_eq!(value(said, "restart_rc"), Some("0"), "{out}");

    // 0 refused. A SIGKILL can break the one connection the server had accepted and not
    // yet answered (the client has one at a time); nothing else may fail.
    let counts = value(said, "client").unwrap_or_default();
    assert_eq!(count(counts, "refused"), 0, "{counts}\n{out}");
    assert!(count(counts, "failed") <= 1, "{counts}\n{out}");
    assert_eq!(count(counts, "pids"), 3, "{counts}\n{out}");

    // "8080" is [::]:8080, dual-stack (systemd.socket(5), ListenStream=; BindIPv6Only=).
    assert_eq!(value(said, "v4"), Some("0"), "{out}");
    assert!(matches!(value(said, "v6"), Some("0" | "no-ipv6")), "{out}");
    assert_eq!(value(said, "unix"), Some("0"), "{out}");
    assert_eq!(value(said, "mode"), Some("660"), "SocketMode=: {out}");

    // sd_listen_fds(3): fd 3 onwards in ListenStream= order, LISTEN_PID the exec'd process,
    // each named after its socket unit (FileDescriptorName= default), no FD_CLOEXEC,
    // nothing else of the init's above them; from the second start on, the stored pipe
    // after them (FileDescriptorStoreMax=, kept across a restart and a crash).
    let env = std::fs::read_to_string(bundle.shared().join("web.env")).unwrap_or_default();
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(lines.len(), 3, "three starts: {env}\n{out}");
    for (i, line) in lines.iter().enumerate() {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(field("listen_pid"), field("pid"), "{line}");
        let (fds, names, cloexec) = if i == 0 {
            ("2", "web.socket:web.socket", "0,0")
        } else {
            ("3", "web.socket:web.socket:kept", "0,0,0")
        };
        assert_eq!(field("fds"), fds, "{line}");
        assert_eq!(field("names"), names, "{line}");
        assert_eq!(field("cloexec"), cloexec, "{line}");
        assert!(field("families").starts_with("inet6,unix"), "{line}");
        assert_eq!(field("next_fd"), "closed", "{line}");
    }

    // systemctl: the socket unit is active (listening).
    assert_eq!(value(said, "socket_active"), Some("active"), "{out}");
    assert_eq!(value(said, "status_rc"), Some("0"), "{out}");
    let status = std::fs::read_to_string(bundle.shared().join("status.out")).unwrap_or_default();
    assert!(status.contains("active (listening)"), "{status}");
    assert_eq!(value(said, "list_rc"), Some("0"), "{out}");
    let list = std::fs::read_to_string(bundle.shared().join("list.out")).unwrap_or_default();
    assert!(
        list.lines()
            .any(|l| l.contains("web.socket") && l.contains("listening")),
        "{list}"
    );
    // The init's own copies are close-on-exec: CMD got none.
    let fds = std::fs::read_to_string(bundle.shared().join("cmd.fds")).unwrap_or_default();
    assert!(!fds.contains("socket:"), "CMD holds a socket: {fds}");
    assert!(!out.stderr.contains("cannot listen"), "{out}");
    assert!(
        !out.stderr.contains("web.socket:"),
        "no warning about it: {out}"
    );
    let accept: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("echo.socket"))
        .collect();
    assert_eq!(accept.len(), 1, "{out}");
    assert!(
        accept[0].contains(
            "echo.socket: Accept=yes (a service instance per connection) is not supported"
        ),
        "{out}"
    );
    assert!(!list.contains("echo"), "{list}");
}
