//! Every directive a `.service` unit may carry that rich-init knows by name, with what it does
//! with it: the table behind the warnings, and the one README's directive table is made from.

/// What rich-init does with a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Read into [`super::ServiceUnit`].
    Supported,
    /// Known to systemd, not done by rich-init: one warning names it, the unit still loads.
    WarnedIgnored,
    /// Known, and a unit that sets it cannot run as its author meant: the unit is refused.
    /// No directive is in this class today; the value rules (a missing ExecStart=) refuse.
    Refused,
}

/// One directive: its name, its section, and what rich-init does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directive {
    pub name: &'static str,
    pub section: &'static str,
    pub support: Support,
}

const fn d(name: &'static str, section: &'static str, support: Support) -> Directive {
    Directive {
        name,
        section,
        support,
    }
}

use Support::{Supported as S, WarnedIgnored as W};

const U: &str = "Unit";
const SV: &str = "Service";

/// The conditions and assertions read as data (see `values::check`); other `Condition…=` and
/// `Assert…=` names are listed as warned and ignored below.
const CHECKS: [&str; 9] = [
    "PathExists",
    "PathExistsGlob",
    "PathIsDirectory",
    "PathIsSymbolicLink",
    "FileNotEmpty",
    "FileIsExecutable",
    "DirectoryNotEmpty",
    "Virtualization",
    "Capability",
];

/// The resource limits of systemd.exec(5), "Process Properties".
pub const LIMITS: [&str; 16] = [
    "LimitCPU",
    "LimitFSIZE",
    "LimitDATA",
    "LimitSTACK",
    "LimitCORE",
    "LimitRSS",
    "LimitNOFILE",
    "LimitAS",
    "LimitNPROC",
    "LimitMEMLOCK",
    "LimitLOCKS",
    "LimitSIGPENDING",
    "LimitMSGQUEUE",
    "LimitNICE",
    "LimitRTPRIO",
    "LimitRTTIME",
];

