//! A unit's socket activation (`.socket` units, systemd.socket(5)) and its fd store
//! (FileDescriptorStoreMax=), kept by the init for the unit's whole life, as `listen` and
//! `fd-store-max` are for a services.d service (`rich::sockets`, `rich::fdstore`): the
//! sockets of the socket units that activate it are bound when the boot begins and held
//! across its restarts and crashes; its ExecStart= gets them at fd 3 onwards, then what it
//! stored, with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (sd_listen_fds(3)). Its other
//! commands (ExecStartPre=, ExecStop=, …) get none, as in systemd.

use crate::init::rich::fdstore::{FdMessage, FdStore};
use crate::init::rich::sockets::{listen_env, Sockets};
use crate::sys::Errno;
use crate::units::socket::SocketUnit;
use std::os::fd::RawFd;
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

    /// Whether any socket unit gives it sockets.
    pub fn any(&self) -> bool {
        !self.from.is_empty()
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

    /// The descriptors to pass to ExecStart= (the sockets, then the stored ones), and the
    /// LISTEN_FDS/LISTEN_FDNAMES variables for them (none when there are none).
    pub fn for_start(&self) -> (Vec<RawFd>, Vec<(String, String)>) {
        let mut fds: Vec<RawFd> = self.from.iter().flat_map(|f| f.sockets.fds()).collect();
        fds.extend(self.store.fds());
        let mut names: Vec<&str> = self.from.iter().flat_map(|f| f.sockets.names()).collect();
        names.extend(self.store.names());
        (fds, listen_env(&names))
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
}
