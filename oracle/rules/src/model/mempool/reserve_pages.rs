//! Client writes into a page-pool element while it sits in the reserve (a use after
//! mempool_free()). Linux does not see them then; with mempool poisoning, check_element()
//! finds them when the element leaves the reserve (mempool_alloc() falling back on it, or
//! mempool_destroy()) and reports "mempool element poison mismatch". The oracle follows such
//! writes as it follows those into slab elements (`pool_dirty`): whether a write changed the
//! poison decides whether that report is required.

use super::{PoolKind, SlabModel};
use crate::model::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use crate::model::pages::PageModel;
use crate::model::slab::debug::{POISON_END, POISON_FREE};

/// What the client's writes did to a reserved page element's poison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dirt {
    /// One write changed bytes of the poison: check_element() reports.
    Changed,
    /// Several writes: a later one may have put the poison back; the report may come.
    Unknown,
}

impl SlabModel {
    /// The page-pool element in a reserve whose pages hold `pfn`: the element (its struct
    /// page pointer) and its order.
    pub(crate) fn reserve_page_element(&self, facts: &Facts, pfn: u64) -> Option<(u64, u32)> {
        self.mempool.pools.values().find_map(|p| match p.kind {
            PoolKind::Page(o) => p.reserve.iter().flatten().find_map(|&e| {
                let head = facts.pfn_of_page(e)?;
                (head <= pfn && pfn < head + (1u64 << o)).then_some((e, o))
            }),
            _ => None,
        })
    }

    /// A client write of `len` bytes of `byte` at physical `pa`, inside reserved page
    /// element `e` of order `order`.
    pub(crate) fn reserve_page_write(
        &mut self,
        facts: &Facts,
        (e, order): (u64, u32),
        pa: u64,
        len: u64,
        byte: u8,
    ) {
        if !self.poisoning || len == 0 {
            return;
        }
        let Some(head) = facts.pfn_of_page(e) else {
            return;
        };
        // The poison: POISON_FREE but the last byte, POISON_END.
        let start = pa - (head << PAGE_SHIFT);
        let last = (PAGE_SIZE << order) - 1;
        let end = start + len;
        let changes = (start < last && byte != POISON_FREE)
            || (start <= last && last < end && byte != POISON_END);
        let dirt = &mut self.mempool.page_dirt;
        match dirt.get(&e) {
            Some(_) => {
                dirt.insert(e, Dirt::Unknown);
            }
            None if changes => {
                dirt.insert(e, Dirt::Changed);
            }
            None => {}
        }
    }

    /// What check_element() must say of page element `e` (order `order`) as it leaves the
    /// reserve. With poisoning its bytes are POISON_INUSE after the check; the oracle leaves
    /// them unknown (what page poisoning makes of them once freed is the page rules' own).
    pub(crate) fn reserve_page_taken(
        &mut self,
        pages: &mut PageModel,
        e: u64,
        order: u32,
    ) -> Option<Dirt> {
        if self.poisoning {
            forget_element(pages, e, order);
        }
        self.mempool.page_dirt.remove(&e)
    }

    /// Page element `e` goes into the reserve: with poisoning, poison_element() overwrites
    /// what the client left in it, so those bytes are no longer known (a read of them is a
    /// use after free, its bytes not judged).
    pub(crate) fn reserve_page_put(&mut self, pages: &mut PageModel, e: u64, order: u32) {
        self.mempool.page_dirt.remove(&e);
        if self.poisoning {
            forget_element(pages, e, order);
        }
    }
}

/// Marks the bytes of page element `e` unknown in the page model's shadow.
fn forget_element(pages: &mut PageModel, e: u64, order: u32) {
    let Some(head) = pages.facts.pfn_of_page(e) else {
        return;
    };
    for p in 0..(1u64 << order) {
        pages
            .shadow
            .unknown((head + p) << PAGE_SHIFT, PAGE_SIZE as usize);
    }
}
