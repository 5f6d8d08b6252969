//! Socket activation (`listen`): the sockets the init binds for a service and holds for
//! its whole life, across restarts and crashes, so that the kernel queues connections
//! while the service is down; and what each spawn of it gets (sd_listen_fds(3)).
//!
//! Binding happens when the boot begins (before init scripts and before any service
//! starts; a failure then is not said), and again at each start for whatever is still
//! unbound. A socket that cannot be bound at a start is one error line, naming the
//! service, the address and the errno text; the start fails as a failed spawn does, and
//! the service's restart policy decides what follows. The init and the other services
//! go on.

use super::error::Problem;
use crate::config::{self, Address, IdSpec};
use crate::sys::listen::{self, Failed, Options, Target};
use crate::sys::users;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

/// One socket: what it is, and the init's descriptor once bound (close-on-exec).
struct Held {
    cfg: config::Listen,
    uid: Option<u32>,
    gid: Option<u32>,
    fd: Option<OwnedFd>,
}

impl Held {
    /// Where and how to bind it.
    fn how(&self) -> (Target<'_>, Options) {
        let cfg = &self.cfg;
        let opts = Options {
            stream: cfg.address.is_stream(),
            backlog: i32::try_from(cfg.backlog).unwrap_or(i32::MAX),
            reuse_port: cfg.reuse_port,
            mode: cfg.mode,
            uid: self.uid,
            gid: self.gid,
            v6_only: cfg.v6_only,
        };
        let target = match &cfg.address {
            Address::Tcp(a) | Address::Udp(a) => Target::Inet(SocketAddr::V4(*a)),
            Address::Tcp6(a) | Address::Udp6(a) => Target::Inet(SocketAddr::V6(*a)),
            Address::Unix(path) => Target::Unix(path),
        };
        (target, opts)
    }
}

/// A service's sockets, in `listen` order.
#[derive(Default)]
pub(super) struct Sockets {
    held: Vec<Held>,
}

/// A socket that could not be bound, for the error line.
pub(super) struct BindError {
    pub address: String,
    pub failed: Failed,
}

impl Sockets {
    /// The sockets of `listen`, their owners and groups resolved in /etc/passwd and
    /// /etc/group (a unix socket's owner without a group gets the owner's group).
    pub fn new(listen: &[config::Listen], file: &Path) -> Result<Sockets, Problem> {
        let spec = |s: &IdSpec| match s {
            IdSpec::Name(n) => n.clone(),
            IdSpec::Id(i) => i.to_string(),
        };
        let mut held = Vec::with_capacity(listen.len());
        for cfg in listen {
            let (uid, gid) = match (&cfg.owner, &cfg.group) {
                (None, None) => (None, None),
                (owner, group) => {
                    let user = owner.as_ref().map_or_else(|| "0".to_string(), spec);
                    let group = group.as_ref().map(spec);
                    let id = users::resolve_in(Path::new("/"), &user, group.as_deref()).map_err(
                        |source| Problem::Identity {
                            file: file.to_path_buf(),
                            source,
                        },
                    )?;
                    (cfg.owner.as_ref().map(|_| id.uid), Some(id.gid))
                }
            };
            held.push(Held {
                cfg: cfg.clone(),
                uid,
                gid,
                fd: None,
            });
        }
        Ok(Sockets { held })
    }

    /// Bind every socket not bound yet; the ones that failed (the others stay bound).
    pub fn bind(&mut self) -> Vec<BindError> {
        let mut errors = Vec::new();
        for held in self.held.iter_mut().filter(|h| h.fd.is_none()) {
            let cfg = &held.cfg;
            let (target, opts) = held.how();
            match listen::open(target, opts) {
                Ok(fd) => held.fd = Some(fd),
                Err(failed) => errors.push(BindError {
                    address: cfg.address.to_string(),
                    failed,
                }),
            }
        }
        errors
    }

    /// The sockets not bound yet, onto `out`: (`offset` + index in `listen`, entry).
    pub fn unbound<'a>(&'a self, offset: usize, out: &mut Vec<(usize, &'a config::Listen)>) {
        for (i, h) in self.held.iter().enumerate() {
            if h.fd.is_none() {
                out.push((offset + i, &h.cfg));
            }
        }
    }

    /// The bound ones, for a hand-over, onto `out`: (LISTEN_FDNAMES name, address,
    /// descriptor).
    pub fn bound<'a>(&'a self, out: &mut Vec<(&'a str, &'a Address, RawFd)>) {
        for h in &self.held {
            if let Some(fd) = &h.fd {
                out.push((h.cfg.name.as_str(), &h.cfg.address, fd.as_raw_fd()));
            }
        }
    }

    /// Take `fd`, handed over by an upgrade's old init, as socket `index` (not bound yet):
    /// with this config's backlog, and a unix socket file's mode and owner.
    pub fn adopt(&mut self, index: usize, fd: OwnedFd) -> Result<(), Failed> {
        let Some(held) = self.held.get_mut(index).filter(|h| h.fd.is_none()) else {
            return Err(Failed {
                op: listen::Op::Bind,
                errno: crate::sys::Errno::EEXIST,
            });
        };
        let (target, opts) = held.how();
        listen::adopt(&fd, target, opts)?;
        held.fd = Some(fd);
        Ok(())
    }

    /// The descriptors to pass, in order; only complete when [`Sockets::bind`] found no
    /// error.
    pub fn fds(&self) -> Vec<RawFd> {
        let fds = self.held.iter().filter_map(|h| h.fd.as_ref());
        fds.map(AsRawFd::as_raw_fd).collect()
    }

    /// How many it has, bound or not.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Their names for LISTEN_FDNAMES, in the same order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(|h| h.cfg.name.as_str())
    }
}

/// The variables sd_listen_fds_with_names(3) reads, besides LISTEN_PID: none for no
/// sockets.
pub(super) fn listen_env(names: &[&str]) -> Vec<(String, String)> {
    if names.is_empty() {
        return Vec::new();
    }
    vec![
        ("LISTEN_FDS".to_string(), names.len().to_string()),
        ("LISTEN_FDNAMES".to_string(), names.join(":")),
    ]
}

/// The error line for a socket that cannot be bound.
pub(super) fn bind_error_line(service: &str, file: &Path, e: &BindError) -> String {
    format!(
        "service {service}: cannot listen on {}: {}; free the address or change key \
         \"listen\" in {}",
        e.address,
        e.failed,
        file.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::listen::Op;
    use crate::sys::Errno;

    #[test]
    fn environment() {
        type Case = (
            &'static [&'static str],
            &'static [(&'static str, &'static str)],
        );
        let cases: &[Case] = &[
            (&[], &[]),
            (
                &["app.socket"],
                &[("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "app.socket")],
            ),
            (
                &["http", "app.socket", "admin"],
                &[
                    ("LISTEN_FDS", "3"),
                    ("LISTEN_FDNAMES", "http:app.socket:admin"),
                ],
            ),
        ];
        for (names, want) in cases {
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(listen_env(names), want, "{names:?}");
        }
    }

    #[test]
    fn error_line() {
        let e = BindError {
            address: "tcp:0.0.0.0:8080".into(),
            failed: Failed {
                op: Op::Bind,
                errno: Errno::EADDRINUSE,
            },
        };
        assert_eq!(
            bind_error_line("app", Path::new("services.d/app.toml"), &e),
            "service app: cannot listen on tcp:0.0.0.0:8080: bind: Address already in use; free \
             the address or change key \"listen\" in services.d/app.toml"
        );
    }
}
