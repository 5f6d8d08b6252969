//! Running a systemd service unit's commands (systemd.exec(5)): the environment, the user,
//! the directories and the output each Exec*= line gets, spawned through a keeper
//! (`sys::keeper`) so that the unit's processes stay its own.
//!
//! Choices where a container differs from a host:
//! - The environment starts from the init's own (the container's, as for services.d), with
//!   systemd's PATH when the container gives none; then User='s HOME/USER/LOGNAME/SHELL,
//!   Environment=, EnvironmentFile= (re-read at each start, as systemd does) and
//!   `$MAINPID`/`$NOTIFY_SOCKET`.
//! - StandardOutput=journal (the default), syslog, kmsg, console and inherit all go to the
//!   init's output framed as `[unit] line`, so that `docker logs` shows them.

use super::output::{Output, SpawnCtx};
use crate::config::LogTarget;
use crate::supervisor::unit::{ExecKind, ExecRef};
use crate::sys::caps::CapSets;
use crate::sys::spawn::{Ids, Setup};
use crate::sys::users::{self, Identity};
use crate::sys::Errno;
use crate::units::exec::{Command, Privilege};
use crate::units::journal::Source;
use crate::units::service::{Directories, Output as StdOutput, ServiceSection, ServiceUnit};
use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::RawFd;
use std::path::Path;

/// systemd's PATH for system services (v252, split-usr off).
mod conditions;
mod load;
mod sockets;

pub(super) use load::{load, load_one, reload, Meta, OnDemandError, Reloaded};

pub(super) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One loaded service unit and what its spawns need.
pub(super) struct UnitRun {
    pub unit: ServiceUnit,
    identity: Option<Identity>,
    /// Type=notify or NotifyAccess= set: the NOTIFY_SOCKET address it is given.
    pub notify_address: Option<String>,
    /// Its socket units' sockets and its fd store, held across its restarts.
    pub sockets: sockets::UnitSockets,
}

/// What the unit's command is, as the keeper started it.
pub(super) struct Started {
    pub keeper: i32,
    pub pid: i32,
}

impl UnitRun {
    /// Resolve User=/Group= now; a problem is one line for the caller to print.
    pub fn new(unit: ServiceUnit, notify_address: Option<String>) -> Result<UnitRun, String> {
        let s = &unit.service;
        let mut identity = match (&s.user, &s.group, s.supplementary_groups.is_empty()) {
            (None, None, true) => None,
            (user, group, _) => {
                let user = user.clone().unwrap_or_else(|| "0".into());
                Some(
                    users::resolve_in(Path::new("/"), &user, group.as_deref())
                        .map_err(|e| format!("{}: {e}", unit.name))?,
                )
            }
        };
        // SupplementaryGroups=: names or gids from /etc/group, added to the user's own.
        if let Some(id) = identity.as_mut() {
            for name in &s.supplementary_groups {
                let gid = users::resolve_in(Path::new("/"), "0", Some(name))
                    .map_err(|e| format!("{}: SupplementaryGroups={name}: {e}", unit.name))?
                    .gid;
                if !id.groups.contains(&gid) {
                    id.groups.push(gid);
                }
            }
            crate::sort::sort(&mut id.groups);
        }
        Ok(UnitRun {
            sockets: sockets::UnitSockets::new(unit.service.fd_store_max),
            unit,
            identity,
            notify_address,
        })
    }

    pub fn short_name(&self) -> &str {
        self.unit
            .name
            .strip_suffix(".service")
            .unwrap_or(&self.unit.name)
    }

    fn commands(&self, kind: ExecKind) -> &[Command] {
        let s = &self.unit.service;
        match kind {
            ExecKind::Condition => &s.exec_condition,
            ExecKind::StartPre => &s.exec_start_pre,
            ExecKind::Start => &s.exec_start,
            ExecKind::StartPost => &s.exec_start_post,
            ExecKind::Reload => &s.exec_reload,
            ExecKind::Stop => &s.exec_stop,
            ExecKind::StopPost => &s.exec_stop_post,
        }
    }

