//! An `Exec*=` value as systemd.service(5) "Command lines" reads it: the special executable
//! prefixes (`@ - : + ! !!`), then words split with systemd's quoting (`quote.rs`), `%`
//! specifiers resolved in each word (`specifiers.rs`), the program an absolute path or a
//! plain name (searched for later). `$VAR` and `${VAR}` are expanded later, when the
//! environment is known (`Command::argv`), as systemd does at exec time.
//!
//! A lone `;` is kept as a word: modern systemd no longer splits one Exec line into several
//! commands.

use std::collections::HashMap;

use thiserror::Error;

use super::quote::{self, QuoteError};
use super::specifiers::{self, Context, SpecifierError};

/// The privilege prefixes, which exclude each other (systemd.service(5), "Table 1. Special
/// executable prefixes").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Privilege {
    /// No prefix: User=, capabilities and sandboxing apply.
    #[default]
    Normal,
    /// `+`: run with full privileges; User= and the sandboxing do not apply.
    Full,
    /// `!`: credentials (User=, Group=…) are not changed; the rest applies.
    NoSetuid,
    /// `!!`: as `!`, only on systems without ambient capabilities; otherwise ignored.
    AmbientFallback,
}

/// The special executable prefixes of one command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefixes {
    /// `-`: a failing exit code is recorded but not treated as failure.
    pub ignore_failure: bool,
    /// `@`: the second word is argv\[0\], not the path.
    pub argv0: bool,
    /// `:`: no `$VAR` / `${VAR}` expansion.
    pub no_env_expansion: bool,
    /// `+`, `!` or `!!`.
    pub privilege: Privilege,
}

/// One parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub prefixes: Prefixes,
    /// The program: an absolute path, or a plain name for the caller to search for.
    pub path: String,
    /// The argument vector, argv\[0\] included (the path, or with `@` the second word);
    /// `$VAR` and `${VAR}` still unexpanded.
    pub args: Vec<String>,
}

/// Why an Exec line is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExecError {
    #[error("empty command in `{0}`; give the program's path and its arguments (an empty assignment on its own resets the list)")]
    Empty(String),
    #[error("prefix `{prefix}` given twice in `{text}`; give each of @ - : + ! !! at most once")]
    RepeatedPrefix { prefix: &'static str, text: String },
    #[error("prefixes `{first}` and `{second}` together in `{text}`; choose one of + ! !!")]
    ConflictingPrivilege {
        first: &'static str,
        second: &'static str,
        text: String,
    },
    #[error("`@` in `{0}` needs argv[0] after the path; write @/path/to/program argv0 args…, or drop the @")]
    MissingArgv0(String),
    #[error("`{path}` is neither an absolute path nor a plain program name; write /usr/bin/program, or program to have it searched for")]
    BadPath { path: String },
    #[error(transparent)]
    Quote(#[from] QuoteError),
    #[error(transparent)]
    Specifier(#[from] SpecifierError),
}

impl Command {
    /// Parse one Exec line's value, resolving specifiers from `ctx`.
    pub fn parse(text: &str, ctx: &Context) -> Result<Command, ExecError> {
        let mut words = quote::command_words(text)?.into_iter();
        let first = words
            .next()
            .ok_or_else(|| ExecError::Empty(text.to_string()))?;
        // systemd reads the prefixes off the first word, after unquoting.
        let (prefixes, rest) = prefixes(&first, text)?;
        if rest.is_empty() {
            return Err(ExecError::Empty(text.to_string()));
        }
        let path = specifiers::expand(rest, ctx)?;
        if path.chars().any(char::is_control) || !(path.starts_with('/') || plain_name(&path)) {
            return Err(ExecError::BadPath { path });
        }
        let mut args = Vec::new();
        if prefixes.argv0 {
            let argv0 = words
                .next()
                .ok_or_else(|| ExecError::MissingArgv0(text.to_string()))?;
            args.push(specifiers::expand(&argv0, ctx)?);
        } else {
            args.push(path.clone());
        }
        for word in words {
            args.push(specifiers::expand(&word, ctx)?);
        }
        Ok(Command {
            prefixes,
            path,
            args,
        })
    }

    /// The argument vector with `$VAR` and `${VAR}` expanded from `env` (systemd.service(5)
    /// "Command lines"), unless the `:` prefix was given. `${VAR}` anywhere in a word becomes
    /// the value (unset: empty) inside that one word; `$VAR` as a whole word becomes the
    /// value split at whitespace (unset: no word); `$$` is a `$`.
    pub fn argv(&self, env: &HashMap<String, String>) -> Vec<String> {
        if self.prefixes.no_env_expansion {
            return self.args.clone();
        }
        let mut out = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            match arg.strip_prefix('$') {
                Some(name) if !name.is_empty() && !name.starts_with(['{', '$']) => {
                    if let Some(value) = env.get(name) {
                        out.extend(quote::value_words(value));
                    }
                }
                _ => out.push(expand_in_word(arg, env)),
            }
        }
        out
    }
}

/// Read the prefixes off the front of `word`; return them and what follows.
fn prefixes<'w>(word: &'w str, text: &str) -> Result<(Prefixes, &'w str), ExecError> {
    let mut p = Prefixes::default();
    let mut privilege_prefix = "";
    let mut rest = word;
    loop {
        let (prefix, flag): (&'static str, Option<&mut bool>) = if rest.starts_with("!!") {
            ("!!", None)
        } else {
            match rest.chars().next() {
                Some('@') => ("@", Some(&mut p.argv0)),
                Some('-') => ("-", Some(&mut p.ignore_failure)),
                Some(':') => (":", Some(&mut p.no_env_expansion)),
                Some('+') => ("+", None),
                Some('!') => ("!", None),
                _ => return Ok((p, rest)),
            }
        };
        let repeated = || ExecError::RepeatedPrefix {
            prefix,
            text: text.to_string(),
        };
        match flag {
            Some(flag) if *flag => return Err(repeated()),
            Some(flag) => *flag = true,
            None if privilege_prefix == prefix => return Err(repeated()),
            None if !privilege_prefix.is_empty() => {
                return Err(ExecError::ConflictingPrivilege {
                    first: privilege_prefix,
                    second: prefix,
                    text: text.to_string(),
                })
            }
            None => {
                privilege_prefix = prefix;
                p.privilege = match prefix {
                    "+" => Privilege::Full,
                    "!" => Privilege::NoSetuid,
                    _ => Privilege::AmbientFallback,
                };
            }
        }
        rest = &rest[prefix.len()..];
    }
}

/// A file name with no `/`, not `.` or `..`: looked up in the search path later.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && name != "." && name != ".."
}

/// `${VAR}` replaced by its value (unset: nothing), `$$` by `$`; any other `$` stays, and so
/// does an unclosed `${`.
fn expand_in_word(word: &str, env: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(after) = after.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some((name, tail)) = after.strip_prefix('{').and_then(|a| a.split_once('}')) {
            out.push_str(env.get(name).map_or("", String::as_str));
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
