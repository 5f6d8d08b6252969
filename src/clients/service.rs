//! `service`: gather the facts Debian's service(8) looks at, let `cli::service::plan`
//! decide, and do it: exec the `systemctl` personality (this same binary, argv[0]
//! `systemctl`), or exec the /etc/init.d script with service(8)'s cleared environment.
//! Children run as std's `Command` would run them (`sys::command`): an empty signal mask
//! and SIGPIPE's default action.

use crate::cli::service::{
    needs_can_reload, plan, script_env, status_all_line, status_all_names, unit_of, Facts,
    Invocation, ServiceAction,
};
use crate::sys::command;
use std::ffi::{CStr, CString};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const SERVICE_DIR: &str = "/etc/init.d";

/// This binary, to run as `systemctl`.
const SELF_EXE: &CStr = c"/proc/self/exe";

pub fn run(invocation: &Invocation, env: &dyn Fn(&str) -> Option<String>) -> i32 {
    // What service(8), a shell script, and its children start with, whatever we inherited.
    let _ = crate::sys::signals::set_default(libc::SIGPIPE);
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
                    let argv = c_strings(
                        std::iter::once("systemctl").chain(args.iter().map(String::as_str)),
                    );
                    let e = command::exec(Some(SELF_EXE), &argv, None, None);
                    fail(&format!(
                        "service: cannot run systemctl ({}): {}",
                        SELF_EXE.to_string_lossy(),
                        std::io::Error::from(e)
                    ))
                }
                ServiceAction::Script(path, args) => {
                    let argv = c_strings(
                        std::iter::once(path.as_str()).chain(args.iter().map(String::as_str)),
                    );
                    let e = command::exec(None, &argv, Some(&script_env_c(env)), Some(c"/"));
                    fail(&format!(
                        "service: cannot run {path}: {}",
                        std::io::Error::from(e)
                    ))
                }
                ServiceAction::ScriptRestart(path) => {
                    let envp = script_env_c(env);
                    let stop = c_strings([path.as_str(), "stop"]);
                    command::wait(command::start(
                        None,
                        &stop,
                        Some(&envp),
                        Some(c"/"),
                        [None; 3],
                    ));
                    let start = c_strings([path.as_str(), "start"]);
                    let e = command::exec(None, &start, Some(&envp), Some(c"/"));
                    fail(&format!(
                        "service: cannot run {path}: {}",
                        std::io::Error::from(e)
                    ))
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

/// Words as C strings (a NUL inside one, which no path or argument here holds, drops it).
fn c_strings<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<CString> {
    words
        .into_iter()
        .filter_map(|w| CString::new(w).ok())
        .collect()
}

/// A script's environment as service(8) runs it: `env -i` but the locale, PATH and TERM.
fn script_env_c(env: &dyn Fn(&str) -> Option<String>) -> Vec<CString> {
    script_env(env)
        .into_iter()
        .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
        .collect()
}

/// /dev/null, for the streams a child should not see or use.
fn dev_null() -> Option<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .ok()
}

/// Start `systemctl ARGS` (this binary) with stdin from /dev/null, stdout as given (None:
/// /dev/null) and stderr to /dev/null.
fn systemctl(args: &[&str], stdout: Option<i32>) -> Option<i32> {
    let null = dev_null()?;
    let null = null.as_raw_fd();
    let argv = c_strings(std::iter::once("systemctl").chain(args.iter().copied()));
    command::start(
        Some(SELF_EXE),
        &argv,
        None,
        None,
        [Some(null), Some(stdout.unwrap_or(null)), Some(null)],
    )
}

/// What `systemctl ARGS` printed on stdout (nothing if it could not run).
fn systemctl_output(args: &[&str]) -> String {
    let Ok((ours, theirs)) = std::os::unix::net::UnixStream::pair() else {
        return String::new();
    };
    let pid = systemctl(args, Some(theirs.as_raw_fd()));
    let output = read_then_wait(ours, theirs, pid).0;
    String::from_utf8_lossy(&output).into_owned()
}

fn systemctl_status(args: &[&str]) -> bool {
    command::wait(systemctl(args, None)) == 0
}

/// Everything a child writes on its end of a socket pair until it closes it, then its exit
/// code: our copy of its end goes first, so that EOF comes.
fn read_then_wait(
    mut ours: std::os::unix::net::UnixStream,
    theirs: std::os::unix::net::UnixStream,
    pid: Option<i32>,
) -> (Vec<u8>, i32) {
    drop(theirs);
    let mut output = Vec::new();
    if pid.is_some() {
        let _ = ours.read_to_end(&mut output);
    }
    (output, command::wait(pid))
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
    let Ok((ours, theirs)) = std::os::unix::net::UnixStream::pair() else {
        return (Vec::new(), -1);
    };
    let argv = c_strings([path, "status"]);
    let fd = theirs.as_raw_fd();
    let pid = command::start(
        None,
        &argv,
        Some(&script_env_c(env)),
        Some(c"/etc/init.d"),
        [None, Some(fd), Some(fd)],
    );
    read_then_wait(ours, theirs, pid)
}