    /// The environment of one command, as `NAME=value` pairs in order.
    fn environment(
        &self,
        base: &[(String, String)],
        main_pid: Option<i32>,
    ) -> Vec<(String, String)> {
        let s = &self.unit.service;
        let mut env: Vec<(String, String)> = base.to_vec();
        let set = |env: &mut Vec<(String, String)>, k: &str, v: String| {
            env.retain(|(n, _)| n != k);
            env.push((k.to_string(), v));
        };
        if !env.iter().any(|(n, _)| n == "PATH") {
            set(&mut env, "PATH", DEFAULT_PATH.to_string());
        }
        if let Some(id) = &self.identity {
            if let Some(name) = &id.name {
                set(&mut env, "USER", name.clone());
                set(&mut env, "LOGNAME", name.clone());
            }
            if let Some(home) = &id.home {
                set(&mut env, "HOME", home.clone());
            }
        }
        for (k, v) in &s.environment {
            set(&mut env, k, v.clone());
        }
        for file in &s.environment_files {
            if let Ok(text) = std::fs::read_to_string(&file.path) {
                for (k, v) in parse_env_file(&text) {
                    set(&mut env, &k, v);
                }
            }
        }
        if let Some(pid) = main_pid {
            set(&mut env, "MAINPID", pid.to_string());
        }
        if let Some(addr) = &self.notify_address {
            set(&mut env, "NOTIFY_SOCKET", addr.clone());
        }
        env
    }

    /// Create RuntimeDirectory= and its kin (mode, owner), before the unit starts.
    pub fn make_directories(&self) -> Vec<String> {
        let s = &self.unit.service;
        let mut problems = Vec::new();
        let owner = self.identity.as_ref().map(|i| (i.uid, i.gid));
        for (base, dirs) in [
            ("/run", &s.runtime_directory),
            ("/var/lib", &s.state_directory),
            ("/var/cache", &s.cache_directory),
            ("/var/log", &s.logs_directory),
            ("/etc", &s.configuration_directory),
        ] {
            if let Err(e) = make_dirs(base, dirs, owner) {
                problems.push(format!("{}: {e}", self.unit.name));
            }
        }
        problems
    }

    /// (Condition…= lines hold, Assert…= lines hold), now.
    pub fn conditions(&self) -> (bool, bool) {
        (
            conditions::holds(&self.unit.unit.conditions),
            conditions::holds(&self.unit.unit.asserts),
        )
    }

    /// Remove RuntimeDirectory= once the unit is down (RuntimeDirectoryPreserve=no).
    pub fn remove_runtime_directories(&self) {
        for name in &self.unit.service.runtime_directory.names {
            let _ = std::fs::remove_dir_all(Path::new("/run").join(name));
        }
    }

