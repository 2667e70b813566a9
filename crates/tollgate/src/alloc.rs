//! The global allocator: mimalloc, asked for a plain block whenever a plain block is aligned
//! enough.
//!
//! The `mimalloc` crate's allocator passes every request to `mi_malloc_aligned`, and mimalloc 3
//! serves an aligned request from its fast path only when a free block of the right size class
//! happens to be aligned; otherwise (every block over 1 KiB whose size class is not a power of
//! two, say) it over-allocates by the alignment in a slower generic path. That path took 11 of a
//! GET's allocations and about 3.5% of its instructions. Every mimalloc block is aligned to at
//! least 8 bytes (size classes are whole words and a page's first block is 16-aligned), so a
//! request for at most 8 needs no aligned call; larger alignments keep mimalloc's aligned API.
//! The same dispatch is discussed upstream (purpleprotocol/mimalloc_rust#170).
//!
//! SQLite, which allocates through its own interface, is given mimalloc too
//! ([`sqlite_uses_mimalloc`]).
//!
//! And the heap stays on small pages ([`small_pages`]): mimalloc asks the kernel for transparent
//! huge pages on its arenas (`madvise(MADV_HUGEPAGE)`), so wherever THP is `madvise` or
//! `always`, each 2 MiB of heap it touches becomes resident whole. Under the soak's mixed load
//! (`bench/soak.py`) that was 48-49 MiB of RSS, 30 MiB of it huge pages, against 24 MiB without.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::{c_int, c_void};

use libmimalloc_sys::{
    mi_free, mi_good_size, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_usable_size, mi_zalloc,
    mi_zalloc_aligned,
};

/// The alignment every mimalloc block has.
const BLOCK_ALIGN: usize = 8;

/// mimalloc as the global allocator (see the module).
pub struct MiMalloc;

// SAFETY: each method hands the request to the mimalloc function for it; a plain call is made
// only for alignments every mimalloc block meets, and blocks are freed with `mi_free`, which
// takes blocks of both kinds.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            mi_malloc(layout.size()).cast()
        } else {
            mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            mi_zalloc(layout.size()).cast()
        } else {
            mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi_free(ptr.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            mi_realloc(ptr.cast::<c_void>(), new_size).cast()
        } else {
            mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
        }
    }
}

/// Sends SQLite's own allocations to mimalloc as well. SQLite otherwise calls glibc's `malloc`,
/// which took about 3% of a batch's instructions: a write allocates for every statement, cursor
/// and page it touches. Must run before SQLite is first used (it configures the library, and
/// SQLite refuses configuration once initialised); `main` calls it first. Returns whether SQLite
/// took it.
pub fn sqlite_uses_mimalloc() -> bool {
    use rusqlite::ffi;
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(sqlite_malloc),
        xFree: Some(sqlite_free),
        xRealloc: Some(sqlite_realloc),
        xSize: Some(sqlite_size),
        xRoundup: Some(sqlite_roundup),
        xInit: Some(sqlite_init),
        xShutdown: Some(sqlite_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to a `sqlite3_mem_methods`, which SQLite
    // copies before returning; the functions it names are valid for the whole process.
    unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &raw const methods) == ffi::SQLITE_OK }
}

// The callbacks. SQLite asks for sizes of at least 1 and at most 2^31 - 1 and expects 8-byte
// alignment, which every mimalloc block has; it frees and measures only blocks it was given.

