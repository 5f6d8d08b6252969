//! Our static binary as pid 1 of real runc containers on the busybox rootfs, under each of
//! its names, next to Debian's tini-static (/peer/tini) in the same rootfs.

use crate::harness::{normalise, wait_for, Outcome};
use crate::reaping::storm_script;
use crate::runc::{run_to_end, Bundle, Container, Runtime, Spec};
use std::path::Path;

/// pid 1 command lines (CMD excluded), ours under each name and the peer.
const INITS: &[&[&str]] = &[
    &["/sbin/rich-init", "--"],
    &["/sbin/tini", "--"],
    &["/sbin/dumb-init", "--"],
    &["/peer/tini", "--"],
];

fn spec(init: &[&str], cmd: &[&str]) -> Spec {
    let argv: Vec<&str> = init.iter().chain(cmd).copied().collect();
    Spec::new(&argv)
}

fn assert_code(out: &Outcome, want: i32) {
    assert_eq!(out.code(), Some(want), "wrong exit status\n{out}");
}

#[test]
fn exit_status_comes_out_of_runc() {
    for init in INITS {
        assert_code(
            &run_to_end(Runtime::Runc, &spec(init, &["sh", "-c", "exit 5"])),
            5,
        );
        let killed = spec(init, &["sh", "-c", "kill -KILL $$"]);
        assert_code(&run_to_end(Runtime::Runc, &killed), 137);
    }
}

#[test]
fn orphans_are_reaped_in_a_container() {
    for init in INITS {
        let script = storm_script(100);
        let out = run_to_end(Runtime::Runc, &spec(init, &["sh", "-c", &script]));
        assert_eq!(
            (out.code(), out.stdout.as_str()),
            (Some(3), "adopted=yes\nleft=0 zombies=0\n"),
            "{init:?}: orphans adopted by pid 1 and all reaped\n{out}"
        );
    }
}

const TRAP_TERM: &str = "trap 'echo trapped > /shared/trapped; exit 7' TERM\n\
     : > /shared/ready\n\
     while :; do sleep 1000 & wait $!; done";

#[test]
fn runc_kill_term_runs_cmds_trap_and_its_status_comes_out() {
    for init in INITS {
        let bundle = Bundle::new();
        let mut container = Container::start(
            Runtime::Runc,
            &bundle,
            &spec(init, &["sh", "-c", TRAP_TERM]),
        );
        let ready = bundle.shared().join("ready");
        let what = format!("CMD in container {} to trap TERM", container.id());
        wait_for(&what, || {
            container.assert_running(&what);
            ready.exists().then_some(())
        });
        container.kill("TERM");
        let out = container.wait();
        assert_code(&out, 7);
        let trapped = std::fs::read_to_string(bundle.shared().join("trapped")).unwrap_or_default();
        assert_eq!(trapped, "trapped\n", "{init:?}: CMD's TERM trap ran\n{out}");
    }
}

#[test]
fn exec_failure_in_a_container() {
    let missing = ["/nonexistent/cmd"];
    let out = run_to_end(Runtime::Runc, &spec(&["/sbin/rich-init", "--"], &missing));
    assert_code(&out, 127);
    assert!(
        out.stderr.lines().count() == 1 && out.stderr.contains("/nonexistent/cmd"),
        "one line naming the command\n{out}"
    );

    let out = run_to_end(Runtime::Runc, &spec(&["/sbin/dumb-init"], &missing));
    assert_code(&out, 2);
    assert_eq!(
        out.stderr, "[dumb-init] /nonexistent/cmd: No such file or directory\n",
        "{out}"
    );

    for cmd in [&missing[..], &["/etc/passwd"]] {
        let peer = run_to_end(Runtime::Runc, &spec(&["/peer/tini", "--"], cmd));
        let ours = run_to_end(Runtime::Runc, &spec(&["/sbin/tini", "--"], cmd));
        let view = |o: &Outcome, p: &str| {
            (
                o.code(),
                normalise(&o.stdout, Path::new(p)),
                normalise(&o.stderr, Path::new(p)),
            )
        };
        assert_eq!(
            view(&ours, "/sbin/tini"),
            view(&peer, "/peer/tini"),
            "{cmd:?}: ours (left) differ from tini-static (right)\npeer: {peer}\nours: {ours}"
        );
        assert_code(&peer, if cmd == missing { 127 } else { 126 });
    }
}

/// The promise: the static binary runs in a rootfs that holds nothing else, as
/// pid 1, and reports a missing CMD in one line.
#[test]
fn runs_alone_in_an_empty_rootfs() {
    let bundle = Bundle::new();
    let rootfs = bundle.rootfs();
    std::fs::remove_dir_all(&rootfs).expect("empty the busybox rootfs");
    std::fs::create_dir_all(&rootfs).expect("recreate the rootfs dir");
    let binary = rootfs.join("rich-init");
    std::fs::copy(crate::harness::static_bin(), &binary).expect("copy the static binary in");
    let entries = std::fs::read_dir(&rootfs).expect("list the rootfs").count();
    assert_eq!(entries, 1, "the rootfs holds only the binary");

    let out = Container::start(
        Runtime::Runc,
        &bundle,
        &Spec::new(&["/rich-init", "--", "/rich-init", "--version"]),
    )
    .wait();
    assert_code(&out, 0);
    assert!(out.stdout.starts_with("rich-init "), "version line: {out}");

    let out = Container::start(
        Runtime::Runc,
        &bundle,
        &Spec::new(&["/rich-init", "--", "/nonexistent"]),
    )
    .wait();
    assert_code(&out, 127);
    assert_eq!(out.stderr.lines().count(), 1, "one line: {out}");
    assert!(out.stderr.contains("\"/nonexistent\""), "names CMD: {out}");
}
