//! Table tests of systemctl's command line (systemctl(1), OPTIONS and COMMANDS).

use super::*;

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn cmd(verb: Verb, args: &[&str], opts: Options) -> Command {
    Command {
        verb,
        args: args.iter().map(|s| s.to_string()).collect(),
        opts,
    }
}

#[test]
fn good_command_lines() {
    let d = Options::default;
    let job = |v| Verb::Job(v);
    let cases: Vec<(&str, Command)> = vec![
        ("", cmd(Verb::ListUnits, &[], d())),
        (
            "start nginx",
            cmd(job(JobVerb::Start), &["nginx.service"], d()),
        ),
        (
            "start nginx cron.service getty@tty1 foo@ a.socket x.y",
            cmd(
                job(JobVerb::Start),
                &[
                    "nginx.service",
                    "cron.service",
                    "getty@tty1.service",
                    "foo@.service",
                    "a.socket",
                    "x.y.service",
                ],
                d(),
            ),
        ),
        (
            "--no-block restart nginx",
            cmd(
                job(JobVerb::Restart),
                &["nginx.service"],
                Options {
                    no_block: true,
                    ..d()
                },
            ),
        ),
        (
            "stop -q nginx --no-pager",
            cmd(
                job(JobVerb::Stop),
                &["nginx.service"],
                Options { quiet: true, ..d() },
            ),
        ),
        (
            "try-restart a",
            cmd(job(JobVerb::TryRestart), &["a.service"], d()),
        ),
        (
            "condrestart a",
            cmd(job(JobVerb::TryRestart), &["a.service"], d()),
        ),
        (
            "force-reload a",
            cmd(job(JobVerb::TryReloadOrRestart), &["a.service"], d()),
        ),
        (
            "reload-or-restart a",
            cmd(job(JobVerb::ReloadOrRestart), &["a.service"], d()),
        ),
        (
            "try-reload-or-restart a",
            cmd(job(JobVerb::TryReloadOrRestart), &["a.service"], d()),
        ),
        ("reload a", cmd(job(JobVerb::Reload), &["a.service"], d())),
        ("reset-failed", cmd(job(JobVerb::ResetFailed), &[], d())),
        (
            "kill nginx",
            cmd(
                job(JobVerb::Kill {
                    signal: 15,
                    whom: KillWhom::All,
                }),
                &["nginx.service"],
                d(),
            ),
        ),
        (
            "kill -s HUP --kill-whom=main nginx",
            cmd(
                job(JobVerb::Kill {
                    signal: 1,
                    whom: KillWhom::Main,
                }),
                &["nginx.service"],
                Options {
                    signal: 1,
                    whom: KillWhom::Main,
                    ..d()
                },
            ),
        ),
        (
            "kill -sSIGUSR1 --kill-who main nginx",
            cmd(
                job(JobVerb::Kill {
                    signal: 10,
                    whom: KillWhom::Main,
                }),
                &["nginx.service"],
                Options {
                    signal: 10,
                    whom: KillWhom::Main,
                    ..d()
                },
            ),
        ),
        (
            "kill --signal=9 nginx",
            cmd(
                job(JobVerb::Kill {
                    signal: 9,
                    whom: KillWhom::All,
                }),
                &["nginx.service"],
                Options { signal: 9, ..d() },
            ),
        ),
        ("daemon-reload", cmd(Verb::DaemonReload, &[], d())),
        ("status", cmd(Verb::Status, &[], d())),
        (
            "status nginx -n 5 --full",
            cmd(
                Verb::Status,
                &["nginx.service"],
                Options { lines: 5, ..d() },
            ),
        ),
        (
            "status nginx --lines=0 -l",
            cmd(
                Verb::Status,
                &["nginx.service"],
                Options { lines: 0, ..d() },
            ),
        ),
        ("status nginx*", cmd(Verb::Status, &["nginx*"], d())),
        (
            "is-active -q a b",
            cmd(
                Verb::IsActive,
                &["a.service", "b.service"],
                Options { quiet: true, ..d() },
            ),
        ),
        (
            "is-enabled --quiet a",
            cmd(
                Verb::IsEnabled,
                &["a.service"],
                Options { quiet: true, ..d() },
            ),
        ),
        ("is-failed", cmd(Verb::IsFailed, &[], d())),
        ("is-system-running", cmd(Verb::IsSystemRunning, &[], d())),
        (
            "show a -p MainPID,ActiveState -p Id --value",
            cmd(
                Verb::Show,
                &["a.service"],
                Options {
                    properties: vec!["MainPID".into(), "ActiveState".into(), "Id".into()],
                    value: true,
                    ..d()
                },
            ),
        ),
        (
            "show --property=Id a",
            cmd(
                Verb::Show,
                &["a.service"],
                Options {
                    properties: vec!["Id".into()],
                    ..d()
                },
            ),
        ),
        ("cat cron", cmd(Verb::Cat, &["cron.service"], d())),
        (
            "list-units --type=service --state=running,failed --all nginx*",
            cmd(
                Verb::ListUnits,
                &["nginx*"],
                Options {
                    types: vec!["service".into()],
                    states: vec!["running".into(), "failed".into()],
                    all: true,
                    ..d()
                },
            ),
        ),
        (
            "list-units -t service -a --plain --no-legend",
            cmd(
                Verb::ListUnits,
                &[],
                Options {
                    types: vec!["service".into()],
                    all: true,
                    plain: true,
                    legend: false,
                    ..d()
                },
            ),
        ),
        (
            "-aq",
            cmd(
                Verb::ListUnits,
                &[],
                Options {
                    all: true,
                    quiet: true,
                    ..d()
                },
            ),
        ),
        (
            "list-unit-files cron",
            cmd(Verb::ListUnitFiles, &["cron"], d()),
        ),
        (
            "enable --now nginx",
            cmd(
                Verb::Enable,
                &["nginx.service"],
                Options { now: true, ..d() },
            ),
        ),
        (
            "disable nginx --now --no-reload",
            cmd(
                Verb::Disable,
                &["nginx.service"],
                Options { now: true, ..d() },
            ),
        ),
        ("mask a", cmd(Verb::Mask, &["a.service"], d())),
        // deb-systemd-helper's call on a package's first installation.
        (
            "--root=/ --system --preset-mode=enable-only preset redis-server.service",
            cmd(
                Verb::Preset,
                &["redis-server.service"],
                Options {
                    root: Some("/".into()),
                    preset_mode: Some("enable-only".into()),
                    ..d()
                },
            ),
        ),
        ("unmask a", cmd(Verb::Unmask, &["a.service"], d())),
        (
            "--system --no-ask-password -f enable a",
            cmd(Verb::Enable, &["a.service"], d()),
        ),
        (
            "start -- -weird",
            cmd(job(JobVerb::Start), &["-weird.service"], d()),
        ),
        (
            "--legend=no list-units",
            cmd(
                Verb::ListUnits,
                &[],
                Options {
                    legend: false,
                    ..d()
                },
            ),
        ),
        ("--help", cmd(Verb::Help, &[], d())),
        ("start --version", cmd(Verb::Version, &[], d())),
    ];
    for (line, want) in cases {
        assert_eq!(parse(&words(line)), Ok(want), "{line}");
    }
}

