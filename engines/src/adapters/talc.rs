//! talc 5.1: a binned free-chunk allocator, driven through its `TalcCell`'s `GlobalAlloc`
//! (alloc, dealloc, and realloc that grows or shrinks in place before it moves). Zero sizes
//! are the caller's error, as `GlobalAlloc` makes them. It promises safety only.

use core::alloc::{GlobalAlloc, Layout};

use kmem_oracle::engine::{HeapEngine, Info, Level, Preconditions};
use talc::source::Manual;
use talc::TalcCell;

pub struct Talc(TalcCell<Manual>);

impl HeapEngine for Talc {
    const INFO: Info = Info::heap("talc", Level::Safety)
        .with_pre(Preconditions {
            nonzero_size: true,
            ..Preconditions::NONE
        })
        .with_realloc();

    fn new(base: usize, size: usize) -> Self {
        let cell = TalcCell::new(Manual);
        // SAFETY: `[base, base + size)` is this engine's alone until it is dropped
        // (HeapEngine::new): nothing else mutates it, and `Manual` allows manual claims.
        let _ = unsafe { cell.claim(base as *mut u8, size) };
        Talc(cell)
    }

    fn allocate(&mut self, layout: Layout) -> Option<usize> {
        // SAFETY: the layout's size is nonzero (INFO.pre keeps zero sizes out).
        let p = unsafe { self.0.alloc(layout) };
        (!p.is_null()).then_some(p as usize)
    }

    fn deallocate(&mut self, ptr: usize, layout: Layout) -> bool {
        // SAFETY: the checker frees only live blocks, each once, with their layout.
        unsafe { self.0.dealloc(ptr as *mut u8, layout) };
        true
    }

    fn reallocate(&mut self, ptr: usize, layout: Layout, new_size: usize) -> Option<usize> {
        // SAFETY: `ptr` is a live block allocated with `layout`; `new_size` is nonzero and
        // makes a valid Layout with `layout.align()` (both checked before the call).
        let p = unsafe { self.0.realloc(ptr as *mut u8, layout, new_size) };
        (!p.is_null()).then_some(p as usize)
    }
}
