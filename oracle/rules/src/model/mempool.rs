//! The mempool rules (mm/mempool.c): a pool's reserve of `min` elements filled at creation
//! and refilled by mempool_free() up to `min`, mempool_alloc() from the allocator first and
//! then from the reserve's top, mempool's own poisoning of reserve elements (checked when an
//! element leaves the reserve), and the misuse Linux reports (a free to the wrong pool, a
//! destroy with elements out). A page pool's page traffic is predicted from its reserve
//! (`mempool/traffic.rs`); elements going back are `mempool/free.rs`.

use std::collections::BTreeMap;

use kmem_vocab::gfp::*;
use kmem_vocab::ReportKind;

use super::context::CtxModel;
use super::facts::{MAX_ORDER, PAGE_SHIFT, PAGE_SIZE};
use super::pages::PageModel;
use super::slab::debug::POISON_INUSE;
use super::slab::{SlabModel, St};
use super::{FailureKind as F, Judgement, MisuseKind as M, Model};
use crate::outcome::{Env, Outcome};
use crate::scenario::Op;

mod free;
mod reserve_pages;
mod traffic;

use reserve_pages::Dirt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Kmalloc(u64),
    Slab(usize),
    Page(u32),
}

#[derive(Clone, Debug)]
pub struct PoolM {
    pub kind: PoolKind,
    pub min: u32,
    /// The reserve, top last; None for an element the oracle never saw.
    pub reserve: Vec<Option<u64>>,
    /// Elements handed out and not given back, with how many times (an address can be
    /// handed out again after the client freed it behind the pool's back, and kmalloc(0)
    /// is always ZERO_SIZE_PTR).
    pub out: BTreeMap<u64, u32>,
    /// Whether the reserve's size is known exactly.
    pub exact: bool,
}

/// What mempool_free() of a page element finds when the client freed the pages behind the
/// pool's back (the page rules, pages/).
#[derive(Clone, Copy, Debug)]
pub(crate) enum PageGone {
    /// The pages are free, or reserved: this report is certain.
    Report(ReportKind),
    /// Another allocator holds them now: __free_pages() drops its reference unreported
    /// (a kmalloc or vmalloc page), or finds a slab page (Bad page state); which one
    /// the oracle does not track, and what follows is unpredictable.
    Foreign,
}

/// mempool's own state: the live pools, and what the statement being judged finds of a page
/// element the client gives back.
#[derive(Clone, Debug, Default)]
pub struct MempoolModel {
    /// Live pools by handle.
    pub pools: BTreeMap<u64, PoolM>,
    /// The page-pool element being freed was free already before the statement ran, or
    /// another allocator holds its pages now: what __free_pages() will find.
    pub(crate) page_gone: Option<PageGone>,
    /// Page elements in a reserve that the client wrote to (reserve_pages.rs).
    pub(crate) page_dirt: BTreeMap<u64, Dirt>,
}

impl SlabModel {
    pub(crate) fn pool_live(&self, j: &mut Judgement, h: u64) -> bool {
        if self.mempool.pools.contains_key(&h) {
            return true;
        }
        j.misuse(
            M::Report(ReportKind::MempoolMisuse),
            Some(ReportKind::MempoolMisuse),
        );
        false
    }

