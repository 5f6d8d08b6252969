//! The descriptor hand-over of an in-place upgrade (issue 17) for `.socket` units under
//! `rich-init --systemd`: in one runc container, init A (a subreaper under the
//! container's pid 1) boots web.socket + web.service (systemd_sockets.rs's pair and C
//! probe); a client connects in a loop; the probe's `handover` takes A's descriptors and
//! gives them to init B (the same units, waiting with RICH_INIT_HANDOVER_UNTIL); A is
//! stopped. Never refused, and B's web.service got the very socket A held (the same
//! inode): B never bound it, the port was never free.
//!
//! Both inits read the container's units (the unit search path is the root's); they
//! share its pid and network namespaces, and their control sockets differ.

use crate::oci_rig::write_file as write;
use crate::runc::{Bundle, Container, Runtime, Spec};
use crate::systemd_sockets::{build_c, build_probe, count, value, PORT, WEB_SERVICE, WEB_SOCKET};

/// `handover FROM TO`: `fds-take` on the control socket FROM, then `fds-give` of the same
/// lines with the same descriptors to TO (retried until TO accepts a connection); prints
/// `take=N` and `given=ANSWER`. Exit 0 when the give's answer is `"ok":true`.
const HANDOVER: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int to(const char *path) {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) { if (s >= 0) close(s); return -1; }
    return s;
}

static int put_all(int s, const char *p, size_t n) {
    while (n) { ssize_t w = write(s, p, n); if (w <= 0) return -1; p += w; n -= w; }
    return 0;
}

static char buf[1 << 16];
static int fds[256];

int main(int argc, char **argv) {
    if (argc != 3) return 64;
    int a = to(argv[1]);
    if (a < 0) return 10;
    const char *take = "{\"cmd\":\"fds-take\"}\n";
    if (put_all(a, take, strlen(take))) return 11;
    size_t len = 0;
    int nfds = 0;
    while (!(len > 0 && buf[len - 1] == '\n' && memmem(buf, len, "{\"end\"", 6))) {
        char cbuf[CMSG_SPACE(sizeof(int) * 16)];
        struct iovec iov = { .iov_base = buf + len, .iov_len = sizeof buf - 1 - len };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
        ssize_t r = recvmsg(a, &m, MSG_CMSG_CLOEXEC);
        if (r <= 0) return 12;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (int i = 0; i < k && nfds < 256; i++) memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
        len += r;
    }
    buf[len] = 0;
    printf("take=%d\n", nfds);
    int b;
    while ((b = to(argv[2])) < 0) usleep(10000);
    const char *give = "{\"cmd\":\"fds-give\"}\n";
    if (put_all(b, give, strlen(give))) return 13;
    int used = 0;
    for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        size_t n = nl + 1 - line;
        if (strncmp(line, "{\"fd\"", 5) != 0) { if (put_all(b, line, n)) return 14; continue; }
        if (used >= nfds) return 15;
        char cbuf[CMSG_SPACE(sizeof(int))];
        memset(cbuf, 0, sizeof cbuf);
        struct iovec iov = { .iov_base = line, .iov_len = n };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fds[used++], sizeof(int));
        ssize_t w = sendmsg(b, &m, 0);
        if (w < 0) return 16;
        if ((size_t)w < n && put_all(b, line + w, n - w)) return 17;
    }
    char ans[4096];
    size_t got = 0;
    ssize_t r;
    while (got + 1 < sizeof ans && (r = read(b, ans + got, sizeof ans - 1 - got)) > 0) {
        got += r;
        if (ans[got - 1] == '\n') break;
    }
    ans[got] = 0;
    printf("given=%s", ans);
    return strstr(ans, "\"ok\":true") ? 0 : 1;
}
"#;

