//! Table-driven tests of `units::boot` (systemd.unit(5), systemd.service(5) and
//! systemd.target(5), "Default Dependencies").

use super::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A temp dir removed on drop.
struct Tmp(PathBuf);
impl Tmp {
    fn new(label: &str) -> Tmp {
        let dir =
            std::env::temp_dir().join(format!("rich-init-boot-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Tmp(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    if let Some(dir) = p.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(p, text).unwrap();
}

fn link(root: &Path, path: &str, target: &str) {
    let p = root.join(path.trim_start_matches('/'));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, p).unwrap();
}

#[test]
fn a_debian_like_image_boots_its_wanted_services_in_order() {
    let tmp = Tmp::new("debian");
    let root = tmp.path();
    write(root, "/lib/systemd/system/rsyslog.service",
        "[Unit]\nDescription=System Logging Service\n[Service]\nType=notify\nExecStart=/usr/sbin/rsyslogd -n\n[Install]\nWantedBy=multi-user.target\n");
    write(root, "/lib/systemd/system/cron.service",
        "[Unit]\nDescription=Regular background program processing daemon\nAfter=remote-fs.target nss-user-lookup.target\n[Service]\nExecStart=/usr/sbin/cron -f\n");
    write(root, "/lib/systemd/system/ssh.service",
        "[Unit]\nDescription=OpenBSD Secure Shell server\nAfter=network.target auditd.service\n[Service]\nExecStart=/usr/sbin/sshd -D\n");
    write(root, "/lib/systemd/system/late.service",
        "[Unit]\nDefaultDependencies=no\nBefore=ssh.service\n[Service]\nExecStart=/bin/true\n[X-Vendor]\nA=b\n");
    write(
        root,
        "/lib/systemd/system/off.service",
        "[Service]\nExecStart=/bin/true\n",
    );
    write(
        root,
        "/lib/systemd/system/x.socket",
        "[Socket]\nListenStream=1\n",
    );
    for unit in [
        "rsyslog.service",
        "cron.service",
        "ssh.service",
        "late.service",
        "x.socket",
    ] {
        link(
            root,
            &format!("/etc/systemd/system/multi-user.target.wants/{unit}"),
            &format!("/lib/systemd/system/{unit}"),
        );
    }
    let loader = Loader::new(root).unwrap();
    let plan = plan(&loader, "host", &[]).unwrap();
    let names: Vec<&str> = plan.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(plan.default_target, "multi-user.target");
    assert!(!names.contains(&"off.service") && !names.contains(&"x.socket"));
    let at = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("{n} in {names:?}"))
    };
    assert!(at("sysinit.target") < at("basic.target"));
    assert!(at("basic.target") < at("cron.service"));
    // After= orders, it does not pull in: nothing wants network.target here.
    assert!(!names.contains(&"network.target"));
    assert!(at("late.service") < at("ssh.service"));
    assert_eq!(at("multi-user.target"), names.len() - 1, "{names:?}");
    let late = plan
        .units
        .iter()
        .find(|u| u.name == "late.service")
        .unwrap();
    assert!(
        late.after.is_empty(),
        "DefaultDependencies=no: {:?}",
        late.after
    );
    let mu = plan
        .units
        .iter()
        .find(|u| u.name == "multi-user.target")
        .unwrap();
    for s in [
        "rsyslog.service",
        "cron.service",
        "ssh.service",
        "late.service",
        "basic.target",
    ] {
        assert!(
            mu.after.iter().any(|a| a == s) == (s != "late.service"),
            "{s}: {:?}",
            mu.after
        );
    }
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(plan.warnings[0].contains("x.socket"), "{:?}", plan.warnings);
}

#[test]
fn a_service_that_needs_a_socket_starts_where_the_socket_would_listen() {
    let tmp = Tmp::new("socket");
    let root = tmp.path();
    write(
        root,
        "/lib/systemd/system/rsyslog.service",
        "[Unit]\nRequires=syslog.socket\n[Service]\nType=notify\nExecStart=/usr/sbin/rsyslogd -n\n",
    );
    write(
        root,
        "/lib/systemd/system/cron.service",
        "[Service]\nExecStart=/usr/sbin/cron -f\n",
    );
    for unit in ["rsyslog.service", "cron.service"] {
        link(
            root,
            &format!("/etc/systemd/system/multi-user.target.wants/{unit}"),
            &format!("/lib/systemd/system/{unit}"),
        );
    }
    let plan = plan(&Loader::new(root).unwrap(), "h", &[]).unwrap();
    let after = |n: &str| {
        plan.units
            .iter()
            .find(|u| u.name == n)
            .unwrap()
            .after
            .clone()
    };
    assert_eq!(after("rsyslog.service"), ["sysinit.target"]);
    assert!(after("sockets.target").contains(&"rsyslog.service".to_string()));
    assert!(after("cron.service").contains(&"basic.target".to_string()));
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn an_ordering_cycle_loses_one_edge_with_a_warning() {
    let tmp = Tmp::new("cycle");
    let root = tmp.path();
    write(
        root,
        "/etc/systemd/system/a.service",
        "[Unit]\nAfter=b.service\n[Service]\nExecStart=/bin/true\n",
    );
    write(
        root,
        "/etc/systemd/system/b.service",
        "[Unit]\nAfter=a.service\n[Service]\nExecStart=/bin/true\n",
    );
    write(
        root,
        "/etc/systemd/system/multi-user.target",
        "[Unit]\nWants=a.service b.service\n",
    );
    let plan = plan(&Loader::new(root).unwrap(), "h", &[]).unwrap();
    assert_eq!(
        plan.units.len(),
        3,
        "{:?}",
        plan.units.iter().map(|u| &u.name).collect::<Vec<_>>()
    );
    assert!(
        plan.warnings.iter().any(|w| w.contains("ordering cycle")),
        "{:?}",
        plan.warnings
    );
}
