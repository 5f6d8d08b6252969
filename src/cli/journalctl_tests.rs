use super::*;

fn run(words: &[&str]) -> Parsed {
    let mut argv = vec![OsString::from("journalctl")];
    argv.extend(words.iter().map(OsString::from));
    parse(argv)
}

fn ok(words: &[&str]) -> Args {
    match run(words) {
        Parsed::Journalctl(args) => *args,
        other => panic!("{words:?}: {other:?}"),
    }
}

fn base() -> Args {
    Args {
        units: vec![],
        identifiers: vec![],
        lines: None,
        follow: false,
        reverse: false,
        quiet: false,
        no_hostname: false,
        all: false,
        output: Output::Short,
    }
}

#[test]
fn accepted_command_lines() {
    let unit = |u: &[&str], lines| Args {
        units: u.iter().map(|s| s.to_string()).collect(),
        lines,
        ..base()
    };
    let follow = |lines| Args {
        follow: true,
        lines,
        ..base()
    };
    let cases: Vec<(&[&str], Args)> = vec![
        (&[], base()),
        (&["-u", "cron"], unit(&["cron.service"], None)),
        (&["-ucron"], unit(&["cron.service"], None)),
        (&["--unit=cron.service"], unit(&["cron.service"], None)),
        (
            &["--unit", "multi-user.target"],
            unit(&["multi-user.target"], None),
        ),
        (&["--uni=ssh"], unit(&["ssh.service"], None)),
        (
            &["-u", "a", "-u", "b.socket"],
            unit(&["a.service", "b.socket"], None),
        ),
        // -n: alone is 10, takes an attached value, or the next word when it parses.
        (
            &["-n"],
            Args {
                lines: Some(10),
                ..base()
            },
        ),
        (
            &["-n5"],
            Args {
                lines: Some(5),
                ..base()
            },
        ),
        (
            &["-n", "5"],
            Args {
                lines: Some(5),
                ..base()
            },
        ),
        (&["-n", "all"], base()),
        (&["--lines=all"], base()),
        (
            &["--lines=0"],
            Args {
                lines: Some(0),
                ..base()
            },
        ),
        (
            &["--lines", "7"],
            Args {
                lines: Some(7),
                ..base()
            },
        ),
        (&["-n", "-u", "x"], unit(&["x.service"], Some(10))),
        (&["-u", "x", "-n"], unit(&["x.service"], Some(10))),
        // -f shows the last 10 first, unless told; --no-tail shows all.
        (&["-f"], follow(Some(10))),
        (&["--follow", "-n", "3"], follow(Some(3))),
        (&["-f", "--no-tail"], follow(None)),
        (
            &["-fu", "web"],
            Args {
                units: vec!["web.service".into()],
                ..follow(Some(10))
            },
        ),
        // -e: the last 1000 unless -n.
        (
            &["-e"],
            Args {
                lines: Some(1000),
                ..base()
            },
        ),
        (
            &["-e", "-n", "20"],
            Args {
                lines: Some(20),
                ..base()
            },
        ),
        // Accepted, no effect: the only boot, the catalog, the pager, UTC.
        (
            &["-b", "--no-pager", "-x", "--utc", "--catalog", "--boot"],
            base(),
        ),
        (&["-b", "0"], base()),
        (&["-b", "all"], base()),
        (
            &["-b", "+0", "-n", "+3"],
            Args {
                lines: Some(3),
                ..base()
            },
        ),
        (
            &[
                "-b0",
                "--boot=-0",
                "--this-boot",
                "--system",
                "--full",
                "-l",
                "--no-full",
            ],
            base(),
        ),
        (&["-b", "-u", "x"], unit(&["x.service"], None)),
        (
            &["-q", "--no-hostname", "-a", "-r"],
            Args {
                quiet: true,
                no_hostname: true,
                all: true,
                reverse: true,
                ..base()
            },
        ),
        (&["-o", "short"], base()),
        (
            &["--output=cat"],
            Args {
                output: Output::Cat,
                ..base()
            },
        ),
        (
            &["-ocat"],
            Args {
                output: Output::Cat,
                ..base()
            },
        ),
        (
            &["-t", "cron", "--identifier=sshd"],
            Args {
                identifiers: vec!["cron".into(), "sshd".into()],
                ..base()
            },
        ),
        (
            &["-xe", "-u", "nginx"],
            unit(&["nginx.service"], Some(1000)),
        ),
    ];
    for (words, want) in cases {
        assert_eq!(ok(words), want, "{words:?}");
    }
}

