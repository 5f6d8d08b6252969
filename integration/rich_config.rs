//! Rich mode: services.d errors (78, every one on its own line, nothing started), the
//! services dir missing, the environment mirrors of the options, service output and
//! per-service settings.

use crate::harness::{bin, Outcome, PidNs, Run};
use crate::rich::{polite, prefixed, toml_str, Rig, NS};
use std::os::unix::fs::PermissionsExt;

/// Why the `..._only_lines` test is ignored, until the contract or the code changes.
const SUMMARY_LINE: &str = "deviation (issue 3): after the error lines rich-init prints a summary \
     line `rich-init: N problem(s) in the service definitions; nothing was started`; the \
     contract says every line is `rich-init: <file>: ...`";

/// services.d with one file per kind of error (and a good file), and an init.d script;
/// rich-init run on it. Returns the rig, the outcome and the stderr lines wanted.
fn run_bad_config() -> (Rig, Outcome, Vec<String>) {
    let rig = Rig::new("rich-config");
    let d = rig.d().to_string();
    let touch = |name: &str| {
        format!(
            "command = [\"/bin/sh\", \"-c\", {}]\n",
            toml_str(&format!(": > {d}/{name}.marker; exec sleep 1000"))
        )
    };
    rig.service_file(
        "a-unknown.toml",
        &format!("{}restrat = \"never\"\n", touch("a")),
    );
    rig.service_file(
        "b-cycle.toml",
        &format!("{}after = [\"c-cycle\"]\n", touch("b")),
    );
    rig.service_file(
        "c-cycle.toml",
        &format!("{}after = [\"b-cycle\"]\n", touch("c")),
    );
    rig.service_file(
        "d-missing.toml",
        "command = [\"/nonexistent/sbin/daemond\", \"-f\"]\n",
    );
    rig.service_file(
        "e-duration.toml",
        &format!("{}stop-timeout = \"5 s\"\n", touch("e")),
    );
    rig.service_file("good.toml", &touch("good"));
    rig.script("init.d/10-init", ": > \"$D/init.marker\"");
    let out = rig.run(PidNs::Host, &[], ": > \"$D/cmd.marker\"").output();
    let sd = format!("{d}/services.d");
    let want = vec![
        format!("rich-init: {sd}/a-unknown.toml: key \"restrat\": unknown key; the keys are after, command, critical, env, fd-store-max, group, listen, log, no-new-privs, ready, restart, restart-delay, restart-delay-max, stop-signal, stop-timeout, umask, user, working-dir"),
        format!("rich-init: {sd}/b-cycle.toml: key \"after\": cycle b-cycle → c-cycle → b-cycle (each starts after the next); remove one of these entries"),
        format!("rich-init: {sd}/d-missing.toml: key \"command\": program \"/nonexistent/sbin/daemond\" not found; install it in the image or fix the path (names without / are looked up in PATH)"),
        format!("rich-init: {sd}/e-duration.toml: key \"stop-timeout\": \"5 s\" is not a duration; write whole numbers with units, largest first, as in \"1m30s\" or \"250ms\""),
    ];
    (rig, out, want)
}

/// rich-init with `--services-dir` naming a directory that does not exist. Returns the
/// rig, the outcome and the one stderr line wanted.
fn run_missing_services_dir() -> (Rig, Outcome, String) {
    let rig = Rig::new("rich-nodir");
    let mut args = rig.base_args();
    let at = args
        .iter()
        .position(|a| a == "--services-dir")
        .expect("in base args");
    let missing = format!("{}/no-such-dir", rig.d());
    args[at + 1] = missing.clone();
    let out = rig
        .run_args(PidNs::Host, &args, ": > \"$D/cmd.marker\"")
        .output();
    let want = format!("rich-init: {missing}: cannot read the directory: No such file or directory (os error 2); create it or point --services-dir at one");
    (rig, out, want)
}

