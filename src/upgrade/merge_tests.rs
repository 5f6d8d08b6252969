use super::*;
use serde_json::json;

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|i| i.to_string()).collect()
}

fn image(entrypoint: &[&str], cmd: &[&str], env: &[&str], labels: &[(&str, &str)]) -> ImageConfig {
    ImageConfig {
        entrypoint: s(entrypoint),
        cmd: s(cmd),
        env: s(env),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        working_dir: String::new(),
        stop_signal: None,
        diff_ids: s(&["sha256:aa"]),
    }
}

#[test]
fn args_follow_pouchs_rules() {
    let old = image(&["/init"], &["serve"], &[], &[]);
    let new = image(&["/init2"], &["serve", "--v2"], &[], &[]);
    let none = Overrides::default();
    // From the old image: the new image's.
    assert_eq!(
        args(&s(&["/init", "serve"]), &old, &new, &none),
        s(&["/init2", "serve", "--v2"])
    );
    // Set by the user: kept.
    assert_eq!(
        args(&s(&["/init", "debug"]), &old, &new, &none),
        s(&["/init", "debug"])
    );
    // Explicit cmd: the new entrypoint + that cmd.
    let cmd = Overrides {
        cmd: Some(s(&["sh"])),
        ..Overrides::default()
    };
    assert_eq!(
        args(&s(&["/init", "debug"]), &old, &new, &cmd),
        s(&["/init2", "sh"])
    );
    // Explicit entrypoint: drops the image's cmd.
    let ep = Overrides {
        entrypoint: Some("/bin/top".into()),
        ..Overrides::default()
    };
    assert_eq!(
        args(&s(&["/init", "serve"]), &old, &new, &ep),
        s(&["/bin/top"])
    );
    let both = Overrides {
        entrypoint: Some("/bin/sh".into()),
        cmd: Some(s(&["-c", "true"])),
        ..Overrides::default()
    };
    assert_eq!(
        args(&s(&["x"]), &old, &new, &both),
        s(&["/bin/sh", "-c", "true"])
    );
}

#[test]
fn env_user_wins_image_values_follow_the_image() {
    let old = image(&[], &["x"], &["PATH=/bin", "VERSION=1", "MODE=a"], &[]);
    let new = image(
        &[],
        &["x"],
        &["PATH=/bin:/sbin", "VERSION=2", "MODE=b", "NEW=yes"],
        &[],
    );
    let old_env = s(&["PATH=/bin", "VERSION=1", "MODE=custom", "SECRET=s"]);
    let o = Overrides {
        env: s(&["NEW=overridden", "EXTRA=1"]),
        ..Overrides::default()
    };
    assert_eq!(
        env(&old_env, &old, &new, &o),
        s(&[
            "PATH=/bin:/sbin",
            "VERSION=2",
            "NEW=overridden",
            "MODE=custom",
            "SECRET=s",
            "EXTRA=1"
        ])
    );
}

#[test]
fn labels_user_wins_image_values_follow_the_image() {
    let old = image(&[], &["x"], &[], &[("version", "1"), ("vendor", "us")]);
    let new = image(
        &[],
        &["x"],
        &[],
        &[("version", "2"), ("vendor", "us"), ("new", "y")],
    );
    let old_labels: BTreeMap<String, String> =
        [("version", "1"), ("team", "ops"), ("vendor", "me")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let o = Overrides {
        labels: vec![("team".into(), "sre".into())],
        ..Overrides::default()
    };
    let got = labels(&old_labels, &old, &new, &o);
    let want: BTreeMap<String, String> = [
        ("version", "2"),
        ("vendor", "me"),
        ("new", "y"),
        ("team", "sre"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn cwd_follows_the_image_unless_set() {
    let mut old = image(&[], &["x"], &[], &[]);
    let mut new = image(&[], &["x"], &[], &[]);
    new.working_dir = "/srv".into();
    assert_eq!(cwd("/", &old, &new), "/srv");
    assert_eq!(cwd("/data", &old, &new), "/data");
    old.working_dir = "/app".into();
    assert_eq!(cwd("/app", &old, &new), "/srv");
}

#[test]
fn spec_rewrite_keeps_everything_else() {
    let old = image(&["/init"], &["a"], &["V=1"], &[]);
    let new = image(&["/init"], &["b"], &["V=2"], &[]);
    let spec = json!({
        "ociVersion": "1.0.2",
        "process": {"args": ["/init", "a"], "env": ["V=1"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
        "mounts": [{"destination": "/data", "type": "bind", "source": "/srv/data"}],
        "linux": {"namespaces": [{"type": "network", "path": "/var/run/netns/x"}],
                  "resources": {"memory": {"limit": 1000}}},
        "hooks": {"prestart": [{"path": "/bin/x"}]},
        "annotations": {"a": "b"}
    });
    let out = rewrite_spec(&spec, &old, &new, &Overrides::default()).expect("rewrite");
    assert_eq!(out["process"]["args"], json!(["/init", "b"]));
    assert_eq!(out["process"]["env"], json!(["V=2"]));
    for key in ["mounts", "linux", "hooks", "annotations"] {
        assert_eq!(out[key], spec[key], "{key} kept");
    }
    assert_eq!(out["process"]["user"], spec["process"]["user"]);
    let empty = image(&[], &[], &[], &[]);
    assert!(rewrite_spec(&spec, &old, &empty, &Overrides::default()).is_err());
}

#[test]
fn image_configs_parse() {
    let blob = br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/sbin/rich-init","--"],
        "Cmd":["sh"],"Env":["PATH=/bin"],"Labels":{"v":"1"},"WorkingDir":"/w","StopSignal":"SIGRTMIN+3"},
        "rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]}}"#;
    let c = parse_image_config(blob).expect("parse");
    assert_eq!(c.entrypoint, s(&["/sbin/rich-init", "--"]));
    assert_eq!(c.cmd, s(&["sh"]));
    assert_eq!(c.labels.get("v").map(String::as_str), Some("1"));
    assert_eq!(c.working_dir, "/w");
    assert_eq!(c.stop_signal.as_deref(), Some("SIGRTMIN+3"));
    assert_eq!(c.diff_ids.len(), 2);
    for bad in [
        &b"{"[..],
        br#"{"config":{}}"#,
        br#"{"config":{"Cmd":"sh"},"rootfs":{"diff_ids":["x"]}}"#,
    ] {
        assert!(parse_image_config(bad).is_err());
    }
}
