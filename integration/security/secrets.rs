//! Environment values hold secrets: no log line, error line or status output of
//! rich-init (rich mode, a bad service file, the hook, `oci inject --dry-run`) or of
//! upgrade-helper (upgrade, a failed upgrade, usage errors, status, recover) repeats one
//! at the default level. Names may appear; values never.
//!
//! Not logs, and so not checked: the env file that rich mode writes for cron jobs and
//! logins (its job is to hold the values), and containerd's own records (`ctr containers
//! info` shows the spec).

use crate::harness::{Outcome, PidNs};
use crate::oci_rig::{hook, inject, state_json, write_script};
use crate::rich::{toml_str, Rig as RichRig};
use crate::runc::{Bundle, Spec};
use crate::upgrade_image::ImageSpec;
use crate::upgrade_rig::Rig;

/// Each part of the test has its own secret, so that a leak says where it came from.
fn secret(part: &str) -> String {
    format!("s3cr3t-{part}-{}", std::process::id())
}

fn assert_no_secret(what: &str, out: &Outcome, secret: &str) {
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "{what} repeated the secret value {secret:?}\n{out}"
    );
}

#[test]
fn rich_mode_and_the_hook_never_log_an_env_value() {
    let s = secret("rich");
    let rig = RichRig::new("secrets");
    // A service with a secret in its env that fails, one that logs, and the CMD.
    rig.service(
        "fails",
        "echo about to fail; : > \"$D/fails.ran\"; exit 3",
        &format!(
            "restart = \"never\"\nenv = {{ SECRET_TOKEN = {} }}\n",
            toml_str(&s)
        ),
    );
    rig.service(
        "talks",
        "echo SECRET_TOKEN is set: ${SECRET_TOKEN:+yes}; : > \"$D/talks.ran\"; exec sleep 1000",
        "",
    );
    let out = rig
        .run(
            PidNs::Host,
            &[],
            "while [ ! -e \"$D/fails.ran\" ] || [ ! -e \"$D/talks.ran\" ]; do sleep 0.05; done; exit 0",
        )
        .env("SECRET_TOKEN", &s)
        .env("DB_PASSWORD", &s)
        .output();
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(
        out.stdout.contains("[talks] SECRET_TOKEN is set: yes"),
        "the service saw the variable\n{out}"
    );
    assert_no_secret("rich mode", &out, &s);

    // A service file whose env value has the wrong type: the error names the key only.
    let bad = RichRig::new("secrets-bad");
    bad.service_file(
        "bad.toml",
        &format!(
            "command = [\"/bin/true\"]\nenv = {{ TOKEN = 4242{} }}\n",
            std::process::id()
        ),
    );
    let out = bad.run(PidNs::Host, &[], "exit 0").output();
    assert_eq!(out.code(), Some(78), "{out}");
    assert!(out.stderr.contains("env.TOKEN"), "the key is named\n{out}");
    assert_no_secret(
        "a bad service file",
        &out,
        &format!("4242{}", std::process::id()),
    );

    // The hook: the secret in config.json's env, on --env, and a failing host script.
    let s = secret("hook");
    let bundle = Bundle::new();
    bundle.write_config(&Spec::new(&["/bin/sh", "-c", "exit 0"]).env(&format!("SECRET_TOKEN={s}")));
    let hooks = crate::harness::TempDir::new("secrets-hooks");
    for stage in ["prestart", "poststop"] {
        write_script(
            &hooks.join(stage).join("10-fail"),
            "#!/bin/sh\necho failing now\nexit 3\n",
        );
    }
    let dir = hooks.path().display().to_string();
    let env = format!("SECRET_TOKEN={s}");
    for (stage, status) in [("prestart", "created"), ("poststop", "stopped")] {
        let out = hook(
            &[stage, "--log", "stderr", "--hooks-dir", &dir, "--env", &env],
            state_json("secrets", 0, status, bundle.path()).as_bytes(),
        );
        assert!(
            out.stderr.contains("10-fail"),
            "the failure is logged\n{out}"
        );
        assert_no_secret(&format!("hook {stage}"), &out, &s);
    }
    for bad in [s.clone(), format!("={s}")] {
        let out = hook(&["prestart", "--env", &bad], b"");
        assert_eq!(out.code(), Some(2), "{out}");
        assert_no_secret("a hook usage error", &out, &s);
    }
    // `oci inject --dry-run` shows what it would change; the env is not part of that.
    let out = inject(bundle.path(), &["--dry-run"]);
    assert_eq!(out.code(), Some(0), "{out}");
    assert_no_secret("oci inject --dry-run", &out, &s);
}

#[test]
fn upgrade_helper_never_logs_an_env_value() {
    let (old, new) = (secret("old"), secret("new"));
    let rig = Rig::new(&[
        ImageSpec::app("rich-init-it/app:1", "1"),
        ImageSpec::app("rich-init-it/app:2", "2"),
    ]);
    rig.start(
        &rig.container("rich-init-it/app:1", "web")
            .env(&format!("SECRET_TOKEN={old}")),
    );
    rig.wait_log("web", "app 1 up", 1);
    let env = format!("SECRET_TOKEN={new}");
    let mut outs = Vec::new();
    // Usage errors first (bad --env), then a failed upgrade, then one that works.
    for bad in [new.clone(), format!("={new}")] {
        let out = rig.upgrade("web", "rich-init-it/app:2", &["--env", &bad]);
        assert_eq!(out.code(), Some(2), "{out}");
        outs.push(("a usage error", out));
    }
    let out = rig.upgrade("web", "rich-init-it/app:missing", &["--env", &env]);
    assert_eq!(out.code(), Some(1), "{out}");
    outs.push(("a refused upgrade", out));
    let out = rig.upgrade_with_fault("web", "rich-init-it/app:2", "fail@health");
    assert_eq!(out.code(), Some(1), "{out}");
    outs.push(("a rolled-back upgrade", out));
    let out = rig.upgrade("web", "rich-init-it/app:2", &["--env", &env, "--json"]);
    assert_eq!(out.code(), Some(0), "{out}");
    outs.push(("upgrade --json", out));
    assert_eq!(
        rig.text_inside("web", "/proc/1/environ")
            .map(|e| e.contains(&new)),
        Some(true),
        "the new value reached the container"
    );
    outs.push(("status", rig.status("web")));
    let json = rig.helper().args(["status", "web", "--json"]).output();
    outs.push(("status --json", json));
    outs.push(("recover", rig.recover(&[])));
    for (what, out) in &outs {
        assert_no_secret(what, out, &old);
        assert_no_secret(what, out, &new);
    }
}
