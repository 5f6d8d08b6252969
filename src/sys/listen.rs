//! Listening sockets that the init holds for services (socket activation): bind one,
//! and, in a child between fork and exec, put the service's copies at fd 3 onwards
//! without FD_CLOEXEC (sd_listen_fds(3)). The init's own descriptors stay close-on-exec,
//! so no other child inherits them.

use super::Errno;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// The first descriptor passed (SD_LISTEN_FDS_START).
pub const LISTEN_FDS_START: RawFd = 3;

/// Where to listen.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Inet(SocketAddr),
    /// A stream socket at this path.
    Unix(&'a Path),
}

/// How to listen.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// SOCK_STREAM (and listen(2)) or SOCK_DGRAM.
    pub stream: bool,
    pub backlog: i32,
    pub reuse_port: bool,
    /// Unix sockets: the file's mode, and its owner and group (None: unchanged).
    pub mode: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// IPv6: IPV6_V6ONLY; without it `[::]:P` takes IPv4 connections too (dual-stack).
    pub v6_only: bool,
}

/// The step that failed, for the error line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Socket,
    SetOption(&'static str),
    RemoveStale,
    Bind,
    Listen,
    Chmod,
    Chown,
}

/// A failed step and its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    pub op: Op,
    pub errno: Errno,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            Op::Socket => "socket",
            Op::SetOption(name) => name,
            Op::RemoveStale => "remove the stale socket file",
            Op::Bind => "bind",
            Op::Listen => "listen",
            Op::Chmod => "chmod",
            Op::Chown => "chown",
        };
        write!(f, "{op}: {}", super::strerror(self.errno))
    }
}

fn fail(op: Op) -> impl Fn(Errno) -> Failed {
    move |errno| Failed { op, errno }
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Bind (and for a stream, listen on) `target`; the descriptor is close-on-exec and
/// blocking (the service decides).
pub fn open(target: Target, opts: Options) -> Result<OwnedFd, Failed> {
    let ty = if opts.stream {
        libc::SOCK_STREAM
    } else {
        libc::SOCK_DGRAM
    };
    let fd = match target {
        Target::Inet(addr) => {
            let domain = match addr {
                SocketAddr::V4(_) => libc::AF_INET,
                SocketAddr::V6(_) => libc::AF_INET6,
            };
            let fd = socket(domain, ty).map_err(fail(Op::Socket))?;
            if opts.stream {
                // A restarted init can bind again while old connections are in TIME_WAIT.
                set_flag(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR)
                    .map_err(fail(Op::SetOption("SO_REUSEADDR")))?;
            }
            if opts.reuse_port {
                set_flag(&fd, libc::SOL_SOCKET, libc::SO_REUSEPORT)
                    .map_err(fail(Op::SetOption("SO_REUSEPORT")))?;
            }
            if domain == libc::AF_INET6 {
                // tcp6:[::]:P next to tcp:0.0.0.0:P: each family on its own socket; or one
                // dual-stack socket, whatever net.ipv6.bindv6only says.
                set_int(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_V6ONLY,
                    opts.v6_only.into(),
                )
                .map_err(fail(Op::SetOption("IPV6_V6ONLY")))?;
            }
            bind_inet(&fd, addr).map_err(fail(Op::Bind))?;
            fd
        }
        Target::Unix(path) => {
            let fd = socket(libc::AF_UNIX, ty).map_err(fail(Op::Socket))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| fail(Op::Bind)(io_errno(&e)))?;
            }
            remove_stale(path).map_err(fail(Op::RemoveStale))?;
            super::unix_socket::bind(&fd, path).map_err(fail(Op::Bind))?;
            own_path(path, opts)?;
            fd
        }
    };
    if opts.stream {
        listen(&fd, opts.backlog).map_err(fail(Op::Listen))?;
    }
    Ok(fd)
}

