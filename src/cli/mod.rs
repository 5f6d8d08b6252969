//! Argument parsing per personality. Each parser is pure: argv + environment in,
//! [`Parsed`] out. Nothing here touches the process.

pub mod dumb_init;
mod error;
pub mod getopt;
pub mod journalctl;
mod journalctl_opts;
pub mod rich;
mod rich_args;
#[cfg(test)]
mod rich_clap_oracle;
mod rich_env;
pub use rich_env::DEFAULT_GRACE;
mod rich_mode;
mod rich_opts;
pub mod service;
#[cfg(test)]
mod test_support;
pub mod tini;

pub use error::{CliError, RewriteProblem};

use std::ffi::OsString;

/// Which program we are pretending to be, chosen from argv[0] like busybox does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    Rich,
    DumbInit,
    Tini,
}

impl Personality {
    /// `dumb-init` → dumb-init; `tini`, `tini-static`, `docker-init` → tini; anything else → rich-init.
    pub fn from_argv0(argv0: &str) -> Personality {
        let base = argv0.rsplit('/').next().unwrap_or(argv0);
        match base {
            "dumb-init" => Personality::DumbInit,
            "tini" | "tini-static" | "docker-init" => Personality::Tini,
            _ => Personality::Rich,
        }
    }
}

/// A command that talks to the running init rather than being one, chosen from argv[0]
/// before the init personalities (a symlink `journalctl -> rich-init` in the image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// `systemctl`: the init's units.
    Systemctl,
    /// `journalctl`: the init's journal.
    Journalctl,
    /// `service NAME ACTION` (Debian's service(8)).
    Service,
}

impl Client {
    pub fn from_argv0(argv0: &str) -> Option<Client> {
        match argv0.rsplit('/').next().unwrap_or(argv0) {
            "systemctl" => Some(Client::Systemctl),
            "journalctl" => Some(Client::Journalctl),
            "service" => Some(Client::Service),
            _ => None,
        }
    }
}

/// Where the child is placed relative to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// `setsid()` and take the terminal with TIOCSCTTY (dumb-init).
    Session,
    /// `setpgid(0, 0)` and `tcsetpgrp()` on the terminal (tini).
    Group,
    /// Stay in our session and process group.
    None,
}

/// Who receives a forwarded signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardTo {
    Child,
    /// The child's process group (the child is its leader).
    Group,
}

/// Whether to become a child subreaper when we are not pid 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subreaper {
    /// Always register (rich-init): reaping must work wherever we run.
    Auto,
    /// Register only when asked (tini `-s`).
    Requested,
    /// Do not register (dumb-init, tini without `-s`).
    Off,
}

/// Everything single-child mode needs, whichever CLI produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub personality: Personality,
    /// argv[0] as we were invoked (messages of the compatible personalities quote it).
    pub argv0: String,
    pub command: Vec<OsString>,
    pub isolation: Isolation,
    pub forward_to: ForwardTo,
    /// `rewrite[s] = r`: deliver r instead of s; 0 drops s. Index 0 unused.
    pub rewrite: [i32; 65],
    /// dumb-init job control: after forwarding SIGTSTP/SIGTTIN/SIGTTOU, stop ourselves.
    pub tty_job_control: bool,
    /// tini: SIGTTIN and SIGTTOU are neither forwarded nor acted on.
    pub ignore_ttin_ttou: bool,
    pub subreaper: Subreaper,
    pub parent_death_signal: Option<i32>,
    /// Exit codes of the CMD that we turn into 0 (tini `-e`).
    pub remap_to_zero: Vec<u8>,
    /// 0 = errors only, 1 = warnings, 2 = info, 3 = debug, 4 = trace.
    pub verbosity: u8,
    /// Log each reaped zombie at warning level (tini `-w`).
    pub warn_on_reap: bool,
    /// When the CMD exits, send it (through the rewrite table) SIGTERM's replacement to its
    /// group, so that its helpers go too (dumb-init).
    pub term_on_exit: bool,
    /// rich-init: after CMD exits, stop everything it left and SIGKILL it after this
    /// grace (None: only signal CMD's group, as dumb-init does).
    pub grace: Option<std::time::Duration>,
    /// Rich mode (init scripts, services, shutdown sequence); None: single-child mode.
    pub rich: Option<RichSettings>,
    /// Debug-level remarks from parsing, logged at start (dumb-init's "Running in debug mode.").
    pub notes: Vec<String>,
}

/// Where rich mode finds its scripts and services, and where it writes the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RichSettings {
    /// `--systemd`: also boot the image's systemd units and SysV scripts; CMD is optional.
    pub systemd: bool,
    pub services_dir: std::path::PathBuf,
    /// Given explicitly: then a missing directory is an error.
    pub services_dir_given: bool,
    /// Built-in presets (`--services crond,syslogd`).
    pub presets: Vec<String>,
    pub initscript: Option<std::path::PathBuf>,
    pub init_dir: std::path::PathBuf,
    pub stop_dir: std::path::PathBuf,
    /// None: not written.
    pub env_file: Option<std::path::PathBuf>,
    pub profile_hook: Option<std::path::PathBuf>,
    /// Where `rich-init ctl` reaches us; None: no control socket.
    pub control_socket: Option<std::path::PathBuf>,
    /// CMD's exit shuts the container down (true, the default), or services keep running
    /// until a stop signal.
    pub cmd_exit_shuts_down: bool,
    /// On shutdown, stop CMD before the services (true, the default) or after them.
    pub stop_cmd_first: bool,
    /// The services CMD starts after (`--cmd-after`); None: every service.
    pub cmd_after: Option<Vec<String>>,
}

