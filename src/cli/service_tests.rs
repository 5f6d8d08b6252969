use super::*;

fn run(words: &[&str]) -> Parsed {
    let mut argv = vec![OsString::from("/usr/sbin/service")];
    argv.extend(words.iter().map(OsString::from));
    parse(argv)
}

fn invocation(service: &str, action: Option<&str>, options: &[&str], full: bool) -> Parsed {
    Parsed::Service(Invocation::Run {
        service: service.into(),
        action: action.map(Into::into),
        options: options.iter().map(|o| o.to_string()).collect(),
        full_restart: full,
    })
}

#[test]
fn command_lines() {
    let usage = "Usage: service < option > | --status-all | [ service_name [ command | --full-restart ] ]\n";
    let cases: Vec<(&[&str], Parsed)> = vec![
        (&[], Parsed::stderr(1, usage)),
        (&["--help"], Parsed::stderr(0, usage)),
        (&["-h"], Parsed::stderr(0, usage)),
        (&["--hel"], Parsed::stderr(0, usage)),
        (&["cron", "start", "--help"], Parsed::stderr(0, usage)),
        (
            &["--version"],
            Parsed::stderr(0, "service ver. 1.65.2+deb12u1\n"),
        ),
        (&["-V"], Parsed::stderr(0, "service ver. 1.65.2+deb12u1\n")),
        (&["--status-all"], Parsed::Service(Invocation::StatusAll)),
        (
            &["--status-all", "x"],
            invocation("--status-all", Some("x"), &[], false),
        ),
        (&["cron"], invocation("cron", None, &[], false)),
        (
            &["cron", "start"],
            invocation("cron", Some("start"), &[], false),
        ),
        (
            &["cron", "start", "-v", "x"],
            invocation("cron", Some("start"), &["-v", "x"], false),
        ),
        (
            &["cron", "--full-restart"],
            invocation("cron", None, &[], true),
        ),
        (
            &["a", "b", "--full-restart"],
            invocation("b", None, &[], true),
        ),
    ];
    for (words, want) in cases {
        assert_eq!(run(words), want, "{words:?}");
    }
}

