//! The container's environment, exported for what runs outside the init's tree (cron
//! jobs, ssh sessions): `/run/rich-init/env` as `export NAME='value'` lines, and a
//! `/etc/profile.d/rich-init-env.sh` that sources it. Values are quoted for sh.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Where the environment is written.
pub const ENV_FILE: &str = "/run/rich-init/env";
/// The login-shell hook that reads it.
pub const PROFILE_HOOK: &str = "/etc/profile.d/rich-init-env.sh";

/// Variables that describe a session, not the container: a login sets its own.
const PER_SESSION: &[&str] = &[
    "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "SHLVL", "TERM", "_",
];

/// A name sh can `export`: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `value` in single quotes, each `'` written as `'\''`: sh reads it back byte for byte.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The env file's text: sorted `export NAME='value'` lines. Names sh cannot export and
/// per-session variables are left out.
pub fn render(vars: &[(String, String)]) -> String {
    let mut kept: Vec<(usize, &(String, String))> = vars
        .iter()
        .filter(|(k, _)| valid_name(k) && !PER_SESSION.contains(&k.as_str()))
        .enumerate()
        .collect();
    // By name, then position: of duplicates the first stays, as getenv(3) would find it.
    crate::sort::sort_by(&mut kept, |a, b| (&a.1 .0, a.0).cmp(&(&b.1 .0, b.0)));
    kept.dedup_by(|a, b| a.1 .0 == b.1 .0);
    kept.iter()
        .map(|(_, (k, v))| format!("export {k}={}\n", shell_quote(v)))
        .collect()
}

/// The profile.d hook's text: it sources `env_file` (quoted for sh).
pub fn profile_hook(env_file: &Path) -> String {
    let quoted = shell_quote(&env_file.to_string_lossy());
    format!("# Written by rich-init: the container's environment for login shells.\n[ -r {quoted} ] && . {quoted}\n")
}

/// Write `text` to `path` with `mode`, atomically (a temp file in the same directory,
/// then rename), creating the directory if needed.
pub fn write_atomic(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names() {
        for good in ["A", "_", "PATH", "a_1", "_X9"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A.B", "A B", "Ä", "A=B"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn quoting() {
        let cases = [
            ("plain", "'plain'"),
            ("", "''"),
            ("it's", r"'it'\''s'"),
            ("$HOME `x` \\ \"q\"", "'$HOME `x` \\ \"q\"'"),
            ("two\nlines", "'two\nlines'"),
        ];
        for (value, want) in cases {
            assert_eq!(shell_quote(value), want, "{value:?}");
        }
    }

    #[test]
    fn render_sorts_filters_and_dedups() {
        let text = render(&vars(&[
            ("PATH", "/usr/bin:/bin"),
            ("HOME", "/root"),
            ("bad-name", "x"),
            ("DB_PASSWORD", "s3'cr3t"),
            ("PATH", "/second"),
            ("TERM", "xterm"),
        ]));
        assert_eq!(
            text,
            "export DB_PASSWORD='s3'\\''cr3t'\nexport PATH='/usr/bin:/bin'\n"
        );
    }

    #[test]
    fn sh_reads_back_what_we_wrote() {
        let tricky = "a'b\"c$d`e\\f\ng h";
        let dir = std::env::temp_dir().join(format!("rich-init-envfile-{}", std::process::id()));
        let file = dir.join("run/env");
        write_atomic(&file, &render(&vars(&[("TRICKY", tricky)])), 0o600)
            .expect("write the env file");
        let mode = std::fs::metadata(&file)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(". {}; printf %s \"$TRICKY\"", file.display()))
            .output()
            .expect("run sh");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(String::from_utf8_lossy(&out.stdout), tricky);
    }
}
