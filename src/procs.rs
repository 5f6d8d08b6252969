//! Who owns each pid we started. Registered right after fork, before anything can be
//! reaped; every exit is delivered to its owner, and pids we never started are orphans
//! re-parented to us.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Cmd,
    /// A rich-mode service's main process.
    Service(String),
    /// A service's readiness check command.
    Check(String),
    /// An init.d / stop.d script.
    Script(String),
    /// The keeper of some of a systemd unit's processes (`sys::keeper`).
    Keeper(String),
}

#[derive(Debug, Default)]
pub struct Procs {
    // BTreeMap, not HashMap: no random seed (a getrandom call) at start-up.
    owners: BTreeMap<i32, Owner>,
}

impl Procs {
    pub fn register(&mut self, pid: i32, owner: Owner) {
        self.owners.insert(pid, owner);
    }

    /// Who owns `pid`, without forgetting it.
    pub fn owner(&self, pid: i32) -> Option<&Owner> {
        self.owners.get(&pid)
    }

    /// Every pid `owner` owns.
    pub fn pids_of(&self, owner: &Owner) -> Vec<i32> {
        self.owners
            .iter()
            .filter(|(_, o)| *o == owner)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Forget `pid` and say who owned it; `None` for an orphan.
    pub fn exited(&mut self, pid: i32) -> Option<Owner> {
        self.owners.remove(&pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_and_orphans() {
        let mut p = Procs::default();
        p.register(10, Owner::Cmd);
        assert_eq!(p.exited(11), None);
        assert_eq!(p.exited(10), Some(Owner::Cmd));
        assert_eq!(p.exited(10), None);
    }
}
