//! The page allocator of a machine, in two layers as in Linux:
//!
//! - the zone policy ([`Buddy`]): the zonelist from the highest zone a GFP mask allows down,
//!   the watermark and lowmem_reserve checks of get_page_from_freelist(), the fast path at
//!   the low watermark and the slow path's alloc flags;
//! - beneath it, the free-block mechanism of each zone ([`FreeBlocks`]): kmem's buddy
//!   ([`FreeAreas`]), or any other implementation that keeps a zone's free frames (a
//!   deliberately broken one in the tests, another person's frame allocator as an engine).
//!
//! [`PageAllocator`] is what the machine calls: the policy and the mechanism together.

mod free_area;
mod index_set;

pub use free_area::FreeAreas;

use crate::gfp::*;
use crate::layout::ZoneSpan;
use crate::zone::{highest_zoneidx, Zone};
use crate::{MAX_PAGE_ORDER, NR_PAGE_ORDERS};

/// Allocation flags of mm/internal.h (the subset the model uses).
pub const ALLOC_WMARK_MIN: u32 = 0x00;
pub const ALLOC_WMARK_LOW: u32 = 0x01;
pub const ALLOC_NO_WATERMARKS: u32 = 0x04;
/// ALLOC_MIN_RESERVE is __GFP_HIGH's value, as in Linux.
pub const ALLOC_MIN_RESERVE: u32 = 0x20;
pub const ALLOC_NON_BLOCK: u32 = 0x10;
pub const ALLOC_HIGHATOMIC: u32 = 0x200;
pub const ALLOC_RESERVES: u32 = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC;

/// gfp_to_alloc_flags() for the slow path (Linux 6.6), without reclaim.
pub fn gfp_to_alloc_flags(gfp: Gfp, order: u32) -> u32 {
    let mut f = ALLOC_WMARK_MIN | (gfp & __GFP_HIGH);
    if gfp & __GFP_DIRECT_RECLAIM == 0 && gfp & __GFP_NOMEMALLOC == 0 {
        f |= ALLOC_NON_BLOCK;
        if order > 0 {
            f |= ALLOC_HIGHATOMIC;
        }
    }
    if gfp & __GFP_MEMALLOC != 0 && gfp & __GFP_NOMEMALLOC == 0 {
        f |= ALLOC_NO_WATERMARKS;
    }
    f
}

/// What sits behind the machine's page allocation API. The machine does the checks that
/// surround it (context, poisoning, page state); an implementation manages free blocks and
/// chooses the zone. kmem's [`Buddy`] implements it; an implementation that only keeps free
/// frames plugs in one level lower, as a [`FreeBlocks`].
pub trait PageAllocator {
    /// A naturally aligned block of 2^order pages from the zones `gfp` allows, or None.
    fn alloc(&mut self, gfp: Gfp, order: u32) -> Option<u64>;
    /// Takes back a block the caller got from `alloc` with the same order.
    fn free(&mut self, pfn: u64, order: u32);
    /// Is `pfn` inside a free block?
    fn is_free(&self, pfn: u64) -> bool;
    /// The order of the free block `pfn` heads (PageBuddy and `private`), if it heads one.
    fn free_block_order(&self, pfn: u64) -> Option<u32>;
    /// The zones, with their watermarks.
    fn zones(&self) -> &[Zone];
    /// nr_free of one order of one zone (/proc/buddyinfo).
    fn nr_free(&self, zone: usize, order: u32) -> u64;
    /// Free pages of a zone (NR_FREE_PAGES).
    fn free_pages(&self, zone: usize) -> u64;
    /// nr_free of every order of one zone: its /proc/buddyinfo row.
    fn buddyinfo(&self, zone: usize) -> [u64; NR_PAGE_ORDERS] {
        std::array::from_fn(|o| self.nr_free(zone, o as u32))
    }
}

/// The free-block mechanism of one zone, beneath Linux's zone policy: what zone->free_area[]
/// and the buddy rules provide to get_page_from_freelist() and free_one_page().
///
/// The contract the oracle judges: [`take`](FreeBlocks::take) returns the head pfn of a
/// naturally aligned block of 2^order free pages of this zone that no one holds, or None
/// only when no such block exists; [`give`](FreeBlocks::give) takes back a block `take`
/// handed out with that order; the counts are exact. /proc/buddyinfo is judged exactly only
/// for implementations that coalesce buddies as Linux does (every free block is maximal), so
/// a mechanism with another layout of free memory declares it and is judged by the weaker
/// rule (docs/harness.md).
pub trait FreeBlocks {
    /// A free, naturally aligned block of 2^order pages, taken off the free lists (a larger
    /// block is split as expand() does), or None when there is none.
    fn take(&mut self, order: u32) -> Option<u64>;
    /// Gives back a block `take` returned for the same order.
    fn give(&mut self, pfn: u64, order: u32);
    /// nr_free of one order (/proc/buddyinfo's column).
    fn nr_free(&self, order: u32) -> u64;
    /// Free pages of the zone (NR_FREE_PAGES).
    fn free_pages(&self) -> u64;
    /// Whether `take(k)` can succeed for some k >= `order` (the last test of
    /// __zone_watermark_ok()).
    fn has_block_from(&self, order: u32) -> bool {
        (order..=MAX_PAGE_ORDER).any(|o| self.nr_free(o) > 0)
    }
    /// Is `pfn` inside a free block?
    fn is_free(&self, pfn: u64) -> bool;
    /// The order of the free block `pfn` heads, if it heads one (PageBuddy and page->private).
    fn free_block_order(&self, pfn: u64) -> Option<u32>;
}

