//! A `.service` unit's [Unit] and [Service] sections as typed data, read as systemd.unit(5),
//! systemd.service(5), systemd.exec(5) and systemd.kill(5) define them, for the directive
//! subset rich-init runs (see [`DIRECTIVES`]). Pure: nothing is evaluated, read or run here.
//!
//! As systemd does, a directive that is unknown, known but not done, or given a bad value is
//! one [`Warning`] and otherwise ignored; only a unit with nothing (or too much) to start is
//! refused, with systemd's rule ([`ServiceError`]).

mod apply;
mod directives;
#[cfg(test)]
mod tests;
pub(crate) mod values;

use std::time::Duration;

use thiserror::Error;

use super::exec::{Command, ExecError};
use super::specifiers::Context;
use super::syntax::UnitFile;
pub use directives::{lookup, markdown_table, Directive, Support, DIRECTIVES, LIMITS};
pub use values::{Check, Condition, ExitStatusSet, Output, Rlimit};

/// systemd's DefaultTimeoutStartSec=/DefaultTimeoutStopSec= (systemd-system.conf(5)).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// Type= (systemd.service(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceType {
    Simple,
    Exec,
    Forking,
    Oneshot,
    Notify,
    Idle,
}

/// Restart= (systemd.service(5)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Restart {
    #[default]
    No,
    OnSuccess,
    OnFailure,
    OnAbnormal,
    OnWatchdog,
    OnAbort,
    Always,
}

/// KillMode= (systemd.kill(5)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KillMode {
    #[default]
    ControlGroup,
    Mixed,
    Process,
    None,
}

/// NotifyAccess= (systemd.service(5)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NotifyAccess {
    #[default]
    None,
    Main,
    Exec,
    All,
}

/// One EnvironmentFile= (systemd.exec(5)); `optional` is the `-` prefix. Not read here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentFile {
    pub path: String,
    pub optional: bool,
}

/// WorkingDirectory= (systemd.exec(5)); `optional` is the `-` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingDirectory {
    /// An absolute path, or `None` for `~` (the home directory of User=).
    pub path: Option<String>,
    pub optional: bool,
}

/// RuntimeDirectory= and its kin with their *Mode= (systemd.exec(5), default mode 0755).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directories {
    /// Relative names under /run, /var/lib, /var/cache, /var/log or /etc.
    pub names: Vec<String>,
    pub mode: u32,
}

impl Default for Directories {
    fn default() -> Directories {
        Directories {
            names: Vec::new(),
            mode: 0o755,
        }
    }
}

/// One CapabilityBoundingSet=/AmbientCapabilities= assignment (systemd.exec(5)): names such
/// as `CAP_NET_BIND_SERVICE`; `invert` is the `~` prefix. Combined by the caller, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub invert: bool,
    pub names: Vec<String>,
}

/// The [Unit] section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSection {
    /// As written: systemd resolves its specifiers only when showing it.
    pub description: Option<String>,
    pub documentation: Vec<String>,
    pub after: Vec<String>,
    pub before: Vec<String>,
    pub requires: Vec<String>,
    pub wants: Vec<String>,
    pub binds_to: Vec<String>,
    pub part_of: Vec<String>,
    pub conflicts: Vec<String>,
    /// DefaultDependencies= (read by `units::boot`, which orders the boot).
    pub default_dependencies: bool,
    pub conditions: Vec<Condition>,
    pub asserts: Vec<Condition>,
    /// SourcePath=: the file a generator made this unit from (systemd.unit(5)), such as
    /// `/etc/init.d/foo`; shown to the user, never run.
    pub source_path: Option<String>,
}

impl Default for UnitSection {
    fn default() -> UnitSection {
        UnitSection {
            description: None,
            documentation: Vec::new(),
            after: Vec::new(),
            before: Vec::new(),
            requires: Vec::new(),
            wants: Vec::new(),
            binds_to: Vec::new(),
            part_of: Vec::new(),
            conflicts: Vec::new(),
            default_dependencies: true,
            conditions: Vec::new(),
            asserts: Vec::new(),
            source_path: None,
        }
    }
}

