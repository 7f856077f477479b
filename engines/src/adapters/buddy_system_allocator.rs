//! buddy_system_allocator 0.13: its `Heap` (a buddy heap whose free lists live in the
//! arena) and its `FrameAllocator` (a buddy over frame numbers, free lists in BTreeSets).
//! Both are buddies with eager merging, so both promise completeness by the buddy rule.
//!
//! Each is instantiated with an ORDER its arenas outgrow: a buddy's hardest paths are at its
//! top class (a range split into top-class blocks when it is added, two free top-class
//! buddies that must not merge past the last list), and an ORDER whose top block is larger
//! than any arena never reaches them.

use core::alloc::Layout;
use core::ptr::NonNull;
use std::ops::Range;

use buddy_system_allocator::{FrameAllocator, Heap};
use kmem_oracle::engine::{Fit, FrameEngine, HeapEngine, Info, Level};

/// The heap's ORDER: blocks up to 32 KiB, so every arena from 64 KiB holds two or more
/// top-class blocks.
const HEAP_ORDER: usize = 16;

/// The frame allocator's ORDER: Linux's NR_PAGE_ORDERS, blocks up to MAX_PAGE_ORDER (1024
/// frames), which is what the whole machine on it (crate::machine) asks for, and what its
/// largest arena (16 MiB, 4096 frames) holds four of.
const FRAME_ORDER: usize = kmem::NR_PAGE_ORDERS;

pub struct BsaHeap(Heap<HEAP_ORDER>);

impl HeapEngine for BsaHeap {
    const INFO: Info = Info::heap(
        "buddy_system_allocator-heap",
        Level::Complete(Fit::Buddy {
            min_block: size_of::<usize>() as u64,
            max_block: 1 << (HEAP_ORDER - 1),
        }),
    );

    fn new(base: usize, size: usize) -> Self {
        let mut heap = Heap::<HEAP_ORDER>::new();
        // SAFETY: the harness hands `[base, base + size)` to this engine alone and keeps it
        // until the engine is dropped (HeapEngine::new), so it is valid, writable and
        // managed by nothing else, and it is the only region ever added to this heap.
        unsafe { heap.init(base, size) };
        BsaHeap(heap)
    }

    fn allocate(&mut self, layout: Layout) -> Option<usize> {
        self.0.alloc(layout).ok().map(|p| p.as_ptr() as usize)
    }

    fn deallocate(&mut self, ptr: usize, layout: Layout) -> bool {
        let Some(p) = NonNull::new(ptr as *mut u8) else {
            return false;
        };
        // SAFETY: the checker frees only live blocks, each once, with the layout `alloc`
        // returned it for.
        unsafe { self.0.dealloc(p, layout) };
        true
    }
}

pub struct BsaFrames(FrameAllocator<FRAME_ORDER>);

impl FrameEngine for BsaFrames {
    const INFO: Info = Info::frame(
        "buddy_system_allocator-frame",
        Level::Complete(Fit::Buddy {
            min_block: 4 << 10,
            max_block: (4 << 10) << (FRAME_ORDER - 1),
        }),
    )
    .with_arena(4 << 10, 16 << 20);

    fn new(runs: &[Range<u64>]) -> Self {
        let mut f = FrameAllocator::<FRAME_ORDER>::new();
        for r in runs {
            f.add_frame(r.start as usize, r.end as usize);
        }
        BsaFrames(f)
    }

    fn alloc(&mut self, count: u64, align: u64) -> Option<u64> {
        let layout = Layout::from_size_align(count as usize, align as usize).ok()?;
        self.0.alloc_aligned(layout).map(|f| f as u64)
    }

    fn free(&mut self, frame: u64, count: u64, align: u64) -> bool {
        match Layout::from_size_align(count as usize, align as usize) {
            Ok(layout) => {
                self.0.dealloc_aligned(frame as usize, layout);
                true
            }
            Err(_) => false,
        }
    }
}
