//! Table tests of list-units and list-unit-files (filters, order, columns, legend).

use super::*;
use std::path::PathBuf;

fn unit(id: &str, load: &str, active: &str, sub: &str, description: &str) -> UnitInfo {
    UnitInfo {
        id: id.into(),
        load_state: load.into(),
        active_state: active.into(),
        sub_state: sub.into(),
        description: description.into(),
        ..UnitInfo::default()
    }
}

fn units() -> Vec<UnitInfo> {
    vec![
        unit(
            "ssh.service",
            "loaded",
            "active",
            "running",
            "OpenBSD Secure Shell server",
        ),
        unit(
            "cron.service",
            "loaded",
            "active",
            "running",
            "Regular background program processing daemon",
        ),
        unit(
            "multi-user.target",
            "loaded",
            "active",
            "active",
            "Multi-User System",
        ),
        unit("bad.service", "loaded", "failed", "failed", "Bad"),
        unit("idle.service", "loaded", "inactive", "dead", "Idle"),
        unit(
            "gone.service",
            "not-found",
            "inactive",
            "dead",
            "gone.service",
        ),
        unit(
            "dbus.socket",
            "loaded",
            "active",
            "listening",
            "D-Bus System Message Bus Socket",
        ),
    ]
}

const LEGEND: &str = "
LOAD   = Reflects whether the unit definition was properly loaded.
ACTIVE = The high-level unit activation state, i.e. generalization of SUB.
SUB    = The low-level unit activation state, values depend on unit type.
";

#[test]
fn list_units_default() {
    let want = format!(
        "  UNIT              LOAD   ACTIVE SUB       DESCRIPTION
● bad.service       loaded failed failed    Bad
  cron.service      loaded active running   Regular background program processing daemon
  ssh.service       loaded active running   OpenBSD Secure Shell server
  dbus.socket       loaded active listening D-Bus System Message Bus Socket
  multi-user.target loaded active active    Multi-User System
{LEGEND}5 loaded units listed. Pass --all to see loaded but inactive units, too.
To show all installed unit files use 'systemctl list-unit-files'.
"
    );
    assert_eq!(list_units(&units(), &[], &Options::default()), want);
}

#[test]
fn list_units_filters() {
    let o = Options::default;
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let ids = |opts: &Options, patterns: &[String]| {
        units()
            .iter()
            .filter(|u| unit_shown(u, patterns, opts))
            .map(|u| u.id.clone())
            .collect::<Vec<_>>()
    };
    let cases: Vec<(Options, Vec<String>, Vec<&str>)> = vec![
        (
            o(),
            vec![],
            vec![
                "ssh.service",
                "cron.service",
                "multi-user.target",
                "bad.service",
                "dbus.socket",
            ],
        ),
        (
            Options { all: true, ..o() },
            vec![],
            vec![
                "ssh.service",
                "cron.service",
                "multi-user.target",
                "bad.service",
                "idle.service",
                "gone.service",
                "dbus.socket",
            ],
        ),
        (
            Options {
                types: s(&["service"]),
                ..o()
            },
            vec![],
            vec!["ssh.service", "cron.service", "bad.service"],
        ),
        (
            Options {
                states: s(&["running"]),
                ..o()
            },
            vec![],
            vec!["ssh.service", "cron.service"],
        ),
        (
            Options {
                states: s(&["failed"]),
                ..o()
            },
            vec![],
            vec!["bad.service"],
        ),
        (
            Options {
                states: s(&["not-found"]),
                ..o()
            },
            vec![],
            vec![],
        ),
        (
            Options {
                states: s(&["inactive"]),
                ..o()
            },
            vec![],
            vec!["idle.service", "gone.service"],
        ),
        (
            o(),
            s(&["c*", "*.socket"]),
            vec!["cron.service", "dbus.socket"],
        ),
    ];
    for (opts, patterns, want) in cases {
        assert_eq!(ids(&opts, &patterns), want, "{opts:?} {patterns:?}");
    }
}

#[test]
fn list_units_variants() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let plain = Options {
        plain: true,
        legend: false,
        types: s(&["socket"]),
        ..Options::default()
    };
    assert_eq!(
        list_units(&units(), &[], &plain),
        "dbus.socket loaded active listening D-Bus System Message Bus Socket\n"
    );
    let running = Options {
        states: s(&["running"]),
        types: s(&["socket"]),
        ..Options::default()
    };
    assert_eq!(
        list_units(&units(), &[], &running),
        "  UNIT LOAD ACTIVE SUB DESCRIPTION\n0 loaded units listed.\n"
    );
    let all = Options {
        all: true,
        types: s(&["target"]),
        ..Options::default()
    };
    let text = list_units(&units(), &[], &all);
    assert!(text.ends_with("SUB    = The low-level unit activation state, values depend on unit type.\n1 loaded units listed.\nTo show all installed unit files use 'systemctl list-unit-files'.\n"), "{text}");
}

#[test]
fn unit_files() {
    let f = |name: &str, state| ListedUnit {
        name: name.into(),
        state,
        path: PathBuf::from("/lib/systemd/system").join(name),
    };
    let files = vec![
        f("cron.service", UnitFileState::Enabled),
        f("crond.service", UnitFileState::Alias),
        f("nginx.service", UnitFileState::Disabled),
        f("systemd-x.service", UnitFileState::Static),
        f("foo.service", UnitFileState::Masked),
        f("dbus.socket", UnitFileState::Static),
    ];
    let want = "UNIT FILE         STATE    PRESET
cron.service      enabled  enabled
crond.service     alias    -
nginx.service     disabled enabled
systemd-x.service static   -
foo.service       masked   enabled
dbus.socket       static   -

6 unit files listed.
";
    assert_eq!(list_unit_files(&files, &[], &Options::default()), want);
    let opts = Options {
        states: vec!["enabled".into(), "disabled".into()],
        legend: false,
        ..Options::default()
    };
    assert_eq!(
        list_unit_files(&files, &[], &opts),
        "cron.service  enabled  enabled\nnginx.service disabled enabled\n"
    );
    let opts = Options {
        types: vec!["socket".into()],
        ..Options::default()
    };
    assert_eq!(
        list_unit_files(&files, &["c*".into()], &opts),
        "UNIT FILE STATE PRESET\n\n0 unit files listed.\n"
    );
}
