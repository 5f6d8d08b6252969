//! Rich mode: the container environment written out, init scripts, services in
//! dependency order (in parallel where they are independent), CMD, supervision, and an
//! orderly shutdown. The decisions are the fleet machine's (`supervisor/fleet.rs`); this
//! module sets up and drives it:
//! - `services.rs` loads and checks the services, `env.rs` writes the environment out;
//! - `poller.rs` waits, `control.rs` serves `rich-init ctl`, `output.rs` spawns and
//!   frames output;
//! - `driver.rs` feeds the fleet and carries out its actions.
//! - `decide.rs` answers `ctl` requests from the fleet's state;
//! - an upgrade's descriptor hand-over: `handover.rs` (take, and what a give brought),
//!   `adopt.rs` (which handed descriptors are kept), `awaiting.rs` (the wait at boot).

mod adopt;
mod awaiting;
mod control;
mod decide;
mod driver;
mod env;
mod error;
mod fdstore;
mod handover;
mod output;
mod poller;
mod services;
mod sockets;
mod systemd;
mod words;

use super::{build_argv, set_up_reaping, shutdown};
use crate::cli::{RichSettings, Settings, DEFAULT_GRACE};
use crate::error::Error;
use crate::logging::{Level, Logger, Msg};
use crate::scripts;
use crate::supervisor::fleet::{self, Fleet};
use crate::sys::signals::{SigSet, SignalFd};
use control::ControlServer;
use driver::Driver;
use error::RichError;
use poller::Poller;
use services::Svc;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::PathBuf;
use std::time::Duration;
use std::time::Instant;

/// What the driver is built from (see `rich::run`).
struct Parts<'a> {
    settings: &'a Settings,
    log: &'a Logger,
    mask: SigSet,
    fleet: Fleet,
    services: BTreeMap<String, Svc>,
    poller: Poller<'a>,
    control: Option<ControlServer>,
    argv: Vec<CString>,
    environment: Vec<(String, String)>,
    init_scripts: Vec<PathBuf>,
    stop_dir: PathBuf,
    grace: Duration,
    units: BTreeMap<String, systemd::UnitRun>,
    meta: BTreeMap<String, systemd::Meta>,
    warned: std::collections::BTreeSet<String>,
    records: Option<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)>,
}

/// Run rich mode to the end; returns the exit code.
pub fn run(
    settings: &Settings,
    rich: &RichSettings,
    log: &Logger,
    mask: SigSet,
) -> Result<i32, Error> {
    let sigfd = SignalFd::new().map_err(Error::SignalFd)?;
    set_up_reaping(settings, log)?;
    // Service definitions are checked before anything runs: a bad one starts nothing,
    // not even init.d. (So init.d cannot write services.d: bake the files in.)
    let loaded = match services::load(rich) {
        Ok(loaded) => loaded,
        Err(e) => return Ok(report(&e, log)),
    };
    let mut loaded = loaded;
    let mut units = BTreeMap::new();
    let mut meta = BTreeMap::new();
    let mut warned = std::collections::BTreeSet::new();
    let mut records = None;
    if rich.systemd {
        let toml: Vec<String> = loaded.services.keys().cloned().collect();
        let extra = match systemd::load(&toml) {
            Ok(extra) => extra,
            Err(e) => return Ok(report(&e, log)),
        };
        for w in &extra.warnings {
            if warned.insert(w.clone()) {
                log.emit(Msg::Rich {
                    level: Level::Warn,
                    text: w,
                });
            }
        }
        loaded.members.extend(extra.members);
        loaded.notify.extend(extra.notify);
        units = extra.units;
        meta = extra.meta;
        records = Some(crate::sys::keeper::record_pipe().map_err(Error::KeeperPipe)?);
        crate::sys::trim_heap();
        // Debian's service(8), invoke-rc.d and deb-systemd-invoke call systemctl only when
        // this exists (sd_booted(3)); ours answers them.
        let _ = std::fs::create_dir_all("/run/systemd/system");
    }
    let argv = build_argv(&settings.command)?;
    // The socket first: a live one means another init runs here, and then nothing of
    // its (the env file above all) may be touched.
    let control = match &rich.control_socket {
        Some(path) => ControlServer::open(path, log)?,
        None => None,
    };
    // Out of our environment before anything reads it: no child may see it.
    let handover_wait = awaiting::wanted(control.is_some(), log);
    let environment = env::environment();
    env::write(rich, &environment, log);
    let init_scripts = match init_scripts(rich, log) {
        Ok(list) => list,
        Err(e) => return Ok(report(&e, log)),
    };
    let grace = settings.grace.unwrap_or(DEFAULT_GRACE);
    let config = fleet::Config {
        grace,
        after_kill: shutdown::AFTER_KILL,
        stop_cmd_first: rich.stop_cmd_first,
        cmd_exit_shuts_down: rich.cmd_exit_shuts_down,
        cmd_after: rich.cmd_after.clone(),
        remap_to_zero: settings.remap_to_zero.clone(),
        has_cmd: !argv.is_empty(),
    };
    // An upgrade's old init hands its sockets over first: what is kept is not bound.
    if let (Some(wait), Some(ctl)) = (handover_wait, &control) {
        if let Some(give) = awaiting::wait(ctl.listener(), &sigfd, wait, log) {
            let given = handover::adopt(&mut loaded.services, &mut units, give.fds, log);
            awaiting::answer(&give.conn, &crate::control::handover::render_given(given));
        }
    }
    // `listen` sockets: bound now, so that connections queue from the start of the boot.
    for service in loaded.services.values_mut() {
        service.bind_sockets();
    }
    // And the `.socket` units' (for the units they activate), likewise; what fails is
    // tried again, and said, when the unit starts.
    for (name, run) in units.iter_mut() {
        let _ = run.sockets.bind(name);
    }
    let fleet = Fleet::new(config, loaded.members, init_scripts.len(), Instant::now());
    let driver = Driver::new(Parts {
        settings,
        log,
        mask,
        fleet,
        services: loaded.services,
        poller: Poller::new(&sigfd, loaded.notify),
        control,
        argv,
        environment,
        init_scripts,
        stop_dir: rich.stop_dir.clone(),
        grace,
        units,
        meta,
        warned,
        records,
    });
    Ok(driver.run())
}

/// Say what is wrong (a config problem per line, as `rich-init: …`) and give its code.
fn report(e: &RichError, log: &Logger) -> i32 {
    match e {
        RichError::Config(problems) => {
            for p in problems {
                crate::sys::write_all_raw(2, format!("rich-init: {p}\n").as_bytes());
            }
        }
        RichError::InitScripts(e) => log.emit(Msg::Rich {
            level: Level::Error,
            text: &e.to_string(),
        }),
    }
    e.exit_code()
}

/// --initscript, then init.d in order; a non-executable file there is skipped with a
/// warning.
fn init_scripts(rich: &RichSettings, log: &Logger) -> Result<Vec<PathBuf>, RichError> {
    let mut list: Vec<PathBuf> = Vec::new();
    if let Some(first) = &rich.initscript {
        scripts::check_initscript(first)?;
        list.push(first.clone());
    }
    let found = scripts::discover(&rich.init_dir)?;
    for (path, why) in found.skipped {
        if why == scripts::Skip::NotExecutable {
            let text = format!(
                "{} is not executable: skipped (chmod +x to run it)",
                path.display()
            );
            log.emit(Msg::Rich {
                level: Level::Warn,
                text: &text,
            });
        }
    }
    list.extend(found.run);
    Ok(list)
}