impl<F: FreeBlocks + ?Sized> FreeBlocks for Box<F> {
    fn take(&mut self, order: u32) -> Option<u64> {
        (**self).take(order)
    }
    fn give(&mut self, pfn: u64, order: u32) {
        (**self).give(pfn, order)
    }
    fn nr_free(&self, order: u32) -> u64 {
        (**self).nr_free(order)
    }
    fn free_pages(&self) -> u64 {
        (**self).free_pages()
    }
    fn has_block_from(&self, order: u32) -> bool {
        (**self).has_block_from(order)
    }
    fn is_free(&self, pfn: u64) -> bool {
        (**self).is_free(pfn)
    }
    fn free_block_order(&self, pfn: u64) -> Option<u32> {
        (**self).free_block_order(pfn)
    }
}

/// Builds the free-block mechanism of one zone from its span and its free [start, end) pfn
/// runs (what boot did not reserve), as memblock_free_all() hands them over.
pub type FreeBlocksFactory<'a> = &'a dyn Fn(&ZoneSpan, &[(u64, u64)]) -> Box<dyn FreeBlocks>;

/// The zone policy of a machine over one free-block mechanism per zone.
#[derive(Clone, Debug)]
pub struct Buddy<F = FreeAreas> {
    zones: Vec<Zone>,
    free: Vec<F>,
    /// highest_zoneidx() for each combination of the zone modifiers (see [`zone_bits`]):
    /// the zones never change, so the zonelist top is computed once.
    highest: [usize; 8],
}

/// The zone modifiers gfp_zone() looks at, as an index into [`Buddy::highest`].
#[inline]
fn zone_bits(gfp: Gfp) -> usize {
    (gfp & __GFP_DMA != 0) as usize
        | ((gfp & __GFP_DMA32 != 0) as usize) << 1
        | ((gfp & __GFP_HIGHMEM != 0) as usize) << 2
}

/// The mask with the zone modifiers `bits` stands for.
fn zone_mask(bits: usize) -> Gfp {
    [__GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM]
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| bits & 1 << i != 0)
        .fold(0, |m, (_, f)| m | f)
}

/// The unreserved [start, end) runs of a zone, in order.
pub fn free_runs(span: &ZoneSpan, reserved: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut runs = vec![(span.start_pfn, span.end_pfn)];
    for &(rs, re) in reserved {
        runs = runs
            .into_iter()
            .flat_map(|(s, e)| {
                if re <= s || rs >= e {
                    vec![(s, e)]
                } else {
                    [(s, rs.max(s)), (re.min(e), e)]
                        .into_iter()
                        .filter(|r| r.0 < r.1)
                        .collect()
                }
            })
            .collect();
    }
    runs.sort_unstable();
    runs
}

impl Buddy<FreeAreas> {
    /// Hands every page of every zone that boot did not reserve to kmem's buddy
    /// (memblock_free_all()), in maximal naturally aligned blocks.
    pub fn new(zones: Vec<Zone>, reserved: &[(u64, u64)]) -> Buddy {
        Buddy::with_free_blocks(zones, reserved, FreeAreas::new)
    }

    /// Every free block as (zone, head pfn, order), untouched runs expanded: for tests and
    /// invariant checks (costs what the free memory is).
    pub fn free_blocks(&self) -> Vec<(usize, u64, u32)> {
        let mut out = vec![];
        for (zi, zf) in self.free.iter().enumerate() {
            out.extend(zf.free_blocks().into_iter().map(|(p, o)| (zi, p, o)));
        }
        out.sort_unstable();
        out
    }
}

impl Buddy<Box<dyn FreeBlocks>> {
    /// The zone policy over a free-block mechanism that `make` builds for each zone.
    pub fn with_factory(
        zones: Vec<Zone>,
        reserved: &[(u64, u64)],
        make: FreeBlocksFactory<'_>,
    ) -> Self {
        Buddy::with_free_blocks(zones, reserved, make)
    }
}

impl<F: FreeBlocks> Buddy<F> {
    /// The zone policy over the free-block mechanism `make` builds for each zone from its span
    /// and its free runs.
    pub fn with_free_blocks(
        zones: Vec<Zone>,
        reserved: &[(u64, u64)],
        make: impl Fn(&ZoneSpan, &[(u64, u64)]) -> F,
    ) -> Self {
        let free = zones
            .iter()
            .map(|z| make(&z.span, &free_runs(&z.span, reserved)))
            .collect();
        // gfp_zone(), and so highest_zoneidx(), depends on these three bits only.
        let highest = std::array::from_fn(|bits| highest_zoneidx(&zones, zone_mask(bits)));
        Buddy {
            zones,
            free,
            highest,
        }
    }

