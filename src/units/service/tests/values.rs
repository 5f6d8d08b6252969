//! Table-driven tests of the value syntaxes and the [Service] directives, one case per
//! directive group; each cites the man page it follows.

use std::time::Duration;

use super::super::values;
use super::*;

/// SOFT and HARD of a resource limit; `None` is infinity.
type SoftHard = (Option<u64>, Option<u64>);

#[test]
fn timespans() {
    // systemd.time(7): units us ms s min h d w M y, components add up, bare number = seconds.
    let ms = Duration::from_millis;
    let cases: &[(&str, Option<Option<Duration>>)] = &[
        ("5s", Some(Some(SECS(5)))),
        ("1min 30s", Some(Some(SECS(90)))),
        ("1min30s", Some(Some(SECS(90)))),
        ("500ms", Some(Some(ms(500)))),
        ("90", Some(Some(SECS(90)))),
        ("1.5s", Some(Some(ms(1500)))),
        ("2h", Some(Some(SECS(7200)))),
        ("1d 2m", Some(Some(SECS(86400 + 120)))),
        ("1w", Some(Some(SECS(604_800)))),
        ("100us", Some(Some(Duration::from_micros(100)))),
        ("3 sec", Some(Some(SECS(3)))),
        ("infinity", Some(None)),
        ("", None),
        ("5 parsecs", None),
        ("s", None),
        ("-1s", None),
    ];
    for (text, want) in cases {
        assert_eq!(values::timespan(text).ok(), *want, "{text:?}");
    }
    // systemd.service(5), TimeoutStartSec=: 0 disables the timeout, as infinity does.
    assert_eq!(values::timeout("0"), Ok(None));
}

#[test]
fn booleans() {
    // systemd.syntax(7): 1/yes/true/on and 0/no/false/off.
    let cases: &[(&str, Option<bool>)] = &[
        ("1", Some(true)),
        ("yes", Some(true)),
        ("True", Some(true)),
        ("on", Some(true)),
        ("0", Some(false)),
        ("no", Some(false)),
        ("false", Some(false)),
        ("OFF", Some(false)),
        ("maybe", None),
        ("", None),
    ];
    for (text, want) in cases {
        assert_eq!(values::boolean(text).ok(), *want, "{text:?}");
    }
}

