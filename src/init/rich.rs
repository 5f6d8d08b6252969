//! Rich mode: the container environment written out, init scripts, services in
//! dependency order, CMD, supervision, and an orderly shutdown (CMD, services in
//! reverse order, everything left, stop.d). The loop itself is in `rich_loop.rs`.

use super::forward::{Handoff, Rules};
use super::rich_loop::Pipe;
use super::{build_argv, child_exit_code, set_up_reaping, shutdown, signal_cmd, spawn_cmd};
use crate::cli::{RichSettings, Settings};
use crate::config::{self, Command, IdSpec, LogTarget, Ready};
use crate::error::Error;
use crate::logging::{Level, Logger, Msg};
use crate::logsink::LineBuffer;
use crate::procs::{Owner, Procs};
use crate::supervisor::service::{Event, Phase, Service};
use crate::sys::signals::{self, SigSet, SignalFd};
use crate::sys::spawn::{self, ChildEvent, ChildSignals, Ids, Placement, Setup};
use crate::sys::users::{self, Identity};
use crate::sys::{io, reap, Errno};
use crate::{envfile, scripts};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A service file or preset is wrong: every problem was printed, nothing started.
pub const EXIT_CONFIG: i32 = 78;
/// An init script failed: nothing else was started.
pub const EXIT_INIT_SCRIPT: i32 = 79;
/// A `critical` service failed for good and the container was shut down.
pub const EXIT_CRITICAL: i32 = 80;
/// How long SIGKILLed processes get to be reaped before we move on.
const AFTER_KILL: Duration = Duration::from_secs(2);

/// One service: its definition, its state machine, what its spawns need.
pub(crate) struct Svc {
    pub cfg: config::Service,
    pub machine: Service,
    pub check: Option<i32>,
    pub identity: Option<Identity>,
    /// `ready = { notify = true }`: the socket it sends READY=1 to (NOTIFY_SOCKET).
    pub notify: Option<(UnixDatagram, String)>,
}

/// A per-service sd_notify socket in the abstract namespace (no file to clean up, no
/// permissions to get wrong for a service that runs as another user).
fn notify_socket(name: &str) -> std::io::Result<(UnixDatagram, String)> {
    use std::os::linux::net::SocketAddrExt;
    // Unique even between two pid-1 inits that share a network namespace.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let label = format!("rich-init/{}-{stamp}/notify/{name}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(label.as_bytes())?;
    let sock = UnixDatagram::bind_addr(&addr)?;
    sock.set_nonblocking(true)?;
    Ok((sock, format!("@{label}")))
}

pub(crate) struct Rich<'a> {
    pub settings: &'a Settings,
    pub log: &'a Logger,
    pub sigfd: &'a SignalFd,
    pub mask: SigSet,
    pub rules: Rules,
    pub handoff: Handoff,
    pub procs: Procs,
    pub services: BTreeMap<String, Svc>,
    pub pipes: Vec<Pipe>,
    pub cmd: Option<i32>,
    pub cmd_status: Option<i32>,
    pub script_exits: Vec<(i32, i32)>,
    pub stopping: bool,
    pub critical_failed: bool,
    /// `ctl shutdown CODE`: exit with this instead of CMD's code.
    pub requested_code: Option<u8>,
    /// The signal that started the shutdown: 128+it is the exit code when CMD never ran.
    pub stop_signal: Option<i32>,
    pub control: Option<super::rich_control::Control>,
    /// For `log = "syslog"` services: a datagram socket to send to /dev/log.
    pub syslog: Option<std::os::unix::net::UnixDatagram>,
}

