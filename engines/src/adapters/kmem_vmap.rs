//! kmem's own vmalloc address-space allocator (`kmem::seams::FreeRanges`, the seam
//! `VmapSpace` beneath vmalloc) as a range engine. It works in whole pages, so the adapter
//! rounds sizes up to pages (a zero size to one page). Its contract is alloc_vmap_area()'s:
//! a request fails only when no free range is size + align - 1 bytes long.

use kmem::seams::{FreeRanges, VmapSpace};
use kmem::PAGE_SIZE;
use kmem_oracle::engine::{Fit, Info, Level, RangeEngine};

pub struct KmemVmap(FreeRanges);

fn pages(size: u64) -> Option<u64> {
    size.max(1).checked_next_multiple_of(PAGE_SIZE)
}

impl RangeEngine for KmemVmap {
    const INFO: Info = Info::range("kmem-vmap", Level::Complete(Fit::Padded)).with_unit(PAGE_SIZE);

    fn new(start: u64, end: u64) -> Self {
        KmemVmap(FreeRanges::new(start, end))
    }

    fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        self.0.alloc(pages(size)?, align)
    }

    fn free(&mut self, addr: u64, size: u64, _align: u64) -> bool {
        match pages(size) {
            Some(n) => {
                self.0.free(addr, n);
                true
            }
            None => false,
        }
    }
}
