//! Well-behaved operations: what a correct kernel client does with what it holds. This file
//! says which operations are possible now ([`Gen::actions`]) and on which handles
//! ([`Cand`]); each family's operations are in the module of its name.

mod access;
mod context;
mod exhaust;
mod highmem;
mod kmalloc;
mod mempool;
mod pages;
mod slab;
mod translate;
mod vmalloc;

use arbitrary::{Result, Unstructured};
use kmem_vocab::PAGE_SIZE;

use super::super::kind::Family;
use super::state::{Gen, Handle, Kind, Life, MapHow, MAX_CTX};

pub use access::in_bounds;

/// The most caches and pools alive at once.
const MAX_CACHES: usize = 6;
const MAX_POOLS: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    AllocPages,
    GetFreePages,
    FreePagesPage,
    FreePages,
    PageAddress,
    VirtToPage,
    PageToPhys,
    VirtToPhys,
    PhysToVirt,
    CacheCreate,
    CacheAlloc,
    CacheFree,
    CacheDestroy,
    CacheQuery,
    Kmalloc,
    Krealloc,
    Ksize,
    Kfree,
    Vmalloc,
    Vfree,
    Vmap,
    Vunmap,
    VmallocToPage,
    IsVmallocAddr,
    Kmap,
    Kunmap,
    KmapAtomic,
    KmapLocal,
    PoolCreate,
    PoolAlloc,
    PoolFree,
    PoolDestroy,
    CtxOpen,
    CloseTop,
    Write,
    Read,
    /// `repeat` an allocation until memory runs out (at most once per scenario).
    Exhaust,
    /// `repeat` a small allocation once memory is scarce.
    Drain,
}

/// Converts an in-range offset for an operand.
pub fn offset(off: u64) -> i64 {
    i64::try_from(off).unwrap_or(i64::MAX)
}

/// `n` rounded up to whole pages.
pub fn page_round(n: u64) -> u64 {
    n.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE)
}

/// A set of handles an operation may use now.
#[derive(Clone, Copy, Debug)]
pub enum Cand {
    /// Pages from alloc_pages that may be freed.
    PagesToFree,
    /// Addresses from __get_free_pages that may be freed.
    FreePagesToFree,
    /// Live page handles; `whole`: only those whose page belongs to their owner; `low`: only
    /// those certainly in lowmem.
    Pages {
        whole: bool,
        low: bool,
    },
    /// Live addresses in the direct map.
    Linear,
    /// Live physical addresses of lowmem.
    PhysLow,
    Caches,
    /// Live slab objects of live caches.
    Objs,
    Kmallocs,
    VmallocsToFree,
    Vmaps,
    /// Live addresses in the vmalloc area.
    VmAreas,
    /// Live `kmap` mappings.
    Kmaps,
    Pools,
    /// Live elements of live pools that may be freed.
    Elems,
    /// Live addresses with bytes that may be touched.
    Access,
}

// Candidates: which handles each operation may use now.
impl Gen<'_> {
    fn live(&self, i: usize) -> bool {
        self.get(i).is_some_and(|h| h.life == Life::Live)
    }

    /// Whether handle `i` is in the set `c`.
    fn is(&self, c: Cand, i: usize, h: &Handle) -> bool {
        let live = h.life == Life::Live;
        match c {
            Cand::PagesToFree => live && matches!(h.kind, Kind::Pages { .. }) && !self.pinned(i),
            Cand::FreePagesToFree => {
                live && matches!(h.kind, Kind::FreePages { .. }) && !self.pinned(i)
            }
            Cand::Pages { whole, low } => {
                self.alive(i)
                    && self
                        .page_like(i)
                        .is_some_and(|(high, bytes)| (!whole || bytes > 0) && (!low || !high))
            }
            Cand::Linear => self.alive(i) && self.is_linear(i),
            Cand::PhysLow => self.alive(i) && matches!(h.kind, Kind::Phys { low: true, .. }),
            Cand::Caches => live && matches!(h.kind, Kind::Cache { .. }),
            Cand::Objs => live && matches!(h.kind, Kind::SlabObj { cache, .. } if self.live(cache)),
            Cand::Kmallocs => live && matches!(h.kind, Kind::Kmalloc { .. }),
            Cand::VmallocsToFree => {
                live && matches!(h.kind, Kind::Vmalloc { .. }) && !self.pinned(i)
            }
            Cand::Vmaps => live && matches!(h.kind, Kind::Vmap { .. }),
            Cand::VmAreas => self.alive(i) && self.is_vmalloc_area(i),
            Cand::Kmaps => {
                self.alive(i)
                    && matches!(
                        h.kind,
                        Kind::Kmap {
                            how: MapHow::Kmap,
                            ..
                        }
                    )
            }
            Cand::Pools => live && matches!(h.kind, Kind::Pool { .. }),
            Cand::Elems => {
                live && matches!(h.kind, Kind::PoolElem { pool, .. } if self.live(pool))
                    && !self.pinned(i)
            }
            Cand::Access => self.alive(i) && self.addr_size(i).is_some_and(|s| s > 0),
        }
    }

    /// The handles in `c`, in handle order.
    pub fn cands(&self, c: Cand) -> Vec<usize> {
        self.find_scanned(|i, h| self.is(c, i, h))
    }

    /// Whether any handle is in `c` (without building the list: the generator asks this
    /// of every set on every statement).
    pub fn has(&self, c: Cand) -> bool {
        self.any_scanned(|i, h| self.is(c, i, h))
    }
}

