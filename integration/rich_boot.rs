//! Rich mode: the start of a run. `--initscript` needs `--rich`; the env file and the
//! profile hook; `--initscript` and init.d in name order, each to completion, output
//! prefixed; a failing init script ends the boot (79) before any service or CMD.

use crate::harness::{bin, PidNs, Run};
use crate::rich::{prefixed, ready_on_pid, Rig, NS};

#[test]
fn initscript_without_rich_is_a_usage_error() {
    let rig = Rig::new("rich-usage");
    let setup = rig.script("setup", "echo ran >> \"$D/ran\"");
    let out = Run::new(bin())
        .arg("--initscript")
        .arg(&setup)
        .args([
            "--",
            "/bin/sh",
            "-c",
            "echo cmd >> \"$1/ran\"",
            "sh",
            rig.d(),
        ])
        .output();
    assert_eq!(out.code(), Some(2), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "one line\n{out}");
    assert!(
        out.stderr
            .starts_with("rich-init: --initscript needs --rich"),
        "{out}"
    );
    assert_eq!(rig.read("ran"), "", "nothing ran\n{out}");
}

/// A value sh must read back byte for byte.
const TRICKY: &str = "it's \"$HOME\" `x` \\ $(y)\nsecond line";

/// rich-init with exactly this environment (plus what `extra` adds).
fn with_env(run: Run, extra: &[(&str, &str)]) -> Run {
    let mut run = run;
    run.command_mut().env_clear();
    let mut run = run
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("FOO", TRICKY)
        .env("EMPTY", "")
        .env("bad-name", "x")
        .env("HOME", "/root")
        .env("USER", "root")
        .env("LOGNAME", "root")
        .env("TERM", "xterm")
        .env("PWD", "/somewhere")
        .env("SHLVL", "3");
    for (k, v) in extra {
        run = run.env(k, v);
    }
    run
}

/// CMD: `SOURCE` read by a shell with an empty environment, FOO and EMPTY printed.
fn source_and_print(file: &str) -> String {
    format!(
        "env -i /bin/sh -c '. \"$1\"; printf \"%s|%s\" \"$FOO\" \"${{EMPTY-unset}}\"' sh \"{file}\" > \"$D/sourced\""
    )
}

#[test]
fn env_file_holds_the_environment_and_sh_can_source_it() {
    for ns in NS {
        let rig = Rig::new("rich-env");
        rig.script("init.d/10-copy", "cp \"$D/env\" \"$D/env-at-boot\"");
        let run = rig.run(ns, &[], &source_and_print("$D/env"));
        let out = with_env(run, &[]).output();
        assert_eq!(out.code(), Some(0), "{ns:?}\n{out}");
        let want = "export EMPTY=''\n\
                    export FOO='it'\\''s \"$HOME\" `x` \\ $(y)\nsecond line'\n\
                    export PATH='/usr/sbin:/usr/bin:/sbin:/bin'\n";
        assert_eq!(
            rig.read("env"),
            want,
            "{ns:?}: sorted, quoted, session variables and bad names left out\n{out}"
        );
        assert_eq!(
            rig.read("env-at-boot"),
            want,
            "{ns:?}: written before init.d runs\n{out}"
        );
        assert_eq!(
            rig.read("sourced"),
            format!("{TRICKY}|"),
            "{ns:?}: sh reads it back\n{out}"
        );
        let mode = std::fs::metadata(rig.path("env"))
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777)
            .unwrap_or_else(|e| panic!("stat env: {e}"));
        assert_eq!(mode, 0o600, "{ns:?}: values may be secrets: root only");
    }
}

#[test]
fn the_profile_hook_brings_in_the_env_file() {
    let rig = Rig::new("rich-hook");
    let hook = format!("{}/profile.d/rich-init-env.sh", rig.d());
    let mut args = rig.base_args();
    let at = args
        .iter()
        .position(|a| a == "--profile-hook")
        .expect("in base args");
    args[at + 1] = hook.clone();
    let run = rig.run_args(PidNs::Host, &args, &source_and_print(&hook));
    let out = with_env(run, &[]).output();
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(
        rig.path("profile.d/rich-init-env.sh").is_file(),
        "hook written\n{out}"
    );
    assert_eq!(
        rig.read("sourced"),
        format!("{TRICKY}|"),
        "a login shell sourcing the hook gets the env file given by --env-file\nhook:\n{}\n{out}",
        rig.read("profile.d/rich-init-env.sh")
    );
}

/// An init script that logs its name to $D/order and says so on stdout and stderr.
fn init_script(name: &str) -> String {
    format!("echo {name} >> \"$D/order\"\necho \"out of {name}\"\necho \"err of {name}\" >&2")
}

