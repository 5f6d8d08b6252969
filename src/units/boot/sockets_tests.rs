//! A socket unit in the boot brings its service (systemd.socket(5): Service=, "Default
//! Dependencies"; eager here, see the module's head).

use super::super::{plan, Kind, Plan};
use crate::units::discovery::Loader;
use std::fs;
use std::path::{Path, PathBuf};

struct Tmp(PathBuf);
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A root with `units` under /lib/systemd/system and `enabled` linked from `WANTS.wants/`.
fn boot(label: &str, units: &[(&str, &str)], enabled: &[(&str, &str)]) -> (Tmp, Plan) {
    let root = std::env::temp_dir().join(format!(
        "rich-init-boot-sockets-{label}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&root);
    let tmp = Tmp(root.clone());
    let lib = root.join("lib/systemd/system");
    fs::create_dir_all(&lib).unwrap();
    for (name, text) in units {
        fs::write(lib.join(name), text).unwrap();
    }
    for (target, unit) in enabled {
        let dir = root.join(format!("etc/systemd/system/{target}.wants"));
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(format!("/lib/systemd/system/{unit}"), dir.join(unit)).unwrap();
    }
    let plan = plan(&Loader::new(Path::new(&root)).unwrap(), "h", &[]).unwrap();
    (tmp, plan)
}

fn after(plan: &Plan, name: &str) -> Vec<String> {
    plan.units
        .iter()
        .find(|u| u.name == name)
        .unwrap_or_else(|| panic!("{name} not in the plan"))
        .after
        .clone()
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.units.iter().map(|u| u.name.as_str()).collect()
}

const WEB_SOCKET: &str = "[Socket]\nListenStream=8080\n[Install]\nWantedBy=sockets.target\n";
const WEB_SERVICE: &str = "[Service]\nExecStart=/usr/bin/web\n";

#[test]
fn only_the_socket_enabled_boots_the_service_after_it() {
    type Case = (&'static str, &'static [(&'static str, &'static str)]);
    let cases: &[Case] = &[
        ("socket-only", &[("sockets.target", "web.socket")]),
        (
            "both",
            &[
                ("sockets.target", "web.socket"),
                ("multi-user.target", "web.service"),
            ],
        ),
    ];
    for (label, enabled) in cases {
        let units = [("web.socket", WEB_SOCKET), ("web.service", WEB_SERVICE)];
        let (_tmp, plan) = boot(label, &units, enabled);
        let all = names(&plan);
        assert!(all.contains(&"web.socket"), "{label}: {all:?}");
        assert!(after(&plan, "web.service").contains(&"web.socket".to_string()));
        assert_eq!(after(&plan, "web.socket"), ["sysinit.target"], "{label}");
        assert!(after(&plan, "sockets.target").contains(&"web.socket".to_string()));
        assert!(plan.warnings.is_empty(), "{label}: {:?}", plan.warnings);
        let socket = plan.units.iter().find(|u| u.name == "web.socket");
        match socket.map(|u| &u.kind) {
            Some(Kind::Socket(s)) => assert_eq!(s.service, "web.service"),
            _ => panic!("{label}: web.socket is not a socket"),
        }
    }
}

#[test]
fn service_names_another_unit_or_an_alias() {
    let units = [
        (
            "web.socket",
            "[Socket]\nListenStream=8080\nService=syslog.service\n",
        ),
        ("rsyslog.service", WEB_SERVICE),
    ];
    let root = std::env::temp_dir().join(format!(
        "rich-init-boot-sockets-alias-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&root);
    let _tmp = Tmp(root.clone());
    let lib = root.join("lib/systemd/system");
    fs::create_dir_all(&lib).unwrap();
    for (name, text) in units {
        fs::write(lib.join(name), text).unwrap();
    }
    std::os::unix::fs::symlink("rsyslog.service", lib.join("syslog.service")).unwrap();
    let wants = root.join("etc/systemd/system/sockets.target.wants");
    fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink("/lib/systemd/system/web.socket", wants.join("web.socket")).unwrap();
    let plan = plan(&Loader::new(&root).unwrap(), "h", &[]).unwrap();
    assert!(
        names(&plan).contains(&"rsyslog.service"),
        "{:?}",
        names(&plan)
    );
    assert!(after(&plan, "rsyslog.service").contains(&"web.socket".to_string()));
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn a_socket_without_a_service_or_with_accept_is_skipped_with_one_line() {
    type Case = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static str,
    );
    let cases: &[Case] = &[
        (
            "orphan",
            &[("web.socket", WEB_SOCKET)],
            "web.socket: its service web.service cannot be loaded",
        ),
        (
            "accept",
            &[
                ("web.socket", "[Socket]\nListenStream=22\nAccept=yes\n"),
                ("web@.service", WEB_SERVICE),
            ],
            "web.socket: Accept=yes (a service instance per connection) is not supported",
        ),
    ];
    for (label, units, warning) in cases {
        let (_tmp, plan) = boot(label, units, &[("sockets.target", "web.socket")]);
        let all = names(&plan);
        assert!(
            !all.iter().any(|n| n.starts_with("web")),
            "{label}: {all:?}"
        );
        assert_eq!(plan.warnings.len(), 1, "{label}: {:?}", plan.warnings);
        assert!(plan.warnings[0].starts_with(warning), "{:?}", plan.warnings);
    }
}
