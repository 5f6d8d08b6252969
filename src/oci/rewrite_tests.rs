use super::*;

fn base() -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "args": ["sh", "-c", "echo hi"],
            "env": ["PATH=/bin"],
            "cwd": "/",
            "capabilities": {"bounding": ["CAP_KILL"]}
        },
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "pid"}]}
    })
}

fn request(mode: Mode) -> Request {
    Request {
        mode,
        binary: "/usr/local/bin/rich-init".into(),
        initscript: Some("/init.sh".into()),
        initscript_stage: None,
        services: Some("crond,syslogd".into()),
        readonly: Default::default(),
    }
}

#[test]
fn rich_init_mode_wraps_args_mounts_the_binary_and_adds_hooks() {
    let out = inject(&base(), &request(Mode::RichInit)).expect("inject");
    assert_eq!(
        out["process"]["args"],
        json!([
            "/.rich-init/rich-init",
            "--rich",
            "--services",
            "crond,syslogd",
            "--",
            "sh",
            "-c",
            "echo hi"
        ])
    );
    assert_eq!(
        out["process"]["env"],
        json!([
            "PATH=/bin",
            "rich_mode=true",
            "rich_mode_launch_manner=rich-init"
        ])
    );
    let mounts = out["mounts"].as_array().expect("mounts");
    assert_eq!(mounts.len(), 2);
    assert_eq!(mounts[1]["destination"], "/.rich-init/rich-init");
    assert_eq!(mounts[1]["source"], "/usr/local/bin/rich-init");
    assert!(mounts[1]["options"]
        .as_array()
        .is_some_and(|o| o.contains(&json!("ro"))));
    for stage in ["prestart", "poststop"] {
        assert_eq!(
            out["hooks"][stage],
            json!([{"path": "/usr/local/bin/rich-init", "args": ["rich-init", "hook", stage]}])
        );
    }
    assert_eq!(out["annotations"][ANNOTATION_RICH], "true");
    assert_eq!(out["annotations"]["io.rich-init.initscript"], "/init.sh");
    assert!(record(&out).expect("record").is_some());
}

#[test]
fn personalities_are_mounted_under_their_name() {
    for (mode, path) in [
        (Mode::DumbInit, "/.rich-init/dumb-init"),
        (Mode::Tini, "/.rich-init/tini"),
    ] {
        let out = inject(&base(), &request(mode)).expect("inject");
        assert_eq!(
            out["process"]["args"],
            json!([path, "--", "sh", "-c", "echo hi"])
        );
        assert_eq!(out["mounts"][1]["destination"], path);
    }
}

#[test]
fn system_init_modes_boot_units_unprivileged_and_the_image_init_privileged() {
    for mode in [Mode::Systemd, Mode::SbinInit] {
        // Without CAP_SYS_ADMIN: rich-init --systemd, CMD kept, systemctl and journalctl.
        let out = inject(&base(), &request(mode)).expect("inject unprivileged");
        assert_eq!(
            out["process"]["args"],
            json!([
                "/.rich-init/rich-init",
                "--systemd",
                "--",
                "sh",
                "-c",
                "echo hi"
            ])
        );
        let dests: Vec<&str> = out["mounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .filter_map(|m| m["destination"].as_str())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/.rich-init/rich-init",
                "/usr/bin/systemctl",
                "/usr/bin/journalctl"
            ]
        );
        assert!(out["annotations"][ANNOTATION_STOP_SIGNAL].is_null());
        assert_eq!(remove(&out).expect("remove"), base());
        // An image that boots its own init: no CMD, rich-init runs until SIGTERM.
        let mut boots = base();
        boots["process"]["args"] = json!(["/lib/systemd/systemd"]);
        let out = inject(&boots, &request(mode)).expect("inject");
        assert_eq!(
            out["process"]["args"],
            json!(["/.rich-init/rich-init", "--systemd"])
        );
        assert_eq!(remove(&out).expect("remove"), boots);
        let mut privileged = base();
        privileged["process"]["capabilities"]["bounding"] = json!(["CAP_SYS_ADMIN"]);
        let out = inject(&privileged, &request(mode)).expect("inject");
        assert_eq!(out["process"]["args"], json!(["/sbin/init"]));
        let dests: Vec<&str> = out["mounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .filter_map(|m| m["destination"].as_str())
            .collect();
        assert_eq!(dests, ["/proc", "/run", "/tmp", "/sys/fs/cgroup"]);
        assert_eq!(out["annotations"][ANNOTATION_STOP_SIGNAL], "SIGRTMIN+3");
        assert_eq!(remove(&out).expect("remove"), privileged);
    }
}

