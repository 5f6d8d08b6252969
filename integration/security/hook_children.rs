//! What a hook's children inherit: the hook is started as a runtime might start it, with
//! descriptors 3..9 open (not close-on-exec) and an environment full of things that must
//! not pass (a preload, shell start-up files, a secret, a forged stage, another PATH). A
//! host script of hooks.d and the in-container initscript each list their descriptors
//! (`ls -l /proc/self/fd`, run with exec so that the list is the script's own set plus
//! the one directory ls opens) and their environment.

use super::rig::{Held, INITSCRIPT};
use crate::harness::{read_or_empty, require, static_bin, Run, TempDir};
use crate::oci_rig::{assert_no_panic, set_annotation, shared, write_script};
use crate::runc::{Bundle, Spec};
use std::collections::BTreeMap;

/// `ls -l /proc/self/fd` output as fd → link target.
fn fds(listing: &str) -> BTreeMap<u32, String> {
    listing
        .lines()
        .filter(|l| l.starts_with('l'))
        .filter_map(|l| {
            let (left, target) = l.split_once(" -> ").unwrap_or((l, ""));
            let fd = left.split_whitespace().last()?.parse().ok()?;
            Some((fd, target.to_string()))
        })
        .collect()
}

/// Exactly 0, 1, 2 and ls's own directory: stdin is the hook's memfd with the state,
/// stdout the file the script redirected to, stderr the hook's output pipe.
fn assert_only_stdio(who: &str, listing: &str, stdout_file: &str) {
    let fds = fds(listing);
    let numbers: Vec<u32> = fds.keys().copied().collect();
    assert_eq!(numbers, [0, 1, 2, 3], "{who}'s descriptors:\n{listing}");
    assert!(
        fds[&0].contains("memfd:rich-init-state"),
        "{who}'s stdin is the state:\n{listing}"
    );
    assert_eq!(fds[&1], stdout_file, "{who}'s stdout:\n{listing}");
    assert!(fds[&2].starts_with("pipe:["), "{who}'s stderr:\n{listing}");
    // GNU ls shows its directory's link; busybox ls has closed it by the time it reads
    // the links, and shows none.
    let dir = fds[&3]
        .strip_prefix("/proc/")
        .and_then(|rest| rest.strip_suffix("/fd"));
    assert!(
        fds[&3].is_empty() || dir.is_some_and(|pid| pid.parse::<u32>().is_ok()),
        "fd 3 is ls's own /proc/PID/fd, nothing inherited:\n{listing}"
    );
}

/// The caller's environment that must reach no child.
const POLLUTION: [(&str, &str); 8] = [
    ("LD_PRELOAD", "/nonexistent/preload.so"),
    ("BASH_ENV", "/nonexistent/bash_env"),
    ("ENV", "/nonexistent/env"),
    ("SECRET_FROM_CALLER", "do-not-pass-me"),
    ("RICH_INIT_STAGE", "forged"),
    ("RICH_INIT_CONTAINER_ID", "forged"),
    ("HOME", "/nonexistent/home"),
    ("IFS", "x"),
];

#[test]
fn hook_children_get_only_stdio_and_the_documented_environment() {
    let bundle = Bundle::new();
    write_script(
        &bundle.rootfs().join("init.sh"),
        "#!/bin/sh\nenv > /shared/init.env\nexec /bin/ls -l /proc/self/fd > /shared/init.fds\n",
    );
    let spec = Spec::new(&["/bin/sh", "-c", Held::CMD]).env("GREETING=hello there");
    let held = Held::start(&bundle, &spec);
    set_annotation(&bundle, INITSCRIPT, "/init.sh");
    let hooks = TempDir::new("hooks-dir");
    let out_dir = hooks.join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir out");
    let host_fds = out_dir.join("host.fds").display().to_string();
    write_script(
        &hooks.join("prestart/10-record"),
        &format!(
            "#!/bin/sh\nenv > {}\nexec ls -l /proc/self/fd > {host_fds}\n",
            out_dir.join("host.env").display()
        ),
    );
    let state = hooks.write("state.json", &held.state(&bundle));
    let pre = hooks.join("pre.fds");
    // sh opens 3..9 (without close-on-exec), records that it has them, and execs the hook.
    let wrapper = format!(
        "exec 3</dev/null 4</dev/null 5>/dev/null 6</dev/null 7</dev/null 8</dev/null 9</dev/null; ls /proc/$$/fd > {}; exec \"$0\" \"$@\"",
        pre.display()
    );
    let mut run = Run::new(require("sh"))
        .arg("-c")
        .arg(&wrapper)
        .arg(static_bin())
        .args(["hook", "prestart", "--log", "stderr", "--hooks-dir"])
        .arg(hooks.path());
    for (k, v) in POLLUTION {
        run = run.env(k, v);
    }
    run.command_mut()
        .stdin(std::fs::File::open(&state).expect("open the state"));
    let out = run.output();
    assert_no_panic(&out);
    assert_eq!(out.code(), Some(0), "{out}");
    let pre = read_or_empty(&pre);
    for fd in 3..=9 {
        assert!(
            pre.lines().any(|l| l == fd.to_string()),
            "the hook was started with fd {fd} open:\n{pre}"
        );
    }

    assert_only_stdio(
        "the host script",
        &read_or_empty(&out_dir.join("host.fds")),
        &host_fds,
    );
    assert_only_stdio(
        "the initscript",
        &shared(&bundle, "init.fds"),
        "/shared/init.fds",
    );

    let bundle_path = bundle.path().display().to_string();
    let id = held.container.id().to_string();
    let pid = held.pid;
    let documented = [
        format!("RICH_INIT_BUNDLE={bundle_path}"),
        format!("RICH_INIT_CONTAINER_ID={id}"),
        format!("RICH_INIT_CONTAINER_PID={pid}"),
        "RICH_INIT_STAGE=prestart".to_string(),
    ];
    let sorted = |text: String| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines.sort();
        lines
    };
    // Host scripts: the host PATH, the hook's variables; PWD is the shell's (the bundle).
    let mut want: Vec<String> = documented.to_vec();
    want.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    want.push(format!("PWD={bundle_path}"));
    want.sort();
    assert_eq!(
        sorted(read_or_empty(&out_dir.join("host.env"))),
        want,
        "the host script's environment\n{out}"
    );
    // The initscript: process.env of config.json, the hook's variables; PWD and SHLVL are
    // busybox sh's own.
    let mut want: Vec<String> = documented.to_vec();
    want.extend([
        "PATH=/sbin:/bin:/usr/sbin:/usr/bin".to_string(),
        "GREETING=hello there".into(),
        "PWD=/".into(),
        "SHLVL=1".into(),
    ]);
    want.sort();
    assert_eq!(
        sorted(shared(&bundle, "init.env")),
        want,
        "the initscript's environment\n{out}"
    );
    let done = held.finish();
    assert_eq!(done.code(), Some(0), "{done}");
}
