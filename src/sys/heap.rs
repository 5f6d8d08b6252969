//! The heap allocator behind the static rich-init's `malloc` (issue 16, footprint).
//!
//! glibc's malloc comes in one object with `malloc_stats`, whose `fprintf` links the whole
//! of stdio, printf, wide characters, iconv and `dlopen` (about 300 KB of a static binary).
//! pid 1 is single-threaded and allocates little, so a small segregated-fit heap does:
//! - requests up to [`MMAP_THRESHOLD`] are rounded up to one of [`CLASSES`] size classes
//!   (16-byte steps to 128, then four per doubling) and carved from a heap that grows by
//!   `brk`, as glibc's main arena does, so the keeper's `drop_heap` still finds it there;
//! - a freed block goes on its class's free list and is reused as is (no coalescing);
//! - larger requests get their own mapping, unmapped by `free` (glibc's mmap threshold is
//!   the same 128 KiB);
//! - every block carries a 16-byte header just before it: its size and its kind.
//!
//! The static binary's C symbols (`malloc`, `free`, …) are thin wrappers over one
//! [`Heap`] (`src/sys/libc_subst.rs`); the tests here drive a [`Heap`] over a private
//! mapping.

use std::ptr::null_mut;

/// Every block's alignment, and the header's size: what glibc's malloc guarantees.
pub const ALIGN: usize = 16;
/// Requests above this get their own mapping (glibc's default `M_MMAP_THRESHOLD`).
pub const MMAP_THRESHOLD: usize = 128 * 1024;
/// The number of size classes: 8 below 128, then 4 per doubling up to the threshold.
pub const CLASSES: usize = 48;
/// How much the heap grows by at least, so that small requests do not each call `brk`.
const GROW: usize = 64 * 1024;
const PAGE: usize = 4096;

const KIND_SMALL: usize = 0;
const KIND_MAPPED: usize = 1;
const KIND_ALIGNED: usize = 2;
const KIND_MASK: usize = 3;

/// The size class for a request of `size` bytes, or None above [`MMAP_THRESHOLD`].
pub fn class_of(size: usize) -> Option<usize> {
    if size <= 128 {
        return Some(size.max(1).div_ceil(16) - 1);
    }
    if size > MMAP_THRESHOLD {
        return None;
    }
    let b = (usize::BITS - 1 - (size - 1).leading_zeros()) as usize;
    let step = 1usize << (b - 2);
    let k = (size - (1 << b)).div_ceil(step);
    Some(8 + (b - 7) * 4 + (k - 1))
}

/// The usable size of a block of class `class`.
pub fn class_size(class: usize) -> usize {
    if class < 8 {
        return (class + 1) * 16;
    }
    let b = 7 + (class - 8) / 4;
    let k = (class - 8) % 4 + 1;
    (1 << b) + k * (1 << (b - 2))
}

/// Where a heap gets its memory: the static binary's is `brk` and `mmap`; the tests' a
/// private mapping.
pub trait Memory {
    /// `len` more bytes of heap, page-aligned in length; contiguous with the last grant when
    /// it can be. None when there is no more.
    fn extend(&mut self, len: usize) -> Option<usize>;
    /// A private zeroed mapping of `len` bytes (a multiple of the page size).
    fn map(&mut self, len: usize) -> Option<usize>;
    /// Give back a mapping from [`Memory::map`].
    fn unmap(&mut self, addr: usize, len: usize);
    /// Let the kernel drop these whole pages' contents (they read as zero after).
    fn discard(&mut self, addr: usize, len: usize);
}

/// The allocator's state: one free list per class and the unused end of the heap.
pub struct Heap<M: Memory> {
    free: [usize; CLASSES],
    top: usize,
    end: usize,
    memory: M,
}

fn header(user: usize) -> *mut [usize; 2] {
    (user - ALIGN) as *mut [usize; 2]
}

fn read_header(user: usize) -> (usize, usize) {
    // SAFETY: every pointer this heap hands out has its 16-byte header just before it, in
    // memory the heap owns; callers pass only such pointers (C's contract for free).
    let [size, tag] = unsafe { header(user).read() };
    (size, tag)
}

fn write_header(user: usize, size: usize, tag: usize) {
    // SAFETY: user - 16 .. user lies in the block the heap is handing out (see callers).
    unsafe { header(user).write([size, tag]) };
}

