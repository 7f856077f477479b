//! Elements going back (mm/mempool.c): mempool_free() into the reserve while it holds
//! fewer than `min` elements, else to the allocator; mempool_destroy() freeing the reserve;
//! and the reports of the caches whose objects those frees check.

use kmem_vocab::slab_flags::*;
use kmem_vocab::ReportKind;

use super::super::pages::PageModel;
use super::super::slab::{SlabModel, St};
use super::super::{Judgement, MisuseKind as M};
use super::{set_page_element_client, traffic, PageGone, PoolKind};

impl SlabModel {
    /// Whether element `e` of a pool of `kind`, which the pool handed out, is no longer the
    /// client's in its allocator: its slab slot freed, its slab gone, its large kmalloc block
    /// freed, a page pool's pages freed (what `Model::mempool_before_events` found of them
    /// before the statement: `page_gone`).
    fn freed_behind_the_pool(&self, pages: &PageModel, kind: PoolKind, e: u64) -> bool {
        match kind {
            PoolKind::Kmalloc(0) => false,
            PoolKind::Page(_) => self.mempool.page_gone.is_some(),
            PoolKind::Slab(_) | PoolKind::Kmalloc(_) => match self.slab_of(pages, e) {
                Some((head, slab)) => self.slot_of_object(head, &slab, e).is_some_and(|slot| {
                    matches!(self.state(slab.cache, slot), St::Freed | St::Untouched)
                }),
                None => matches!(kind, PoolKind::Slab(_)) || !self.kmalloc.large.contains_key(&e),
            },
        }
    }

    pub fn pool_free(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        e: u64,
        h: u64,
        events: &[kmem_vocab::PageEvent],
    ) {
        if e == 0 {
            return;
        }
        if !self.pool_live(j, h) {
            return;
        }
        let Some(pool) = self.mempool.pools.get(&h).cloned() else {
            return;
        };
        if !pool.out.contains_key(&e) {
            j.misuse(
                M::Report(ReportKind::MempoolMisuse),
                Some(ReportKind::MempoolMisuse),
            );
            return;
        }
        if let Some(p) = self.mempool.pools.get_mut(&h) {
            if let Some(n) = p.out.get_mut(&e) {
                *n -= 1;
                if *n == 0 {
                    p.out.remove(&e);
                }
            }
        }
        let to_reserve = pool.reserve.len() < pool.min as usize;
        // An element the client already freed to its allocator (kmem_cache_free(), kfree()
        // or __free_pages() of what the pool handed out): Linux's mempool_free() checks
        // nothing, and once the freed element is in the reserve (surely, or maybe when the
        // reserve's size is unknown) the pool may hand it out while the allocator hands it
        // out too. No report says so; what follows is not predictable.
        let may_reserve = to_reserve || !(pool.exact || matches!(pool.kind, PoolKind::Page(_)));
        if may_reserve && self.freed_behind_the_pool(pages, pool.kind, e) {
            self.taint_next = true;
        }
        if let (PoolKind::Page(o), None) = (pool.kind, self.mempool.page_gone) {
            traffic::free(j, pages, o, e, to_reserve, pool.reserve.len(), events);
        }
        if to_reserve {
            if let Some(p) = self.mempool.pools.get_mut(&h) {
                p.reserve.push(Some(e));
            }
            self.put_in_reserve(pages, pool.kind, e);
            return;
        }
        if pool.exact || matches!(pool.kind, PoolKind::Page(_)) {
            self.underlying_free(j, pages, pool.kind, e);
            return;
        }
        // The reserve's size is unknown, so the machine's may be short of `min`: the element
        // goes back to the allocator (its free checks run) or into the reserve (none run).
        let expected = j.expect.len();
        self.underlying_free(j, pages, pool.kind, e);
        let maybe: Vec<ReportKind> = j.expect.drain(expected..).collect();
        j.allow.extend(maybe);
        if let Some((head, slab)) = self.slab_of(pages, e) {
            if let Some(slot) = self.slot_of_object(head, &slab, e) {
                let s = self.slot_mut(slot);
                s.st = St::Unknown;
                // Bytes the client dirtied outside the object stay so in the reserve (mempool
                // poisons only the object) and in the allocator: which checks see them is
                // no longer known.
                let lost = !s.dirty.is_empty();
                s.dirty = Default::default();
                self.taint_next |= lost;
            }
        }
        let size = self.elem_size(pool.kind);
        self.shadow(pages, e, size, None);
    }

