use super::*;

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

#[test]
fn parses_stage_and_flags_in_any_order() {
    let none = |_: &str| None;
    let a = parse_args(&words("prestart"), &none).expect("ok");
    assert_eq!(a.stage, Stage::Prestart);
    assert_eq!(a.hooks_dir, PathBuf::from(HOOKS_DIR));
    assert_eq!((a.timeout, a.log), (None, LogTo::Auto));
    let a = parse_args(
        &words("--timeout 2s poststop --hooks-dir=/h --env A=1 --env B= --log stderr"),
        &none,
    )
    .expect("ok");
    assert_eq!(a.stage, Stage::Poststop);
    assert_eq!(a.hooks_dir, PathBuf::from("/h"));
    assert_eq!(a.timeout, Some(Duration::from_secs(2)));
    assert_eq!(a.env, ["A=1", "B="]);
    assert_eq!(a.log, LogTo::Stderr);
    let from_env = |k: &str| (k == "RICH_INIT_HOOKS_DIR").then(|| "/e".to_string());
    let a = parse_args(&words("prestart"), &from_env).expect("ok");
    assert_eq!(a.hooks_dir, PathBuf::from("/e"));
    let a = parse_args(&words("prestart --hooks-dir /f"), &from_env).expect("ok");
    assert_eq!(a.hooks_dir, PathBuf::from("/f"), "the flag wins");
}

#[test]
fn the_log_file_has_a_default_a_variable_and_an_off_switch() {
    let argv = |list: &[&str]| -> Vec<String> { list.iter().map(|s| s.to_string()).collect() };
    let none = |_: &str| None;
    let var =
        |value: &'static str| move |k: &str| (k == "RICH_INIT_LOG_FILE").then(|| value.to_string());
    let log = PathBuf::from(hooklog::LOG_FILE);
    type Env<'a> = &'a dyn Fn(&str) -> Option<String>;
    let cases: [(&[&str], Env, Option<PathBuf>); 7] = [
        (&["prestart"], &none, Some(log.clone())),
        (&["prestart", "--log-file", "/l"], &none, Some("/l".into())),
        (&["prestart", "--log-file=/l"], &none, Some("/l".into())),
        (&["prestart", "--log-file", ""], &none, None),
        (&["prestart", "--log-file="], &none, None),
        (&["prestart"], &var(""), None),
        (
            &["prestart", "--log-file", "/f"],
            &var("/e"),
            Some("/f".into()),
        ),
    ];
    for (words, env, want) in cases {
        let a = parse_args(&argv(words), env).expect("ok");
        assert_eq!(a.log_file, want, "{words:?}");
    }
    let a = parse_args(&argv(&["prestart"]), &var("/e")).expect("ok");
    assert_eq!(a.log_file, Some(PathBuf::from("/e")));
    assert!(parse_args(&argv(&["prestart", "--log-file"]), &none).is_err());
}

#[test]
fn the_initscript_goes_without_mknod_and_ptrace() {
    let all = CapSets {
        bounding: u64::MAX,
        effective: u64::MAX,
        permitted: u64::MAX,
        inheritable: u64::MAX,
        ambient: u64::MAX,
        last_cap: 40,
    };
    let kept = without_dropped(all);
    let bit = |name: &str| 1u64 << crate::sys::caps::number(name).expect("known");
    for set in [
        kept.bounding,
        kept.effective,
        kept.permitted,
        kept.inheritable,
        kept.ambient,
    ] {
        assert_eq!(set & bit("CAP_MKNOD"), 0);
        assert_eq!(set & bit("CAP_SYS_PTRACE"), 0);
        assert_ne!(set & bit("CAP_KILL"), 0, "the others stay");
    }
}

#[test]
fn usage_errors_are_one_line() {
    let none = |_: &str| None;
    for line in [
        "",
        "prestrat",
        "prestart poststop",
        "prestart --timeout",
        "prestart --timeout soon",
        "prestart --timeout 0s",
        "prestart --env NOVALUE",
        "prestart --env =x",
        "prestart --env s3cr3t",
        "prestart --log loud",
        "prestart --frobnicate",
    ] {
        let err = parse_args(&words(line), &none).expect_err(line).to_string();
        assert!(!err.contains('\n'), "{line}: {err}");
    }
    for line in ["prestart --env =s3cr3t", "prestart --env s3cr3t"] {
        let err = parse_args(&words(line), &none).expect_err(line).to_string();
        assert!(!err.contains("s3cr3t"), "a value is never repeated: {err}");
    }
    // Words holding line breaks (found by the cli_args fuzz target) stay one line.
    for bad in [
        &["prestart", "--fro\nbnicate"][..],
        &["pre\nstart"],
        &["prestart", "post\nstop"],
    ] {
        let argv: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
        let err = parse_args(&argv, &none).expect_err("bad word").to_string();
        assert!(!err.contains('\n'), "{bad:?}: {err}");
    }
    let err = parse_args(&words("prestrat"), &none)
        .expect_err("unknown")
        .to_string();
    assert!(err.contains("prestart, createRuntime"), "{err}");
}
