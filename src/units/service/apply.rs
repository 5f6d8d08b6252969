//! Reading the entries of [Unit] and [Service] in file order, so that an empty assignment
//! resets what came before it (systemd.unit(5)), into a [`ServiceUnit`].

use std::collections::BTreeSet;

use super::super::exec::{Command, ExecError};
use super::super::specifiers::{self, Context};
use super::super::syntax::{Entry, Section};
use super::directives::{lookup, Support};
use super::values::{self, ExitStatusSet};
use super::{
    KillMode, NotifyAccess, Restart, ServiceError, ServiceSection, ServiceType, ServiceUnit,
    UnitSection, Warning,
};

mod exec_dirs;

type Applied = Result<(), String>;

/// FileDescriptorStoreMax='s upper bound here: services.d's `fd-store-max` bound.
const FD_STORE_MAX: u32 = crate::config::FD_STORE_MAX;

pub(super) struct Reader<'c> {
    ctx: &'c Context,
    unit: UnitSection,
    service: ServiceSection,
    warnings: Vec<Warning>,
    /// Directives already warned about as ignored: one warning each.
    ignored: BTreeSet<String>,
    type_set: bool,
    notify_set: bool,
    /// The last ExecStart= refused, for the refusal when no other is left.
    bad_exec_start: Option<(usize, ExecError)>,
}