#[test]
fn config_errors_are_all_reported_and_nothing_starts() {
    let (rig, out, want) = run_bad_config();
    assert_eq!(out.code(), Some(78), "{out}");
    // Whether more lines follow is `config_errors_are_the_only_lines`.
    let got: Vec<&str> = out.stderr.lines().take(want.len()).collect();
    assert_eq!(
        got, want,
        "every error, one per line, sorted by file\n{out}"
    );
    // Whether init.d ran is `a_bad_config_runs_no_init_script`.
    for marker in ["a", "b", "c", "e", "good", "cmd"] {
        assert!(
            !rig.exists(&format!("{marker}.marker")),
            "{marker} ran although the config is bad\n{out}"
        );
    }
    rig.assert_nothing_left(PidNs::Host, &out);
}

/// The contract says a config error starts nothing; init scripts are checked here
/// apart, as one could argue that init.d may write services.d and so must run first.
#[test]
fn a_bad_config_runs_no_init_script() {
    let (rig, out, _) = run_bad_config();
    assert_eq!(out.code(), Some(78), "{out}");
    assert!(
        !rig.exists("init.marker"),
        "init.d ran although the config is bad: nothing may start\n{out}"
    );
}

#[test]
fn an_explicit_services_dir_that_does_not_exist_is_an_error() {
    let (rig, out, want) = run_missing_services_dir();
    assert_eq!(out.code(), Some(78), "{out}");
    assert_eq!(out.stderr.lines().next(), Some(want.as_str()), "{out}");
    assert!(!rig.exists("cmd.marker"), "CMD did not run\n{out}");
}

#[test]
fn config_errors_are_the_only_lines() {
    let (_rig, out, want) = run_bad_config();
    let got: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(got, want, "{SUMMARY_LINE}\n{out}");
    let (_rig, out, want) = run_missing_services_dir();
    assert_eq!(out.stderr, format!("{want}\n"), "{SUMMARY_LINE}\n{out}");
}

#[test]
fn a_missing_default_services_dir_means_no_services() {
    let default = std::path::Path::new("/etc/rich-init/services.d");
    assert!(
        !default.exists(),
        "this test needs a host without {}",
        default.display()
    );
    let rig = Rig::new("rich-default-dir");
    let mut args = rig.base_args();
    let at = args
        .iter()
        .position(|a| a == "--services-dir")
        .expect("in base args");
    args.drain(at..at + 2);
    let out = rig.run_args(PidNs::Host, &args, "exit 4").output();
    assert_eq!(out.code(), Some(4), "{out}");
}

/// Every option set through its environment variable instead, rich mode switched on by
/// `switch`, as pid 1 (the switches are pid 1's: `rich_second.rs`).
#[test]
fn environment_variables_mirror_the_options() {
    for switch in [("RICH_INIT_RICH", "1"), ("rich_mode", "true")] {
        let rig = Rig::new("rich-env-mirror");
        let d = rig.d().to_string();
        rig.service("svc", &polite("svc", "TERM"), "");
        let setup = rig.script("setup", "echo setup >> \"$D/order\"");
        rig.script("init.d/10-init", "echo init.d >> \"$D/order\"");
        rig.script("stop.d/10-stop", "echo stop.d >> \"$D/order\"");
        let out = Run::in_ns(PidNs::Init, bin())
            .arg("--")
            .args(rig.cmd("wait_file \"$D/svc.pid\"; echo cmd >> \"$D/order\"; exit 5"))
            .env(switch.0, switch.1)
            .env("RICH_INIT_SERVICES_DIR", format!("{d}/services.d"))
            .env("RICH_INIT_INITSCRIPT", setup.as_os_str())
            .env("RICH_INIT_INIT_DIR", format!("{d}/init.d"))
            .env("RICH_INIT_STOP_DIR", format!("{d}/stop.d"))
            .env("RICH_INIT_ENV_FILE", format!("{d}/env"))
            .env("RICH_INIT_PROFILE_HOOK", "")
            .env("RICH_INIT_CONTROL_SOCKET", format!("{d}/ctl.sock"))
            .output();
        assert_eq!(out.code(), Some(5), "{switch:?}\n{out}");
        assert_eq!(
            rig.read("order"),
            "setup\ninit.d\ncmd\nstop.d\n",
            "{switch:?}\n{out}"
        );
        assert_eq!(
            rig.read("log"),
            "start svc\nstop svc TERM\n",
            "{switch:?}\n{out}"
        );
        assert!(rig.exists("env"), "{switch:?}: env file written\n{out}");
        rig.assert_nothing_left(PidNs::Init, &out);
    }
}

