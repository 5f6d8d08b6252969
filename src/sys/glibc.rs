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

// glibc's message tables, without its formatting: both return null for a number they do
// not know (glibc 2.32 and later).
extern "C" {
    fn strerrordesc_np(errnum: c_int) -> *const c_char;
    fn sigdescr_np(sig: c_int) -> *const c_char;
    fn _Fork() -> libc::pid_t;
}

/// Writes `args` into the C buffer `buf` of `len` bytes as snprintf would: truncated, and
/// NUL-terminated when there is room for the NUL.
///
/// # Safety
/// `buf` is valid for `len` bytes of writes (or `len` is 0).
unsafe fn write_c(buf: *mut c_char, len: usize, args: std::fmt::Arguments) {
    if len == 0 || buf.is_null() {
        return;
    }
    // SAFETY: the caller gives `len` writable bytes at buf.
    let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    let room = len - 1;
    let mut cursor = std::io::Cursor::new(out.get_mut(..room).unwrap_or_default());
    let _ = std::io::Write::write_fmt(&mut cursor, args);
    let end = usize::try_from(cursor.position()).unwrap_or(room).min(room);
    if let Some(nul) = out.get_mut(end) {
        *nul = 0;
    }
}

/// The GNU `strerror_r` (glibc's `__strerror_r`): the static text, or "Unknown error N"
/// written into `buf`. glibc's formats that with snprintf, and snprintf is what links
/// printf and stdio into a static binary, though a libc start-up error path names it.
///
/// # Safety
/// `buf` is valid for `len` bytes of writes (or `len` is 0).
pub unsafe fn gnu_strerror_r(errnum: c_int, buf: *mut c_char, len: usize) -> *mut c_char {
    // SAFETY: takes a number, returns a static string or null.
    let text = unsafe { strerrordesc_np(errnum) };
    if !text.is_null() {
        return text.cast_mut();
    }
    // SAFETY: the caller's contract.
    unsafe { write_c(buf, len, format_args!("Unknown error {errnum}")) };
    buf
}

/// The XSI `strerror_r` (glibc's `__xpg_strerror_r`, which std and the libc crate call):
/// the text copied into `buf`; EINVAL for an unknown number (with "Unknown error N" in
/// `buf`), ERANGE when the text was cut short.
///
/// # Safety
/// `buf` is valid for `len` bytes of writes (or `len` is 0).
pub unsafe fn xpg_strerror_r(errnum: c_int, buf: *mut c_char, len: usize) -> c_int {
    // SAFETY: takes a number, returns a static string or null.
    let text = unsafe { strerrordesc_np(errnum) };
    if text.is_null() {
        // SAFETY: the caller's contract.
        unsafe { write_c(buf, len, format_args!("Unknown error {errnum}")) };
        return libc::EINVAL;
    }
    // SAFETY: a non-null answer is a static NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(text) }.to_bytes();
    if len == 0 {
        return libc::ERANGE;
    }
    let n = text.len().min(len - 1);
    // SAFETY: n < len bytes fit in buf, and the NUL goes at index n < len.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        buf.add(n).write(0);
    }
    if len <= text.len() {
        libc::ERANGE
    } else {
        0
    }
}

/// strsignal(3)'s buffer for the texts it has to make up.
struct SignalText(std::cell::UnsafeCell<[u8; 32]>);
// SAFETY: only strsignal writes it, and rich-init calls strsignal from one thread (glibc's
// buffer is per thread; the static binary has one).
unsafe impl Sync for SignalText {}
static SIGNAL_TEXT: SignalText = SignalText(std::cell::UnsafeCell::new([0; 32]));

/// strsignal(3): the static text, or "Real-time signal N" / "Unknown signal N" made up in a
/// buffer that the next call overwrites, as glibc words them.
pub fn strsignal(sig: c_int) -> *mut c_char {
    // SAFETY: takes a number, returns a static string or null.
    let text = unsafe { sigdescr_np(sig) };
    if !text.is_null() {
        return text.cast_mut();
    }
    let buf = SIGNAL_TEXT.0.get().cast::<c_char>();
    let (low, high) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    // SAFETY: the buffer is 32 bytes, ours, and written by one caller at a time.
    unsafe {
        if (low..=high).contains(&sig) {
            write_c(buf, 32, format_args!("Real-time signal {}", sig - low));
        } else {
            write_c(buf, 32, format_args!("Unknown signal {sig}"));
        }
    }
    buf
}

/// fork(2) as glibc's `_Fork`: the same system call and the same bookkeeping for the new
/// process, without the atfork handlers, which exist for threads (the static rich-init has
/// one). glibc's fork reaches stdio's lock through them, and with it stdio itself.
pub fn fork() -> libc::pid_t {
    // SAFETY: _Fork is fork(2) for a single-threaded process: the child gets a copy of it.
    unsafe { _Fork() }
}

