//! Services as the driver runs them: loaded from services.d and presets, checked before
//! anything starts (every problem at once), and what each spawn of one needs.

use super::error::{Problem, RichError};
use super::fdstore::{FdMessage, FdStore};
use super::output::{Output, SpawnCtx};
use super::sockets::{self, Sockets};
use crate::config::{self, Command, IdSpec, LogTarget, Ready};
use crate::supervisor::fleet::{Member, MemberKind};
use crate::sys::spawn::{Ids, Setup};
use crate::sys::users::{self, Identity};
use crate::sys::Errno;
use crate::{cli::RichSettings, scripts};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// One service's definition and what its spawns need.
pub(super) struct Svc {
    cfg: config::Service,
    argv: Vec<CString>,
    /// `ready = { command = … }`: the check's argv.
    check_argv: Option<Vec<CString>>,
    identity: Option<Identity>,
    /// `ready = { notify = true }` or fd-store-max > 0: the NOTIFY_SOCKET address it is
    /// given.
    notify_address: Option<String>,
    /// The readiness check running now.
    check: Option<i32>,
    /// `listen`: the sockets held for it.
    sockets: Sockets,
    /// The descriptors it stored with FDSTORE=1.
    store: FdStore,
    /// Whether fd-store messages from outside it have been warned about (once).
    outsider_warned: bool,
}

/// What loading gives: the fleet's members in start order, the services by name, and the
/// notify sockets (by service name) for the poller.
pub(super) struct Loaded {
    pub members: Vec<Member>,
    pub services: BTreeMap<String, Svc>,
    pub notify: Vec<(String, UnixDatagram)>,
}

/// A per-service sd_notify socket in the abstract namespace (no file to clean up, no
/// permissions to get wrong for a service that runs as another user).
pub(super) fn notify_socket(name: &str) -> std::io::Result<(UnixDatagram, String)> {
    use std::os::linux::net::SocketAddrExt;
    // Unique even between two pid-1 inits that share a network namespace.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let label = format!("rich-init/{}-{stamp}/notify/{name}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(label.as_bytes())?;
    let sock = UnixDatagram::bind_addr(&addr)?;
    sock.set_nonblocking(true)?;
    // Who sends what: only the service's own processes may use its fd store.
    use std::os::fd::AsRawFd;
    crate::sys::unix_socket::set_passcred(sock.as_raw_fd()).map_err(std::io::Error::from)?;
    Ok((sock, format!("@{label}")))
}

/// A command's argv; `None` names the argument with a NUL byte.
fn command_argv(command: &Command) -> Result<Vec<CString>, usize> {
    let words: Vec<&str> = match command {
        Command::Argv(v) => v.iter().map(String::as_str).collect(),
        Command::Shell(s) => vec!["/bin/sh", "-c", s],
    };
    words
        .iter()
        .enumerate()
        .map(|(i, w)| CString::new(*w).map_err(|_| i))
        .collect()
}

