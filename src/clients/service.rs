//! `service`: gather the facts Debian's service(8) looks at, let `cli::service::plan`
//! decide, and do it: exec the `systemctl` personality (this same binary, argv[0]
//! `systemctl`), or exec the /etc/init.d script with service(8)'s cleared environment.

use crate::cli::service::{
    needs_can_reload, plan, script_env, status_all_line, status_all_names, unit_of, Facts,
    Invocation, ServiceAction,
};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

const SERVICE_DIR: &str = "/etc/init.d";

/// This binary, to run as `systemctl`.
const SELF_EXE: &str = "/proc/self/exe";

pub fn run(invocation: &Invocation, env: &dyn Fn(&str) -> Option<String>) -> i32 {
    match invocation {
        Invocation::StatusAll => status_all(env),
        Invocation::Run {
            service,
            action,
            options,
            full_restart,
        } => {
            let systemd = Path::new("/run/systemd/system").is_dir();
            let path = format!("{SERVICE_DIR}/{service}");
            let mut facts = Facts {
                systemd,
                script: executable(Path::new(&path)).then_some(path),
                can_reload: None,
                system_running: true,
            };
            if needs_can_reload(action.as_deref(), *full_restart, systemd) {
                let unit = unit_of(service);
                let said = systemctl_output(&["-p", "CanReload", "show", &unit]);
                facts.can_reload = Some(said.trim_end() != "CanReload=no");
                facts.system_running = systemctl_status(&["--quiet", "is-system-running"]);
            }
            match plan(service, action.as_deref(), options, *full_restart, &facts) {
                ServiceAction::Systemctl(args) => {
                    let e = Command::new(SELF_EXE).arg0("systemctl").args(&args).exec();
                    fail(&format!("service: cannot run systemctl ({SELF_EXE}): {e}"))
                }
                ServiceAction::Script(path, args) => {
                    let e = script(&path, env).args(&args).exec();
                    fail(&format!("service: cannot run {path}: {e}"))
                }
                ServiceAction::ScriptRestart(path) => {
                    let _ = script(&path, env).arg("stop").status();
                    let e = script(&path, env).arg("start").exec();
                    fail(&format!("service: cannot run {path}: {e}"))
                }
                ServiceAction::Unrecognized(name) => fail(&format!("{name}: unrecognized service")),
            }
        }
    }
}

fn fail(line: &str) -> i32 {
    crate::sys::write_all_raw(2, format!("{line}\n").as_bytes());
    1
}

/// `[ -x PATH ]` for a file.
fn executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A script run as service(8) runs it: `env -i` but the locale, PATH and TERM, in `/`.
fn script(path: &str, env: &dyn Fn(&str) -> Option<String>) -> Command {
    let mut cmd = Command::new(path);
    cmd.env_clear().envs(script_env(env)).current_dir("/");
    cmd
}

fn systemctl(args: &[&str]) -> Command {
    let mut cmd = Command::new(SELF_EXE);
    cmd.arg0("systemctl").args(args).stdin(Stdio::null());
    cmd
}

/// What `systemctl ARGS` printed on stdout (nothing if it could not run).
fn systemctl_output(args: &[&str]) -> String {
    systemctl(args)
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn systemctl_status(args: &[&str]) -> bool {
    systemctl(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `service --status-all`: every script's `status`, its stdout and stderr together.
fn status_all(env: &dyn Fn(&str) -> Option<String>) -> i32 {
    let names = match std::fs::read_dir(SERVICE_DIR) {
        Ok(dir) => dir
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    for name in status_all_names(names) {
        let path = format!("{SERVICE_DIR}/{name}");
        if !executable(Path::new(&path)) {
            continue;
        }
        let (output, status) = run_status(&path, env);
        let (fd, line) = status_all_line(&name, &output, status);
        crate::sys::write_all_raw(fd, line.as_bytes());
    }
    0
}

/// Run `SCRIPT status` with its stdout and stderr on one socket pair (as `2>&1` into
/// `$(...)`); its output and exit status (-1 when it could not run or was killed).
fn run_status(path: &str, env: &dyn Fn(&str) -> Option<String>) -> (Vec<u8>, i32) {
    let Ok((mut ours, theirs)) = std::os::unix::net::UnixStream::pair() else {
        return (Vec::new(), -1);
    };
    let Ok(theirs_err) = theirs.try_clone() else {
        return (Vec::new(), -1);
    };
    let mut cmd = script(path, env);
    cmd.current_dir(SERVICE_DIR)
        .arg("status")
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stderr(Stdio::from(std::os::fd::OwnedFd::from(theirs_err)));
    let Ok(mut child) = cmd.spawn() else {
        return (Vec::new(), -1);
    };
    // Our copies of the child's ends went with `cmd`: drop it so that EOF comes.
    drop(cmd);
    let mut output = Vec::new();
    let _ = ours.read_to_end(&mut output);
    let status = child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
    (output, status)
}
