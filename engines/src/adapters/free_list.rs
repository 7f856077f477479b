//! free-list 0.3 (Hermit's page allocator): a sorted list of free page ranges, used by
//! Hermit for physical frames and for virtual address space alike; here as a range engine.
//! Sizes and alignments are whole pages (`PageLayout`), so the adapter rounds a request up
//! to pages. A first fit over the free ranges: it promises completeness.

use free_list::{FreeList, PageLayout, PageRange};
use kmem_oracle::engine::{Fit, Info, Level, RangeEngine};

const PAGE: u64 = 4096;

pub struct HermitFreeList(FreeList<16>);

fn pages(size: u64) -> Option<usize> {
    usize::try_from(size.checked_next_multiple_of(PAGE)?).ok()
}

impl RangeEngine for HermitFreeList {
    const INFO: Info = Info::range("free-list", Level::Complete(Fit::AnyRun)).with_unit(PAGE);

    fn new(start: u64, end: u64) -> Self {
        let mut list = FreeList::new();
        if let Ok(r) = PageRange::new(start as usize, end as usize) {
            // SAFETY: the range is address space this engine alone hands out.
            let _ = unsafe { list.deallocate(r) };
        }
        HermitFreeList(list)
    }

    fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        let layout = PageLayout::from_size_align(pages(size)?, pages(align)?).ok()?;
        self.0.allocate(layout).ok().map(|r| r.start() as u64)
    }

    fn free(&mut self, addr: u64, size: u64, _align: u64) -> bool {
        let Some(r) = pages(size).and_then(|n| PageRange::from_start_len(addr as usize, n).ok())
        else {
            return false;
        };
        // SAFETY: the range is one this list handed out and the checker frees it once.
        unsafe { self.0.deallocate(r) }.is_ok()
    }
}
