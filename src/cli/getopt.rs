//! A small GNU `getopt`/`getopt_long` work-alike, so that the dumb-init and tini
//! personalities accept (and reject) exactly what the C originals accept, with
//! glibc's wording on errors.

use std::ffi::OsString;

/// A short option and whether it takes an argument.
pub type Short = (char, bool);
/// A long option: name, whether it takes an argument, and the short option it stands for.
pub type Long = (&'static str, bool, char);

/// How operands and options may mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Stop at the first operand (optstring starting with `+`, or POSIXLY_CORRECT).
    RequireOrder,
    /// GNU default: options anywhere before `--`; operands are collected in order.
    Permute,
}

/// One thing getopt returned, in argv order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Opt(char, Option<String>),
    Error(Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Invalid(char),
    MissingArg(char),
    UnknownLong(String),
    LongMissingArg(String),
    LongNoArg(String),
    Ambiguous(String, Vec<&'static str>),
}

impl Error {
    /// glibc's message for this error, with the program name as argv[0] gave it.
    pub fn message(&self, prog: &str) -> String {
        match self {
            Error::Invalid(c) => format!("{prog}: invalid option -- '{c}'\n"),
            Error::MissingArg(c) => format!("{prog}: option requires an argument -- '{c}'\n"),
            Error::UnknownLong(text) => format!("{prog}: unrecognized option '--{text}'\n"),
            Error::LongMissingArg(name) => {
                format!("{prog}: option '--{name}' requires an argument\n")
            }
            Error::LongNoArg(name) => {
                format!("{prog}: option '--{name}' doesn't allow an argument\n")
            }
            Error::Ambiguous(text, names) => {
                let list: Vec<String> = names.iter().map(|n| format!(" '--{n}'")).collect();
                format!(
                    "{prog}: option '--{text}' is ambiguous; possibilities:{}\n",
                    list.concat()
                )
            }
        }
    }
}

/// Options in order (stopping after the first error) and the operands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    pub items: Vec<Item>,
    pub operands: Vec<OsString>,
}

/// Parse `args` (without argv[0]).
pub fn getopt(args: &[OsString], shorts: &[Short], longs: &[Long], order: Order) -> Outcome {
    let mut out = Outcome::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].to_string_lossy().into_owned();
        i += 1;
        if arg == "--" {
            out.operands.extend(args[i..].iter().cloned());
            return out;
        }
        if let Some(body) = arg.strip_prefix("--").filter(|_| !longs.is_empty()) {
            let item = long_option(body, longs, args, &mut i);
            let failed = matches!(item, Item::Error(_));
            out.items.push(item);
            if failed {
                return out;
            }
            continue;
        }
        if arg.len() < 2 || !arg.starts_with('-') {
            out.operands.push(args[i - 1].clone());
            if order == Order::RequireOrder {
                out.operands.extend(args[i..].iter().cloned());
                return out;
            }
            continue;
        }
        let chars: Vec<char> = arg.chars().skip(1).collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            k += 1;
            let Some(&(_, takes_arg)) = shorts.iter().find(|(s, _)| *s == c) else {
                out.items.push(Item::Error(Error::Invalid(c)));
                return out;
            };
            if !takes_arg {
                out.items.push(Item::Opt(c, None));
                continue;
            }
            let value = if k < chars.len() {
                Some(chars[k..].iter().collect())
            } else if i < args.len() {
                i += 1;
                Some(args[i - 1].to_string_lossy().into_owned())
            } else {
                None
            };
            match value {
                Some(v) => out.items.push(Item::Opt(c, Some(v))),
                None => {
                    out.items.push(Item::Error(Error::MissingArg(c)));
                    return out;
                }
            }
            break;
        }
    }
    out
}

fn long_option(body: &str, longs: &[Long], args: &[OsString], i: &mut usize) -> Item {
    let (name, inline) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (body, None),
    };
    let exact = longs.iter().find(|(n, _, _)| *n == name);
    let chosen = match exact {
        Some(l) => *l,
        None => {
            let matches: Vec<&Long> = longs
                .iter()
                .filter(|(n, _, _)| n.starts_with(name))
                .collect();
            match matches.as_slice() {
                [] => return Item::Error(Error::UnknownLong(body.to_string())),
                [one] => **one,
                many => {
                    let names = many.iter().map(|(n, _, _)| *n).collect();
                    return Item::Error(Error::Ambiguous(body.to_string(), names));
                }
            }
        }
    };
    let (full, takes_arg, short) = chosen;
    match (takes_arg, inline) {
        (false, Some(_)) => Item::Error(Error::LongNoArg(full.to_string())),
        (false, None) => Item::Opt(short, None),
        (true, Some(v)) => Item::Opt(short, Some(v)),
        (true, None) if *i < args.len() => {
            *i += 1;
            Item::Opt(short, Some(args[*i - 1].to_string_lossy().into_owned()))
        }
        (true, None) => Item::Error(Error::LongMissingArg(full.to_string())),
    }
}