impl<M: Memory> Heap<M> {
    pub const fn new(memory: M) -> Heap<M> {
        Heap {
            free: [0; CLASSES],
            top: 0,
            end: 0,
            memory,
        }
    }

    /// malloc(3): at least `size` bytes, 16-aligned; null when memory is exhausted.
    pub fn alloc(&mut self, size: usize) -> *mut u8 {
        match class_of(size) {
            Some(class) => self.alloc_small(class),
            None => self.alloc_mapped(size, ALIGN),
        }
    }

    fn alloc_small(&mut self, class: usize) -> *mut u8 {
        let Some(head) = self.free.get_mut(class) else {
            return null_mut();
        };
        if *head != 0 {
            let user = *head;
            // SAFETY: a block on a free list holds the next block's address in its first word.
            *head = unsafe { (user as *const usize).read() };
            return user as *mut u8;
        }
        let need = ALIGN + class_size(class);
        if self.end - self.top < need && !self.grow(need) {
            return null_mut();
        }
        let user = self.top + ALIGN;
        self.top += need;
        write_header(user, class_size(class), class << 2 | KIND_SMALL);
        user as *mut u8
    }

    fn grow(&mut self, need: usize) -> bool {
        let len = need.max(GROW).div_ceil(PAGE) * PAGE;
        let Some(start) = self.memory.extend(len) else {
            return false;
        };
        if start != self.end {
            // Not contiguous: what was left of the old piece stays unused.
            self.top = start.div_ceil(ALIGN) * ALIGN;
        }
        self.end = start + len;
        self.end - self.top >= need
    }

    fn alloc_mapped(&mut self, size: usize, align: usize) -> *mut u8 {
        let Some(len) = size
            .checked_add(align + ALIGN + PAGE - 1)
            .map(|n| n / PAGE * PAGE)
        else {
            return null_mut();
        };
        let Some(base) = self.memory.map(len) else {
            return null_mut();
        };
        let user = (base + ALIGN).div_ceil(align) * align;
        write_header(user, len, (user - base) << 2 | KIND_MAPPED);
        user as *mut u8
    }

    /// malloc_usable_size(3).
    ///
    /// # Safety
    /// `ptr` is null or a live block from this heap.
    pub unsafe fn usable(&self, ptr: *mut u8) -> usize {
        if ptr.is_null() {
            return 0;
        }
        let (size, tag) = read_header(ptr as usize);
        match tag & KIND_MASK {
            KIND_MAPPED => size - (tag >> 2),
            _ => size,
        }
    }

    /// free(3).
    ///
    /// # Safety
    /// `ptr` is null or a live block from this heap, not used after.
    pub unsafe fn free(&mut self, ptr: *mut u8) {
        if ptr.is_null() {
            return;
        }
        let user = ptr as usize;
        let (size, tag) = read_header(user);
        match tag & KIND_MASK {
            KIND_SMALL => {
                let Some(head) = self.free.get_mut(tag >> 2) else {
                    return;
                };
                // SAFETY: the block is at least 16 bytes and now ours: its first word links.
                unsafe { (user as *mut usize).write(*head) };
                *head = user;
            }
            KIND_MAPPED => self.memory.unmap(user - (tag >> 2), size),
            // SAFETY: an aligned block lies `delta` bytes into the live block it came from.
            KIND_ALIGNED => unsafe { self.free((user - (tag >> 2)) as *mut u8) },
            _ => {}
        }
    }

