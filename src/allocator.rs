//! The wasm's global allocator: size classes with one free list each.
//!
//! std's default on wasm32 is dlmalloc (about 8 KB of wasm). This one is a few hundred
//! bytes. Blocks are 8, 16 or 32 bytes, then four sizes per doubling (40, 48, 56, 64, 80,
//! …: at most 25 % more than asked for), each aligned to its largest power-of-two divisor
//! (at least 8; a stricter alignment takes a power-of-two block). `alloc` pops the class's
//! free list or carves a block from memory grown with `memory.grow`; `dealloc` pushes it
//! back; `realloc` within the same class keeps the block. Blocks are never split or merged,
//! so a class's peak stays reserved for it (wasm memory never shrinks anyway).
//! Single-threaded, like the widget.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;
use core::ptr;

const PAGE: usize = 65536;
const CLASSES: usize = 4 * usize::BITS as usize;

struct Heap {
    /// Head of each class's free list; a free block holds the address of the next.
    free: [*mut u8; CLASSES],
    /// Next unused byte of the region obtained from `memory.grow`.
    next: usize,
    /// End of that region.
    end: usize,
}

/// The allocator (see the module documentation).
pub struct SizeClasses(UnsafeCell<Heap>);

// The widget's wasm is single-threaded.
unsafe impl Sync for SizeClasses {}

impl SizeClasses {
    /// An empty heap; memory is grown on first use.
    pub const fn new() -> Self {
        Self(UnsafeCell::new(Heap { free: [ptr::null_mut(); CLASSES], next: 0, end: 0 }))
    }
}

/// The class of a layout (an index into the free lists; see the module documentation).
fn class(size: usize, align: usize) -> usize {
    let n = size.max(align).max(8);
    // 2^e < n <= 2^(e+1)
    let e = (usize::BITS - 1 - (n - 1).leading_zeros()) as usize;
    if n <= 32 {
        return e + 1;
    }
    // n rounded up to a multiple of a quarter of 2^e: m quarters, m in 5..=8.
    let m = if align > 8 { 8 } else { ((n - 1) >> (e - 2)) + 1 };
    4 * e + m - 5
}

/// The block size of a class.
fn block_size(c: usize) -> usize {
    if c <= 5 {
        1 << c
    } else {
        (c % 4 + 5) << (c / 4 - 2)
    }
}

impl Heap {
    /// A fresh block of `2^c` bytes from the end of the region, growing memory as needed.
    unsafe fn carve(&mut self, c: usize) -> *mut u8 {
        let size = block_size(c);
        let align = (size & size.wrapping_neg()).min(PAGE);
        loop {
            let start = (self.next + align - 1) & !(align - 1);
            if let Some(end) = start.checked_add(size) {
                if end <= self.end {
                    self.next = end;
                    return start as *mut u8;
                }
            }
            // Grow by what is missing (whole pages), or by the whole block when the region
            // cannot be extended in place.
            let missing = if self.end == 0 { size } else { size + align };
            let pages = missing.div_ceil(PAGE).max(1);
            let old = wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                return ptr::null_mut();
            }
            let base = old * PAGE;
            if base != self.end {
                self.next = base;
            }
            self.end = base + pages * PAGE;
        }
    }
}

unsafe impl GlobalAlloc for SizeClasses {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let heap = &mut *self.0.get();
        let c = class(layout.size(), layout.align());
        if c >= 4 * 31 || layout.align() > PAGE {
            return ptr::null_mut();
        }
        let head = heap.free[c];
        if head.is_null() {
            heap.carve(c)
        } else {
            heap.free[c] = *(head as *mut *mut u8);
            head
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let heap = &mut *self.0.get();
        let c = class(layout.size(), layout.align());
        *(block as *mut *mut u8) = heap.free[c];
        heap.free[c] = block;
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if class(layout.size(), layout.align()) == class(new_size, layout.align()) {
            return block;
        }
        let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
        if !new.is_null() {
            ptr::copy_nonoverlapping(block, new, layout.size().min(new_size));
            self.dealloc(block, layout);
        }
        new
    }
}