#[test]
fn remove_undoes_inject_exactly_for_every_mode_and_shape() {
    let mut bare = base();
    bare.as_object_mut().expect("object").shift_remove("mounts");
    bare["process"]
        .as_object_mut()
        .expect("process")
        .shift_remove("env");
    let mut with_hooks = base();
    with_hooks["hooks"] = json!({"prestart": [{"path": "/bin/net"}]});
    with_hooks["annotations"] = json!({"io.rich-init.rich": "false", "x": "y"});
    with_hooks["process"]["env"] = json!(["rich_mode=false", "PATH=/bin"]);
    for config in [base(), bare, with_hooks] {
        for mode in [Mode::RichInit, Mode::DumbInit, Mode::Tini] {
            let out = inject(&config, &request(mode)).expect("inject");
            let back = remove(&out).expect("remove");
            if config["process"]["env"][0] == "rich_mode=false" {
                // Replaced variables come back, at the end.
                assert_eq!(
                    back["process"]["env"],
                    json!(["PATH=/bin", "rich_mode=false"])
                );
            } else {
                assert_eq!(back, config, "{mode:?}");
                assert_eq!(back.to_string(), config.to_string(), "key order kept");
            }
        }
    }
}

#[test]
fn remove_keeps_changes_made_after_injection() {
    let mut out = inject(&base(), &request(Mode::RichInit)).expect("inject");
    // The user's command after "--" was edited.
    let args = out["process"]["args"].as_array_mut().expect("args");
    let last = args.len() - 1;
    args[last] = json!("echo edited");
    out["mounts"]
        .as_array_mut()
        .expect("mounts")
        .push(json!({"destination": "/data", "type": "bind", "source": "/srv"}));
    out["hooks"]["prestart"]
        .as_array_mut()
        .expect("prestart")
        .push(json!({"path": "/bin/cni"}));
    let back = remove(&out).expect("remove");
    assert_eq!(back["process"]["args"], json!(["sh", "-c", "echo edited"]));
    assert_eq!(back["mounts"].as_array().map(Vec::len), Some(2));
    assert_eq!(back["hooks"], json!({"prestart": [{"path": "/bin/cni"}]}));
}

#[test]
fn bad_shapes_are_refused() {
    assert_eq!(
        inject(&json!([]), &request(Mode::RichInit)),
        Err(RewriteError::NotObject)
    );
    let mut no_args = base();
    no_args["process"]["args"] = json!([]);
    assert_eq!(
        inject(&no_args, &request(Mode::RichInit)),
        Err(RewriteError::NoArgs)
    );
    let mut bad_mounts = base();
    bad_mounts["mounts"] = json!("nope");
    assert!(matches!(
        inject(&bad_mounts, &request(Mode::RichInit)),
        Err(RewriteError::Shape(..))
    ));
    let mut damaged = base();
    damaged["annotations"] = json!({ANNOTATION_RECORD: "{not json"});
    assert!(matches!(remove(&damaged), Err(RewriteError::Record(_))));
}

#[test]
fn a_read_only_rootfs_gets_its_tmpfs_mounts_and_they_come_out_again() {
    let mut config = base();
    config["root"]["readonly"] = json!(true);
    let plan = super::super::readonly::plan(&config, Some("crond,syslogd"), &|_| false);
    let req = Request {
        readonly: plan,
        ..request(Mode::RichInit)
    };
    let out = inject(&config, &req).expect("inject");
    assert_eq!(
        out["process"]["args"],
        json!([
            "/.rich-init/rich-init",
            "--rich",
            "--profile-hook",
            "",
            "--services",
            "crond,syslogd",
            "--",
            "sh",
            "-c",
            "echo hi"
        ])
    );
    let dests: Vec<&str> = out["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .filter_map(|m| m["destination"].as_str())
        .collect();
    assert_eq!(
        dests,
        [
            "/proc",
            "/.rich-init/rich-init",
            "/run",
            "/var/spool/cron",
            "/var/log"
        ]
    );
    let back = remove(&out).expect("remove");
    assert_eq!(
        back.to_string(),
        config.to_string(),
        "exactly what was added"
    );
    assert_eq!(
        inject(&back, &req).expect("again"),
        out,
        "injecting twice is once"
    );
}

#[test]
fn a_create_runtime_initscript_gets_its_hook_and_loses_it_on_remove() {
    let req = Request {
        initscript_stage: Some("createRuntime".into()),
        ..request(Mode::RichInit)
    };
    let out = inject(&base(), &req).expect("inject");
    let hooks = out["hooks"].as_object().expect("hooks");
    let stages: Vec<&String> = hooks.keys().collect();
    assert_eq!(stages, ["prestart", "createRuntime", "poststop"]);
    assert_eq!(
        out["hooks"]["createRuntime"][0]["args"],
        json!(["rich-init", "hook", "createRuntime"])
    );
    assert_eq!(
        out["annotations"]["io.rich-init.initscript-stage"],
        "createRuntime"
    );
    assert_eq!(remove(&out).expect("remove"), base());
    // The annotation set by the user before inject counts the same.
    let mut theirs = base();
    theirs["annotations"] = json!({"io.rich-init.initscript-stage": "createRuntime"});
    let out = inject(&theirs, &request(Mode::RichInit)).expect("inject");
    assert!(out["hooks"]["createRuntime"].is_array(), "{out}");
    assert_eq!(remove(&out).expect("remove"), theirs);
    theirs["annotations"]["io.rich-init.initscript-stage"] = json!("createContainer");
    let err = inject(&theirs, &request(Mode::RichInit)).expect_err("no such stage");
    assert!(
        err.to_string().contains("io.rich-init.initscript-stage"),
        "{err}"
    );
}
