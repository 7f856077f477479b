//! Your allocator: here a first-fit heap that keeps its free list outside the arena, with a
//! kmemfuzz adapter below it.

use std::collections::BTreeMap;

/// The allocator: free runs of the arena, first fit.
pub struct FirstFit {
    free: BTreeMap<usize, usize>,
}

impl FirstFit {
    pub fn new(base: usize, size: usize) -> Self {
        FirstFit { free: BTreeMap::from([(base, base + size)]) }
    }

    pub fn alloc(&mut self, size: usize, align: usize) -> Option<usize> {
        let size = size.max(1);
        let (s, e, a) = self.free.iter().find_map(|(&s, &e)| {
            let a = s.checked_next_multiple_of(align)?;
            (a.checked_add(size)? <= e).then_some((s, e, a))
        })?;
        self.free.remove(&s);
        if s < a {
            self.free.insert(s, a);
        }
        if a + size < e {
            self.free.insert(a + size, e);
        }
        Some(a)
    }

    pub fn free(&mut self, addr: usize, size: usize) {
        let (mut s, mut e) = (addr, addr + size.max(1));
        if let Some((&ps, &pe)) = self.free.range(..s).next_back() {
            if pe == s {
                self.free.remove(&ps);
                s = ps;
            }
        }
        if let Some(ne) = self.free.remove(&e) {
            e = ne;
        }
        self.free.insert(s, e);
    }
}

// ---- The adapter: kmemfuzz's HeapEngine for FirstFit ----

use core::alloc::Layout;
use kmemfuzz_engines::engine::{Fit, HeapEngine, Info, Level};

pub struct Engine(FirstFit);

impl HeapEngine for Engine {
    // A first fit finds any free run that holds the request: completeness.
    const INFO: Info = Info::heap("my-first-fit", Level::Complete(Fit::AnyRun));

    fn new(base: usize, size: usize) -> Self {
        Engine(FirstFit::new(base, size))
    }

    fn allocate(&mut self, layout: Layout) -> Option<usize> {
        self.0.alloc(layout.size(), layout.align())
    }

    fn deallocate(&mut self, ptr: usize, layout: Layout) -> bool {
        self.0.free(ptr, layout.size());
        true
    }
}