    #[allow(clippy::too_many_arguments)]
    pub fn pool_create(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        min: u32,
        kind: Result<PoolKind, u64>,
        v: u64,
        events: &[kmem_vocab::PageEvent],
    ) {
        let kind = match kind {
            Ok(k) => k,
            Err(h) => match self.by_handle.get(&h) {
                Some(&id) if self.caches[id].alive => PoolKind::Slab(id),
                _ => {
                    self.bad_handle(j, pages, h);
                    return;
                }
            },
        };
        ctx.might_alloc(j, GFP_KERNEL);
        if let PoolKind::Page(o) = kind {
            // alloc_pages() of such an order fails, so the preallocation of a single
            // element does.
            if o > MAX_ORDER && min > 0 && v != 0 {
                j.fail(
                    F::WrongValue,
                    format!("mempool_create_page_pool(min {min}, order {o}) must fail, got {v:#x}"),
                );
                return;
            }
        }
        let kids: Vec<usize> = self.kmalloc.ids.values().copied().collect();
        // The pool's own allocations may run into objects the client corrupted.
        self.allow_kmalloc_caches(j, false);
        if let PoolKind::Slab(id) = kind {
            self.allow_cache(j, id);
        }
        self.kmalloc.exact = false;
        self.make_inexact(pages, &kids);
        if let PoolKind::Slab(id) = kind {
            self.make_inexact(pages, &[id]);
        }
        if v == 0 {
            // The pool, its array and `min` elements: with memory plentiful for blocks of
            // the elements' order (and SLUB's slabs, order 3 at most here), creation cannot
            // fail.
            let elem_order = match kind {
                PoolKind::Page(o) => o,
                PoolKind::Kmalloc(size) => super::kmalloc::get_order(size),
                PoolKind::Slab(id) => super::kmalloc::get_order(u64::from(self.caches[id].l.size)),
            };
            let order = elem_order.max(3);
            let need = 64 + ((u64::from(min) + 1) << order);
            let too_big = matches!(kind, PoolKind::Kmalloc(size) if size > self.kmalloc.max);
            // A slab pool's elements come from its cache's zone (SLAB_CACHE_DMA: ZONE_DMA).
            let gfp = match kind {
                PoolKind::Slab(id) => {
                    GFP_KERNEL | super::slab::grow::allocflags(self.caches[id].flags)
                }
                _ => GFP_KERNEL,
            };
            // The pool and its element array are kmalloc'ed with GFP_KERNEL (slabs of order 3
            // at most), whatever zone the elements come from.
            let own = pages.plentiful(GFP_KERNEL, 3, 64);
            if !too_big && order <= MAX_ORDER && own && pages.plentiful(gfp, order, need) {
                j.fail(
                    F::SpuriousFailure,
                    format!("mempool_create(min {min}) failed with memory to spare"),
                );
            }
            return;
        }
        if let Some((head, slab)) = self.slab_of(pages, v) {
            if let Some(slot) = self.slot_of_object(head, &slab, v) {
                if let St::Live { client: true, .. } = self.state(slab.cache, slot) {
                    j.fail(
                        F::Overlap,
                        format!("mempool_create returned {v:#x}, a live client object"),
                    );
                }
            }
        }
        if self.mempool.pools.contains_key(&v) {
            j.fail(
                F::Overlap,
                format!("mempool_create returned {v:#x}, a live pool"),
            );
        }
        // A page pool's reserve: the blocks creation took last.
        let reserve = match kind {
            PoolKind::Page(o) => traffic::created(j, pages, min, o, events),
            _ => None,
        };
        self.mempool.pools.insert(
            v,
            PoolM {
                kind,
                min,
                reserve: reserve.unwrap_or_else(|| vec![None; min as usize]),
                out: BTreeMap::new(),
                exact: true,
            },
        );
    }

