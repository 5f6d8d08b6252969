//! What the running init tells `systemctl`, `service` and `journalctl` about its units: plain
//! data, shared by the server (the rich driver) and the clients (the personalities). Times are
//! wall-clock microseconds since the epoch (systemd's `usec_t`), 0 for "never".

/// Now, in the microseconds since the epoch these types carry.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// One unit as `systemctl show` and `status` see it. Property names follow
/// `systemctl show`'s (org.freedesktop.systemd1(5)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitInfo {
    /// `Id`: the unit's own name (`cron.service`, `multi-user.target`).
    pub id: String,
    /// `Names`: the id and its aliases.
    pub names: Vec<String>,
    pub description: String,
    /// `LoadState`: loaded, not-found, masked, error.
    pub load_state: String,
    /// `ActiveState`: active, reloading, inactive, failed, activating, deactivating.
    pub active_state: String,
    /// `SubState`: running, exited, dead, failed, start-pre, auto-restart, ...
    pub sub_state: String,
    /// `UnitFileState`: enabled, disabled, static, masked, generated, ...
    pub unit_file_state: String,
    /// `UnitFilePreset`: enabled or disabled (rich-init has no preset files: "enabled").
    pub unit_file_preset: String,
    /// `FragmentPath`: the unit file, or the script for a SysV service (`SourcePath`).
    pub fragment_path: String,
    /// `SourcePath`: the SysV script a unit was generated from.
    pub source_path: String,
    /// `DropInPaths`.
    pub drop_in_paths: Vec<String>,
    /// `Type` for a service (simple, forking, ...); empty for others.
    pub service_type: String,
    /// `Restart` for a service.
    pub restart: String,
    /// `MainPID`, 0 when none.
    pub main_pid: i32,
    /// `ControlPID`, 0 when none.
    pub control_pid: i32,
    /// `ExecMainPID`, `ExecMainCode` (1 exited, 2 killed, 3 dumped; 0 not yet) and
    /// `ExecMainStatus` (the exit code, or the signal number).
    pub exec_main_pid: i32,
    pub exec_main_code: i32,
    pub exec_main_status: i32,
    pub exec_main_start_us: u64,
    pub exec_main_exit_us: u64,
    /// `Result`: success, exit-code, signal, core-dump, timeout, start-limit-hit, ...
    pub result: String,
    /// `NRestarts`.
    pub n_restarts: u32,
    pub active_enter_us: u64,
    pub active_exit_us: u64,
    pub inactive_enter_us: u64,
    pub inactive_exit_us: u64,
    /// `StateChangeTimestamp`.
    pub state_change_us: u64,
    /// `CanReload`: it has ExecReload=.
    pub can_reload: bool,
    /// `Documentation`.
    pub documentation: Vec<String>,
    /// The unit's processes (its "control group"): pid and command line, main first.
    pub processes: Vec<Process>,
}

impl UnitInfo {
    /// What `Units` answers for a name the init does not know: systemd's defaults for a unit
    /// that failed to load (`LoadState=not-found`, `inactive`, `dead`).
    pub fn not_found(name: &str) -> UnitInfo {
        UnitInfo {
            id: name.to_string(),
            names: vec![name.to_string()],
            load_state: "not-found".into(),
            active_state: "inactive".into(),
            sub_state: "dead".into(),
            ..UnitInfo::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Process {
    pub pid: i32,
    /// `/proc/PID/cmdline`, its NULs as spaces (the comm in brackets when empty).
    pub cmdline: String,
}

/// One line a unit (or the init) logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalEntry {
    /// When the init read it.
    pub time_us: u64,
    /// The unit it belongs to (`cron.service`), or empty for the init's own lines.
    pub unit: String,
    /// `SYSLOG_IDENTIFIER`: SyslogIdentifier=, else the program's name.
    pub ident: String,
    /// The process that wrote it, 0 when unknown.
    pub pid: i32,
    /// The line, without its newline.
    pub message: String,
}

/// `systemctl is-system-running`'s answer (systemctl(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemState {
    /// The boot has not finished: units are still starting.
    Starting,
    /// Everything started and nothing failed.
    Running,
    /// Booted, but some unit failed.
    Degraded,
    /// Shutting down.
    Stopping,
}

impl SystemState {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemState::Starting => "starting",
            SystemState::Running => "running",
            SystemState::Degraded => "degraded",
            SystemState::Stopping => "stopping",
        }
    }

    pub fn parse(text: &str) -> Option<SystemState> {
        Some(match text {
            "starting" => SystemState::Starting,
            "running" => SystemState::Running,
            "degraded" => SystemState::Degraded,
            "stopping" => SystemState::Stopping,
            _ => return None,
        })
    }
}
