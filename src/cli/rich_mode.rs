//! rich-init's rich-mode options and their variables → [`RichSettings`].

use super::error::CliError;
use super::rich::Cli;
use super::rich_env::env_flag;
use super::RichSettings;
use crate::envfile;
use crate::scripts;
use std::path::PathBuf;

/// The default directory of service files.
pub const SERVICES_DIR: &str = "/etc/rich-init/services.d";
use crate::ctl::CONTROL_SOCKET;

/// The debug note when an environment switch is set but we are not pid 1.
pub(super) const SWITCH_IGNORED: &str = "rich mode's environment switch (RICH_INIT_RICH, \
    rich_mode) applies to pid 1 only: running CMD alone; pass --rich to insist";

/// `value(flag, VAR)`: the variable's value unless the option was on the command line.
///
/// A container's environment is inherited by every `podman exec`/`docker exec`, so the
/// environment switches select rich mode for pid 1 only, and only pid 1 claims the
/// default control socket, env file and profile hook: a second init (`--rich`, not pid 1)
/// uses them only when given them. Returns the settings (None: single-child mode) and a
/// note to log when a switch was set but did not apply.
pub(super) fn rich_settings(
    cli: &Cli,
    value: &dyn Fn(&str, &str) -> Option<String>,
    pid1: bool,
) -> Result<(Option<RichSettings>, Option<&'static str>), CliError> {
    // The same words as every other flag variable; anything else leaves rich mode off.
    let set =
        |var: &'static str| value("rich", var).is_some_and(|v| env_flag(var, &v).unwrap_or(false));
    // PouchContainer's `rich_mode_launch_manner=systemd` asks for the image's units.
    let manner_systemd = value("systemd", "rich_mode_launch_manner")
        .is_some_and(|v| matches!(v.trim(), "systemd" | "sbin-init"));
    let systemd_var = set("RICH_INIT_SYSTEMD") || (pid1 && set("rich_mode") && manner_systemd);
    let systemd = cli.systemd || (pid1 && systemd_var);
    let switched = set("RICH_INIT_RICH") || set("rich_mode") || systemd_var;
    let on = cli.rich || systemd || (pid1 && switched);
    let path = |id: &str, var: &str, given: &Option<PathBuf>| {
        given.clone().or_else(|| value(id, var).map(PathBuf::from))
    };
    let initscript = path("initscript", "RICH_INIT_INITSCRIPT", &cli.initscript);
    if !on {
        if switched {
            // The rest of pid 1's rich-mode variables came along with the switch.
            return Ok((None, Some(SWITCH_IGNORED)));
        }
        if initscript.is_some() {
            return Err(CliError::InitscriptWithoutRich);
        }
        return Ok((None, None));
    }
    let services_dir = path("services_dir", "RICH_INIT_SERVICES_DIR", &cli.services_dir);
    let presets = cli
        .services
        .clone()
        .or_else(|| value("services", "RICH_INIT_SERVICES"))
        .map(|list| name_list(&list))
        .unwrap_or_default();
    let cmd_after = cli
        .cmd_after
        .clone()
        .or_else(|| value("cmd_after", "RICH_INIT_CMD_AFTER"))
        .map(|list| name_list(&list));
    // An empty value turns a file off; the defaults are pid 1's.
    let optional = |p: Option<PathBuf>, default: &str| match p {
        Some(p) if p.as_os_str().is_empty() => None,
        Some(p) => Some(p),
        None => pid1.then(|| PathBuf::from(default)),
    };
    let control_socket = optional(
        path(
            "control_socket",
            "RICH_INIT_CONTROL_SOCKET",
            &cli.control_socket.clone().map(PathBuf::from),
        ),
        CONTROL_SOCKET,
    );
    let on_cmd_exit = cli
        .on_cmd_exit
        .clone()
        .or_else(|| value("on_cmd_exit", "RICH_INIT_ON_CMD_EXIT"));
    let cmd_exit_shuts_down = match on_cmd_exit.as_deref().map(str::trim) {
        None | Some("shutdown") => true,
        Some("stay") => false,
        Some(other) => return Err(CliError::OnCmdExit(other.to_string())),
    };
    let stop_cmd = cli
        .stop_cmd
        .clone()
        .or_else(|| value("stop_cmd", "RICH_INIT_STOP_CMD"));
    let stop_cmd_first = match stop_cmd.as_deref().map(str::trim) {
        None | Some("first") => true,
        Some("last") => false,
        Some(other) => return Err(CliError::StopCmd(other.to_string())),
    };
    Ok((
        Some(RichSettings {
            systemd,
            cmd_after,
            cmd_exit_shuts_down,
            stop_cmd_first,
            control_socket,
            services_dir_given: services_dir.is_some(),
            services_dir: services_dir.unwrap_or_else(|| PathBuf::from(SERVICES_DIR)),
            presets,
            initscript,
            init_dir: path("init_dir", "RICH_INIT_INIT_DIR", &cli.init_dir)
                .unwrap_or_else(|| scripts::INIT_DIR.into()),
            stop_dir: path("stop_dir", "RICH_INIT_STOP_DIR", &cli.stop_dir)
                .unwrap_or_else(|| scripts::STOP_DIR.into()),
            env_file: optional(
                path(
                    "env_file",
                    "RICH_INIT_ENV_FILE",
                    &cli.env_file.clone().map(PathBuf::from),
                ),
                envfile::ENV_FILE,
            ),
            profile_hook: optional(
                path(
                    "profile_hook",
                    "RICH_INIT_PROFILE_HOOK",
                    &cli.profile_hook.clone().map(PathBuf::from),
                ),
                envfile::PROFILE_HOOK,
            ),
        }),
        None,
    ))
}

