//! Table tests of status text and exit codes (systemctl(1), status; print_status_info).

use super::*;
use crate::units::status::Process;

const T: u64 = 1_796_557_201_000_000;

fn nginx() -> UnitInfo {
    UnitInfo {
        id: "nginx.service".into(),
        names: vec!["nginx.service".into()],
        description: "A high performance web server and a reverse proxy server".into(),
        load_state: "loaded".into(),
        active_state: "active".into(),
        sub_state: "running".into(),
        unit_file_state: "enabled".into(),
        unit_file_preset: "enabled".into(),
        fragment_path: "/lib/systemd/system/nginx.service".into(),
        main_pid: 123,
        active_enter_us: T,
        documentation: vec!["man:nginx(8)".into()],
        processes: vec![
            Process {
                pid: 123,
                cmdline: "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"
                    .into(),
            },
            Process {
                pid: 124,
                cmdline: "nginx: worker process".into(),
            },
        ],
        ..UnitInfo::default()
    }
}

fn ctx(color: bool) -> Context<'static> {
    Context {
        now_us: T + 5_000_000,
        host: "web1",
        color,
    }
}

#[test]
fn running_service() {
    let journal = [JournalEntry {
        time_us: T,
        unit: "nginx.service".into(),
        ident: "systemd".into(),
        pid: 1,
        message:
            "Started nginx.service - A high performance web server and a reverse proxy server."
                .into(),
    }];
    let want = "\
● nginx.service - A high performance web server and a reverse proxy server
     Loaded: loaded (/lib/systemd/system/nginx.service; enabled; preset: enabled)
     Active: active (running) since Sun 2026-12-06 11:40:01 UTC; 5s ago
       Docs: man:nginx(8)
   Main PID: 123 (nginx)
      Tasks: 2
     CGroup: /system.slice/nginx.service
             ├─123 nginx: master process /usr/sbin/nginx -g daemon on; master_process on;
             └─124 nginx: worker process

Dec 06 11:40:01 web1 systemd[1]: Started nginx.service - A high performance web server and a reverse proxy server.
";
    assert_eq!(render(&nginx(), &journal, &ctx(false)), want);
    let colored = render(&nginx(), &[], &ctx(true));
    assert!(
        colored.starts_with("\x1b[0;1;32m●\x1b[0m nginx.service"),
        "{colored}"
    );
    assert!(colored.contains("Active: \x1b[0;1;32mactive (running)\x1b[0m since"));
}

#[test]
fn other_states() {
    let failed = UnitInfo {
        active_state: "failed".into(),
        sub_state: "failed".into(),
        result: "exit-code".into(),
        main_pid: 0,
        exec_main_pid: 321,
        exec_main_code: 1,
        exec_main_status: 1,
        inactive_enter_us: T,
        processes: vec![],
        documentation: vec![],
        unit_file_state: "static".into(),
        drop_in_paths: vec![
            "/etc/systemd/system/nginx.service.d/a.conf".into(),
            "/etc/systemd/system/nginx.service.d/b.conf".into(),
            "/run/systemd/system/nginx.service.d/c.conf".into(),
        ],
        ..nginx()
    };
    let want = "\
× nginx.service - A high performance web server and a reverse proxy server
     Loaded: loaded (/lib/systemd/system/nginx.service; static)
    Drop-In: /etc/systemd/system/nginx.service.d
             ├─a.conf
             └─b.conf
             /run/systemd/system/nginx.service.d
             └─c.conf
     Active: failed (Result: exit-code) since Sun 2026-12-06 11:40:01 UTC; 5s ago
   Main PID: 321 (code=exited, status=1/FAILURE)
";
    assert_eq!(render(&failed, &[], &ctx(false)), want);

    let dead = UnitInfo {
        id: "x.service".into(),
        description: String::new(),
        load_state: "loaded".into(),
        active_state: "inactive".into(),
        sub_state: "dead".into(),
        fragment_path: "/etc/systemd/system/x.service".into(),
        unit_file_state: "disabled".into(),
        unit_file_preset: "enabled".into(),
        exec_main_pid: 9,
        exec_main_code: 2,
        exec_main_status: 15,
        ..UnitInfo::default()
    };
    let want = "\
○ x.service
     Loaded: loaded (/etc/systemd/system/x.service; disabled; preset: enabled)
     Active: inactive (dead)
   Main PID: 9 (code=killed, signal=TERM)
";
    assert_eq!(render(&dead, &[], &ctx(true)), want);
}

#[test]
fn exit_codes() {
    let with = |active: &str, load: &str| UnitInfo {
        active_state: active.into(),
        load_state: load.into(),
        ..UnitInfo::default()
    };
    let cases = [
        (with("active", "loaded"), 0),
        (with("reloading", "loaded"), 0),
        (with("inactive", "loaded"), 3),
        (with("failed", "loaded"), 3),
        (with("activating", "loaded"), 3),
        (with("inactive", "not-found"), 4),
        (with("active", "not-found"), 0),
        (with("inactive", "masked"), 3),
    ];
    for (unit, want) in cases {
        assert_eq!(exit_code(&unit), want, "{unit:?}");
    }
}
