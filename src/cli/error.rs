//! Why rich-init's own options or their `RICH_INIT_<FLAG>` variables were refused: one
//! line each that names the option or variable and says what is allowed.

use crate::config::duration::DurationError;
use crate::signame;

/// A bad rich-init option, value or variable; rich-init prints it and exits with 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// `name` is the variable (`RICH_INIT_QUIET`, `rich_mode`, …).
    #[error("{name}={value:?} is not a boolean; use 1 or 0")]
    NotBoolean { name: &'static str, value: String },
    #[error("invalid --rewrite {spec:?}: {problem}")]
    Rewrite {
        spec: String,
        problem: RewriteProblem,
    },
    #[error("invalid --remap-exit {0:?}: expected an exit code from 0 to 255")]
    RemapExit(String),
    #[error("RICH_INIT_ISOLATION={0:?} is not valid; use session, group or none")]
    IsolationVar(String),
    #[error("RICH_INIT_FORWARD_TO={0:?} is not valid; use group or child")]
    ForwardToVar(String),
    #[error("--forward-to group needs CMD in its own group; use --isolation session or group")]
    GroupWithoutIsolation,
    #[error(
        "invalid --parent-death-signal {0:?}: not a signal (use a name such as KILL or a number 1-64)"
    )]
    ParentDeathSignal(String),
    #[error("invalid --grace {text:?}: {error}")]
    Grace { text: String, error: DurationError },
    #[error("RICH_INIT_VERBOSE={0:?} is not valid; use 0 to 3")]
    VerboseVar(String),
    #[error("no command to run; usage: rich-init [OPTIONS] -- CMD [ARGS...]")]
    NoCommand,
    #[error("--initscript needs --rich (rich mode), as in PouchContainer; add --rich")]
    InitscriptWithoutRich,
    #[error("invalid --on-cmd-exit {0:?}: use shutdown or stay")]
    OnCmdExit(String),
    #[error("invalid --stop-cmd {0:?}: use first or last")]
    StopCmd(String),
}

impl CliError {
    /// Every one is a usage error.
    pub fn exit_code(&self) -> i32 {
        super::rich::EXIT_USAGE
    }
}

/// What is wrong with one `--rewrite S:R`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteProblem {
    #[error("expected S:R, such as TERM:QUIT or 15:0")]
    NoColon,
    /// One side, as written.
    #[error("{0:?} is not a signal (use a name such as TERM or a number 1-64)")]
    NotSignal(String),
    #[error("SIGCHLD is how children are reaped; it cannot be rewritten")]
    Sigchld,
    /// SIGKILL or SIGSTOP.
    #[error("{} cannot be caught, so it cannot be rewritten", signame::name(*.0))]
    Uncatchable(i32),
}