/// sysconf(3) for the names the static binary's glibc code asks: `posix_spawn`'s descriptor
/// check (`_SC_OPEN_MAX`), `realpath` (`_SC_SYMLOOP_MAX`), and the page size and clock
/// tick. glibc's sysconf answers some names from /proc with `strtol`, whose locale object
/// links the C locale's character tables and iconv. Any other name answers -1 with EINVAL,
/// as glibc does for a name it does not know.
pub fn sysconf(name: c_int) -> libc::c_long {
    match name {
        libc::_SC_OPEN_MAX => {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes one rlimit into a live local.
            if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } < 0 {
                // glibc's fallback, OPEN_MAX from its headers.
                return 256;
            }
            // glibc's getdtablesize returns an int: an unlimited limit reads -1.
            libc::c_long::from(limit.rlim_cur as c_int)
        }
        libc::_SC_PAGESIZE => {
            // SAFETY: getauxval reads the auxiliary vector the kernel gave us.
            let page = unsafe { libc::getauxval(libc::AT_PAGESZ) };
            libc::c_long::try_from(page).unwrap_or(4096)
        }
        libc::_SC_CLK_TCK => {
            // SAFETY: as above.
            match unsafe { libc::getauxval(libc::AT_CLKTCK) } {
                0 => 100,
                tick => libc::c_long::try_from(tick).unwrap_or(100),
            }
        }
        // Linux has no fixed limit: glibc answers -1 without an error.
        libc::_SC_SYMLOOP_MAX => -1,
        _ => {
            // SAFETY: errno is this thread's, and writable.
            unsafe { *libc::__errno_location() = libc::EINVAL };
            -1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c_text(buf: &[u8]) -> &[u8] {
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        &buf[..end]
    }

    #[test]
    fn strerror_r_answers_as_glibc_for_every_number_and_buffer() {
        extern "C" {
            fn __strerror_r(errnum: c_int, buf: *mut c_char, len: usize) -> *mut c_char;
        }
        for errnum in -3..=140 {
            for len in [0usize, 1, 2, 7, 16, 128] {
                let (mut ours, mut theirs) = ([0x7fu8; 128], [0x7fu8; 128]);
                // SAFETY: both buffers have 128 >= len writable bytes.
                let (a, b) = unsafe {
                    (
                        xpg_strerror_r(errnum, ours.as_mut_ptr().cast(), len),
                        libc::strerror_r(errnum, theirs.as_mut_ptr().cast(), len),
                    )
                };
                assert_eq!(a, b, "XSI return for {errnum} into {len}");
                assert_eq!(ours, theirs, "XSI text for {errnum} into {len}");
                let (mut ours, mut theirs) = ([0x7fu8; 128], [0x7fu8; 128]);
                // SAFETY: as above; the answers are NUL-terminated strings or the buffers.
                let (a, b) = unsafe {
                    let a = gnu_strerror_r(errnum, ours.as_mut_ptr().cast(), len);
                    let b = __strerror_r(errnum, theirs.as_mut_ptr().cast(), len);
                    (
                        (a == ours.as_mut_ptr().cast()).then_some(()).map_or_else(
                            || std::ffi::CStr::from_ptr(a).to_bytes().to_vec(),
                            |_| b"<buf>".to_vec(),
                        ),
                        (b == theirs.as_mut_ptr().cast()).then_some(()).map_or_else(
                            || std::ffi::CStr::from_ptr(b).to_bytes().to_vec(),
                            |_| b"<buf>".to_vec(),
                        ),
                    )
                };
                assert_eq!(a, b, "GNU answer for {errnum} into {len}");
                assert_eq!(ours, theirs, "GNU buffer for {errnum} into {len}");
            }
        }
    }

    #[test]
    fn sysconf_answers_as_glibc_for_the_names_it_knows() {
        for name in [
            libc::_SC_OPEN_MAX,
            libc::_SC_PAGESIZE,
            libc::_SC_CLK_TCK,
            libc::_SC_SYMLOOP_MAX,
        ] {
            // SAFETY: sysconf takes a number.
            assert_eq!(sysconf(name), unsafe { libc::sysconf(name) }, "name {name}");
        }
        // SAFETY: errno is this thread's.
        unsafe { *libc::__errno_location() = 0 };
        assert_eq!(sysconf(-1), -1);
        // SAFETY: as above.
        assert_eq!(unsafe { *libc::__errno_location() }, libc::EINVAL);
    }

    #[test]
    fn strsignal_answers_as_glibc_for_every_number() {
        for sig in -2..=70 {
            // SAFETY: both return NUL-terminated strings, copied at once.
            let (ours, theirs) = unsafe {
                (
                    std::ffi::CStr::from_ptr(strsignal(sig)).to_bytes().to_vec(),
                    c_text(std::ffi::CStr::from_ptr(libc::strsignal(sig)).to_bytes()).to_vec(),
                )
            };
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "signal {sig}"
            );
        }
    }
}
