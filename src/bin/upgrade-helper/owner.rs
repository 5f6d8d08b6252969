//! Who runs an upgrade: boot id, pid and the process's start time, kept in the labels of
//! the upgrade's lease so that `recover` can tell a crashed upgrade (roll it back) from
//! one that is still at work (leave it alone). A pid alone is not enough: after a crash
//! the number may belong to another process, which the start time tells apart; after a
//! reboot no upgrade of before is alive, which the boot id tells.

/// The lease label that names the owner.
pub const LABEL: &str = "io.rich-init.upgrade.owner";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub boot: String,
    pub pid: u32,
    /// Field 22 of /proc/PID/stat: clock ticks after boot.
    pub start: u64,
}

/// The start time out of a /proc/PID/stat line (the command may hold spaces and parens).
fn start_time(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    // After the command: state is field 3, starttime field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn boot_id() -> Option<String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = text.trim();
    (!id.is_empty()).then(|| id.to_string())
}

fn started(pid: u32) -> Option<u64> {
    start_time(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

impl Owner {
    /// This process; None if /proc cannot tell (then the lease goes without an owner,
    /// and recover treats the upgrade as crashed, as before owners were recorded).
    pub fn me() -> Option<Owner> {
        let pid = std::process::id();
        Some(Owner {
            boot: boot_id()?,
            pid,
            start: started(pid)?,
        })
    }

    pub fn encode(&self) -> String {
        format!("boot={} pid={} start={}", self.boot, self.pid, self.start)
    }

    pub fn parse(text: &str) -> Option<Owner> {
        let mut boot = None;
        let mut pid = None;
        let mut start = None;
        for word in text.split_whitespace() {
            match word.split_once('=')? {
                ("boot", v) if !v.is_empty() => boot = Some(v.to_string()),
                ("pid", v) => pid = v.parse().ok(),
                ("start", v) => start = v.parse().ok(),
                _ => return None,
            }
        }
        Some(Owner {
            boot: boot?,
            pid: pid?,
            start: start?,
        })
    }

    /// Still running, and not this process: same boot, and the pid is the same process.
    pub fn alive_elsewhere(&self) -> bool {
        if Owner::me().as_ref() == Some(self) {
            return false;
        }
        boot_id().as_deref() == Some(self.boot.as_str()) && started(self.pid) == Some(self.start)
    }

    /// "pid N", for messages.
    pub fn describe(&self) -> String {
        format!("pid {}", self.pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_survives_odd_command_names() {
        let line =
            "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(start_time(line), Some(987654));
        assert_eq!(start_time("4242 (short) S 1"), None);
        assert_eq!(start_time("garbage"), None);
    }

    #[test]
    fn owner_round_trips_and_rejects_garbage() {
        let o = Owner {
            boot: "0b5c2c3e-1111-2222-3333-444455556666".into(),
            pid: 77,
            start: 12345,
        };
        assert_eq!(Owner::parse(&o.encode()), Some(o));
        for bad in [
            "",
            "pid=1 start=2",
            "boot=x pid=y start=2",
            "boot=x pid=1 start=2 extra=1",
            "nonsense",
        ] {
            assert_eq!(Owner::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn this_process_is_not_an_other_owner_and_a_dead_one_is_not_alive() {
        let me = Owner::me().expect("/proc tells");
        assert!(!me.alive_elsewhere(), "we are not someone else");
        let parent = Owner {
            pid: std::os::unix::process::parent_id(),
            start: started(std::os::unix::process::parent_id()).expect("parent's stat"),
            ..me.clone()
        };
        assert!(parent.alive_elsewhere(), "our parent runs");
        let reused = Owner {
            start: parent.start + 1,
            ..parent.clone()
        };
        assert!(!reused.alive_elsewhere(), "same pid, another process");
        let rebooted = Owner {
            boot: "another-boot".into(),
            ..parent
        };
        assert!(!rebooted.alive_elsewhere(), "another boot");
    }
}