/// The directives, [Unit] then [Service]. Condition/Assert and Limit names are in
/// [`CHECKS`]-derived and [`LIMITS`] form and looked up by [`lookup`].
pub const DIRECTIVES: &[Directive] = &[
    d("Description", U, S),
    d("Documentation", U, S),
    d("After", U, S),
    d("Before", U, S),
    d("Requires", U, S),
    d("Wants", U, S),
    d("BindsTo", U, S),
    d("PartOf", U, S),
    d("Conflicts", U, S),
    d("StartLimitIntervalSec", U, S),
    d("StartLimitBurst", U, S),
    d("SourcePath", U, S),
    d("Requisite", U, W),
    d("Upholds", U, W),
    d("OnFailure", U, W),
    d("OnSuccess", U, W),
    d("PropagatesReloadTo", U, W),
    d("ReloadPropagatedFrom", U, W),
    d("JoinsNamespaceOf", U, W),
    d("RequiresMountsFor", U, W),
    d("DefaultDependencies", U, S),
    d("IgnoreOnIsolate", U, W),
    d("RefuseManualStart", U, W),
    d("RefuseManualStop", U, W),
    d("AllowIsolate", U, W),
    d("StopWhenUnneeded", U, W),
    d("CollectMode", U, W),
    d("FailureAction", U, W),
    d("SuccessAction", U, W),
    d("StartLimitAction", U, W),
    d("JobTimeoutSec", U, W),
    d("ConditionKernelCommandLine", U, W),
    d("ConditionKernelVersion", U, W),
    d("ConditionArchitecture", U, W),
    d("ConditionHost", U, W),
    d("ConditionSecurity", U, W),
    d("ConditionACPower", U, W),
    d("ConditionNeedsUpdate", U, W),
    d("ConditionFirstBoot", U, W),
    d("ConditionPathIsMountPoint", U, W),
    d("ConditionPathIsReadWrite", U, W),
    d("ConditionUser", U, W),
    d("ConditionGroup", U, W),
    d("ConditionEnvironment", U, W),
    d("ConditionControlGroupController", U, W),
    d("Type", SV, S),
    d("ExecStart", SV, S),
    d("ExecStartPre", SV, S),
    d("ExecStartPost", SV, S),
    d("ExecCondition", SV, S),
    d("ExecReload", SV, S),
    d("ExecStop", SV, S),
    d("ExecStopPost", SV, S),
    d("PIDFile", SV, S),
    d("RemainAfterExit", SV, S),
    d("GuessMainPID", SV, S),
    d("Restart", SV, S),
    d("RestartSec", SV, S),
    d("StartLimitIntervalSec", SV, S),
    d("StartLimitInterval", SV, S),
    d("StartLimitBurst", SV, S),
    d("SuccessExitStatus", SV, S),
    d("RestartPreventExitStatus", SV, S),
    d("TimeoutStartSec", SV, S),
    d("TimeoutStopSec", SV, S),
    d("TimeoutSec", SV, S),
    d("KillMode", SV, S),
    d("KillSignal", SV, S),
    d("SendSIGKILL", SV, S),
    d("FinalKillSignal", SV, S),
    d("User", SV, S),
    d("Group", SV, S),
    d("SupplementaryGroups", SV, S),
    d("Environment", SV, S),
    d("EnvironmentFile", SV, S),
    d("PassEnvironment", SV, S),
    d("WorkingDirectory", SV, S),
    d("RootDirectory", SV, S),
    d("UMask", SV, S),
    d("Nice", SV, S),
    d("OOMScoreAdjust", SV, S),
    d("StandardOutput", SV, S),
    d("StandardError", SV, S),
    d("SyslogIdentifier", SV, S),
    d("NotifyAccess", SV, S),
    d("WatchdogSec", SV, W),
    d("RuntimeDirectory", SV, S),
    d("RuntimeDirectoryMode", SV, S),
    d("StateDirectory", SV, S),
    d("StateDirectoryMode", SV, S),
    d("CacheDirectory", SV, S),
    d("CacheDirectoryMode", SV, S),
    d("LogsDirectory", SV, S),
    d("LogsDirectoryMode", SV, S),
    d("ConfigurationDirectory", SV, S),
    d("ConfigurationDirectoryMode", SV, S),
    d("NoNewPrivileges", SV, S),
    d("CapabilityBoundingSet", SV, S),
    d("AmbientCapabilities", SV, S),
    d("PrivateTmp", SV, S),
    d("IgnoreSIGPIPE", SV, S),
    d("FileDescriptorStoreMax", SV, S),
    d("BusName", SV, W),
    d("RestartMode", SV, W),
    d("RestartSteps", SV, W),
    d("RestartMaxDelaySec", SV, W),
    d("RuntimeMaxSec", SV, W),
    d("ExitType", SV, W),
    d("RestartForceExitStatus", SV, W),
    d("PermissionsStartOnly", SV, W),
    d("RootDirectoryStartOnly", SV, W),
    d("NonBlocking", SV, W),
    d("Sockets", SV, W),
    d("OOMPolicy", SV, W),
    d("StandardInput", SV, W),
    d("TTYPath", SV, W),
    d("SyslogFacility", SV, W),
    d("SyslogLevel", SV, W),
    d("SyslogLevelPrefix", SV, W),
    d("DynamicUser", SV, W),
    d("RuntimeDirectoryPreserve", SV, W),
    d("ProtectSystem", SV, W),
    d("ProtectHome", SV, W),
    d("PrivateDevices", SV, W),
    d("PrivateNetwork", SV, W),
    d("PrivateUsers", SV, W),
    d("PrivateMounts", SV, W),
    d("ProtectKernelTunables", SV, W),
    d("ProtectKernelModules", SV, W),
    d("ProtectKernelLogs", SV, W),
    d("ProtectControlGroups", SV, W),
    d("ProtectClock", SV, W),
    d("ProtectHostname", SV, W),
    d("ProtectProc", SV, W),
    d("ProcSubset", SV, W),
    d("ReadWritePaths", SV, W),
    d("ReadOnlyPaths", SV, W),
    d("InaccessiblePaths", SV, W),
    d("BindPaths", SV, W),
    d("BindReadOnlyPaths", SV, W),
    d("RestrictNamespaces", SV, W),
    d("RestrictRealtime", SV, W),
    d("RestrictSUIDSGID", SV, W),
    d("RestrictAddressFamilies", SV, W),
    d("LockPersonality", SV, W),
    d("MemoryDenyWriteExecute", SV, W),
    d("SystemCallFilter", SV, W),
    d("SystemCallArchitectures", SV, W),
    d("SystemCallErrorNumber", SV, W),
    d("RemoveIPC", SV, W),
    d("KeyringMode", SV, W),
    d("SecureBits", SV, W),
    d("DevicePolicy", SV, W),
    d("DeviceAllow", SV, W),
    d("Slice", SV, W),
    d("Delegate", SV, W),
    d("TasksMax", SV, W),
    d("MemoryMax", SV, W),
    d("MemoryHigh", SV, W),
    d("MemoryLimit", SV, W),
    d("CPUQuota", SV, W),
    d("CPUWeight", SV, W),
    d("CPUShares", SV, W),
    d("IOWeight", SV, W),
    d("IPAccounting", SV, W),
    d("IPAddressDeny", SV, W),
    d("IPAddressAllow", SV, W),
    d("CPUAccounting", SV, W),
    d("MemoryAccounting", SV, W),
    d("TasksAccounting", SV, W),
    d("UtmpIdentifier", SV, W),
    d("UtmpMode", SV, W),
    d("TimerSlackNSec", SV, W),
    d("CPUSchedulingPolicy", SV, W),
    d("CPUSchedulingPriority", SV, W),
    d("IOSchedulingClass", SV, W),
    d("IOSchedulingPriority", SV, W),
    d("LoadCredential", SV, W),
    d("SetCredential", SV, W),
];

