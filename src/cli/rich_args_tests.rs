//! rich-init's option parser against clap (the oracle in `rich_clap_oracle.rs`): the same
//! `Parsed` for every command line of a large table, under several environments, and for
//! every short command line over a vocabulary of options, values and oddities.

use super::cases::{CASES, ENVS, RAW};
use crate::cli::rich::parse;
use crate::cli::rich_clap_oracle::parse_with_clap;
use crate::cli::test_support::{argv, env_of};
use crate::cli::Parsed;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

fn with_argv0(words: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    std::iter::once(OsString::from("rich-init"))
        .chain(words)
        .collect()
}

/// The new parser and clap agree on `args` under `vars`, as pid 1 and not.
fn agree(args: &[OsString], vars: &[(&str, &str)]) {
    for pid1 in [true, false] {
        agree_as(args, vars, pid1);
    }
}

/// The new parser and clap agree on `args` under `vars`, as pid 1 or not.
fn agree_as(args: &[OsString], vars: &[(&str, &str)], pid1: bool) {
    let env = env_of(vars);
    let ours = parse(args.to_vec(), &env, pid1);
    let clap = parse_with_clap(args, &env, pid1);
    assert_eq!(ours, clap, "{args:?} {vars:?} pid1={pid1}");
}

#[test]
fn same_as_clap_on_the_table() {
    for case in CASES {
        let args = with_argv0(case.iter().map(OsString::from));
        for vars in ENVS {
            agree(&args, vars);
        }
    }
    // No argv[0] at all; a count past what a byte holds.
    let many = format!("-{}", "v".repeat(300));
    let long: Vec<&str> = std::iter::once("rich-init")
        .chain(std::iter::repeat_n("--verbose", 300))
        .chain(["x"])
        .collect();
    for args in [vec![], argv(&["rich-init", &many, "x"]), argv(&long)] {
        for vars in ENVS {
            agree(&args, vars);
        }
    }
}

#[test]
fn same_as_clap_on_words_that_are_not_utf8() {
    for case in RAW {
        let args = with_argv0(case.iter().map(|w| OsString::from_vec(w.to_vec())));
        for vars in ENVS {
            agree(&args, vars);
        }
    }
}

/// Each word alone, then followed by each word, then by two more, under one environment
/// that sets every variable (so that what counts as given shows).
#[test]
fn same_as_clap_on_every_short_command_line() {
    const WORDS: &[&str] = &[
        "x",
        "-",
        "--",
        "",
        "-c",
        "-v",
        "-q",
        "-h",
        "-V",
        "-r",
        "-vc",
        "-rTERM:INT",
        "-r=",
        "-x",
        "--rich",
        "--rich=1",
        "--systemd",
        "--isolation",
        "none",
        "vm",
        "--forward-to",
        "child",
        "--grace",
        "--grace=",
        "--help",
        "--version",
        "--bogus",
        "--services-dir",
        "--env-file",
        "TERM:INT",
        "--remap-exit",
        "--initscript",
    ];
    let vars = ENVS[1];
    let mut lines: Vec<Vec<&str>> = vec![vec![]];
    for _ in 0..3 {
        let longer: Vec<Vec<&str>> = (lines.iter())
            .filter(|l| l.len() == lines.last().map_or(0, Vec::len))
            .flat_map(|l| WORDS.iter().map(move |w| [l.as_slice(), &[*w]].concat()))
            .collect();
        lines.extend(longer);
    }
    let n = WORDS.len();
    assert_eq!(lines.len(), 1 + n + n * n + n * n * n);
    for line in &lines {
        agree_as(&with_argv0(line.iter().map(OsString::from)), vars, true);
    }
}

