//! The buddy page allocator, per zone: free lists for orders 0..=MAX_PAGE_ORDER, splitting
//! on allocation (expand()) and coalescing on free (__free_one_page()), with the zone
//! fallback and watermark checks of get_page_from_freelist().
//!
//! Free lists are ordered sets of head pfns and hand out the lowest block first, so runs are
//! deterministic (Linux takes the list head; which free block comes back is not part of the
//! API). Memory boot left untouched is kept as runs of MAX_PAGE_ORDER blocks that are split
//! off on demand, so a 4 GiB zone costs no more to set up than a 16 MiB one.
//!
//! Each free list is a hierarchical bitmap over the zone's block indices (see [`IndexSet`]):
//! insert, remove, membership and "lowest" are a few word operations, and bitmap memory is
//! spent only where blocks have been freed.

use std::collections::BTreeSet;

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
/// surround it (context, poisoning, page state); an implementation only manages free blocks.
/// Deliberately broken implementations and other people's allocators plug in here.
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
}

/// Bugs the tests inject to prove the harness finds them. All off in a real machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuddyFaults {
    /// __free_one_page() never coalesces.
    pub no_merge: bool,
    /// expand() files the upper half one order too high.
    pub split_off_by_one: bool,
    /// A merge that reaches MAX_PAGE_ORDER drops the block.
    pub lose_top_merge: bool,
    /// Order-1 allocations leave the block on its free list (handed out twice).
    pub double_handout: bool,
    /// The zonelist ignores __GFP_DMA.
    pub ignore_zone_dma: bool,
}

/// Keys per chunk of an [`IndexSet`]: 64 words of 64 bits.
const CHUNK_SHIFT: u32 = 12;

/// 64 leaf words and a bit per non-zero word.
#[derive(Clone, Debug)]
struct Chunk {
    summary: u64,
    words: [u64; 64],
}

/// An ordered set of integer keys below a bound fixed at creation: a bit per key in chunks
/// of 4096 keys, materialised on first insert, under summary levels with a bit per
/// non-empty chunk (level 0) and per non-zero word of the level below (levels 1..); the last
/// level is a single word. Insert and remove touch one bit per level they change, the
/// lowest key is one trailing_zeros per level.
#[derive(Clone, Debug)]
struct IndexSet {
    chunks: Vec<Option<Box<Chunk>>>,
    /// The words of every summary level, level 0 first; level l starts at `start[l]`.
    summary: Vec<u64>,
    start: [u32; MAX_LEVELS],
    levels: usize,
}

/// Summary levels enough for any u64 key: 2^52 chunks need ceil(52 / 6) levels.
const MAX_LEVELS: usize = 9;

impl IndexSet {
    fn new(cap: u64) -> Self {
        let mut start = [0u32; MAX_LEVELS];
        let mut n = cap.div_ceil(1 << CHUNK_SHIFT).div_ceil(64).max(1);
        let mut total = 0u64;
        let mut levels = 0;
        loop {
            start[levels] = u32::try_from(total).expect("summary size");
            total += n;
            levels += 1;
            if n == 1 {
                break;
            }
            n = n.div_ceil(64);
        }
        IndexSet {
            chunks: vec![],
            summary: vec![0; total as usize],
            start,
            levels,
        }
    }

    #[inline]
    fn split(k: u64) -> (usize, usize, u64) {
        (
            (k >> CHUNK_SHIFT) as usize,
            ((k >> 6) & 63) as usize,
            1u64 << (k & 63),
        )
    }

    /// Marks chunk `c` non-empty in the summary levels.
    #[inline]
    fn summary_set(&mut self, mut i: usize) {
        for l in 0..self.levels {
            let x = &mut self.summary[self.start[l] as usize + (i >> 6)];
            let was = *x;
            *x = was | 1 << (i & 63);
            if was != 0 {
                break;
            }
            i >>= 6;
        }
    }