    /// realloc(3): the block grown or shrunk, moved when it must be; null (and the old
    /// block untouched) when memory is exhausted. `size` 0 frees and gives null, as glibc.
    ///
    /// # Safety
    /// `ptr` is null or a live block from this heap, not used after unless null is returned.
    pub unsafe fn realloc(&mut self, ptr: *mut u8, size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(size);
        }
        if size == 0 {
            // SAFETY: the caller's contract.
            unsafe { self.free(ptr) };
            return null_mut();
        }
        // SAFETY: the caller's contract.
        let old = unsafe { self.usable(ptr) };
        if size <= old {
            return ptr;
        }
        let new = self.alloc(size);
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least `old` bytes long.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, old) };
            // SAFETY: the caller's contract; the contents live on in `new`.
            unsafe { self.free(ptr) };
        }
        new
    }

    /// calloc(3): zeroed; null on overflow or exhaustion.
    pub fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return null_mut();
        };
        let ptr = self.alloc(total);
        if !ptr.is_null() && total <= MMAP_THRESHOLD {
            // SAFETY: the block is live and at least `total` bytes long (a fresh mapping is
            // already zero).
            unsafe { ptr.write_bytes(0, total) };
        }
        ptr
    }

    /// memalign(3) and posix_memalign(3): `align` is a power of two (the caller checks).
    pub fn aligned(&mut self, align: usize, size: usize) -> *mut u8 {
        if align <= ALIGN {
            return self.alloc(size);
        }
        let Some(padded) = size.checked_add(align) else {
            return null_mut();
        };
        if padded > MMAP_THRESHOLD {
            return self.alloc_mapped(size, align);
        }
        let block = self.alloc(padded);
        if block.is_null() {
            return block;
        }
        let start = block as usize;
        let user = start.div_ceil(align) * align;
        if user == start {
            return block;
        }
        // user - start is a non-zero multiple of 16: room for the header, inside the block.
        let delta = user - start;
        // SAFETY: block is the live block just allocated.
        let usable = unsafe { self.usable(block) };
        write_header(user, usable - delta, delta << 2 | KIND_ALIGNED);
        user as *mut u8
    }

    /// malloc_trim(3)'s work: let the kernel drop the whole pages inside free blocks and at
    /// the heap's unused end, so that they stop counting as ours (and as a forked keeper's).
    pub fn trim(&mut self) {
        for (class, head) in self.free.iter().enumerate() {
            if class_size(class) < 2 * PAGE {
                continue;
            }
            let mut user = *head;
            while user != 0 {
                // Keep the first page: it holds the link.
                let from = (user + ALIGN).div_ceil(PAGE) * PAGE;
                let to = (user + class_size(class)) / PAGE * PAGE;
                if to > from {
                    self.memory.discard(from, to - from);
                }
                // SAFETY: a free block's first word is the next free block (or 0).
                user = unsafe { (user as *const usize).read() };
            }
        }
        let from = self.top.div_ceil(PAGE) * PAGE;
        let to = self.end / PAGE * PAGE;
        if to > from {
            self.memory.discard(from, to - from);
        }
    }
}

/// The static binary's memory: the program break, as glibc's main arena uses it, and
/// anonymous mappings when the break cannot move (or for large blocks).
pub struct SystemMemory;

impl Memory for SystemMemory {
    fn extend(&mut self, len: usize) -> Option<usize> {
        let Ok(delta) = libc::intptr_t::try_from(len) else {
            return None;
        };
        // SAFETY: sbrk moves the break of this process, which no one else here uses.
        let old = unsafe { libc::sbrk(delta) };
        if old as isize == -1 {
            return self.map(len);
        }
        Some(old as usize)
    }

    fn map(&mut self, len: usize) -> Option<usize> {
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let addr = unsafe {
            libc::mmap(
                null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (addr != libc::MAP_FAILED).then_some(addr as usize)
    }

    fn unmap(&mut self, addr: usize, len: usize) {
        // SAFETY: [addr, addr+len) is a mapping from map() that nothing uses any more.
        unsafe { libc::munmap(addr as *mut libc::c_void, len) };
    }

    fn discard(&mut self, addr: usize, len: usize) {
        // SAFETY: whole pages inside free heap memory, which nothing reads before writing.
        unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED) };
    }
}

/// One [`Heap`] for the whole process, behind a spin lock. rich-init is single-threaded,
/// so the lock is never contended; it is there so that nothing can corrupt the heap if
/// that ever changes.
pub struct Shared {
    locked: std::sync::atomic::AtomicBool,
    heap: std::cell::UnsafeCell<Heap<SystemMemory>>,
}

// SAFETY: the heap inside is only reached through `with`, which holds the lock.
unsafe impl Sync for Shared {}

impl Shared {
    pub const fn new() -> Shared {
        Shared {
            locked: std::sync::atomic::AtomicBool::new(false),
            heap: std::cell::UnsafeCell::new(Heap::new(SystemMemory)),
        }
    }

    /// Run `f` on the heap, alone.
    pub fn with<R>(&self, f: impl FnOnce(&mut Heap<SystemMemory>) -> R) -> R {
        use std::sync::atomic::Ordering;
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins += 1;
            if spins % 64 == 0 {
                // SAFETY: sched_yield takes nothing and only gives up the CPU.
                unsafe { libc::sched_yield() };
            } else {
                std::hint::spin_loop();
            }
        }
        // SAFETY: the lock is held, so this is the only reference to the heap.
        let result = f(unsafe { &mut *self.heap.get() });
        self.locked.store(false, Ordering::Release);
        result
    }
}

