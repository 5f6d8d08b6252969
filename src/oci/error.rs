//! Why `rich-init hook` and `rich-init oci inject` stop: one line each, naming what failed,
//! on what, and what to do. Each error carries its exit code: 2 for a bad command line,
//! 1 for everything else.

use super::initscript::InitscriptError;
use super::rewrite::{Mode, RewriteError};
use super::state::{ConfigError, StateError, ANNOTATION_TIMEOUT};
use super::words::MissingValue;
use crate::config::duration::DurationError;
use crate::scripts::ScriptsError;
use crate::sys::enter::EnterError;
use crate::sys::Errno;
use std::path::PathBuf;

/// Exit code for a bad command line.
const EXIT_USAGE: i32 = 2;
/// Exit code for everything else that stops the command.
const EXIT_FAILED: i32 = 1;

fn strerror(e: &Errno) -> String {
    crate::sys::strerror(*e)
}

/// Why `rich-init hook STAGE` stopped, or why one of its actions could not be started.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    MissingValue(#[from] MissingValue),
    #[error("--timeout {text:?}: {error}; try 30s")]
    Timeout { text: String, error: DurationError },
    /// The text of `--env` is never shown: it may hold a secret.
    #[error("--env with an empty name; use --env NAME=VALUE")]
    EnvWithoutName,
    #[error(
        "--env given without '=' (its text is not shown: it may be a secret); use --env NAME=VALUE"
    )]
    EnvWithoutEquals,
    #[error("--log {0:?}: use auto, stderr or syslog")]
    Log(String),
    #[error("{}", super::hook::USAGE)]
    Help,
    #[error("unknown option {0:?}; {usage}", usage = super::hook::USAGE)]
    UnknownOption(String),
    #[error("unexpected argument {0:?}; {usage}", usage = super::hook::USAGE)]
    UnexpectedArgument(String),
    #[error("unknown stage {0:?}; use one of {stages}", stages = super::state::Stage::list())]
    UnknownStage(String),
    #[error("no stage given; {usage}", usage = super::hook::USAGE)]
    NoStage,
    /// A relative `--hooks-dir` needs the working directory.
    #[error("--hooks-dir {}: {source}", dir.display())]
    HooksDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the OCI state on stdin is larger than 1 MiB; it is not an OCI state")]
    StateTooLarge,
    #[error("cannot read the OCI state on stdin: {}; run me as an OCI hook", strerror(.0))]
    ReadStdin(Errno),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("annotation {ANNOTATION_TIMEOUT}={text:?}: {error}")]
    TimeoutAnnotation { text: String, error: DurationError },
    #[error(transparent)]
    Scripts(#[from] ScriptsError),
    #[error(transparent)]
    Initscript(#[from] InitscriptError),
    #[error(transparent)]
    Enter(#[from] EnterError),
    /// `what` names the list the string came from (`--env`, `environment variable`).
    #[error("{what} {text:?} contains a NUL byte")]
    Nul { what: &'static str, text: String },
    #[error("{} contains a NUL byte", .0.display())]
    ScriptNul(PathBuf),
    #[error("initscript {} contains a NUL byte", .0.display())]
    InitscriptNul(PathBuf),
}

impl HookError {
    /// 2 for a bad command line, 1 for a hook that could not do its work.
    pub fn exit_code(&self) -> i32 {
        match self {
            HookError::MissingValue(_)
            | HookError::Timeout { .. }
            | HookError::EnvWithoutName
            | HookError::EnvWithoutEquals
            | HookError::Log(_)
            | HookError::Help
            | HookError::UnknownOption(_)
            | HookError::UnexpectedArgument(_)
            | HookError::UnknownStage(_)
            | HookError::NoStage
            | HookError::HooksDir { .. } => EXIT_USAGE,
            HookError::StateTooLarge
            | HookError::ReadStdin(_)
            | HookError::State(_)
            | HookError::Config(_)
            | HookError::TimeoutAnnotation { .. }
            | HookError::Scripts(_)
            | HookError::Initscript(_)
            | HookError::Enter(_)
            | HookError::Nul { .. }
            | HookError::ScriptNul(_)
            | HookError::InitscriptNul(_) => EXIT_FAILED,
        }
    }
}

/// Why `rich-init oci inject` stopped; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error(transparent)]
    MissingValue(#[from] MissingValue),
    #[error("--rich-mode {0:?}: use rich-init, dumb-init, tini, systemd or sbin-init")]
    RichMode(String),
    #[error("--initscript {0:?}: give an absolute path inside the container")]
    RelativeInitscript(String),
    #[error("--initscript-stage {0:?}: use prestart or createRuntime")]
    InitscriptStage(String),
    #[error("{}", super::inject::USAGE)]
    Help,
    #[error("unexpected argument {0:?}; {usage}", usage = super::inject::USAGE)]
    UnexpectedArgument(String),
    #[error("--bundle is required; {usage}", usage = super::inject::USAGE)]
    NoBundle,
    #[error("--services needs --rich-mode rich-init (not {})", .0.name())]
    ServicesNeedRichInit(Mode),
    #[error("cannot find my own executable ({0}); give --binary PATH")]
    OwnExecutable(#[source] std::io::Error),
    #[error("--binary {}: {source}; give the host path of a static rich-init", path.display())]
    BinaryPath {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--binary {}: cannot read it: {source}", path.display())]
    BinaryRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "--binary {}: not an x86-64 ELF executable; give the path of a static rich-init",
        .0.display()
    )]
    BinaryNotElf(PathBuf),
    #[error(
        "--binary {} is dynamically linked and would not run in the container; build the static one with `make`",
        .0.display()
    )]
    BinaryDynamic(PathBuf),
    #[error("--binary {}: the path is not UTF-8", .0.display())]
    BinaryNotUtf8(PathBuf),
    #[error(
        "the bundle {} does not exist; give an OCI bundle directory (with config.json)",
        .0.display()
    )]
    NoBundleDir(PathBuf),
    #[error("cannot read {}: {source}; is {} an OCI bundle?", path.display(), bundle.display())]
    ReadConfig {
        path: PathBuf,
        bundle: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not valid JSON ({source}); fix it first", path.display())]
    ConfigJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {source}", path.display())]
    Rewrite { path: PathBuf, source: RewriteError },
    #[error("cannot render the new config.json: {0}")]
    Render(#[source] serde_json::Error),
    #[error("cannot write {}: {source}; nothing was changed", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl InjectError {
    /// 2 for a bad command line, 1 for a bundle that could not be rewritten.
    pub fn exit_code(&self) -> i32 {
        match self {
            InjectError::MissingValue(_)
            | InjectError::RichMode(_)
            | InjectError::RelativeInitscript(_)
            | InjectError::InitscriptStage(_)
            | InjectError::Help
            | InjectError::UnexpectedArgument(_)
            | InjectError::NoBundle
            | InjectError::ServicesNeedRichInit(_) => EXIT_USAGE,
            InjectError::OwnExecutable(_)
            | InjectError::BinaryPath { .. }
            | InjectError::BinaryRead { .. }
            | InjectError::BinaryNotElf(_)
            | InjectError::BinaryDynamic(_)
            | InjectError::BinaryNotUtf8(_)
            | InjectError::NoBundleDir(_)
            | InjectError::ReadConfig { .. }
            | InjectError::ConfigJson { .. }
            | InjectError::Rewrite { .. }
            | InjectError::Render(_)
            | InjectError::Write { .. } => EXIT_FAILED,
        }
    }
}
