//! Table-driven tests of `units::service`; each case cites the man page it follows.

use std::time::Duration;

use super::values::Check;
use super::*;

mod values;

fn ctx() -> Context {
    Context::system("web@blue.service", "box")
}

fn load(text: &str) -> Result<ServiceUnit, ServiceError> {
    let file = UnitFile::parse(text).expect("test unit text parses");
    ServiceUnit::from_file(&file, &ctx())
}

fn loaded(text: &str) -> ServiceUnit {
    load(text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"))
}

fn service(body: &str) -> ServiceUnit {
    loaded(&format!("[Service]\nExecStart=/bin/true\n{body}"))
}

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn defaults() {
    // systemd.service(5): Type=simple, Restart=no, RestartSec=100ms, GuessMainPID=yes;
    // systemd-system.conf(5): DefaultTimeoutStartSec=/StopSec=90s, start limit 10s/5;
    // systemd.kill(5): KillMode=control-group, KillSignal=SIGTERM, SendSIGKILL=yes,
    // FinalKillSignal=SIGKILL; systemd.exec(5): UMask=0022, StandardOutput=journal
    // (DefaultStandardOutput), StandardError=inherit.
    let unit = service("");
    let s = &unit.service;
    assert_eq!(s.kind, ServiceType::Simple);
    assert_eq!(s.restart, Restart::No);
    assert_eq!(s.restart_sec, Duration::from_millis(100));
    assert_eq!(
        (s.timeout_start, s.timeout_stop),
        (Some(SECS(90)), Some(SECS(90)))
    );
    assert_eq!((s.start_limit_interval, s.start_limit_burst), (SECS(10), 5));
    assert_eq!(s.kill_mode, KillMode::ControlGroup);
    assert_eq!(
        (s.kill_signal, s.final_kill_signal),
        (libc::SIGTERM, libc::SIGKILL)
    );
    assert!(s.send_sigkill && s.guess_main_pid && !s.remain_after_exit);
    assert_eq!(s.umask, 0o022);
    assert_eq!(s.standard_output, Output::Journal { console: false });
    assert_eq!(s.standard_error, Output::Inherit);
    assert_eq!(s.notify_access, NotifyAccess::None);
    assert_eq!(s.exec_start[0].args, ["/bin/true"]);
    assert!(unit.warnings.is_empty(), "{:?}", unit.warnings);
    assert_eq!(unit.name, "web@blue.service");
}

#[test]
fn unit_lists_append_and_reset() {
    // systemd.unit(5): dependency lists are space-separated, each assignment appends, the
    // empty string resets; specifiers resolve in unit names.
    let unit = loaded(
        "[Unit]\nDescription=Web %i\nAfter=a.service b.service\nAfter=c.service\n\
         Wants=x.service\nWants=\nWants=db@%i.service\nRequires=r.service\n\
         BindsTo=b.service\nPartOf=p.target\nConflicts=shutdown.target\nBefore=z.service\n\
         Documentation=man:web(8) https://example.org\n[Service]\nExecStart=/bin/web\n",
    );
    let u = &unit.unit;
    assert_eq!(u.description.as_deref(), Some("Web %i"));
    assert_eq!(u.after, ["a.service", "b.service", "c.service"]);
    assert_eq!(u.wants, ["db@blue.service"]);
    assert_eq!(u.requires, ["r.service"]);
    assert_eq!(u.binds_to, ["b.service"]);
    assert_eq!(u.part_of, ["p.target"]);
    assert_eq!(u.conflicts, ["shutdown.target"]);
    assert_eq!(u.before, ["z.service"]);
    assert_eq!(u.documentation, ["man:web(8)", "https://example.org"]);
    assert!(unit.warnings.is_empty(), "{:?}", unit.warnings);
}

#[test]
fn conditions_are_data() {
    // systemd.unit(5), "Conditions and Asserts": `|` triggers, `!` negates, the empty
    // string resets the list; conditions are kept, not evaluated.
    let c = |check, trigger, negate, value: &str| Condition {
        check,
        trigger,
        negate,
        value: value.to_string(),
    };
    let unit = loaded(
        "[Unit]\nConditionPathExists=/gone\nConditionPathExists=\n\
         ConditionPathExists=!/etc/disabled\nConditionPathIsDirectory=|/srv/%i\n\
         ConditionFileNotEmpty=| !/etc/web.conf\nConditionVirtualization=container\n\
         ConditionFileIsExecutable=/bin/web\nConditionDirectoryNotEmpty=/srv\n\
         ConditionPathExistsGlob=/dev/tty*\nAssertPathIsDirectory=/run\n\
         ConditionPathExists=relative\n[Service]\nExecStart=/bin/web\n",
    );
    assert_eq!(
        unit.unit.conditions,
        [
            c(Check::PathExists, false, true, "/etc/disabled"),
            c(Check::PathIsDirectory, true, false, "/srv/blue"),
            c(Check::FileNotEmpty, true, true, "/etc/web.conf"),
            c(Check::Virtualization, false, false, "container"),
            c(Check::FileIsExecutable, false, false, "/bin/web"),
            c(Check::DirectoryNotEmpty, false, false, "/srv"),
            c(Check::PathExistsGlob, false, false, "/dev/tty*"),
        ]
    );
    assert_eq!(
        unit.unit.asserts,
        [c(Check::PathIsDirectory, false, false, "/run")]
    );
    // The relative path is one invalid-value warning.
    assert!(
        matches!(&unit.warnings[..], [Warning::Invalid { key, .. }] if key == "ConditionPathExists")
    );
}

#[test]
fn types() {
    // systemd.service(5), Type=: dbus behaves as simple here, with a warning; a bad value is
    // ignored with a warning (the default stays).
    let cases: &[(&str, ServiceType, usize)] = &[
        ("simple", ServiceType::Simple, 0),
        ("exec", ServiceType::Exec, 0),
        ("forking", ServiceType::Forking, 0),
        ("oneshot", ServiceType::Oneshot, 0),
        ("notify", ServiceType::Notify, 0),
        ("idle", ServiceType::Idle, 0),
        ("dbus", ServiceType::Simple, 1),
        ("daemon", ServiceType::Simple, 1),
    ];
    for (value, kind, warnings) in cases {
        let unit = service(&format!("Type={value}"));
        assert_eq!(unit.service.kind, *kind, "{value}");
        assert_eq!(
            unit.warnings.len(),
            *warnings,
            "{value}: {:?}",
            unit.warnings
        );
    }
    // NotifyAccess=: Type=notify without it means main.
    assert_eq!(
        service("Type=notify").service.notify_access,
        NotifyAccess::Main
    );
    assert_eq!(
        service("Type=notify\nNotifyAccess=all")
            .service
            .notify_access,
        NotifyAccess::All
    );
}

#[test]
fn file_descriptor_store_max() {
    // systemd.service(5), FileDescriptorStoreMax=: default 0; a store needs the notify
    // socket, so NotifyAccess= defaults to main with one (systemd's service_add_extras).
    let cases: &[(&str, u32, NotifyAccess, usize)] = &[
        ("", 0, NotifyAccess::None, 0),
        ("FileDescriptorStoreMax=0", 0, NotifyAccess::None, 0),
        ("FileDescriptorStoreMax=16", 16, NotifyAccess::Main, 0),
        (
            "FileDescriptorStoreMax=16\nNotifyAccess=all",
            16,
            NotifyAccess::All,
            0,
        ),
        ("FileDescriptorStoreMax=4097", 0, NotifyAccess::None, 1),
        ("FileDescriptorStoreMax=many", 0, NotifyAccess::None, 1),
    ];
    for (body, max, access, warnings) in cases {
        let unit = service(body);
        assert_eq!(unit.service.fd_store_max, *max, "{body}");
        assert_eq!(unit.service.notify_access, *access, "{body}");
        assert_eq!(
            unit.warnings.len(),
            *warnings,
            "{body}: {:?}",
            unit.warnings
        );
    }
}

#[test]
fn exec_lists() {
    // systemd.service(5): ExecStartPre= etc. take several lines in order, the empty string
    // resets, prefixes are kept (exec.rs); an invalid line is ignored with a warning.
    let unit = service(
        "ExecStartPre=-/bin/mkdir -p /run/web\nExecStartPre=+/bin/chown web /run/web\n\
         ExecStartPost=/bin/post\nExecCondition=/bin/check\nExecReload=/bin/kill -HUP $MAINPID\n\
         ExecStop=/bin/old\nExecStop=\nExecStop=/bin/stop\nExecStopPost=/bin/clean\n\
         ExecStopPost=bad/relative",
    );
    let s = &unit.service;
    assert_eq!(s.exec_start_pre.len(), 2);
    assert!(s.exec_start_pre[0].prefixes.ignore_failure);
    assert_eq!(s.exec_start_pre[1].args, ["/bin/chown", "web", "/run/web"]);
    assert_eq!(s.exec_start_post[0].path, "/bin/post");
    assert_eq!(s.exec_condition[0].path, "/bin/check");
    assert_eq!(s.exec_reload[0].args, ["/bin/kill", "-HUP", "$MAINPID"]);
    assert_eq!(s.exec_stop.len(), 1);
    assert_eq!(s.exec_stop[0].path, "/bin/stop");
    assert_eq!(s.exec_stop_post.len(), 1);
    assert!(matches!(&unit.warnings[..], [Warning::Invalid { key, .. }] if key == "ExecStopPost"));
}

#[test]
fn refusals() {
    // systemd.service(5), ExecStart=: "Unless Type= is oneshot, exactly one command must be
    // given"; oneshot may have none if it has ExecStop= and RemainAfterExit=yes (systemd's
    // service_verify: "Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.").
    type Want = fn(&Result<ServiceUnit, ServiceError>) -> bool;
    let cases: &[(&str, Want)] = &[
        ("Type=simple", |r| {
            matches!(r, Err(ServiceError::NothingToRun { .. }))
        }),
        ("", |r| matches!(r, Err(ServiceError::NothingToRun { .. }))),
        ("Type=simple\nExecStop=/bin/x", |r| {
            matches!(r, Err(ServiceError::NoExecStart { .. }))
        }),
        ("Type=oneshot\nExecStop=/bin/x", |r| {
            matches!(r, Err(ServiceError::NoExecStartNoRemain { .. }))
        }),
        ("ExecStop=/bin/x", |r| {
            matches!(r, Err(ServiceError::NoExecStartNoRemain { .. }))
        }),
        (
            "ExecStop=/bin/x\nRemainAfterExit=yes",
            |r| matches!(r, Ok(u) if u.service.kind == ServiceType::Oneshot),
        ),
        ("ExecStart=/a\nExecStart=/b", |r| {
            matches!(r, Err(ServiceError::SeveralExecStart { count: 2, .. }))
        }),
        (
            "Type=oneshot\nExecStart=/a\nExecStart=/b",
            |r| matches!(r, Ok(u) if u.service.exec_start.len() == 2),
        ),
        (
            "ExecStart=/a\nExecStart=\nExecStart=/b",
            |r| matches!(r, Ok(u) if u.service.exec_start[0].path == "/b"),
        ),
        ("ExecStart=rel/prog", |r| {
            matches!(r, Err(ServiceError::BadExecStart { line: 2, .. }))
        }),
        (
            "ExecStart=/bin/ok\nExecStart=rel/prog",
            |r| matches!(r, Ok(u) if u.warnings.len() == 1),
        ),
    ];
    for (body, want) in cases {
        let result = load(&format!("[Service]\n{body}\n"));
        assert!(want(&result), "{body:?}: {result:?}");
    }
}

#[test]
fn warnings() {
    // systemd.unit(5): unknown keys are logged and ignored ("Unknown key name … ignoring"),
    // as are bad values (the default stays); [X-…] sections are for other programs;
    // unsupported sandboxing is named once per directive.
    let unit = loaded(
        "[Unit]\nFrobnicate=yes\nDefaultDependencies=no\n[Service]\nExecStart=/bin/web\n\
         Restart=sometimes\nNice=40\nUMask=999\nProtectSystem=strict\nProtectSystem=full\n\
         ProtectHome=yes\nRestartSec=soon\nKillSignal=SIGNOPE\n[X-Vendor]\nAnything=1\n\
         [Install]\nWantedBy=multi-user.target\n[Socket]\nListenStream=80\n",
    );
    let keys: Vec<String> = unit
        .warnings
        .iter()
        .map(|w| match w {
            Warning::UnknownKey { section, key, .. } => format!("unknown {section}.{key}"),
            Warning::Ignored { key, .. } => format!("ignored {key}"),
            Warning::Invalid { key, .. } => format!("invalid {key}"),
            Warning::UnknownSection { section, .. } => format!("section {section}"),
            Warning::DbusAsSimple { .. } => "dbus".into(),
        })
        .collect();
    assert_eq!(
        keys,
        [
            "unknown Unit.Frobnicate",
            "invalid Restart",
            "invalid Nice",
            "invalid UMask",
            "ignored ProtectSystem",
            "ignored ProtectHome",
            "invalid RestartSec",
            "invalid KillSignal",
            "section Socket",
        ]
    );
    let s = &unit.service;
    assert_eq!((s.restart, s.nice, s.umask), (Restart::No, None, 0o022));
    assert_eq!(s.kill_signal, libc::SIGTERM);
    let line = unit.warnings[0].to_string();
    assert!(
        line.contains("web@blue.service:2") && line.contains("Frobnicate"),
        "{line}"
    );
    assert!(!line.contains('\n'));
}

#[test]
fn source_path() {
    // systemd.unit(5), SourcePath=: "A path to a configuration file this unit has been
    // generated from"; an absolute path, specifiers resolved; empty resets it.
    let cases: &[(&str, Option<&str>, usize)] = &[
        ("", None, 0),
        ("SourcePath=/etc/init.d/web", Some("/etc/init.d/web"), 0),
        ("SourcePath=/etc/init.d/%p", Some("/etc/init.d/web"), 0),
        ("SourcePath=/etc/init.d/web\nSourcePath=", None, 0),
        ("SourcePath=init.d/web", None, 1),
    ];
    for (lines, want, warnings) in cases {
        let unit = loaded(&format!(
            "[Unit]\n{lines}\n[Service]\nExecStart=/bin/true\n"
        ));
        assert_eq!(unit.unit.source_path.as_deref(), *want, "{lines}");
        assert_eq!(
            unit.warnings.len(),
            *warnings,
            "{lines}: {:?}",
            unit.warnings
        );
    }
}

#[test]
fn directive_table() {
    // Each (name, section) once; Condition/Assert and Limit names are found by lookup.
    for (i, a) in DIRECTIVES.iter().enumerate() {
        assert!(
            !DIRECTIVES[i + 1..]
                .iter()
                .any(|b| b.name == a.name && b.section == a.section),
            "{} twice in [{}]",
            a.name,
            a.section
        );
    }
    let cases: &[(&str, &str, Option<Support>)] = &[
        ("Unit", "After", Some(Support::Supported)),
        ("Unit", "AssertFileNotEmpty", Some(Support::Supported)),
        ("Unit", "AssertKernelVersion", Some(Support::WarnedIgnored)),
        ("Unit", "ConditionNoSuchThing", None),
        ("Service", "LimitNOFILE", Some(Support::Supported)),
        (
            "Service",
            "ProtectKernelTunables",
            Some(Support::WarnedIgnored),
        ),
        ("Service", "After", None),
        ("Install", "WantedBy", None),
        ("Unit", "SourcePath", Some(Support::Supported)),
        ("Service", "IgnoreSIGPIPE", Some(Support::Supported)),
    ];
    for (section, key, want) in cases {
        assert_eq!(lookup(section, key), *want, "[{section}] {key}");
    }
}