impl Default for Shared {
    fn default() -> Shared {
        Shared::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A heap over one private mapping that grows contiguously, and counts what it is
    /// asked for.
    struct TestMemory {
        base: usize,
        used: usize,
        cap: usize,
        mapped: Vec<(usize, usize)>,
        discarded: usize,
    }

    impl TestMemory {
        fn new(cap: usize) -> TestMemory {
            let base = SystemMemory.map(cap).expect("test mapping");
            TestMemory {
                base,
                used: 0,
                cap,
                mapped: Vec::new(),
                discarded: 0,
            }
        }
    }

    impl Memory for TestMemory {
        fn extend(&mut self, len: usize) -> Option<usize> {
            if self.used + len > self.cap {
                return None;
            }
            let at = self.base + self.used;
            self.used += len;
            Some(at)
        }
        fn map(&mut self, len: usize) -> Option<usize> {
            let at = SystemMemory.map(len)?;
            self.mapped.push((at, len));
            Some(at)
        }
        fn unmap(&mut self, addr: usize, len: usize) {
            let before = self.mapped.len();
            self.mapped.retain(|m| *m != (addr, len));
            assert_eq!(self.mapped.len() + 1, before, "unmap of an unknown mapping");
            SystemMemory.unmap(addr, len);
        }
        fn discard(&mut self, addr: usize, len: usize) {
            assert_eq!(addr % PAGE, 0);
            assert_eq!(len % PAGE, 0);
            self.discarded += len;
            SystemMemory.discard(addr, len);
        }
    }

    fn heap(cap: usize) -> Heap<TestMemory> {
        Heap::new(TestMemory::new(cap))
    }

    #[test]
    fn classes_cover_every_size_with_the_smallest_that_fits() {
        let table = [
            (0, 16),
            (1, 16),
            (16, 16),
            (17, 32),
            (128, 128),
            (129, 160),
            (160, 160),
            (161, 192),
            (256, 256),
            (257, 320),
            (1000, 1024),
            (1025, 1280),
            (MMAP_THRESHOLD, MMAP_THRESHOLD),
        ];
        for (size, want) in table {
            let class = class_of(size).expect("a class");
            assert_eq!(class_size(class), want, "size {size}");
        }
        assert_eq!(class_of(MMAP_THRESHOLD + 1), None);
        assert_eq!(class_of(MMAP_THRESHOLD), Some(CLASSES - 1));
        let mut last = 0;
        for size in 0..=MMAP_THRESHOLD {
            let class = class_of(size).expect("a class");
            assert!(class_size(class) >= size, "size {size}");
            assert!(class == 0 || class_size(class - 1) < size, "size {size}");
            assert!(class >= last, "classes grow with size");
            last = class;
        }
        for class in 0..CLASSES {
            assert_eq!(class_size(class) % ALIGN, 0, "class {class}");
        }
    }

    #[test]
    fn blocks_are_aligned_disjoint_writable_and_reused_after_free() {
        let mut h = heap(16 << 20);
        let sizes = [0usize, 1, 15, 16, 17, 100, 129, 1000, 5000, 70_000, 200_000];
        let mut blocks = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let p = h.alloc(*size);
            assert!(!p.is_null(), "size {size}");
            assert_eq!(p as usize % ALIGN, 0, "size {size}");
            // SAFETY: p is live.
            assert!(unsafe { h.usable(p) } >= *size, "size {size}");
            // SAFETY: p is a live block of at least `size` bytes.
            unsafe { p.write_bytes(i as u8, *size) };
            blocks.push((p, *size, i as u8));
        }
        for (p, size, fill) in &blocks {
            for at in 0..*size {
                // SAFETY: inside the live block written above.
                assert_eq!(
                    unsafe { p.add(at).read() },
                    *fill,
                    "block of {size} at {at}"
                );
            }
        }
        let (p, size, _) = blocks[5];
        // SAFETY: a live block of this heap, not used after.
        unsafe { h.free(p) };
        assert_eq!(h.alloc(size), p, "a freed block is reused for its class");
        let (big, _, _) = blocks[10];
        assert_eq!(h.memory.mapped.len(), 1, "only the 200 kB block is mapped");
        // SAFETY: a live block of this heap, not used after.
        unsafe { h.free(big) };
        assert!(h.memory.mapped.is_empty(), "free unmaps a mapped block");
        // SAFETY: a live block of this heap, not used after.
        unsafe { h.free(null_mut()) };
    }

