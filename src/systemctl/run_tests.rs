//! The runtime's unit selection, and its answers when no init listens.

use super::*;

fn unit(id: &str, names: &[&str]) -> UnitInfo {
    UnitInfo {
        id: id.into(),
        names: names.iter().map(|s| s.to_string()).collect(),
        load_state: "loaded".into(),
        ..UnitInfo::default()
    }
}

#[test]
fn selecting_units() {
    let units = vec![
        unit("cron.service", &["cron.service", "crond.service"]),
        unit("ssh.service", &["ssh.service", "sshd.service"]),
        unit("dbus.socket", &["dbus.socket"]),
    ];
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let ids = |args: &[&str]| {
        select(units.clone(), &s(args))
            .into_iter()
            .map(|u| format!("{}:{}", u.id, u.load_state))
            .collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["ssh.service"], vec!["ssh.service:loaded"]),
        (vec!["sshd.service"], vec!["ssh.service:loaded"]),
        (vec!["nope.service"], vec!["nope.service:not-found"]),
        (
            vec!["*.service"],
            vec!["cron.service:loaded", "ssh.service:loaded"],
        ),
        (vec!["x*"], vec![]),
        (
            vec!["dbus.socket", "cron*"],
            vec!["dbus.socket:loaded", "cron.service:loaded"],
        ),
    ];
    for (args, want) in cases {
        assert_eq!(ids(&args), want, "{args:?}");
    }
}

#[test]
fn without_an_init() {
    let socket =
        std::env::temp_dir().join(format!("rich-init-no-such-{}.sock", std::process::id()));
    let root = Path::new("/nonexistent-root");
    let parse = |line: &str| {
        args::parse(
            &line
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        )
        .expect("parses")
    };
    let cases = [
        ("start nginx", "", NO_INIT, 1),
        ("status nginx", "", NO_INIT, 1),
        ("daemon-reload", "", NO_INIT, 1),
        ("is-system-running", "offline\n", "", 1),
        ("is-system-running -q", "", "", 1),
        ("list-unit-files --no-legend", "", "", 0),
    ];
    for (line, stdout, stderr, code) in cases {
        let out = execute(&parse(line), &socket, root);
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str(), out.code),
            (stdout, stderr, code),
            "{line}"
        );
    }
}