    /// The free-block mechanism of zone `zi`.
    pub fn free_area(&self, zi: usize) -> &F {
        &self.free[zi]
    }

    fn zone_of(&self, pfn: u64) -> Option<usize> {
        self.zones.iter().position(|z| z.span.contains(pfn))
    }

    /// __zone_watermark_ok().
    pub fn watermark_ok(
        &self,
        zi: usize,
        order: u32,
        mark: u64,
        highest: usize,
        alloc_flags: u32,
    ) -> bool {
        let z = &self.zones[zi];
        let zf = &self.free[zi];
        let mut min = mark as i64;
        let free_pages = zf.free_pages() as i64 - ((1i64 << order) - 1);
        if alloc_flags & ALLOC_RESERVES != 0 && alloc_flags & ALLOC_MIN_RESERVE != 0 {
            min -= min / 2;
            if alloc_flags & ALLOC_NON_BLOCK != 0 {
                min -= min / 4;
            }
        }
        let reserve = z.lowmem_reserve.get(highest).copied().unwrap_or(0) as i64;
        if free_pages <= min + reserve {
            return false;
        }
        order == 0 || zf.has_block_from(order)
    }

    /// get_page_from_freelist(): the zonelist from the highest allowed zone down, each zone
    /// checked against `mark` of its watermarks.
    fn get_page_from_freelist(
        &mut self,
        gfp: Gfp,
        order: u32,
        alloc_flags: u32,
        low: bool,
    ) -> Option<u64> {
        let highest = self.highest[zone_bits(gfp)];
        for zi in (0..=highest).rev() {
            let z = &self.zones[zi];
            let mark = if low { z.wmark_low } else { z.wmark_min };
            if alloc_flags & ALLOC_NO_WATERMARKS == 0
                && !self.watermark_ok(zi, order, mark, highest, alloc_flags)
            {
                continue;
            }
            if let Some(pfn) = self.free[zi].take(order) {
                return Some(pfn);
            }
        }
        None
    }
}

impl<F: FreeBlocks> PageAllocator for Buddy<F> {
    fn alloc(&mut self, gfp: Gfp, order: u32) -> Option<u64> {
        if order > MAX_PAGE_ORDER {
            return None;
        }
        // Fast path at the low watermark, then the slow path's flags at min (no reclaim,
        // no compaction, no OOM killer in this model).
        self.get_page_from_freelist(gfp, order, ALLOC_WMARK_LOW, true)
            .or_else(|| {
                self.get_page_from_freelist(gfp, order, gfp_to_alloc_flags(gfp, order), false)
            })
    }

    fn free(&mut self, pfn: u64, order: u32) {
        let Some(zi) = self.zone_of(pfn) else { return };
        self.free[zi].give(pfn, order.min(MAX_PAGE_ORDER));
    }

    fn is_free(&self, pfn: u64) -> bool {
        self.zone_of(pfn)
            .is_some_and(|zi| self.free[zi].is_free(pfn))
    }

    fn free_block_order(&self, pfn: u64) -> Option<u32> {
        self.zone_of(pfn)
            .and_then(|zi| self.free[zi].free_block_order(pfn))
    }

    fn zones(&self) -> &[Zone] {
        &self.zones
    }

    fn nr_free(&self, zone: usize, order: u32) -> u64 {
        self.free.get(zone).map_or(0, |z| z.nr_free(order))
    }

    // One call for the row (the oracle compares it after every statement), not one per order.
    fn buddyinfo(&self, zone: usize) -> [u64; NR_PAGE_ORDERS] {
        self.free.get(zone).map_or([0; NR_PAGE_ORDERS], |z| {
            std::array::from_fn(|o| z.nr_free(o as u32))
        })
    }

    fn free_pages(&self, zone: usize) -> u64 {
        self.free.get(zone).map_or(0, |z| z.free_pages())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;
    use crate::zone::build_zones;
    use crate::BootConfig;

    #[test]
    fn zonelist_top_table_matches_highest_zoneidx() {
        for words in [
            &["mem=16M"][..],
            &["mem=1G"],
            &["mem=4G"],
            &["arch=x86_64", "mem=1G"],
            &["arch=x86_64", "mem=8G"],
        ] {
            let zones = build_zones(&Layout::new(
                &BootConfig::parse_words(words.iter().copied()).unwrap(),
            ));
            let b = Buddy::new(zones.clone(), &[]);
            for gfp in 0..0x40u32 {
                let gfp = gfp as Gfp | GFP_KERNEL;
                assert_eq!(b.highest[zone_bits(gfp)], highest_zoneidx(&zones, gfp));
            }
        }
    }
}