#[test]
fn refused_command_lines_say_one_line_and_exit_1() {
    let cases: &[(&[&str], &str)] = &[
        (&["--x"], "journalctl: unrecognized option '--x'\n"),
        (&["--frobnicate=3"], "journalctl: unrecognized option '--frobnicate=3'\n"),
        (&["-z"], "journalctl: invalid option -- 'z'\n"),
        (&["-u"], "journalctl: option requires an argument -- 'u'\n"),
        (&["--unit"], "journalctl: option '--unit' requires an argument\n"),
        (&["--follow=yes"], "journalctl: option '--follow' doesn't allow an argument\n"),
        (&["--no"], "journalctl: option '--no' is ambiguous; possibilities: '--no-pager' '--no-full' '--no-tail' '--no-hostname'\n"),
        (&["-n", "x"], "Matches such as 'x' are not supported by rich-init's journal; filter with -u UNIT or -t IDENTIFIER.\n"),
        (&["--lines=x"], "Failed to parse lines 'x'\n"),
        (&["-n-1"], "Failed to parse lines '-1'\n"),
        (&["-o", "json"], "Output format 'json' is not supported by rich-init's journal; use -o short or -o cat.\n"),
        (&["-o", "bogus"], "Unknown output format 'bogus'.\n"),
        (&["-f", "-r"], "Please specify either --reverse= or --follow=, not both.\n"),
        (&["_PID=1"], "Matches such as '_PID=1' are not supported by rich-init's journal; filter with -u UNIT or -t IDENTIFIER.\n"),
        (&["--since=today"], "Option --since is not supported by rich-init's journal (it keeps each unit's recent lines in memory); use -n N for the last N lines.\n"),
        (&["-S", "today"], "Option -S/--since is not supported by rich-init's journal (it keeps each unit's recent lines in memory); use -n N for the last N lines.\n"),
        (&["-p", "err"], "Option -p/--priority is not supported by rich-init's journal (it keeps each unit's recent lines in memory); pipe the output through grep.\n"),
        (&["--vacuum-size=1M"], "Option --vacuum-size is not supported by rich-init's journal (it keeps each unit's recent lines in memory); see journalctl --help for what is supported.\n"),
        (&["--he"], "journalctl: option '--he' is ambiguous; possibilities: '--help' '--header'\n"),
        (&["-b", "x"], "Matches such as 'x' are not supported by rich-init's journal; filter with -u UNIT or -t IDENTIFIER.\n"),
        (&["--boot=x"], "Failed to parse boot descriptor 'x'\n"),
        (&["-b", "0123456789abcdef0123456789abcdef"], "Option -b 0123456789abcdef0123456789abcdef is not supported by rich-init's journal (it keeps each unit's recent lines in memory); a container has one boot: use -b alone.\n"),
        (&["-b", "-1"], "Option -b -1 is not supported by rich-init's journal (it keeps each unit's recent lines in memory); a container has one boot: use -b alone.\n"),
    ];
    for (words, want) in cases {
        match run(words) {
            Parsed::Exit {
                code,
                stdout,
                stderr,
            } => {
                assert_eq!(
                    (code, stdout.as_str(), stderr.as_str()),
                    (1, "", *want),
                    "{words:?}"
                );
            }
            other => panic!("{words:?}: {other:?}"),
        }
    }
}

#[test]
fn help_and_version() {
    for words in [&["-h"][..], &["--help"], &["-u", "x", "--hel"]] {
        assert_eq!(run(words), Parsed::stdout(0, HELP), "{words:?}");
    }
    match run(&["--version"]) {
        Parsed::Exit {
            code: 0, stdout, ..
        } => assert!(stdout.starts_with("systemd 252 ")),
        other => panic!("{other:?}"),
    }
    // glibc names the program as argv[0] gave it.
    let got = parse(vec!["/usr/bin/journalctl".into(), "--x".into()]);
    assert_eq!(
        got,
        Parsed::stderr(1, "/usr/bin/journalctl: unrecognized option '--x'\n")
    );
}

#[test]
fn unit_names_get_service_unless_typed() {
    let cases = [
        ("cron", "cron.service"),
        ("cron.service", "cron.service"),
        ("ssh.socket", "ssh.socket"),
        ("getty@tty1", "getty@tty1.service"),
        ("getty@tty1.service", "getty@tty1.service"),
        ("foo.bar", "foo.bar.service"),
        (".service", ".service.service"),
        ("", ".service"),
    ];
    for (name, want) in cases {
        assert_eq!(mangle_unit(name), want, "{name}");
    }
}
