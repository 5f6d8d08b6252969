use super::*;
use serde_json::json;

fn spec(args: &[&str], env: &[&str], own_pid_ns: bool) -> Value {
    let namespaces = if own_pid_ns {
        json!([{"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"}])
    } else {
        json!([{"type": "pid", "path": "/proc/1/ns/pid"}])
    };
    json!({
        "process": {"args": args, "env": env, "cwd": "/srv"},
        "linux": {"namespaces": namespaces},
    })
}

#[test]
fn the_control_socket_by_rich_inits_own_rules() {
    let path = |p: &str| Some(PathBuf::from(p));
    type Case<'a> = (&'a [&'a str], &'a [&'a str], bool, Option<PathBuf>);
    let cases: &[Case] = &[
        // Rich mode by option or by variable (pid 1 only), the default path.
        (
            &["/sbin/rich-init", "--rich", "x"],
            &[],
            true,
            path("/run/rich-init/control.sock"),
        ),
        (
            &["/sbin/rich-init", "x"],
            &["RICH_INIT_RICH=1"],
            true,
            path("/run/rich-init/control.sock"),
        ),
        (
            &["/sbin/rich-init", "x"],
            &["rich_mode=true"],
            true,
            path("/run/rich-init/control.sock"),
        ),
        // Another path: the option, the variable, the option over the variable.
        (
            &[
                "/sbin/rich-init",
                "--rich",
                "--control-socket",
                "/c.sock",
                "x",
            ],
            &[],
            true,
            path("/c.sock"),
        ),
        (
            &["/sbin/rich-init", "--rich", "--control-socket=/c.sock", "x"],
            &[],
            true,
            path("/c.sock"),
        ),
        (
            &["/sbin/rich-init", "--rich", "x"],
            &["RICH_INIT_CONTROL_SOCKET=/v.sock"],
            true,
            path("/v.sock"),
        ),
        (
            &[
                "/sbin/rich-init",
                "--rich",
                "--control-socket",
                "/c.sock",
                "x",
            ],
            &["RICH_INIT_CONTROL_SOCKET=/v.sock"],
            true,
            path("/c.sock"),
        ),
        // A relative path is the init's cwd's.
        (
            &[
                "/sbin/rich-init",
                "--rich",
                "--control-socket",
                "c.sock",
                "x",
            ],
            &[],
            true,
            path("/srv/c.sock"),
        ),
        // The CMD's own options are not the init's.
        (
            &[
                "/sbin/rich-init",
                "--rich",
                "--",
                "app",
                "--control-socket",
                "/no",
            ],
            &[],
            true,
            path("/run/rich-init/control.sock"),
        ),
        // No control socket: turned off, or not pid 1 (no default then).
        (
            &["/sbin/rich-init", "--rich", "--control-socket", "", "x"],
            &[],
            true,
            None,
        ),
        (&["/sbin/rich-init", "--rich", "x"], &[], false, None),
        (
            &[
                "/sbin/rich-init",
                "--rich",
                "--control-socket",
                "/c.sock",
                "x",
            ],
            &[],
            false,
            path("/c.sock"),
        ),
        // Not rich mode: single-child rich-init, the variable when not pid 1, the others.
        (&["/sbin/rich-init", "x"], &[], true, None),
        (
            &["/sbin/rich-init", "x"],
            &["RICH_INIT_RICH=1"],
            false,
            None,
        ),
        (
            &["/usr/bin/tini", "--", "x"],
            &["RICH_INIT_RICH=1"],
            true,
            None,
        ),
        (&["/usr/bin/dumb-init", "x"], &[], true, None),
        (&["/bin/sh", "-c", "exec app"], &[], true, None),
        (&[], &[], true, None),
    ];
    for (args, env, pid1, want) in cases {
        assert_eq!(
            &control_socket(&spec(args, env, *pid1)),
            want,
            "{args:?} {env:?} pid1={pid1}"
        );
    }
    assert_eq!(control_socket(&json!({})), None);
}

#[test]
fn the_socket_is_reached_through_the_inits_root() {
    assert_eq!(
        on_host(4242, Path::new("/run/rich-init/control.sock")),
        Some(PathBuf::from("/proc/4242/root/run/rich-init/control.sock"))
    );
    // A path that climbs out of the init's root is not followed.
    for bad in [
        "/../../1/root/run/x.sock",
        "/run/../../../etc/x.sock",
        "../x.sock",
    ] {
        assert_eq!(on_host(4242, Path::new(bad)), None, "{bad}");
    }
}

#[test]
fn the_helper_gives_up_before_the_inits_deadline() {
    let d = 1_700_000_010_000;
    assert_eq!(give_up_ms(d, Duration::from_secs(10)), d - 1000);
    assert_eq!(give_up_ms(d, Duration::from_secs(2)), d - 500);
    assert_eq!(give_up_ms(d, Duration::from_millis(100)), d - 25);
    assert_eq!(give_up_ms(d, Duration::ZERO), d);
    assert_eq!(give_up_ms(10, Duration::from_secs(60)), 0);
}

#[test]
fn the_deadline_is_wait_from_now_in_unix_ms() {
    let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    assert_eq!(deadline_ms(now, Duration::from_secs(10)), 1_700_000_010_123);
    assert_eq!(deadline_ms(now, Duration::ZERO), 1_700_000_000_123);
    // What the init makes of it: the whole wait from now, none once it passed.
    let value = handover_value(deadline_ms(now, Duration::from_secs(10)));
    let wait = rich_init::control::handover::wait_for(&value, 1_700_000_000_123);
    assert_eq!(wait.ok(), Some(Duration::from_secs(10)));
    let wait = rich_init::control::handover::wait_for(&value, 1_700_000_020_000);
    assert_eq!(wait.ok(), Some(Duration::ZERO));
}

#[test]
fn the_variable_is_set_once_and_stripped_entirely() {
    let var = |v: &str| format!("{HANDOVER_VAR}={v}");
    let mut s = json!({"process": {"env": ["A=1", var("5"), "B=2", var("6")]}});
    assert!(strip_handover_var(&mut s));
    assert_eq!(s, json!({"process": {"env": ["A=1", "B=2"]}}));
    assert!(!strip_handover_var(&mut s), "nothing left to strip");

    assert!(set_handover_var(&mut s, 77));
    assert!(set_handover_var(&mut s, 88));
    assert_eq!(s, json!({"process": {"env": ["A=1", "B=2", var("88")]}}));

    // A variable whose name only starts the same is someone else's.
    let mut s = json!({"process": {"env": [format!("{HANDOVER_VAR}_X=1"), HANDOVER_VAR]}});
    assert!(!strip_handover_var(&mut s));

    // No env yet: one is made. No process: nothing to set, and no panic.
    let mut s = json!({"process": {"args": ["x"]}});
    assert!(set_handover_var(&mut s, 1));
    assert_eq!(s["process"]["env"], json!([var("1")]));
    for mut bad in [
        json!({}),
        json!({"process": "x"}),
        json!({"process": {"env": 3}}),
        json!(null),
    ] {
        assert!(!set_handover_var(&mut bad, 1), "{bad}");
        assert!(!strip_handover_var(&mut bad), "{bad}");
    }
}
