//! vmalloc seams in the tests: address spaces that hand out the wrong ranges and a mapping
//! that enters the wrong page frames (broken), and a space that places areas top-down
//! (a legal variant).
//!
//! A space declares its placement rule (`VmapSpace::fit`). For one that declares Linux's
//! lowest fit, as kmem's does, the oracle predicts every address; for any other it checks
//! only that an area lies in the space, is aligned, overlaps no other area or guard page,
//! and that a failure leaves no free range of size + align - 1 bytes (Linux's search rule).
//! The top-down variant keeps all of that and declares `VmapFit::Any`.

use std::collections::BTreeMap;

use kmem::mmu::PageTable;
use kmem::seams::{FreeRanges, Seams, VmapFit, VmapPages, VmapSpace};
use kmem::{PAGE_SHIFT, PAGE_SIZE};

/// A vmap space that never reserves the guard page: every range is one page shorter than
/// asked, so the next area starts on this one's guard page.
pub struct NoGuardPage;

struct NoGuardSpace(FreeRanges);

impl VmapSpace for NoGuardSpace {
    fn fit(&self) -> VmapFit {
        self.0.fit()
    }
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
    fn fit(&self) -> VmapFit {
        self.0.fit()
    }
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

/// A vmap space whose first-fit search compares with `>` where `>=` belongs: a free range
/// exactly as long as the area (guard page included) is passed over, and the area goes to
/// the next range that fits. Every area still lies in the space, aligned, overlapping
/// nothing, and the space fails only when nothing longer is free: legal under the bounds,
/// but not the lowest fit it declares.
pub struct SkipExactHole;

impl Seams for SkipExactHole {
    fn vmap_space(&self, start: u64, end: u64) -> Box<dyn VmapSpace> {
        Box::new(StrictFirstFit(Ranges::new(start, end)))
    }
}

struct StrictFirstFit(Ranges);

impl VmapSpace for StrictFirstFit {
    fn fit(&self) -> VmapFit {
        VmapFit::Lowest
    }
    fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        let align = align.max(PAGE_SIZE);
        let (s, e, at) = self.0.free.iter().find_map(|(&s, &e)| {
            let at = s.checked_next_multiple_of(align)?;
            // The bug: `>` where the lowest fit has `>=`.
            (e.checked_sub(at)? > size).then_some((s, e, at))
        })?;
        self.0.carve(s, e, at, size);
        Some(at)
    }
    fn free(&mut self, start: u64, size: u64) {
        self.0.give(start, size)
    }
    fn free_ranges(&self) -> Vec<(u64, u64)> {
        self.0.ranges()
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
pub struct HighestFit(Ranges);

impl HighestFit {
    pub fn new(start: u64, end: u64) -> HighestFit {
        HighestFit(Ranges::new(start, end))
    }
}

impl VmapSpace for HighestFit {
    /// Not the lowest fit: the oracle holds it to the bounds alone.
    fn fit(&self) -> VmapFit {
        VmapFit::Any
    }

    fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        let align = align.max(PAGE_SIZE);
        let (s, e, at) = self.0.free.iter().rev().find_map(|(&s, &e)| {
            let top = e.checked_sub(size)? & !(align - 1);
            (top >= s).then_some((s, e, top))
        })?;
        self.0.carve(s, e, at, size);
        Some(at)
    }

    fn free(&mut self, start: u64, size: u64) {
        self.0.give(start, size)
    }

    fn free_ranges(&self) -> Vec<(u64, u64)> {
        self.0.ranges()
    }
}

/// The free ranges [start, end) of a test space, by start, merged with their neighbours.
struct Ranges {
    free: BTreeMap<u64, u64>,
}

impl Ranges {
    fn new(start: u64, end: u64) -> Ranges {
        let mut free = BTreeMap::new();
        if end > start {
            free.insert(start, end);
        }
        Ranges { free }
    }

    /// Takes [at, at + size) out of the free range [s, e).
    fn carve(&mut self, s: u64, e: u64, at: u64, size: u64) {
        self.free.remove(&s);
        if s < at {
            self.free.insert(s, at);
        }
        if at + size < e {
            self.free.insert(at + size, e);
        }
    }

    fn give(&mut self, start: u64, size: u64) {
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

    fn ranges(&self) -> Vec<(u64, u64)> {
        self.free.iter().map(|(&s, &e)| (s, e)).collect()
    }
}
