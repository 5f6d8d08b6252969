//! The fleet's services: each one's machine, its place in the start order, and what the
//! boot and the shutdown know of it. Pure bookkeeping; the fleet decides when to use it.

use crate::supervisor::service::{self, Phase, Service};
use crate::supervisor::unit;
use std::collections::BTreeMap;
use std::time::Instant;

use super::types::{Member, MemberKind};

/// A member's own machine.
#[derive(Debug)]
pub enum Machine {
    Service(Service),
    Unit(Box<unit::Unit>),
    /// A target: active from its start to its stop.
    Target {
        active: bool,
    },
}

/// What a member is fed: its own machine's events, or what every member understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Feed {
    Service(service::Event),
    Unit(unit::Event),
    Start,
    Stop,
    Timer,
}

/// What a member's machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    Service(service::Action),
    Unit(unit::Action),
}

impl Machine {
    fn new(kind: MemberKind, now: Instant) -> Machine {
        match kind {
            MemberKind::Service(policy) => Machine::Service(Service::new(policy, now)),
            MemberKind::Unit(spec) => Machine::Unit(Box::new(unit::Unit::new(*spec, now))),
            MemberKind::Target => Machine::Target { active: false },
        }
    }

    fn handle(&mut self, feed: Feed, now: Instant) -> Vec<Asked> {
        match self {
            Machine::Service(m) => {
                let event = match feed {
                    Feed::Service(e) => e,
                    Feed::Start => service::Event::Start,
                    Feed::Stop => service::Event::Stop,
                    Feed::Timer => service::Event::Timer,
                    Feed::Unit(_) => return Vec::new(),
                };
                m.handle(event, now)
                    .into_iter()
                    .map(Asked::Service)
                    .collect()
            }
            Machine::Unit(m) => {
                let event = match feed {
                    Feed::Unit(e) => e,
                    Feed::Start => unit::Event::Start,
                    Feed::Stop => unit::Event::Stop,
                    Feed::Timer => unit::Event::Timer,
                    Feed::Service(_) => return Vec::new(),
                };
                m.handle(event, now).into_iter().map(Asked::Unit).collect()
            }
            Machine::Target { active } => {
                match feed {
                    Feed::Start | Feed::Unit(unit::Event::Start) => *active = true,
                    Feed::Stop | Feed::Unit(unit::Event::Stop) => *active = false,
                    _ => {}
                }
                Vec::new()
            }
        }
    }

    /// Has left its first start (ready, failed, or given up).
    fn settled(&self) -> bool {
        match self {
            Machine::Service(m) => m.phase() != Phase::Starting,
            Machine::Unit(m) => m.settled(),
            Machine::Target { .. } => true,
        }
    }

    pub fn is_up(&self) -> bool {
        match self {
            Machine::Service(m) => m.is_up(),
            // Its state, not its leftovers: what KillMode=process or none leaves behind is
            // the final sweep's, as systemd leaves it to its final kill.
            Machine::Unit(m) => !matches!(
                m.active_state(),
                unit::ActiveState::Inactive | unit::ActiveState::Failed
            ),
            Machine::Target { active } => *active,
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        match self {
            Machine::Service(m) => m.next_deadline(),
            Machine::Unit(m) => m.next_deadline(),
            Machine::Target { .. } => None,
        }
    }
}

#[derive(Debug)]
struct Unit {
    machine: Machine,
    after: Vec<String>,
    /// Those whose `after` names this one: they stop first.
    dependents: Vec<String>,
    /// Asked to start (by the boot or an operator).
    started: bool,
    /// Has left Starting since it was first asked to start.
    settled: bool,
    /// Asked to stop by the shutdown.
    stop_asked: bool,
}

#[derive(Debug)]
pub(super) struct Members {
    units: BTreeMap<String, Unit>,
    /// Start order (each after its `after`); the shutdown walks it backwards.
    order: Vec<String>,
}

impl Members {
    /// `members` in start order.
    pub fn new(members: Vec<Member>, now: Instant) -> Members {
        let order: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
        let mut units: BTreeMap<String, Unit> = crate::sort::map_of(members.into_iter().map(|m| {
            let unit = Unit {
                machine: Machine::new(m.kind, now),
                after: m.after,
                dependents: Vec::new(),
                started: false,
                settled: false,
                stop_asked: false,
            };
            (m.name, unit)
        }));
        let edges: Vec<(String, String)> = units
            .iter()
            .flat_map(|(name, u)| u.after.iter().map(move |a| (a.clone(), name.clone())))
            .collect();
        for (dependency, dependent) in edges {
            if let Some(u) = units.get_mut(&dependency) {
                if !u.dependents.contains(&dependent) {
                    u.dependents.push(dependent);
                }
            }
        }
        Members { units, order }
    }