/// `a, b,,a` → `[a, b]`: trimmed, empty ones dropped, each once.
fn name_list(list: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use crate::cli::rich::tests::{error_line, parse_not_pid1, parse_with, settings};
    use std::path::PathBuf;

    /// Issue 13, finding 4: `podman exec` inherits the container's environment, so the
    /// switches make rich mode of pid 1 only, and the default socket, env file and profile
    /// hook are pid 1's; a second init uses them only when given them.
    #[test]
    fn switches_and_defaults_belong_to_pid_1() {
        type Case<'a> = (
            &'a [&'a str],
            &'a [(&'a str, &'a str)],
            bool,
            Option<(bool, bool, bool)>,
        );
        let inherited: &[(&str, &str)] = &[
            ("RICH_INIT_RICH", "1"),
            ("RICH_INIT_INITSCRIPT", "/init.sh"),
            ("RICH_INIT_SERVICES", "crond"),
        ];
        let cases: &[Case] = &[
            // (argv, env, pid 1, Some((socket, env file, profile hook)) or None: not rich)
            (
                &["rich-init", "x"],
                inherited,
                true,
                Some((true, true, true)),
            ),
            (&["rich-init", "x"], inherited, false, None),
            (&["rich-init", "x"], &[("rich_mode", "true")], false, None),
            (
                &["rich-init", "--rich", "x"],
                &[],
                true,
                Some((true, true, true)),
            ),
            (
                &["rich-init", "--rich", "x"],
                &[],
                false,
                Some((false, false, false)),
            ),
            (
                &["rich-init", "--rich", "--control-socket", "/s", "x"],
                &[("RICH_INIT_ENV_FILE", "/e")],
                false,
                Some((true, true, false)),
            ),
        ];
        for (args, vars, pid1, want) in cases {
            let parsed = if *pid1 {
                parse_with(args, vars)
            } else {
                parse_not_pid1(args, vars)
            };
            let s = settings(parsed);
            let got = s.rich.as_ref().map(|r| {
                (
                    r.control_socket.is_some(),
                    r.env_file.is_some(),
                    r.profile_hook.is_some(),
                )
            });
            assert_eq!(got, *want, "{args:?} {vars:?} pid1={pid1}");
            let noted = s.notes.iter().any(|n| n == super::SWITCH_IGNORED);
            assert_eq!(
                noted,
                !*pid1 && want.is_none(),
                "{args:?} {vars:?}: {:?}",
                s.notes
            );
        }
    }

    #[test]
    fn off_by_default_and_initscript_needs_it() {
        assert_eq!(settings(parse_with(&["rich-init", "x"], &[])).rich, None);
        let line = error_line(parse_with(&["rich-init", "--initscript", "/s", "x"], &[]));
        assert!(line.contains("--initscript needs --rich"), "{line}");
    }

    #[test]
    fn defaults_options_and_variables() {
        let r = settings(parse_with(&["rich-init", "--rich", "x"], &[]))
            .rich
            .expect("rich mode on");
        assert_eq!(r.services_dir, PathBuf::from("/etc/rich-init/services.d"));
        assert!(!r.services_dir_given);
        assert_eq!(r.init_dir, PathBuf::from("/etc/rich-init/init.d"));
        assert_eq!(r.stop_dir, PathBuf::from("/etc/rich-init/stop.d"));
        assert_eq!(r.env_file, Some(PathBuf::from("/run/rich-init/env")));
        assert_eq!(
            r.profile_hook,
            Some(PathBuf::from("/etc/profile.d/rich-init-env.sh"))
        );

        let vars = [
            ("rich_mode", "true"),
            ("RICH_INIT_SERVICES", "crond, syslogd,crond,"),
            ("RICH_INIT_SERVICES_DIR", "/svc"),
            ("RICH_INIT_ENV_FILE", ""),
            ("RICH_INIT_INITSCRIPT", "/init.sh"),
        ];
        let r = settings(parse_with(&["rich-init", "--profile-hook", "", "x"], &vars))
            .rich
            .expect("on by rich_mode");
        assert_eq!(r.presets, ["crond", "syslogd"]);
        assert_eq!(
            (r.services_dir, r.services_dir_given),
            (PathBuf::from("/svc"), true)
        );
        assert_eq!((r.env_file, r.profile_hook), (None, None));
        assert_eq!(r.initscript, Some(PathBuf::from("/init.sh")));
        assert!(
            settings(parse_with(&["rich-init", "x"], &[("RICH_INIT_RICH", "1")]))
                .rich
                .is_some()
        );
        assert!(
            settings(parse_with(&["rich-init", "x"], &[("rich_mode", "false")]))
                .rich
                .is_none()
        );
        let r = settings(parse_with(
            &[
                "rich-init",
                "--rich",
                "--on-cmd-exit",
                "stay",
                "--stop-cmd",
                "last",
                "x",
            ],
            &[],
        ))
        .rich
        .expect("on");
        assert!(!r.cmd_exit_shuts_down && !r.stop_cmd_first);
        let line = error_line(parse_with(
            &["rich-init", "--rich", "--stop-cmd", "never", "x"],
            &[],
        ));
        assert!(
            line.contains("invalid --stop-cmd \"never\": use first or last"),
            "{line}"
        );
    }
}