    #[test]
    fn realloc_keeps_contents_and_moves_only_when_it_must() {
        let mut h = heap(16 << 20);
        let p = h.alloc(20);
        // SAFETY: p holds at least 20 bytes.
        unsafe { p.copy_from_nonoverlapping(b"0123456789abcdefghij".as_ptr(), 20) };
        // SAFETY: p is live; it stays the block when the answer is p.
        assert_eq!(
            unsafe { h.realloc(p, 32) },
            p,
            "32 fits in the 32-byte class"
        );
        // SAFETY: p is live and not used after.
        let q = unsafe { h.realloc(p, 300_000) };
        assert!(!q.is_null());
        let mut back = [0u8; 20];
        // SAFETY: q holds at least 300,000 bytes, the first 20 copied.
        unsafe { q.copy_to_nonoverlapping(back.as_mut_ptr(), 20) };
        assert_eq!(&back, b"0123456789abcdefghij");
        // SAFETY: q is live and not used after.
        assert_eq!(
            unsafe { h.realloc(q, 0) },
            null_mut(),
            "realloc to 0 frees, as glibc"
        );
        assert!(h.memory.mapped.is_empty());
        // SAFETY: null is allowed.
        let r = unsafe { h.realloc(null_mut(), 10) };
        assert!(!r.is_null(), "realloc(NULL) allocates");
    }

    #[test]
    fn calloc_zeroes_reused_blocks_and_refuses_overflow() {
        let mut h = heap(1 << 20);
        let p = h.alloc(64);
        // SAFETY: p holds 64 bytes.
        unsafe { p.write_bytes(0xAA, 64) };
        // SAFETY: a live block of this heap, not used after.
        unsafe { h.free(p) };
        let q = h.calloc(8, 8);
        assert_eq!(q, p);
        for at in 0..64 {
            // SAFETY: q holds 64 bytes.
            assert_eq!(unsafe { q.add(at).read() }, 0);
        }
        assert!(h.calloc(usize::MAX, 2).is_null());
    }

    #[test]
    fn aligned_blocks_honour_their_alignment_and_free_their_whole_block() {
        let mut h = heap(16 << 20);
        for (align, size) in [(32, 10), (64, 100), (4096, 10), (4096, 200_000), (65536, 8)] {
            let p = h.aligned(align, size);
            assert!(!p.is_null(), "align {align} size {size}");
            assert_eq!(p as usize % align, 0, "align {align} size {size}");
            // SAFETY: p is live.
            assert!(unsafe { h.usable(p) } >= size, "align {align} size {size}");
            // SAFETY: p holds at least `size` bytes.
            unsafe { p.write_bytes(0x55, size) };
            // SAFETY: a live block of this heap, not used after.
            unsafe { h.free(p) };
        }
        assert!(
            h.memory.mapped.is_empty(),
            "aligned mapped blocks are unmapped"
        );
        // The freed padded blocks went back to their class lists: asking again reuses them.
        let used = h.memory.used;
        for (align, size) in [(32, 10), (64, 100), (4096, 10), (65536, 8)] {
            let p = h.aligned(align, size);
            assert_eq!(p as usize % align, 0);
            // SAFETY: a live block of this heap, not used after.
            unsafe { h.free(p) };
        }
        assert_eq!(h.memory.used, used, "no new heap for the same requests");
    }

    #[test]
    fn exhaustion_gives_null_not_a_crash() {
        let mut h = heap(128 * 1024);
        let mut n = 0;
        while !h.alloc(1000).is_null() {
            n += 1;
            assert!(n < 1000, "a 128 kB heap cannot hold 1000 kB");
        }
        assert!(n > 100, "the heap is used: {n} blocks");
    }

    #[test]
    fn trim_discards_the_whole_pages_of_large_free_blocks() {
        let mut h = heap(16 << 20);
        let p = h.alloc(40_000);
        // SAFETY: p holds 40,000 bytes.
        unsafe { p.write_bytes(1, 40_000) };
        // SAFETY: a live block of this heap, not used after.
        unsafe { h.free(p) };
        h.trim();
        assert!(h.memory.discarded >= 32 * 1024, "{}", h.memory.discarded);
        // The link survives: the block is handed out again.
        assert_eq!(h.alloc(40_000), p);
    }
}
