//! The unit-file syntax's table tests (systemd.syntax(7), systemd.unit(5)).
use super::*;

/// A parse as one line: `[Section] Key=Value@line ...`.
fn render(file: &UnitFile) -> String {
    let mut out = Vec::new();
    for section in file.sections() {
        out.push(format!("[{}]", section.name));
        for e in &section.entries {
            out.push(format!("{}={}@{}", e.key, e.value, e.line));
        }
    }
    out.join(" ")
}

#[test]
fn parses() {
    let cases = [
        // systemd.syntax(7) INTRODUCTION: sections and key=value entries.
        (
            "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n",
            "[Unit] Description=x@2 [Service] ExecStart=/bin/true@4",
        ),
        // systemd.syntax(7): "Whitespace immediately before or after the "=" is ignored".
        (
            "  [Unit]  \n  Description  =  a  b  \n",
            "[Unit] Description=a  b@2",
        ),
        // systemd.syntax(7): empty lines and lines starting with # or ; are ignored.
        (
            "# c\n; c\n\n[Unit]\n  # indented\nA=1 # not a comment\n",
            "[Unit] A=1 # not a comment@6",
        ),
        // systemd.syntax(7): a trailing backslash joins lines; it becomes a space.
        (
            "[S]\nK=value 2 \\\n    continued\nB=2\n",
            "[S] K=value 2      continued@2 B=2@4",
        ),
        // systemd.syntax(7): comment lines after a backslash line are ignored.
        ("[S]\nA=one \\\n# c\n; c\n  two\n", "[S] A=one    two@2"),
        // systemd.syntax(7) (parser): an empty line ends a continuation.
        ("[S]\nA=one \\\n\nB=2\n", "[S] A=one@2 B=2@4"),
        // systemd.syntax(7) (parser): a backslash on the last line, then end of file.
        ("[S]\nA=one \\", "[S] A=one@2"),
        // An escaped backslash at the end (`\\`) is not a continuation.
        ("[S]\nA=x\\\\\nB=y\n", "[S] A=x\\\\@2 B=y@3"),
        // systemd.unit(5): an empty value is an assignment (it "resets" a list).
        ("[S]\nA=\nB= \n", "[S] A=@2 B=@3"),
        // Only the first `=` splits.
        ("[S]\nEnvironment=A=1 B=2\n", "[S] Environment=A=1 B=2@2"),
        // A header met twice names the same section; entries keep file order.
        (
            "[S]\nA=1\n[U]\nB=2\n[S]\nA=3\n",
            "[S] A=1@2 A=3@6 [U] B=2@4",
        ),
        ("[Empty]\n", "[Empty]"),
        ("\u{feff}[S]\r\nA=1\r\n", "[S] A=1@2"),
        ("", ""),
    ];
    for (text, expected) in cases {
        let file = UnitFile::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(render(&file), expected, "{text:?}");
    }
}

#[test]
fn refuses() {
    let cases: &[(&str, SyntaxError)] = &[
        ("[S]\nA=1\0\n", SyntaxError::Nul { line: 2 }),
        (
            "A=1\n[S]\n",
            SyntaxError::OutsideSection {
                line: 1,
                key: "A".into(),
            },
        ),
        (
            "[S]\nnonsense\n",
            SyntaxError::NotAssignment {
                line: 2,
                text: "nonsense".into(),
            },
        ),
        (
            "[S]\n=1\n",
            SyntaxError::EmptyKey {
                line: 2,
                text: "=1".into(),
            },
        ),
        (
            "[Service\nA=1\n",
            SyntaxError::UnterminatedHeader {
                line: 1,
                text: "[Service".into(),
            },
        ),
        (
            "[S] # c\n",
            SyntaxError::UnterminatedHeader {
                line: 1,
                text: "[S] # c".into(),
            },
        ),
        ("[]\n", SyntaxError::EmptySectionName { line: 1 }),
        // The joined line is reported at the line it starts on.
        (
            "[S]\nno \\\nequals\n",
            SyntaxError::NotAssignment {
                line: 2,
                text: "no  equals".into(),
            },
        ),
    ];
    for (text, expected) in cases {
        // systemd ignores some lines with a warning, and refuses the file for the rest.
        let err = match UnitFile::parse(text) {
            Ok(file) if expected.is_warning() => match file.warnings() {
                [only] => only.clone(),
                other => panic!("{text:?}: warnings {other:?}"),
            },
            Ok(file) => panic!("{text:?}: parsed as {file:?}"),
            Err(e) => {
                assert!(!expected.is_warning(), "{text:?}: refused: {e}");
                e
            }
        };
        assert_eq!(&err, expected, "{text:?}");
        assert_eq!(err.line(), expected.line());
        let message = err.to_string();
        assert!(
            !message.contains('\n') && message.contains("; "),
            "{message}"
        );
    }
}

#[test]
fn lookups() {
    let text = "[S]\nA=1\nA=2\nB=x\nA=\nA=3\nA=4\nC=\n[U]\nA=9\n";
    let file = UnitFile::parse(text).expect("parses");
    // systemd.unit(5): a list-valued setting reset by an empty assignment.
    let cases: &[(&str, &str, Option<&str>, &[&str])] = &[
        ("S", "A", Some("4"), &["3", "4"]),
        ("S", "B", Some("x"), &["x"]),
        ("S", "C", Some(""), &[]),
        ("S", "a", None, &[]),
        ("U", "A", Some("9"), &["9"]),
        ("X", "A", None, &[]),
    ];
    for (section, key, get, all) in cases {
        assert_eq!(file.get(section, key), *get, "get {section} {key}");
        assert_eq!(file.all(section, key), *all, "all {section} {key}");
    }
}

#[test]
fn merges_drop_ins() {
    // systemd.unit(5): drop-ins are parsed after the main file; an empty
    // ExecStart= in a drop-in resets the list before the new command.
    let mut file = UnitFile::parse("[Service]\nExecStart=/a\nUser=x\n").expect("main");
    let one = UnitFile::parse("[Service]\nExecStart=\nExecStart=/b\n[Unit]\nAfter=n\n");
    file.merge(one.expect("drop-in 1"));
    file.merge(UnitFile::parse("[Service]\nUser=y\n").expect("drop-in 2"));
    assert_eq!(file.all("Service", "ExecStart"), ["/b"]);
    assert_eq!(file.get("Service", "User"), Some("y"));
    assert_eq!(file.get("Unit", "After"), Some("n"));
    let names: Vec<&str> = file.sections().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Service", "Unit"]);
}
