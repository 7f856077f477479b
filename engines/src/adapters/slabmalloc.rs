//! slabmalloc 0.11 (`default-features = false`, stable Rust): a zone of size-class slab
//! allocators for objects up to 128 KiB. It holds no memory of its own: when a class runs
//! out it asks for a page, which this adapter carves from the arena (4 KiB object pages,
//! 2 MiB-aligned large-object pages), taking back the empty pages of every class before it
//! gives up. It promises safety only (a class's pages serve that class alone).

use core::alloc::Layout;
use core::cell::RefCell;
use core::ptr::NonNull;

use kmem_oracle::engine::{HeapEngine, Info, Level};
use slabmalloc::{AllocationError, Allocator, LargeObjectPage, ObjectPage, ZoneAllocator};

const PAGE: usize = 4096;
const LARGE: usize = 2 << 20;

/// The arena's pages: which are free.
struct Pages {
    base: usize,
    free: Vec<bool>,
}

impl Pages {
    /// A free run of `n` pages whose address is a multiple of `n` pages, taken.
    fn take(&mut self, n: usize) -> Option<usize> {
        let bytes = n * PAGE;
        let first = self.base.next_multiple_of(bytes);
        let mut a = first;
        while a + bytes <= self.base + self.free.len() * PAGE {
            let i = (a - self.base) / PAGE;
            if self.free[i..i + n].iter().all(|&f| f) {
                self.free[i..i + n].fill(false);
                return Some(a);
            }
            a += bytes;
        }
        None
    }

    fn give(&mut self, addr: usize, n: usize) {
        let i = (addr - self.base) / PAGE;
        if let Some(run) = self.free.get_mut(i..i + n) {
            run.fill(true);
        }
    }
}

pub struct Slabmalloc {
    zone: ZoneAllocator<'static>,
    pages: Pages,
}

impl Slabmalloc {
    /// Puts every empty page of every class back into the arena's pool.
    fn reclaim(&mut self) {
        let base = RefCell::new(vec![]);
        self.zone
            .try_reclaim_base_pages(usize::MAX, |p| base.borrow_mut().push(p as usize));
        for p in base.into_inner() {
            self.pages.give(p, 1);
        }
        let mut large = vec![];
        self.zone
            .try_reclaim_large_pages(usize::MAX, |p| large.push(p as usize));
        for p in large {
            self.pages.give(p, LARGE / PAGE);
        }
    }

    /// Gives the zone one more page for `layout`'s class; false when the arena has none.
    fn refill(&mut self, layout: Layout) -> bool {
        let large = layout.size() > ZoneAllocator::MAX_BASE_ALLOC_SIZE;
        let n = if large { LARGE / PAGE } else { 1 };
        let Some(page) = self.pages.take(n).or_else(|| {
            self.reclaim();
            self.pages.take(n)
        }) else {
            return false;
        };
        // SAFETY: `page` is `n` pages of the arena, aligned to their size, that no one else
        // uses; the arena outlives the zone (HeapEngine::new), so 'static stands for "as long
        // as this engine". Every byte pattern is a valid page (integers, atomics, links
        // that `refill` initialises).
        let done = unsafe {
            if large {
                let p = &mut *(page as *mut LargeObjectPage<'static>);
                self.zone.refill_large(layout, p)
            } else {
                let p = &mut *(page as *mut ObjectPage<'static>);
                self.zone.refill(layout, p)
            }
        };
        if done.is_err() {
            self.pages.give(page, n);
        }
        done.is_ok()
    }
}

impl HeapEngine for Slabmalloc {
    const INFO: Info = Info::heap("slabmalloc", Level::Safety)
        .with_arena(64 << 10, 4 << 20)
        .with_known_bug(|_, align| {
            (align > PAGE as u64).then_some(
                "an alignment above the 4 KiB page panics (debug) or is undefined behaviour",
            )
        });

    fn new(base: usize, size: usize) -> Self {
        let first = base.next_multiple_of(PAGE);
        let n = (base + size).saturating_sub(first) / PAGE;
        Slabmalloc {
            zone: ZoneAllocator::new(),
            pages: Pages {
                base: first,
                free: vec![true; n],
            },
        }
    }

    fn allocate(&mut self, layout: Layout) -> Option<usize> {
        // At most two fresh pages per request: a request no fresh page can serve (an
        // alignment above the page's objects) must not drain the arena.
        for _ in 0..3 {
            match self.zone.allocate(layout) {
                Ok(p) => return Some(p.as_ptr() as usize),
                Err(AllocationError::InvalidLayout) => return None,
                Err(AllocationError::OutOfMemory) => {
                    if !self.refill(layout) {
                        return None;
                    }
                }
            }
        }
        None
    }

    fn deallocate(&mut self, ptr: usize, layout: Layout) -> bool {
        NonNull::new(ptr as *mut u8).is_some_and(|p| self.zone.deallocate(p, layout).is_ok())
    }
}