/// The [Service] section, with systemd's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSection {
    pub kind: ServiceType,
    pub exec_start: Vec<Command>,
    pub exec_start_pre: Vec<Command>,
    pub exec_start_post: Vec<Command>,
    pub exec_condition: Vec<Command>,
    pub exec_reload: Vec<Command>,
    pub exec_stop: Vec<Command>,
    pub exec_stop_post: Vec<Command>,
    pub pid_file: Option<String>,
    pub remain_after_exit: bool,
    pub guess_main_pid: bool,
    pub restart: Restart,
    pub restart_sec: Duration,
    /// StartLimitIntervalSec= (0 disables rate limiting) and StartLimitBurst=.
    pub start_limit_interval: Duration,
    pub start_limit_burst: u32,
    pub success_exit_status: ExitStatusSet,
    pub restart_prevent_exit_status: ExitStatusSet,
    /// `None` is infinity (also written 0).
    pub timeout_start: Option<Duration>,
    pub timeout_stop: Option<Duration>,
    pub kill_mode: KillMode,
    pub kill_signal: i32,
    pub send_sigkill: bool,
    pub final_kill_signal: i32,
    pub user: Option<String>,
    pub group: Option<String>,
    pub supplementary_groups: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub environment_files: Vec<EnvironmentFile>,
    pub pass_environment: Vec<String>,
    pub working_directory: Option<WorkingDirectory>,
    pub root_directory: Option<String>,
    pub umask: u32,
    pub limits: Vec<Rlimit>,
    pub nice: Option<i32>,
    pub oom_score_adjust: Option<i32>,
    pub standard_output: Output,
    pub standard_error: Output,
    pub syslog_identifier: Option<String>,
    pub notify_access: NotifyAccess,
    /// `None`: no watchdog (also written 0).
    pub watchdog: Option<Duration>,
    pub runtime_directory: Directories,
    pub state_directory: Directories,
    pub cache_directory: Directories,
    pub logs_directory: Directories,
    pub configuration_directory: Directories,
    pub no_new_privileges: bool,
    pub capability_bounding_set: Vec<Capabilities>,
    pub ambient_capabilities: Vec<Capabilities>,
    pub private_tmp: bool,
    /// IgnoreSIGPIPE= (systemd.exec(5)): SIGPIPE is set to be ignored in the started
    /// processes; default true. SysV units say no: shell scripts expect the default action.
    pub ignore_sigpipe: bool,
    /// FileDescriptorStoreMax= (systemd.service(5)): how many descriptors the service may
    /// keep in the init with FDSTORE=1; 0 (the default) keeps none.
    pub fd_store_max: u32,
}

impl Default for ServiceSection {
    fn default() -> ServiceSection {
        ServiceSection {
            kind: ServiceType::Simple,
            exec_start: Vec::new(),
            exec_start_pre: Vec::new(),
            exec_start_post: Vec::new(),
            exec_condition: Vec::new(),
            exec_reload: Vec::new(),
            exec_stop: Vec::new(),
            exec_stop_post: Vec::new(),
            pid_file: None,
            remain_after_exit: false,
            guess_main_pid: true,
            restart: Restart::No,
            restart_sec: Duration::from_millis(100),
            start_limit_interval: Duration::from_secs(10),
            start_limit_burst: 5,
            success_exit_status: ExitStatusSet::default(),
            restart_prevent_exit_status: ExitStatusSet::default(),
            timeout_start: Some(DEFAULT_TIMEOUT),
            timeout_stop: Some(DEFAULT_TIMEOUT),
            kill_mode: KillMode::ControlGroup,
            kill_signal: libc::SIGTERM,
            send_sigkill: true,
            final_kill_signal: libc::SIGKILL,
            user: None,
            group: None,
            supplementary_groups: Vec::new(),
            environment: Vec::new(),
            environment_files: Vec::new(),
            pass_environment: Vec::new(),
            working_directory: None,
            root_directory: None,
            umask: 0o022,
            limits: Vec::new(),
            nice: None,
            oom_score_adjust: None,
            standard_output: Output::Journal { console: false },
            standard_error: Output::Inherit,
            syslog_identifier: None,
            notify_access: NotifyAccess::None,
            watchdog: None,
            runtime_directory: Directories::default(),
            state_directory: Directories::default(),
            cache_directory: Directories::default(),
            logs_directory: Directories::default(),
            configuration_directory: Directories::default(),
            no_new_privileges: false,
            capability_bounding_set: Vec::new(),
            ambient_capabilities: Vec::new(),
            private_tmp: false,
            ignore_sigpipe: true,
            fd_store_max: 0,
        }
    }
}

