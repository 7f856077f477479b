//! linked_list_allocator 0.10: a first-fit list of holes kept in the arena itself. Its
//! holes must be able to hold a hole header, so a request may fail although a smaller run
//! is free: it promises safety only.

use core::alloc::Layout;
use core::ptr::NonNull;

use kmem_oracle::engine::{HeapEngine, Info, Level};
use linked_list_allocator::Heap;

pub struct LinkedList(Heap);

impl HeapEngine for LinkedList {
    // Heap::init documents that it panics when the heap cannot hold its metadata, between
    // 2 and 3 usizes depending on the bottom's alignment: 3 usizes is the smallest arena.
    const INFO: Info = Info::heap("linked_list_allocator", Level::Safety)
        .with_arena(3 * size_of::<usize>() as u64, 1 << 20);

    fn new(base: usize, size: usize) -> Self {
        let mut heap = Heap::empty();
        // SAFETY: called once on an empty heap; `[base, base + size)` is this engine's alone
        // until it is dropped (HeapEngine::new), and is large enough for the metadata (the
        // arena is at least 4 KiB).
        unsafe { heap.init(base as *mut u8, size) };
        LinkedList(heap)
    }

    fn allocate(&mut self, layout: Layout) -> Option<usize> {
        self.0
            .allocate_first_fit(layout)
            .ok()
            .map(|p| p.as_ptr() as usize)
    }

    fn deallocate(&mut self, ptr: usize, layout: Layout) -> bool {
        let Some(p) = NonNull::new(ptr as *mut u8) else {
            return false;
        };
        // SAFETY: the checker frees only live blocks, each once, with the layout
        // `allocate_first_fit` returned it for.
        unsafe { self.0.deallocate(p, layout) };
        true
    }
}