#[test]
fn init_scripts_run_in_name_order_each_to_completion_with_prefixed_output() {
    for ns in NS {
        let rig = Rig::new("rich-initd");
        let setup = rig.script(
            "setup.sh",
            &format!(
                "{}\nprintf '%s\\n' \"$FOO\" > \"$D/setup-env\"",
                init_script("setup.sh")
            ),
        );
        // Each one lingers a little and forks: "to completion" means the next one
        // must not start before this one has exited.
        for name in ["20-second.sh", "10-first", "a-last"] {
            let body = format!("sleep 0.1 & wait\n{}", init_script(name));
            rig.script(&format!("init.d/{name}"), &body);
        }
        rig.script_mode("init.d/15-not-executable", &init_script("BAD"), 0o644);
        let svc = "echo svc >> \"$D/order\"\n: > \"$D/svc.pid\"\nwhile :; do sleep 0.05; done";
        rig.service("svc", svc, &ready_on_pid(&rig, "svc"));
        let out = rig
            .run(
                ns,
                &["--initscript", &setup.display().to_string()],
                "echo cmd >> \"$D/order\"",
            )
            .env("FOO", "from the container")
            .output();
        assert_eq!(out.code(), Some(0), "{ns:?}\n{out}");
        let names = ["setup.sh", "10-first", "20-second.sh", "a-last"];
        assert_eq!(
            rig.read("order"),
            format!("{}\nsvc\ncmd\n", names.join("\n")),
            "{ns:?}: --initscript, init.d by name, then services, then CMD\n{out}"
        );
        assert_eq!(
            rig.read("setup-env"),
            "from the container\n",
            "{ns:?}: env passed\n{out}"
        );
        let want = |what: &str| -> Vec<String> {
            names
                .iter()
                .map(|n| format!("[{n}] {what} of {n}"))
                .collect()
        };
        assert_eq!(
            prefixed(&out.stdout, &names),
            want("out"),
            "{ns:?}: stdout\n{out}"
        );
        assert_eq!(
            prefixed(&out.stderr, &names),
            want("err"),
            "{ns:?}: stderr\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}

/// How a failing init script fails, and the status rich-init reports for it.
const FAILURES: &[(&str, &str)] = &[
    ("exit 3", "exit status 3"),
    ("kill -KILL $$", "killed by SIGKILL"),
];

#[test]
fn a_failing_init_script_stops_the_boot_with_79() {
    for ns in NS {
        for (how, status) in FAILURES {
            let rig = Rig::new("rich-initfail");
            rig.script("init.d/10-ok", "echo ok >> \"$D/order\"; echo fine");
            let failing = rig.script(
                "init.d/20-fail",
                &format!("echo fail >> \"$D/order\"\n{how}"),
            );
            rig.script("init.d/30-never", "echo never >> \"$D/order\"");
            rig.service("svc", ": > \"$D/svc.marker\"; exec sleep 1000", "");
            let out = rig.run(ns, &[], ": > \"$D/cmd.marker\"").output();
            assert_eq!(out.code(), Some(79), "{ns:?} {how}\n{out}");
            assert_eq!(
                out.stderr,
                format!(
                    "[rich-init ERROR] init script {} failed: {status}; nothing else was started\n",
                    failing.display()
                ),
                "{ns:?} {how}: one line\n{out}"
            );
            assert_eq!(rig.read("order"), "ok\nfail\n", "{ns:?} {how}\n{out}");
            assert!(!rig.exists("svc.marker"), "{ns:?} {how}: no service\n{out}");
            assert!(!rig.exists("cmd.marker"), "{ns:?} {how}: no CMD\n{out}");
            rig.assert_nothing_left(ns, &out);
        }
    }
}

#[test]
fn a_failing_initscript_stops_the_boot_before_init_d() {
    for ns in NS {
        let rig = Rig::new("rich-initscript-fail");
        let setup = rig.script("setup", "echo setup >> \"$D/order\"; exit 1");
        rig.script("init.d/10-never", "echo never >> \"$D/order\"");
        rig.service("svc", ": > \"$D/svc.marker\"; exec sleep 1000", "");
        let out = rig
            .run(
                ns,
                &["--initscript", &setup.display().to_string()],
                ": > \"$D/cmd.marker\"",
            )
            .output();
        assert_eq!(out.code(), Some(79), "{ns:?}\n{out}");
        assert_eq!(
            out.stderr,
            format!(
                "[rich-init ERROR] init script {} failed: exit status 1; nothing else was started\n",
                setup.display()
            ),
            "{ns:?}: one line\n{out}"
        );
        assert_eq!(rig.read("order"), "setup\n", "{ns:?}\n{out}");
        assert!(!rig.exists("svc.marker"), "{ns:?}: no service\n{out}");
        assert!(!rig.exists("cmd.marker"), "{ns:?}: no CMD\n{out}");
        rig.assert_nothing_left(ns, &out);
    }
}
