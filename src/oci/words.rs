//! The words of the small OCI command lines (`hook`, `oci inject`): `--flag VALUE`,
//! `--flag=VALUE` and bare words, with one wording for a missing value.

pub struct Words<'a> {
    it: std::slice::Iter<'a, String>,
    usage: &'static str,
}

/// A flag given without its value: `{flag} needs a value; {usage}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} needs a value; {usage}")]
pub struct MissingValue {
    pub flag: String,
    /// The command's usage line.
    pub usage: &'static str,
}

/// One word: a flag (with its `=VALUE`, if written so) or a bare word.
pub struct Word<'a> {
    pub text: &'a str,
    inline: Option<&'a str>,
}

impl<'a> Words<'a> {
    pub fn new(words: &'a [String], usage: &'static str) -> Words<'a> {
        Words {
            it: words.iter(),
            usage,
        }
    }

    pub fn next_word(&mut self) -> Option<Word<'a>> {
        let word = self.it.next()?;
        Some(match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => Word {
                text: flag,
                inline: Some(value),
            },
            _ => Word {
                text: word,
                inline: None,
            },
        })
    }

    /// The value of flag `w`: after its `=`, or the next word; never empty.
    pub fn value(&mut self, w: &Word<'a>) -> Result<String, MissingValue> {
        Some(self.value_or_empty(w)?)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| self.missing(w))
    }

    /// The value of flag `w`, which may be empty (`--flag ''`, `--flag=`).
    pub fn value_or_empty(&mut self, w: &Word<'a>) -> Result<String, MissingValue> {
        w.inline
            .or_else(|| self.it.next().map(String::as_str))
            .map(String::from)
            .ok_or_else(|| self.missing(w))
    }

    fn missing(&self, w: &Word<'a>) -> MissingValue {
        MissingValue {
            flag: w.text.to_string(),
            usage: self.usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_take_values_either_way() {
        let words: Vec<String> = ["--a=1", "--b", "2", "bare", "--c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut w = Words::new(&words, "usage: x");
        let a = w.next_word().expect("a");
        assert_eq!((a.text, w.value(&a)), ("--a", Ok("1".into())));
        let b = w.next_word().expect("b");
        assert_eq!((b.text, w.value(&b)), ("--b", Ok("2".into())));
        assert_eq!(w.next_word().map(|x| x.text), Some("bare"));
        let c = w.next_word().expect("c");
        assert_eq!(
            w.value(&c).map_err(|e| e.to_string()),
            Err("--c needs a value; usage: x".into())
        );
        let words: Vec<String> = ["--d=", "--e", "", "--f"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut w = Words::new(&words, "usage: x");
        let d = w.next_word().expect("d");
        assert_eq!(w.value_or_empty(&d), Ok(String::new()));
        let e = w.next_word().expect("e");
        assert_eq!(w.value_or_empty(&e), Ok(String::new()));
        let f = w.next_word().expect("f");
        assert!(w.value_or_empty(&f).is_err());
    }
}
