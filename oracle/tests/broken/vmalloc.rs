//! vmalloc seams in the tests: address spaces that hand out the wrong ranges and a mapping
//! that enters the wrong page frames (broken), and a space that places areas top-down
//! (a legal variant).
//!
//! The oracle assumes no placement rule for vmalloc: it checks that an area lies in the
//! space, is aligned, overlaps no other area or guard page, and that a failure leaves no
//! free range of size + align - 1 bytes (Linux's search rule). A highest fit keeps all of
//! that, so the legal variant declares nothing more.

use std::collections::BTreeMap;

use kmem::mmu::PageTable;
use kmem::seams::{FreeRanges, Seams, VmapPages, VmapSpace};
use kmem::{PAGE_SHIFT, PAGE_SIZE};

/// A vmap space that never reserves the guard page: every range is one page shorter than
/// asked, so the next area starts on this one's guard page.
pub struct NoGuardPage;

struct NoGuardSpace(FreeRanges);

impl VmapSpace for NoGuardSpace {
    fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        self.0
            .alloc(size.saturating_sub(PAGE_SIZE).max(PAGE_SIZE), align)
    }
    fn free(&mut self, start: u64, size: u64) {
        self.0
            .free(start, size.saturating_sub(PAGE_SIZE).max(PAGE_SIZE))
    }
    fn free_ranges(&self) -> Vec<(u64, u64)> {
        self.0.free_ranges()
    }
}

impl Seams for NoGuardPage {
    fn vmap_space(&self, start: u64, end: u64) -> Box<dyn VmapSpace> {
        Box::new(NoGuardSpace(FreeRanges::new(start, end)))
    }
}

/// A vmap space that ignores an alignment above PAGE_SIZE: areas are only page aligned.
pub struct IgnoreAlign;

struct PageAlignedSpace(FreeRanges);

impl VmapSpace for PageAlignedSpace {
    fn alloc(&mut self, size: u64, _align: u64) -> Option<u64> {
        self.0.alloc(size, PAGE_SIZE)
    }
    fn free(&mut self, start: u64, size: u64) {
        self.0.free(start, size)
    }
    fn free_ranges(&self) -> Vec<(u64, u64)> {
        self.0.free_ranges()
    }
}

impl Seams for IgnoreAlign {
    fn vmap_space(&self, start: u64, end: u64) -> Box<dyn VmapSpace> {
        Box::new(PageAlignedSpace(FreeRanges::new(start, end)))
    }
}

/// A mapping whose page-table entries point at the neighbouring page frame (pfn ^ 1).
pub struct WrongPte;

struct NeighbourFrame;

impl VmapPages for NeighbourFrame {
    fn vmap_pages_range(&mut self, pt: &mut PageTable, addr: u64, pfns: &[u64]) {
        for (i, &pfn) in pfns.iter().enumerate() {
            pt.map(addr + ((i as u64) << PAGE_SHIFT), pfn ^ 1);
        }
    }
}

impl Seams for WrongPte {
    fn vmap_pages(&self) -> Box<dyn VmapPages> {
        Box::new(NeighbourFrame)
    }
}

/// A legal variant: every area at the highest address that fits, as Linux places the
/// per-CPU allocator's areas (pcpu_get_vm_areas() searches top-down).
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
