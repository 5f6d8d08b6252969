//! rich mode under dockerd (issue 13): rich-init as the image's ENTRYPOINT with the busybox
//! crond and syslogd presets, `docker exec … rich-init ctl`, `docker stop`; and finding 4,
//! a second rich-init started by `docker exec` with the container's RICH_INIT_RICH=1 must
//! leave pid 1's control socket and env file alone. The daemon is docker.rs's [`Engine`].

use crate::docker::{Engine, Init, IMAGE};
use crate::harness::wait_for;
use serde_json::Value;
use std::time::Instant;

const RICH_ENTRYPOINT: &str =
    r#"ENTRYPOINT ["/sbin/rich-init","--rich","--services","crond,syslogd","--"]"#;

/// `docker exec C /sbin/rich-init ctl status --json`, parsed, when it answers.
fn ctl_status(e: &Engine, c: &str) -> Option<Value> {
    let out = e.docker(&["exec", c, "/sbin/rich-init", "ctl", "status", "--json"]);
    if out.code != Some(0) {
        return None;
    }
    serde_json::from_str(&out.stdout).ok()
}

/// The state of each service `ctl status --json` lists, by name.
fn states(status: &Value) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = status["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (text("name"), text("state"))
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn docker_rich_entrypoint_services_ctl_and_stop() {
    let e = Engine::start(Init::Ours, &[RICH_ENTRYPOINT]);
    let c = e.ok(&["run", "-d", "--network", "none", IMAGE, "sleep", "1000"]);
    let running = |s: &Value| {
        let want = [("crond", "running"), ("syslogd", "running")];
        states(s)
            == want
                .iter()
                .map(|(n, st)| (n.to_string(), st.to_string()))
                .collect::<Vec<_>>()
    };
    let status = wait_for(
        &format!("`docker exec {c} /sbin/rich-init ctl status` to list crond and syslogd running"),
        || ctl_status(&e, &c).filter(running),
    );
    let text = e.ok(&["exec", &c, "/sbin/rich-init", "ctl", "status"]);
    for name in ["crond", "syslogd"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(name) && l.contains("running")),
            "ctl status lists {name} running:\n{text}\n(json: {status})"
        );
    }
    let started = Instant::now();
    e.ok(&["stop", "-t", "10", &c]);
    let took = started.elapsed();
    let code = e.inspect(&c, "{{.State.ExitCode}}");
    eprintln!("docker stop of the rich container: exit code {code}, took {took:?}");
    // CMD's: sleep killed by the SIGTERM rich-init forwards (not docker's SIGKILL, 137).
    assert_eq!(code, "143", "docker stop's exit code of the rich container");
}

/// Finding 4: `docker exec` inherits RICH_INIT_RICH=1, so `rich-init -- true` in it would be
/// rich too; it must not bind, rewrite or remove what pid 1 serves and wrote.
#[test]
fn docker_exec_with_rich_env_leaves_pid1_control_socket_and_env() {
    let e = Engine::start(Init::Ours, &[]);
    let c = e.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "-e",
        "RICH_INIT_RICH=1",
        "--entrypoint",
        "/sbin/rich-init",
        IMAGE,
        "--",
        "sleep",
        "1000",
    ]);
    wait_for(&format!("pid 1 of {c} to answer ctl status"), || {
        ctl_status(&e, &c)
    });
    let env_before = e.ok(&["exec", &c, "cat", "/run/rich-init/env"]);
    let second = e.docker(&[
        "exec",
        "-e",
        "SECOND_INIT=yes",
        &c,
        "/sbin/rich-init",
        "--",
        "true",
    ]);
    let after = e.docker(&["exec", &c, "/sbin/rich-init", "ctl", "status"]);
    assert_eq!(
        after.code,
        Some(0),
        "ctl still reaches pid 1 after a second rich-init ran in `docker exec`\n\
         --- the second init ---\n{second}\n--- ctl status ---\n{after}"
    );
    let env_after = e.ok(&["exec", &c, "cat", "/run/rich-init/env"]);
    assert!(
        !env_after.contains("SECOND_INIT"),
        "pid 1's env file is not rewritten by the second init\n\
         before:\n{env_before}\nafter:\n{env_after}\n{second}"
    );
    eprintln!("the second init in docker exec: {second}");
}
