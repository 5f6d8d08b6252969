//! The three supervisors of the side-by-side rich-mode measures, each given the same
//! services (a name and a /bin/sh script each) and started by the bench in a temporary
//! directory of its own:
//! - ours: `rich-init --rich`, one services.d TOML file per service
//!   (`command = ["/bin/sh", "-c", SCRIPT]`), CMD this bench (see rich_proc.rs);
//! - supervisord: its own config file, `nodaemon`, its socket, pidfile, logfile and the
//!   programs' log files under the temp dir (`command=/bin/sh -c SCRIPT`);
//! - s6: `s6-svscan` over a scan directory, a service directory with a `run` script
//!   (`#!/bin/sh` then SCRIPT) per service.
//!
//! All three run the script with one /bin/sh, and every other setting is the
//! supervisor's default, except supervisord's `startretries` for a crash-loop service
//! (see [`Kind::restart_policy`]).

use crate::fifo::sh_quote;
use crate::peers::check_executable;
use crate::proctree::own_processes;
use crate::rich_proc::{toml_argv, Rich, Stopped, TempDir, Tree};
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

pub const SUPERVISORD: &str = "/usr/bin/supervisord";
pub const S6_SVSCAN: &str = "/usr/bin/s6-svscan";
const S6_SUPERVISE: &str = "/usr/bin/s6-supervise";
/// supervisord's `startretries` for a crash-loop service, in place of its default 3.
pub const SUPERVISORD_RETRIES: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Supervisord,
    S6,
}

/// In the tables' column order.
pub const KINDS: [Kind; 3] = [Kind::Ours, Kind::Supervisord, Kind::S6];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Supervisord => "supervisord",
            Kind::S6 => "s6",
        }
    }

    /// The `comm` of the supervisor's own processes below its first one, which is
    /// always its own: s6 runs one s6-supervise per service.
    fn own_names(self) -> &'static [&'static str] {
        match self {
            Kind::S6 => &["s6-supervise"],
            Kind::Ours | Kind::Supervisord => &[],
        }
    }

    /// What each does with a service that exits 1 at once, as the bench sets it up.
    pub fn restart_policy(self) -> String {
        match self {
            Kind::Ours => {
                "its default: restart-delay 1 s doubling to restart-delay-max 30 s".into()
            }
            Kind::Supervisord => format!(
                "a start that exits within startsecs (1 s) is retried 1, 2, 3 … s later \
                 (BACKOFF); one whose exit it sees only after 1 s counts as RUNNING, which \
                 resets the backoff, and restarts at once; startretries {SUPERVISORD_RETRIES} \
                 (its default 3 gives up, FATAL, after the 4th start)"
            ),
            Kind::S6 => "s6-supervise's fixed pause: ≥ 1 s between two spawns of ./run".into(),
        }
    }
}

/// Fails, naming the Debian package to install, when a peer's binary is missing.
pub fn discover() -> Result<(), String> {
    for (path, package) in [
        (SUPERVISORD, "supervisor"),
        (S6_SVSCAN, "s6"),
        (S6_SUPERVISE, "s6"),
    ] {
        check_executable(
            Path::new(path),
            &format!("install it with `make deps` (Debian package {package})"),
        )?;
    }
    Ok(())
}

/// Each supervisor's version, as its Debian package gives it.
pub fn versions() -> String {
    let version = |package: &str| {
        Command::new("dpkg-query")
            .args(["-W", "-f", "${Version}", package])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "?".to_string())
    };
    format!(
        "supervisord = Debian supervisor {}; s6 = Debian s6 {}",
        version("supervisor"),
        version("s6")
    )
}

/// One service: a name and the /bin/sh script it runs.
pub struct Service {
    pub name: String,
    pub script: String,
    /// It exits at once, every time: supervisord gets [`SUPERVISORD_RETRIES`].
    pub crashes: bool,
}

enum Handle {
    Ours(Rich),
    Peer(Tree),
}

/// A supervisor running its services.
pub struct Running {
    pub kind: Kind,
    handle: Handle,
}