impl<'c> Reader<'c> {
    pub(super) fn new(ctx: &'c Context) -> Reader<'c> {
        Reader {
            ctx,
            unit: UnitSection::default(),
            service: ServiceSection::default(),
            warnings: Vec::new(),
            ignored: BTreeSet::new(),
            type_set: false,
            notify_set: false,
            bad_exec_start: None,
        }
    }

    pub(super) fn unknown_section(&mut self, section: &Section) {
        let line = section.entries.first().map_or(0, |e| e.line);
        self.warnings.push(Warning::UnknownSection {
            unit: self.ctx.unit.clone(),
            section: section.name.clone(),
            line,
        });
    }

    pub(super) fn entry(&mut self, section: &str, entry: &Entry) {
        let unit = self.ctx.unit.clone();
        match lookup(section, &entry.key) {
            None => self.warnings.push(Warning::UnknownKey {
                unit,
                section: section.to_string(),
                key: entry.key.clone(),
                line: entry.line,
            }),
            Some(Support::WarnedIgnored | Support::Refused) => {
                if self.ignored.insert(entry.key.clone()) {
                    self.warnings.push(Warning::Ignored {
                        unit,
                        key: entry.key.clone(),
                        line: entry.line,
                    });
                }
            }
            Some(Support::Supported) => {
                let applied = if section == "Unit" {
                    self.unit_entry(entry)
                } else {
                    self.service_entry(entry)
                };
                if let Err(reason) = applied {
                    self.warnings.push(Warning::Invalid {
                        unit,
                        key: entry.key.clone(),
                        value: entry.value.clone(),
                        line: entry.line,
                        reason,
                    });
                }
            }
        }
    }

    fn expand(&self, text: &str) -> Result<String, String> {
        specifiers::expand(text, self.ctx).map_err(|e| e.to_string())
    }

    /// A space-separated list: each assignment appends, an empty one resets.
    fn list(&self, list: &mut Vec<String>, value: &str) -> Applied {
        if value.is_empty() {
            list.clear();
            return Ok(());
        }
        let words: Result<Vec<String>, String> =
            value.split_whitespace().map(|w| self.expand(w)).collect();
        list.extend(words?);
        Ok(())
    }

    fn absolute(&self, value: &str) -> Result<String, String> {
        let path = self.expand(value)?;
        if path.starts_with('/') {
            Ok(path)
        } else {
            Err(format!("`{path}` is not an absolute path; write it from /"))
        }
    }

    fn unit_entry(&mut self, e: &Entry) -> Applied {
        let v = e.value.as_str();
        let list = |pick: fn(&mut UnitSection) -> &mut Vec<String>, r: &mut Self| {
            let mut taken = std::mem::take(pick(&mut r.unit));
            let done = r.list(&mut taken, v);
            *pick(&mut r.unit) = taken;
            done
        };
        match e.key.as_str() {
            "Description" => {
                self.unit.description = (!v.is_empty()).then(|| v.to_string());
                Ok(())
            }
            "Documentation" => list(|u| &mut u.documentation, self),
            "After" => list(|u| &mut u.after, self),
            "Before" => list(|u| &mut u.before, self),
            "Requires" => list(|u| &mut u.requires, self),
            "Wants" => list(|u| &mut u.wants, self),
            "BindsTo" => list(|u| &mut u.binds_to, self),
            "PartOf" => list(|u| &mut u.part_of, self),
            "Conflicts" => list(|u| &mut u.conflicts, self),
            "DefaultDependencies" => {
                self.unit.default_dependencies = values::boolean(v)?;
                Ok(())
            }
            "SourcePath" => {
                self.unit.source_path = if v.is_empty() {
                    None
                } else {
                    Some(self.absolute(v)?)
                };
                Ok(())
            }
            "StartLimitIntervalSec" | "StartLimitBurst" => self.service_entry(e),
            key => self.condition(key, v),
        }
    }

    /// `Condition…=`/`Assert…=`: an empty value resets that list (systemd.unit(5)).
    fn condition(&mut self, key: &str, v: &str) -> Applied {
        let (assert, suffix) = match key.strip_prefix("Condition") {
            Some(suffix) => (false, suffix),
            None => (true, key.strip_prefix("Assert").unwrap_or(key)),
        };
        let list = if assert {
            &mut self.unit.asserts
        } else {
            &mut self.unit.conditions
        };
        if v.is_empty() {
            list.clear();
            return Ok(());
        }
        let check = values::check(suffix).ok_or("not a checked condition")?;
        let mut condition = values::condition(check, v)?;
        condition.value =
            specifiers::expand(&condition.value, self.ctx).map_err(|e| e.to_string())?;
        list.push(condition);
        Ok(())
    }

    fn exec(&mut self, key: &str, line: usize, v: &str) -> Applied {
        let s = &mut self.service;
        let list = match key {
            "ExecStart" => &mut s.exec_start,
            "ExecStartPre" => &mut s.exec_start_pre,
            "ExecStartPost" => &mut s.exec_start_post,
            "ExecCondition" => &mut s.exec_condition,
            "ExecReload" => &mut s.exec_reload,
            "ExecStop" => &mut s.exec_stop,
            _ => &mut s.exec_stop_post,
        };
        if v.is_empty() {
            list.clear();
            return Ok(());
        }
        match Command::parse(v, self.ctx) {
            Ok(command) => {
                list.push(command);
                Ok(())
            }
            Err(error) => {
                let reason = error.to_string();
                if key == "ExecStart" {
                    self.bad_exec_start = Some((line, error));
                }
                Err(reason)
            }
        }
    }

    fn service_entry(&mut self, e: &Entry) -> Applied {
        let v = e.value.as_str();
        let s = &mut self.service;
        match e.key.as_str() {
            "Type" => {
                s.kind = match v {
                    "simple" => ServiceType::Simple,
                    "exec" => ServiceType::Exec,
                    "forking" => ServiceType::Forking,
                    "oneshot" => ServiceType::Oneshot,
                    "notify" => ServiceType::Notify,
                    "idle" => ServiceType::Idle,
                    "dbus" => {
                        self.warnings.push(Warning::DbusAsSimple {
                            unit: self.ctx.unit.clone(),
                            line: e.line,
                        });
                        ServiceType::Simple
                    }
                    _ => {
                        return Err(
                            "expected simple, exec, forking, oneshot, notify, idle or dbus".into(),
                        )
                    }
                };
                self.type_set = true;
            }
            key if key.starts_with("Exec") => return self.exec(key, e.line, v),
            "PIDFile" => {
                let path = self.absolute(v)?;
                self.service.pid_file = Some(path);
            }
            "RemainAfterExit" => s.remain_after_exit = values::boolean(v)?,
            "GuessMainPID" => s.guess_main_pid = values::boolean(v)?,
            "Restart" => s.restart = restart(v)?,
            "RestartSec" => s.restart_sec = values::finite(v)?,
            "StartLimitIntervalSec" | "StartLimitInterval" => {
                s.start_limit_interval = values::finite(v)?;
            }
            "StartLimitBurst" => {
                s.start_limit_burst = v.parse().map_err(|_| "expected a whole number")?;
            }
            "SuccessExitStatus" => exit_set(&mut s.success_exit_status, v)?,
            "RestartPreventExitStatus" => exit_set(&mut s.restart_prevent_exit_status, v)?,
            "TimeoutStartSec" => s.timeout_start = values::timeout(v)?,
            "TimeoutStopSec" => s.timeout_stop = values::timeout(v)?,
            "TimeoutSec" => {
                let t = values::timeout(v)?;
                s.timeout_start = t;
                s.timeout_stop = t;
            }
            "KillMode" => s.kill_mode = kill_mode(v)?,
            "KillSignal" => s.kill_signal = values::signal(v)?,
            "SendSIGKILL" => s.send_sigkill = values::boolean(v)?,
            "FinalKillSignal" => s.final_kill_signal = values::signal(v)?,
            "FileDescriptorStoreMax" => {
                s.fd_store_max = v
                    .parse()
                    .ok()
                    .filter(|n| *n <= FD_STORE_MAX)
                    .ok_or("expected a whole number from 0 to 4096")?;
            }
            _ => return self.service_exec_entry(e),
        }
        Ok(())
    }

    /// systemd's Type= default and service_verify's refusals.
    pub(super) fn finish(mut self) -> Result<ServiceUnit, ServiceError> {
        let unit = self.ctx.unit.clone();
        let s = &mut self.service;
        // systemd.service(5), Type=: oneshot when neither Type= nor ExecStart= is set.
        if !self.type_set && s.exec_start.is_empty() {
            s.kind = ServiceType::Oneshot;
        }
        // NotifyAccess=: Type=notify without it means main; so does an fd store, whose
        // FDSTORE=1 messages come over the notify socket (systemd's service_add_extras).
        if !self.notify_set && (s.kind == ServiceType::Notify || s.fd_store_max > 0) {
            s.notify_access = NotifyAccess::Main;
        }
        if s.exec_start.is_empty() {
            if let Some((line, error)) = self.bad_exec_start.take() {
                if s.kind != ServiceType::Oneshot || !s.remain_after_exit {
                    return Err(ServiceError::BadExecStart { unit, line, error });
                }
            }
            if s.exec_stop.is_empty() {
                return Err(ServiceError::NothingToRun { unit });
            }
            if s.kind != ServiceType::Oneshot {
                return Err(ServiceError::NoExecStart { unit });
            }
            if !s.remain_after_exit {
                return Err(ServiceError::NoExecStartNoRemain { unit });
            }
        } else if s.kind != ServiceType::Oneshot && s.exec_start.len() > 1 {
            let count = s.exec_start.len();
            return Err(ServiceError::SeveralExecStart { unit, count });
        }
        Ok(ServiceUnit {
            name: unit,
            unit: self.unit,
            service: self.service,
            warnings: self.warnings,
        })
    }
}

fn restart(v: &str) -> Result<Restart, String> {
    Ok(match v {
        "no" => Restart::No,
        "on-success" => Restart::OnSuccess,
        "on-failure" => Restart::OnFailure,
        "on-abnormal" => Restart::OnAbnormal,
        "on-watchdog" => Restart::OnWatchdog,
        "on-abort" => Restart::OnAbort,
        "always" => Restart::Always,
        _ => {
            return Err(
                "expected no, on-success, on-failure, on-abnormal, on-watchdog, on-abort or always"
                    .into(),
            )
        }
    })
}

fn kill_mode(v: &str) -> Result<KillMode, String> {
    Ok(match v {
        "control-group" => KillMode::ControlGroup,
        "mixed" => KillMode::Mixed,
        "process" => KillMode::Process,
        "none" => KillMode::None,
        _ => return Err("expected control-group, mixed, process or none".into()),
    })
}

fn exit_set(set: &mut ExitStatusSet, v: &str) -> Applied {
    if v.is_empty() {
        *set = ExitStatusSet::default();
        return Ok(());
    }
    values::exit_statuses(v, set)
}
