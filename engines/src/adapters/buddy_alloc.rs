//! buddy-alloc 0.6: its `NonThreadsafeAlloc`, the `GlobalAlloc` it offers, over a fast
//! allocator of 64-byte blocks (the first quarter of the arena) and a buddy allocator with
//! 16-byte leaves (the rest). Zero sizes are the caller's error, as `GlobalAlloc` makes them.
//! It promises safety only (small requests go to the fast allocator first).

use core::alloc::{GlobalAlloc, Layout};

use buddy_alloc::{BuddyAllocParam, FastAllocParam, NonThreadsafeAlloc};
use kmem_oracle::engine::{HeapEngine, Info, Level, Preconditions};

pub struct BuddyAlloc(NonThreadsafeAlloc);

impl HeapEngine for BuddyAlloc {
    const INFO: Info = Info::heap("buddy-alloc", Level::Safety)
        .with_pre(Preconditions {
            nonzero_size: true,
            ..Preconditions::NONE
        })
        .with_realloc()
        .with_known_bug(|_, align| {
            (align > 16).then_some("NonThreadsafeAlloc ignores the alignment (16-byte leaves)")
        });

    fn new(base: usize, size: usize) -> Self {
        // FastAlloc::new requires its base aligned to its 64-byte blocks (a debug_assert,
        // "base_addr must align to block size"); BuddyAlloc rounds its own base up to a
        // leaf. So the fast blocks start at the arena's first 64-byte boundary.
        let first = base.next_multiple_of(64).min(base + size);
        let rest = base + size - first;
        let fast = rest / 4 / 64 * 64;
        let fast_param = FastAllocParam::new(first as *const u8, fast);
        let buddy_param = BuddyAllocParam::new((first + fast) as *const u8, rest - fast, 16);
        BuddyAlloc(NonThreadsafeAlloc::new(fast_param, buddy_param))
    }

    fn allocate(&mut self, layout: Layout) -> Option<usize> {
        // SAFETY: the layout's size is nonzero (INFO.pre); the two regions given to `new`
        // are this engine's alone until it is dropped (HeapEngine::new).
        let p = unsafe { self.0.alloc(layout) };
        (!p.is_null()).then_some(p as usize)
    }

    fn deallocate(&mut self, ptr: usize, layout: Layout) -> bool {
        // SAFETY: a live block of this allocator, freed once, with its layout.
        unsafe { self.0.dealloc(ptr as *mut u8, layout) };
        true
    }

    fn reallocate(&mut self, ptr: usize, layout: Layout, new_size: usize) -> Option<usize> {
        // SAFETY: a live block allocated with `layout`; `new_size` is nonzero and makes a
        // valid Layout with its alignment (checked before the call).
        let p = unsafe { self.0.realloc(ptr as *mut u8, layout, new_size) };
        (!p.is_null()).then_some(p as usize)
    }
}
