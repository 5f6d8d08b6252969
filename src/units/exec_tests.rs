use super::*;
use crate::units::syntax::UnitFile;

fn ctx() -> Context {
    Context::system("foo@bar.service", "host")
}

fn p(ignore: bool, argv0: bool, no_env: bool, privilege: Privilege) -> Prefixes {
    Prefixes {
        ignore_failure: ignore,
        argv0,
        no_env_expansion: no_env,
        privilege,
    }
}

#[test]
fn parses_prefixes_and_words() {
    use Privilege::*;
    let none = Prefixes::default();
    // systemd.service(5) "Command lines", "Table 1. Special executable prefixes".
    let cases: &[(&str, Prefixes, &str, &[&str])] = &[
        ("/bin/true", none, "/bin/true", &["/bin/true"]),
        (
            "-/bin/false",
            p(true, false, false, Normal),
            "/bin/false",
            &["/bin/false"],
        ),
        (
            "@/bin/sh mysh -c x",
            p(false, true, false, Normal),
            "/bin/sh",
            &["mysh", "-c", "x"],
        ),
        (
            ":/bin/echo $X",
            p(false, false, true, Normal),
            "/bin/echo",
            &["/bin/echo", "$X"],
        ),
        (
            "+/bin/a",
            p(false, false, false, Full),
            "/bin/a",
            &["/bin/a"],
        ),
        (
            "!/bin/a",
            p(false, false, false, NoSetuid),
            "/bin/a",
            &["/bin/a"],
        ),
        (
            "!!/bin/a",
            p(false, false, false, AmbientFallback),
            "/bin/a",
            &["/bin/a"],
        ),
        // "…may be combined…in any order" (each at most once).
        (
            "-@:+/bin/sh sh",
            p(true, true, true, Full),
            "/bin/sh",
            &["sh"],
        ),
        (
            "+:-@/bin/sh sh",
            p(true, true, true, Full),
            "/bin/sh",
            &["sh"],
        ),
        (
            "!!-/bin/a",
            p(true, false, false, AmbientFallback),
            "/bin/a",
            &["/bin/a"],
        ),
        (
            "-!/bin/a",
            p(true, false, false, NoSetuid),
            "/bin/a",
            &["/bin/a"],
        ),
        // Prefixes are read after unquoting; the program may contain spaces.
        (
            r#""-/opt/my app/run" x"#,
            p(true, false, false, Normal),
            "/opt/my app/run",
            &["/opt/my app/run", "x"],
        ),
        // "If the command is not a full (absolute) path, it will be resolved…": recorded.
        ("crond -f", none, "crond", &["crond", "-f"]),
        // A lone `;` is an argument, not a command separator.
        ("/bin/echo ; x", none, "/bin/echo", &["/bin/echo", ";", "x"]),
        // systemd.syntax(7) "Quoting".
        (
            r#"/bin/echo "a b" 'c d' e\sf \x41"#,
            none,
            "/bin/echo",
            &["/bin/echo", "a b", "c d", "e f", "A"],
        ),
        // systemd.unit(5) "Specifiers", resolved in each word after unquoting.
        (
            "/usr/lib/%p/run --instance=%i '%n x' 100%%",
            none,
            "/usr/lib/foo/run",
            &[
                "/usr/lib/foo/run",
                "--instance=bar",
                "foo@bar.service x",
                "100%",
            ],
        ),
    ];
    for (text, prefixes, path, args) in cases {
        let cmd = Command::parse(text, &ctx()).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(cmd.prefixes, *prefixes, "{text}");
        assert_eq!(cmd.path, *path, "{text}");
        assert_eq!(cmd.args, *args, "{text}");
    }
}

