//! The command lines: dumb-init's and tini's getopt-style parsers, rich-init's own (and its
//! `ctl`, `hook` and `oci inject` words), and the `--rewrite S:R` spec parsers.
//!
//! Input: one mode byte (0 dumb-init, 1 tini, 2 rich-init, 3 the spec parsers alone), then
//! NUL-separated words; a word that starts with byte 0x01 is an environment variable
//! `NAME=VALUE` instead of an argument.
//! Invariants: no panic; exit codes as documented; a rewrite table holds only signals the
//! personality allows; rich-init's usage errors are one line; a parsed command line,
//! written back as options, parses to the same settings (dumb-init, tini) or rewrite table
//! (rich-init); a parsed `ctl` request survives its JSON line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rich_init::cli::{self, dumb_init, getopt, tini, Isolation, Parsed, Settings, Subreaper};
use rich_init::control;
use rich_init::oci::{hook, inject};
use rich_init::signame;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

fn one_line(what: &str, text: &str) {
    assert!(
        !text.is_empty() && !text.contains('\n'),
        "{what} is not one line: {text:?}"
    );
}

fn os(words: &[String]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn with_command(mut args: Vec<String>, command: &[OsString]) -> Vec<OsString> {
    args.push("--".into());
    let mut argv = os(&args);
    argv.extend(command.iter().cloned());
    argv
}

fn settings(p: Parsed, what: &str) -> Settings {
    match p {
        Parsed::Run(s) => *s,
        other => panic!("{what}: written back, it parses to {other:?}"),
    }
}

fn check_dumb_init(s: &Settings) {
    assert!(!s.command.is_empty());
    assert_eq!(s.rewrite[0], 0);
    for (sig, to) in s.rewrite.iter().enumerate().skip(1) {
        if sig <= 31 {
            assert!((0..=31).contains(to), "rewrite {sig} → {to}");
        } else {
            assert_eq!(*to as usize, sig, "signal {sig} rewritten");
        }
    }
    // Written back: every rewrite explicit (so no default applies), -c and -v as parsed.
    let mut args = vec![s.argv0.clone()];
    if s.isolation == Isolation::None {
        args.push("-c".into());
    }
    if s.verbosity > 0 {
        args.push("-v".into());
    }
    for sig in 1..=31 {
        args.push("-r".into());
        args.push(format!("{sig}:{}", s.rewrite[sig]));
    }
    let again = settings(
        dumb_init::parse(with_command(args, &s.command), &|_| None),
        "dumb-init",
    );
    assert_eq!(
        again,
        Settings {
            notes: Vec::new(),
            ..s.clone()
        }
    );
}

fn check_tini(s: &Settings) {
    assert!(!s.command.is_empty() && s.verbosity <= 4);
    assert_eq!(s.rewrite, Settings::identity_rewrite());
    let mut args = vec![s.argv0.clone()];
    if s.subreaper == Subreaper::Requested {
        args.push("-s".into());
    }
    if s.forward_to == cli::ForwardTo::Group {
        args.push("-g".into());
    }
    if s.warn_on_reap {
        args.push("-w".into());
    }
    if let Some(sig) = s.parent_death_signal {
        args.push("-p".into());
        args.push(signame::name(sig));
    }
    for code in &s.remap_to_zero {
        args.push(format!("-e{code}"));
    }
    let verbosity = s.verbosity.to_string();
    let env = |name: &str| (name == "TINI_VERBOSITY").then(|| verbosity.clone());
    let again = settings(tini::parse(with_command(args, &s.command), &env, 1), "tini");
    assert_eq!(&again, s);
}

fn check_rich(s: &Settings) {
    // Only --systemd runs without CMD (as /sbin/init).
    let systemd = s.rich.as_ref().is_some_and(|r| r.systemd);
    assert!(systemd || !s.command.is_empty());
    assert_eq!(s.rewrite[0], 0);
    let mut args: Vec<String> = ["rich-init", "--isolation", "none", "--forward-to", "child"]
        .map(String::from)
        .into();
    for (sig, to) in s.rewrite.iter().enumerate().skip(1) {
        assert!((0..=64).contains(to), "rewrite {sig} → {to}");
        if *to as usize != sig {
            args.push("--rewrite".into());
            args.push(format!("{sig}:{to}"));
        }
    }
    if systemd {
        args.push("--systemd".into());
    }
    let again = settings(
        cli::parse(with_command(args, &s.command), &|_| None, 1),
        "rich-init",
    );
    assert_eq!(again.rewrite, s.rewrite);
}

fn check_ctl(words: &[String]) {
    match control::parse_ctl_args(words) {
        Ok((request, _)) => {
            let line = control::render_request(&request);
            assert_eq!(line.matches('\n').count(), 1);
            let again = control::parse_request(line.as_bytes());
            assert_eq!(again.ok().as_ref(), Some(&request), "{line}");
        }
        Err(e) => one_line("a ctl usage error", &e.to_string()),
    }
}

fn check_specs(text: &str) {
    if let Some((from, to)) = dumb_init::parse_rewrite(text) {
        assert!((1..=31).contains(&from) && (0..=31).contains(&to));
        assert_eq!(
            dumb_init::parse_rewrite(&format!("{from}:{to}")),
            Some((from, to))
        );
    }
    let (value, rest) = getopt::c_strtol_prefix(text);
    assert!(text.ends_with(rest));
    if rest.len() == text.len() {
        assert_eq!(value, 0);
    }
    if let Some(n) = getopt::c_strtol_full(text) {
        assert_eq!(n, value);
    }
    if let Some(sig) = signame::parse(text) {
        assert!((1..=signame::SIGRTMAX).contains(&sig));
        assert_eq!(signame::parse(&signame::name(sig)), Some(sig));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 4 == 3 {
        check_specs(&String::from_utf8_lossy(rest));
        return;
    }
    let mut args = vec![OsString::from(match mode % 4 {
        0 => "dumb-init",
        1 => "/usr/bin/tini",
        _ => "rich-init",
    })];
    let mut vars: Vec<(String, String)> = Vec::new();
    for word in rest.split(|b| *b == 0).filter(|_| !rest.is_empty()) {
        match word.strip_prefix(b"\x01") {
            Some(var) => {
                let var = String::from_utf8_lossy(var);
                let (k, v) = var.split_once('=').unwrap_or((&var, ""));
                vars.push((k.to_owned(), v.to_owned()));
            }
            None => args.push(OsString::from_vec(word.to_vec())),
        }
    }
    let env = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let parsed = cli::parse(args, &env, 1);
    match (mode % 4, parsed) {
        (0, Parsed::Run(s)) => check_dumb_init(&s),
        (1, Parsed::Run(s)) => check_tini(&s),
        (_, Parsed::Run(s)) => check_rich(&s),
        (0 | 1, Parsed::Exit { code, .. }) => assert!(code == 0 || code == 1, "exit {code}"),
        (_, Parsed::Exit { code: 0, .. }) => {}
        (
            _,
            Parsed::Exit {
                code,
                stdout,
                stderr,
            },
        ) => {
            assert_eq!(code, 2);
            assert!(stdout.is_empty());
            let line = stderr.strip_suffix('\n').expect("ends its line");
            one_line("a rich-init usage error", line);
        }
        (_, Parsed::Ctl(words)) => check_ctl(&words),
        // argv[0] is an init's name here: the client personalities are never chosen.
        (_, Parsed::Journalctl(_) | Parsed::Service(_) | Parsed::Systemctl(_)) => {
            panic!("argv[0] {:?} chose a client personality", mode % 4)
        }
        (_, Parsed::Hook(words)) => {
            if let Err(e) = hook::parse_args(&words, &env) {
                one_line("a hook usage error", &e.to_string());
            }
        }
        (_, Parsed::Oci(words)) => {
            if let Some(("inject", rest)) = words.split_first().map(|(w, r)| (w.as_str(), r)) {
                if let Err(e) = inject::parse_args(rest) {
                    one_line("an oci inject usage error", &e.to_string());
                }
            }
        }
    }
});
