//! rich-init's own exit codes: CMD's status, 128+N for a signal, 126/127 for exec
//! failures, 2 with exactly one `rich-init: ` line for a usage error.

use crate::harness::{bin, only_child, wait_for, Outcome, Run, TempDir};
use nix::sys::signal::Signal;

fn rich(args: &[&str]) -> Outcome {
    Run::new(bin()).args(args).output()
}

fn assert_code(out: &Outcome, want: i32) {
    assert_eq!(out.code(), Some(want), "wrong exit status\n{out}");
}

#[test]
fn exit_status_of_cmd_is_ours() {
    for code in [0, 1, 7, 255] {
        let script = format!("exit {code}");
        assert_code(&rich(&["--", "sh", "-c", &script]), code);
    }
    // `--` is optional when CMD is the first operand.
    assert_code(&rich(&["sh", "-c", "exit 9"]), 9);
}

#[test]
fn cmd_killed_by_a_signal_gives_128_plus_n() {
    for (sig, want) in [("TERM", 143), ("KILL", 137), ("INT", 130), ("USR1", 138)] {
        let script = format!("kill -{sig} $$");
        let out = rich(&["--", "sh", "-c", &script]);
        assert_code(&out, want);
        assert_eq!(out.signal(), None, "we exit, we are not killed\n{out}");
    }
}

#[test]
fn term_sent_to_us_reaches_cmd_and_its_death_is_our_status() {
    let running = Run::new(bin()).args(["--", "sleep", "1000"]).spawn();
    let cmd = only_child(running.pid());
    wait_for("CMD to exec sleep", || {
        let comm = std::fs::read_to_string(format!("/proc/{cmd}/comm")).ok()?;
        (comm.trim() == "sleep").then_some(())
    });
    running.signal(Signal::SIGTERM);
    assert_code(&running.wait(), 143);
}

#[test]
fn remap_exit_turns_the_code_into_zero() {
    assert_code(&rich(&["--remap-exit", "7", "--", "sh", "-c", "exit 7"]), 0);
    assert_code(
        &rich(&["--remap-exit", "143", "--", "sh", "-c", "kill $$"]),
        0,
    );
    assert_code(&rich(&["--remap-exit", "7", "--", "sh", "-c", "exit 8"]), 8);
}

/// Exactly one stderr line, naming `what`.
fn assert_one_line_naming(out: &Outcome, what: &str) {
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one stderr line\n{out}");
    assert!(
        lines[0].contains(what),
        "the line should name {what:?}\n{out}"
    );
    assert_eq!(out.stdout, "", "nothing on stdout\n{out}");
}

#[test]
fn cmd_not_found_is_127_with_one_line() {
    let out = rich(&["--", "no-such-command-xyz"]);
    assert_code(&out, 127);
    assert_one_line_naming(&out, "no-such-command-xyz");
    let out = rich(&["--", "/nonexistent/dir/prog"]);
    assert_code(&out, 127);
    assert_one_line_naming(&out, "/nonexistent/dir/prog");
}

#[test]
fn cmd_not_executable_is_126_with_one_line() {
    let out = rich(&["--", "/etc/passwd"]);
    assert_code(&out, 126);
    assert_one_line_naming(&out, "/etc/passwd");

    let dir = TempDir::new("exec-dir");
    let path = dir.path().to_string_lossy().into_owned();
    let out = rich(&["--", &path]);
    assert_code(&out, 126);
    assert_one_line_naming(&out, &path);

    let script = dir.write("no-x-bit.sh", "#!/bin/sh\nexit 0\n");
    let script = script.to_string_lossy().into_owned();
    let out = rich(&["--", &script]);
    assert_code(&out, 126);
    assert_one_line_naming(&out, &script);
}

#[test]
fn usage_errors_are_2_with_one_rich_init_line() {
    let cases: &[&[&str]] = &[
        &[],
        &["--"],
        &["--bogus", "--", "true"],
        &["-Z", "true"],
        &["--rewrite", "FOO:1", "--", "true"],
        &["-r", "TERM", "--", "true"],
        &["-r", "KILL:TERM", "--", "true"],
        &["-r", "CHLD:TERM", "--", "true"],
        &["--parent-death-signal", "NOPE", "--", "true"],
        &["--remap-exit", "256", "--", "true"],
        &["--isolation", "vm", "--", "true"],
        &["--isolation", "none", "--forward-to", "group", "--", "true"],
    ];
    for args in cases {
        let out = rich(args);
        assert_code(&out, 2);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("rich-init: "),
            "want exactly one stderr line starting `rich-init: `\n{out}"
        );
        assert_eq!(
            out.stdout, "",
            "usage errors print nothing on stdout\n{out}"
        );
    }
}

#[test]
fn bad_environment_mirror_is_a_usage_error() {
    let out = Run::new(bin())
        .env("RICH_INIT_REWRITE", "FOO:1")
        .args(["--", "true"])
        .output();
    assert_code(&out, 2);
    assert!(
        out.stderr.lines().count() == 1 && out.stderr.starts_with("rich-init: "),
        "{out}"
    );
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    for flag in ["--help", "-h", "--version", "-V"] {
        let out = rich(&[flag]);
        assert_code(&out, 0);
        assert!(out.stdout.contains("rich-init"), "{out}");
        assert_eq!(out.stderr, "", "{out}");
    }
}