/// Longer command lines drawn (by a fixed-seed generator) from options, values and words
/// that mean nothing to either.
#[test]
fn same_as_clap_on_longer_command_lines() {
    const WORDS: &[&str] = &[
        "x",
        "-",
        "--",
        "-c",
        "-v",
        "-vv",
        "-q",
        "-cq",
        "-r",
        "-rHUP:0",
        "-r=USR1:0",
        "-x",
        "-h",
        "-V",
        "--rich",
        "--rich=",
        "--systemd",
        "--isolation",
        "--isolation=group",
        "--forward-to",
        "--forward-to=group",
        "none",
        "session",
        "group",
        "child",
        "vm",
        "--grace",
        "--grace=1s",
        "1s",
        "5",
        "--rewrite",
        "TERM:INT",
        "FOO:1",
        "--remap-exit",
        "143",
        "300",
        "--parent-death-signal",
        "KILL",
        "--no-job-control",
        "--no-term-on-exit",
        "--warn-on-reap",
        "--quiet",
        "--verbose",
        "--single-child",
        "--services-dir",
        "/svc",
        "--services",
        "crond",
        "--initscript",
        "/init",
        "--init-dir",
        "--stop-dir",
        "--env-file",
        "--profile-hook",
        "",
        "--on-cmd-exit",
        "stay",
        "--stop-cmd",
        "last",
        "--cmd-after",
        "--control-socket",
        "--bogus",
        "--help",
        "--version",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % n as u64).unwrap_or(0)
    };
    for round in 0..10_000 {
        let len = 4 + next(6);
        let line: Vec<&str> = (0..len).map(|_| WORDS[next(WORDS.len())]).collect();
        let args = with_argv0(line.iter().map(OsString::from));
        agree_as(&args, ENVS[round % ENVS.len()], true);
    }
}

/// What clap did that one might not expect, spelled out (the table above checks them
/// against clap; this one says what they are).
#[test]
fn clap_surprises() {
    let cases: &[(&[&str], &str)] = &[
        // Only the name of an unknown option is quoted, not its value.
        (&["--bogus=1"], "unexpected argument '--bogus' found"),
        (&["--=x"], "unexpected argument '--' found"),
        // A switch cannot be given a value, not even an empty one.
        (
            &["--rich="],
            "unexpected value '' for '--rich' found; no more were expected",
        ),
        (&["-c=1", "x"], "unexpected argument '-=' found"),
        // Several conflicts: the message's first line ends with a colon.
        (
            &["-c", "--isolation", "none", "--forward-to", "child", "x"],
            "the argument '--single-child' cannot be used with:",
        ),
        (
            &["--isolation", "none", "-c", "x"],
            "the argument '--isolation <ISOLATION>' cannot be used with '--single-child'",
        ),
        // An unknown option beats the missing value before it; the next known one does not.
        (
            &["--grace", "--bogus"],
            "unexpected argument '--bogus' found",
        ),
        (
            &["--grace", "--help"],
            "a value is required for '--grace <DUR>' but none was supplied",
        ),
        (
            &["--grace", "--", "x"],
            "a value is required for '--grace <DUR>' but none was supplied",
        ),
        // A value is checked when the next option, CMD or the end comes.
        (
            &["--isolation", "vm", "--bogus"],
            "unexpected argument '--bogus' found",
        ),
        (
            &["--isolation=vm", "--bogus"],
            "invalid value 'vm' for '--isolation <ISOLATION>'",
        ),
        (
            &["--isolation", "none", "--isolation", "vm", "x"],
            "the argument '--isolation <ISOLATION>' cannot be used multiple times",
        ),
        // An empty word is no value for a path or a choice (but is for other text).
        (
            &["--services-dir", "", "x"],
            "a value is required for '--services-dir <DIR>' but none was supplied",
        ),
        (
            &["--isolation=", "x"],
            "a value is required for '--isolation <ISOLATION>' but none was supplied",
        ),
        // Short names are reported by their long names.
        (
            &["-r"],
            "a value is required for '--rewrite <S:R>' but none was supplied",
        ),
        (
            &["-cc", "x"],
            "the argument '--single-child' cannot be used multiple times",
        ),
        // A line break in a word cuts the line short.
        (&["--bog\nus"], "unexpected argument '--bog"),
        // A value that starts with a dash is an option, a lone dash a value.
        (&["--grace", "-5", "x"], "unexpected argument '-5' found"),
    ];
    for (words, want) in cases {
        let args = with_argv0(words.iter().map(OsString::from));
        let got = parse(args, &|_| None, true);
        let want = format!("rich-init: {want}; see rich-init --help\n");
        assert_eq!(got, Parsed::stderr(2, want), "{words:?}");
    }
}