/// Run rich mode to the end; returns the exit code.
pub fn run(
    settings: &Settings,
    rich: &RichSettings,
    log: &Logger,
    mask: SigSet,
) -> Result<i32, Error> {
    let sigfd = SignalFd::new().map_err(Error::SignalFd)?;
    set_up_reaping(settings, log)?;
    let mut r = Rich {
        settings,
        log,
        sigfd: &sigfd,
        mask,
        rules: Rules::new(settings),
        handoff: Handoff::default(),
        procs: Procs::default(),
        services: BTreeMap::new(),
        pipes: Vec::new(),
        cmd: None,
        cmd_status: None,
        script_exits: Vec::new(),
        stopping: false,
        critical_failed: false,
        requested_code: None,
        stop_signal: None,
        control: None,
        syslog: None,
    };
    // Service definitions are checked before anything runs: a bad one starts nothing,
    // not even init.d. (So init.d cannot write services.d: use --initscript-free images
    // or bake the files in.)
    let order = match r.load_services(rich) {
        Ok(order) => order,
        Err(()) => return Ok(EXIT_CONFIG),
    };
    // The socket first: a live one means another init runs here, and then nothing of
    // its (the env file above all) may be touched.
    if let Some(path) = &rich.control_socket {
        r.open_control(path)?;
    }
    r.write_env(rich);
    if let Some(code) = r.boot(rich) {
        r.finish_off();
        return Ok(code);
    }
    for name in &order {
        if r.stopping {
            break;
        }
        r.dispatch(name, Event::Start);
        let n = name.clone();
        r.turn_until(None, &|r| {
            r.stopping
                || r.services
                    .get(&n)
                    .is_none_or(|s| s.machine.phase() != Phase::Starting)
        });
    }
    if !r.stopping {
        r.start_cmd()?;
        let shuts_down = rich.cmd_exit_shuts_down;
        r.turn_until(None, &|r| {
            r.stopping || (shuts_down && r.cmd_status.is_some())
        });
    }
    Ok(r.shut_down(rich, &order))
}

