//! The rich-mode driver: wait, turn what woke us into fleet events, and carry out the
//! actions the fleet returns. Every decision is the fleet's (`supervisor/fleet.rs`);
//! here are only syscalls and wording.

use super::control::ControlServer;
use super::output::{Output, SpawnCtx};
use super::poller::{Poller, Wakeup};
use super::services::Svc;
use super::systemd::{Meta, UnitRun};
use super::words;
use super::Parts;
use crate::cli::Settings;
use crate::init::forward::{self, Handoff, Route, Rules};
use crate::init::{shutdown, signal_cmd, spawn_cmd};
use crate::logging::{Level, Logger, Msg};
use crate::procs::{Owner, Procs};
use crate::supervisor::fleet::{Action, Event, Fleet, Note};
use crate::supervisor::service;
use crate::sys::signals::{self, Received, SigSet};
use crate::sys::spawn::{ChildSignals, Setup};
use crate::sys::{self, reap};
use crate::{config::LogTarget, scripts};
use std::collections::{BTreeMap, VecDeque};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod answer;
mod jobs;
mod units;

use crate::units::journal::{Journal, Limits};

pub(super) struct Driver<'a> {
    settings: &'a Settings,
    log: &'a Logger,
    mask: SigSet,
    rules: Rules,
    handoff: Handoff,
    fleet: Fleet,
    services: BTreeMap<String, Svc>,
    output: Output,
    poller: Poller<'a>,
    control: Option<ControlServer>,
    procs: Procs,
    /// CMD's argv.
    argv: Vec<CString>,
    /// Every service's starting environment: ours.
    environment: Vec<(String, String)>,
    init_scripts: Vec<PathBuf>,
    stop_dir: PathBuf,
    stop_scripts: Vec<PathBuf>,
    grace: Duration,
    /// Events for the fleet, fed in order by [`Driver::feed`]: what an action or a batch of
    /// exits yields waits its turn (no recursion, and a batch is seen whole).
    queue: VecDeque<Event>,
    /// `ctl` requests' events, carried out once the replies are sent (a shutdown may block
    /// in the sweep).
    requested: Vec<Event>,
    /// The systemd service units (`--systemd`), by unit name.
    units: BTreeMap<String, UnitRun>,
    /// What systemctl shows of each unit (services and targets) besides its state.
    meta: BTreeMap<String, Meta>,
    /// `systemctl start` and the like that wait for their jobs.
    jobs: Vec<jobs::Pending>,
    /// `journalctl -f` clients: connection, unit filter, next sequence number.
    followers: Vec<(u64, Option<String>, u64)>,
    /// Lines for held control connections, sent once the server is back (conn, text,
    /// close after).
    outbox: Vec<(u64, String, bool)>,
    /// The keepers' record pipe (read end, write end), when there are units.
    records: Option<(OwnedFd, OwnedFd)>,
    /// A partial record read so far.
    record_buf: Vec<u8>,
    /// How many keepers each unit has alive.
    keepers: BTreeMap<String, usize>,
    /// Unit warnings already said this boot: each is said once (a daemon-reload or a
    /// unit loaded on demand reads the files again).
    warned: std::collections::BTreeSet<String>,
}

