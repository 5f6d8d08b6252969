//! What a descriptor that came in a hand-over is, so that the init can check it before
//! it keeps it: a socket at all (fstat), its family and type (SO_DOMAIN, SO_TYPE), its
//! local address (getsockname) and whether it lives in our network namespace
//! (SO_NETNS_COOKIE, else SIOCGSKNS).

use super::Errno;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// The ioctl that opens a socket's network namespace (linux/sockios.h).
const SIOCGSKNS: libc::c_ulong = 0x894C;

/// A socket's local address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    Inet(SocketAddr),
    /// A unix socket's path; None when unnamed or abstract.
    Unix(Option<PathBuf>),
    /// Another family.
    Other,
}

/// What a socket descriptor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockInfo {
    /// AF_INET, AF_INET6, AF_UNIX, …
    pub domain: i32,
    /// SOCK_STREAM (else another type: SOCK_DGRAM, SOCK_SEQPACKET, …).
    pub stream: bool,
    /// SOCK_DGRAM.
    pub datagram: bool,
    pub local: Local,
    /// Whether it lives in our network namespace; None when the kernel cannot tell us
    /// (no SO_NETNS_COOKIE, and SIOCGSKNS refused: it needs CAP_NET_ADMIN). Asked of
    /// inet sockets only.
    pub same_netns: Option<bool>,
    /// SO_REUSEPORT is set.
    pub reuse_port: bool,
    /// IPV6_V6ONLY, for AF_INET6 sockets (None for others, or when it cannot be read).
    pub v6_only: Option<bool>,
}

/// Describe `fd`; Err(ENOTSOCK) when it is not a socket.
pub fn probe(fd: RawFd) -> Result<SockInfo, Errno> {
    // SAFETY: stat is plain old data; all zeros is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live stat for fstat to fill.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(Errno::last());
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(Errno::ENOTSOCK);
    }
    let domain = int_option(fd, libc::SO_DOMAIN)?;
    let ty = int_option(fd, libc::SO_TYPE)?;
    let reuse_port = int_option(fd, libc::SO_REUSEPORT).is_ok_and(|v| v != 0);
    let v6_only = (domain == libc::AF_INET6)
        .then(|| int_option_at(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY).ok())
        .flatten()
        .map(|v| v != 0);
    let local = local_address(fd)?;
    let same_netns = match domain {
        libc::AF_INET | libc::AF_INET6 => same_netns(fd),
        _ => None,
    };
    Ok(SockInfo {
        domain,
        stream: ty == libc::SOCK_STREAM,
        datagram: ty == libc::SOCK_DGRAM,
        local,
        same_netns,
        reuse_port,
        v6_only,
    })
}

fn int_option(fd: RawFd, name: i32) -> Result<i32, Errno> {
    int_option_at(fd, libc::SOL_SOCKET, name)
}

fn int_option_at(fd: RawFd, level: i32, name: i32) -> Result<i32, Errno> {
    let mut value: libc::c_int = 0;
    let mut len =
        libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `value` and `len` are live for getsockopt to write.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            std::ptr::addr_of_mut!(value).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(value)
}