    /// Marks chunk `c` empty in the summary levels.
    #[inline]
    fn summary_clear(&mut self, mut i: usize) {
        for l in 0..self.levels {
            let x = &mut self.summary[self.start[l] as usize + (i >> 6)];
            *x &= !(1 << (i & 63));
            if *x != 0 {
                break;
            }
            i >>= 6;
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.summary[self.start[self.levels - 1] as usize] == 0
    }

    /// The lowest non-empty chunk.
    #[inline]
    fn first_chunk(&self) -> Option<usize> {
        let top = self.summary[self.start[self.levels - 1] as usize];
        if top == 0 {
            return None;
        }
        let mut i = top.trailing_zeros() as usize;
        for l in (0..self.levels - 1).rev() {
            i = i << 6 | self.summary[self.start[l] as usize + i].trailing_zeros() as usize;
        }
        Some(i)
    }

    /// Adds `k` (below the bound); false if it was there.
    #[inline]
    fn insert(&mut self, k: u64) -> bool {
        let (c, w, bit) = Self::split(k);
        if c >= self.chunks.len() {
            self.chunks.resize_with(c + 1, || None);
        }
        let ch = self.chunks[c].get_or_insert_with(|| {
            Box::new(Chunk {
                summary: 0,
                words: [0; 64],
            })
        });
        let word = ch.words[w];
        if word & bit != 0 {
            return false;
        }
        ch.words[w] = word | bit;
        if word == 0 {
            let was = ch.summary;
            ch.summary = was | 1 << w;
            if was == 0 {
                self.summary_set(c);
            }
        }
        true
    }

    /// Takes `k` out; false if it was not there.
    #[inline]
    fn remove(&mut self, k: u64) -> bool {
        let (c, w, bit) = Self::split(k);
        let Some(Some(ch)) = self.chunks.get_mut(c) else {
            return false;
        };
        let word = ch.words[w];
        if word & bit == 0 {
            return false;
        }
        ch.words[w] = word & !bit;
        if word == bit {
            ch.summary &= !(1 << w);
            if ch.summary == 0 {
                self.summary_clear(c);
            }
        }
        true
    }

    #[inline]
    fn contains(&self, k: u64) -> bool {
        let (c, w, bit) = Self::split(k);
        matches!(self.chunks.get(c), Some(Some(ch)) if ch.words[w] & bit != 0)
    }

    /// The lowest key.
    #[inline]
    fn first(&self) -> Option<u64> {
        let c = self.first_chunk()?;
        let ch = self.chunks[c].as_ref()?;
        let w = ch.summary.trailing_zeros() as usize;
        let b = ch.words[w].trailing_zeros() as u64;
        Some((c as u64) << CHUNK_SHIFT | (w as u64) << 6 | b)
    }

    /// Takes the lowest key out.
    #[inline]
    fn pop_first(&mut self) -> Option<u64> {
        let c = self.first_chunk()?;
        let ch = self.chunks[c].as_mut()?;
        let w = ch.summary.trailing_zeros() as usize;
        let word = ch.words[w];
        let b = word.trailing_zeros() as u64;
        ch.words[w] = word & (word - 1);
        if word & (word - 1) == 0 {
            ch.summary &= !(1 << w);
            if ch.summary == 0 {
                self.summary_clear(c);
            }
        }
        Some((c as u64) << CHUNK_SHIFT | (w as u64) << 6 | b)
    }

    /// Every key, ascending.
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.chunks
            .iter()
            .enumerate()
            .filter_map(|(c, ch)| ch.as_ref().map(|ch| (c, ch)))
            .flat_map(|(c, ch)| {
                ch.words.iter().enumerate().flat_map(move |(w, &word)| {
                    let base = (c as u64) << CHUNK_SHIFT | (w as u64) << 6;
                    let mut x = word;
                    std::iter::from_fn(move || {
                        (x != 0).then(|| {
                            let b = x.trailing_zeros() as u64;
                            x &= x - 1;
                            base | b
                        })
                    })
                })
            })
    }
}

/// The free list of one order of one zone: a set of head pfns.
#[derive(Clone, Debug)]
struct FreeArea {
    /// Aligned heads inside the zone, as indices: pfn = base + (index << order).
    index: IndexSet,
    /// The zone's first pfn rounded down to MAX_PAGE_ORDER alignment.
    base: u64,
    order: u32,
    /// The bound of `index`.
    cap: u64,
    /// Heads that have no index (misaligned, or outside the zone: only injected faults and
    /// misuse of the trait produce them), kept as they are.
    odd: BTreeSet<u64>,
}