impl<'a> Driver<'a> {
    pub fn new(p: Parts<'a>) -> Driver<'a> {
        Driver {
            settings: p.settings,
            log: p.log,
            mask: p.mask,
            rules: Rules::new(p.settings),
            handoff: Handoff::default(),
            fleet: p.fleet,
            services: p.services,
            output: Output::with_journal(
                p.records.is_some().then(|| Journal::new(Limits::DEFAULT)),
            ),
            poller: p.poller,
            control: p.control,
            procs: Procs::default(),
            argv: p.argv,
            environment: p.environment,
            init_scripts: p.init_scripts,
            stop_dir: p.stop_dir,
            stop_scripts: Vec::new(),
            grace: p.grace,
            queue: VecDeque::new(),
            requested: Vec::new(),
            units: p.units,
            meta: p.meta,
            jobs: Vec::new(),
            followers: Vec::new(),
            outbox: Vec::new(),
            records: p.records,
            record_buf: Vec::new(),
            keepers: BTreeMap::new(),
            warned: p.warned,
        }
    }

    /// Boot, run and shut down; the exit code.
    pub fn run(mut self) -> i32 {
        self.feed(Event::Boot);
        loop {
            if let Some(code) = self.fleet.exit_code() {
                self.output.drain_all();
                return code;
            }
            self.turn();
        }
    }

    /// One blocking wait and what follows from it.
    fn turn(&mut self) {
        let paused = self.control.as_ref().and_then(ControlServer::paused_until);
        let deadline = self.fleet.next_deadline().into_iter().chain(paused).min();
        let outputs: Vec<i32> = self.output.fds().collect();
        let control = self.control.as_ref().map(ControlServer::fds);
        let records = self.records.as_ref().map(|(r, _)| r.as_raw_fd());
        let wakeups = self.poller.wait(
            deadline,
            &outputs,
            control.as_deref().unwrap_or_default(),
            records,
        );
        for wakeup in wakeups {
            match wakeup {
                Wakeup::Output(index) => self.output.drain(index),
                Wakeup::Notified(name, said) => {
                    if self.units.contains_key(&name) {
                        self.unit_notified(&name, said);
                    } else if said.ready {
                        self.feed(Event::service(&name, service::Event::Notified));
                    }
                }
                Wakeup::FdStore(name, msgs) => self.fd_messages(&name, msgs),
                Wakeup::Records => {
                    self.read_records();
                    self.drain_queue();
                }
                Wakeup::Control(ready) => {
                    if let Some(mut server) = self.control.take() {
                        server.serve(&ready, self.log, &mut |request, id| {
                            self.answer(request, id)
                        });
                        self.control = Some(server);
                    }
                    self.flush_outbox();
                    for event in std::mem::take(&mut self.requested) {
                        self.feed(event);
                    }
                }
                Wakeup::Signal(received) => self.on_signal(received),
                Wakeup::Failed(e) => {
                    self.line(Level::Warn, &format!("poll failed ({e}); retrying"))
                }
            }
        }
        if self
            .fleet
            .next_deadline()
            .is_some_and(|d| d <= Instant::now())
        {
            self.feed(Event::Timer);
        }
        if !self.jobs.is_empty() {
            self.check_jobs();
        }
        if !self.followers.is_empty() {
            self.pump_followers();
        }
        if !self.outbox.is_empty() {
            self.flush_outbox();
        }
    }

    /// Feed the fleet one event, and every event that follows from it, and carry out
    /// what it asks for, in order.
    fn feed(&mut self, event: Event) {
        self.queue.push_back(event);
        self.drain_queue();
    }

    fn drain_queue(&mut self) {
        while let Some(event) = self.queue.pop_front() {
            for action in self.fleet.handle(event, Instant::now()) {
                self.perform(action);
            }
        }
    }

    /// An event that follows from an action: fed once the actions before it are done.
    fn then(&mut self, event: Event) {
        self.queue.push_back(event);
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::RunInitScript(i) => {
                let path = self.init_scripts.get(i).cloned().unwrap_or_default();
                self.run_script(&path);
            }
            Action::RunStopScript(i) => {
                let path = self.stop_scripts.get(i).cloned().unwrap_or_default();
                self.run_script(&path);
            }
            Action::ListStopScripts => {
                self.stop_scripts = scripts::discover(&self.stop_dir)
                    .map(|found| found.run)
                    .unwrap_or_default();
                let count = self.stop_scripts.len();
                self.then(Event::StopScriptsListed { count });
            }
            Action::SignalScript { pid, signal } => {
                let _ = signals::kill_group_or_pid(pid, signal);
            }
            Action::Service { name, action } => self.service_action(&name, action),
            Action::Unit { name, action } => self.unit_action(&name, action),
            Action::ServiceFailed {
                name,
                why,
                critical,
            } => self.line(Level::Error, &words::service_failed(&name, why, critical)),
            Action::StartCmd => self.start_cmd(),
            Action::StopCmd => {
                let sig = self.rules.translate(libc::SIGTERM);
                if let (Some(pid), true) = (self.fleet.cmd_pid(), sig != 0) {
                    let _ = signal_cmd(&self.rules, pid, sig);
                }
            }
            Action::KillCmd => {
                if let Some(pid) = self.fleet.cmd_pid() {
                    let _ = signals::kill(self.rules.target(pid), libc::SIGKILL);
                    let _ = signals::kill(pid, libc::SIGKILL);
                }
            }
            Action::Sweep => {
                self.output.drain_all();
                shutdown::sweep(self.log, self.poller.sigfd(), libc::SIGTERM, self.grace);
                self.output.drain_all();
                self.then(Event::Swept);
            }
            Action::Log(note) => self.note(note),
        }
    }