/// A unix socket's file gets its mode, and its owner and group when given.
fn own_path(path: &Path, opts: Options) -> Result<(), Failed> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::Permissions::from_mode(opts.mode & 0o7777);
    std::fs::set_permissions(path, mode).map_err(|e| fail(Op::Chmod)(io_errno(&e)))?;
    if opts.uid.is_some() || opts.gid.is_some() {
        std::os::unix::fs::chown(path, opts.uid, opts.gid)
            .map_err(|e| fail(Op::Chown)(io_errno(&e)))?;
    }
    Ok(())
}

/// A socket bound elsewhere (handed over by an upgrade's old init) made as [`open`] would
/// have made it: listen(2) again for a stream (the new backlog), and a unix socket's file
/// its mode and owner.
pub fn adopt(fd: &OwnedFd, target: Target, opts: Options) -> Result<(), Failed> {
    if let Target::Unix(path) = target {
        own_path(path, opts)?;
    }
    if opts.stream {
        listen(fd, opts.backlog).map_err(fail(Op::Listen))?;
    }
    Ok(())
}

/// A socket file left at `path` by an earlier run is removed; one that someone still
/// accepts on is not (EADDRINUSE), nor is a file of another type (bind then fails).
fn remove_stale(path: &Path) -> Result<(), Errno> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if super::unix_socket::connect(path).is_ok() {
                return Err(Errno::EADDRINUSE);
            }
            std::fs::remove_file(path).map_err(|e| io_errno(&e))
        }
        _ => Ok(()),
    }
}

fn socket(domain: i32, ty: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: socket takes plain integers.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// setsockopt(level, name, 1).
fn set_flag(fd: &OwnedFd, level: i32, name: i32) -> Result<(), Errno> {
    set_int(fd, level, name, 1)
}

/// setsockopt(level, name, value) for an int option.
fn set_int(fd: &OwnedFd, level: i32, name: i32, value: libc::c_int) -> Result<(), Errno> {
    let v: libc::c_int = value;
    let len =
        libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `v` is a live c_int of `len` bytes for setsockopt to read.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            std::ptr::addr_of!(v).cast(),
            len,
        )
    };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

fn bind_inet(fd: &OwnedFd, addr: SocketAddr) -> Result<(), Errno> {
    let size = |n: usize| libc::socklen_t::try_from(n).map_err(|_| Errno::EINVAL);
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::sa_family_t::try_from(libc::AF_INET)
                    .map_err(|_| Errno::EINVAL)?,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            let len = size(std::mem::size_of::<libc::sockaddr_in>())?;
            // SAFETY: `sin` is a valid sockaddr_in of `len` bytes.
            let rc = unsafe { libc::bind(fd.as_raw_fd(), std::ptr::addr_of!(sin).cast(), len) };
            if rc != 0 {
                return Err(Errno::last());
            }
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::sa_family_t::try_from(libc::AF_INET6)
                    .map_err(|_| Errno::EINVAL)?,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            let len = size(std::mem::size_of::<libc::sockaddr_in6>())?;
            // SAFETY: `sin6` is a valid sockaddr_in6 of `len` bytes.
            let rc = unsafe { libc::bind(fd.as_raw_fd(), std::ptr::addr_of!(sin6).cast(), len) };
            if rc != 0 {
                return Err(Errno::last());
            }
        }
    }
    Ok(())
}

fn listen(fd: &OwnedFd, backlog: i32) -> Result<(), Errno> {
    // SAFETY: listen takes a descriptor and a backlog.
    if unsafe { libc::listen(fd.as_raw_fd(), backlog) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// In the child, before exec: `fds` become 3, 4, … in order, without FD_CLOEXEC. First
/// every one is copied above the target range (close-on-exec copies, so a source that
/// already sits at a target number does not keep its flag), then each is dup2'd into
/// place, which clears FD_CLOEXEC on the new number only. Whatever held a target number
/// before is replaced: the caller has already put the standard streams in place.
pub(crate) fn place(fds: &[RawFd]) -> Result<(), Errno> {
    let count = RawFd::try_from(fds.len()).map_err(|_| Errno::EMFILE)?;
    let above = LISTEN_FDS_START + count;
    let mut copies = Vec::with_capacity(fds.len());
    for fd in fds {
        // SAFETY: F_DUPFD_CLOEXEC takes a descriptor and the lowest number to use.
        let copy = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, above) };
        if copy < 0 {
            return Err(Errno::last());
        }
        copies.push(copy);
    }
    for (target, copy) in (LISTEN_FDS_START..).zip(copies) {
        // SAFETY: dup2 takes two descriptor numbers; `copy` is open and differs from
        // `target` (it is above the range).
        if unsafe { libc::dup2(copy, target) } < 0 {
            return Err(Errno::last());
        }
    }
    Ok(())
}