unsafe extern "C" fn sqlite_malloc(n: c_int) -> *mut c_void {
    match usize::try_from(n) {
        Ok(n) => mi_malloc(n),
        Err(_) => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn sqlite_free(p: *mut c_void) {
    mi_free(p);
}

unsafe extern "C" fn sqlite_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    match usize::try_from(n) {
        Ok(n) => mi_realloc(p, n),
        Err(_) => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn sqlite_size(p: *mut c_void) -> c_int {
    c_int::try_from(mi_usable_size(p)).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn sqlite_roundup(n: c_int) -> c_int {
    usize::try_from(n).ok().and_then(|n| c_int::try_from(mi_good_size(n)).ok()).unwrap_or(n)
}

unsafe extern "C" fn sqlite_init(_: *mut c_void) -> c_int {
    rusqlite::ffi::SQLITE_OK
}

unsafe extern "C" fn sqlite_shutdown(_: *mut c_void) {}

/// Turns transparent huge pages off for this process (see the module), as mimalloc does itself
/// at its start when `MIMALLOC_ALLOW_THP=0` is in the environment. Best effort: a kernel without
/// THP has nothing to turn off.
fn small_pages() {
    // SAFETY: `PR_SET_THP_DISABLE` takes integers only and changes no memory of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// [`small_pages`] before anything else in the process touches the heap, mimalloc's own start
/// included: the constructors of `.init_array.NNNNN` run in the order of their numbers, before
/// the unnumbered ones (mimalloc's), and this one before Rust's own (99). From `main` it came too
/// late: the heap mimalloc had already touched kept two huge pages.
#[used]
#[unsafe(link_section = ".init_array.00050")]
static SMALL_PAGES_FIRST: extern "C" fn() = {
    extern "C" fn first() {
        small_pages();
    }
    first
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size class up to a few pages, and large blocks, at every alignment a Rust type can
    /// ask for here: each block is aligned, writable whole, and keeps its bytes when it grows.
    #[test]
    fn blocks_meet_their_alignment_through_both_paths() {
        let sizes = (1..=4200).chain([8191, 8192, 65_537, 1 << 20, (1 << 22) + 24]);
        for size in sizes {
            for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: non-zero sizes; every block is freed with the layout it was made with.
                unsafe {
                    let p = MiMalloc.alloc(layout);
                    assert!(!p.is_null() && p as usize % align == 0, "{size} bytes aligned to {align}");
                    p.write_bytes(0xA5, size);
                    let grown = MiMalloc.realloc(p, layout, size * 2 + 1);
                    assert!(!grown.is_null() && grown as usize % align == 0, "{size} grown, aligned to {align}");
                    assert!(std::slice::from_raw_parts(grown, size).iter().all(|b| *b == 0xA5));
                    MiMalloc.dealloc(grown, Layout::from_size_align(size * 2 + 1, align).unwrap());
                    let z = MiMalloc.alloc_zeroed(layout);
                    assert!(!z.is_null() && z as usize % align == 0, "{size} zeroed bytes aligned to {align}");
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|b| *b == 0));
                    MiMalloc.dealloc(z, layout);
                }
            }
        }
    }

    /// SQLite's view of the allocator: blocks of at least the size asked for, 8-aligned, that
    /// keep their bytes when they grow; sizes it cannot have are refused, not wrapped.
    #[test]
    fn sqlite_callbacks_hand_out_and_measure_blocks() {
        // SAFETY: every block comes from these callbacks and is freed once by them.
        unsafe {
            for n in [1, 7, 8, 100, 4096, 65_536, 1 << 20] {
                let p = sqlite_malloc(n).cast::<u8>();
                assert!(!p.is_null() && p as usize % 8 == 0);
                assert!(sqlite_size(p.cast()) >= n && sqlite_roundup(n) >= n);
                p.write_bytes(0x5A, n as usize);
                let q = sqlite_realloc(p.cast(), n * 3).cast::<u8>();
                assert!(!q.is_null() && sqlite_size(q.cast()) >= n * 3);
                assert!(std::slice::from_raw_parts(q, n as usize).iter().all(|b| *b == 0x5A));
                sqlite_free(q.cast());
            }
            assert!(sqlite_malloc(-1).is_null());
            assert_eq!(sqlite_roundup(-5), -5);
            assert_eq!(sqlite_init(std::ptr::null_mut()), rusqlite::ffi::SQLITE_OK);
        }
    }
}
