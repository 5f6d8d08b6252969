//! The C library functions the static rich-init defines in place of glibc's (issue 16,
//! footprint). A static link takes a whole object file from libc.a for each name it needs,
//! and a few of glibc's objects bring in far more than their own work:
//! - `malloc` shares its object with `malloc_stats`, whose `fprintf` links stdio, printf,
//!   the wide-character stdio, iconv and `dlopen`;
//! - `fork` runs the atfork handlers, which reach stdio's list lock;
//! - `strerror_r` and `strsignal` format unknown numbers with `snprintf`/`asprintf`, and
//!   glibc's own start-up names `strerror_r` on an error path.
//!
//! Defining these names here keeps those objects, and about 320 KB, out of the binary.
//! The work is done in `heap.rs` and `glibc.rs`, which unit-test it (against glibc itself
//! where there is an answer to compare). Only the rich-init binary includes this file, and
//! only when it is linked statically with `panic = "abort"` (`make`): a test build keeps
//! glibc's functions.

use rich_init::sys::glibc;
use rich_init::sys::heap::{Shared, ALIGN};
use std::ffi::{c_char, c_int, c_void};

static HEAP: Shared = Shared::new();

/// What malloc and friends report on failure.
fn out_of_memory<T>() -> *mut T {
    // SAFETY: errno is this thread's, and writable.
    unsafe { *libc::__errno_location() = libc::ENOMEM };
    std::ptr::null_mut()
}

fn checked(ptr: *mut u8) -> *mut c_void {
    if ptr.is_null() {
        return out_of_memory();
    }
    ptr.cast()
}

#[no_mangle]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    checked(HEAP.with(|h| h.alloc(size)))
}

/// # Safety
/// `ptr` is null or a live block from this heap.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    HEAP.with(|h| h.free(ptr.cast()));
}

#[no_mangle]
pub extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    checked(HEAP.with(|h| h.calloc(count, size)))
}

/// # Safety
/// `ptr` is null or a live block from this heap.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    let new = HEAP.with(|h| h.realloc(ptr.cast(), size));
    if new.is_null() && size != 0 {
        return out_of_memory();
    }
    new.cast()
}

fn aligned(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        // SAFETY: errno is this thread's, and writable.
        unsafe { *libc::__errno_location() = libc::EINVAL };
        return std::ptr::null_mut();
    }
    checked(HEAP.with(|h| h.aligned(align, size)))
}

#[no_mangle]
pub extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    aligned(align, size)
}

#[no_mangle]
pub extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    aligned(align, size)
}

#[no_mangle]
pub extern "C" fn valloc(size: usize) -> *mut c_void {
    aligned(4096, size)
}

#[no_mangle]
pub extern "C" fn pvalloc(size: usize) -> *mut c_void {
    aligned(4096, size.div_ceil(4096).max(1) * 4096)
}

/// # Safety
/// `out` is valid for one pointer's write.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    if !align.is_power_of_two() || align % std::mem::size_of::<usize>() != 0 {
        return libc::EINVAL;
    }
    let ptr = HEAP.with(|h| h.aligned(align.max(ALIGN), size));
    if ptr.is_null() {
        return libc::ENOMEM;
    }
    // SAFETY: the caller's contract.
    unsafe { out.write(ptr.cast()) };
    0
}

/// # Safety
/// `ptr` is null or a live block from this heap.
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(ptr: *mut c_void) -> usize {
    HEAP.with(|h| h.usable(ptr.cast()))
}

#[no_mangle]
pub extern "C" fn malloc_trim(_pad: usize) -> c_int {
    HEAP.with(|h| h.trim());
    1
}

#[no_mangle]
pub extern "C" fn fork() -> libc::pid_t {
    glibc::fork()
}

/// # Safety
/// `buf` is valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn __xpg_strerror_r(errnum: c_int, buf: *mut c_char, len: usize) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { glibc::xpg_strerror_r(errnum, buf, len) }
}

/// # Safety
/// `buf` is valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn __strerror_r(errnum: c_int, buf: *mut c_char, len: usize) -> *mut c_char {
    // SAFETY: the caller's contract.
    unsafe { glibc::gnu_strerror_r(errnum, buf, len) }
}

#[no_mangle]
pub extern "C" fn strsignal(sig: c_int) -> *mut c_char {
    glibc::strsignal(sig)
}

#[no_mangle]
pub extern "C" fn __sysconf(name: c_int) -> libc::c_long {
    glibc::sysconf(name)
}

#[no_mangle]
pub extern "C" fn sysconf(name: c_int) -> libc::c_long {
    glibc::sysconf(name)
}

/// glibc's start-up (`__libc_early_init`) points the C `ctype` tables (`isalpha` and
/// friends) at the C locale's. Nothing in the static rich-init classifies characters
/// through C's ctype, and glibc's version links the C locale's tables (57 KB) and, through
/// them, iconv and everything above. If some glibc function linked later used ctype, its
/// object would bring glibc's `__ctype_init` along and the link would fail with a
/// duplicate symbol: never a wrong answer at run time.
#[no_mangle]
pub extern "C" fn __ctype_init() {}
