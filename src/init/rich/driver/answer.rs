//! Control requests answered by the driver: `ctl`'s (through `control::decide`) and, with
//! `--systemd`, those of `systemctl` and `journalctl`: unit state, jobs, `daemon-reload`,
//! `is-system-running` and the journal.

use super::jobs::{Expect, Pending};
use super::Driver;
use crate::control::{
    render_response, JobOutcome, JobResult, JobVerb, KillWhom, Request, Response, MAX_RESPONSE_LINE,
};
use crate::init::rich::control::Reply;
use crate::init::rich::decide::{decide, Then};
use crate::init::rich::output::now_us;
use crate::init::rich::systemd::{self, OnDemandError, Reloaded};
use crate::logging::Level;
use crate::supervisor::fleet::{Event, Machine, Op, Phase as FleetPhase};
use crate::supervisor::service::Phase;
use crate::supervisor::unit::{self, ActiveState};
use crate::sys::{procs_scan, signals};
use crate::units::discovery::Loader;
use crate::units::status::{Process, SystemState, UnitInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

fn now(response: Response) -> Reply {
    Reply::Now(render_response(&response))
}

/// Wall-clock microseconds of `t` (an Instant in the past).
fn wall_us(t: Instant) -> u64 {
    let ago =
        u64::try_from(Instant::now().saturating_duration_since(t).as_micros()).unwrap_or(u64::MAX);
    now_us().saturating_sub(ago)
}

/// `/proc/PID/cmdline` with its NULs as spaces; `[comm]` when empty.
fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let text: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    if text.is_empty() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        format!("[{}]", comm.trim())
    } else {
        text.join(" ")
    }
}

