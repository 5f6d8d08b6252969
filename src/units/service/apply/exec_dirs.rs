//! The systemd.exec(5) directives of [Service]: identity, environment, directories, limits,
//! output and the sandboxing subset kept as data.

use super::super::super::specifiers;
use super::super::values;
use super::super::{Capabilities, Directories, EnvironmentFile, NotifyAccess, WorkingDirectory};
use super::{Applied, Reader};
use crate::units::quote;
use crate::units::syntax::Entry;

impl Reader<'_> {
    /// The systemd.exec(5) directives.
    pub(super) fn service_exec_entry(&mut self, e: &Entry) -> Applied {
        let v = e.value.as_str();
        let optional_string = |r: &Self| -> Result<Option<String>, String> {
            (!v.is_empty()).then(|| r.expand(v)).transpose()
        };
        match e.key.as_str() {
            "User" => self.service.user = optional_string(self)?,
            "Group" => self.service.group = optional_string(self)?,
            "SupplementaryGroups" => {
                let mut groups = std::mem::take(&mut self.service.supplementary_groups);
                let done = self.list(&mut groups, v);
                self.service.supplementary_groups = groups;
                done?;
            }
            "PassEnvironment" => {
                let mut names = std::mem::take(&mut self.service.pass_environment);
                let done = self.list(&mut names, v);
                self.service.pass_environment = names;
                done?;
            }
            "Environment" => self.environment(v)?,
            "EnvironmentFile" => {
                if v.is_empty() {
                    self.service.environment_files.clear();
                } else {
                    let (optional, path) = match v.strip_prefix('-') {
                        Some(path) => (true, path),
                        None => (false, v),
                    };
                    let path = self.absolute(path)?;
                    self.service
                        .environment_files
                        .push(EnvironmentFile { path, optional });
                }
            }
            "WorkingDirectory" => {
                self.service.working_directory = if v.is_empty() {
                    None
                } else {
                    let (optional, path) = match v.strip_prefix('-') {
                        Some(path) => (true, path),
                        None => (false, v),
                    };
                    let path = if path == "~" {
                        None
                    } else {
                        Some(self.absolute(path)?)
                    };
                    Some(WorkingDirectory { path, optional })
                };
            }
            "RootDirectory" => {
                self.service.root_directory = if v.is_empty() {
                    None
                } else {
                    Some(self.absolute(v)?)
                };
            }
            "UMask" => self.service.umask = values::mode(v)?,
            "Nice" => self.service.nice = Some(values::int_in(v, -20, 19)?),
            "OOMScoreAdjust" => {
                self.service.oom_score_adjust = Some(values::int_in(v, -1000, 1000)?)
            }
            "StandardOutput" => self.service.standard_output = values::output(&self.expand(v)?)?,
            "StandardError" => self.service.standard_error = values::output(&self.expand(v)?)?,
            "SyslogIdentifier" => self.service.syslog_identifier = optional_string(self)?,
            "NotifyAccess" => {
                self.service.notify_access = match v {
                    "none" => NotifyAccess::None,
                    "main" => NotifyAccess::Main,
                    "exec" => NotifyAccess::Exec,
                    "all" => NotifyAccess::All,
                    _ => return Err("expected none, main, exec or all".into()),
                };
                self.notify_set = true;
            }
            "WatchdogSec" => self.service.watchdog = values::timeout(v)?,
            "NoNewPrivileges" => self.service.no_new_privileges = values::boolean(v)?,
            "PrivateTmp" => self.service.private_tmp = values::boolean(v)?,
            "IgnoreSIGPIPE" => self.service.ignore_sigpipe = values::boolean(v)?,
            "CapabilityBoundingSet" => capabilities(&mut self.service.capability_bounding_set, v)?,
            "AmbientCapabilities" => capabilities(&mut self.service.ambient_capabilities, v)?,
            key => return self.directories_or_limit(key, v),
        }
        Ok(())
    }

    fn directories_or_limit(&mut self, key: &str, v: &str) -> Applied {
        let s = &mut self.service;
        let (base, is_mode) = match key.strip_suffix("Mode") {
            Some(base) => (base, true),
            None => (key, false),
        };
        let dirs: &mut Directories = match base {
            "RuntimeDirectory" => &mut s.runtime_directory,
            "StateDirectory" => &mut s.state_directory,
            "CacheDirectory" => &mut s.cache_directory,
            "LogsDirectory" => &mut s.logs_directory,
            "ConfigurationDirectory" => &mut s.configuration_directory,
            _ => {
                s.limits.retain(|l| l.name != key);
                s.limits.push(values::rlimit(key, v)?);
                return Ok(());
            }
        };
        if is_mode {
            dirs.mode = values::mode(v)?;
            return Ok(());
        }
        if v.is_empty() {
            dirs.names.clear();
            return Ok(());
        }
        let mut names = Vec::new();
        for word in v.split_whitespace() {
            let name = specifiers::expand(word, self.ctx).map_err(|e| e.to_string())?;
            if name.starts_with('/') || name.split('/').any(|part| part == "..") {
                return Err(format!("`{name}` must be a relative path without `..`"));
            }
            names.push(name);
        }
        dirs.names.extend(names);
        Ok(())
    }

    /// Environment=: quoted `VAR=value` words, several per line; a word without a valid
    /// name is skipped with the reason (systemd.exec(5)); empty resets.
    fn environment(&mut self, v: &str) -> Applied {
        if v.is_empty() {
            self.service.environment.clear();
            return Ok(());
        }
        let words = quote::words(v).map_err(|e| e.to_string())?;
        let mut bad = Vec::new();
        for word in words {
            let word = self.expand(&word)?;
            match word.split_once('=') {
                Some((name, value)) if crate::envfile::valid_name(name) => {
                    let env = &mut self.service.environment;
                    env.retain(|(n, _)| n != name);
                    env.push((name.to_string(), value.to_string()));
                }
                _ => bad.push(word),
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "`{}` is not NAME=value; quote an assignment that has spaces, as \"NAME=a b\"",
                bad.join(" ")
            ))
        }
    }
}

/// CapabilityBoundingSet=/AmbientCapabilities=: `~` inverts; empty resets.
fn capabilities(list: &mut Vec<Capabilities>, v: &str) -> Applied {
    if v.is_empty() {
        list.clear();
        return Ok(());
    }
    let (invert, rest) = match v.strip_prefix('~') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let names: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
    if let Some(bad) = names.iter().find(|n| {
        !(n.starts_with("CAP_")
            && n[4..].chars().all(|c| c.is_ascii_uppercase() || c == '_')
            && n.len() > 4)
    }) {
        return Err(format!(
            "`{bad}` is not a capability name such as CAP_NET_BIND_SERVICE"
        ));
    }
    list.push(Capabilities { invert, names });
    Ok(())
}
