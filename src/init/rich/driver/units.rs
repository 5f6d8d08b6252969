//! The driver's side of systemd units: carrying out a unit machine's actions (spawning
//! through keepers, reading PID files, signalling the unit's processes) and turning the
//! keepers' records and exits into the unit's events.

use super::Driver;
use crate::init::rich::poller::Notified;
use crate::init::rich::systemd::UnitRun;
use crate::init::rich::words;
use crate::logging::Level;
use crate::procs::Owner;
use crate::supervisor::fleet::Event;
use crate::supervisor::unit::{self, Action, ExecKind, Target};
use crate::sys::keeper::Record;
use crate::sys::{io, procs_scan, signals, Errno};
use std::os::fd::AsRawFd;

impl Driver<'_> {
    pub(super) fn unit_action(&mut self, name: &str, action: Action) {
        match action {
            Action::Spawn(which) => self.spawn_unit_command(name, which),
            Action::ReadPidFile => {
                let pid = self
                    .units
                    .get(name)
                    .and_then(|u| read_pid_file(&u.unit.service));
                self.then(Event::Unit {
                    name: name.to_string(),
                    event: unit::Event::PidFile { pid },
                });
            }
            Action::Signal { target, signal } => self.signal_unit(name, target, signal),
            Action::CheckConditions => {
                let (met, asserted) = self
                    .units
                    .get(name)
                    .map_or((true, true), UnitRun::conditions);
                self.then(Event::Unit {
                    name: name.to_string(),
                    event: unit::Event::ConditionsChecked { met, asserted },
                });
            }
            Action::BecameActive | Action::Stopped | Action::FailedForGood | Action::Log(_) => {
                if matches!(action, Action::Stopped | Action::FailedForGood) {
                    if let Some(u) = self.units.get_mut(name) {
                        u.remove_runtime_directories();
                        // Down for good: its fd store goes (FileDescriptorStorePreserve=no).
                        u.sockets.clear_store();
                    }
                }
                let description = self.meta.get(name).map(|m| m.description.clone());
                if let Some((level, text)) = words::unit_line(name, description.as_deref(), action)
                {
                    // The journal has what systemd logs at info and above.
                    if level <= Level::Info {
                        for line in text.lines() {
                            self.output.journal_line(name, line);
                        }
                    }
                    for line in text.lines() {
                        self.line(level, line);
                    }
                }
            }
        }
    }

    fn spawn_unit_command(&mut self, name: &str, which: unit::ExecRef) {
        let Some(records) = self.records.as_ref().map(|(_, w)| w.as_raw_fd()) else {
            return;
        };
        let main_pid = match self.fleet.machine(name) {
            Some(crate::supervisor::fleet::Machine::Unit(m)) => m.main_pid(),
            _ => None,
        };
        let ctx = self.ctx();
        let Some(run) = self.units.get(name) else {
            return;
        };
        if matches!(
            which.kind,
            ExecKind::Condition | ExecKind::StartPre | ExecKind::Start
        ) {
            for problem in run.make_directories() {
                self.line(Level::Warn, &problem);
            }
        }
        let Some(run) = self.units.get_mut(name) else {
            return;
        };
        let spawned = run.spawn(
            which,
            &mut self.output,
            &ctx,
            &self.environment,
            main_pid,
            records,
        );
        let event = match spawned {
            Ok(started) => {
                self.procs
                    .register(started.keeper, Owner::Keeper(name.to_string()));
                *self.keepers.entry(name.to_string()).or_default() += 1;
                unit::Event::Spawned { pid: started.pid }
            }
            Err(e) => {
                self.line(
                    Level::Error,
                    &format!("{name}: cannot start {}: {e}", which.kind.as_str()),
                );
                unit::Event::SpawnFailed { errno: e as i32 }
            }
        };
        self.then(Event::Unit {
            name: name.to_string(),
            event,
        });
    }

    /// `Main`/`Control` are one process; `All` is every descendant of the unit's keepers
    /// (its "control group"), each signalled, then SIGCONT so that a stopped one acts on it
    /// (as systemd does).
    fn signal_unit(&mut self, name: &str, target: Target, signal: i32) {
        let machine = match self.fleet.machine(name) {
            Some(crate::supervisor::fleet::Machine::Unit(m)) => m,
            _ => return,
        };
        let pids: Vec<i32> = match target {
            Target::Main => machine.main_pid().into_iter().collect(),
            Target::Control => machine.control_pid().into_iter().collect(),
            Target::All => self.unit_processes(name),
        };
        for pid in pids {
            let _ = signals::kill(pid, signal);
            if signal != libc::SIGKILL && signal != libc::SIGCONT {
                let _ = signals::kill(pid, libc::SIGCONT);
            }
        }
    }

    /// Every live process of unit `name`: the descendants of its keepers.
    pub(super) fn unit_processes(&self, name: &str) -> Vec<i32> {
        self.keeper_pids(name)
            .into_iter()
            .flat_map(procs_scan::descendants)
            .collect()
    }

    fn keeper_pids(&self, name: &str) -> Vec<i32> {
        self.procs.pids_of(&Owner::Keeper(name.to_string()))
    }

    /// Read what the keepers wrote: each record is an exit among a unit's processes.
    pub(super) fn read_records(&mut self) {
        let Some(fd) = self.records.as_ref().map(|(r, _)| r.as_raw_fd()) else {
            return;
        };
        let mut chunk = [0u8; 4096];
        loop {
            match io::read_some(fd, &mut chunk) {
                Ok(0) => break,
                Ok(n) => self
                    .record_buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        let mut records = Vec::new();
        let rest = Record::decode_all(&self.record_buf, &mut records).to_vec();
        self.record_buf = rest;
        for r in records {
            let Some(Owner::Keeper(name)) = self.procs.owner(r.keeper).cloned() else {
                self.line(
                    Level::Debug,
                    &format!(
                        "a record of keeper {} that is not known: pid {} {}",
                        r.keeper, r.pid, r.status
                    ),
                );
                continue;
            };
            self.line(
                Level::Trace,
                &format!(
                    "{name}: keeper {} reaped pid {} ({})",
                    r.keeper, r.pid, r.status
                ),
            );
            self.then(Event::Unit {
                name,
                event: unit::Event::Exited {
                    pid: r.pid,
                    status: r.status,
                },
            });
        }
    }

    /// A keeper has exited (its records were read before it was reaped, see `reap`); once a
    /// unit has no keeper left, its group is empty.
    pub(super) fn keeper_exited(&mut self, name: String) {
        let left = self.keepers.get_mut(&name).map(|n| {
            *n = n.saturating_sub(1);
            *n
        });
        self.line(
            Level::Trace,
            &format!("{name}: a keeper exited, {} left", left.unwrap_or(0)),
        );
        if left == Some(0) {
            self.keepers.remove(&name);
            self.then(Event::Unit {
                name,
                event: unit::Event::GroupEmpty,
            });
        }
    }

    /// FDSTORE=1 and FDSTOREREMOVE=1 from a unit, taken while it has a main process (as
    /// for a services.d service); what comes while it has none is closed.
    pub(super) fn unit_fd_messages(
        &mut self,
        name: &str,
        msgs: Vec<crate::init::rich::fdstore::FdMessage>,
    ) {
        use crate::units::service::NotifyAccess;
        let main = match self.fleet.machine(name) {
            Some(crate::supervisor::fleet::Machine::Unit(m)) => m.main_pid(),
            _ => None,
        };
        let file = self.meta.get(name).map(|m| m.fragment_path.clone());
        let me = crate::sys::unix_socket::euid();
        let warnings = match (self.units.get_mut(name), main) {
            (Some(run), Some(main)) => {
                // NotifyAccess= decides who may use the store, as for READY=1: main (what
                // FileDescriptorStoreMax= implies) takes the main process only; all takes
                // root's and our uid's processes too (the netns's, for want of a cgroup).
                let any = matches!(run.unit.service.notify_access, NotifyAccess::All);
                let (mine, outside): (Vec<_>, Vec<_>) = msgs.into_iter().partition(|m| {
                    m.sender
                        .is_some_and(|s| s.pid == main || (any && (s.uid == 0 || s.uid == me)))
                });
                let file = std::path::PathBuf::from(file.unwrap_or_default());
                let mut warnings = run.sockets.fd_messages(name, &file, mine);
                if let Some(m) = outside.first() {
                    let who = m.sender.map_or("an unknown sender".to_string(), |s| {
                        format!("pid {} (uid {})", s.pid, s.uid)
                    });
                    warnings.push(format!(
                        "unit {name}: fd-store message from {who} refused and its descriptors \
                         closed: NotifyAccess= allows only the main process (pid {main})"
                    ));
                }
                warnings
            }
            _ => Vec::new(),
        };
        for text in warnings {
            self.line(Level::Warn, &text);
        }
    }

    /// An sd_notify datagram for a unit, filtered by NotifyAccess= (main: from the main pid
    /// only, when the sender is known).
    pub(super) fn unit_notified(&mut self, name: &str, n: Notified) {
        self.feed(Event::Unit {
            name: name.to_string(),
            event: unit::Event::Notify {
                ready: n.ready,
                reloading: n.reloading,
                stopping: n.stopping,
                main_pid: n.main_pid,
            },
        });
    }
}

/// PIDFile=: the pid it names, if that process exists.
fn read_pid_file(service: &crate::units::service::ServiceSection) -> Option<i32> {
    let path = service.pid_file.as_ref()?;
    let text = std::fs::read_to_string(path).ok()?;
    let pid: i32 = text.trim().parse().ok().filter(|p| *p > 0)?;
    std::path::Path::new(&format!("/proc/{pid}"))
        .exists()
        .then_some(pid)
}
