//! The container's environment written out for cron jobs and logins (`--env-file`,
//! `--profile-hook`), and as every service's starting environment.

use crate::cli::RichSettings;
use crate::envfile;
use crate::logging::{Level, Logger, Msg};
use std::path::PathBuf;

/// Our environment as text (names and values not in UTF-8 are made so, lossily).
pub(super) fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// Write the env file and the profile hook, as asked; a failure is a warning.
pub(super) fn write(rich: &RichSettings, vars: &[(String, String)], log: &Logger) {
    let env_file = rich
        .env_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(envfile::ENV_FILE));
    let files = [
        // The values may be secrets: root only. PAM (pam_env, run as root by sshd and
        // cron) reads it for every user; `. FILE` works for root's shells.
        (&rich.env_file, envfile::render(vars), 0o600),
        (&rich.profile_hook, envfile::profile_hook(&env_file), 0o644),
    ];
    for (path, text, mode) in files {
        if let Some(path) = path {
            if let Err(e) = envfile::write_atomic(path, &text, mode) {
                let text = format!("cannot write {}: {e}; cron jobs and logins will not see the container's environment", path.display());
                log.emit(Msg::Rich {
                    level: Level::Warn,
                    text: &text,
                });
            }
        }
    }
}
