//! The OCI side of rich-init, run as short-lived processes outside pid-1 duties:
//! `rich-init hook STAGE` (an OCI runtime hook) and `rich-init oci inject` (turn a bundle
//! into a rich container).

pub mod action;
pub mod hook;
pub mod state;

/// `rich-init oci SUBCOMMAND ...`.
pub fn run(words: &[String], _env: &dyn Fn(&str) -> Option<String>) -> i32 {
    match words.first().map(String::as_str) {
        Some(other) => {
            crate::sys::write_all_raw(
                2,
                format!("rich-init oci: unknown subcommand {other:?}; use inject\n").as_bytes(),
            );
            2
        }
        None => {
            crate::sys::write_all_raw(2, b"rich-init oci: no subcommand given; use inject\n");
            2
        }
    }
}