    /// Add a member after the start (a unit loaded on demand); it starts when asked. False
    /// when the name is taken.
    pub fn add(&mut self, member: Member, now: Instant) -> bool {
        if self.units.contains_key(&member.name) {
            return false;
        }
        for dependency in &member.after {
            if let Some(u) = self.units.get_mut(dependency) {
                if !u.dependents.contains(&member.name) {
                    u.dependents.push(member.name.clone());
                }
            }
        }
        self.order.push(member.name.clone());
        let unit = Unit {
            machine: Machine::new(member.kind, now),
            after: member.after,
            dependents: Vec::new(),
            // Not the boot's to start; counts as settled for CMD and the boot's order.
            started: true,
            settled: true,
            stop_asked: false,
        };
        self.units.insert(member.name, unit);
        true
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        match self.units.get(name).map(|u| &u.machine) {
            Some(Machine::Service(m)) => Some(m),
            _ => None,
        }
    }

    pub fn services(&self) -> impl Iterator<Item = (&str, &Service)> {
        self.units.iter().filter_map(|(n, u)| match &u.machine {
            Machine::Service(m) => Some((n.as_str(), m)),
            _ => None,
        })
    }

    pub fn machine(&self, name: &str) -> Option<&Machine> {
        self.units.get(name).map(|u| &u.machine)
    }

    /// The members in start order.
    pub fn order(&self) -> &[String] {
        &self.order
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.units
            .values()
            .filter_map(|u| u.machine.next_deadline())
            .min()
    }

    /// The services whose deadline has come.
    pub fn due(&self, now: Instant) -> Vec<String> {
        self.units
            .iter()
            .filter(|(_, u)| u.machine.next_deadline().is_some_and(|d| d <= now))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Feed one service's machine: its actions, and whether it settled just now.
    pub fn feed(&mut self, name: &str, feed: Feed, now: Instant) -> Option<(Vec<Asked>, bool)> {
        let unit = self.units.get_mut(name)?;
        let actions = unit.machine.handle(feed, now);
        let settled_now = unit.started && !unit.settled && unit.machine.settled();
        if settled_now {
            unit.settled = true;
        }
        Some((actions, settled_now))
    }

    /// An operator has it now: the boot no longer starts it. False for no such service.
    pub fn take_over(&mut self, name: &str) -> bool {
        self.units.get_mut(name).map(|u| u.started = true).is_some()
    }

    /// The services not started yet whose `after` are all settled, in start order; they
    /// count as started from now on.
    pub fn take_startable(&mut self) -> Vec<String> {
        let ready: Vec<String> = self
            .order
            .iter()
            .filter(|name| {
                self.units.get(*name).is_some_and(|u| {
                    !u.started
                        && u.after
                            .iter()
                            .all(|a| self.units.get(a).is_none_or(|d| d.settled))
                })
            })
            .cloned()
            .collect();
        for name in &ready {
            if let Some(u) = self.units.get_mut(name) {
                u.started = true;
            }
        }
        ready
    }

    /// The services not yet asked to stop of which no dependent is up, in reverse start
    /// order; they count as asked from now on.
    pub fn take_stoppable(&mut self) -> Vec<String> {
        let free: Vec<String> = self
            .order
            .iter()
            .rev()
            .filter(|name| {
                self.units.get(*name).is_some_and(|u| {
                    !u.stop_asked
                        && u.dependents
                            .iter()
                            .all(|d| self.units.get(d).is_none_or(|d| !d.machine.is_up()))
                })
            })
            .cloned()
            .collect();
        for name in &free {
            if let Some(u) = self.units.get_mut(name) {
                u.stop_asked = true;
            }
        }
        free
    }

    /// Every service was asked to stop and is down.
    pub fn all_down(&self) -> bool {
        self.units
            .values()
            .all(|u| u.stop_asked && !u.machine.is_up())
    }

    /// Whether these services (all of them: `None`) have settled; unknown names have.
    pub fn settled(&self, names: Option<&[String]>) -> bool {
        let settled = |name: &String| self.units.get(name).is_none_or(|u| u.settled);
        match names {
            None => self.units.keys().all(settled),
            Some(names) => names.iter().all(settled),
        }
    }
}
