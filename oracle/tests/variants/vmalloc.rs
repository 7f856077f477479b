//! A vmalloc address space that places every area at the highest address that fits, as
//! Linux places the per-CPU allocator's areas (pcpu_get_vm_areas() searches top-down).
//!
//! The oracle assumes no placement rule for vmalloc: it checks that an area lies in the
//! space, is aligned, overlaps no other area or guard page, and that a failure leaves no
//! free range of size + align - 1 bytes (Linux's search rule). A highest fit keeps all of
//! that, so this variant declares nothing more.

use std::collections::BTreeMap;

use kmem::seams::{Seams, VmapSpace};
use kmem::PAGE_SIZE;

/// Boots machines whose vmalloc space is [`HighestFit`].
pub struct TopDown;

impl Seams for TopDown {
    fn vmap_space(&self, start: u64, end: u64) -> Box<dyn VmapSpace> {
        Box::new(HighestFit::new(start, end))
    }
}

/// Free ranges by start; an allocation takes the aligned block nearest the top of the
/// highest range that holds one.
pub struct HighestFit {
    free: BTreeMap<u64, u64>,
}

impl HighestFit {
    pub fn new(start: u64, end: u64) -> HighestFit {
        let mut free = BTreeMap::new();
        if end > start {
            free.insert(start, end);
        }
        HighestFit { free }
    }
}

impl VmapSpace for HighestFit {
    fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        let align = align.max(PAGE_SIZE);
        let (s, e, at) = self.free.iter().rev().find_map(|(&s, &e)| {
            let top = e.checked_sub(size)? & !(align - 1);
            (top >= s).then_some((s, e, top))
        })?;
        self.free.remove(&s);
        if s < at {
            self.free.insert(s, at);
        }
        if at + size < e {
            self.free.insert(at + size, e);
        }
        Some(at)
    }

    fn free(&mut self, start: u64, size: u64) {
        let mut s = start;
        let mut e = start.saturating_add(size);
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

    fn free_ranges(&self) -> Vec<(u64, u64)> {
        self.free.iter().map(|(&s, &e)| (s, e)).collect()
    }
}