    /// Spawn command `which` through a keeper that reports to `records`; ExecStart= gets
    /// the unit's sockets (bound now if they are not yet; one that cannot be is said, and
    /// the start fails with its errno).
    pub fn spawn(
        &mut self,
        which: ExecRef,
        output: &mut Output,
        ctx: &SpawnCtx,
        base_env: &[(String, String)],
        main_pid: Option<i32>,
        records: RawFd,
    ) -> Result<Started, Errno> {
        let mut env = self.environment(base_env, main_pid);
        let listen_fds = match which.kind {
            ExecKind::Start => self.sockets.for_start(&self.unit.name, ctx.log, &mut env)?,
            _ => Vec::new(),
        };
        let command = self
            .commands(which.kind)
            .get(which.index)
            .ok_or(Errno::EINVAL)?;
        let map: HashMap<String, String> = env.iter().cloned().collect();
        let argv: Vec<CString> = command
            .argv(&map)
            .into_iter()
            .map(|a| CString::new(a).map_err(|_| Errno::EINVAL))
            .collect::<Result<_, _>>()?;
        let program =
            CString::new(resolve_program(&command.path, &map)).map_err(|_| Errno::EINVAL)?;
        let env_c: Vec<CString> = env
            .iter()
            .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
            .collect();
        let s = &self.unit.service;
        let cwd = self.working_directory();
        let cwd_c = cwd.as_ref().and_then(|d| CString::new(d.as_str()).ok());
        let ids = match command.prefixes.privilege {
            Privilege::Normal => self.identity.as_ref().map(|i| Ids {
                uid: i.uid,
                gid: i.gid,
                groups: &i.groups,
            }),
            Privilege::Full | Privilege::NoSetuid | Privilege::AmbientFallback => None,
        };
        let rlimits: Vec<(u32, u64, u64)> = s
            .limits
            .iter()
            .filter_map(|l| {
                let resource = rlimit_resource(&l.name)?;
                let soft = l.soft.unwrap_or(u64::MAX);
                let hard = l.hard.unwrap_or(u64::MAX);
                Some((resource, soft, hard))
            })
            .collect();
        let oom = s.oom_score_adjust.map(|n| n.to_string().into_bytes());
        let full = command.prefixes.privilege == Privilege::Full;
        let caps = (!full).then(|| self.cap_sets()).flatten();
        let root = s
            .root_directory
            .as_ref()
            .filter(|_| !full)
            .and_then(|r| CString::new(r.as_str()).ok());
        let setup = Setup {
            caps: caps.as_ref(),
            root: root.as_deref(),
            private_tmp: s.private_tmp && !full,
            rlimits: &rlimits,
            nice: s.nice,
            oom_score_adj: oom.as_deref(),
            ignore_sigpipe: s.ignore_sigpipe,
            env: Some(&env_c),
            cwd: cwd_c.as_deref(),
            ids,
            umask: Some(s.umask),
            no_new_privs: s.no_new_privileges && command.prefixes.privilege != Privilege::Full,
            program: Some(&program),
            listen_fds: &listen_fds,
            ..Setup::default()
        };
        let log = log_target(s);
        let ident = s.syslog_identifier.clone().unwrap_or_else(|| {
            let program = argv.first().map(|a| a.to_string_lossy().into_owned());
            let program = program.unwrap_or_default();
            program.rsplit('/').next().unwrap_or_default().to_string()
        });
        let source = Source {
            unit: self.unit.name.clone(),
            ident,
            pid: 0,
        };
        let name = self.short_name().to_string();
        let (keeper, pid) = output.spawn_kept(ctx, &name, &argv, &setup, &log, records, source)?;
        Ok(Started { keeper, pid })
    }

    /// CapabilityBoundingSet= and AmbientCapabilities= (systemd.exec(5)) as the sets the
    /// command runs with; None when the unit sets neither. Root keeps its sets within the
    /// bounding set; another User= gets the ambient ones (as systemd gives them).
    fn cap_sets(&self) -> Option<CapSets> {
        let s = &self.unit.service;
        if s.capability_bounding_set.is_empty() && s.ambient_capabilities.is_empty() {
            return None;
        }
        let (bnd, eff, prm, inh) = own_caps()?;
        let allowed = fold_caps(&s.capability_bounding_set, u64::MAX);
        let ambient = fold_caps(&s.ambient_capabilities, 0) & allowed & bnd;
        let bounding = bnd & allowed;
        let root = self.identity.as_ref().is_none_or(|i| i.uid == 0);
        let (effective, permitted) = if root {
            (eff & bounding, prm & bounding)
        } else {
            (ambient, ambient)
        };
        Some(CapSets {
            bounding,
            effective: effective | ambient,
            permitted: permitted | ambient,
            inheritable: (inh & bounding) | ambient,
            ambient,
            last_cap: crate::sys::caps::last_cap(),
        })
    }

    /// WorkingDirectory=: `~` is the home of User=; with `-`, a missing one is skipped.
    fn working_directory(&self) -> Option<String> {
        let wd = self.unit.service.working_directory.as_ref()?;
        let path = match &wd.path {
            Some(p) => p.clone(),
            None => self
                .identity
                .as_ref()
                .and_then(|i| i.home.clone())
                .unwrap_or_else(|| "/root".into()),
        };
        if wd.optional && !Path::new(&path).is_dir() {
            return None;
        }
        Some(path)
    }
}

/// Capability assignments folded as systemd.exec(5) says: plain lists are merged (starting
/// from none), `~` lists remove; with only `~` lists, the start is `start`.
fn fold_caps(list: &[crate::units::service::Capabilities], start: u64) -> u64 {
    let bits = |names: &[String]| {
        names
            .iter()
            .filter_map(|n| crate::sys::caps::number(&n.to_ascii_uppercase()))
            .fold(0u64, |acc, n| acc | (1u64 << n))
    };
    let mut set = if list.iter().any(|c| !c.invert) {
        0
    } else {
        start
    };
    for c in list {
        if c.invert {
            set &= !bits(&c.names);
        } else {
            set |= bits(&c.names);
        }
    }
    set
}

