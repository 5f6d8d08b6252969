//! `rich-init hook STAGE`: what an OCI runtime calls at a lifecycle stage. It reads the
//! state JSON on stdin, loads the bundle's config.json, then runs the host scripts of
//! `HOOKS_DIR/STAGE/` and, at its stage, the container's initscript inside the
//! container. Each gets the state on stdin, a cleared environment and a deadline; their
//! output is logged line by line.
//!
//! Exit codes: 0 done; 1 an action failed at a stage before the container's program runs
//! (the runtime then aborts), or the input was unusable; 2 usage. After the program has
//! started (poststart, poststop) failures are warnings and the exit code is 0, as the
//! OCI runtime spec has the lifecycle go on.

use super::action::{self, Action};
pub use super::error::HookError;
use super::hooklog;
use super::initscript::{self, Asked};
use super::sink::Sink;
use super::state::{self, BundleConfig, HookState, Stage};
use crate::config::duration;
use crate::sys::caps::CapSets;
use crate::sys::enter::Target;
use crate::sys::signals::SigSet;
use std::ffi::CString;
use std::path::PathBuf;
use std::time::Duration;

pub const HOOKS_DIR: &str = "/etc/rich-init/hooks.d";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The PATH that host scripts get.
pub const HOST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// More state than this on stdin is not an OCI state.
const MAX_STATE: usize = 1 << 20;

pub(super) const USAGE: &str = "usage: rich-init hook STAGE [--hooks-dir DIR] [--timeout DUR] [--env K=V]... [--log auto|stderr|syslog] [--log-file PATH]";

/// Where action output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTo {
    Auto,
    Stderr,
    Syslog,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookArgs {
    pub stage: Stage,
    pub hooks_dir: PathBuf,
    /// None: the annotation's, else the default.
    pub timeout: Option<Duration>,
    pub env: Vec<String>,
    pub log: LogTo,
    /// The host log file every line also goes to; None: none (`--log-file ''`).
    pub log_file: Option<PathBuf>,
}