    pub(crate) fn elem_size(&self, kind: PoolKind) -> u64 {
        match kind {
            PoolKind::Kmalloc(s) => s,
            PoolKind::Slab(id) => self.caches[id].l.object_size as u64,
            PoolKind::Page(o) => PAGE_SIZE << o,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn pool_alloc(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        h: u64,
        gfp: Gfp,
        v: u64,
        events: &[kmem_vocab::PageEvent],
    ) {
        if !self.pool_live(j, h) {
            return;
        }
        ctx.might_alloc(j, gfp);
        let Some(pool) = self.mempool.pools.get(&h).cloned() else {
            return;
        };
        if let PoolKind::Kmalloc(s @ 1..=super::kmalloc::KMALLOC_MAX_CACHE_SIZE) = pool.kind {
            if self.kmalloc_cache_unborn(s, gfp) {
                j.warn_alloc.kmalloc_cache_created();
                j.slab_oom.kmalloc_cache_created();
            }
        }
        if v == 0 {
            if pool.exact && !pool.reserve.is_empty() {
                j.fail(
                    F::SpuriousFailure,
                    format!(
                        "mempool_alloc returned NULL with {} elements in the reserve",
                        pool.reserve.len()
                    ),
                );
            } else if let (true, PoolKind::Page(o)) = (pool.exact, pool.kind) {
                // The reserve is empty: the allocator failed with the caller's full mask.
                pages.failed(j, gfp | __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN, o);
            }
            // pool->alloc() ran and failed: as a failed kmalloc() or kmem_cache_alloc(), it
            // may have found a corrupted free object on the way (SLUB's checks), and an exact
            // cache with a clean free object could not have failed.
            match pool.kind {
                PoolKind::Kmalloc(s @ 1..=super::kmalloc::KMALLOC_MAX_CACHE_SIZE) => {
                    let cid = self.kmalloc_cache(s, gfp);
                    self.spurious(j, cid);
                }
                PoolKind::Slab(id) => self.spurious(j, id),
                _ => {}
            }
            return;
        }
        let top = pool.reserve.last().copied();
        let size = self.elem_size(pool.kind);
        if let PoolKind::Page(o) = pool.kind {
            let from_reserve = top == Some(Some(v));
            if pool.exact && (from_reserve || !pool.reserve.contains(&Some(v))) {
                traffic::alloc(j, pages, o, gfp, v, from_reserve, events);
            }
        }
        if top == Some(Some(v)) {
            // From the reserve.
            if let Some(p) = self.mempool.pools.get_mut(&h) {
                p.reserve.pop();
                *p.out.entry(v).or_insert(0) += 1;
            }
            self.take_from_reserve(j, pages, pool.kind, v, size);
            return;
        }
        if pool.reserve.contains(&Some(v)) {
            j.fail(
                F::WrongValue,
                format!("mempool_alloc returned {v:#x}, which is in the reserve but not on top"),
            );
            return;
        }
        // The machine's reserve may hold elements the oracle never saw: those
        // mempool_create() took, and those a free may have put back while the reserve's size
        // was unknown.
        let unseen = top == Some(None) || !pool.exact;
        // v may be an element of the reserve the oracle never saw only when the allocator
        // may have failed the first try (kmalloc(0) never fails); otherwise v is the
        // allocator's and the reserve is as it was.
        let maybe_reserve = unseen && self.pool_alloc_may_fail(pages, pool.kind, gfp);
        if top == Some(None) && maybe_reserve {
            if let Some(p) = self.mempool.pools.get_mut(&h) {
                p.exact = false;
            }
        }
        // From the allocator (or an element of the reserve never seen).
        match pool.kind {
            // kmalloc(0) gives ZERO_SIZE_PTR, no object; it is handed out all the same.
            PoolKind::Kmalloc(0) => {}
            PoolKind::Kmalloc(s) => {
                match maybe_reserve
                    .then(|| self.kmalloc_class_of(pages, s, v, events))
                    .flatten()
                {
                    // A reserve element is a kmalloc object of the pool's size from the
                    // cache the call that made it chose (mempool_create()'s GFP_KERNEL, or
                    // the mask of an allocation freed back into the reserve), not
                    // necessarily the one this call's mask names.
                    Some(cid) => {
                        self.allocated(j, pages, cid, v, s, s as u32, false);
                    }
                    None => self.kmalloc_result(j, pages, s, gfp, v, false),
                }
                if maybe_reserve {
                    self.maybe_from_reserve(pages, v, s);
                }
            }
            PoolKind::Slab(id) => {
                let os = self.caches[id].l.object_size;
                self.allocated(j, pages, id, v, os as u64, os, false);
                if maybe_reserve {
                    self.maybe_from_reserve(pages, v, os as u64);
                }
            }
            PoolKind::Page(o) => {
                if let Some(pfn) = pages.facts.pfn_of_page(v) {
                    if let Some(b) = pages.blocks.get_mut(pfn) {
                        if b.order == o {
                            b.client = true;
                        }
                    }
                }
            }
        }
        if let Some(p) = self.mempool.pools.get_mut(&h) {
            *p.out.entry(v).or_insert(0) += 1;
        }
    }

    /// Whether the pool's allocator could have failed mempool_alloc()'s first try (the
    /// caller's mask without __GFP_DIRECT_RECLAIM and __GFP_IO, with __GFP_NOMEMALLOC,
    /// __GFP_NORETRY and __GFP_NOWARN), so that the element may be the reserve's. It cannot
    /// when a new slab of the cache's order (or the large kmalloc's pages) is free above
    /// every watermark. Simplified: an object free in an existing slab is not counted, so
    /// the answer is "may" more often than Linux's.
    fn pool_alloc_may_fail(&mut self, pages: &PageModel, kind: PoolKind, gfp: Gfp) -> bool {
        let first = (gfp & !(__GFP_DIRECT_RECLAIM | __GFP_IO))
            | __GFP_NOMEMALLOC
            | __GFP_NORETRY
            | __GFP_NOWARN;
        // The pages the allocator would take: (order, the zone bits a slab cache adds).
        let (order, zone) = match kind {
            // kmalloc(0) gives ZERO_SIZE_PTR and takes nothing.
            PoolKind::Kmalloc(0) => return false,
            PoolKind::Kmalloc(s) if s > super::kmalloc::KMALLOC_MAX_CACHE_SIZE => {
                (super::kmalloc::get_order(s), 0)
            }
            PoolKind::Kmalloc(s) => {
                let cid = self.kmalloc_cache(s, gfp);
                (slab_order_of(self.caches[cid].l.size), 0)
            }
            PoolKind::Slab(id) => (
                slab_order_of(self.caches[id].l.size),
                super::slab::grow::allocflags(self.caches[id].flags),
            ),
            PoolKind::Page(_) => return true,
        };
        !pages.plentiful(first | zone, order, 1 << order)
    }

    /// The kmalloc cache of `v`'s slab when it is one of the caches of `size`'s class (any
    /// kmalloc type: normal, cgroup, reclaimable, DMA), for a kmalloc pool's element. A slab
    /// the oracle does not follow, on a page this call did not take, was made by an earlier
    /// allocation it did not follow: an element of the reserve that mempool_create() took
    /// with GFP_KERNEL (mempool_init_node()), so from the normal cache of the class.
    fn kmalloc_class_of(
        &mut self,
        pages: &PageModel,
        size: u64,
        v: u64,
        events: &[kmem_vocab::PageEvent],
    ) -> Option<usize> {
        if size > super::kmalloc::KMALLOC_MAX_CACHE_SIZE {
            return None;
        }
        let normal = self.kmalloc_cache(size, GFP_KERNEL);
        let class = self.caches[normal].l.object_size;
        let Some((_, slab)) = self.slab_of(pages, v) else {
            if !pages.facts.is_lowmem_va(v) {
                return None;
            }
            let pfn = self.pa(v) >> PAGE_SHIFT;
            let taken_now = events.iter().any(|e| {
                matches!(*e, kmem_vocab::PageEvent::Alloc { pfn: p, order }
                    if p <= pfn && pfn < p + (1u64 << order))
            });
            return (!taken_now).then_some(normal);
        };
        let c = &self.caches[slab.cache];
        (c.kmalloc && c.l.object_size == class).then_some(slab.cache)
    }

    /// An element that came from the allocator or from the part of the reserve the oracle
    /// never saw: its bytes are the allocator's or those check_element() left (POISON_INUSE
    /// when mempool poisons), so the oracle only bounds them.
    fn maybe_from_reserve(&mut self, pages: &mut PageModel, v: u64, size: u64) {
        self.shadow(pages, v, size, None);
    }

    pub(crate) fn take_from_reserve(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        kind: PoolKind,
        v: u64,
        size: u64,
    ) {
        if let PoolKind::Page(o) = kind {
            match self.reserve_page_taken(pages, v, o) {
                Some(Dirt::Changed) => j.expect.push(ReportKind::PoisonOverwritten),
                Some(Dirt::Unknown) => j.allow.push(ReportKind::PoisonOverwritten),
                None => {}
            }
            set_page_element_client(pages, v, true);
            return;
        }
        if let Some((head, slab)) = self.slab_of(pages, v) {
            if let Some(slot) = self.slot_of_object(head, &slab, v) {
                let s = self.slot_mut(slot);
                if s.pool_dirty {
                    j.expect.push(ReportKind::PoisonOverwritten);
                }
                s.pool_dirty = false;
                if let St::Live { orig, .. } = s.st {
                    s.st = St::Live {
                        req: size,
                        orig,
                        client: true,
                    };
                }
            }
        }
        let fill = if self.poisoning {
            Some(POISON_INUSE)
        } else {
            None
        };
        self.shadow(pages, v, size, fill);
    }
}

/// mempool's part of [`Model`].
impl Model {
    /// Before the statement's page events are observed: a page-pool element the client
    /// gives back is the kernel's again (`Model::begin` has forgotten the one before).
    pub(super) fn mempool_before_events(&mut self, op: &Op, env: &Env) {
        if let Op::MempoolFree { addr, pool } = op {
            let ev = self.evaluator(env);
            let (e, h) = (ev(addr), ev(pool));
            if let Some(p) = self.slab.mempool.pools.get(&h) {
                if let PoolKind::Page(o) = p.kind {
                    if p.out.contains_key(&e) {
                        if let Some(pfn) = self.pages.facts.pfn_of_page(e) {
                            match self.pages.blocks.get_mut(pfn) {
                                Some(b) if b.order == o && b.client => b.client = false,
                                _ => {
                                    // What __free_pages() will find (the page rules, pages/).
                                    self.slab.mempool.page_gone =
                                        Some(match self.pages.block_of(pfn) {
                                            None if !self.pages.facts.is_reserved(pfn) => {
                                                PageGone::Report(ReportKind::DoubleFree)
                                            }
                                            None => PageGone::Report(ReportKind::BadPageState),
                                            Some(_) => PageGone::Foreign,
                                        })
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Judges a mempool statement, once its page events are observed.
    pub(super) fn mempool_op(
        &mut self,
        j: &mut Judgement,
        op: &Op,
        env: &Env,
        out: &Outcome,
        events: &[kmem_vocab::PageEvent],
    ) {
        let ev = self.evaluator(env);
        let v = out.value.unwrap_or(0);
        let (s, pages, ctx) = (&mut self.slab, &mut self.pages, &self.ctx);
        match op {
            Op::MempoolCreateKmallocPool { min, size } => {
                s.pool_create(j, pages, ctx, *min, Ok(PoolKind::Kmalloc(*size)), v, events)
            }
            Op::MempoolCreateSlabPool { min, cache } => {
                s.pool_create(j, pages, ctx, *min, Err(ev(cache)), v, events)
            }
            Op::MempoolCreatePagePool { min, order } => {
                s.pool_create(j, pages, ctx, *min, Ok(PoolKind::Page(*order)), v, events)
            }
            Op::MempoolAlloc { pool, gfp } => {
                s.pool_alloc(j, pages, ctx, ev(pool), *gfp, v, events)
            }
            Op::MempoolFree { addr, pool } => s.pool_free(j, pages, ev(addr), ev(pool), events),
            Op::MempoolDestroy { pool } => s.pool_destroy(j, pages, ev(pool), events),
            _ => {}
        }
    }
}

/// A page pool's element `page` (a `struct page *`) leaves the reserve for the client
/// (`client`) or comes back to it: its block is the client's or the kernel's.
pub(super) fn set_page_element_client(pages: &mut PageModel, page: u64, client: bool) {
    if let Some(b) = pages
        .facts
        .pfn_of_page(page)
        .and_then(|pfn| pages.blocks.get_mut(pfn))
    {
        b.client = client;
    }
}

/// A slab's order for objects of `size` bytes: the cache's `oo` order, or the order of one
/// object when no order fits.
fn slab_order_of(size: u32) -> u32 {
    super::slab::grow::slab_order(size)
        .unwrap_or_else(|| super::kmalloc::get_order(u64::from(size)))
}