#[test]
fn service_directives() {
    // systemd.service(5), systemd.kill(5), systemd.exec(5): each directive's value, and
    // TimeoutSec= setting both timeouts; StartLimit* also from [Unit] (systemd.unit(5)).
    type Want = fn(&ServiceSection) -> bool;
    let cases: &[(&str, Want)] = &[
        ("PIDFile=/run/%i.pid", |s| {
            s.pid_file.as_deref() == Some("/run/blue.pid")
        }),
        ("RemainAfterExit=yes", |s| s.remain_after_exit),
        ("GuessMainPID=no", |s| !s.guess_main_pid),
        ("Restart=on-failure", |s| s.restart == Restart::OnFailure),
        ("Restart=on-success", |s| s.restart == Restart::OnSuccess),
        ("Restart=on-abnormal", |s| s.restart == Restart::OnAbnormal),
        ("Restart=on-watchdog", |s| s.restart == Restart::OnWatchdog),
        ("Restart=on-abort", |s| s.restart == Restart::OnAbort),
        ("Restart=always", |s| s.restart == Restart::Always),
        ("RestartSec=5", |s| s.restart_sec == SECS(5)),
        ("StartLimitIntervalSec=1min\nStartLimitBurst=3", |s| {
            s.start_limit_interval == SECS(60) && s.start_limit_burst == 3
        }),
        (
            "SuccessExitStatus=0 143 SIGTERM\nSuccessExitStatus=HUP",
            |s| s.success_exit_status.codes == [0, 143] && s.success_exit_status.signals == [15, 1],
        ),
        (
            "RestartPreventExitStatus=2\nRestartPreventExitStatus=\nRestartPreventExitStatus=3",
            |s| s.restart_prevent_exit_status.codes == [3],
        ),
        ("TimeoutStartSec=5min", |s| {
            s.timeout_start == Some(SECS(300))
        }),
        ("TimeoutStopSec=infinity", |s| s.timeout_stop.is_none()),
        ("TimeoutSec=10", |s| {
            s.timeout_start == Some(SECS(10)) && s.timeout_stop == Some(SECS(10))
        }),
        ("KillMode=mixed", |s| s.kill_mode == KillMode::Mixed),
        ("KillMode=process", |s| s.kill_mode == KillMode::Process),
        ("KillMode=none", |s| s.kill_mode == KillMode::None),
        ("KillSignal=SIGINT\nFinalKillSignal=QUIT", |s| {
            s.kill_signal == 2 && s.final_kill_signal == 3
        }),
        ("SendSIGKILL=no", |s| !s.send_sigkill),
        ("User=web\nGroup=www", |s| {
            s.user.as_deref() == Some("web") && s.group.as_deref() == Some("www")
        }),
        ("SupplementaryGroups=a b\nSupplementaryGroups=c", |s| {
            s.supplementary_groups == ["a", "b", "c"]
        }),
        ("PassEnvironment=TERM LANG", |s| {
            s.pass_environment == ["TERM", "LANG"]
        }),
        ("WorkingDirectory=-~", |s| {
            s.working_directory
                == Some(WorkingDirectory {
                    path: None,
                    optional: true,
                })
        }),
        ("WorkingDirectory=/srv/%i", |s| {
            s.working_directory.as_ref().and_then(|w| w.path.as_deref()) == Some("/srv/blue")
        }),
        ("RootDirectory=/srv/root", |s| {
            s.root_directory.as_deref() == Some("/srv/root")
        }),
        ("UMask=0077", |s| s.umask == 0o077),
        ("Nice=-5\nOOMScoreAdjust=-900", |s| {
            s.nice == Some(-5) && s.oom_score_adjust == Some(-900)
        }),
        ("SyslogIdentifier=web-%i", |s| {
            s.syslog_identifier.as_deref() == Some("web-blue")
        }),
        (
            "RuntimeDirectory=web web/sub\nRuntimeDirectoryMode=0750",
            |s| {
                s.runtime_directory.names == ["web", "web/sub"] && s.runtime_directory.mode == 0o750
            },
        ),
        (
            "StateDirectory=web\nCacheDirectory=web\nLogsDirectory=web\nConfigurationDirectory=web",
            |s| {
                [
                    &s.state_directory,
                    &s.cache_directory,
                    &s.logs_directory,
                    &s.configuration_directory,
                ]
                .iter()
                .all(|d| d.names == ["web"] && d.mode == 0o755)
            },
        ),
        ("NoNewPrivileges=yes\nPrivateTmp=true", |s| {
            s.no_new_privileges && s.private_tmp
        }),
        // systemd.exec(5), IgnoreSIGPIPE=: "Defaults to true"; systemd-sysv-generator(8)
        // units set it to no.
        ("", |s| s.ignore_sigpipe),
        ("IgnoreSIGPIPE=no", |s| !s.ignore_sigpipe),
        (
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=~CAP_SYS_ADMIN",
            |s| {
                s.capability_bounding_set
                    == [
                        Capabilities {
                            invert: false,
                            names: vec!["CAP_NET_BIND_SERVICE".into()],
                        },
                        Capabilities {
                            invert: true,
                            names: vec!["CAP_SYS_ADMIN".into()],
                        },
                    ]
            },
        ),
        ("AmbientCapabilities=CAP_A\nAmbientCapabilities=", |s| {
            s.ambient_capabilities.is_empty()
        }),
        (
            "EnvironmentFile=-/etc/default/web\nEnvironmentFile=/etc/web.env",
            |s| {
                s.environment_files
                    == [
                        EnvironmentFile {
                            path: "/etc/default/web".into(),
                            optional: true,
                        },
                        EnvironmentFile {
                            path: "/etc/web.env".into(),
                            optional: false,
                        },
                    ]
            },
        ),
    ];
    for (body, want) in cases {
        let unit = service(body);
        assert!(want(&unit.service), "{body:?}: {:#?}", unit.service);
        assert!(unit.warnings.is_empty(), "{body:?}: {:?}", unit.warnings);
    }
    let unit = loaded("[Unit]\nStartLimitBurst=9\n[Service]\nExecStart=/bin/x\n");
    assert_eq!(unit.service.start_limit_burst, 9);
}