impl Driver<'_> {
    /// A control request: answered now, or later (a job, a journal follower).
    pub(super) fn answer(&mut self, request: Request, conn: u64) -> Reply {
        let systemd = self.records.is_some();
        match request {
            Request::Units { names } if systemd => now(Response::Units(self.units_info(&names))),
            Request::UnitJob {
                verb,
                names,
                no_block,
            } if systemd => self.unit_job(verb, &names, no_block, conn),
            Request::DaemonReload if systemd => {
                self.daemon_reload();
                now(Response::Ok)
            }
            Request::SystemState if systemd => now(Response::SystemState(self.system_state())),
            Request::Journal {
                unit,
                lines,
                follow,
            } if systemd => self.journal(unit, lines, follow, conn),
            Request::FdsTake => Reply::Take(crate::init::rich::handover::take(
                &self.services,
                &self.units,
            )),
            other => now(self.answer_now(other)),
        }
    }

    fn answer_now(&mut self, request: Request) -> Response {
        let (response, then) = decide(request, &self.fleet);
        match then {
            Then::Nothing => {}
            Then::Feed(event) => self.requested.push(event),
            Then::Signal { pid, signal } => {
                let _ = signals::kill_group_or_pid(pid, signal);
            }
            Then::Shutdown(event) => {
                self.line(Level::Info, "shutdown requested over the control socket");
                self.requested.push(event);
            }
        }
        response
    }

    /// The member a systemctl name means: a unit by its name or an alias, or a services.d
    /// service `NAME` asked for as `NAME.service`.
    pub(super) fn resolve(&self, name: &str) -> Option<String> {
        if self.fleet.machine(name).is_some() {
            return Some(name.to_string());
        }
        if let Some((id, _)) = self
            .meta
            .iter()
            .find(|(_, m)| m.names.iter().any(|n| n == name))
        {
            return Some(id.clone());
        }
        let stem = name.strip_suffix(".service")?;
        self.fleet.service(stem).map(|_| stem.to_string())
    }

    fn units_info(&self, names: &[String]) -> Vec<UnitInfo> {
        // One read of the load path per request (unit-file states, and units not loaded).
        let loader = Loader::new("/").ok();
        let states = file_states(loader.as_ref());
        if names.is_empty() {
            return self
                .fleet
                .machines()
                .map(|(name, _)| self.unit_info(name, &states))
                .collect();
        }
        names
            .iter()
            .map(|name| match self.resolve(name) {
                Some(member) => self.unit_info(&member, &states),
                None => not_loaded(name, &states, loader.as_ref()),
            })
            .collect()
    }

    fn unit_info(&self, member: &str, states: &BTreeMap<String, String>) -> UnitInfo {
        let meta = self.meta.get(member).cloned().unwrap_or_default();
        let is_toml = self.fleet.service(member).is_some();
        let id = if is_toml {
            format!("{member}.service")
        } else {
            member.to_string()
        };
        let mut info = UnitInfo {
            names: if meta.names.is_empty() {
                vec![id.clone()]
            } else {
                meta.names.clone()
            },
            description: if meta.description.is_empty() {
                id.clone()
            } else {
                meta.description.clone()
            },
            load_state: if meta.masked { "masked" } else { "loaded" }.into(),
            unit_file_state: states.get(&id).cloned().unwrap_or_else(|| {
                if meta.source_path.is_empty() {
                    "static"
                } else {
                    "generated"
                }
                .into()
            }),
            unit_file_preset: "enabled".into(),
            fragment_path: meta.fragment_path.clone(),
            source_path: meta.source_path.clone(),
            drop_in_paths: meta.drop_in_paths.clone(),
            service_type: meta.service_type.clone(),
            restart: meta.restart.clone(),
            can_reload: meta.can_reload,
            documentation: meta.documentation.clone(),
            result: "success".into(),
            id,
            ..UnitInfo::default()
        };
        match self.fleet.machine(member) {
            Some(Machine::Unit(m)) => {
                info.active_state = m.active_state().as_str().into();
                info.sub_state = m.sub_state().as_str().into();
                info.result = m.result().as_str().into();
                info.main_pid = m.main_pid().unwrap_or(0);
                info.control_pid = m.control_pid().unwrap_or(0);
                info.exec_main_pid = info.main_pid;
                if let Some(status) = m.exec_main_status() {
                    (info.exec_main_code, info.exec_main_status) = exec_main(status);
                }
                info.n_restarts = m.n_restarts();
                let since = wall_us(m.since());
                info.state_change_us = since;
                match m.active_state() {
                    ActiveState::Active | ActiveState::Reloading => {
                        info.active_enter_us = m.active_since().map_or(since, wall_us);
                    }
                    ActiveState::Inactive | ActiveState::Failed => info.inactive_enter_us = since,
                    _ => {}
                }
                let mut pids = self.unit_processes(member);
                crate::sort::sort(&mut pids);
                if let Some(main) = m.main_pid() {
                    pids.retain(|p| *p != main);
                    pids.insert(0, main);
                }
                info.processes = pids
                    .into_iter()
                    .map(|pid| Process {
                        pid,
                        cmdline: cmdline(pid),
                    })
                    .collect();
            }
            Some(Machine::Target { active }) => {
                // A socket unit is one too: its sockets are bound from the boot's start.
                let (a, s) = if *active && member.ends_with(".socket") {
                    ("active", "listening")
                } else if *active {
                    ("active", "active")
                } else {
                    ("inactive", "dead")
                };
                info.active_state = a.into();
                info.sub_state = s.into();
            }
            Some(Machine::Service(s)) => {
                let st = s.status();
                let (a, sub) = match st.phase {
                    Phase::Starting => ("activating", "start"),
                    Phase::Running => ("active", "running"),
                    Phase::Backoff => ("activating", "auto-restart"),
                    Phase::Stopping => ("deactivating", "stop-sigterm"),
                    Phase::Stopped => ("inactive", "dead"),
                    Phase::Failed => ("failed", "failed"),
                };
                info.active_state = a.into();
                info.sub_state = sub.into();
                info.service_type = "simple".into();
                info.main_pid = st.pid.unwrap_or(0);
                info.exec_main_pid = info.main_pid;
                info.n_restarts = st.restarts;
                info.state_change_us = wall_us(st.since);
                if let Some(status) = st.last_exit {
                    (info.exec_main_code, info.exec_main_status) = exec_main(status);
                    if st.phase == Phase::Failed {
                        info.result = if status.signal().is_some() {
                            "signal"
                        } else {
                            "exit-code"
                        }
                        .into();
                    }
                }
                if let Some(pid) = st.pid {
                    let mut pids = vec![pid];
                    pids.extend(procs_scan::descendants(pid));
                    info.processes = pids
                        .into_iter()
                        .map(|pid| Process {
                            pid,
                            cmdline: cmdline(pid),
                        })
                        .collect();
                }
            }
            None => {}
        }
        info
    }

    fn unit_job(&mut self, verb: JobVerb, names: &[String], no_block: bool, conn: u64) -> Reply {
        let mut pending = Pending::new(conn, Instant::now());
        for name in names {
            let member = match self.resolve(name) {
                Some(member) => member,
                None if matches!(
                    verb,
                    JobVerb::Kill { .. } | JobVerb::Stop | JobVerb::ResetFailed
                ) =>
                {
                    pending.done(JobOutcome::new(name.clone(), JobResult::NotFound));
                    continue;
                }
                None => match self.load_on_demand(name) {
                    Ok(member) => member,
                    Err(result) => {
                        pending.done(JobOutcome::new(name.clone(), result));
                        continue;
                    }
                },
            };
            let queued = self.queue_job(verb, &member);
            if queued.is_ok() {
                for (m, expect) in self.propagate(verb, &member) {
                    pending.along(m, expect);
                }
            }
            match queued {
                Ok(Some(expect)) => pending.wait(name.clone(), member, expect),
                Ok(None) => pending.done(JobOutcome::new(name.clone(), JobResult::Done)),
                Err(result) => pending.done(JobOutcome::new(name.clone(), result)),
            }
        }
        if no_block || pending.waits_for_nothing() {
            return now(Response::Jobs(pending.outcomes_now()));
        }
        self.jobs.push(pending);
        Reply::Later
    }

    /// Feed the job's event (after the replies); what to wait for, None when it is done at
    /// once.
    fn queue_job(&mut self, verb: JobVerb, member: &str) -> Result<Option<Expect>, JobResult> {
        let can_reload = self.meta.get(member).is_some_and(|m| m.can_reload);
        let masked = self.meta.get(member).is_some_and(|m| m.masked);
        if masked
            && !matches!(
                verb,
                JobVerb::Stop | JobVerb::Kill { .. } | JobVerb::ResetFailed
            )
        {
            return Err(JobResult::Masked);
        }
        let active = match self.fleet.machine(member) {
            Some(Machine::Unit(m)) => matches!(
                m.active_state(),
                ActiveState::Active | ActiveState::Reloading | ActiveState::Activating
            ),
            Some(Machine::Target { active }) => *active,
            Some(Machine::Service(s)) => s.is_up(),
            None => return Err(JobResult::NotFound),
        };
        let is_unit = matches!(self.fleet.machine(member), Some(Machine::Unit(_)));
        let (event, expect) = match verb {
            JobVerb::Start => (unit::Event::Start, Expect::Up),
            JobVerb::Stop => (unit::Event::Stop, Expect::Down),
            JobVerb::Restart => (unit::Event::Restart, Expect::Up),
            JobVerb::TryRestart if !active => return Ok(None),
            JobVerb::TryRestart => (unit::Event::Restart, Expect::Up),
            JobVerb::Reload if !can_reload => return Err(JobResult::NoReload),
            JobVerb::Reload => (unit::Event::Reload, Expect::Reloaded),
            JobVerb::ReloadOrRestart | JobVerb::TryReloadOrRestart if can_reload && active => {
                (unit::Event::Reload, Expect::Reloaded)
            }
            JobVerb::TryReloadOrRestart if !active => return Ok(None),
            JobVerb::ReloadOrRestart | JobVerb::TryReloadOrRestart => {
                (unit::Event::Restart, Expect::Up)
            }
            JobVerb::ResetFailed => (unit::Event::ResetFailed, Expect::Nothing),
            JobVerb::Kill { signal, whom } => {
                self.kill_member(member, signal, whom);
                return Ok(None);
            }
        };
        let name = member.to_string();
        let fleet_event =
            if is_unit || matches!(self.fleet.machine(member), Some(Machine::Target { .. })) {
                Event::Unit { name, event }
            } else {
                let op = match event {
                    unit::Event::Start => Op::Start,
                    unit::Event::Stop => Op::Stop,
                    unit::Event::Restart => Op::Restart,
                    unit::Event::ResetFailed => return Ok(None),
                    _ => return Err(JobResult::NoReload),
                };
                if !self.fleet.accepts(op) {
                    return Err(JobResult::Canceled);
                }
                Event::Control { name, op }
            };
        if is_unit
            && !self.fleet.accepts(match expect {
                Expect::Down => Op::Stop,
                _ => Op::Start,
            })
        {
            return Err(JobResult::Canceled);
        }
        self.requested.push(fleet_event);
        Ok((expect != Expect::Nothing).then_some(expect))
    }

    /// What a job on `member` brings along (systemd.unit(5)): a start starts what it
    /// Wants=/Requires=/BindsTo= (loading them if need be) and stops what it Conflicts=
    /// with; a stop or restart reaches the units that are PartOf=/BindsTo= it.
    fn propagate(&mut self, verb: JobVerb, member: &str) -> Vec<(String, Expect)> {
        let mut along = Vec::new();
        let (pulls, conflicts) = match self.units.get(member) {
            Some(run) => {
                let u = &run.unit.unit;
                let pulls: Vec<String> = u
                    .wants
                    .iter()
                    .chain(&u.requires)
                    .chain(&u.binds_to)
                    .cloned()
                    .collect();
                (pulls, u.conflicts.clone())
            }
            None => (Vec::new(), Vec::new()),
        };
        let starts = matches!(
            verb,
            JobVerb::Start | JobVerb::Restart | JobVerb::ReloadOrRestart
        );
        if starts {
            for dep in pulls {
                let found = match self.resolve(&dep) {
                    Some(m) => Some(m),
                    None => self.load_on_demand(&dep).ok(),
                };
                if let Some(m) = found {
                    if let Ok(Some(expect)) = self.queue_job(JobVerb::Start, &m) {
                        along.push((m, expect));
                    }
                }
            }
            for other in conflicts {
                if let Some(m) = self.resolve(&other) {
                    if let Ok(Some(expect)) = self.queue_job(JobVerb::Stop, &m) {
                        along.push((m, expect));
                    }
                }
            }
        }
        if matches!(verb, JobVerb::Stop | JobVerb::Restart | JobVerb::TryRestart) {
            let followers: Vec<String> = self
                .units
                .iter()
                .filter(|(name, run)| {
                    *name != member
                        && run
                            .unit
                            .unit
                            .part_of
                            .iter()
                            .chain(&run.unit.unit.binds_to)
                            .any(|p| p == member)
                })
                .map(|(name, _)| name.clone())
                .collect();
            for f in followers {
                if let Ok(Some(expect)) = self.queue_job(verb, &f) {
                    along.push((f, expect));
                }
            }
        }
        along
    }

    fn kill_member(&mut self, member: &str, signal: i32, whom: KillWhom) {
        let pids: Vec<i32> = match (self.fleet.machine(member), whom) {
            (Some(Machine::Unit(m)), KillWhom::Main) => m.main_pid().into_iter().collect(),
            (Some(Machine::Unit(m)), KillWhom::Control) => m.control_pid().into_iter().collect(),
            (Some(Machine::Unit(_)), KillWhom::All) => self.unit_processes(member),
            (Some(Machine::Service(s)), _) => {
                if let Some(pid) = s.pid() {
                    let _ = signals::kill_group_or_pid(pid, signal);
                }
                Vec::new()
            }
            _ => Vec::new(),
        };
        for pid in pids {
            let _ = signals::kill(pid, signal);
        }
    }

    /// `systemctl start NAME` of a unit the boot did not load: load it now.
    fn load_on_demand(&mut self, name: &str) -> Result<String, JobResult> {
        let loaded: BTreeSet<String> =
            crate::sort::set_of(self.fleet.machines().map(|(n, _)| n.to_string()));
        let one = systemd::load_one(name, &loaded).map_err(|e| match e {
            OnDemandError::NotFound => JobResult::NotFound,
            OnDemandError::Masked => JobResult::Masked,
            OnDemandError::Bad(why) => {
                self.line(Level::Error, &format!("{name}: {why}"));
                JobResult::NotLoaded {
                    load_state: "error".into(),
                }
            }
        })?;
        for w in &one.warnings {
            self.warn_once(w);
        }
        let member = one.member.name.clone();
        if let Some(run) = one.run {
            self.units.insert(member.clone(), run);
        }
        if let Some((n, sock)) = one.notify {
            self.poller.add_notify(n, sock);
        }
        self.meta.insert(member.clone(), one.meta);
        self.fleet.add_member(one.member, Instant::now());
        Ok(member)
    }

    fn daemon_reload(&mut self) {
        let names: Vec<String> = self.units.keys().cloned().collect();
        let (fresh, warnings) = systemd::reload(&names);
        for w in &warnings {
            self.warn_once(w);
        }
        for (name, reloaded) in fresh {
            match reloaded {
                Reloaded::Fresh(both) => {
                    let (mut run, meta) = *both;
                    if let Some(old) = self.units.get_mut(&name) {
                        run.notify_address = old.notify_address.clone();
                        // Its sockets and fd store stay the ones bound and filled since
                        // the boot (a socket unit's changes apply at the next boot).
                        std::mem::swap(&mut run.sockets, &mut old.sockets);
                    }
                    self.units.insert(name.clone(), run);
                    self.meta.insert(name, meta);
                }
                Reloaded::Masked => {
                    if let Some(meta) = self.meta.get_mut(&name) {
                        meta.masked = true;
                    }
                }
            }
        }
        crate::sys::trim_heap();
        self.line(Level::Info, "Reloading finished (daemon-reload).");
    }

    fn system_state(&self) -> SystemState {
        match self.fleet.phase() {
            FleetPhase::Boot => SystemState::Starting,
            FleetPhase::Stopping | FleetPhase::Done => SystemState::Stopping,
            FleetPhase::Running => {
                let failed = self.fleet.machines().any(|(_, m)| match m {
                    Machine::Unit(u) => u.active_state() == ActiveState::Failed,
                    Machine::Service(s) => s.phase() == Phase::Failed,
                    Machine::Target { .. } => false,
                });
                if failed {
                    SystemState::Degraded
                } else {
                    SystemState::Running
                }
            }
        }
    }

    fn journal(
        &mut self,
        unit: Option<String>,
        lines: Option<usize>,
        follow: bool,
        conn: u64,
    ) -> Reply {
        let Some(journal) = self.output.journal.as_ref() else {
            return now(Response::Error {
                message: "this init keeps no journal; start rich-init with --systemd".into(),
            });
        };
        let unit = unit.map(|u| self.resolve(&u).map_or(u, |m| self.unit_id(&m)));
        let entries = journal.query(unit.as_deref(), lines);
        let text =
            crate::control::journal_msg::render_journal_lines(&entries, MAX_RESPONSE_LINE).concat();
        if !follow {
            return Reply::Now(text);
        }
        let cursor = journal.cursor();
        self.outbox.push((conn, text, false));
        self.followers.push((conn, unit, cursor));
        Reply::Later
    }

    /// The unit id a member is journaled under (`NAME.service` for a services.d service).
    fn unit_id(&self, member: &str) -> String {
        if self.fleet.service(member).is_some() {
            format!("{member}.service")
        } else {
            member.to_string()
        }
    }
}