fn local_address(fd: RawFd) -> Result<Local, Errno> {
    // SAFETY: sockaddr_storage is plain old data; all zeros is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::sockaddr_storage>();
    let mut len = libc::socklen_t::try_from(size).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `ss` has room for any address; `len` says how much.
    if unsafe { libc::getsockname(fd, std::ptr::addr_of_mut!(ss).cast(), &mut len) } != 0 {
        return Err(Errno::last());
    }
    let len = usize::try_from(len).unwrap_or(0).min(size);
    Ok(match i32::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in there (its family says so).
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::addr_of!(ss).cast::<libc::sockaddr_in>().read() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Local::Inet(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote a sockaddr_in6 there (its family says so).
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::addr_of!(ss).cast::<libc::sockaddr_in6>().read() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let port = u16::from_be(sin6.sin6_port);
            Local::Inet(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0)))
        }
        libc::AF_UNIX => {
            // SAFETY: the kernel wrote a sockaddr_un there (its family says so).
            let sun: libc::sockaddr_un =
                unsafe { std::ptr::addr_of!(ss).cast::<libc::sockaddr_un>().read() };
            let head = std::mem::size_of::<libc::sa_family_t>();
            let bytes: Vec<u8> = sun
                .sun_path
                .iter()
                .take(len.saturating_sub(head))
                .map(|c| {
                    let [b] = c.to_ne_bytes();
                    b
                })
                .collect();
            let path = bytes.split(|b| *b == 0).next().unwrap_or_default();
            // Abstract (a leading NUL) or unnamed: no path.
            let named = bytes.first().is_some_and(|b| *b != 0);
            Local::Unix(named.then(|| {
                use std::os::unix::ffi::OsStrExt;
                PathBuf::from(std::ffi::OsStr::from_bytes(path))
            }))
        }
        _ => Local::Other,
    })
}

/// Whether `fd` is in our network namespace: its namespace cookie against that of a
/// socket of our own (Linux 5.14, no privilege needed), else its namespace file (SIOCGSKNS,
/// CAP_NET_ADMIN) against /proc/self/ns/net; None when neither works.
fn same_netns(fd: RawFd) -> Option<bool> {
    let cookie = |fd: RawFd| -> Option<u64> {
        let mut value: u64 = 0;
        let mut len = libc::socklen_t::try_from(std::mem::size_of::<u64>()).ok()?;
        // SAFETY: `value` and `len` are live for getsockopt to write.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_NETNS_COOKIE,
                std::ptr::addr_of_mut!(value).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some(value)
    };
    if let Some(theirs) = cookie(fd) {
        // SAFETY: socket takes plain integers.
        let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if raw >= 0 {
            // SAFETY: a new descriptor that nobody else owns.
            let ours = unsafe { OwnedFd::from_raw_fd(raw) };
            if let Some(mine) = cookie(ours.as_raw_fd()) {
                return Some(theirs == mine);
            }
        }
    }
    // SAFETY: SIOCGSKNS takes no argument and returns a new descriptor (or -1).
    let ns = unsafe { libc::ioctl(fd, SIOCGSKNS as _) };
    if ns < 0 {
        return None;
    }
    // SAFETY: a new descriptor that nobody else owns.
    let ns = unsafe { OwnedFd::from_raw_fd(ns) };
    use std::os::unix::fs::MetadataExt;
    let theirs = std::fs::File::from(ns).metadata().ok()?;
    let mine = std::fs::metadata("/proc/self/ns/net").ok()?;
    Some((theirs.dev(), theirs.ino()) == (mine.dev(), mine.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::{UnixDatagram, UnixListener};

    #[test]
    fn probes() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = tcp.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let uaddr = udp.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let dir = std::env::temp_dir().join(format!("rich-init-sockinfo-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let unix = UnixListener::bind(&path).unwrap_or_else(|e| panic!("{e}"));
        let (pair, _) = UnixDatagram::pair().unwrap_or_else(|e| panic!("{e}"));
        let (r, _w) = std::io::pipe().unwrap_or_else(|e| panic!("{e}"));

        let t = probe(tcp.as_raw_fd()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.domain, t.stream, t.datagram, t.local.clone()),
            (libc::AF_INET, true, false, Local::Inet(addr))
        );
        // Ours: the same namespace, or the kernel cannot tell.
        assert_ne!(t.same_netns, Some(false));
        let u = probe(udp.as_raw_fd()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (u.domain, u.stream, u.datagram, u.local),
            (libc::AF_INET, false, true, Local::Inet(uaddr))
        );
        let x = probe(unix.as_raw_fd()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (x.domain, x.stream, x.local, x.same_netns),
            (libc::AF_UNIX, true, Local::Unix(Some(path.clone())), None)
        );
        let p = probe(pair.as_raw_fd()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.datagram, p.local), (true, Local::Unix(None)));
        assert_eq!(probe(r.as_raw_fd()), Err(Errno::ENOTSOCK));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
