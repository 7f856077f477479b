//! bitmap-allocator 0.4: a cascade of 16-bit bitmaps, one bit per frame, searched first fit
//! for an aligned run. A bitmap finds any free aligned run, so it promises completeness.

use std::ops::Range;

use bitmap_allocator::{BitAlloc, BitAlloc16M};
use kmem_oracle::engine::{Fit, FrameEngine, Info, Level};

pub struct Bitmap(Box<BitAlloc16M>);

impl FrameEngine for Bitmap {
    // 16M bits: frame numbers below 16M, which covers a 64 GiB machine's memory map.
    const INFO: Info = Info::frame("bitmap-allocator", Level::Complete(Fit::AnyRun));

    fn new(runs: &[Range<u64>]) -> Self {
        // Built in place (2 MiB would not fit on a test thread's stack).
        // SAFETY: BitAlloc16M is nested arrays of u16 bitsets; all zeros is a valid value
        // and is its DEFAULT (no bit available).
        let mut b: Box<BitAlloc16M> = unsafe { Box::new_zeroed().assume_init() };
        for r in runs {
            b.insert(r.start as usize..r.end as usize);
        }
        Bitmap(b)
    }

    fn alloc(&mut self, count: u64, align: u64) -> Option<u64> {
        let count = usize::try_from(count).ok()?;
        let log2 = align.trailing_zeros() as usize;
        self.0.alloc_contiguous(None, count, log2).map(|f| f as u64)
    }

    fn free(&mut self, frame: u64, count: u64, _align: u64) -> bool {
        self.0.dealloc_contiguous(frame as usize, count as usize)
    }
}
