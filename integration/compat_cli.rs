//! Our binary as `dumb-init`, `tini` and `docker-init` against Debian's dumb-init 1.2.5
//! and tini 0.19: same exit status, same (normalised) stdout and stderr.

use crate::differential::Pair;

const NO_ENV: &[(&str, &str)] = &[];

#[test]
fn dumb_init_bad_arguments() {
    for p in Pair::both("dumb-init") {
        let cases: &[&[&str]] = &[
            &[],
            &["--bogus"],
            &["-x"],
            &["-x", "true"],
            &["-r"],
            &["--rewrite"],
            &["-r", "0:1", "true"],
            &["-r", "1:32", "true"],
            &["-r", "15", "true"],
            &["-r", "x:y", "true"],
            &["--ver"],
            &["--single-child=1"],
            &["--single-child=1", "true"],
            &["-c"],
        ];
        for args in cases {
            let (peer, _) = p.assert_same(args, NO_ENV);
            assert_ne!(peer.code(), Some(0), "a bad command line fails\n{peer}");
        }
    }
}

#[test]
fn dumb_init_version_and_help_codes() {
    for p in Pair::both("dumb-init") {
        for args in [&["-V"][..], &["--version"], &["-V", "-x"], &["-V", "true"]] {
            p.assert_same(args, NO_ENV);
        }
        // In each setsid mode and with debug on: -V still only prints the version.
        for env in [
            &[("DUMB_INIT_SETSID", "0")][..],
            &[("DUMB_INIT_DEBUG", "1")],
            &[("DUMB_INIT_SETSID", "0"), ("DUMB_INIT_DEBUG", "1")],
        ] {
            p.assert_same(&["-V"], env);
            p.assert_same(&["-c", "-V"], env);
            p.assert_same(&["-c"], env);
            p.assert_same(&["-r", "0:1", "true"], env);
        }
        // The help text is dumb-init's own, byte for byte: its own suite checks it.
        for args in [&["-h"][..], &["--help"], &["-h", "true"]] {
            p.assert_same(args, &[]);
        }
    }
}

#[test]
fn dumb_init_exec_failures() {
    for p in Pair::both("dumb-init") {
        let (peer, _) = p.assert_same(&["nonexist"], NO_ENV);
        assert_eq!(peer.code(), Some(2), "dumb-init's own code\n{peer}");
        assert_eq!(
            peer.stderr,
            "[dumb-init] nonexist: No such file or directory\n"
        );
        p.assert_same(&["/etc/passwd"], NO_ENV);
        p.assert_same(&["-c", "nonexist"], NO_ENV);
    }
}

#[test]
fn dumb_init_exit_statuses() {
    for p in Pair::both("dumb-init") {
        let cases: &[&[&str]] = &[
            &["sh", "-c", "exit 3"],
            &["sh", "-c", "kill -TERM $$"],
            &["sh", "-c", "kill -KILL $$"],
            &["-c", "sh", "-c", "exit 4"],
            &["--single-child", "sh", "-c", "kill -INT $$"],
            &["-r", "15:3", "sh", "-c", "exit 0"],
            &["--rewrite=15:3", "-r", "1:0", "sh", "-c", "exit 6"],
            &["--", "sh", "-c", "exit 5"],
            &["sh", "-c", "echo out; echo err >&2; exit 1"],
        ];
        for args in cases {
            p.assert_same(args, NO_ENV);
        }
        p.assert_same(&["sh", "-c", "exit 5"], &[("DUMB_INIT_SETSID", "0")]);
    }
}

#[test]
fn dumb_init_options_stop_at_the_first_operand() {
    for p in Pair::both("dumb-init") {
        // dumb-init does not permute: `-c` here belongs to sh.
        p.assert_same(&["sh", "-c", "echo \"$0\" \"$@\"", "-x", "-c"], NO_ENV);
    }
}

#[test]
fn tini_bad_arguments() {
    for name in ["tini", "docker-init"] {
        for p in Pair::both(name) {
            let cases: &[&[&str]] = &[
                &[],
                &["-x"],
                &["-x", "true"],
                &["-e"],
                &["-e", "300", "true"],
                &["-e", "abc", "true"],
                &["-e", "-1", "true"],
                &["-p", "FOO", "true"],
                &["-p", "KILL", "true"],
                &["--version", "true"],
                &["-s"],
            ];
            for args in cases {
                let (peer, _) = p.assert_same(args, NO_ENV);
                assert_eq!(peer.code(), Some(1), "tini's usage code\n{peer}");
            }
        }
    }
}