#[test]
fn environment() {
    // systemd.exec(5), Environment=: quoted assignments, several per line, a later one wins,
    // the empty string resets; a word that is not NAME=value is a warning.
    let unit = service(
        "Environment=OLD=1\nEnvironment=\nEnvironment=\"A=one two\" B=2\n\
         Environment=B=3 C=%i\nEnvironment=notanassignment",
    );
    let pairs: Vec<(&str, &str)> = unit
        .service
        .environment
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(pairs, [("A", "one two"), ("B", "3"), ("C", "blue")]);
    assert_eq!(unit.warnings.len(), 1, "{:?}", unit.warnings);
}

#[test]
fn limits() {
    // systemd.exec(5), "Process Properties": SOFT:HARD or one value, infinity, sizes in base
    // 1024, LimitCPU= in seconds and LimitRTTIME= in microseconds; a later one wins.
    let cases: &[(&str, Option<SoftHard>)] = &[
        ("LimitNOFILE=1024:4096", Some((Some(1024), Some(4096)))),
        ("LimitNOFILE=65536", Some((Some(65536), Some(65536)))),
        ("LimitCORE=infinity", Some((None, None))),
        ("LimitAS=1G", Some((Some(1 << 30), Some(1 << 30)))),
        ("LimitMEMLOCK=64K:infinity", Some((Some(64 << 10), None))),
        ("LimitCPU=1min", Some((Some(60), Some(60)))),
        ("LimitRTTIME=1ms", Some((Some(1000), Some(1000)))),
        ("LimitNOFILE=lots", None),
        ("LimitNPROC=1K", None),
    ];
    for (body, want) in cases {
        let unit = service(body);
        let got = unit.service.limits.first().map(|l| (l.soft, l.hard));
        assert_eq!(got, *want, "{body:?}");
        assert_eq!(unit.warnings.is_empty(), want.is_some(), "{body:?}");
    }
    let unit = service("LimitNOFILE=1\nLimitNOFILE=2");
    assert_eq!(unit.service.limits.len(), 1);
    assert_eq!(unit.service.limits[0].name, "LimitNOFILE");
}

#[test]
fn outputs() {
    // systemd.exec(5), StandardOutput=: the named targets, file:/append:/truncate: PATH.
    let cases: &[(&str, Option<Output>)] = &[
        ("journal", Some(Output::Journal { console: false })),
        ("journal+console", Some(Output::Journal { console: true })),
        ("syslog", Some(Output::Syslog { console: false })),
        ("kmsg", Some(Output::Kmsg { console: false })),
        ("null", Some(Output::Null)),
        ("inherit", Some(Output::Inherit)),
        ("tty", Some(Output::Tty)),
        (
            "file:/var/log/%i.log",
            Some(Output::File("/var/log/blue.log".into())),
        ),
        (
            "append:/var/log/web.log",
            Some(Output::Append("/var/log/web.log".into())),
        ),
        (
            "truncate:/tmp/out",
            Some(Output::Truncate("/tmp/out".into())),
        ),
        ("file:relative", None),
        ("socket", None),
    ];
    for (value, want) in cases {
        let unit = service(&format!("StandardOutput={value}\nStandardError={value}"));
        let default = Output::Journal { console: false };
        let got = &unit.service.standard_output;
        assert_eq!(got, want.as_ref().unwrap_or(&default), "{value}");
        if let Some(want) = want {
            assert_eq!(&unit.service.standard_error, want, "{value}");
        }
        assert_eq!(
            unit.warnings.len(),
            if want.is_some() { 0 } else { 2 },
            "{value}"
        );
    }
}