impl Running {
    pub fn tree(&self) -> &Tree {
        match &self.handle {
            Handle::Ours(rich) => &rich.tree,
            Handle::Peer(tree) => tree,
        }
    }

    /// The supervisor's own processes now (not the services, nor our CMD).
    pub fn own_pids(&self) -> Vec<i32> {
        let root = i32::try_from(self.tree().pid()).unwrap_or(0);
        own_processes(root, self.kind.own_names())
    }

    pub fn check_running(&mut self) -> Result<(), String> {
        match &mut self.handle {
            Handle::Ours(rich) => rich.check_running(),
            Handle::Peer(tree) => tree.check_running(),
        }
    }

    /// SIGTERM to the supervisor, timed until it has been reaped (see [`Tree::stop`]).
    pub fn stop(self) -> Result<Stopped, String> {
        match self.handle {
            Handle::Ours(rich) => rich.stop(),
            Handle::Peer(tree) => tree.stop(),
        }
    }
}

/// Start `kind` with `services`; ours returns once its CMD runs, the peers once spawned.
pub fn start(kind: Kind, ours: &Path, what: &str, services: &[Service]) -> Result<Running, String> {
    let what = format!("{} {what}", kind.name());
    let handle = match kind {
        Kind::Ours => {
            let files: Vec<(String, String)> = services
                .iter()
                .map(|s| {
                    let argv = ["/bin/sh", "-c", &s.script].map(String::from);
                    (s.name.clone(), format!("command = {}\n", toml_argv(&argv)))
                })
                .collect();
            Handle::Ours(Rich::start(ours, &what, &files)?)
        }
        Kind::Supervisord => Handle::Peer(supervisord(&what, services)?),
        Kind::S6 => Handle::Peer(s6(&what, services)?),
    };
    Ok(Running { kind, handle })
}

/// Spawn `program args` with stdin from /dev/null and its output to `log` in `dir`.
fn spawn(
    program: &str,
    args: &[&OsStr],
    dir: TempDir,
    what: &str,
    log: &str,
) -> Result<Tree, String> {
    let out = dir.log_file(log)?;
    let err = out
        .try_clone()
        .map_err(|e| format!("{what}: cannot share its log file: {e}"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    Tree::spawn(&mut command, dir, what, log)
}

/// A value in supervisord's config file: `%` is its interpolation character.
fn ini_value(s: &str) -> String {
    s.replace('%', "%%")
}

fn supervisord(what: &str, services: &[Service]) -> Result<Tree, String> {
    let dir = TempDir::new("supervisord", &["childlogs"])?;
    let at = |name: &str| ini_value(&dir.path.join(name).display().to_string());
    let mut conf = format!(
        "[supervisord]\nnodaemon=true\nlogfile={}\npidfile={}\nchildlogdir={}\n\n\
         [unix_http_server]\nfile={}\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        at("supervisord.log"),
        at("supervisord.pid"),
        at("childlogs"),
        at("supervisor.sock"),
    );
    for s in services {
        let command = format!("/bin/sh -c {}", sh_quote(&s.script));
        conf.push_str(&format!(
            "\n[program:{}]\ncommand={}\n",
            s.name,
            ini_value(&command)
        ));
        if s.crashes {
            conf.push_str(&format!("startretries={SUPERVISORD_RETRIES}\n"));
        }
    }
    let file = dir.write("supervisord.conf", &conf, 0o644)?;
    spawn(
        SUPERVISORD,
        &[OsStr::new("-c"), file.as_os_str()],
        dir,
        what,
        "supervisord.out",
    )
}

fn s6(what: &str, services: &[Service]) -> Result<Tree, String> {
    let dir = TempDir::new("s6", &["scan"])?;
    for s in services {
        std::fs::create_dir_all(dir.path.join("scan").join(&s.name))
            .map_err(|e| format!("{what}: cannot create the service directory: {e}"))?;
        dir.write(
            &format!("scan/{}/run", s.name),
            &format!("#!/bin/sh\n{}\n", s.script),
            0o755,
        )?;
    }
    let scan = dir.path.join("scan");
    spawn(S6_SVSCAN, &[scan.as_os_str()], dir, what, "s6-svscan.log")
}
