//! Page allocators for the checker's allocator factory: kmem's zone policy over a chosen
//! free-block mechanism, and a zone policy with a bug of its own.

use kmem::gfp::{Gfp, __GFP_DMA, __GFP_HIGH, __GFP_HIGHMEM, __GFP_NOWARN};
use kmem::zone::Zone;
use kmem::{Buddy, PageAllocator};

use super::free_blocks::{Bug, ListBuddy, Pick};

/// kmem's zone policy over [`ListBuddy`] with `pick` and `bug`.
pub fn list_buddy(
    zones: Vec<Zone>,
    reserved: &[(u64, u64)],
    pick: Pick,
    bug: Option<Bug>,
) -> Box<dyn PageAllocator> {
    Box::new(Buddy::with_free_blocks(zones, reserved, |span, runs| {
        ListBuddy::new(span, runs, pick, bug)
    }))
}

/// kmem's zone policy with its alloc() bent by a bug (the rest is kmem's own).
pub struct BentPolicy {
    buddy: Buddy,
    alloc: fn(&mut Buddy, Gfp, u32) -> Option<u64>,
}

impl PageAllocator for BentPolicy {
    fn alloc(&mut self, gfp: Gfp, order: u32) -> Option<u64> {
        (self.alloc)(&mut self.buddy, gfp, order)
    }
    fn free(&mut self, pfn: u64, order: u32) {
        self.buddy.free(pfn, order)
    }
    fn is_free(&self, pfn: u64) -> bool {
        self.buddy.is_free(pfn)
    }
    fn free_block_order(&self, pfn: u64) -> Option<u32> {
        self.buddy.free_block_order(pfn)
    }
    fn zones(&self) -> &[Zone] {
        self.buddy.zones()
    }
    fn nr_free(&self, zone: usize, order: u32) -> u64 {
        self.buddy.nr_free(zone, order)
    }
    fn free_pages(&self, zone: usize) -> u64 {
        self.buddy.free_pages(zone)
    }
}

/// A zone policy whose zonelist ignores __GFP_DMA: DMA requests are served from the zones
/// above ZONE_DMA.
pub fn ignores_zone_dma(buddy: Buddy) -> BentPolicy {
    BentPolicy {
        buddy,
        alloc: |b, gfp, order| b.alloc(gfp & !__GFP_DMA, order),
    }
}

/// A zone policy whose zonelist tries lowmem before HighMem: a __GFP_HIGHMEM request takes
/// a lowmem block while one is above its watermark. Every block still comes from a zone the
/// mask allows, above its watermark: caught only because the oracle predicts the zone.
pub fn lowmem_first(buddy: Buddy) -> BentPolicy {
    BentPolicy {
        buddy,
        alloc: |b, gfp, order| {
            if gfp & __GFP_HIGHMEM != 0 {
                if let Some(pfn) = b.alloc(gfp & !__GFP_HIGHMEM, order) {
                    return Some(pfn);
                }
            }
            b.alloc(gfp, order)
        },
    }
}

/// A zone policy that lets a quiet single-page request (__GFP_NOWARN, order 0: how
/// vmalloc takes its pages) dip into the min watermark's reserve as __GFP_HIGH would.
pub fn quiet_pages_dip_into_reserves(buddy: Buddy) -> BentPolicy {
    BentPolicy {
        buddy,
        alloc: |b, gfp, order| {
            if order == 0 && gfp & __GFP_NOWARN != 0 {
                return b.alloc(gfp | __GFP_HIGH, 0);
            }
            b.alloc(gfp, order)
        },
    }
}

/// A broken page allocator by name: a broken free-block mechanism beneath kmem's zone policy,
/// or the broken zone policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokenBuddy {
    Mechanism(Bug),
    IgnoresZoneDma,
}

impl BrokenBuddy {
    pub fn build(self, zones: Vec<Zone>, reserved: &[(u64, u64)]) -> Box<dyn PageAllocator> {
        match self {
            BrokenBuddy::Mechanism(bug) => list_buddy(zones, reserved, Pick::Lowest, Some(bug)),
            BrokenBuddy::IgnoresZoneDma => Box::new(ignores_zone_dma(Buddy::new(zones, reserved))),
        }
    }
}