/// What rich-init does with `key` in `section`; `None` for a name it does not know.
/// `Condition…=`/`Assert…=` with a checked suffix and the `Limit…=` names are supported;
/// an `Assert…=` for a warned condition is warned too.
pub fn lookup(section: &str, key: &str) -> Option<Support> {
    if let Some(found) = DIRECTIVES
        .iter()
        .find(|d| d.section == section && d.name == key)
    {
        return Some(found.support);
    }
    match section {
        "Unit" => {
            let suffix = key
                .strip_prefix("Condition")
                .or_else(|| key.strip_prefix("Assert"))?;
            if CHECKS.contains(&suffix) {
                return Some(Support::Supported);
            }
            let condition = format!("Condition{suffix}");
            DIRECTIVES
                .iter()
                .any(|d| d.section == "Unit" && d.name == condition)
                .then_some(Support::WarnedIgnored)
        }
        "Service" => LIMITS.contains(&key).then_some(Support::Supported),
        _ => None,
    }
}

/// README's directive table (between `<!-- directives -->` markers), made from
/// [`DIRECTIVES`], [`CHECKS`] and [`LIMITS`] so that it cannot drift from the code.
pub fn markdown_table() -> String {
    let names = |section: &str, support: Support| -> String {
        let mut list: Vec<String> = DIRECTIVES
            .iter()
            .filter(|d| d.section == section && d.support == support)
            .map(|d| format!("`{}=`", d.name))
            .collect();
        if support == Support::Supported {
            match section {
                U => list.extend(
                    CHECKS
                        .iter()
                        .map(|c| format!("`Condition{c}=`, `Assert{c}=`")),
                ),
                _ => list.push(format!("`{}=` (all {} `Limit…=`)", LIMITS[0], LIMITS.len())),
            }
        }
        if support == Support::WarnedIgnored && section == U {
            list.push("every other `Condition…=`/`Assert…=`".into());
        }
        if list.is_empty() {
            "none".into()
        } else {
            list.join(", ")
        }
    };
    let mut out = String::from("| | [Unit] | [Service] |\n| :-- | :-- | :-- |\n");
    for (label, support) in [
        ("supported", Support::Supported),
        (
            "warned (one line per directive per boot) and ignored",
            Support::WarnedIgnored,
        ),
        ("refused", Support::Refused),
    ] {
        out.push_str(&format!(
            "| {label} | {} | {} |\n",
            names(U, support),
            names(SV, support)
        ));
    }
    out
}

#[cfg(test)]
mod readme {
    /// README.md shows [`super::markdown_table`] as it is now (regenerate it with
    /// `cargo test -- --ignored print_directive_table --nocapture`).
    #[test]
    fn readme_has_the_directive_table() {
        let readme = include_str!("../../../README.md");
        let table = super::markdown_table();
        assert!(
            readme.contains(&format!("<!-- directives -->\n{table}<!-- /directives -->")),
            "README.md's directive table is stale; paste this between its markers:\n{table}"
        );
    }

    #[test]
    #[ignore]
    fn print_directive_table() {
        print!("{}", super::markdown_table());
    }
}