/// A loaded service unit and what was ignored on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUnit {
    pub name: String,
    pub unit: UnitSection,
    pub service: ServiceSection,
    pub warnings: Vec<Warning>,
}

/// A directive systemd would log and skip; the unit still loads. One line each.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Warning {
    #[error("{unit}:{line}: unknown key `{key}` in [{section}], ignoring it; check its spelling and section")]
    UnknownKey {
        unit: String,
        section: String,
        key: String,
        line: usize,
    },
    #[error("{unit}:{line}: unknown section [{section}], ignoring it; rich-init reads [Unit], [Install] and the section of the unit's type, [Service] or [Socket] (and skips [X-…])")]
    UnknownSection {
        unit: String,
        section: String,
        line: usize,
    },
    #[error("{unit}:{line}: {key}= is not supported by rich-init, ignoring it; remove it, or keep it for systemd")]
    Ignored {
        unit: String,
        key: String,
        line: usize,
    },
    #[error("{unit}:{line}: invalid {key}={value}, ignoring it: {reason}")]
    Invalid {
        unit: String,
        key: String,
        value: String,
        line: usize,
        reason: String,
    },
    #[error("{unit}:{line}: Type=dbus runs as Type=simple (rich-init has no D-Bus); write Type=simple, or notify if the daemon supports it")]
    DbusAsSimple { unit: String, line: usize },
}

/// Why a service unit is refused (systemd's service_verify: "Refusing.").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServiceError {
    #[error(
        "{unit}: no ExecStart= and no ExecStop=, nothing to run; add ExecStart=/path/to/program"
    )]
    NothingToRun { unit: String },
    #[error(
        "{unit}: no ExecStart=, which only Type=oneshot allows; add ExecStart=/path/to/program"
    )]
    NoExecStart { unit: String },
    #[error("{unit}: no ExecStart= and RemainAfterExit= is not yes; add ExecStart=, or RemainAfterExit=yes to run only ExecStop=")]
    NoExecStartNoRemain { unit: String },
    #[error("{unit}: {count} ExecStart= commands, which only Type=oneshot allows; keep one, or set Type=oneshot")]
    SeveralExecStart { unit: String, count: usize },
    #[error("{unit}:{line}: ExecStart= is invalid and the unit has no other: {error}")]
    BadExecStart {
        unit: String,
        line: usize,
        error: ExecError,
    },
}

impl ServiceUnit {
    /// Read `file` (drop-ins already merged) for the unit `ctx.unit`, resolving specifiers
    /// from `ctx`.
    pub fn from_file(file: &UnitFile, ctx: &Context) -> Result<ServiceUnit, ServiceError> {
        let mut reader = apply::Reader::new(ctx);
        for section in file.sections() {
            let known = matches!(section.name.as_str(), "Unit" | "Service");
            if !known {
                if section.name != "Install" && !section.name.starts_with("X-") {
                    reader.unknown_section(section);
                }
                continue;
            }
            for entry in &section.entries {
                reader.entry(&section.name, entry);
            }
        }
        reader.finish()
    }
}
