//! rlsf 0.2: a TLSF allocator. TLSF's good fit rounds a request up to the next size class
//! before it searches, so a request may fail although a run that would hold it is free: it
//! promises safety only.

use core::alloc::Layout;
use core::ptr::NonNull;

use kmem_oracle::engine::{HeapEngine, Info, Level};
use rlsf::Tlsf;

/// First-level classes up to 16 << 24 bytes, 16 second-level classes each.
type Pool = Tlsf<'static, u32, u16, 24, 16>;

pub struct Rlsf(Pool);

impl HeapEngine for Rlsf {
    const INFO: Info = Info::heap("rlsf", Level::Safety).with_realloc();

    fn new(base: usize, size: usize) -> Self {
        let mut tlsf = Pool::new();
        let block = core::ptr::slice_from_raw_parts_mut(base as *mut u8, size);
        if let Some(block) = NonNull::new(block) {
            // SAFETY: the block is this engine's alone and outlives it (HeapEngine::new:
            // the harness drops the engine before the memory).
            unsafe { tlsf.insert_free_block_ptr(block) };
        }
        Rlsf(tlsf)
    }

    fn allocate(&mut self, layout: Layout) -> Option<usize> {
        self.0.allocate(layout).map(|p| p.as_ptr() as usize)
    }

    fn deallocate(&mut self, ptr: usize, layout: Layout) -> bool {
        let Some(p) = NonNull::new(ptr as *mut u8) else {
            return false;
        };
        // SAFETY: a live block of this pool, freed once, with the alignment it was
        // allocated with.
        unsafe { self.0.deallocate(p, layout.align()) };
        true
    }

    fn reallocate(&mut self, ptr: usize, layout: Layout, new_size: usize) -> Option<usize> {
        let p = NonNull::new(ptr as *mut u8)?;
        let new = Layout::from_size_align(new_size, layout.align()).ok()?;
        // SAFETY: a live block of this pool allocated with `new`'s alignment.
        unsafe { self.0.reallocate(p, new) }.map(|p| p.as_ptr() as usize)
    }
}