impl FreeArea {
    fn new(span: &ZoneSpan, order: u32) -> Self {
        let base = span.start_pfn & !(MAX_BLOCK - 1);
        let cap = span.end_pfn.saturating_sub(base).div_ceil(1 << order);
        FreeArea {
            index: IndexSet::new(cap),
            base,
            order,
            cap,
            odd: BTreeSet::new(),
        }
    }

    #[inline]
    fn key(&self, pfn: u64) -> Option<u64> {
        let rel = pfn.checked_sub(self.base)?;
        let k = rel >> self.order;
        (rel & ((1 << self.order) - 1) == 0 && k < self.cap).then_some(k)
    }

    #[inline]
    fn insert(&mut self, pfn: u64) -> bool {
        match self.key(pfn) {
            Some(k) => self.index.insert(k),
            None => self.insert_odd(pfn),
        }
    }

    #[cold]
    #[inline(never)]
    fn insert_odd(&mut self, pfn: u64) -> bool {
        self.odd.insert(pfn)
    }

    #[inline]
    fn remove(&mut self, pfn: u64) -> bool {
        match self.key(pfn) {
            Some(k) => self.index.remove(k),
            None => self.remove_odd(pfn),
        }
    }

    #[cold]
    #[inline(never)]
    fn remove_odd(&mut self, pfn: u64) -> bool {
        self.odd.remove(&pfn)
    }

    #[inline]
    fn contains(&self, pfn: u64) -> bool {
        match self.key(pfn) {
            Some(k) => self.index.contains(k),
            None => !self.odd.is_empty() && self.contains_odd(pfn),
        }
    }

    #[cold]
    #[inline(never)]
    fn contains_odd(&self, pfn: u64) -> bool {
        self.odd.contains(&pfn)
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.index.is_empty() && self.odd.is_empty()
    }

    /// The lowest head.
    #[inline]
    fn first(&self) -> Option<u64> {
        let indexed = self.index.first().map(|k| self.base + (k << self.order));
        if self.odd.is_empty() {
            return indexed;
        }
        match (indexed, self.odd.first()) {
            (Some(a), Some(&b)) => Some(a.min(b)),
            (a, b) => a.or(b.copied()),
        }
    }

    /// Takes the lowest head out.
    #[inline]
    fn pop_first(&mut self) -> Option<u64> {
        if self.odd.is_empty() {
            return self
                .index
                .pop_first()
                .map(|k| self.base + (k << self.order));
        }
        let pfn = self.first()?;
        self.remove(pfn);
        Some(pfn)
    }

    /// Every head, unordered.
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.index
            .iter()
            .map(|k| self.base + (k << self.order))
            .chain(self.odd.iter().copied())
    }
}

#[derive(Clone, Debug)]
struct ZoneFree {
    area: [FreeArea; NR_PAGE_ORDERS],
    /// Untouched memory: [start, end) pfn runs made of whole MAX_PAGE_ORDER blocks.
    fresh: Vec<(u64, u64)>,
    nr_free: [u64; NR_PAGE_ORDERS],
    free_pages: u64,
    /// Bit o set iff take(o) finds a block: area[o] is non-empty (or o is MAX_PAGE_ORDER
    /// and untouched runs remain). Lets rmqueue skip empty orders without looking.
    listed: u32,
}

const MAX_BLOCK: u64 = 1 << MAX_PAGE_ORDER;

impl ZoneFree {
    fn new(span: &ZoneSpan) -> Self {
        ZoneFree {
            area: std::array::from_fn(|o| FreeArea::new(span, o as u32)),
            fresh: vec![],
            nr_free: [0; NR_PAGE_ORDERS],
            free_pages: 0,
            listed: 0,
        }
    }

    /// Recomputes bit `order` of `listed` after a block left the list.
    #[inline]
    fn relist(&mut self, order: u32) {
        let full = !self.area[order as usize].is_empty()
            || (order == MAX_PAGE_ORDER && !self.fresh.is_empty());
        self.listed = self.listed & !(1 << order) | (full as u32) << order;
    }

    #[inline]
    fn insert(&mut self, pfn: u64, order: u32) {
        self.area[order as usize].insert(pfn);
        self.listed |= 1 << order;
        self.nr_free[order as usize] += 1;
        self.free_pages += 1 << order;
    }

    #[inline]
    fn remove(&mut self, pfn: u64, order: u32) -> bool {
        let removed = self.area[order as usize].remove(pfn);
        if removed {
            self.relist(order);
            self.nr_free[order as usize] -= 1;
            self.free_pages -= 1 << order;
        }
        removed
    }

