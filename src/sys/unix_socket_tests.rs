//! Descriptors over unix sockets, senders' credentials, and connects that time out.

use super::*;
use std::os::unix::net::UnixStream;

#[test]
fn descriptors_travel_with_their_line() {
    let (a, b) = UnixStream::pair().expect("socketpair");
    let (r, w) = std::io::pipe().expect("pipe");
    for count in [0usize, 1, 3, 253] {
        let fds: Vec<RawFd> = (0..count).map(|_| w.as_raw_fd()).collect();
        let line = format!("line {count}\n");
        send_fds(a.as_raw_fd(), line.as_bytes(), &fds).expect("send");
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        let n = recv_fds_wait(b.as_raw_fd(), &mut buf, &mut got).expect("recv");
        assert_eq!(buf.get(..n), Some(line.as_bytes()));
        assert_eq!(got.len(), count);
        for fd in &got {
            assert!(same_file(fd.as_raw_fd(), w.as_raw_fd()));
        }
    }
    assert_eq!(send_fds(a.as_raw_fd(), b"x", &[0; 254]), Err(Errno::EINVAL));
    assert_eq!(send_fds(a.as_raw_fd(), b"", &[]), Err(Errno::EINVAL));
    drop(r);
}

#[test]
fn a_connect_to_a_full_backlog_times_out() {
    let dir = std::env::temp_dir().join(format!("ri-connect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("full.sock");
    let listener = socket(0).expect("socket");
    bind(&listener, &path).expect("bind");
    // SAFETY: listen takes a descriptor and a backlog.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let timeout = std::time::Duration::from_millis(100);
    // A backlog of 0 still queues one; the next ones find it full.
    let mut kept = Vec::new();
    let started = std::time::Instant::now();
    let got = loop {
        match connect_timeout(&path, timeout) {
            Ok(s) if kept.len() < 8 => kept.push(s),
            Ok(_) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    assert_eq!(got, Err(Errno::ETIMEDOUT));
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_millis(80), "{took:?}");
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn senders_are_known_with_passcred() {
    use std::os::unix::net::UnixDatagram;
    let (a, b) = UnixDatagram::pair().expect("socketpair");
    b.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 16];
    let mut fds = Vec::new();
    a.send(b"READY=1").expect("send");
    let got = recv_fds_from(b.as_raw_fd(), &mut buf, &mut fds).expect("recv");
    assert_eq!(got, (7, None));
    set_passcred(b.as_raw_fd()).expect("SO_PASSCRED");
    let (r, _w) = std::io::pipe().expect("pipe");
    send_fds(a.as_raw_fd(), b"FDSTORE=1", &[r.as_raw_fd()]).expect("send");
    let got = recv_fds_from(b.as_raw_fd(), &mut buf, &mut fds).expect("recv");
    let me = Sender {
        pid: crate::sys::getpid(),
        uid: euid(),
    };
    assert_eq!(got, (9, Some(me)));
    assert_eq!(fds.len(), 1);
    assert_eq!(
        recv_fds_from(b.as_raw_fd(), &mut buf, &mut fds),
        Err(Errno::EAGAIN)
    );
}