/// Load services.d and presets; every problem is in the error.
pub(super) fn load(rich: &RichSettings) -> Result<Loaded, RichError> {
    let exists = |program: &str| program_exists(program);
    let presets = config::preset_sources(&rich.presets, &exists).map_err(RichError::config)?;
    let cfg = if rich.services_dir_given || rich.services_dir.exists() {
        config::load_dir(&rich.services_dir, presets, &exists)
    } else {
        config::load(&presets, &exists)
    }
    .map_err(RichError::config)?;
    let mut problems = Vec::new();
    let mut loaded = Loaded {
        members: Vec::new(),
        services: BTreeMap::new(),
        notify: Vec::new(),
    };
    for (name, service) in &cfg.services {
        let file = || service.file.clone();
        let mut notify_address = None;
        // As systemd: a non-zero FileDescriptorStoreMax= gives the service a notify socket.
        if matches!(service.ready, Ready::Notify { .. }) || service.fd_store_max > 0 {
            match notify_socket(name) {
                Ok((sock, address)) => {
                    loaded.notify.push((name.clone(), sock));
                    notify_address = Some(address);
                }
                Err(source) => problems.push(Problem::NotifySocket {
                    file: file(),
                    source,
                }),
            }
        }
        let identity = match (&service.user, &service.group) {
            (None, None) => None,
            (user, group) => {
                let spec = |s: &IdSpec| match s {
                    IdSpec::Name(n) => n.clone(),
                    IdSpec::Id(i) => i.to_string(),
                };
                let user = user.as_ref().map_or_else(|| "0".to_string(), spec);
                match users::resolve_in(Path::new("/"), &user, group.as_ref().map(spec).as_deref())
                {
                    Ok(id) => Some(id),
                    Err(source) => {
                        problems.push(Problem::Identity {
                            file: file(),
                            source,
                        });
                        None
                    }
                }
            }
        };
        let nul = |key: &'static str, index: usize| Problem::NulInArgument {
            file: file(),
            key,
            index,
        };
        let argv = command_argv(&service.command).unwrap_or_else(|i| {
            problems.push(nul("command", i));
            Vec::new()
        });
        let check_argv = match &service.ready {
            Ready::Command { command, .. } => Some(command_argv(command).unwrap_or_else(|i| {
                problems.push(nul("ready", i));
                Vec::new()
            })),
            _ => None,
        };
        let sockets = Sockets::new(&service.listen, &service.file).unwrap_or_else(|p| {
            problems.push(p);
            Sockets::default()
        });
        let unit = Svc {
            cfg: service.clone(),
            argv,
            check_argv,
            identity,
            notify_address,
            check: None,
            sockets,
            store: FdStore::new(service.fd_store_max),
            outsider_warned: false,
        };
        loaded.services.insert(name.clone(), unit);
    }
    for name in rich.cmd_after.iter().flatten() {
        // With --systemd, a unit name (`ssh.service`) is checked against the units.
        let unit_name = rich.systemd && name.contains('.');
        if !unit_name && !cfg.services.contains_key(name) {
            problems.push(Problem::UnknownCmdAfter { name: name.clone() });
        }
    }
    loaded.members = cfg
        .start_order
        .iter()
        .filter_map(|name| cfg.services.get(name))
        .map(|service| Member {
            name: service.name.clone(),
            after: service.after.clone(),
            kind: MemberKind::Service(service.policy()),
        })
        .collect();
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(RichError::Config(problems))
    }
}

impl Svc {
    /// Its readiness check runs as `pid` now.
    pub fn checking(&mut self, pid: i32) {
        self.check = Some(pid);
    }

    /// The running check's pid, forgotten.
    pub fn take_check(&mut self) -> Option<i32> {
        self.check.take()
    }

    /// Whether `pid` is its current check (an earlier, cancelled one is not).
    pub fn is_check(&self, pid: i32) -> bool {
        self.check == Some(pid)
    }
    /// Carry out what its notify datagrams asked of its fd store, from its own processes
    /// only (`main_pid` and its group); the warnings to log.
    pub fn fd_messages(&mut self, name: &str, msgs: Vec<FdMessage>, main_pid: i32) -> Vec<String> {
        let mut warnings = Vec::new();
        let uid = self.identity.as_ref().map(|i| i.uid);
        let me = crate::sys::unix_socket::euid();
        for m in msgs {
            // pid 0: a sender outside our pid namespace (getpgid(0) would be our own group).
            let pgid = m
                .sender
                .filter(|s| s.pid > 0)
                .and_then(|s| crate::sys::pgid_of(s.pid));
            if !super::fdstore::sender_allowed(m.sender, main_pid, pgid, uid, me) {
                if !self.outsider_warned {
                    self.outsider_warned = true;
                    let who = m.sender.map_or("an unknown sender".to_string(), |s| {
                        format!("pid {} (uid {})", s.pid, s.uid)
                    });
                    warnings.push(format!(
                        "service {name}: refused an fd-store message from {who} and closed its {} \
                         descriptor(s): only the service's main process or its process group, \
                         running as root, our uid or the service's, may use its fd store (said \
                         once)",
                        m.fds.len()
                    ));
                }
                continue;
            }
            warnings.extend(self.store.apply(m, name, &self.cfg.file));
        }
        warnings
    }

    /// What a hand-over's take sends of it: its bound sockets (name, address, descriptor)
    /// and its fd store (name, descriptor).
    #[allow(clippy::type_complexity)]
    pub fn handable(&self) -> (Vec<(&str, &config::Address, i32)>, Vec<(&str, i32)>) {
        let mut listen = Vec::new();
        self.sockets.bound(&mut listen);
        (listen, self.store.held().collect())
    }

    /// Its `listen` sockets not bound yet: (index, address).
    pub fn unbound(&self) -> Vec<(usize, &config::Listen)> {
        let mut out = Vec::new();
        self.sockets.unbound(0, &mut out);
        out
    }