    /// The lowest free block of exactly `order`, taken off its list.
    fn take(&mut self, order: u32) -> Option<u64> {
        if order == MAX_PAGE_ORDER {
            if let Some(f) = self.fresh.first().map(|r| r.0) {
                if self.area[order as usize].first().is_none_or(|l| f < l) {
                    let r = &mut self.fresh[0];
                    r.0 += MAX_BLOCK;
                    if r.0 >= r.1 {
                        self.fresh.remove(0);
                        self.relist(order);
                    }
                    self.nr_free[order as usize] -= 1;
                    self.free_pages -= MAX_BLOCK;
                    return Some(f);
                }
            }
        }
        let pfn = self.area[order as usize].pop_first()?;
        self.relist(order);
        self.nr_free[order as usize] -= 1;
        self.free_pages -= 1 << order;
        Some(pfn)
    }

    /// The order of the free block headed at `pfn`, from the free lists themselves.
    fn head_order(&self, pfn: u64) -> Option<u32> {
        if pfn.is_multiple_of(MAX_BLOCK) && self.fresh.iter().any(|&(s, e)| pfn >= s && pfn < e) {
            return Some(MAX_PAGE_ORDER);
        }
        (0..NR_PAGE_ORDERS)
            .find(|&o| pfn & ((1u64 << o) - 1) == 0 && self.area[o].contains(pfn))
            .map(|o| o as u32)
    }

    fn contains_free(&self, pfn: u64) -> bool {
        if self.fresh.iter().any(|&(s, e)| pfn >= s && pfn < e) {
            return true;
        }
        // The head of order o over `pfn` is pfn & !(2^o - 1); every area shares the same
        // MAX_PAGE_ORDER-aligned base, so its index is (pfn - base) >> o.
        let Some(rel) = self.area.first().and_then(|a| pfn.checked_sub(a.base)) else {
            return (0..NR_PAGE_ORDERS).any(|o| self.area[o].contains(pfn & !((1u64 << o) - 1)));
        };
        self.area.iter().enumerate().any(|(o, a)| {
            let k = rel >> o;
            (k < a.cap && a.index.contains(k))
                || (!a.odd.is_empty() && a.contains_odd(pfn & !((1u64 << o) - 1)))
        })
    }
}

/// The zoned buddy allocator of a machine.
#[derive(Clone, Debug)]
pub struct Buddy {
    zones: Vec<Zone>,
    free: Vec<ZoneFree>,
    /// highest_zoneidx() for each combination of the zone modifiers (see [`zone_bits`]):
    /// the zones never change, so the zonelist top is computed once.
    highest: [usize; 8],
    pub faults: BuddyFaults,
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

impl Buddy {
    /// Hands every page of every zone that boot did not reserve to the buddy
    /// (memblock_free_all()), in maximal naturally aligned blocks.
    pub fn new(zones: Vec<Zone>, reserved: &[(u64, u64)]) -> Buddy {
        let mut free = Vec::with_capacity(zones.len());
        for z in &zones {
            let mut zf = ZoneFree::new(&z.span);
            // The zone's unreserved runs.
            let mut runs = vec![(z.span.start_pfn, z.span.end_pfn)];
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
            for (s, e) in runs {
                add_run(&mut zf, s, e);
            }
            free.push(zf);
        }
        // gfp_zone(), and so highest_zoneidx(), depends on these three bits only.
        let highest = std::array::from_fn(|bits| highest_zoneidx(&zones, zone_mask(bits)));
        Buddy {
            zones,
            free,
            highest,
            faults: BuddyFaults::default(),
        }
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
        let free_pages = zf.free_pages as i64 - ((1i64 << order) - 1);
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
        order == 0 || (order as usize..NR_PAGE_ORDERS).any(|o| zf.nr_free[o] > 0)
    }