fn exec_main(status: crate::wait_status::WaitStatus) -> (i32, i32) {
    match status.signal() {
        Some(sig) if status.raw() & 0x80 != 0 => (3, sig),
        Some(sig) => (2, sig),
        None => (1, status.code().unwrap_or(0)),
    }
}

/// Each unit file's state, as `systemctl list-unit-files` gives it.
fn file_states(loader: Option<&Loader>) -> BTreeMap<String, String> {
    loader
        .and_then(|l| l.list().ok())
        .map(|list| {
            crate::sort::map_of(
                list.into_iter()
                    .map(|u| (u.name, u.state.as_str().to_string())),
            )
        })
        .unwrap_or_default()
}

/// A unit the init has not loaded: not-found, or loaded-but-inactive when its file exists
/// (as systemd shows a disabled unit).
fn not_loaded(name: &str, states: &BTreeMap<String, String>, loader: Option<&Loader>) -> UnitInfo {
    let mut info = UnitInfo::not_found(name);
    if let (Some(state), Some(loader)) = (states.get(name), loader) {
        if let Ok(Some(found)) = loader.find(name) {
            info.load_state = if found.masked { "masked" } else { "loaded" }.into();
            info.fragment_path = if found.masked {
                String::new()
            } else {
                found.path.display().to_string()
            };
            info.unit_file_state = state.clone();
            info.unit_file_preset = "enabled".into();
            if let Ok(file) = crate::units::boot::read_unit(&found) {
                if let Some(d) = file.get("Unit", "Description") {
                    info.description = d.to_string();
                }
            }
        }
    }
    info
}