fn s(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn mapping_follows_service_8() {
    let script = Some("/etc/init.d/cron".to_string());
    let sd = Facts {
        systemd: true,
        script: script.clone(),
        can_reload: Some(true),
        system_running: true,
    };
    let sd_noscript = Facts {
        script: None,
        ..sd.clone()
    };
    let sd_noreload = Facts {
        can_reload: Some(false),
        ..sd.clone()
    };
    let sd_booting = Facts {
        system_running: false,
        ..sd.clone()
    };
    let sysv = Facts {
        systemd: false,
        ..sd.clone()
    };
    let sysv_none = Facts {
        systemd: false,
        script: None,
        ..sd.clone()
    };
    let ctl = |w: &[&str]| ServiceAction::Systemctl(s(w));
    let sh = |w: &[&str]| ServiceAction::Script("/etc/init.d/cron".into(), s(w));
    let unknown = ServiceAction::Unrecognized("cron".into());
    // (service, action, options, full restart, facts, expected)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a [&'a str],
        bool,
        &'a Facts,
        ServiceAction,
    );
    let cases: Vec<Case> = vec![
        (
            "cron",
            Some("start"),
            &[],
            false,
            &sd,
            ctl(&["start", "cron.service"]),
        ),
        (
            "cron",
            Some("stop"),
            &["-x"],
            false,
            &sd,
            ctl(&["stop", "cron.service"]),
        ),
        (
            "cron",
            Some("restart"),
            &[],
            false,
            &sd_noscript,
            ctl(&["restart", "cron.service"]),
        ),
        (
            "cron",
            Some("status"),
            &[],
            false,
            &sd,
            ctl(&["status", "cron.service"]),
        ),
        (
            "cron",
            Some("try-restart"),
            &[],
            false,
            &sd,
            ctl(&["try-restart", "cron.service"]),
        ),
        (
            "rc.sh",
            Some("start"),
            &[],
            false,
            &sd,
            ctl(&["start", "rc.service"]),
        ),
        (
            "cron",
            None,
            &[],
            true,
            &sd,
            ctl(&["restart", "cron.service"]),
        ),
        (
            "cron",
            Some("reload"),
            &[],
            false,
            &sd,
            ctl(&["reload", "cron.service"]),
        ),
        (
            "cron",
            Some("reload"),
            &[],
            false,
            &sd_booting,
            ctl(&["--no-block", "reload", "cron.service"]),
        ),
        (
            "cron",
            Some("reload"),
            &[],
            false,
            &sd_noreload,
            sh(&["reload"]),
        ),
        (
            "cron",
            Some("force-reload"),
            &[],
            false,
            &sd,
            ctl(&["reload", "cron.service"]),
        ),
        (
            "cron",
            Some("force-reload"),
            &[],
            false,
            &sd_noreload,
            ctl(&["restart", "cron.service"]),
        ),
        (
            "cron",
            Some("force-stop"),
            &[],
            false,
            &sd,
            ctl(&["--signal=KILL", "kill", "cron.service"]),
        ),
        (
            "cron",
            Some("rotate"),
            &["now"],
            false,
            &sd,
            sh(&["rotate", "now"]),
        ),
        ("cron", None, &[], false, &sd, sh(&[])),
        (
            "cron",
            Some("rotate"),
            &[],
            false,
            &sd_noscript,
            unknown.clone(),
        ),
        (
            "cron",
            Some("start"),
            &["-v"],
            false,
            &sysv,
            sh(&["start", "-v"]),
        ),
        (
            "cron",
            Some("status"),
            &[],
            false,
            &sysv_none,
            unknown.clone(),
        ),
        (
            "cron",
            None,
            &[],
            true,
            &sysv,
            ServiceAction::ScriptRestart("/etc/init.d/cron".into()),
        ),
        ("cron", None, &[], true, &sysv_none, unknown.clone()),
    ];
    for (name, action, options, full, facts, want) in cases {
        assert_eq!(
            plan(name, action, &s(options), full, facts),
            want,
            "{name} {action:?} {options:?} {full} {facts:?}"
        );
    }
    assert!(needs_can_reload(Some("reload"), false, true));
    assert!(needs_can_reload(Some("force-reload"), false, true));
    assert!(!needs_can_reload(Some("reload"), false, false));
    assert!(!needs_can_reload(Some("start"), false, true));
    assert!(!needs_can_reload(Some("reload"), true, true));
}

#[test]
fn script_environment_is_cleared_but_for_locale_path_and_term() {
    let env = |k: &str| match k {
        "PATH" => Some("/usr/bin:/bin".to_string()),
        "LANG" => Some("C.UTF-8".to_string()),
        "HOME" => Some("/root".to_string()),
        _ => None,
    };
    let got = script_env(&env);
    assert_eq!(got.len(), SCRIPT_ENV.len());
    assert!(got.contains(&("PATH".into(), "/usr/bin:/bin".into())));
    assert!(got.contains(&("LANG".into(), "C.UTF-8".into())));
    assert!(got.contains(&("TERM".into(), String::new())));
    assert!(!got.iter().any(|(k, _)| k == "HOME"));
}

#[test]
fn status_all() {
    let names = s(&[
        "ssh",
        "README",
        ".hidden",
        "cron",
        "rc",
        "x.dpkg-old",
        "Zed",
        "functions",
        "apache2",
    ]);
    assert_eq!(
        status_all_names(names),
        s(&["Zed", "apache2", "cron", "ssh"])
    );
    // (output, status, expected)
    let cases: &[(&[u8], i32, (i32, &str))] = &[
        (b"sshd is running.\n", 0, (1, " [ + ]  ssh\n")),
        (b"", 0, (1, " [ - ]  ssh\n")),
        (b"\n\n", 0, (1, " [ - ]  ssh\n")),
        (
            b"sshd is not running ... failed!\n",
            3,
            (1, " [ - ]  ssh\n"),
        ),
        (
            b"Usage: /etc/init.d/ssh {start|stop}\n",
            1,
            (2, " [ ? ]  ssh\n"),
        ),
        (b"USAGE: ssh start", 0, (2, " [ ? ]  ssh\n")),
    ];
    for (out, status, (fd, line)) in cases {
        assert_eq!(
            status_all_line("ssh", out, *status),
            (*fd, line.to_string()),
            "{out:?}"
        );
    }
}
