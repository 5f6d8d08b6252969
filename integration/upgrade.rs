//! `upgrade-helper upgrade` that succeeds (issue 5), against a private containerd with runc:
//! a running container keeps its ID, network namespace, address, volume and what the user
//! set, and runs the new image; a stopped one (task exited, or no task) ends upgraded and
//! still stopped; and each of the entrypoint rules. The containers are made with `ctr run`
//! in a netns made with `ip netns add` plus a veth, with a bind-mounted volume, user env and
//! user labels (see upgrade_rig.rs).

use crate::harness::read_or_empty;
use crate::upgrade_image::{ImageSpec, APP_PATH, INIT, PATH};
use crate::upgrade_rig::{env_value, process, Rig};
use serde_json::Value;

const V1: &str = "rich-init-it/app:1";
const V2: &str = "rich-init-it/app:2";

/// Image 1: rich-init running `app`; env and labels that only it has, and MODE from the
/// image that the user overrides.
fn v1() -> ImageSpec {
    ImageSpec::app(V1, "1")
        .env("MODE=image")
        .env("ONLY_OLD=1")
        .label("org.example.mode", "image")
        .label("org.example.only-old", "1")
}

/// Image 2: its own CMD argument, env, labels, working dir and stop signal.
fn v2() -> ImageSpec {
    ImageSpec::app(V2, "2")
        .cmd(&[APP_PATH, "v2-default"])
        .env("MODE=image")
        .env("ONLY_NEW=2")
        .label("org.example.mode", "image")
        .label("org.example.only-new", "2")
        .working_dir("/srv")
        .stop_signal("SIGINT")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The step names of an upgrade's --json report.
fn step_names(report: &Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no steps in {report}"))
        .iter()
        .map(|s| s["step"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn json_report(out: &crate::harness::Outcome) -> Value {
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("upgrade --json did not print one JSON document: {e}\n{out}"))
}

/// The environment of a host pid (/proc/PID/environ).
fn environ(pid: i32) -> Vec<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/environ: {e}"));
    bytes
        .split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

#[test]
fn a_running_container_is_upgraded_in_place() {
    // Image 2 is imported without unpacking: the helper unpacks its top layer itself.
    let rig = Rig::with_unpacked(&[v1(), v2()], &[V2]);
    let spec = rig.container(V1, "web").env("USER2=mine");
    let before = rig.start(&spec);
    rig.wait_log("web", "app 1 up", 1);
    rig.exec(
        "web",
        &["sh", "-c", "head -c 65536 /dev/urandom > /data/random"],
    );
    let random = std::fs::read(rig.volume("web").join("random")).expect("read the volume file");
    assert_eq!(random.len(), 65536);
    let info_before = rig.info("web");

    let out = rig.upgrade(
        "web",
        V2,
        &[
            "--env",
            "CLI_VAR=cli",
            "--env",
            "USER2=cli",
            "--label",
            "cli.label=cli",
            "--json",
        ],
    );
    assert_eq!(out.code(), Some(0), "upgrade\n{out}");
    assert!(
        out.stderr
            .contains(&format!("upgraded web from {V1} to {V2}")),
        "{out}"
    );
    assert!(
        out.stderr.contains("unpacked layer 2/2"),
        "the helper should have unpacked image 2's top layer\n{out}"
    );
    let report = json_report(&out);
    assert_eq!(report["result"], "upgraded", "{report:#}");
    assert_eq!(report["container"], "web");
    assert_eq!(report["old_image"], V1);
    assert_eq!(report["new_image"], V2);
    assert_eq!(report["error"], Value::Null);
    assert!(report["service_gap_ms"].is_u64(), "{report:#}");
    assert!(
        report["grpc_requests"].as_u64().unwrap_or(0) > 0,
        "{report:#}"
    );
    assert_eq!(
        step_names(&report),
        strings(&[
            "1/8 lease",
            "2/8 journal",
            "3/8 snapshot",
            "4/8 stop",
            "5/8 swap",
            "6/8 start",
            "7/8 health",
            "8/8 commit"
        ])
    );

    // Same ID, new image, new rootfs; same netns and address (assert_runs).
    assert_eq!(rig.ctd.containers(), vec!["web".to_string()]);
    let info = rig.info("web");
    assert_eq!(info["Image"], V2, "{info:#}");
    assert_ne!(info["SnapshotKey"], info_before["SnapshotKey"]);
    let task = rig.assert_runs("web", rig.image(V2));
    assert_ne!(task.pid, before.pid, "a new task should run");
    // The same stdio: the new task writes to the old one's log.
    rig.wait_log("web", "app 2 up: v2-default", 1);

    // The volume, byte for byte, seen from the host and from the new task.
    let after = std::fs::read(rig.volume("web").join("random")).expect("read the volume file");
    assert!(after == random, "the volume file changed");
    let inside = rig.read_inside("web", "/data/random");
    assert!(
        inside.as_ref() == Some(&random),
        "the new task's /data/random differs"
    );

    // Args, env, cwd: image values follow the image, the user's stay, the CLI's win.
    let (args, env, cwd) = process(&info);
    assert_eq!(args, rig.image(V2).spec.args(), "image args are replaced");
    assert_eq!(cwd, "/srv", "the working dir follows the image");
    for (key, want) in [
        ("IMAGE_VERSION", Some("2")),
        ("ONLY_OLD", None),
        ("ONLY_NEW", Some("2")),
        ("MODE", Some("custom")),
        ("USER_VAR", Some("mine")),
        ("USER2", Some("cli")),
        ("CLI_VAR", Some("cli")),
        ("PATH", Some(PATH)),
    ] {
        assert_eq!(env_value(&env, key), want, "{key} in the spec: {env:?}");
    }
    let running = environ(task.pid);
    for key in ["IMAGE_VERSION", "MODE", "USER2", "CLI_VAR"] {
        assert_eq!(
            env_value(&running, key),
            env_value(&env, key),
            "{key} in the new task's environment: {running:?}"
        );
    }
    let labels = &info["Labels"];
    for (key, want) in [
        ("org.example.version", Some("2")),
        ("org.example.only-old", None),
        ("org.example.only-new", Some("2")),
        ("org.example.mode", Some("custom")),
        ("user.label", Some("mine")),
        ("cli.label", Some("cli")),
        ("io.containerd.image.config.stop-signal", Some("SIGINT")),
    ] {
        assert_eq!(labels[key].as_str(), want, "label {key}: {labels:#}");
    }
    // Everything else in the spec is kept.
    for part in ["linux", "mounts", "root", "hostname"] {
        assert_eq!(
            info["Spec"][part], info_before["Spec"][part],
            "spec.{part} changed"
        );
    }

    rig.assert_no_journal("web");
    let status = rig.status("web");
    assert!(
        status.stdout.contains(&format!("image: {V2}")) && status.stdout.contains("task: running"),
        "{status}"
    );
    rig.assert_nothing_leaked();
}

#[test]
fn stopped_containers_end_upgraded_and_stay_stopped() {
    let rig = Rig::new(&[v1(), v2()]);
    // A task that has exited: it prints its rootfs's version and ends.
    let exited = rig.container(V1, "exited").cmd(&[
        "/bin/sh",
        "-c",
        "echo version $(cat /etc/image-version)",
    ]);
    rig.ctd.run_detached(&exited);
    rig.ctd.wait_task_status("exited", "STOPPED");
    // No task at all: started, killed and deleted.
    rig.start(&rig.container(V1, "notask"));
    rig.ctd
        .ctr_ok(["tasks", "kill", "--signal", "SIGKILL", "notask"]);
    rig.ctd.wait_task_status("notask", "STOPPED");
    rig.ctd.ctr_ok(["tasks", "delete", "notask"]);
    assert!(rig.ctd.task("notask").is_none());

    for id in ["exited", "notask"] {
        let out = rig.upgrade(id, V2, &["--json"]);
        assert_eq!(out.code(), Some(0), "upgrade of {id}\n{out}");
        let report = json_report(&out);
        assert_eq!(report["result"], "upgraded", "{report:#}");
        assert_eq!(report["service_gap_ms"], Value::Null, "{report:#}");
        assert_eq!(
            step_names(&report),
            strings(&[
                "1/8 lease",
                "2/8 journal",
                "3/8 snapshot",
                "4/8 stop",
                "5/8 swap",
                "8/8 commit"
            ]),
            "a stopped container gets no new task and no health gate"
        );
        assert_eq!(rig.info(id)["Image"], V2);
        rig.assert_not_running(id);
        rig.assert_no_journal(id);
        let status = rig.status_json(id);
        assert_eq!(status["image"], V2, "{status}");
        assert_ne!(status["task"], "running", "{status}");
    }
    assert_eq!(
        process(&rig.info("exited")).0,
        strings(&["/bin/sh", "-c", "echo version $(cat /etc/image-version)"]),
        "args the user set are kept"
    );
    assert_eq!(process(&rig.info("notask")).0, rig.image(V2).spec.args());
    rig.assert_nothing_leaked();

    // Started by the user afterwards, each runs the new image in the same netns.
    for id in ["exited", "notask"] {
        let log = rig.work.join(format!("{id}-second.log"));
        rig.ctd.ctr_ok([
            "tasks",
            "start",
            "--detach",
            &format!("--log-uri=file://{}", log.display()),
            id,
        ]);
        let want = if id == "exited" {
            "version 2"
        } else {
            "app 2 up: v2-default"
        };
        crate::harness::wait_for(&format!("{want:?} in {}", log.display()), || {
            read_or_empty(&log).contains(want).then_some(())
        });
    }
    rig.assert_runs("notask", rig.image(V2));
}

/// One entrypoint rule: a container, how it was made and upgraded, and what it runs then.
struct ArgsCase<'a> {
    id: &'a str,
    /// The args given to `ctr run` (None: the image's).
    created: Option<Vec<&'a str>>,
    /// The upgrade's options.
    options: Vec<&'a str>,
    /// The args after the upgrade.
    want: Vec<String>,
    /// What `app` prints with those args.
    line: &'a str,
}

#[test]
fn entrypoint_rules() {
    let rig = Rig::new(&[v1(), v2()]);
    let user_args = [INIT, &[APP_PATH, "user-args"]].concat();
    let cases = [
        ArgsCase {
            id: "explicit-entrypoint",
            created: None,
            options: vec!["--entrypoint", APP_PATH],
            want: strings(&[APP_PATH]),
            line: "app 2 up: \n",
        },
        ArgsCase {
            id: "explicit-cmd",
            created: Some(user_args.clone()),
            options: vec!["--", APP_PATH, "from-cmd"],
            want: strings(&[INIT, &[APP_PATH, "from-cmd"]].concat()),
            line: "app 2 up: from-cmd",
        },
        ArgsCase {
            id: "entrypoint-and-cmd",
            created: None,
            options: vec!["--entrypoint", APP_PATH, "--", "both"],
            want: strings(&[APP_PATH, "both"]),
            line: "app 2 up: both",
        },
        ArgsCase {
            id: "user-args",
            created: Some(user_args.clone()),
            options: vec![],
            want: strings(&user_args),
            line: "app 2 up: user-args",
        },
        ArgsCase {
            id: "image-args",
            created: None,
            options: vec![],
            want: rig.image(V2).spec.args(),
            line: "app 2 up: v2-default",
        },
    ];
    for case in &cases {
        let id = case.id;
        let mut spec = rig.container(V1, id);
        if let Some(argv) = &case.created {
            spec = spec.cmd(argv);
        }
        rig.start(&spec);
        rig.wait_log(id, "app 1 up", 1);
        // An entrypoint that is not rich-init ignores SIGTERM as pid 1: a short timeout.
        let mut extra = vec!["--stop-timeout=1s"];
        extra.extend(case.options.iter());
        let out = rig.upgrade(id, V2, &extra);
        assert_eq!(out.code(), Some(0), "upgrade of {id}\n{out}");
        assert_eq!(process(&rig.info(id)).0, case.want, "{id}'s args");
        rig.assert_runs(id, rig.image(V2));
        rig.wait_log(id, case.line, 1);
        rig.assert_no_journal(id);
    }
    rig.assert_nothing_leaked();
}

#[test]
fn the_saved_old_spec_goes_with_the_journal() {
    // While an upgrade runs, the old spec is kept in a container extension (the issue puts
    // it there); once the journal is gone, so must its data be. containerd 1.6 cannot
    // delete an extension (neither `extensions.KEY` nor a whole `extensions` map without
    // the key removes it), so an entry with no type and no data is what is left.
    let rig = Rig::new(&[v1(), v2()]);
    rig.ctd.ctr_ok(["containers", "create", V1, "plain"]);
    let out = rig.upgrade("plain", V2, &[]);
    assert_eq!(out.code(), Some(0), "upgrade\n{out}");
    rig.assert_no_journal("plain");
    let info = rig.info("plain");
    let saved = info["Extensions"].get(crate::upgrade_rig::OLD_SPEC_EXTENSION);
    assert!(
        saved.is_none() || saved == Some(&serde_json::json!({})),
        "the extension {} still holds data after the upgrade\n{:#}",
        crate::upgrade_rig::OLD_SPEC_EXTENSION,
        info["Extensions"]
    );
}
