//! Why rich mode stops before its fleet runs, and the exit code each gives.

use crate::config::ConfigError;
use crate::scripts::ScriptsError;
use crate::supervisor::fleet::{EXIT_CONFIG, EXIT_INIT_SCRIPT};
use crate::sys::users::UsersError;
use std::path::PathBuf;

/// One thing wrong with one service's definition.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{}: key \"ready\": cannot open its NOTIFY_SOCKET: {source}", file.display())]
    NotifySocket {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", file.display())]
    Identity { file: PathBuf, source: UsersError },
    #[error(
        "{}: key \"{key}\": argument {index} contains a NUL byte; remove it",
        file.display()
    )]
    NulInArgument {
        file: PathBuf,
        key: &'static str,
        index: usize,
    },
    #[error("--cmd-after names \"{name}\", which is not a service; remove it or add the service")]
    UnknownCmdAfter { name: String },
    /// `--systemd`: the image's unit directories cannot be read.
    #[error("--systemd: {0}")]
    Units(#[from] crate::units::discovery::DiscoveryError),
}

#[derive(Debug, thiserror::Error)]
pub enum RichError {
    /// Service files or presets are wrong: each problem is one line, nothing ran.
    #[error("{} problem(s) in the service definitions", .0.len())]
    Config(Vec<Problem>),
    /// `--initscript` or init.d cannot be used: nothing ran.
    #[error(transparent)]
    InitScripts(#[from] ScriptsError),
}

impl RichError {
    pub fn config(errors: Vec<ConfigError>) -> RichError {
        RichError::Config(errors.into_iter().map(Problem::from).collect())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            RichError::Config(_) => EXIT_CONFIG,
            RichError::InitScripts(_) => EXIT_INIT_SCRIPT,
        }
    }
}