#[test]
fn service_output_goes_where_log_says() {
    for ns in NS {
        let rig = Rig::new("rich-log");
        let talk = |name: &str| {
            format!(
                "trap 'exit 0' TERM\necho \"{name} out\"\necho \"{name} err\" >&2\n\
                 : > \"$D/{name}.done\"\nwhile :; do sleep 0.05; done 2>/dev/null"
            )
        };
        rig.service("chatty", &talk("chatty"), "log = \"prefix\"\n");
        rig.service("quiet", &talk("quiet"), "log = \"none\"\n");
        let file = format!("{}/filed.log", rig.d());
        rig.service(
            "filed",
            &talk("filed"),
            &format!("log = {}\n", toml_str(&file)),
        );
        let cmd = "for s in chatty quiet filed; do wait_file \"$D/$s.done\"; done; exit 0";
        let out = rig.run(ns, &["--grace", "1h"], cmd).output();
        assert_eq!(out.code(), Some(0), "{ns:?}\n{out}");
        assert_eq!(
            prefixed(&out.stdout, &["chatty"]),
            ["[chatty] chatty out"],
            "{ns:?}\n{out}"
        );
        assert_eq!(
            prefixed(&out.stderr, &["chatty"]),
            ["[chatty] chatty err"],
            "{ns:?}\n{out}"
        );
        for text in ["quiet out", "quiet err", "filed out", "filed err"] {
            assert!(
                !out.stdout.contains(text) && !out.stderr.contains(text),
                "{ns:?}: {text:?} must not reach rich-init's output\n{out}"
            );
        }
        let logged = rig.read("filed.log");
        for text in ["filed out", "filed err"] {
            assert!(
                logged.lines().any(|l| l.ends_with(text)),
                "{ns:?}: {text:?} in {file}:\n{logged}\n{out}"
            );
        }
        rig.assert_nothing_left(ns, &out);
    }
}

#[test]
fn a_service_gets_its_env_working_dir_umask_and_user() {
    for ns in NS {
        let rig = Rig::new("rich-settings");
        let (out_dir, wd) = (rig.path("out"), rig.path("wd"));
        for dir in [&out_dir, &wd] {
            std::fs::create_dir(dir).expect("create a dir");
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
                .expect("chmod a dir");
        }
        let body = "printf '%s|%s|%s|%s|%s\\n' \"$GREETING\" \"$(pwd)\" \"$(umask)\" \"$(id -u)\" \"$(id -g)\" \
                    > \"$D/out/shaped.tmp\"\nmv \"$D/out/shaped.tmp\" \"$D/out/shaped\"\n\
                    trap 'exit 0' TERM\nwhile :; do sleep 0.05; done";
        let extra = format!(
            "env = {{ GREETING = \"hi there\" }}\nworking-dir = {}\numask = \"027\"\n\
             user = \"nobody\"\ngroup = \"nogroup\"\n",
            toml_str(&wd.display().to_string())
        );
        rig.service("shaped", body, &extra);
        let out = rig
            .run(
                ns,
                &["--grace", "1h"],
                "wait_file \"$D/out/shaped\"; exit 0",
            )
            .output();
        assert_eq!(out.code(), Some(0), "{ns:?}\n{out}");
        assert_eq!(
            rig.read("out/shaped"),
            format!("hi there|{}|0027|65534|65534\n", wd.display()),
            "{ns:?}: GREETING, pwd, umask, uid, gid\n{out}"
        );
        rig.assert_nothing_left(ns, &out);
    }
}