#[test]
fn a_units_sockets_are_handed_to_the_new_init_and_never_refuse() {
    let bundle = Bundle::new();
    let root = bundle.rootfs();
    std::fs::create_dir_all(root.join("usr/local/bin")).expect("usr/local/bin");
    build_probe(&root.join("usr/local/bin/probe"));
    build_c(&root.join("usr/local/bin/handover"), HANDOVER);
    let lib = root.join("lib/systemd/system");
    write(&lib.join("web.socket"), WEB_SOCKET, 0o644);
    write(&lib.join("web.service"), WEB_SERVICE, 0o644);
    let wants = root.join("etc/systemd/system/sockets.target.wants");
    std::fs::create_dir_all(&wants).expect("wants dir");
    std::os::unix::fs::symlink("/lib/systemd/system/web.socket", wants.join("web.socket"))
        .expect("wants link");
    let script = format!(
        "wait_n() {{ while [ \"$(cat /shared/client.npids 2>/dev/null)\" != \"$1\" ]; do sleep 0.01; done; }}\n\
         wait_file() {{ while [ ! -e \"$1\" ]; do sleep 0.01; done; }}\n\
         rich-init --systemd -v --control-socket /run/a.sock -- /bin/sleep 600 2>/shared/a.err &\n\
         a=$!\n\
         wait_file /shared/web.pid\n\
         /usr/local/bin/probe client 127.0.0.1 {PORT} &\nclient=$!\n\
         wait_n 1\n\
         old=$(cat /shared/web.pid); rm /shared/web.pid\n\
         echo ino_a=$(readlink /proc/$old/fd/3)\n\
         RICH_INIT_HANDOVER_UNTIL=$(( $(date +%s) * 1000 + 30000 )) \
           rich-init --systemd -v --control-socket /run/b.sock -- /bin/sleep 600 2>/shared/b.err &\n\
         b=$!\n\
         /usr/local/bin/handover /run/a.sock /run/b.sock; echo handover_rc=$?\n\
         wait_file /shared/web.pid\n\
         new=$(cat /shared/web.pid)\n\
         echo ino_b=$(readlink /proc/$new/fd/3)\n\
         kill -TERM $a; wait $a; echo a_rc=$?\n\
         wait_n 2\n\
         : > /shared/client.stop; wait $client\n\
         echo client=\"$(cat /shared/client.out)\"\n\
         /usr/local/bin/probe once unix /run/web.sock; echo unix=$?\n\
         kill -TERM $b; wait $b; echo b_rc=$?\n\
         exit 0"
    );
    write(&root.join("check.sh"), &script, 0o755);
    let spec = Spec::new(&["/sbin/rich-init", "--", "/bin/sh", "/check.sh"])
        .env("PATH=/usr/bin:/sbin:/bin");
    bundle.write_config(&spec);
    let out = Container::run_bundle(Runtime::Runc, &bundle).wait();
    let shared = bundle.shared();
    let a_err = std::fs::read_to_string(shared.join("a.err")).unwrap_or_default();
    let b_err = std::fs::read_to_string(shared.join("b.err")).unwrap_or_default();
    let all = format!("{out}\n--- A:\n{a_err}\n--- B:\n{b_err}");
    assert_eq!(out.code(), Some(0), "{all}");
    let said = &out.stdout;
    // Both sockets of web.socket (ListenStream=18080 and /run/web.sock), under the unit's
    // name; A's stored pipe stays (a hand-over carries sockets only).
    assert_eq!(value(said, "take"), Some("2"), "{all}");
    assert_eq!(value(said, "handover_rc"), Some("0"), "{all}");
    assert!(
        a_err.contains("hand-over: gave 2 descriptors (web.service: 2 listen, 0 store)"),
        "{all}"
    );
    assert!(
        b_err.contains("descriptor hand-over: received 2: kept 2, closed 0"),
        "{all}"
    );
    // B's web.service got A's very socket: A still held the port when B booted, so a
    // fresh bind could not have succeeded.
    let ino_a = value(said, "ino_a").unwrap_or_default();
    assert!(ino_a.starts_with("socket:["), "{all}");
    assert_eq!(value(said, "ino_b"), Some(ino_a), "{all}");
    assert!(!b_err.contains("cannot listen"), "{all}");
    let counts = value(said, "client").unwrap_or_default();
    assert_eq!(count(counts, "refused"), 0, "{counts}\n{all}");
    assert_eq!(count(counts, "failed"), 0, "{counts}\n{all}");
    assert_eq!(value(said, "unix"), Some("0"), "{all}");
}
