//! bitmap-allocator 0.4: a cascade of 16-bit bitmaps, one bit per frame, searched first fit
//! for an aligned run. A bitmap finds any free aligned run, so it promises completeness.

use std::ops::Range;

use bitmap_allocator::{BitAlloc, BitAlloc4K};
use kmem_oracle::engine::{Fit, FrameEngine, Info, Level};

pub struct Bitmap(Box<BitAlloc4K>);

impl FrameEngine for Bitmap {
    // 4096 bits: frame numbers below 4096, so arenas of up to 8 MiB (frames 1024..2048 of
    // a 4 MiB arena).
    const INFO: Info = Info::frame("bitmap-allocator", Level::Complete(Fit::AnyRun));

    fn new(frames: Range<u64>) -> Self {
        let mut b = Box::<BitAlloc4K>::default();
        b.insert(frames.start as usize..frames.end as usize);
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
