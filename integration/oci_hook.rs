//! `rich-init hook STAGE` run directly on the host, as a runtime would: bad input (one
//! clear line, never a panic), and the host scripts of --hooks-dir (order, cleared
//! environment, cwd, stdin bytes, no inherited fds, failures, timeouts).

use crate::harness::{read_or_empty, stat, wait_for, TempDir};
use crate::oci_rig::{
    assert_no_panic, assert_one_error_line, hook, hook_cmd, state_json, write_script,
};
use crate::runc::{Bundle, Spec};
use std::path::Path;

fn bundle() -> Bundle {
    let bundle = Bundle::new();
    bundle.write_config(&Spec::new(&["/bin/sh", "-c", "exit 0"]));
    bundle
}

fn created_state(bundle: &Path) -> String {
    state_json("hook-it", 4242, "created", bundle)
}

#[test]
fn bad_state_on_stdin_is_one_line() {
    let b = bundle();
    let good = created_state(b.path());
    let truncated = &good[..good.len() / 2];
    let no_id = good.replace(r#""id":"hook-it","#, "");
    let no_bundle =
        state_json("hook-it", 4242, "created", Path::new("X")).replace(r#","bundle":"X""#, "");
    let cases: [(&str, &str, &[&str]); 5] = [
        ("garbage", "this is not json at all\n", &[]),
        ("empty", "", &[]),
        ("truncated", truncated, &[]),
        ("missing id", &no_id, &["id"]),
        ("missing bundle", &no_bundle, &["bundle"]),
    ];
    for (label, stdin, mentions) in cases {
        let out = hook(&["prestart"], stdin.as_bytes());
        let line = assert_one_error_line(&out, 1, "rich-init hook prestart: ", mentions);
        assert!(
            line.contains("state") || line.contains("stdin"),
            "{label}: the line says the state on stdin is the problem\n{out}"
        );
    }
}

#[test]
fn unknown_stage_and_bad_flag_are_usage_errors() {
    let b = bundle();
    let state = created_state(b.path());
    let out = hook(&["prestop"], state.as_bytes());
    assert_one_error_line(&out, 2, "rich-init hook: ", &["prestop"]);
    let out = hook(&["prestart", "--frobnicate"], state.as_bytes());
    assert_one_error_line(&out, 2, "rich-init hook: ", &["--frobnicate"]);
    let out = hook(&[], state.as_bytes());
    assert_one_error_line(&out, 2, "rich-init hook: ", &[]);
}

#[test]
fn missing_or_broken_bundle_is_one_line_naming_the_path() {
    let gone = TempDir::new("gone");
    let missing = gone.join("no-such-bundle");
    let out = hook(
        &["prestart"],
        state_json("x", 4242, "created", &missing).as_bytes(),
    );
    assert_one_error_line(
        &out,
        1,
        "rich-init hook prestart: ",
        &[&missing.display().to_string()],
    );

    let empty = TempDir::new("no-config");
    let out = hook(
        &["prestart"],
        state_json("x", 4242, "created", empty.path()).as_bytes(),
    );
    let config = empty.join("config.json").display().to_string();
    assert_one_error_line(&out, 1, "rich-init hook prestart: ", &[&config]);

    let b = bundle();
    b.write_raw_config("{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [");
    let out = hook(
        &["poststop"],
        state_json("x", 0, "stopped", b.path()).as_bytes(),
    );
    let config = b.config_path().display().to_string();
    assert_one_error_line(&out, 1, "rich-init hook poststop: ", &[&config]);
}

/// A host hook that records its name, environment, cwd, stdin and open fds.
const RECORD: &str = r#"#!/bin/sh
d=$(dirname "$0")/../out
echo "$(basename "$0")" >> "$d/order"
env | sort > "$d/env.$(basename "$0")"
pwd > "$d/cwd"
cat > "$d/stdin.$(basename "$0")"
echo "said by $(basename "$0")"
echo "complained by $(basename "$0")" >&2
"#;

#[test]
fn host_scripts_run_in_name_order_with_a_cleared_environment() {
    let b = bundle();
    let dir = TempDir::new("hooks-dir");
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir out");
    for name in ["20-b", "10-a", "3-c"] {
        write_script(&dir.join("prestart").join(name), RECORD);
    }
    crate::oci_rig::write_file(&dir.join("prestart/15-not-executable"), RECORD, 0o644);
    // This one runs last: no fd beyond 0, 1, 2 (ls's own directory fd is the lowest free: 3).
    write_script(
        &dir.join("prestart/9-fds"),
        "#!/bin/sh\nexec ls /proc/self/fd > \"$(dirname \"$0\")/../out/fds\"\n",
    );
    let decoy = TempDir::new("decoy-hooks");
    write_script(
        &decoy.join("prestart/10-a"),
        "#!/bin/sh\ntouch \"$0.ran\"\n",
    );
    // Unusual spacing and an unknown field: scripts must get these bytes exactly.
    let state = format!(
        "{{ \"ociVersion\": \"1.0.2\", \"id\": \"hook-it\", \"pid\": 4242,\n  \"status\": \"created\", \"bundle\": {}, \"x-extra\": [1, 2] }}\n",
        crate::runc::json_string(&b.path().display().to_string())
    );
    let (run, _stdin) = hook_cmd(
        &["prestart", "--log", "stderr", "--env", "EXTRA=one two"],
        state.as_bytes(),
    );
    let mut run = run
        .arg("--hooks-dir")
        .arg(dir.path())
        .env("RICH_INIT_HOOKS_DIR", decoy.path())
        .env("LEAKED_FROM_CALLER", "1");
    // SAFETY: dup2 is async-signal-safe; fd 9 is left open, without close-on-exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(run.command_mut(), || {
            match libc::dup2(2, 9) {
                9 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let out = run.output();
    assert_eq!(out.code(), Some(0), "{out}");
    assert_no_panic(&out);
    assert_eq!(
        read_or_empty(&out_dir.join("order")),
        "10-a\n20-b\n3-c\n",
        "byte order of names, executables only\n{out}"
    );
    assert!(
        !decoy.join("prestart/10-a.ran").exists(),
        "--hooks-dir wins over RICH_INIT_HOOKS_DIR\n{out}"
    );
    let bundle_path = b.path().display().to_string();
    let want_env = [
        "EXTRA=one two".to_string(),
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        format!("PWD={bundle_path}"),
        format!("RICH_INIT_BUNDLE={bundle_path}"),
        "RICH_INIT_CONTAINER_ID=hook-it".into(),
        "RICH_INIT_CONTAINER_PID=4242".into(),
        "RICH_INIT_STAGE=prestart".into(),
    ];
    for name in ["10-a", "20-b", "3-c"] {
        let env = read_or_empty(&out_dir.join(format!("env.{name}")));
        assert_eq!(
            env.lines().collect::<Vec<_>>(),
            want_env,
            "{name}'s environment\n{out}"
        );
        let stdin = read_or_empty(&out_dir.join(format!("stdin.{name}")));
        assert_eq!(
            stdin, state,
            "{name} gets the state bytes as received\n{out}"
        );
    }
    assert_eq!(
        read_or_empty(&out_dir.join("cwd")),
        format!("{bundle_path}\n"),
        "cwd\n{out}"
    );
    assert_eq!(
        read_or_empty(&out_dir.join("fds")),
        "0\n1\n2\n3\n",
        "inherited fds\n{out}"
    );
    for (said, name) in [("said by", "10-a"), ("complained by", "3-c")] {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("[rich-init hook prestart ")
                    && l.contains(name)
                    && l.ends_with(&format!("] {said} {name}"))),
            "output logged as `[rich-init hook prestart NAME] line`\n{out}"
        );
    }
}

/// prestart: the first failing script stops the hook with one line naming it by path.
#[test]
fn a_failing_prestart_script_stops_the_hook() {
    let cases = [
        ("exit 3", "exit status 3"),
        ("kill -9 $$", "killed by signal 9"),
    ];
    for (body, how) in cases {
        let b = bundle();
        let dir = TempDir::new("hooks-fail");
        let failing = dir.join("prestart/10-fail");
        write_script(&failing, &format!("#!/bin/sh\n{body}\n"));
        write_script(
            &dir.join("prestart/20-after"),
            "#!/bin/sh\ntouch \"$0.ran\"\n",
        );
        let out = hook(
            &[
                "prestart",
                "--log",
                "stderr",
                "--hooks-dir",
                &dir.path().display().to_string(),
            ],
            created_state(b.path()).as_bytes(),
        );
        let want = format!("{} failed: {how}", failing.display());
        assert_one_error_line(&out, 1, "rich-init hook prestart: ", &[&want]);
        assert!(
            !dir.join("prestart/20-after.ran").exists(),
            "later scripts do not run\n{out}"
        );
    }
}

fn gone_or_zombie(pid: i32) -> bool {
    stat(pid).is_none_or(|s| s.state == 'Z' || s.state == 'X')
}

#[test]
fn a_script_past_its_timeout_is_killed_with_its_group() {
    let b = bundle();
    let dir = TempDir::new("hooks-timeout");
    let script = dir.join("prestart/10-hang");
    write_script(
        &script,
        "#!/bin/sh\nsleep 1000 &\necho $! > \"$0.child\"\necho $$ > \"$0.pid\"\nwait\n",
    );
    let out = hook(
        &[
            "prestart",
            "--log",
            "stderr",
            "--timeout",
            "1s",
            "--hooks-dir",
            &dir.path().display().to_string(),
        ],
        created_state(b.path()).as_bytes(),
    );
    let want = format!("{} failed: timed out after 1s", script.display());
    assert_one_error_line(&out, 1, "rich-init hook prestart: ", &[&want]);
    for file in ["10-hang.pid", "10-hang.child"] {
        let pid: i32 = read_or_empty(&dir.join("prestart").join(file))
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{file} was written\n{out}"));
        wait_for(&format!("{file} ({pid}) to be killed"), || {
            gone_or_zombie(pid).then_some(())
        });
    }
}

/// poststop: failures are warnings, every script runs, exit 0.
#[test]
fn poststop_failures_are_warnings() {
    let b = bundle();
    let dir = TempDir::new("hooks-poststop");
    write_script(&dir.join("poststop/10-fail"), "#!/bin/sh\nexit 4\n");
    write_script(
        &dir.join("poststop/20-after"),
        "#!/bin/sh\ntouch \"$0.ran\"\n",
    );
    let out = hook(
        &[
            "poststop",
            "--log",
            "stderr",
            "--hooks-dir",
            &dir.path().display().to_string(),
        ],
        state_json("hook-it", 0, "stopped", b.path()).as_bytes(),
    );
    assert_eq!(out.code(), Some(0), "{out}");
    assert_no_panic(&out);
    assert!(
        dir.join("poststop/20-after.ran").exists(),
        "every script runs\n{out}"
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("10-fail") && l.contains("exit status 4")),
        "the failure is logged\n{out}"
    );
}
