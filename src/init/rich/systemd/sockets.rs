//! A unit's socket activation (`.socket` units, systemd.socket(5)) and its fd store
//! (FileDescriptorStoreMax=), kept by the init for the unit's whole life, as `listen` and
//! `fd-store-max` are for a services.d service (`rich::sockets`, `rich::fdstore`): the
//! sockets of the socket units that activate it are bound when the boot begins and held
//! across its restarts and crashes; its ExecStart= gets them at fd 3 onwards, then what it
//! stored, with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (sd_listen_fds(3)). Its other
//! commands (ExecStartPre=, ExecStop=, …) get none, as in systemd.

use crate::config::Address;
use crate::init::rich::fdstore::{FdMessage, FdStore};
use crate::init::rich::sockets::{listen_env, Sockets};
use crate::logging::{Level, Logger, Msg};
use crate::sys::listen::Failed;
use crate::sys::Errno;
use crate::units::socket::SocketUnit;
use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// One socket unit's sockets: its name, its file, and the sockets.
struct FromUnit {
    name: String,
    file: PathBuf,
    sockets: Sockets,
}

/// What a unit holds in the init between its starts.
pub(in crate::init::rich) struct UnitSockets {
    from: Vec<FromUnit>,
    store: FdStore,
}

impl UnitSockets {
    pub fn new(fd_store_max: u32) -> UnitSockets {
        UnitSockets {
            from: Vec::new(),
            store: FdStore::with_key(fd_store_max, "FileDescriptorStoreMax"),
        }
    }

    /// The sockets of `socket` (its file at `file`) go to this unit too; a SocketUser= or
    /// SocketGroup= that /etc/passwd or /etc/group lacks is the line returned.
    pub fn add(&mut self, socket: &SocketUnit, file: &Path) -> Result<(), String> {
        let sockets = Sockets::new(&socket.listen, file).map_err(|p| p.to_string())?;
        self.from.push(FromUnit {
            name: socket.name.clone(),
            file: file.to_path_buf(),
            sockets,
        });
        Ok(())
    }

    /// Bind what is not bound yet; one line per socket that cannot be, naming `unit`, the
    /// socket unit's file, and the fix.
    pub fn bind(&mut self, unit: &str) -> Vec<(String, Errno)> {
        let mut lines = Vec::new();
        for f in &mut self.from {
            for e in f.sockets.bind() {
                lines.push((
                    format!(
                        "{unit}: cannot listen on {} ({}): {}; free the address or change \
                         ListenStream=/ListenDatagram= in {}",
                        e.address,
                        f.name,
                        e.failed,
                        f.file.display()
                    ),
                    e.failed.errno,
                ));
            }
        }
        lines
    }

    /// For a start of ExecStart= of `unit`: its sockets bound (what cannot be is said on
    /// `log`, and the first failure's errno fails the start), the descriptors to pass (the
    /// sockets, then the stored ones), and LISTEN_FDS/LISTEN_FDNAMES for them set in `env`.
    /// With none, `env` is left as it is.
    pub fn for_start(
        &mut self,
        unit: &str,
        log: &Logger,
        env: &mut Vec<(String, String)>,
    ) -> Result<Vec<RawFd>, Errno> {
        let failed = self.bind(unit);
        for (text, _) in &failed {
            log.emit(Msg::Rich {
                level: Level::Error,
                text,
            });
        }
        if let Some((_, errno)) = failed.first() {
            return Err(*errno);
        }
        let mut fds: Vec<RawFd> = self.from.iter().flat_map(|f| f.sockets.fds()).collect();
        fds.extend(self.store.fds());
        let mut names: Vec<&str> = self.from.iter().flat_map(|f| f.sockets.names()).collect();
        names.extend(self.store.names());
        if !names.is_empty() {
            // Ours (if we were socket-activated) must not reach it; the child adds its own.
            env.retain(|(k, _)| {
                !matches!(k.as_str(), "LISTEN_PID" | "LISTEN_FDS" | "LISTEN_FDNAMES")
            });
            env.extend(listen_env(&names));
        }
        Ok(fds)
    }

    /// Carry out what its notify datagrams asked of its fd store; the warnings to log.
    pub fn fd_messages(&mut self, unit: &str, file: &Path, msgs: Vec<FdMessage>) -> Vec<String> {
        let store = &mut self.store;
        msgs.into_iter()
            .flat_map(|m| store.apply(m, unit, file))
            .collect()
    }

    /// It stopped for good: close what it stored (FileDescriptorStorePreserve=no). Its
    /// sockets stay bound.
    pub fn clear_store(&mut self) {
        self.store.clear();
    }

    /// For a hand-over: its bound sockets (LISTEN_FDNAMES name, address, descriptor), and
    /// what its fd store holds (name, descriptor).
    #[allow(clippy::type_complexity)]
    pub fn handable(&self) -> (Vec<(&str, &Address, RawFd)>, Vec<(&str, RawFd)>) {
        let mut listen = Vec::new();
        for f in &self.from {
            f.sockets.bound(&mut listen);
        }
        (listen, self.store.held().collect())
    }

