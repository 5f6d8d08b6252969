//! The OCI side of rich-init, run as short-lived processes outside pid-1 duties:
//! `rich-init hook STAGE` (an OCI runtime hook) and `rich-init oci inject` (turn a bundle
//! into a rich container).

pub mod action;
pub mod diff;
mod error;
pub mod hook;
pub mod hooklog;
pub mod initscript;
pub mod inject;
pub mod readonly;
pub mod rewrite;
mod sink;
pub mod state;
pub mod words;

/// `rich-init oci SUBCOMMAND ...`. Exit codes: 0 done, 1 failed (nothing changed), 2 usage.
/// Cold: it keeps this code out of the pages the init touches at start-up.
#[cold]
pub fn run(words: &[String], _env: &dyn Fn(&str) -> Option<String>) -> i32 {
    let say = |code: i32, line: &str| {
        crate::sys::write_all_raw(2, format!("{line}\n").as_bytes());
        code
    };
    match words.split_first() {
        Some((sub, rest)) if sub == "inject" => {
            let args = match inject::parse_args(rest) {
                Ok(args) => args,
                Err(e) => return say(e.exit_code(), &format!("rich-init oci inject: {e}")),
            };
            match inject::execute(&args) {
                Ok(done) => {
                    for line in &done.warnings {
                        crate::sys::write_all_raw(
                            2,
                            format!("rich-init oci inject: {line}\n").as_bytes(),
                        );
                    }
                    crate::sys::write_all_raw(1, done.stdout.as_bytes());
                    0
                }
                Err(e) => say(e.exit_code(), &format!("rich-init oci inject: {e}")),
            }
        }
        Some((other, _)) => say(
            2,
            &format!("rich-init oci: unknown subcommand {other:?}; use inject"),
        ),
        None => say(2, "rich-init oci: no subcommand given; use inject"),
    }
}
