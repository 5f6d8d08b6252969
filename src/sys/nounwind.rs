//! The unwinder rich-init links in place of libgcc's (issue 16, footprint): one that never
//! unwinds. rich-init is built with `panic = "abort"` and linked without unwind tables
//! (`integration/layout/link.rs`), so nothing can unwind through it and a backtrace finds
//! no frame. std and glibc still name libgcc's unwinder, and with it come std's backtrace
//! resolver (gimli, addr2line, miniz_oxide, rustc_demangle): 216 KB that could only
//! ever print an empty trace. Defining the names here keeps libgcc's unwinder out, and
//! lets LTO see that the resolver is never called.
//!
//! Only the static rich-init binary includes this file, and only when it aborts on panic: a test
//! build unwinds, and upgrade-helper keeps its backtraces.

use std::ffi::{c_int, c_void};

/// `_Unwind_Reason_Code`'s `_URC_END_OF_STACK`: there is no frame to walk.
const END_OF_STACK: c_int = 5;
/// `_URC_FATAL_PHASE1_ERROR`: what a personality routine answers when it cannot unwind.
const FATAL_PHASE1_ERROR: c_int = 3;

/// Walks the stack: there is nothing to walk (no unwind tables), so the trace is empty.
#[no_mangle]
pub extern "C" fn _Unwind_Backtrace(_trace: *mut c_void, _arg: *mut c_void) -> c_int {
    END_OF_STACK
}

/// Starts unwinding for an exception: none is ever raised with `panic = "abort"`.
#[no_mangle]
pub extern "C" fn _Unwind_RaiseException(_exception: *mut c_void) -> c_int {
    END_OF_STACK
}

/// Resumes unwinding after a cleanup: unreachable, since nothing starts unwinding.
#[no_mangle]
pub extern "C" fn _Unwind_Resume(_exception: *mut c_void) -> ! {
    std::process::abort()
}

#[no_mangle]
pub extern "C" fn _Unwind_DeleteException(_exception: *mut c_void) {}

#[no_mangle]
pub extern "C" fn _Unwind_GetLanguageSpecificData(_context: *mut c_void) -> *mut c_void {
    std::ptr::null_mut()
}

#[no_mangle]
pub extern "C" fn _Unwind_GetRegionStart(_context: *mut c_void) -> usize {
    0
}

#[no_mangle]
pub extern "C" fn _Unwind_GetTextRelBase(_context: *mut c_void) -> usize {
    0
}

#[no_mangle]
pub extern "C" fn _Unwind_GetDataRelBase(_context: *mut c_void) -> usize {
    0
}

#[no_mangle]
pub extern "C" fn _Unwind_GetGR(_context: *mut c_void, _index: c_int) -> usize {
    0
}

#[no_mangle]
pub extern "C" fn _Unwind_SetGR(_context: *mut c_void, _index: c_int, _value: usize) {}

#[no_mangle]
pub extern "C" fn _Unwind_GetIP(_context: *mut c_void) -> usize {
    0
}

#[no_mangle]
pub extern "C" fn _Unwind_GetIPInfo(_context: *mut c_void, ip_before_insn: *mut c_int) -> usize {
    let _ = ip_before_insn;
    0
}

#[no_mangle]
pub extern "C" fn _Unwind_SetIP(_context: *mut c_void, _value: usize) {}

#[no_mangle]
pub extern "C" fn _Unwind_GetCFA(_context: *mut c_void) -> usize {
    0
}

#[no_mangle]
pub extern "C" fn _Unwind_FindEnclosingFunction(_pc: *mut c_void) -> *mut c_void {
    std::ptr::null_mut()
}

/// The personality routine of glibc's C cleanup handlers (libgcc's `__gcc_personality_v0`):
/// asked to unwind, it cannot.
#[no_mangle]
pub extern "C" fn __gcc_personality_v0(
    _version: c_int,
    _actions: c_int,
    _class: u64,
    _exception: *mut c_void,
    _context: *mut c_void,
) -> c_int {
    FATAL_PHASE1_ERROR
}