    fn ctx(&self) -> SpawnCtx<'a> {
        SpawnCtx {
            log: self.log,
            personality: self.settings.personality,
            mask: self.mask,
        }
    }

    fn run_script(&mut self, path: &Path) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let argv: Vec<CString> = CString::new(path.as_os_str().as_encoded_bytes())
            .into_iter()
            .collect();
        let ctx = self.ctx();
        match (self.output).spawn(&ctx, &name, &argv, &Setup::default(), &LogTarget::Prefix) {
            Ok(pid) => {
                self.procs.register(pid, Owner::Script(name));
                self.then(Event::ScriptSpawned { pid });
            }
            Err(e) => {
                self.line(
                    Level::Error,
                    &format!("cannot start {}: {e}", path.display()),
                );
                self.then(Event::ScriptSpawnFailed);
            }
        }
    }

    fn start_cmd(&mut self) {
        match spawn_cmd(
            self.settings,
            self.log,
            &self.argv,
            ChildSignals::Restore(self.mask),
        ) {
            Ok((pid, handoff)) => {
                self.handoff = handoff;
                self.procs.register(pid, Owner::Cmd);
                self.then(Event::CmdSpawned { pid });
            }
            Err(e) => {
                self.log.emit(Msg::Startup(&e));
                self.then(Event::CmdSpawnFailed);
            }
        }
    }

    fn service_action(&mut self, name: &str, action: service::Action) {
        use service::Action as S;
        let ctx = self.ctx();
        match action {
            S::Spawn => {
                let spawned = self
                    .services
                    .get_mut(name)
                    .map(|unit| unit.spawn(name, &mut self.output, &ctx, &self.environment));
                let event = match spawned {
                    Some(Ok(pid)) => {
                        self.procs.register(pid, Owner::Service(name.to_string()));
                        service::Event::Spawned { pid }
                    }
                    Some(Err(e)) => service::Event::SpawnFailed { errno: e as i32 },
                    None => return,
                };
                self.then(Event::service(name, event));
            }
            S::RunReadyCheck => {
                let spawned = self
                    .services
                    .get(name)
                    .and_then(|unit| unit.spawn_check(name, &mut self.output, &ctx));
                match (spawned, self.services.get_mut(name)) {
                    (Some(Ok(pid)), Some(unit)) => {
                        self.procs.register(pid, Owner::Check(name.to_string()));
                        unit.checking(pid);
                    }
                    _ => self.then(Event::service(name, service::Event::ReadyCheckFailed)),
                }
            }
            S::CancelReadyCheck => {
                if let Some(pid) = self.services.get_mut(name).and_then(Svc::take_check) {
                    let _ = signals::kill(-pid, libc::SIGKILL);
                }
            }
            S::Signal(sig) => self.signal_service(name, sig),
            S::Kill => self.signal_service(name, libc::SIGKILL),
            S::Stopped | S::FailedForGood { .. } => {
                // Down for good: its fd store goes (FileDescriptorStorePreserve=no).
                if let Some(unit) = self.services.get_mut(name) {
                    unit.clear_store();
                }
                let (level, text) = words::service_line(name, action);
                self.line(level, &text);
            }
            S::BecameReady | S::Log(_) => {
                let (level, text) = words::service_line(name, action);
                self.line(level, &text);
            }
        }
    }

    /// FDSTORE=1 and FDSTOREREMOVE=1 from a service, taken while it has a process (its
    /// store is gone once it is down for good); what comes for a service that is down is
    /// closed. A unit's go to its own store (FileDescriptorStoreMax=).
    fn fd_messages(&mut self, name: &str, msgs: Vec<super::fdstore::FdMessage>) {
        if self.units.contains_key(name) {
            self.unit_fd_messages(name, msgs);
            return;
        }
        let pid = self.fleet.service(name).and_then(|s| s.pid());
        let warnings = match (self.services.get_mut(name), pid) {
            (Some(unit), Some(pid)) => unit.fd_messages(name, msgs, pid),
            _ => Vec::new(),
        };
        for text in warnings {
            self.line(Level::Warn, &text);
        }
    }

    /// A service's process group (it leads one); the process itself if the group is gone.
    fn signal_service(&self, name: &str, sig: i32) {
        if let Some(pid) = self.fleet.service(name).and_then(|s| s.pid()) {
            let _ = signals::kill_group_or_pid(pid, sig);
        }
    }

    fn note(&self, note: Note) {
        let (level, text) = words::note(note, &self.init_scripts, &self.stop_scripts);
        self.line(level, &text);
    }

    fn on_signal(&mut self, r: Received) {
        self.log.emit(Msg::Received(r.signo));
        let me = u32::try_from(sys::getpid()).unwrap_or(0);
        match forward::route(&self.rules, &mut self.handoff, r.signo, r.pid == me) {
            Route::Reap => self.reap(),
            Route::HandoffIgnored | Route::Skip => {}
            Route::Forward { .. } if matches!(r.signo, libc::SIGTERM | libc::SIGINT) => {
                self.feed(Event::StopSignal { signal: r.signo });
            }
            Route::Forward { sig, .. } => match self.fleet.cmd_pid() {
                Some(pid) if sig != 0 => {
                    let _ = signal_cmd(&self.rules, pid, sig);
                    self.log.emit(Msg::Forwarded {
                        sig,
                        target: self.rules.target(pid),
                    });
                }
                _ => self.log.emit(Msg::Dropped(r.signo)),
            },
        }
    }

    fn reap(&mut self) {
        // A keeper writes its records before it exits: read them while it is still
        // registered, or a record that came after the last poll would lose its unit.
        self.read_records();
        let mut exits: Vec<reap::Exit> = Vec::with_capacity(16);
        reap::drain(&mut exits);
        for e in exits {
            // A keeper that exited since the read above: its last records are in the pipe
            // now; read them while it is still known.
            if matches!(self.procs.owner(e.pid), Some(Owner::Keeper(_))) {
                self.read_records();
            }
            let status = e.status;
            match self.procs.exited(e.pid) {
                Some(Owner::Cmd) => {
                    self.log.emit(Msg::CmdExited {
                        status,
                        code: status.exit_code(),
                    });
                    self.then(Event::CmdExited { status });
                }
                Some(Owner::Service(name)) => {
                    self.then(Event::service(&name, service::Event::Exited { status }));
                }
                Some(Owner::Check(name)) => {
                    let unit = self.services.get_mut(&name).filter(|u| u.is_check(e.pid));
                    if let Some(unit) = unit {
                        unit.take_check();
                        let event = if status.success() {
                            service::Event::ReadyCheckPassed
                        } else {
                            service::Event::ReadyCheckFailed
                        };
                        self.then(Event::service(&name, event));
                    }
                }
                Some(Owner::Keeper(name)) => self.keeper_exited(name),
                Some(Owner::Script(_)) => {
                    // Its last lines come before what its end sets off.
                    self.output.drain_all();
                    self.then(Event::ScriptExited { pid: e.pid, status });
                }
                None => self.log.emit(Msg::Reaped {
                    pid: e.pid,
                    status: e.status,
                    main: false,
                    warn: self.settings.warn_on_reap,
                }),
            }
        }
        self.drain_queue();
    }

    /// A unit warning, once per boot.
    fn warn_once(&mut self, text: &str) {
        if self.warned.insert(text.to_string()) {
            self.line(Level::Warn, text);
        }
    }

    fn line(&self, level: Level, text: &str) {
        self.log.emit(Msg::Rich { level, text });
    }
}