// The operations.
impl Gen<'_> {
    /// Every well-behaved operation possible now, repeated by weight.
    pub fn actions(&self) -> Vec<Action> {
        use Action as A;
        let mut v = Vec::new();
        let mut add = |a: Action, w: usize| {
            for _ in 0..w {
                v.push(a);
            }
        };
        let atomic = self.atomic();
        if self.on(Family::Pages) {
            if self.fits(PAGE_SIZE) {
                add(A::AllocPages, 2);
                add(A::GetFreePages, 2);
            }
            if self.has(Cand::PagesToFree) {
                add(A::FreePagesPage, 2);
            }
            if self.has(Cand::FreePagesToFree) {
                add(A::FreePages, 2);
            }
        }
        if self.on(Family::Translate) {
            if self.has(Cand::Pages {
                whole: false,
                low: true,
            }) {
                add(A::PageAddress, 1);
            }
            if self.has(Cand::Pages {
                whole: false,
                low: false,
            }) {
                add(A::PageToPhys, 1);
            }
            if self.has(Cand::Linear) {
                add(A::VirtToPage, 1);
                add(A::VirtToPhys, 1);
            }
            if self.has(Cand::PhysLow) {
                add(A::PhysToVirt, 1);
            }
        }
        if self.on(Family::Slab) {
            let caches = self.cands(Cand::Caches);
            if !atomic && caches.len() < MAX_CACHES {
                add(A::CacheCreate, if caches.is_empty() { 3 } else { 1 });
            }
            if !caches.is_empty() {
                add(A::CacheAlloc, 3);
                if !atomic {
                    add(A::CacheQuery, 1);
                    if caches.iter().any(|&c| !self.cache_busy(c)) {
                        add(A::CacheDestroy, 1);
                    }
                }
            }
            if self.has(Cand::Objs) {
                add(A::CacheFree, 2);
            }
        }
        if self.on(Family::Kmalloc) {
            add(A::Kmalloc, 3);
            add(A::Krealloc, 1);
            if self.has(Cand::Kmallocs) {
                add(A::Ksize, 1);
                add(A::Kfree, 3);
            }
        }
        if self.on(Family::Vmalloc) {
            if !atomic {
                add(A::Vmalloc, 2);
                if self.has(Cand::VmallocsToFree) {
                    add(A::Vfree, 2);
                }
                if self.has(Cand::Pages {
                    whole: true,
                    low: false,
                }) {
                    add(A::Vmap, 1);
                }
                if self.has(Cand::Vmaps) {
                    add(A::Vunmap, 1);
                }
            }
            if self.has(Cand::VmAreas) {
                add(A::VmallocToPage, 1);
            }
            if self.has(Cand::Access) {
                add(A::IsVmallocAddr, 1);
            }
        }
        if self.on(Family::Highmem) {
            let pages = self.cands(Cand::Pages {
                whole: true,
                low: false,
            });
            if !atomic && pages.iter().any(|&p| !self.kmapped(p)) {
                add(A::Kmap, 2);
            }
            if !pages.is_empty() && self.ctx.len() < MAX_CTX {
                add(A::KmapAtomic, 2);
                add(A::KmapLocal, 1);
            }
            if !atomic && self.has(Cand::Kmaps) {
                add(A::Kunmap, 2);
            }
        }
        if self.on(Family::Mempool) {
            let pools = self.cands(Cand::Pools);
            if !atomic && pools.len() < MAX_POOLS {
                add(A::PoolCreate, if pools.is_empty() { 3 } else { 1 });
            }
            if !pools.is_empty() {
                add(A::PoolAlloc, 3);
                if !atomic && pools.iter().any(|&p| !self.pool_busy(p)) {
                    add(A::PoolDestroy, 1);
                }
            }
            if self.has(Cand::Elems) {
                add(A::PoolFree, 2);
            }
        }
        if self.on(Family::Context) && self.ctx.len() < MAX_CTX {
            add(A::CtxOpen, 2);
        }
        if !self.ctx.is_empty() {
            add(A::CloseTop, 3);
        }
        if self.on(Family::Access) && self.has(Cand::Access) {
            add(A::Write, 4);
            add(A::Read, 3);
        }
        if self.may_exhaust() {
            add(A::Exhaust, 1);
        }
        if self.scarce && self.drains < exhaust::MAX_DRAINS {
            add(A::Drain, 1);
        }
        v
    }

    /// Performs one well-behaved operation (nothing when it has no candidate).
    pub fn act(&mut self, u: &mut Unstructured<'_>, a: Action) -> Result<()> {
        use Action as A;
        match a {
            A::AllocPages | A::GetFreePages | A::FreePagesPage | A::FreePages => {
                self.act_pages(u, a)
            }
            A::PageAddress | A::VirtToPage | A::PageToPhys | A::VirtToPhys | A::PhysToVirt => {
                self.act_translate(u, a)
            }
            A::CacheCreate | A::CacheAlloc | A::CacheFree | A::CacheDestroy | A::CacheQuery => {
                self.act_slab(u, a)
            }
            A::Kmalloc | A::Krealloc | A::Ksize | A::Kfree => self.act_kmalloc(u, a),
            A::Vmalloc | A::Vfree | A::Vmap | A::Vunmap | A::VmallocToPage | A::IsVmallocAddr => {
                self.act_vmalloc(u, a)
            }
            A::Kmap | A::Kunmap | A::KmapAtomic | A::KmapLocal => self.act_highmem(u, a),
            A::PoolCreate | A::PoolAlloc | A::PoolFree | A::PoolDestroy => self.act_mempool(u, a),
            A::CtxOpen | A::CloseTop => self.act_context(u, a),
            A::Write | A::Read => self.act_access(u, a),
            A::Exhaust | A::Drain => self.act_exhaust(u, a),
        }
    }
}
