//! Splitting a value into words with systemd's quoting, systemd.syntax(7) "Quoting": words
//! are separated by whitespace; `"…"` and `'…'` keep whitespace in a word (a quoted part may
//! touch unquoted text: `a"b c"d` is one word, as systemd's parser reads it); the C-style
//! escapes `\a \b \f \n \r \t \v \\ \" \' \s \xhh \nnn \unnnn \Unnnnnnnn` work inside and
//! outside quotes; anything else after a backslash, and a trailing backslash, are refused.

use thiserror::Error;

/// systemd's whitespace set.
const WS: &[char] = &[' ', '\t', '\n', '\r'];

/// Why a value cannot be split into words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuoteError {
    #[error("unterminated {quote} quote in `{text}`; close the quote, or escape it as \\{quote}")]
    UnterminatedQuote { quote: char, text: String },
    #[error("bad escape `{escape}` in `{text}`; write \\\\ for a backslash (the escapes are \\a \\b \\f \\n \\r \\t \\v \\\\ \\\" \\' \\s \\xhh \\nnn \\unnnn \\Unnnnnnnn)")]
    BadEscape { escape: String, text: String },
    #[error("an escape in `{text}` makes a word that is not UTF-8; escape whole UTF-8 characters, as \\u00e9")]
    NotUtf8 { text: String },
}

/// How backslashes read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Escapes {
    /// C-style escapes, strictly (Exec lines, systemd.syntax(7) "Quoting").
    C,
    /// A backslash takes the next character as it is; unterminated quotes and a trailing
    /// backslash are tolerated (a `$VAR` value split into words, systemd.service(5)).
    Literal,
}

/// Split `text` into words, unquoting and unescaping them (systemd.syntax(7) "Quoting").
pub fn words(text: &str) -> Result<Vec<String>, QuoteError> {
    split(text, Escapes::C, false)
}

/// As `words`, for an Exec line: there a lone `\;` is the word `;` (systemd.service(5)
/// "Command lines": "Lone semicolons may be escaped as \;").
pub fn command_words(text: &str) -> Result<Vec<String>, QuoteError> {
    split(text, Escapes::C, true)
}

/// Split a variable's value as `$VAR` does on an Exec line: quotes respected and removed,
/// no C escapes, nothing refused (systemd.service(5) "Command lines").
pub fn value_words(text: &str) -> Vec<String> {
    // Literal mode refuses nothing; an empty list is the only fallback needed.
    split(text, Escapes::Literal, false).unwrap_or_default()
}

fn split(text: &str, escapes: Escapes, semicolon: bool) -> Result<Vec<String>, QuoteError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| WS.contains(c)).is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        if semicolon {
            let mut ahead = chars.clone();
            if let (Some('\\'), Some(';')) = (ahead.next(), ahead.next()) {
                if ahead.peek().is_none_or(|c| WS.contains(c)) {
                    chars = ahead;
                    out.push(";".to_string());
                    continue;
                }
            }
        }
        let mut word: Vec<u8> = Vec::new();
        let mut quote: Option<char> = None;
        loop {
            let Some(c) = chars.next() else {
                if let (Some(q), Escapes::C) = (quote, escapes) {
                    return Err(QuoteError::UnterminatedQuote {
                        quote: q,
                        text: text.to_string(),
                    });
                }
                break;
            };
            match (c, quote) {
                ('\\', _) => match escapes {
                    Escapes::C => unescape_one(&mut chars, &mut word, text)?,
                    Escapes::Literal => push(&mut word, chars.next().unwrap_or('\\')),
                },
                (c, Some(q)) if c == q => quote = None,
                (c, Some(_)) => push(&mut word, c),
                ('"' | '\'', None) => quote = Some(c),
                (c, None) if WS.contains(&c) => break,
                (c, None) => push(&mut word, c),
            }
        }
        let word = String::from_utf8(word).map_err(|_| QuoteError::NotUtf8 {
            text: text.to_string(),
        })?;
        out.push(word);
    }
}

