//! kmem's own free-block mechanism (`kmem::FreeAreas`, the free lists of Linux's buddy
//! allocator beneath its zone policy) as a frame engine. Linux's buddy promises completeness
//! by the buddy rule up to MAX_PAGE_ORDER.

use std::ops::Range;

use kmem::layout::{ZoneSpan, ZoneType};
use kmem::{FreeAreas, FreeBlocks, MAX_PAGE_ORDER};
use kmem_oracle::engine::{Fit, FrameEngine, Info, Level};

pub struct KmemBuddy(FreeAreas);

/// The order of a run of `count` frames aligned to `align` frames.
fn order(count: u64, align: u64) -> Option<u32> {
    let n = count.max(1).checked_next_power_of_two()?.max(align);
    Some(n.trailing_zeros())
}

impl FrameEngine for KmemBuddy {
    const INFO: Info = Info::frame(
        "kmem-buddy",
        Level::Complete(Fit::Buddy {
            min_block: 4 << 10,
            max_block: (4 << 10) << MAX_PAGE_ORDER,
        }),
    );

    fn new(runs: &[Range<u64>]) -> Self {
        let span = ZoneSpan {
            zone: ZoneType::Normal,
            start_pfn: runs.first().map_or(0, |r| r.start),
            end_pfn: runs.last().map_or(0, |r| r.end),
        };
        let free: Vec<(u64, u64)> = runs.iter().map(|r| (r.start, r.end)).collect();
        KmemBuddy(FreeAreas::new(&span, &free))
    }

    fn alloc(&mut self, count: u64, align: u64) -> Option<u64> {
        let o = order(count, align).filter(|&o| o <= MAX_PAGE_ORDER)?;
        self.0.take(o)
    }

    fn free(&mut self, frame: u64, count: u64, align: u64) -> bool {
        match order(count, align).filter(|&o| o <= MAX_PAGE_ORDER) {
            Some(o) => {
                self.0.give(frame, o);
                true
            }
            None => false,
        }
    }
}