    pub(crate) fn put_in_reserve(&mut self, pages: &mut PageModel, kind: PoolKind, e: u64) {
        let size = self.elem_size(kind);
        if let PoolKind::Page(o) = kind {
            set_page_element_client(pages, e, false);
            self.reserve_page_put(pages, e, o);
            return;
        }
        if let Some((head, slab)) = self.slab_of(pages, e) {
            if let Some(slot) = self.slot_of_object(head, &slab, e) {
                let s = self.slot_mut(slot);
                if let St::Live { orig, .. } = s.st {
                    s.st = St::Live {
                        req: 0,
                        orig,
                        client: false,
                    };
                }
                s.pool_dirty = false;
            }
        }
        self.shadow(pages, e, size, None);
    }

    pub(crate) fn underlying_free(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        kind: PoolKind,
        e: u64,
    ) {
        match kind {
            PoolKind::Kmalloc(_) => self.kfree(j, pages, e),
            PoolKind::Slab(id) => self.free(j, pages, Some(id), e),
            PoolKind::Page(o) => {
                if let Some(pfn) = pages.facts.pfn_of_page(e) {
                    if let Some(b) = pages.blocks.get_mut(pfn) {
                        if b.order == o {
                            b.client = false;
                        }
                    }
                    // The client freed the page behind the pool's back: __free_pages() of a
                    // free page, or of pages someone else holds now.
                    match self.mempool.page_gone {
                        Some(PageGone::Report(r)) => j.misuse(M::Report(r), Some(r)),
                        Some(PageGone::Foreign) => {
                            j.misuse(M::Report(ReportKind::InvalidFree), None);
                            j.allow.push(ReportKind::InvalidFree);
                            self.taint_next = true;
                        }
                        None => {}
                    }
                }
            }
        }
    }

    pub fn pool_destroy(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        h: u64,
        events: &[kmem_vocab::PageEvent],
    ) {
        if h == 0 {
            return;
        }
        if !self.pool_live(j, h) {
            return;
        }
        let Some(pool) = self.mempool.pools.remove(&h) else {
            return;
        };
        if !pool.out.is_empty() {
            j.misuse(
                M::Report(ReportKind::MempoolMisuse),
                Some(ReportKind::MempoolMisuse),
            );
        }
        if let PoolKind::Page(o) = pool.kind {
            traffic::destroyed(j, pages, o, &pool.reserve, events);
        }
        let size = self.elem_size(pool.kind);
        for e in pool.reserve.iter().rev().flatten() {
            // remove_element() checks the poison, then the element is freed.
            self.take_from_reserve(j, pages, pool.kind, *e, size);
            self.underlying_free(j, pages, pool.kind, *e);
        }
        if pool.reserve.contains(&None) {
            // Elements the oracle did not see (a kmalloc pool's may come from any kmalloc
            // cache of its size class) are freed and checked now: their slabs' reports are
            // allowed.
            self.allow_pool_caches(j, pool.kind, true);
        }
        if !pool.exact {
            // Elements the oracle let go as freed may still be in the reserve, and are
            // freed (and checked) now.
            self.allow_pool_caches(j, pool.kind, false);
        }
        // mempool_exit() kfree()s the element array and mempool_destroy() the pool itself:
        // kmalloc objects the oracle does not follow, whose slabs (and their padding) SLUB's
        // free checks look at.
        self.allow_kmalloc_caches(j, true);
    }

    /// Allows the reports of every cache an element of a pool of `kind` may come from (with
    /// `checked`, only of those whose frees run SLUB's consistency checks).
    fn allow_pool_caches(&self, j: &mut Judgement, kind: PoolKind, checked: bool) {
        match kind {
            PoolKind::Kmalloc(_) => self.allow_kmalloc_caches(j, checked),
            PoolKind::Slab(id) => {
                if !checked || self.caches[id].has(SLAB_CONSISTENCY_CHECKS) {
                    self.allow_cache(j, id);
                }
            }
            PoolKind::Page(_) => {}
        }
    }

    /// Allows the reports of every kmalloc cache (with `checked`, only of those whose frees
    /// run SLUB's consistency checks).
    pub(super) fn allow_kmalloc_caches(&self, j: &mut Judgement, checked: bool) {
        for &id in self.kmalloc.ids.values() {
            if !checked || self.caches[id].has(SLAB_CONSISTENCY_CHECKS) {
                self.allow_cache(j, id);
            }
        }
    }
}