impl Rich<'_> {
    fn write_env(&self, rich: &RichSettings) {
        let vars = environment();
        let env_file = rich
            .env_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(envfile::ENV_FILE));
        let files = [
            // The values may be secrets: root only. PAM (pam_env, run as root by sshd and
            // cron) reads it for every user; `. FILE` works for root's shells.
            (&rich.env_file, envfile::render(&vars), 0o600),
            (&rich.profile_hook, envfile::profile_hook(&env_file), 0o644),
        ];
        for (path, text, mode) in files {
            if let Some(path) = path {
                if let Err(e) = envfile::write_atomic(path, &text, mode) {
                    self.line(Level::Warn, &format!("cannot write {}: {e}; cron jobs and logins will not see the container's environment", path.display()));
                }
            }
        }
    }

    /// --initscript, then init.d. Returns an exit code when the boot must stop.
    fn boot(&mut self, rich: &RichSettings) -> Option<i32> {
        let mut list: Vec<PathBuf> = Vec::new();
        if let Some(first) = &rich.initscript {
            if let Err(e) = scripts::check_initscript(first) {
                self.line(Level::Error, &e.to_string());
                return Some(EXIT_INIT_SCRIPT);
            }
            list.push(first.clone());
        }
        match scripts::discover(&rich.init_dir) {
            Ok(found) => {
                for (path, why) in found.skipped {
                    if why == scripts::Skip::NotExecutable {
                        self.line(
                            Level::Warn,
                            &format!(
                                "{} is not executable: skipped (chmod +x to run it)",
                                path.display()
                            ),
                        );
                    }
                }
                list.extend(found.run);
            }
            Err(e) => {
                self.line(Level::Error, &e.to_string());
                return Some(EXIT_INIT_SCRIPT);
            }
        }
        for path in list {
            let status = self.run_script(&path)?;
            if status != 0 {
                let how = describe_status(status);
                self.line(
                    Level::Error,
                    &format!(
                        "init script {} failed: {how}; nothing else was started",
                        path.display()
                    ),
                );
                return Some(EXIT_INIT_SCRIPT);
            }
        }
        None
    }

    /// Run one script to its end; None when a stop request came first (the script was
    /// stopped, and the caller stops booting).
    fn run_script(&mut self, path: &Path) -> Option<i32> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let argv = build_argv(&[path.as_os_str().to_os_string()]).ok()?;
        let pid = match self.spawn_logged(&name, &argv, &Setup::default(), LogTarget::Prefix) {
            Ok(pid) => pid,
            Err(e) => {
                self.line(
                    Level::Error,
                    &format!("cannot start {}: {e}", path.display()),
                );
                return Some(1);
            }
        };
        self.procs.register(pid, Owner::Script(name));
        let done = |r: &Self| r.script_exits.iter().any(|(p, _)| *p == pid);
        if !self.turn_until(None, &|r| done(r) || r.stopping) {
            return None;
        }
        if !done(self) {
            let _ = signals::kill(-pid, libc::SIGTERM);
            self.turn_until(None, &done);
            self.drain_all_pipes();
            return None;
        }
        self.drain_all_pipes();
        self.script_exits
            .iter()
            .find(|(p, _)| *p == pid)
            .map(|(_, s)| *s)
    }

    /// Load services.d and presets; print every error. Returns the start order.
    fn load_services(&mut self, rich: &RichSettings) -> Result<Vec<String>, ()> {
        let exists = |program: &str| program_exists(program);
        let presets = match config::preset_sources(&rich.presets, &exists) {
            Ok(p) => p,
            Err(errors) => {
                return self.config_errors(errors.iter().map(ToString::to_string).collect())
            }
        };
        let loaded = if rich.services_dir_given || rich.services_dir.exists() {
            config::load_dir(&rich.services_dir, presets, &exists)
        } else {
            config::load(&presets, &exists)
        };
        let cfg = match loaded {
            Ok(cfg) => cfg,
            Err(errors) => {
                return self.config_errors(errors.iter().map(ToString::to_string).collect())
            }
        };
        let mut problems = Vec::new();
        for (name, service) in &cfg.services {
            let notify = match service.ready {
                Ready::Notify { .. } => match notify_socket(name) {
                    Ok(sock) => Some(sock),
                    Err(e) => {
                        problems.push(format!(
                            "{}: key \"ready\": cannot open its NOTIFY_SOCKET: {e}",
                            service.file.display()
                        ));
                        None
                    }
                },
                _ => None,
            };
            let identity = match (&service.user, &service.group) {
                (None, None) => None,
                (user, group) => {
                    let spec = |s: &IdSpec| match s {
                        IdSpec::Name(n) => n.clone(),
                        IdSpec::Id(i) => i.to_string(),
                    };
                    let user = user.as_ref().map_or_else(|| "0".to_string(), spec);
                    match users::resolve_in(
                        Path::new("/"),
                        &user,
                        group.as_ref().map(spec).as_deref(),
                    ) {
                        Ok(id) => Some(id),
                        Err(e) => {
                            problems.push(format!("{}: {e}", service.file.display()));
                            None
                        }
                    }
                }
            };
            let machine = Service::new(service.policy(), Instant::now());
            self.services.insert(
                name.clone(),
                Svc {
                    cfg: service.clone(),
                    machine,
                    check: None,
                    identity,
                    notify,
                },
            );
        }
        if !problems.is_empty() {
            return self.config_errors(problems);
        }
        Ok(cfg.start_order)
    }

    /// Every problem, one line each, and nothing else.
    fn config_errors<T>(&self, lines: Vec<String>) -> Result<T, ()> {
        for l in &lines {
            crate::sys::write_all_raw(2, format!("rich-init: {l}\n").as_bytes());
        }
        Err(())
    }

    /// Fork and exec `argv` in its own group, with its output per `log`.
    pub(crate) fn spawn_logged(
        &mut self,
        name: &str,
        argv: &[CString],
        setup: &Setup,
        log: LogTarget,
    ) -> Result<i32, Errno> {
        let null = io::null()?;
        let mut setup = *setup;
        setup.stdin = Some(std::os::fd::AsRawFd::as_raw_fd(&null));
        let mut keep = Vec::new();
        let (out, err) = match &log {
            LogTarget::Inherit => (None, None),
            LogTarget::None => (
                Some(null.try_clone().map_err(|_| Errno::EMFILE)?),
                Some(null.try_clone().map_err(|_| Errno::EMFILE)?),
            ),
            LogTarget::File(path) => {
                let f = io::append(path)?;
                (Some(f.try_clone().map_err(|_| Errno::EMFILE)?), Some(f))
            }
            LogTarget::Prefix | LogTarget::Syslog => {
                let (r1, w1) = io::pipe()?;
                let (r2, w2) = io::pipe()?;
                keep.push((r1, 1));
                keep.push((r2, 2));
                (Some(w1), Some(w2))
            }
        };
        setup.stdout = out.as_ref().map(std::os::fd::AsRawFd::as_raw_fd);
        setup.stderr = err.as_ref().map(std::os::fd::AsRawFd::as_raw_fd);
        let report = |event: ChildEvent| {
            self.log.emit(Msg::Child { cmd: name, event });
            child_exit_code(self.settings.personality, event)
        };
        let pid = spawn::spawn(
            argv,
            Placement::OwnGroup,
            ChildSignals::Restore(self.mask),
            &setup,
            &report,
        )?;
        let syslog = log == LogTarget::Syslog;
        if syslog && self.syslog.is_none() {
            self.syslog = std::os::unix::net::UnixDatagram::unbound().ok();
        }
        for (read, to) in keep {
            self.pipes.push(Pipe {
                read,
                name: name.to_string(),
                to,
                buf: LineBuffer::default(),
                syslog,
            });
        }
        Ok(pid)
    }

    pub(crate) fn spawn_service(&mut self, name: &str) -> Result<i32, Errno> {
        let Some(svc) = self.services.get(name) else {
            return Err(Errno::ESRCH);
        };
        let argv = command_argv(&svc.cfg.command).ok_or(Errno::EINVAL)?;
        let mut vars: BTreeMap<String, String> = environment().into_iter().collect();
        if let Some(id) = &svc.identity {
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
        vars.extend(svc.cfg.env.clone());
        if let Some((_, address)) = &svc.notify {
            vars.insert("NOTIFY_SOCKET".into(), address.clone());
        }
        let env: Vec<CString> = vars
            .iter()
            .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
            .collect();
        let cwd = svc
            .cfg
            .working_dir
            .as_ref()
            .and_then(|d| CString::new(d.as_os_str().as_encoded_bytes()).ok());
        let groups = svc
            .identity
            .as_ref()
            .map(|i| i.groups.clone())
            .unwrap_or_default();
        let ids = svc.identity.as_ref().map(|i| Ids {
            uid: i.uid,
            gid: i.gid,
            groups: &groups,
        });
        let setup = Setup {
            env: Some(&env),
            cwd: cwd.as_deref(),
            ids,
            umask: svc.cfg.umask,
            no_new_privs: svc.cfg.no_new_privs,
            ..Setup::default()
        };
        let log = svc.cfg.log.clone();
        self.spawn_logged(name, &argv, &setup, log)
    }

    pub(crate) fn spawn_check(&mut self, name: &str) -> Result<i32, Errno> {
        let Some(svc) = self.services.get(name) else {
            return Err(Errno::ESRCH);
        };
        let Ready::Command { command, .. } = &svc.cfg.ready else {
            return Err(Errno::EINVAL);
        };
        let argv = command_argv(command).ok_or(Errno::EINVAL)?;
        self.spawn_logged(
            &format!("{name} ready check"),
            &argv,
            &Setup::default(),
            LogTarget::None,
        )
    }

    fn start_cmd(&mut self) -> Result<(), Error> {
        let argv = build_argv(&self.settings.command)?;
        let (pid, handoff) = spawn_cmd(
            self.settings,
            self.log,
            &argv,
            ChildSignals::Restore(self.mask),
        )?;
        self.handoff = handoff;
        self.procs.register(pid, Owner::Cmd);
        self.cmd = Some(pid);
        Ok(())
    }

    /// CMD, then services in reverse order, then everything left, then stop.d.
    fn shut_down(&mut self, rich: &RichSettings, order: &[String]) -> i32 {
        self.stopping = true;
        let grace = self.settings.grace.unwrap_or(Duration::from_secs(5));
        if rich.stop_cmd_first {
            self.stop_cmd(grace);
        }
        self.stop_services(order);
        self.stop_cmd(grace);
        self.finish_off();
        self.stop_scripts(rich);
        // A stop before CMD started (during init.d, or while services came up) ends the
        // container as a stop of CMD would, 128+signal, so that restart policies see it.
        let code = match (self.cmd_status, self.stop_signal) {
            (Some(status), _) => reap::exit_code(status),
            (None, Some(sig)) => 128 + sig,
            (None, None) => 0,
        };
        if self.critical_failed {
            return EXIT_CRITICAL;
        }
        if let Some(code) = self.requested_code {
            return i32::from(code);
        }
        if self
            .settings
            .remap_to_zero
            .iter()
            .any(|c| i32::from(*c) == code)
        {
            return 0;
        }
        code
    }

    /// Stop every service, each as soon as the services that start `after` it are down:
    /// independent ones stop together, so a shutdown takes as long as the slowest chain,
    /// not the sum of all.
    fn stop_services(&mut self, order: &[String]) {
        let mut pending: Vec<String> = order.iter().rev().cloned().collect();
        loop {
            let up = |r: &Self, name: &str| r.services.get(name).is_some_and(|s| s.machine.is_up());
            let free: Vec<String> = pending
                .iter()
                .filter(|name| {
                    !self
                        .services
                        .values()
                        .any(|s| s.cfg.after.iter().any(|a| a == *name) && up(self, &s.cfg.name))
                })
                .cloned()
                .collect();
            for name in &free {
                self.dispatch(name, Event::Stop);
            }
            pending.retain(|n| !free.contains(n));
            if pending.is_empty() && !self.services.keys().any(|n| up(self, n)) {
                return;
            }
            self.turn(None);
        }
    }

    /// CMD gets SIGTERM (as rewritten) and `grace` to exit, then SIGKILL.
    fn stop_cmd(&mut self, grace: Duration) {
        if let (Some(pid), None) = (self.cmd, self.cmd_status) {
            let sig = self.rules.translate(libc::SIGTERM);
            let target = self.rules.target(pid);
            if sig != 0 {
                let _ = signal_cmd(&self.rules, pid, sig);
            }
            let by = Instant::now().checked_add(grace);
            if !self.turn_until(by, &|r| r.cmd_status.is_some()) {
                let _ = signals::kill(target, libc::SIGKILL);
                let _ = signals::kill(pid, libc::SIGKILL);
                self.turn_until(Instant::now().checked_add(AFTER_KILL), &|r| {
                    r.cmd_status.is_some()
                });
            }
        }
    }

    /// Everything left gets SIGTERM, then SIGKILL at the grace; output is flushed.
    fn finish_off(&mut self) {
        self.drain_all_pipes();
        let grace = self.settings.grace.unwrap_or(Duration::from_secs(5));
        shutdown::sweep(self.log, self.sigfd, libc::SIGTERM, grace);
        self.drain_all_pipes();
    }

    fn stop_scripts(&mut self, rich: &RichSettings) {
        let Ok(found) = scripts::discover(&rich.stop_dir) else {
            return;
        };
        self.stopping = false;
        for path in found.run {
            match self.run_script(&path) {
                Some(0) | None => {}
                Some(status) => self.line(
                    Level::Warn,
                    &format!(
                        "stop script {} failed: {}",
                        path.display(),
                        describe_status(status)
                    ),
                ),
            }
        }
        self.stopping = true;
    }
}

fn command_argv(command: &Command) -> Option<Vec<CString>> {
    let words: Vec<std::ffi::OsString> = match command {
        Command::Argv(v) => v.iter().map(Into::into).collect(),
        Command::Shell(s) => vec!["/bin/sh".into(), "-c".into(), s.into()],
    };
    build_argv(&words).ok()
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

/// Our environment as text (names and values not in UTF-8 are made so, lossily).
fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// "exit status 3" or "killed by SIGTERM".
pub(crate) fn describe_status(status: i32) -> String {
    if libc::WIFSIGNALED(status) {
        format!("killed by {}", crate::signame::name(libc::WTERMSIG(status)))
    } else {
        format!("exit status {}", reap::exit_code(status))
    }
}