/// Parse the words after `hook`. Err: the usage error to print.
pub fn parse_args(
    words: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<HookArgs, HookError> {
    let mut stage = None;
    let mut hooks_dir = env("RICH_INIT_HOOKS_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let mut timeout = None;
    let mut vars = Vec::new();
    let mut log = LogTo::Auto;
    let mut log_file = env("RICH_INIT_LOG_FILE");
    let mut it = super::words::Words::new(words, USAGE);
    while let Some(w) = it.next_word() {
        let word = w.text;
        match word {
            "--hooks-dir" => hooks_dir = Some(PathBuf::from(it.value(&w)?)),
            "--timeout" => {
                let text = it.value(&w)?;
                timeout = Some(
                    duration::parse_nonzero(&text)
                        .map_err(|error| HookError::Timeout { text, error })?,
                );
            }
            "--env" => {
                let pair = it.value(&w)?;
                // A value may be a secret: the line never repeats one.
                if pair.starts_with('=') {
                    return Err(HookError::EnvWithoutName);
                }
                if !pair.contains('=') {
                    return Err(HookError::EnvWithoutEquals);
                }
                vars.push(pair);
            }
            "--log" => {
                log = match it.value(&w)?.as_str() {
                    "auto" => LogTo::Auto,
                    "stderr" => LogTo::Stderr,
                    "syslog" => LogTo::Syslog,
                    other => return Err(HookError::Log(other.to_string())),
                }
            }
            "--log-file" => log_file = Some(it.value_or_empty(&w)?),
            "-h" | "--help" => return Err(HookError::Help),
            f if f.starts_with('-') => return Err(HookError::UnknownOption(f.to_string())),
            _ if stage.is_some() => return Err(HookError::UnexpectedArgument(word.to_string())),
            _ => {
                stage = Some(
                    Stage::parse(word).ok_or_else(|| HookError::UnknownStage(word.to_string()))?,
                )
            }
        }
    }
    let hooks_dir = hooks_dir.unwrap_or_else(|| PathBuf::from(HOOKS_DIR));
    // Scripts run with the bundle as their working directory: name them absolutely.
    let hooks_dir = if hooks_dir.is_absolute() {
        hooks_dir
    } else {
        match std::env::current_dir() {
            Ok(cwd) => cwd.join(hooks_dir),
            Err(source) => {
                return Err(HookError::HooksDir {
                    dir: hooks_dir,
                    source,
                })
            }
        }
    };
    Ok(HookArgs {
        stage: stage.ok_or(HookError::NoStage)?,
        hooks_dir,
        timeout,
        env: vars,
        log,
        log_file: hooklog::path_of(log_file),
    })
}

/// One line to stderr.
pub(super) fn say(line: &str) {
    crate::sys::write_all_raw(2, format!("{line}\n").as_bytes());
}

fn read_stdin() -> Result<Vec<u8>, HookError> {
    let mut input = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match crate::sys::io::read_some(0, &mut buf) {
            Ok(0) => return Ok(input),
            Ok(n) => {
                input.extend_from_slice(buf.get(..n).unwrap_or_default());
                if input.len() > MAX_STATE {
                    return Err(HookError::StateTooLarge);
                }
            }
            Err(crate::sys::Errno::EINTR) => {}
            Err(e) => return Err(HookError::ReadStdin(e)),
        }
    }
}

fn cstrings(items: &[String], what: &'static str) -> Result<Vec<CString>, HookError> {
    items
        .iter()
        .map(|s| {
            CString::new(s.as_str()).map_err(|_| HookError::Nul {
                what,
                text: s.clone(),
            })
        })
        .collect()
}

/// The variables every action gets, after its base environment.
fn hook_vars(args: &HookArgs, state: &HookState) -> Vec<String> {
    let mut vars = vec![
        format!("RICH_INIT_STAGE={}", args.stage.name()),
        format!("RICH_INIT_CONTAINER_ID={}", state.id),
        format!("RICH_INIT_BUNDLE={}", state.bundle.display()),
    ];
    if let Some(pid) = state.pid {
        vars.push(format!("RICH_INIT_CONTAINER_PID={pid}"));
    }
    vars.extend(args.env.iter().cloned());
    vars
}

/// The initscript to run at this stage, if any: Err when the annotations ask for one
/// that cannot run (see `initscript::decide`).
fn initscript(
    args: &HookArgs,
    state: &HookState,
    config: &BundleConfig,
) -> Result<Option<PathBuf>, HookError> {
    let asked = Asked {
        initscript: config.annotation(state, state::ANNOTATION_INITSCRIPT),
        stage: config.annotation(state, state::ANNOTATION_INITSCRIPT_STAGE),
    };
    Ok(initscript::decide(args.stage, asked, &config.hook_stages)?)
}

/// Everything before running: Err is the one error to print.
struct Plan {
    input: Vec<u8>,
    state: HookState,
    config: BundleConfig,
    timeout: Duration,
    scripts: Vec<PathBuf>,
    initscript: Option<PathBuf>,
}

fn plan(args: &HookArgs, sink: &mut Sink) -> Result<Plan, HookError> {
    let input = read_stdin()?;
    let state = state::parse_state(&input)?;
    sink.log.set_id(&state.id);
    let config = state::load_config(&state.bundle)?;
    // The container's annotations are the container author's: they may shorten the
    // administrator's deadline, never lengthen it, and at the stages after the program has
    // started a bad one only earns a warning (the administrator's scripts still run).
    let limit = args.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let lenient = |error: HookError| -> Result<(), HookError> {
        if args.stage.is_fatal() {
            Err(error)
        } else {
            sink.tell(
                "hook",
                &format!("rich-init hook {}: warning: {error}", args.stage.name()),
            );
            Ok(())
        }
    };
    let mut timeout = limit;
    if let Some(text) = config.annotation(&state, state::ANNOTATION_TIMEOUT) {
        match duration::parse_nonzero(text) {
            Ok(t) => timeout = t.min(limit),
            Err(error) => lenient(HookError::TimeoutAnnotation {
                text: text.to_string(),
                error,
            })?,
        }
    }
    let scripts = crate::scripts::discover(&args.hooks_dir.join(args.stage.name()))?.run;
    let initscript = if args.stage.can_run_initscript() {
        initscript(args, &state, &config)?
    } else {
        None
    };
    Ok(Plan {
        input,
        state,
        config,
        timeout,
        scripts,
        initscript,
    })
}

/// `rich-init hook ...`; `mask` is the signal mask we were started with. Cold: it keeps
/// this code out of the pages the init touches at start-up.
#[cold]
pub fn run(words: &[String], env: &dyn Fn(&str) -> Option<String>, mask: SigSet) -> i32 {
    let args = match parse_args(words, env) {
        Ok(args) => args,
        Err(e) => {
            say(&format!("rich-init hook: {e}"));
            return e.exit_code();
        }
    };
    let prefix = format!("rich-init hook {}", args.stage.name());
    let mut sink = Sink::open(&args);
    let plan = match plan(&args, &mut sink) {
        Ok(plan) => plan,
        Err(e) => {
            sink.tell("hook", &format!("{prefix}: {e}"));
            return e.exit_code();
        }
    };
    let vars = hook_vars(&args, &plan.state);
    for script in &plan.scripts {
        let label = script.display().to_string();
        let mut env = vec![format!("PATH={HOST_PATH}")];
        env.extend(vars.iter().cloned());
        let outcome = cstrings(&env, "--env").and_then(|env| {
            Ok(Action {
                argv: vec![CString::new(script.as_os_str().as_encoded_bytes())
                    .map_err(|_| HookError::ScriptNul(script.clone()))?],
                env,
                cwd: CString::new(plan.state.bundle.as_os_str().as_encoded_bytes()).ok(),
                inside: None,
                user: None,
                caps: None,
                no_new_privs: false,
            })
        });
        if !finish(&args, &prefix, &label, &plan, &sink, outcome, mask) {
            return 1;
        }
    }
    if let Some(path) = &plan.initscript {
        let label = format!("initscript {}", path.display());
        let target = plan
            .state
            .live_pid()
            .map_err(HookError::from)
            .and_then(|pid| Ok(Target::open(pid, &plan.config.rootfs)?));
        let prepared = target.and_then(|target| {
            let mut env = plan.config.env.clone();
            env.extend(vars.iter().cloned());
            let env = cstrings(&env, "environment variable")?;
            let argv = CString::new(path.as_os_str().as_encoded_bytes())
                .map_err(|_| HookError::InitscriptNul(path.clone()))?;
            Ok((target, argv, env))
        });
        let action = prepared.as_ref().map(|(target, argv, env)| Action {
            argv: vec![argv.clone()],
            env: env.clone(),
            cwd: Some(CString::from(c"/")),
            inside: Some(target),
            // The container's own user, capabilities and no_new_privs: the script may do
            // what the container's program may do, no more.
            user: Some(plan.config.user.clone()),
            caps: Some(without_dropped(plan.config.caps)),
            no_new_privs: plan.config.no_new_privs,
        });
        if !finish(&args, &prefix, &label, &plan, &sink, action, mask) {
            return 1;
        }
    }
    0
}

/// Capabilities the initscript goes without, though the container's program may have them:
/// - CAP_MKNOD: defence in depth. The initscript joins the container's cgroups, and so
///   its devices cgroup, only where the hook sees that hierarchy mounted (sys::cgroups
///   skips one that is not); without CAP_MKNOD it cannot make a node for a host device
///   even where no device rule would stop it;
/// - CAP_SYS_PTRACE: at prestart and createRuntime the container's pid 1 is still the
///   runtime's init, whose root is the host's: with it, /proc/1/root (and ptrace of that
///   process) would lead out of the container.
const DROPPED_CAPS: [&str; 2] = ["CAP_MKNOD", "CAP_SYS_PTRACE"];

fn without_dropped(mut caps: CapSets) -> CapSets {
    let bits = DROPPED_CAPS
        .iter()
        .filter_map(|name| crate::sys::caps::number(name))
        .fold(0u64, |acc, n| acc | (1u64 << n));
    for set in [
        &mut caps.bounding,
        &mut caps.effective,
        &mut caps.permitted,
        &mut caps.inheritable,
        &mut caps.ambient,
    ] {
        *set &= !bits;
    }
    caps
}

/// Run one action and report; false when the hook must stop with a failure. Err: why
/// the action could not be started.
#[allow(clippy::too_many_arguments)]
fn finish<E: std::fmt::Display>(
    args: &HookArgs,
    prefix: &str,
    label: &str,
    plan: &Plan,
    sink: &Sink,
    action: Result<Action, E>,
    mask: SigSet,
) -> bool {
    let reason = match action {
        Err(e) => e.to_string(),
        Ok(action) => {
            let outcome = action::run(&action, &plan.input, plan.timeout, mask, &mut |line| {
                sink.line(label, line)
            });
            if outcome.is_success() {
                sink.note(label, "succeeded");
                return true;
            }
            outcome.reason(action.inside)
        }
    };
    if args.stage.is_fatal() {
        sink.tell(label, &format!("{prefix}: {label} failed: {reason}"));
        false
    } else {
        sink.tell(
            label,
            &format!("{prefix}: warning: {label} failed: {reason} (the lifecycle goes on)"),
        );
        true
    }
}

#[cfg(test)]
#[path = "hook_tests.rs"]
mod tests;