#[test]
fn refuses() {
    type Check = fn(&ExecError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("", |e| matches!(e, ExecError::Empty(_))),
        ("   ", |e| matches!(e, ExecError::Empty(_))),
        ("-", |e| matches!(e, ExecError::Empty(_))),
        ("-@ x", |e| matches!(e, ExecError::Empty(_))),
        (r#""" x"#, |e| matches!(e, ExecError::Empty(_))),
        ("--/bin/a", |e| {
            matches!(e, ExecError::RepeatedPrefix { prefix: "-", .. })
        }),
        ("@-@/bin/a x", |e| {
            matches!(e, ExecError::RepeatedPrefix { prefix: "@", .. })
        }),
        ("::/bin/a", |e| {
            matches!(e, ExecError::RepeatedPrefix { prefix: ":", .. })
        }),
        ("++/bin/a", |e| {
            matches!(e, ExecError::RepeatedPrefix { prefix: "+", .. })
        }),
        ("!!!!/bin/a", |e| {
            matches!(e, ExecError::RepeatedPrefix { prefix: "!!", .. })
        }),
        ("!!!/bin/a", |e| {
            matches!(
                e,
                ExecError::ConflictingPrivilege {
                    first: "!!",
                    second: "!",
                    ..
                }
            )
        }),
        ("+!/bin/a", |e| {
            matches!(
                e,
                ExecError::ConflictingPrivilege {
                    first: "+",
                    second: "!",
                    ..
                }
            )
        }),
        ("!-+/bin/a", |e| {
            matches!(
                e,
                ExecError::ConflictingPrivilege {
                    first: "!",
                    second: "+",
                    ..
                }
            )
        }),
        ("@/bin/a", |e| matches!(e, ExecError::MissingArgv0(_))),
        ("bin/a", |e| matches!(e, ExecError::BadPath { .. })),
        ("..", |e| matches!(e, ExecError::BadPath { .. })),
        (r"/bin/a\x01", |e| matches!(e, ExecError::BadPath { .. })),
        (r#"/bin/echo "a"#, |e| {
            matches!(e, ExecError::Quote(QuoteError::UnterminatedQuote { .. }))
        }),
        (r"/bin/echo \q", |e| {
            matches!(e, ExecError::Quote(QuoteError::BadEscape { .. }))
        }),
        ("/bin/echo %z", |e| {
            matches!(e, ExecError::Specifier(SpecifierError::Unknown('z')))
        }),
        ("/bin/%m", |e| {
            matches!(e, ExecError::Specifier(SpecifierError::Unsupported { .. }))
        }),
    ];
    for (text, check) in cases {
        let err = Command::parse(text, &ctx()).expect_err(text);
        assert!(check(&err), "{text}: {err:?}");
        let message = err.to_string();
        assert!(
            !message.contains('\n') && message.contains("; "),
            "{message}"
        );
    }
}

#[test]
fn expands_environment() {
    let env: HashMap<String, String> = [("A", "x  y"), ("Q", "'a b' c"), ("E", "")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // systemd.service(5) "Command lines": "${FOO}" is one argument; "$FOO" as a separate word
    // splits at whitespace, quotes respected and removed; ":" turns expansion off.
    let cases: &[(&str, &[&str])] = &[
        ("/bin/echo $A", &["/bin/echo", "x", "y"]),
        ("/bin/echo ${A}", &["/bin/echo", "x  y"]),
        ("/bin/echo pre${A}post", &["/bin/echo", "prex  ypost"]),
        ("/bin/echo $Q", &["/bin/echo", "a b", "c"]),
        ("/bin/echo $UNSET end", &["/bin/echo", "end"]),
        ("/bin/echo $E end", &["/bin/echo", "end"]),
        ("/bin/echo ${UNSET}", &["/bin/echo", ""]),
        ("/bin/echo a$A", &["/bin/echo", "a$A"]),
        ("/bin/echo $$A", &["/bin/echo", "$A"]),
        ("/bin/echo ${A", &["/bin/echo", "${A"]),
        ("/bin/echo $ 5$", &["/bin/echo", "$", "5$"]),
        // Quotes are gone before expansion, as in systemd: "$A" still splits.
        (r#"/bin/echo "$A""#, &["/bin/echo", "x", "y"]),
        (":/bin/echo $A ${A}", &["/bin/echo", "$A", "${A}"]),
    ];
    for (text, expected) in cases {
        let cmd = Command::parse(text, &ctx()).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(cmd.argv(&env), *expected, "{text}");
    }
}

#[test]
fn from_a_unit_file() {
    // systemd.syntax(7): continuation and a comment inside it; then systemd.service(5)
    // "Command lines" on the joined value.
    let text = "[Service]\nExecStart=-/usr/sbin/sshd -D \\\n# the port\n    -p 22 \\\n    -o 'Banner none'\n";
    let file = UnitFile::parse(text).expect("parses");
    let value = file.get("Service", "ExecStart").expect("ExecStart");
    let cmd = Command::parse(value, &ctx()).expect("command");
    assert!(cmd.prefixes.ignore_failure);
    assert_eq!(
        cmd.args,
        ["/usr/sbin/sshd", "-D", "-p", "22", "-o", "Banner none"]
    );
}
