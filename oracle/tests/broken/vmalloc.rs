//! Broken vmalloc: address spaces that hand out the wrong ranges, and a mapping that enters
//! the wrong page frames.

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