/// `LISTEN_PID=<pid>` written into `buf` as a NUL-terminated string (in the child: no
/// allocation). `buf` holds any pid.
pub fn listen_pid_var(pid: i32, buf: &mut [u8; 32]) -> &std::ffi::CStr {
    const PREFIX: &[u8] = b"LISTEN_PID=";
    let mut digits = [0u8; 12];
    let mut n = pid.unsigned_abs();
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    let digits = digits.get(start..).unwrap_or_default();
    let end = PREFIX.len() + digits.len();
    for (slot, b) in buf.iter_mut().zip(PREFIX.iter().chain(digits)) {
        *slot = *b;
    }
    if let Some(nul) = buf.get_mut(end) {
        *nul = 0;
    }
    std::ffi::CStr::from_bytes_until_nul(buf.as_slice()).unwrap_or(c"LISTEN_PID=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_pid() {
        let mut buf = [0xffu8; 32];
        for (pid, want) in [
            (1, "LISTEN_PID=1"),
            (42, "LISTEN_PID=42"),
            (4194304, "LISTEN_PID=4194304"),
            (i32::MAX, "LISTEN_PID=2147483647"),
        ] {
            assert_eq!(listen_pid_var(pid, &mut buf).to_str(), Ok(want));
        }
    }

    /// `[::]:P` without IPV6_V6ONLY takes IPv4 connections too; with it, not.
    #[test]
    fn dual_stack_or_v6_only() {
        for v6_only in [false, true] {
            let opts = Options {
                stream: true,
                backlog: 8,
                reuse_port: false,
                mode: 0o600,
                uid: None,
                gid: None,
                v6_only,
            };
            let addr: SocketAddr = "[::]:0".parse().unwrap_or_else(|e| panic!("{e}"));
            let fd = match open(Target::Inet(addr), opts) {
                Ok(fd) => fd,
                // No IPv6 here (a kernel or a netns without it): nothing to test.
                Err(f) if matches!(f.errno, Errno::EAFNOSUPPORT | Errno::EADDRNOTAVAIL) => return,
                Err(f) => panic!("{f}"),
            };
            let listener = std::net::TcpListener::from(fd);
            let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
            let v4 = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            assert_eq!(v4, !v6_only, "v6_only={v6_only}");
        }
    }

    #[test]
    fn binds_and_listens_on_loopback_and_unix() {
        let opts = Options {
            stream: true,
            backlog: 8,
            reuse_port: false,
            mode: 0o600,
            uid: None,
            gid: None,
            v6_only: true,
        };
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
        let fd = open(Target::Inet(addr), opts).unwrap_or_else(|e| panic!("{e}"));
        let listener = std::net::TcpListener::from(fd);
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

        let dir = std::env::temp_dir().join(format!("rich-init-listen-{}", std::process::id()));
        let path = dir.join("app.sock");
        let first = open(Target::Unix(&path), opts).unwrap_or_else(|e| panic!("{e}"));
        // Someone accepts there: not stale.
        let again = open(Target::Unix(&path), opts).err();
        assert_eq!(
            again.map(|f| (f.op, f.errno)),
            Some((Op::RemoveStale, Errno::EADDRINUSE))
        );
        drop(first);
        // Left behind by a closed socket: replaced.
        let second = open(Target::Unix(&path), opts);
        assert!(second.is_ok());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        let _ = std::fs::remove_dir_all(&dir);

        let failed = Failed {
            op: Op::Bind,
            errno: Errno::EADDRINUSE,
        };
        assert_eq!(failed.to_string(), "bind: Address already in use");
    }
}