    /// Its sockets not bound yet: (index over all its socket units' sockets, address).
    pub fn unbound(&self) -> Vec<(usize, &crate::config::Listen)> {
        let mut out = Vec::new();
        let mut offset = 0;
        for f in &self.from {
            f.sockets.unbound(offset, &mut out);
            offset += f.sockets.len();
        }
        out
    }

    /// Take a handed-over socket as its socket `index` (as [`UnitSockets::unbound`] counts).
    pub fn adopt_listen(&mut self, index: usize, fd: OwnedFd) -> Result<(), Failed> {
        let mut offset = 0;
        for f in &mut self.from {
            let n = f.sockets.len();
            if index < offset + n {
                return f.sockets.adopt(index - offset, fd);
            }
            offset += n;
        }
        Err(Failed {
            op: crate::sys::listen::Op::Bind,
            errno: Errno::EEXIST,
        })
    }

    /// How many more descriptors its fd store takes (FileDescriptorStoreMax=).
    pub fn store_room(&self) -> usize {
        self.store.room()
    }

    /// Take a handed-over descriptor into its fd store (given back when full).
    pub fn adopt_stored(&mut self, name: &str, fd: OwnedFd) -> Result<(), OwnedFd> {
        self.store.adopt(name, fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Listen;
    use std::net::{Ipv4Addr, SocketAddrV4};

    fn socket(addresses: &[Address]) -> SocketUnit {
        let listen = addresses
            .iter()
            .map(|address| Listen {
                address: address.clone(),
                backlog: 8,
                reuse_port: false,
                mode: 0o666,
                owner: None,
                group: None,
                name: "web.socket".into(),
                v6_only: false,
            })
            .collect();
        SocketUnit {
            name: "web.socket".into(),
            service: "web.service".into(),
            listen,
            warnings: Vec::new(),
        }
    }

    fn loopback(port: u16) -> Address {
        Address::Tcp(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
    }

    /// sd_listen_fds(3): LISTEN_FDS and LISTEN_FDNAMES for the passed descriptors, an
    /// inherited LISTEN_PID dropped (the child sets its own), the unit's other variables
    /// kept; nothing at all without sockets.
    #[test]
    fn a_start_gets_its_sockets_and_their_variables() {
        let log = Logger::new(crate::cli::Personality::Rich, 0);
        let base = || {
            vec![
                ("LISTEN_PID".to_string(), "1".to_string()),
                ("LISTEN_ADDR".to_string(), "x".to_string()),
            ]
        };
        let mut none = UnitSockets::new(0);
        let mut env = base();
        assert_eq!(
            none.for_start("web.service", &log, &mut env),
            Ok(Vec::new())
        );
        assert_eq!(env, base());

        let mut held = UnitSockets::new(0);
        let file = Path::new("/lib/systemd/system/web.socket");
        held.add(&socket(&[loopback(0), loopback(0)]), file)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut env = base();
        let fds = held
            .for_start("web.service", &log, &mut env)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fds.len(), 2);
        let want = [
            ("LISTEN_ADDR", "x"),
            ("LISTEN_FDS", "2"),
            ("LISTEN_FDNAMES", "web.socket:web.socket"),
        ];
        let got: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
        // Held: the next start gets the same descriptors.
        let again = held.for_start("web.service", &log, &mut base());
        assert_eq!(again, Ok(fds));
    }

    /// A hand-over counts a unit's sockets over all its socket units, in order.
    #[test]
    fn a_handed_socket_lands_in_the_right_socket_unit() {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = a.local_addr().map(|a| a.port()).unwrap_or(0);
        let mut held = UnitSockets::new(1);
        let file = Path::new("/lib/systemd/system/web.socket");
        for address in [loopback(0), loopback(port)] {
            held.add(&socket(&[address]), file)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let want = [(0, loopback(0)), (1, loopback(port))];
        let unbound: Vec<(usize, Address)> = held
            .unbound()
            .into_iter()
            .map(|(i, l)| (i, l.address.clone()))
            .collect();
        assert_eq!(unbound, want);
        assert!(held.adopt_listen(1, a.into()).is_ok());
        let unbound: Vec<usize> = held.unbound().into_iter().map(|(i, _)| i).collect();
        assert_eq!(unbound, [0]);
        assert!(held
            .adopt_listen(
                1,
                std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap_or_else(|e| panic!("{e}"))
                    .into()
            )
            .is_err());
        assert_eq!(held.handable().0.len(), 1);
        assert_eq!(held.store_room(), 1);
    }

    #[test]
    fn a_socket_that_cannot_be_bound_is_one_line_naming_the_socket_unit() {
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = busy.local_addr().map(|a| a.port()).unwrap_or(0);
        let mut held = UnitSockets::new(0);
        let file = Path::new("/lib/systemd/system/web.socket");
        held.add(&socket(&[loopback(port)]), file)
            .unwrap_or_else(|e| panic!("{e}"));
        let failed = held.bind("web.service");
        let want = format!(
            "web.service: cannot listen on tcp:127.0.0.1:{port} (web.socket): bind: Address \
             already in use; free the address or change ListenStream=/ListenDatagram= in \
             /lib/systemd/system/web.socket"
        );
        assert_eq!(failed, [(want, Errno::EADDRINUSE)]);
    }
}