    /// Take a handed-over socket as its `listen` socket `index`.
    pub fn adopt_listen(
        &mut self,
        index: usize,
        fd: std::os::fd::OwnedFd,
    ) -> Result<(), crate::sys::listen::Failed> {
        self.sockets.adopt(index, fd)
    }

    /// How many more descriptors its fd store takes.
    pub fn store_room(&self) -> usize {
        self.store.room()
    }

    /// Take a handed-over descriptor into its fd store (given back when full).
    pub fn adopt_stored(
        &mut self,
        name: &str,
        fd: std::os::fd::OwnedFd,
    ) -> Result<(), std::os::fd::OwnedFd> {
        self.store.adopt(name, fd)
    }

    /// It stopped for good: close what it stored.
    pub fn clear_store(&mut self) {
        self.store.clear();
    }

    /// Bind its sockets when the boot begins; what fails is tried again (and said) when
    /// it starts.
    pub fn bind_sockets(&mut self) {
        let _ = self.sockets.bind();
    }

    /// Fork and exec the service as its file says, with its sockets (bound now if they
    /// are not yet; if one cannot be, it is said and the start fails with its errno).
    pub fn spawn(
        &mut self,
        name: &str,
        output: &mut Output,
        ctx: &SpawnCtx,
        environment: &[(String, String)],
    ) -> Result<i32, Errno> {
        let errors = self.sockets.bind();
        for e in &errors {
            let text = sockets::bind_error_line(name, &self.cfg.file, e);
            ctx.log.emit(crate::logging::Msg::Rich {
                level: crate::logging::Level::Error,
                text: &text,
            });
        }
        if let Some(e) = errors.first() {
            return Err(e.failed.errno);
        }
        let mut vars: BTreeMap<String, String> = crate::sort::map_of(environment.iter().cloned());
        if let Some(id) = &self.identity {
            for (key, value) in [
                ("HOME", &id.home),
                ("USER", &id.name),
                ("LOGNAME", &id.name),
            ] {
                if let Some(v) = value {
                    vars.insert(key.into(), v.clone());
                }
            }
        }
        vars.extend(self.cfg.env.clone());
        if let Some(address) = &self.notify_address {
            vars.insert("NOTIFY_SOCKET".into(), address.clone());
        }
        // Its sockets, then what it stored (systemd's order), at fd 3 onwards.
        let mut names: Vec<&str> = self.sockets.names().collect();
        names.extend(self.store.names());
        let mut listen_fds = self.sockets.fds();
        listen_fds.extend(self.store.fds());
        if !names.is_empty() {
            // Ours (if we were socket-activated) must not reach it; the child adds its own.
            vars.remove("LISTEN_PID");
            vars.extend(sockets::listen_env(&names));
        }
        let env: Vec<CString> = vars
            .iter()
            .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
            .collect();
        let cwd = self
            .cfg
            .working_dir
            .as_ref()
            .and_then(|d| CString::new(d.as_os_str().as_encoded_bytes()).ok());
        let groups = self
            .identity
            .as_ref()
            .map(|i| i.groups.clone())
            .unwrap_or_default();
        let ids = self.identity.as_ref().map(|i| Ids {
            uid: i.uid,
            gid: i.gid,
            groups: &groups,
        });
        let setup = Setup {
            env: Some(&env),
            cwd: cwd.as_deref(),
            ids,
            umask: self.cfg.umask,
            no_new_privs: self.cfg.no_new_privs,
            listen_fds: &listen_fds,
            ..Setup::default()
        };
        output.spawn(ctx, name, &self.argv, &setup, &self.cfg.log)
    }

    /// Fork and exec its readiness check once (output discarded); `None` when it has none.
    pub fn spawn_check(
        &self,
        name: &str,
        output: &mut Output,
        ctx: &SpawnCtx,
    ) -> Option<Result<i32, Errno>> {
        let argv = self.check_argv.as_ref()?;
        let label = format!("{name} ready check");
        Some(output.spawn(ctx, &label, argv, &Setup::default(), &LogTarget::None))
    }
}

/// Whether a program can be found: an absolute path to an executable file, or a name
/// in PATH.
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return scripts::is_executable_file(Path::new(program));
    }
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .any(|dir| scripts::is_executable_file(&Path::new(dir).join(program)))
}
