//! Table-driven tests of one service file: every key's good and bad values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const FILE: &str = "services.d/crond.toml";
const CMD: &str = "command = [\"/usr/sbin/crond\", \"-f\"]\n";

/// The test probe: every program exists except those whose name says "missing".
fn exists(program: &str) -> bool {
    !program.contains("missing")
}

fn parse(text: &str) -> Result<Service, Vec<ConfigError>> {
    parse_service("crond", Path::new(FILE), text, &exists)
}

fn lines(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(s) => vec![format!("parsed: {s:?}")],
        Err(errors) => errors.iter().map(ConfigError::to_string).collect(),
    }
}

fn defaults() -> Service {
    Service {
        name: "crond".into(),
        file: PathBuf::from(FILE),
        command: Command::Argv(vec!["/usr/sbin/crond".into(), "-f".into()]),
        user: None,
        group: None,
        restart: Restart::Always,
        restart_delay: Duration::from_secs(1),
        restart_delay_max: Duration::from_secs(30),
        after: Vec::new(),
        ready: Ready::Started,
        stop_signal: 15,
        stop_timeout: Duration::from_secs(5),
        log: LogTarget::Prefix,
        critical: false,
        working_dir: None,
        env: BTreeMap::new(),
        umask: None,
        no_new_privs: false,
        listen: Vec::new(),
        fd_store_max: 0,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn good_values() {
    type Case = (&'static str, fn(&mut Service));
    let cases: &[Case] = &[
        ("", |_| {}),
        ("command = \"crond -f\"", |s| {
            s.command = Command::Shell("crond -f".into())
        }),
        ("command = [\"crond\"]", |s| {
            s.command = Command::Argv(vec!["crond".into()])
        }),
        ("user = \"daemon\"", |s| {
            s.user = Some(IdSpec::Name("daemon".into()))
        }),
        ("user = 0", |s| s.user = Some(IdSpec::Id(0))),
        ("user = \"1000\"", |s| s.user = Some(IdSpec::Id(1000))),
        ("group = \"cron\"", |s| {
            s.group = Some(IdSpec::Name("cron".into()))
        }),
        ("group = 4294967294", |s| {
            s.group = Some(IdSpec::Id(4294967294))
        }),
        ("restart = \"always\"", |_| {}),
        ("restart = \"on-failure\"", |s| {
            s.restart = Restart::OnFailure
        }),
        ("restart = \"never\"", |s| s.restart = Restart::Never),
        ("restart-delay = \"250ms\"", |s| s.restart_delay = ms(250)),
        // a longer first delay raises the default maximum with it
        ("restart-delay = \"1m\"", |s| {
            s.restart_delay = ms(60_000);
            s.restart_delay_max = ms(60_000);
        }),
        ("restart-delay-max = \"1m30s\"", |s| {
            s.restart_delay_max = ms(90_000)
        }),
        ("restart-delay = \"2s\"\nrestart-delay-max = \"2s\"", |s| {
            s.restart_delay = ms(2_000);
            s.restart_delay_max = ms(2_000);
        }),
        ("after = [\"syslogd\", \"klogd\", \"syslogd\"]", |s| {
            s.after = vec!["syslogd".into(), "klogd".into()]
        }),
        ("after = []", |_| {}),
        (
            "ready = { command = [\"/bin/test\", \"-S\", \"/dev/log\"] }",
            |s| {
                s.ready = Ready::Command {
                    command: Command::Argv(vec![
                        "/bin/test".into(),
                        "-S".into(),
                        "/dev/log".into(),
                    ]),
                    interval: ms(100),
                    timeout: ms(10_000),
                }
            },
        ),
        (
            "ready = { command = \"test -S /dev/log\", interval = \"50ms\", timeout = \"3s\" }",
            |s| {
                s.ready = Ready::Command {
                    command: Command::Shell("test -S /dev/log".into()),
                    interval: ms(50),
                    timeout: ms(3_000),
                }
            },
        ),
        ("ready = { notify = true }", |s| {
            s.ready = Ready::Notify {
                timeout: ms(10_000),
            }
        }),
        ("ready = { notify = true, timeout = \"1m\" }", |s| {
            s.ready = Ready::Notify {
                timeout: ms(60_000),
            }
        }),
        ("[ready]\nnotify = true", |s| {
            s.ready = Ready::Notify {
                timeout: ms(10_000),
            }
        }),
        ("stop-signal = \"HUP\"", |s| s.stop_signal = 1),
        ("stop-signal = \"SIGQUIT\"", |s| s.stop_signal = 3),
        ("stop-signal = \"RTMIN+1\"", |s| s.stop_signal = 35),
        ("stop-signal = 9", |s| s.stop_signal = 9),
        ("stop-timeout = \"0\"", |s| s.stop_timeout = Duration::ZERO),
        ("stop-timeout = \"1m30s\"", |s| s.stop_timeout = ms(90_000)),
        ("log = \"syslog\"", |s| s.log = LogTarget::Syslog),
        ("log = \"inherit\"", |s| s.log = LogTarget::Inherit),
        ("log = \"none\"", |s| s.log = LogTarget::None),
        ("log = \"/var/log/crond.log\"", |s| {
            s.log = LogTarget::File("/var/log/crond.log".into())
        }),
        ("critical = true", |s| s.critical = true),
        ("working-dir = \"/var/spool/cron\"", |s| {
            s.working_dir = Some("/var/spool/cron".into())
        }),
        ("env = { TZ = \"UTC\", \"X.Y\" = \"\" }", |s| {
            s.env = [("TZ".into(), "UTC".into()), ("X.Y".into(), String::new())].into()
        }),
        ("umask = \"022\"", |s| s.umask = Some(0o022)),
        ("umask = \"0777\"", |s| s.umask = Some(0o777)),
        ("umask = \"0\"", |s| s.umask = Some(0)),
        ("no-new-privs = true", |s| s.no_new_privs = true),
        ("fd-store-max = 0", |_| {}),
        ("fd-store-max = 16", |s| s.fd_store_max = 16),
        ("fd-store-max = 4096", |s| s.fd_store_max = 4096),
    ];
    for (extra, change) in cases {
        // a later `command` line replaces the default one
        let text = if extra.starts_with("command") {
            extra.to_string()
        } else {
            format!("{CMD}{extra}")
        };
        let mut want = defaults();
        change(&mut want);
        assert_eq!(parse(&text), Ok(want), "{extra}");
    }
}

#[test]
fn bad_values() {
    let f = FILE;
    let cases: &[(&str, &[&str])] = &[
        ("user = \"\"", &["key \"user\": is empty; give a name or a number, or leave the key out"]),
        ("user = \"a b\"", &["key \"user\": \"a b\" is not a user name or number; give a name from /etc/passwd or a number"]),
        ("user = -1", &["key \"user\": -1 is not a valid user id; ids are 0 to 4294967294"]),
        ("group = \"4294967295\"", &["key \"group\": 4294967295 is not a valid group id; ids are 0 to 4294967294"]),
        ("group = true", &["key \"group\": expected a name or a number, found a boolean"]),
        ("restart = \"sometimes\"", &["key \"restart\": \"sometimes\" is not one of always, on-failure, never"]),
        ("restart = 1", &["key \"restart\": expected a string, found an integer"]),
        ("restart-delay = \"0s\"", &["key \"restart-delay\": \"0s\" is zero, which makes no sense here; give a positive duration like \"100ms\""]),
        ("restart-delay = 5", &["key \"restart-delay\": expected a duration string like \"5s\", found an integer"]),
        ("restart-delay = \"5\"", &["key \"restart-delay\": \"5\" has no unit; write it as \"5s\" or \"5ms\" (units: h, m, s, ms)"]),
        ("restart-delay = \"2s\"\nrestart-delay-max = \"1s\"", &["key \"restart-delay-max\": 1s is shorter than restart-delay 2s; make restart-delay-max at least restart-delay"]),
        ("restart-delay-max = \"1.5s\"", &["key \"restart-delay-max\": \"1.5s\" has a fraction; use a smaller unit instead (\"1500ms\", not \"1.5s\")"]),
        ("after = \"syslogd\"", &["key \"after\": expected an array of service names, found a string"]),
        ("after = [\"crond\"]", &["key \"after\": the service lists itself; remove \"crond\""]),
        ("after = [1, \"a b\"]", &[
            "key \"after\": expected an array of service names, found an integer",
            "key \"after\": \"a b\" is not a service name; service names are file names without \".toml\"",
        ]),
        ("ready = true", &["key \"ready\": expected a table like { command = [...], timeout = \"10s\" }, found a boolean"]),
        ("ready = {}", &["key \"ready\": needs either command = [...] or notify = true"]),
        ("ready = { notify = false }", &["key \"ready\": needs either command = [...] or notify = true"]),
        ("ready = { notify = true, command = [\"/bin/true\"] }", &["key \"ready\": has both command and notify; keep one"]),
        ("ready = { notify = \"yes\", timeout = \"0s\", every = 1 }", &[
            "key \"ready.every\": unknown key; the keys are command, interval, notify, timeout",
            "key \"ready.notify\": expected true or false, found a string",
            "key \"ready.timeout\": \"0s\" is zero, which makes no sense here; give a positive duration like \"100ms\"",
        ]),
        ("ready = { command = [\"/bin/missing-test\"], interval = \"0\" }", &[
            "key \"ready.command\": program \"/bin/missing-test\" not found; install it in the image or fix the path (names without / are looked up in PATH)",
            "key \"ready.interval\": \"0\" is zero, which makes no sense here; give a positive duration like \"100ms\"",
        ]),
        ("ready = { notify = true, interval = \"1s\" }", &["key \"ready.interval\": applies to ready checks by command only; remove it"]),
        ("stop-signal = \"TERMINATE\"", &["key \"stop-signal\": \"TERMINATE\" is not a signal; give a name like \"TERM\" or \"SIGHUP\", or a number"]),
        ("stop-signal = 65", &["key \"stop-signal\": 65 is not a signal number; signals are 1 to 64"]),
        ("stop-signal = 1.5", &["key \"stop-signal\": expected a signal name or number, found a float"]),
        ("stop-timeout = \"5 s\"", &["key \"stop-timeout\": \"5 s\" is not a duration; write whole numbers with units, largest first, as in \"1m30s\" or \"250ms\""]),
        ("log = \"file\"", &["key \"log\": \"file\" is not one of prefix, syslog, inherit, none, or an absolute path"]),
        ("log = \"var/log/x\"", &["key \"log\": \"var/log/x\" is not one of prefix, syslog, inherit, none, or an absolute path"]),
        ("critical = \"yes\"", &["key \"critical\": expected true or false, found a string"]),
        ("working-dir = \"spool\"", &["key \"working-dir\": \"spool\" is not an absolute path; start it with /"]),
        ("working-dir = [\"/\"]", &["key \"working-dir\": expected a string, found an array"]),
        ("env = [\"A=1\"]", &["key \"env\": expected a table like { NAME = \"value\" }, found an array"]),
        ("env = { A = 1, \"B=C\" = \"x\", D = \"a\\u0000b\" }", &[
            "key \"env.A\": expected a string (quote numbers and booleans), found an integer",
            "key \"env.B=C\": \"B=C\" is not a variable name; names have no '=' and are not empty",
            "key \"env.D\": contains a NUL byte; remove it",
        ]),
        ("umask = 22", &["key \"umask\": expected an octal string like \"022\", found an integer"]),
        ("umask = \"089\"", &["key \"umask\": \"089\" is not an octal umask; write three or four octal digits, like \"022\""]),
        ("umask = \"1777\"", &["key \"umask\": \"1777\" is not an octal umask; write three or four octal digits, like \"022\""]),
        ("no-new-privs = 1", &["key \"no-new-privs\": expected true or false, found an integer"]),
        ("fd-store-max = -1", &["key \"fd-store-max\": -1 is not a descriptor count; give an integer from 0 to 4096"]),
        ("fd-store-max = 4097", &["key \"fd-store-max\": 4097 is not a descriptor count; give an integer from 0 to 4096"]),
        ("fd-store-max = \"8\"", &["key \"fd-store-max\": expected an integer, found a string"]),
        ("restrat = \"never\"", &["key \"restrat\": unknown key; the keys are after, command, critical, env, fd-store-max, group, listen, log, no-new-privs, ready, restart, restart-delay, restart-delay-max, stop-signal, stop-timeout, umask, user, working-dir"]),
    ];
    for (extra, want) in cases {
        let want: Vec<String> = want.iter().map(|w| format!("{f}: {w}")).collect();
        assert_eq!(lines(&format!("{CMD}{extra}")), want, "{extra}");
    }
}

#[test]
fn bad_commands() {
    let cases: &[(&str, &str)] = &[
        ("", "key \"command\": missing; every service needs one, like command = [\"/usr/sbin/crond\", \"-f\"]"),
        ("command = []", "key \"command\": is empty; give the program and its arguments, like command = [\"/usr/sbin/crond\", \"-f\"]"),
        ("command = [\"\"]", "key \"command\": is empty; give the program and its arguments, like command = [\"/usr/sbin/crond\", \"-f\"]"),
        ("command = \"  \"", "key \"command\": is empty; give the program and its arguments, like command = [\"/usr/sbin/crond\", \"-f\"]"),
        ("command = 7", "key \"command\": expected an array of strings or a string, found an integer"),
        ("command = [\"/bin/x\", 1]", "key \"command\": expected an array of strings or a string, found an integer"),
        ("command = [\"/bin/x\", \"a\\u0000\"]", "key \"command\": contains a NUL byte; remove it"),
        ("command = [\"/usr/sbin/missing-crond\", \"-f\"]", "key \"command\": program \"/usr/sbin/missing-crond\" not found; install it in the image or fix the path (names without / are looked up in PATH)"),
        ("command = [\"missing-crond\"]", "key \"command\": program \"missing-crond\" not found; install it in the image or fix the path (names without / are looked up in PATH)"),
        ("command = [\"./crond\"]", "key \"command\": \"./crond\" is not an absolute path or a name; give the program's absolute path, like \"/usr/sbin/crond\""),
        ("command = [\"/bin/x\"", "line 1, column 20: unclosed array, expected `]`; fix the TOML syntax"),
        ("command = [\"/bin/x\"]\ncommand = [\"/bin/y\"]", "line 2, column 1: duplicate key; fix the TOML syntax"),
    ];
    for (text, want) in cases {
        assert_eq!(lines(text), vec![format!("{FILE}: {want}")], "{text}");
    }
    // a shell command needs /bin/sh
    let no_sh = |p: &str| p != "/bin/sh";
    let got = parse_service("x", Path::new("x.toml"), "command = \"true\"", &no_sh);
    let got: Vec<String> = got
        .err()
        .unwrap_or_default()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(got, ["x.toml: key \"command\": program \"/bin/sh\" not found; install it in the image or fix the path (names without / are looked up in PATH)"]);
}

#[test]
fn every_error_of_a_file_at_once_by_key() {
    let text = "restart = \"sometimes\"\nafter = [\"crond\"]\nbogus = 1\nlog = 3\n";
    let want = [
        "key \"after\": the service lists itself; remove \"crond\"",
        "key \"bogus\": unknown key; the keys are after, command, critical, env, fd-store-max, group, listen, log, no-new-privs, ready, restart, restart-delay, restart-delay-max, stop-signal, stop-timeout, umask, user, working-dir",
        "key \"command\": missing; every service needs one, like command = [\"/usr/sbin/crond\", \"-f\"]",
        "key \"log\": expected a string, found an integer",
        "key \"restart\": \"sometimes\" is not one of always, on-failure, never",
    ];
    let mut got = parse(text).err().unwrap_or_default();
    super::error::sort(&mut got);
    let got: Vec<String> = got.iter().map(ConfigError::to_string).collect();
    let want: Vec<String> = want.iter().map(|w| format!("{FILE}: {w}")).collect();
    assert_eq!(got, want);
}

#[test]
fn bad_names() {
    for name in ["", ".hidden", "a b", "a/b", "ü"] {
        let got = parse_service(name, Path::new("f.toml"), CMD, &exists);
        let got: Vec<String> = got
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.to_string())
            .collect();
        let want = format!("f.toml: {name:?} is not a usable service name; name the file with letters, digits, '-', '_', '.' or '@' before \".toml\"");
        assert_eq!(got, [want], "{name}");
    }
    for name in ["crond", "getty@tty1", "rsyslog.d", "a_b-c"] {
        assert!(valid_name(name), "{name}");
    }
}