/// C `strtol(text, &end, 10)` accepting only when `*end == 0`, as tini and dumb-init
/// validate numbers: leading blanks and a sign are allowed, an empty string is 0.
pub fn c_strtol_full(text: &str) -> Option<i64> {
    let (value, rest) = c_strtol_prefix(text);
    rest.is_empty().then_some(value)
}

/// C `strtol` / `sscanf("%d")` prefix parse: the value and the text after it. When no
/// digits are found the value is 0 and the rest is the whole input, as in C.
pub fn c_strtol_prefix(text: &str) -> (i64, &str) {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return (0, text);
    }
    let magnitude = unsigned[..digits].bytes().fold(0i64, |acc, d| {
        acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    (
        if negative { -magnitude } else { magnitude },
        &unsigned[digits..],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORTS: &[Short] = &[('h', false), ('c', false), ('r', true), ('v', false)];
    const LONGS: &[Long] = &[
        ("help", false, 'h'),
        ("single-child", false, 'c'),
        ("rewrite", true, 'r'),
        ("verbose", false, 'v'),
        ("version", false, 'V'),
    ];

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn run(list: &[&str], order: Order) -> Outcome {
        getopt(&args(list), SHORTS, LONGS, order)
    }

    #[test]
    fn short_options_cluster_and_take_arguments() {
        let out = run(&["-cr15:0", "-r", "1:2", "cmd", "-x"], Order::RequireOrder);
        assert_eq!(
            out.items,
            vec![
                Item::Opt('c', None),
                Item::Opt('r', Some("15:0".into())),
                Item::Opt('r', Some("1:2".into()))
            ]
        );
        assert_eq!(out.operands, args(&["cmd", "-x"]));
    }

    #[test]
    fn permute_finds_options_after_operands() {
        let out = run(&["ls", "-v", "--", "-c"], Order::Permute);
        assert_eq!(out.items, vec![Item::Opt('v', None)]);
        assert_eq!(out.operands, args(&["ls", "-c"]));
    }

    #[test]
    fn errors_stop_parsing_with_glibc_wording() {
        let cases: &[(&[&str], &str)] = &[
            (&["-x"], "p: invalid option -- 'x'\n"),
            (&["-r"], "p: option requires an argument -- 'r'\n"),
            (&["--bogus=1"], "p: unrecognized option '--bogus=1'\n"),
            (
                &["--rewrite"],
                "p: option '--rewrite' requires an argument\n",
            ),
            (
                &["--single-child=1"],
                "p: option '--single-child' doesn't allow an argument\n",
            ),
            (
                &["--ver"],
                "p: option '--ver' is ambiguous; possibilities: '--verbose' '--version'\n",
            ),
        ];
        for (list, want) in cases {
            let out = run(list, Order::RequireOrder);
            match out.items.last() {
                Some(Item::Error(e)) => assert_eq!(e.message("p"), *want, "{list:?}"),
                other => panic!("{list:?}: expected an error, got {other:?}"),
            }
        }
    }

    #[test]
    fn long_prefixes_and_values() {
        let out = run(
            &["--single", "--rewrite=1:2", "--rewrite", "3:4", "x"],
            Order::RequireOrder,
        );
        assert_eq!(
            out.items,
            vec![
                Item::Opt('c', None),
                Item::Opt('r', Some("1:2".into())),
                Item::Opt('r', Some("3:4".into()))
            ]
        );
        assert_eq!(out.operands, args(&["x"]));
    }

    #[test]
    fn lone_dash_is_an_operand() {
        let out = run(&["-", "-v"], Order::RequireOrder);
        assert!(out.items.is_empty());
        assert_eq!(out.operands, args(&["-", "-v"]));
    }

    #[test]
    fn strtol_like_c() {
        assert_eq!(c_strtol_full("3"), Some(3));
        assert_eq!(c_strtol_full(" 3"), Some(3));
        assert_eq!(c_strtol_full("+3"), Some(3));
        assert_eq!(c_strtol_full("-1"), Some(-1));
        assert_eq!(c_strtol_full(""), Some(0));
        assert_eq!(c_strtol_full(" "), None);
        assert_eq!(c_strtol_full("3x"), None);
        assert_eq!(c_strtol_full("abc"), None);
        assert_eq!(c_strtol_prefix("2x"), (2, "x"));
        assert_eq!(c_strtol_prefix(":1"), (0, ":1"));
    }
}