#[test]
fn bad_command_lines() {
    let cases = [
        ("frobnicate", "Unknown command verb 'frobnicate'."),
        (
            "start --bogus a",
            "systemctl: unrecognized option '--bogus'",
        ),
        (
            "start --bogus=1 a",
            "systemctl: unrecognized option '--bogus=1'",
        ),
        ("start -x a", "systemctl: invalid option -- 'x'"),
        ("-qz start a", "systemctl: invalid option -- 'z'"),
        ("kill a -s", "systemctl: option requires an argument -- 's'"),
        (
            "kill a --signal",
            "systemctl: option '--signal' requires an argument",
        ),
        ("kill -s NOPE a", "Failed to parse signal string NOPE."),
        (
            "kill --kill-whom=everyone a",
            "Unknown kill whom \"everyone\": use main, control or all.",
        ),
        ("status -n many a", "Failed to parse lines 'many'"),
        (
            "start --quiet=yes a",
            "systemctl: option '--quiet' doesn't allow an argument",
        ),
        ("start", "Too few arguments."),
        ("kill", "Too few arguments."),
        ("is-active", "Too few arguments."),
        ("enable", "Too few arguments."),
        ("daemon-reload now", "Too many arguments."),
        ("is-system-running x", "Too many arguments."),
    ];
    for (line, want) in cases {
        let got = parse(&words(line)).map_err(|e| e.to_string());
        assert_eq!(got, Err(want.to_string()), "{line}");
    }
}

#[test]
fn glob_matching() {
    let cases = [
        ("*", "nginx.service", true),
        ("nginx*", "nginx.service", true),
        ("nginx*", "cron.service", false),
        ("*.socket", "dbus.socket", true),
        ("*.socket", "dbus.service", false),
        ("getty@tty?.service", "getty@tty1.service", true),
        ("getty@tty?.service", "getty@tty10.service", false),
        ("[ab]*", "b.service", true),
        ("[!ab]*", "b.service", false),
        ("[a-c].service", "c.service", true),
        ("[]x].service", "].service", true),
        ("a\\*", "a*", true),
        ("a\\*", "ab", false),
        ("[abc", "[abc", true),
        ("", "", true),
        ("", "a", false),
    ];
    for (pattern, text, want) in cases {
        assert_eq!(glob_match(pattern, text), want, "{pattern} ~ {text}");
    }
}
