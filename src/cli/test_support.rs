//! Helpers shared by the CLI parsers' unit tests.

use super::{Parsed, Settings};
use std::ffi::OsString;

/// An environment lookup over `vars` only.
pub fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let owned: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |key: &str| owned.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

pub fn argv(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

/// The settings of a successful parse; panics otherwise.
pub fn settings(p: Parsed) -> Settings {
    match p {
        Parsed::Run(s) => *s,
        other => panic!("expected Run, got {other:?}"),
    }
}

/// (code, stdout, stderr) of a parse that exits; panics otherwise.
pub fn exit(p: Parsed) -> (i32, String, String) {
    match p {
        Parsed::Exit {
            code,
            stdout,
            stderr,
        } => (code, stdout, stderr),
        other => panic!("expected Exit, got {other:?}"),
    }
}