    /// __rmqueue_smallest() and expand().
    fn rmqueue(&mut self, zi: usize, order: u32) -> Option<u64> {
        let faults = self.faults;
        let zf = &mut self.free[zi];
        // The first order from `order` up whose list has a block (take() of an empty list
        // changes nothing, so skipping those is the same as trying them).
        let avail = zf.listed >> order;
        if avail == 0 {
            return None;
        }
        let mut cur = order + avail.trailing_zeros();
        let pfn = zf.take(cur)?;
        if faults.double_handout && order == 1 {
            zf.insert(pfn, order);
        }
        while cur > order {
            cur -= 1;
            let high = pfn + (1 << cur);
            let filed = if faults.split_off_by_one {
                cur + 1
            } else {
                cur
            };
            zf.insert(high, filed.min(MAX_PAGE_ORDER));
        }
        Some(pfn)
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
        let gfp = if self.faults.ignore_zone_dma {
            gfp & !__GFP_DMA
        } else {
            gfp
        };
        let highest = self.highest[zone_bits(gfp)];
        for zi in (0..=highest).rev() {
            let z = &self.zones[zi];
            let mark = if low { z.wmark_low } else { z.wmark_min };
            if alloc_flags & ALLOC_NO_WATERMARKS == 0
                && !self.watermark_ok(zi, order, mark, highest, alloc_flags)
            {
                continue;
            }
            if let Some(pfn) = self.rmqueue(zi, order) {
                return Some(pfn);
            }
        }
        None
    }
}

/// Adds [s, e) as maximal naturally aligned free blocks, keeping whole MAX_PAGE_ORDER blocks
/// as one untouched run.
fn add_run(zf: &mut ZoneFree, mut s: u64, e: u64) {
    let mid_start = s.next_multiple_of(MAX_BLOCK);
    let mid_end = e & !(MAX_BLOCK - 1);
    if mid_start < mid_end {
        add_small(zf, s, mid_start);
        zf.fresh.push((mid_start, mid_end));
        zf.listed |= 1 << MAX_PAGE_ORDER;
        let n = (mid_end - mid_start) / MAX_BLOCK;
        zf.nr_free[MAX_PAGE_ORDER as usize] += n;
        zf.free_pages += n * MAX_BLOCK;
        s = mid_end;
    }
    add_small(zf, s, e);
}

fn add_small(zf: &mut ZoneFree, mut s: u64, e: u64) {
    while s < e {
        let mut order = MAX_PAGE_ORDER;
        while order > 0 && (s & ((1 << order) - 1) != 0 || s + (1 << order) > e) {
            order -= 1;
        }
        zf.insert(s, order);
        s += 1 << order;
    }
}

impl PageAllocator for Buddy {
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
        let faults = self.faults;
        let zf = &mut self.free[zi];
        let (mut pfn, mut order) = (pfn, order.min(MAX_PAGE_ORDER));
        while order < MAX_PAGE_ORDER && !faults.no_merge {
            let buddy = pfn ^ (1 << order);
            if !zf.remove(buddy, order) {
                break;
            }
            pfn &= buddy;
            order += 1;
        }
        if faults.lose_top_merge && order == MAX_PAGE_ORDER {
            return;
        }
        zf.insert(pfn, order);
    }

    fn is_free(&self, pfn: u64) -> bool {
        self.zone_of(pfn)
            .is_some_and(|zi| self.free[zi].contains_free(pfn))
    }

    fn free_block_order(&self, pfn: u64) -> Option<u32> {
        self.zone_of(pfn)
            .and_then(|zi| self.free[zi].head_order(pfn))
    }

    fn zones(&self) -> &[Zone] {
        &self.zones
    }

    fn nr_free(&self, zone: usize, order: u32) -> u64 {
        self.free
            .get(zone)
            .map_or(0, |z| z.nr_free.get(order as usize).copied().unwrap_or(0))
    }

    fn free_pages(&self, zone: usize) -> u64 {
        self.free.get(zone).map_or(0, |z| z.free_pages)
    }
}

impl Buddy {
    /// Every free block as (zone, head pfn, order), untouched runs expanded: for tests and
    /// invariant checks (costs what the free memory is).
    pub fn free_blocks(&self) -> Vec<(usize, u64, u32)> {
        let mut out = vec![];
        for (zi, zf) in self.free.iter().enumerate() {
            for (o, a) in zf.area.iter().enumerate() {
                out.extend(a.iter().map(|p| (zi, p, o as u32)));
            }
            for &(s, e) in &zf.fresh {
                out.extend(
                    (s..e)
                        .step_by(MAX_BLOCK as usize)
                        .map(|p| (zi, p, MAX_PAGE_ORDER)),
                );
            }
        }
        out.sort_unstable();
        out
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