/// Our bounding, effective, permitted and inheritable sets (/proc/self/status).
fn own_caps() -> Option<(u64, u64, u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let get = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    Some((
        get("CapBnd:")?,
        get("CapEff:")?,
        get("CapPrm:")?,
        get("CapInh:")?,
    ))
}

/// Whether CAP_SYS_ADMIN is in our bounding set (PrivateTmp= needs a mount namespace).
pub(super) fn can_private_tmp() -> bool {
    own_caps().is_some_and(|(bnd, ..)| bnd & (1u64 << 21) != 0)
}

/// The RLIMIT_* number of a `Limit…=` directive.
fn rlimit_resource(name: &str) -> Option<u32> {
    let r = match name {
        "LimitCPU" => libc::RLIMIT_CPU,
        "LimitFSIZE" => libc::RLIMIT_FSIZE,
        "LimitDATA" => libc::RLIMIT_DATA,
        "LimitSTACK" => libc::RLIMIT_STACK,
        "LimitCORE" => libc::RLIMIT_CORE,
        "LimitRSS" => libc::RLIMIT_RSS,
        "LimitNOFILE" => libc::RLIMIT_NOFILE,
        "LimitAS" => libc::RLIMIT_AS,
        "LimitNPROC" => libc::RLIMIT_NPROC,
        "LimitMEMLOCK" => libc::RLIMIT_MEMLOCK,
        "LimitLOCKS" => libc::RLIMIT_LOCKS,
        "LimitSIGPENDING" => libc::RLIMIT_SIGPENDING,
        "LimitMSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "LimitNICE" => libc::RLIMIT_NICE,
        "LimitRTPRIO" => libc::RLIMIT_RTPRIO,
        "LimitRTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    };
    Some(r)
}

/// A plain program name is searched for in the unit's PATH (systemd.service(5)).
fn resolve_program(path: &str, env: &HashMap<String, String>) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let search = env.get("PATH").map_or(DEFAULT_PATH, String::as_str);
    search
        .split(':')
        .map(|dir| format!("{dir}/{path}"))
        .find(|p| Path::new(p).is_file())
        .unwrap_or_else(|| path.to_string())
}

fn log_target(s: &ServiceSection) -> LogTarget {
    match &s.standard_output {
        StdOutput::Null => LogTarget::None,
        StdOutput::File(p) | StdOutput::Append(p) | StdOutput::Truncate(p) => {
            LogTarget::File(p.into())
        }
        _ => LogTarget::Prefix,
    }
}

fn make_dirs(base: &str, dirs: &Directories, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for name in &dirs.names {
        let path = Path::new(base).join(name);
        std::fs::create_dir_all(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(dirs.mode))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        }
    }
    Ok(())
}

/// EnvironmentFile= lines (systemd.exec(5)): `KEY=VALUE`, `#`/`;` comments, blank lines,
/// values in single or double quotes, a trailing `\` continues the line.
pub(super) fn parse_env_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut joined = String::new();
    for raw in text.lines() {
        if let Some(head) = raw.strip_suffix('\\') {
            joined.push_str(head);
            continue;
        }
        joined.push_str(raw);
        let line = std::mem::take(&mut joined);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value.trim();
        let value = match value.as_bytes().first() {
            Some(b'"') => value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(|v| v.replace("\\\"", "\"").replace("\\\\", "\\"))
                .unwrap_or_else(|| value.to_string()),
            Some(b'\'') => value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value)
                .to_string(),
            _ => value.to_string(),
        };
        out.push((key.to_string(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_files_as_systemd_reads_them() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("A=1\nB = two \n", &[("A", "1"), ("B", "two")]),
            ("# c\n; c\n\nA=\"x y\"\n", &[("A", "x y")]),
            ("A='a \"b\"'\n", &[("A", "a \"b\"")]),
            ("export A=1\n", &[("A", "1")]),
            ("A=one\\\ntwo\n", &[("A", "onetwo")]),
            ("not a line\n-X=1\n", &[]),
        ];
        for (text, want) in cases {
            let got = parse_env_file(text);
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, want, "{text:?}");
        }
    }
}