fn push(word: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    word.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Read one escape after a backslash and append what it stands for. `\xhh` and `\nnn` are
/// bytes; `\u` and `\U` are code points. A NUL is refused, as systemd refuses it.
fn unescape_one(
    chars: &mut std::iter::Peekable<std::str::Chars>,
    word: &mut Vec<u8>,
    text: &str,
) -> Result<(), QuoteError> {
    let Some(c) = chars.next() else {
        return Err(bad("\\ at the end".to_string(), text));
    };
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' | '"' | '\'' => Some(c),
        's' => Some(' '),
        _ => None,
    };
    if let Some(s) = simple {
        push(word, s);
        return Ok(());
    }
    let (digits, radix) = match c {
        'x' => (2, 16),
        'u' => (4, 16),
        'U' => (8, 16),
        '0'..='7' => (2, 8),
        _ => return Err(bad(format!("\\{c}"), text)),
    };
    let octal = radix == 8;
    let mut seen = if octal { c.to_string() } else { String::new() };
    let shown = |seen: &str| {
        if octal {
            format!("\\{seen}")
        } else {
            format!("\\{c}{seen}")
        }
    };
    for _ in 0..digits {
        match chars.next_if(|d| d.is_digit(radix)) {
            Some(d) => seen.push(d),
            None => return Err(bad(shown(&seen), text)),
        }
    }
    let value = u32::from_str_radix(&seen, radix).map_err(|_| bad(shown(&seen), text))?;
    match c {
        'u' | 'U' => match char::from_u32(value).filter(|&v| v != '\0') {
            Some(v) => push(word, v),
            None => return Err(bad(shown(&seen), text)),
        },
        _ => match u8::try_from(value) {
            Ok(byte) if byte != 0 => word.push(byte),
            _ => return Err(bad(shown(&seen), text)),
        },
    }
    Ok(())
}

fn bad(escape: String, text: &str) -> QuoteError {
    QuoteError::BadEscape {
        escape,
        text: text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        // systemd.syntax(7) "Quoting": whitespace separates, quotes group, escapes unescape.
        let cases: &[(&str, &[&str])] = &[
            ("a b\tc  ", &["a", "b", "c"]),
            ("", &[]),
            ("   ", &[]),
            (r#""a b" 'c d'"#, &["a b", "c d"]),
            (r#"x"a b"y 'p'q"#, &["xa by", "pq"]),
            (r#""" ''"#, &["", ""]),
            (r#""it's" 'say "hi"'"#, &["it's", "say \"hi\""]),
            (r"\a\b\f\n\r\t\v", &["\x07\x08\x0c\n\r\t\x0b"]),
            (r#"\\ \" \' a\sb"#, &["\\", "\"", "'", "a b"]),
            (r"\x41\x7a \101\172", &["Az", "Az"]),
            (r"\xc3\xa9 \303\251", &["é", "é"]),
            (r"\u00e9 \U0001F600", &["é", "😀"]),
            // Escapes work inside quotes too.
            (r#""a\tb" 'c\nd'"#, &["a\tb", "c\nd"]),
        ];
        for (text, expected) in cases {
            assert_eq!(words(text).expect(text), *expected, "{text}");
        }
    }

    #[test]
    fn refuses() {
        // systemd.syntax(7) "Quoting": only the escapes in the table; quotes must close.
        let cases: &[(&str, &str)] = &[
            (r#"a "b c"#, "quote"),
            ("a 'b", "quote"),
            (r"\q", r"\q"),
            // Not a shell: `\ ` is no escape; `\s` is the space.
            (r"a\ b", r"\ "),
            (r"\;", r"\;"),
            (r"\x4", r"\x4"),
            (r"\x4g", r"\x4"),
            (r"\x00", r"\x00"),
            (r"\000", r"\000"),
            (r"\400", r"\400"),
            (r"\18", r"\1"),
            (r"\u12", r"\u12"),
            (r"\ud800", r"\ud800"),
            (r"\U00110000", r"\U00110000"),
            ("a\\", r"\ at the end"),
            (r"\xff", "UTF-8"),
        ];
        for (text, names) in cases {
            let err = words(text).expect_err(text);
            let message = err.to_string();
            assert!(message.contains(names), "{text}: {message}");
            assert!(
                !message.contains('\n') && message.contains("; "),
                "{message}"
            );
        }
    }

    #[test]
    fn lone_escaped_semicolon() {
        // systemd.service(5) "Command lines": "Lone semicolons may be escaped as \;".
        let cases: &[(&str, &[&str])] = &[
            (r"/bin/a \; b", &["/bin/a", ";", "b"]),
            (r"/bin/a \;", &["/bin/a", ";"]),
            (r"/bin/a ; b", &["/bin/a", ";", "b"]),
            (r#"/bin/a ";""#, &["/bin/a", ";"]),
        ];
        for (text, expected) in cases {
            assert_eq!(command_words(text).expect(text), *expected, "{text}");
        }
        // Not lone: an ordinary (bad) escape.
        assert!(command_words(r"/bin/a \;b").is_err());
        assert!(words(r"\;").is_err());
    }

    #[test]
    fn value_words_are_lenient() {
        // systemd.service(5) "Command lines": "$FOO" splits at whitespace, quotes respected.
        let cases: &[(&str, &[&str])] = &[
            ("a  b", &["a", "b"]),
            (r#"'x y' "z""#, &["x y", "z"]),
            (r"\n \q", &["n", "q"]),
            ("'open", &["open"]),
            ("end\\", &["end\\"]),
            ("", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(value_words(text), *expected, "{text}");
        }
    }
}