impl Settings {
    /// The identity table: every signal is forwarded as itself.
    pub fn identity_rewrite() -> [i32; 65] {
        let mut table = [0; 65];
        for (i, slot) in table.iter_mut().enumerate() {
            *slot = i32::try_from(i).unwrap_or(0);
        }
        table
    }
}

/// The result of parsing a command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Box<Settings>),
    /// `rich-init ctl ...`: talk to a running rich-init (the words after `ctl`).
    Ctl(Vec<String>),
    /// `rich-init hook STAGE ...`: run as an OCI runtime hook (the words after `hook`).
    Hook(Vec<String>),
    /// `rich-init oci inject ...` (the words after `oci`).
    Oci(Vec<String>),
    /// `journalctl ...`: show the init's journal.
    Journalctl(Box<journalctl::Args>),
    /// `service ...`: what Debian's service(8) would do.
    Service(service::Invocation),
    /// Invoked as `systemctl`: the words after argv[0].
    Systemctl(Vec<String>),
    /// Print these and exit with this code (help, version, usage errors).
    Exit {
        code: i32,
        stdout: String,
        stderr: String,
    },
}

impl Parsed {
    pub fn stderr(code: i32, text: impl Into<String>) -> Parsed {
        Parsed::Exit {
            code,
            stdout: String::new(),
            stderr: text.into(),
        }
    }
    pub fn stdout(code: i32, text: impl Into<String>) -> Parsed {
        Parsed::Exit {
            code,
            stdout: text.into(),
            stderr: String::new(),
        }
    }
}

/// Parse argv for the personality that argv[0] names.
/// `pid` is quoted in messages (tini puts it in every line); rich-init's environment
/// switches and default paths belong to pid 1 only (see `rich_mode.rs`).
pub fn parse(args: Vec<OsString>, env: &dyn Fn(&str) -> Option<String>, pid: i32) -> Parsed {
    let argv0 = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    match Client::from_argv0(&argv0) {
        Some(Client::Journalctl) => return journalctl::parse(args),
        Some(Client::Service) => return service::parse(args),
        Some(Client::Systemctl) => {
            let words = args.iter().skip(1);
            return Parsed::Systemctl(words.map(|a| a.to_string_lossy().into_owned()).collect());
        }
        None => {}
    }
    match Personality::from_argv0(&argv0) {
        Personality::Rich => rich::parse(args, env, pid == 1),
        Personality::DumbInit => dumb_init::parse(args, env),
        Personality::Tini => tini::parse(args, env, pid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personality_from_argv0() {
        let cases = [
            ("rich-init", Personality::Rich),
            ("/sbin/rich-init", Personality::Rich),
            ("/.rich-init/init", Personality::Rich),
            ("dumb-init", Personality::DumbInit),
            ("/usr/bin/dumb-init", Personality::DumbInit),
            ("tini", Personality::Tini),
            ("/usr/bin/tini-static", Personality::Tini),
            ("/usr/bin/docker-init", Personality::Tini),
            ("", Personality::Rich),
            ("dumb-init2", Personality::Rich),
        ];
        for (argv0, want) in cases {
            assert_eq!(Personality::from_argv0(argv0), want, "{argv0}");
        }
    }

    #[test]
    fn clients_from_argv0() {
        let cases = [
            ("systemctl", Some(Client::Systemctl)),
            ("/usr/bin/systemctl", Some(Client::Systemctl)),
            ("/bin/systemctl", Some(Client::Systemctl)),
            ("systemctl.real", None),
            ("journalctl", Some(Client::Journalctl)),
            ("/bin/journalctl", Some(Client::Journalctl)),
            ("/usr/sbin/service", Some(Client::Service)),
            ("service", Some(Client::Service)),
            ("services", None),
            ("rich-init", None),
            ("tini", None),
            ("", None),
        ];
        for (argv0, want) in cases {
            assert_eq!(Client::from_argv0(argv0), want, "{argv0}");
        }
        let env = |_: &str| None;
        // Dispatch: each client's own parser answers, never rich-init's.
        let usage = parse(vec!["service".into()], &env, 5);
        assert!(
            matches!(usage, Parsed::Exit { code: 1, ref stderr, .. } if stderr.starts_with("Usage: service"))
        );
        let journal = parse(vec!["/usr/bin/journalctl".into(), "-n".into()], &env, 5);
        assert!(matches!(journal, Parsed::Journalctl(ref a) if a.lines == Some(10)));
    }

    #[test]
    fn systemctl_dispatch() {
        let env = |_: &str| None;
        let argv = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        let cases: [(&[&str], Parsed); 3] = [
            (
                &["/usr/bin/systemctl", "start", "nginx"],
                Parsed::Systemctl(vec!["start".into(), "nginx".into()]),
            ),
            (&["systemctl"], Parsed::Systemctl(vec![])),
            // The name decides, whatever our pid.
            (
                &["/bin/systemctl", "--version"],
                Parsed::Systemctl(vec!["--version".into()]),
            ),
        ];
        for (words, want) in cases {
            assert_eq!(parse(argv(words), &env, 1), want, "{words:?}");
            assert_eq!(parse(argv(words), &env, 4242), want, "{words:?}");
        }
    }
}
