//! What the static binary gives glibc in place of its own: the message catalogue lookup.
//! glibc translates its messages (strerror, strsignal, assert…) through gettext, and in a
//! static binary that lookup links locale loading, the message-catalogue reader and its
//! plural parser (about 50 KB) though an init never has a translation to load. The C
//! locale's answer is the text itself, and that is what ours gives.

use std::ffi::{c_char, c_int};

/// glibc's `dcgettext` (behind every `_("...")` in the C library): the C locale's
/// answer, `msgid` itself.
///
/// # Safety
/// None beyond C's: the pointer is returned, never read.
#[no_mangle]
pub unsafe extern "C" fn __dcgettext(
    _domain: *const c_char,
    msgid: *const c_char,
    _category: c_int,
) -> *mut c_char {
    msgid.cast_mut()
}

/// What a failed C `assert` calls: glibc's message on stderr, then abort(3). glibc's own
/// prints through the wide-character stdio, which nothing else here needs (about 35 KB).
///
/// # Safety
/// Each pointer is null or a NUL-terminated string, as `assert` passes them.
#[no_mangle]
pub unsafe extern "C" fn __assert_fail(
    assertion: *const c_char,
    file: *const c_char,
    line: std::ffi::c_uint,
    function: *const c_char,
) -> ! {
    let text = |p: *const c_char| {
        if p.is_null() {
            std::borrow::Cow::Borrowed("?")
        } else {
            // SAFETY: non-null, and NUL-terminated by the caller's contract.
            unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy()
        }
    };
    let message = format!(
        "{}:{line}: {}: Assertion `{}' failed.\n",
        text(file),
        text(function),
        text(assertion)
    );
    super::write_all_raw(2, message.as_bytes());
    // SAFETY: abort takes nothing and never returns.
    unsafe { libc::abort() }
}
