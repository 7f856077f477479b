//! Free-block mechanisms for one zone, written plainly (a sorted set of heads per order) to
//! stand beneath kmem's zone policy in the tests: legal variants that choose differently
//! from kmem's buddy and must pass the checker, and deliberately broken ones that a bounded,
//! seeded run must catch.

use std::collections::BTreeSet;

use kmem::layout::ZoneSpan;
use kmem::{FreeBlocks, MAX_PAGE_ORDER};

/// Which free block of the smallest fitting order `take` hands out. Linux takes the head of
/// the free list, whose order is not part of any contract; both choices are legal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Lowest,
    Highest,
}

/// The bugs this mechanism can be built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    /// give() never coalesces.
    NoMerge,
    /// expand() files the upper half one order too high.
    SplitOffByOne,
    /// A merge that reaches MAX_PAGE_ORDER drops the block.
    LoseTopMerge,
    /// Order-1 blocks stay on their free list when taken (handed out twice).
    DoubleHandout,
}

#[derive(Clone, Debug)]
pub struct ListBuddy {
    lists: Vec<BTreeSet<u64>>,
    free_pages: u64,
    pick: Pick,
    bug: Option<Bug>,
}

impl ListBuddy {
    pub fn new(_span: &ZoneSpan, runs: &[(u64, u64)], pick: Pick, bug: Option<Bug>) -> Self {
        let mut b = ListBuddy {
            lists: vec![BTreeSet::new(); MAX_PAGE_ORDER as usize + 1],
            free_pages: 0,
            pick,
            bug,
        };
        for &(mut s, e) in runs {
            while s < e {
                let mut o = MAX_PAGE_ORDER;
                while o > 0 && (s % (1 << o) != 0 || s + (1 << o) > e) {
                    o -= 1;
                }
                b.put(s, o);
                s += 1 << o;
            }
        }
        b
    }

    fn put(&mut self, pfn: u64, order: u32) {
        if self.lists[order as usize].insert(pfn) {
            self.free_pages += 1 << order;
        }
    }

    fn drop_block(&mut self, pfn: u64, order: u32) -> bool {
        let gone = self.lists[order as usize].remove(&pfn);
        if gone {
            self.free_pages -= 1 << order;
        }
        gone
    }
}

impl FreeBlocks for ListBuddy {
    fn take(&mut self, order: u32) -> Option<u64> {
        let from = (order..=MAX_PAGE_ORDER).find(|&o| !self.lists[o as usize].is_empty())?;
        let list = &self.lists[from as usize];
        let pfn = match self.pick {
            Pick::Lowest => *list.first()?,
            Pick::Highest => *list.last()?,
        };
        if !(self.bug == Some(Bug::DoubleHandout) && from == 1 && order == 1) {
            self.drop_block(pfn, from);
        }
        let mut cur = from;
        while cur > order {
            cur -= 1;
            let filed = if self.bug == Some(Bug::SplitOffByOne) {
                (cur + 1).min(MAX_PAGE_ORDER)
            } else {
                cur
            };
            self.put(pfn + (1 << cur), filed);
        }
        Some(pfn)
    }

    fn give(&mut self, pfn: u64, order: u32) {
        let (mut pfn, mut order) = (pfn, order.min(MAX_PAGE_ORDER));
        while order < MAX_PAGE_ORDER && self.bug != Some(Bug::NoMerge) {
            let buddy = pfn ^ (1 << order);
            if !self.drop_block(buddy, order) {
                break;
            }
            pfn &= buddy;
            order += 1;
        }
        if self.bug == Some(Bug::LoseTopMerge) && order == MAX_PAGE_ORDER {
            return;
        }
        self.put(pfn, order);
    }

    fn nr_free(&self, order: u32) -> u64 {
        self.lists.get(order as usize).map_or(0, |l| l.len() as u64)
    }

    fn free_pages(&self) -> u64 {
        self.free_pages
    }

    fn is_free(&self, pfn: u64) -> bool {
        (0..=MAX_PAGE_ORDER).any(|o| self.lists[o as usize].contains(&(pfn & !((1 << o) - 1))))
    }

    fn free_block_order(&self, pfn: u64) -> Option<u32> {
        (0..=MAX_PAGE_ORDER).find(|&o| self.lists[o as usize].contains(&pfn))
    }
}
