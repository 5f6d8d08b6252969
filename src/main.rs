//! rich-init's entry point: personality from argv[0] → arguments → run → exit code.
//!
//! `no_main`: Rust's usual start-up sets SIGPIPE to SIG_IGN, and an ignored signal
//! stays ignored across exec, so CMD would inherit it. Starting from C `main` leaves
//! every disposition as our parent gave it (CMD gets them back as tini does; as dumb-init
//! we reset them, as dumb-init does).
#![no_main]

#[cfg(all(panic = "abort", target_feature = "crt-static"))]
#[path = "sys/libc_subst.rs"]
mod libc_subst;
#[cfg(all(panic = "abort", target_feature = "crt-static"))]
#[path = "sys/nounwind.rs"]
mod nounwind;

use rich_init::cli::{self, Parsed};
use rich_init::init;
use rich_init::sys::{self, signals};

/// A short-lived command (not an init) gets its signal mask back at once, so that it
/// can be interrupted; the mask is also what its children start with.
fn restore(blocked: Result<signals::SigSet, sys::Errno>) -> signals::SigSet {
    let mask = blocked.unwrap_or_else(|_| signals::SigSet::empty());
    let _ = signals::set_mask(&mask);
    mask
}

#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // Block every signal first: as pid 1 a SIGTERM arriving while we parse arguments
    // would otherwise be discarded (a namespace's init ignores default-action signals).
    let blocked = signals::block_all();
    // glibc hands argv to std through .init_array, so args_os works without lang_start.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let env = |key: &str| std::env::var(key).ok();
    match cli::parse(args, &env, sys::getpid()) {
        Parsed::Exit {
            code,
            stdout,
            stderr,
        } => {
            sys::write_all_raw(1, stdout.as_bytes());
            sys::write_all_raw(2, stderr.as_bytes());
            code
        }
        Parsed::Run(settings) => init::run(&settings, blocked),
        Parsed::Ctl(words) => rich_init::ctl::run(&words, &env),
        Parsed::Hook(words) => rich_init::oci::hook::run(&words, &env, restore(blocked)),
        Parsed::Oci(words) => rich_init::oci::run(&words, &env),
        Parsed::Journalctl(args) => {
            restore(blocked);
            rich_init::clients::journalctl::run(&args, &env)
        }
        Parsed::Service(invocation) => {
            restore(blocked);
            rich_init::clients::service::run(&invocation, &env)
        }
        Parsed::Systemctl(words) => {
            // A client: interruptible like any command (Ctrl-C while a job runs).
            restore(blocked);
            rich_init::systemctl::run(&words, &env)
        }
    }
}
