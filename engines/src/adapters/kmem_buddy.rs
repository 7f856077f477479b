//! kmem's own buddy allocator (`kmem::Buddy`) as a frame engine: one Normal zone over the
//! frames, no watermarks, so only the buddy itself is judged. Linux's buddy promises
//! completeness by the buddy rule up to MAX_PAGE_ORDER.

use std::ops::Range;

use kmem::gfp::GFP_KERNEL;
use kmem::layout::{ZoneSpan, ZoneType};
use kmem::zone::Zone;
use kmem::{Buddy, PageAllocator};
use kmem_oracle::engine::{Fit, FrameEngine, Info, Level};

pub struct KmemBuddy(Buddy);

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
            max_block: (4 << 10) << kmem::MAX_PAGE_ORDER,
        }),
    );

    fn new(frames: Range<u64>) -> Self {
        let zone = Zone {
            span: ZoneSpan {
                zone: ZoneType::Normal,
                start_pfn: frames.start,
                end_pfn: frames.end,
            },
            managed: frames.end - frames.start,
            wmark_min: 0,
            wmark_low: 0,
            wmark_high: 0,
            lowmem_reserve: vec![0],
        };
        KmemBuddy(Buddy::new(vec![zone], &[]))
    }

    fn alloc(&mut self, count: u64, align: u64) -> Option<u64> {
        self.0.alloc(GFP_KERNEL, order(count, align)?)
    }

    fn free(&mut self, frame: u64, count: u64, align: u64) -> bool {
        match order(count, align) {
            Some(o) => {
                self.0.free(frame, o);
                true
            }
            None => false,
        }
    }
}
