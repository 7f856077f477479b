//! kmem's free-block mechanism of one zone: the free lists of zone->free_area[] and the
//! buddy rules that keep them (split on allocation, coalesce on free).
//!
//! Each free list is a hierarchical bitmap over the zone's block indices (see
//! [`IndexSet`]): insert, remove, membership and "lowest" are a few word operations, and
//! bitmap memory is spent only where blocks have been freed.

use std::collections::BTreeSet;

use super::index_set::IndexSet;
use super::FreeBlocks;
use crate::layout::ZoneSpan;
use crate::{MAX_PAGE_ORDER, NR_PAGE_ORDERS};

/// The free list of one order of one zone (zone->free_area[order]): a set of head pfns.
#[derive(Clone, Debug)]
struct FreeList {
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

impl FreeList {
    fn new(span: &ZoneSpan, order: u32) -> Self {
        let base = span.start_pfn & !(MAX_BLOCK - 1);
        let cap = span.end_pfn.saturating_sub(base).div_ceil(1 << order);
        FreeList {
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

/// kmem's free-block mechanism for one zone: zone->free_area[] with Linux's buddy rules,
/// __rmqueue_smallest() and expand() to take a block, __free_one_page() to give one back and
/// merge it with its free buddies.
///
/// Free lists are ordered sets of head pfns and hand out the lowest block first, so runs are
/// deterministic (Linux takes the list head; which free block comes back is not part of the
/// API). Memory boot left untouched is kept as runs of MAX_PAGE_ORDER blocks that are split
/// off on demand, so a 4 GiB zone costs no more to set up than a 16 MiB one.
#[derive(Clone, Debug)]
pub struct FreeAreas {
    area: [FreeList; NR_PAGE_ORDERS],
    /// Untouched memory: [start, end) pfn runs made of whole MAX_PAGE_ORDER blocks.
    fresh: Vec<(u64, u64)>,
    nr_free: [u64; NR_PAGE_ORDERS],
    free_pages: u64,
    /// Bit o set iff take(o) finds a block: area[o] is non-empty (or o is MAX_PAGE_ORDER
    /// and untouched runs remain). Lets rmqueue skip empty orders without looking.
    listed: u32,
}

const MAX_BLOCK: u64 = 1 << MAX_PAGE_ORDER;

impl FreeAreas {
    fn empty(span: &ZoneSpan) -> Self {
        FreeAreas {
            area: std::array::from_fn(|o| FreeList::new(span, o as u32)),
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
    fn take_exact(&mut self, order: u32) -> Option<u64> {
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

impl FreeAreas {
    /// Hands the zone's free runs to the buddy (memblock_free_all()), in maximal naturally
    /// aligned blocks.
    pub fn new(span: &ZoneSpan, free: &[(u64, u64)]) -> FreeAreas {
        let mut zf = FreeAreas::empty(span);
        for &(s, e) in free {
            add_run(&mut zf, s, e);
        }
        zf
    }

    /// Every free block as (head pfn, order), untouched runs expanded: for tests and
    /// invariant checks (costs what the free memory is).
    pub fn free_blocks(&self) -> Vec<(u64, u32)> {
        let mut out = vec![];
        for (o, a) in self.area.iter().enumerate() {
            out.extend(a.iter().map(|p| (p, o as u32)));
        }
        for &(s, e) in &self.fresh {
            out.extend(
                (s..e)
                    .step_by(MAX_BLOCK as usize)
                    .map(|p| (p, MAX_PAGE_ORDER)),
            );
        }
        out.sort_unstable();
        out
    }
}

impl FreeBlocks for FreeAreas {
    /// __rmqueue_smallest() and expand().
    #[inline]
    fn take(&mut self, order: u32) -> Option<u64> {
        // The first order from `order` up whose list has a block (take() of an empty list
        // changes nothing, so skipping those is the same as trying them).
        let avail = self.listed.checked_shr(order).unwrap_or(0);
        if avail == 0 {
            return None;
        }
        let mut cur = order + avail.trailing_zeros();
        let pfn = self.take_exact(cur)?;
        while cur > order {
            cur -= 1;
            self.insert(pfn + (1 << cur), cur);
        }
        Some(pfn)
    }

    /// __free_one_page(): merges with the buddy while it is free, up to MAX_PAGE_ORDER.
    #[inline]
    fn give(&mut self, pfn: u64, order: u32) {
        let (mut pfn, mut order) = (pfn, order.min(MAX_PAGE_ORDER));
        while order < MAX_PAGE_ORDER {
            let buddy = pfn ^ (1 << order);
            if !self.remove(buddy, order) {
                break;
            }
            pfn &= buddy;
            order += 1;
        }
        self.insert(pfn, order);
    }

    #[inline]
    fn nr_free(&self, order: u32) -> u64 {
        self.nr_free.get(order as usize).copied().unwrap_or(0)
    }

    #[inline]
    fn free_pages(&self) -> u64 {
        self.free_pages
    }

    #[inline]
    fn has_block_from(&self, order: u32) -> bool {
        self.listed.checked_shr(order).unwrap_or(0) != 0
    }

    fn is_free(&self, pfn: u64) -> bool {
        self.contains_free(pfn)
    }

    fn free_block_order(&self, pfn: u64) -> Option<u32> {
        self.head_order(pfn)
    }
}

/// Adds [s, e) as maximal naturally aligned free blocks, keeping whole MAX_PAGE_ORDER blocks
/// as one untouched run.
fn add_run(zf: &mut FreeAreas, mut s: u64, e: u64) {
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

fn add_small(zf: &mut FreeAreas, mut s: u64, e: u64) {
    while s < e {
        let mut order = MAX_PAGE_ORDER;
        while order > 0 && (s & ((1 << order) - 1) != 0 || s + (1 << order) > e) {
            order -= 1;
        }
        zf.insert(s, order);
        s += 1 << order;
    }
}