#[test]
fn tini_version_help_and_license_codes() {
    for name in ["tini", "tini-static", "docker-init"] {
        for p in Pair::both(name) {
            p.assert_same(&["--version"], NO_ENV);
            // The variables change nothing about --version or bad usage.
            for env in [
                &[("TINI_VERBOSITY", "4")][..],
                &[("TINI_SUBREAPER", "1"), ("TINI_KILL_PROCESS_GROUP", "1")],
                &[("TINI_VERBOSITY", "0")],
            ] {
                p.assert_same(&["--version"], env);
                p.assert_same(&["-e", "x", "true"], env);
                p.assert_same(&["-s"], env);
            }
            // The help text is tini's own; -l names rich-init's license, not tini's
            // (a deliberate difference: the code running is not tini's).
            for args in [&["-h"][..], &["--help"]] {
                p.assert_same(args, &[]);
            }
            for args in [&["-l"][..], &["-s", "ls", "-l", "/dev/null"]] {
                p.assert_same_code(args);
            }
        }
    }
}

#[test]
fn tini_exec_failures() {
    for name in ["tini", "docker-init"] {
        for p in Pair::both(name) {
            let (peer, _) = p.assert_same(&["nonexist"], NO_ENV);
            assert_eq!(peer.code(), Some(127), "{peer}");
            let (peer, _) = p.assert_same(&["-s", "/etc/passwd"], NO_ENV);
            assert_eq!(peer.code(), Some(126), "{peer}");
            p.assert_same(&["/etc/passwd"], NO_ENV);
        }
    }
}

#[test]
fn tini_exit_statuses_and_remap() {
    for name in ["tini", "tini-static", "docker-init"] {
        for p in Pair::both(name) {
            let (peer, _) = p.assert_same(&["-s", "--", "sh", "-c", "exit 3"], NO_ENV);
            assert_eq!(peer.code(), Some(3), "{peer}");
            let (peer, _) =
                p.assert_same(&["-e", "143", "-s", "--", "sh", "-c", "kill $$"], NO_ENV);
            assert_eq!(peer.code(), Some(0), "{peer}");
            let cases: &[&[&str]] = &[
                &["-s", "--", "sh", "-c", "kill -KILL $$"],
                &["-e", "3", "-e", "4", "-s", "--", "sh", "-c", "exit 4"],
                &["-e", "3", "-s", "--", "sh", "-c", "exit 5"],
                &[
                    "-s",
                    "-g",
                    "--",
                    "sh",
                    "-c",
                    "echo out; echo err >&2; exit 1",
                ],
            ];
            for args in cases {
                p.assert_same(args, NO_ENV);
            }
        }
    }
}

#[test]
fn tini_subreaper_warning() {
    for p in Pair::both("tini") {
        let (peer, _) = p.assert_same(&["true"], NO_ENV);
        assert!(
            peer.stderr.contains("not running as PID 1"),
            "tini warns when it is neither pid 1 nor a subreaper\n{peer}"
        );
        for env in [[("TINI_VERBOSITY", "0")], [("TINI_SUBREAPER", "1")]] {
            let (peer, _) = p.assert_same(&["true"], &env);
            assert_eq!(peer.stderr, "", "{env:?} silences the warning\n{peer}");
        }
        let (peer, _) = p.assert_same(&["-s", "true"], NO_ENV);
        assert_eq!(peer.stderr, "", "{peer}");
        p.assert_same(&["sh", "-c", "exit 2"], &[("TINI_VERBOSITY", "0")]);
    }
}

#[test]
fn tini_permutes_options_unless_posixly_correct() {
    for p in Pair::both("tini") {
        // `-s` after the program is tini's own option ...
        let (peer, _) = p.assert_same(&["ls", "-s", "/dev/null"], NO_ENV);
        assert_eq!(peer.stdout, "/dev/null\n", "{peer}");
        p.assert_same(&["-s", "ls", "/dev/null", "-s"], NO_ENV);
        // ... unless POSIXLY_CORRECT stops option parsing at the program,
        let env = [("POSIXLY_CORRECT", "1")];
        let (peer, _) = p.assert_same(&["-s", "ls", "-s", "/dev/null"], &env);
        assert_eq!(peer.stdout, "0 /dev/null\n", "{peer}");
        // ... or `--` ends tini's options.
        p.assert_same(&["-s", "--", "ls", "-s", "/dev/null"], NO_ENV);
    }
}
