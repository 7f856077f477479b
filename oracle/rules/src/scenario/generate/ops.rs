//! Well-behaved operations: what a correct kernel client does with what it holds.

use arbitrary::{Result, Unstructured};
use kmem_vocab::gfp::{__GFP_HIGHMEM, __GFP_ZERO, GFP_DMA};
use kmem_vocab::slab_flags::*;
use kmem_vocab::PAGE_SIZE;

use super::super::ast::{Op, Operand};
use super::super::kind::Family;
use super::choose::{self, byte, chance, one_of, pick};
use super::state::{order_bytes, Ctx, Gen, Handle, Kind, Life, MapHow, PoolKind, MAX_CTX};

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
        v
    }

    /// Performs one well-behaved operation (nothing when it has no candidate).
    pub fn act(&mut self, u: &mut Unstructured<'_>, a: Action) -> Result<()> {
        let atomic = self.atomic();
        match a {
            Action::AllocPages => {
                let gfp = choose::gfp_pages(u, atomic, true)?;
                let order = self.fit_order(u, gfp)?;
                let high = gfp & __GFP_HIGHMEM != 0 && self.has_highmem;
                self.bind(
                    Op::AllocPages { gfp, order },
                    Kind::Pages { order, high },
                    order_bytes(order),
                );
            }
            Action::GetFreePages => {
                let gfp = choose::gfp_object(u, atomic, true)?;
                let (op, order) = match pick(u, 0, 3)? {
                    0 | 1 => {
                        let order = self.fit_order(u, gfp)?;
                        (Op::GetFreePages { gfp, order }, order)
                    }
                    2 => (Op::GetFreePage { gfp }, 0),
                    _ => (Op::GetZeroedPage { gfp }, 0),
                };
                self.bind(op, Kind::FreePages { order }, order_bytes(order));
            }
            Action::FreePagesPage => {
                if let Some(i) = one_of(u, &self.cands(Cand::PagesToFree))? {
                    if let Some(Kind::Pages { order, .. }) = self.kind(i) {
                        let op = Op::FreePagesPage {
                            page: self.operand(i),
                            order: *order,
                        };
                        self.emit(None, op);
                        self.release(i, Life::Freed);
                    }
                }
            }
            Action::FreePages => {
                if let Some(i) = one_of(u, &self.cands(Cand::FreePagesToFree))? {
                    if let Some(&Kind::FreePages { order }) = self.kind(i) {
                        let addr = self.operand(i);
                        let op = match order == 0 && chance(u, 50)? {
                            true => Op::FreePage { addr },
                            false => Op::FreePages { addr, order },
                        };
                        self.emit(None, op);
                        self.release(i, Life::Freed);
                    }
                }
            }
            Action::PageAddress => {
                if let Some(i) = one_of(
                    u,
                    &self.cands(Cand::Pages {
                        whole: false,
                        low: true,
                    }),
                )? {
                    let size = self.page_like(i).map_or(0, |(_, bytes)| bytes);
                    let of = self.root(i);
                    let op = Op::PageAddress {
                        page: self.operand(i),
                    };
                    self.bind(op, Kind::AddrView { of, size }, 0);
                }
            }
            Action::PageToPhys => {
                if let Some(i) = one_of(
                    u,
                    &self.cands(Cand::Pages {
                        whole: false,
                        low: false,
                    }),
                )? {
                    let (high, size) = self.page_like(i).unwrap_or((true, 0));
                    let of = self.root(i);
                    let op = Op::PageToPhys {
                        page: self.operand(i),
                    };
                    self.bind(
                        op,
                        Kind::Phys {
                            of,
                            size,
                            low: !high,
                        },
                        0,
                    );
                }
            }
            Action::VirtToPage => {
                if let Some(i) = one_of(u, &self.cands(Cand::Linear))? {
                    let whole = self.owns_whole_page(i);
                    let of = self.root(i);
                    let op = Op::VirtToPage {
                        addr: self.operand(i),
                    };
                    let kind = Kind::PageView {
                        of,
                        high: false,
                        whole,
                    };
                    self.bind(op, kind, 0);
                }
            }
            Action::VirtToPhys => {
                if let Some(i) = one_of(u, &self.cands(Cand::Linear))? {
                    let size = self.addr_size(i).unwrap_or(0);
                    let of = self.root(i);
                    let op = Op::VirtToPhys {
                        addr: self.operand(i),
                    };
                    self.bind(
                        op,
                        Kind::Phys {
                            of,
                            size,
                            low: true,
                        },
                        0,
                    );
                }
            }
            Action::PhysToVirt => {
                if let Some(i) = one_of(u, &self.cands(Cand::PhysLow))? {
                    if let Some(&Kind::Phys { of, size, .. }) = self.kind(i) {
                        let op = Op::PhysToVirt {
                            phys: self.operand(i),
                        };
                        self.bind(op, Kind::AddrView { of, size }, 0);
                    }
                }
            }
            Action::CacheCreate => self.cache_create(u)?,
            Action::CacheAlloc => {
                if let Some(c) = one_of(u, &self.cands(Cand::Caches))? {
                    let gfp = choose::gfp_object(u, atomic, false)?;
                    let zalloc = chance(u, 30)?;
                    self.cache_alloc(c, gfp, zalloc);
                }
            }
            Action::CacheFree => {
                if let Some(i) = one_of(u, &self.cands(Cand::Objs))? {
                    if let Some(&Kind::SlabObj { cache, .. }) = self.kind(i) {
                        let op = Op::KmemCacheFree {
                            cache: self.operand(cache),
                            addr: self.operand(i),
                        };
                        self.emit(None, op);
                        self.release(i, Life::Freed);
                    }
                }
            }
            Action::CacheDestroy => {
                let idle: Vec<usize> = self
                    .cands(Cand::Caches)
                    .into_iter()
                    .filter(|&c| !self.cache_busy(c))
                    .collect();
                if let Some(c) = one_of(u, &idle)? {
                    let op = Op::KmemCacheDestroy {
                        cache: self.operand(c),
                    };
                    self.emit(None, op);
                    self.release(c, Life::Freed);
                }
            }
            Action::CacheQuery => {
                if let Some(c) = one_of(u, &self.cands(Cand::Caches))? {
                    let cache = self.operand(c);
                    let op = match chance(u, 50)? {
                        true => Op::ValidateSlabCache { cache },
                        false => Op::KmemCacheShrink { cache },
                    };
                    self.emit(None, op);
                }
            }
            Action::Kmalloc => {
                let size = self.fit_kmalloc_size(u)?;
                let gfp = choose::gfp_object(u, atomic, true)?;
                let op = match chance(u, 30)? {
                    true => Op::Kzalloc { size, gfp },
                    false => Op::Kmalloc { size, gfp },
                };
                self.bind(op, Kind::Kmalloc { size }, size.max(8));
            }
            Action::Krealloc => {
                let kmallocs = self.cands(Cand::Kmallocs);
                let old = match chance(u, 15)? {
                    true => None,
                    false => one_of(u, &kmallocs)?,
                };
                let size = self.fit_kmalloc_size(u)?.max(1);
                let gfp = choose::gfp_object(u, atomic, false)?;
                let addr = old.map_or(Operand::Null, |i| self.operand(i));
                if let Some(i) = old {
                    self.release(i, Life::Gone);
                }
                self.bind(
                    Op::Krealloc { addr, size, gfp },
                    Kind::Kmalloc { size },
                    size,
                );
            }
            Action::Ksize => {
                if let Some(i) = one_of(u, &self.cands(Cand::Kmallocs))? {
                    let op = Op::Ksize {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                }
            }
            Action::Kfree => match one_of(u, &self.cands(Cand::Kmallocs))? {
                Some(i) if !chance(u, 5)? => {
                    let op = Op::Kfree {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                    self.release(i, Life::Freed);
                }
                _ => {
                    self.emit(
                        None,
                        Op::Kfree {
                            addr: Operand::Null,
                        },
                    );
                }
            },
            Action::Vmalloc => {
                let mut size = choose::vmalloc_size(u)?;
                if !self.fits(page_round(size)) {
                    size = PAGE_SIZE;
                }
                let (op, low) = match pick(u, 0, 4)? {
                    0 | 1 => (Op::Vmalloc { size }, false),
                    2 => (Op::Vzalloc { size }, false),
                    3 => (Op::Vmalloc32 { size }, true),
                    _ => {
                        let (align, sure) = choose::vmalloc_align(u)?;
                        let gfp = choose::gfp_vmalloc(u)?;
                        let op = Op::VmallocNode { size, align, gfp };
                        if !sure {
                            // NULL, or an area no handle refers to: only the call is judged.
                            self.emit(None, op);
                            return Ok(());
                        }
                        (op, gfp & kmem_vocab::gfp::GFP_DMA32 != 0)
                    }
                };
                self.bind(op, Kind::Vmalloc { size, low }, page_round(size));
            }
            Action::Vfree => match one_of(u, &self.cands(Cand::VmallocsToFree))? {
                Some(i) if !chance(u, 5)? => {
                    let op = Op::Vfree {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                    self.release(i, Life::Freed);
                }
                _ => {
                    self.emit(
                        None,
                        Op::Vfree {
                            addr: Operand::Null,
                        },
                    );
                }
            },
            Action::Vmap => {
                let cands = self.cands(Cand::Pages {
                    whole: true,
                    low: false,
                });
                let n = pick(u, 1, 4)?;
                let mut pages = Vec::new();
                for _ in 0..n {
                    if let Some(p) = one_of(u, &cands)? {
                        pages.push(p);
                    }
                }
                if !pages.is_empty() {
                    let op = Op::Vmap {
                        pages: pages.iter().map(|&p| self.operand(p)).collect(),
                    };
                    self.bind(op, Kind::Vmap { pages }, 0);
                }
            }
            Action::Vunmap => {
                if let Some(i) = one_of(u, &self.cands(Cand::Vmaps))? {
                    let op = Op::Vunmap {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                    self.release(i, Life::Freed);
                }
            }
            Action::VmallocToPage => {
                if let Some(i) = one_of(u, &self.cands(Cand::VmAreas))? {
                    let size = self.addr_size(i).unwrap_or(0);
                    let off = pick(u, 0, size.saturating_sub(1))?;
                    let (high, whole) = match self.kind(i) {
                        Some(&Kind::Vmalloc { low, .. }) => (!low && self.has_highmem, true),
                        _ => (self.has_highmem, false),
                    };
                    let op = Op::VmallocToPage {
                        addr: self.at(i, offset(off)),
                    };
                    self.bind(op, Kind::PageView { of: i, high, whole }, 0);
                }
            }
            Action::IsVmallocAddr => {
                if let Some(i) = one_of(u, &self.cands(Cand::Access))? {
                    let op = Op::IsVmallocAddr {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                }
            }
            Action::Kmap => {
                let cands: Vec<usize> = self
                    .cands(Cand::Pages {
                        whole: true,
                        low: false,
                    })
                    .into_iter()
                    .filter(|&p| !self.kmapped(p))
                    .collect();
                if let Some(p) = one_of(u, &cands)? {
                    self.kmap(p, MapHow::Kmap);
                }
            }
            Action::Kunmap => {
                if let Some(m) = one_of(u, &self.cands(Cand::Kmaps))? {
                    if let Some(&Kind::Kmap { page, .. }) = self.kind(m) {
                        let op = Op::Kunmap {
                            page: self.operand(page),
                        };
                        self.emit(None, op);
                        self.release(m, Life::Freed);
                    }
                }
            }
            Action::KmapAtomic | Action::KmapLocal => {
                if let Some(p) = one_of(
                    u,
                    &self.cands(Cand::Pages {
                        whole: true,
                        low: false,
                    }),
                )? {
                    let how = match a {
                        Action::KmapAtomic => MapHow::Atomic,
                        _ => MapHow::Local,
                    };
                    self.kmap(p, how);
                }
            }
            Action::PoolCreate => self.pool_create(u)?,
            Action::PoolAlloc => {
                if let Some(p) = one_of(u, &self.cands(Cand::Pools))? {
                    let gfp = choose::gfp_object(u, atomic, false)? & !__GFP_ZERO;
                    self.pool_alloc(p, gfp);
                }
            }
            Action::PoolFree => {
                if let Some(e) = one_of(u, &self.cands(Cand::Elems))? {
                    if let Some(&Kind::PoolElem { pool, .. }) = self.kind(e) {
                        let op = Op::MempoolFree {
                            addr: self.operand(e),
                            pool: self.operand(pool),
                        };
                        self.emit(None, op);
                        self.release(e, Life::Freed);
                    }
                }
            }
            Action::PoolDestroy => {
                let idle: Vec<usize> = self
                    .cands(Cand::Pools)
                    .into_iter()
                    .filter(|&p| !self.pool_busy(p))
                    .collect();
                if let Some(p) = one_of(u, &idle)? {
                    let op = Op::MempoolDestroy {
                        pool: self.operand(p),
                    };
                    self.emit(None, op);
                    self.release(p, Life::Freed);
                }
            }
            Action::CtxOpen => {
                if let Some(c) = one_of(u, &self.openable())? {
                    self.open(c);
                }
            }
            Action::CloseTop => {
                self.close_top();
            }
            Action::Write | Action::Read => {
                if let Some(i) = one_of(u, &self.cands(Cand::Access))? {
                    let size = self.addr_size(i).unwrap_or(0);
                    let (off, len) = in_bounds(u, size)?;
                    let addr = self.at(i, offset(off));
                    let op = match a {
                        Action::Write => Op::Write {
                            addr,
                            len,
                            byte: byte(u)?,
                        },
                        _ => Op::Read { addr, len },
                    };
                    self.emit(None, op);
                }
            }
        }
        Ok(())
    }

    /// A buddy order that fits the budget (and, for GFP_DMA, the small DMA zone).
    fn fit_order(&self, u: &mut Unstructured<'_>, gfp: u32) -> Result<u32> {
        let mut order = choose::order(u)?;
        if gfp & GFP_DMA != 0 {
            order = order.min(1);
        }
        while order > 0 && !self.fits(order_bytes(order)) {
            order -= 1;
        }
        Ok(order)
    }

    fn fit_kmalloc_size(&self, u: &mut Unstructured<'_>) -> Result<u64> {
        if chance(u, 2)? {
            return Ok(0);
        }
        let size = choose::kmalloc_size(u)?;
        Ok(match self.fits(size) {
            true => size,
            false => pick(u, 1, 64)?,
        })
    }

    fn cache_create(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        const SIZES: [u32; 18] = [
            8, 16, 24, 32, 40, 64, 96, 100, 128, 192, 256, 500, 512, 1000, 1024, 2048, 4096, 5000,
        ];
        const ALIGNS: [u32; 7] = [0, 0, 0, 8, 16, 32, 64];
        const FLAGS: [u32; 8] = [
            SLAB_HWCACHE_ALIGN,
            SLAB_POISON,
            SLAB_RED_ZONE,
            SLAB_STORE_USER,
            SLAB_CONSISTENCY_CHECKS,
            SLAB_CACHE_DMA,
            SLAB_ACCOUNT,
            SLAB_RECLAIM_ACCOUNT,
        ];
        let size = one_of(u, &SIZES)?.unwrap_or(64);
        let align = one_of(u, &ALIGNS)?.unwrap_or(0);
        let bits = byte(u)? & byte(u)?;
        let flags = FLAGS
            .iter()
            .enumerate()
            .filter(|&(i, _)| bits & (1 << i) != 0)
            .fold(0, |m, (_, &f)| m | f);
        let ctor = match chance(u, 12)? {
            true => Some(byte(u)?),
            false => None,
        };
        let op = Op::KmemCacheCreate {
            name: format!("cache{}", self.stmts.len()),
            size,
            align,
            flags,
            ctor,
        };
        let kind = Kind::Cache {
            size,
            ctor: ctor.is_some(),
        };
        self.bind(op, kind, 0);
        Ok(())
    }

    /// `kmem_cache_alloc` (or `_zalloc`) from cache `c`: never zeroing a cache with a
    /// constructor.
    pub fn cache_alloc(&mut self, c: usize, mut gfp: u32, zalloc: bool) {
        let Some(&Kind::Cache { size, ctor }) = self.kind(c) else {
            return;
        };
        if ctor {
            gfp &= !__GFP_ZERO;
        }
        let cache = self.operand(c);
        let op = match zalloc && !ctor {
            true => Op::KmemCacheZalloc { cache, gfp },
            false => Op::KmemCacheAlloc { cache, gfp },
        };
        self.bind(op, Kind::SlabObj { cache: c, size }, u64::from(size));
    }

    /// Maps page handle `p`; atomic and local mappings are pushed on the section stack.
    pub fn kmap(&mut self, p: usize, how: MapHow) -> usize {
        let high = self.page_like(p).is_some_and(|(high, _)| high);
        let page = self.operand(p);
        let op = match how {
            MapHow::Kmap => Op::Kmap { page },
            MapHow::Atomic => Op::KmapAtomic { page },
            MapHow::Local => Op::KmapLocalPage { page },
        };
        let m = self.bind(op, Kind::Kmap { page: p, how, high }, 0);
        if how != MapHow::Kmap {
            self.ctx.push(Ctx::Map(m, how));
        }
        m
    }

    fn pool_create(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        let min = u32::try_from(pick(u, 0, 4)?).unwrap_or(0);
        let caches = self.cands(Cand::Caches);
        let (op, kind, elem) = match pick(u, 0, 2)? {
            1 if !caches.is_empty() => {
                let c = one_of(u, &caches)?.unwrap_or(0);
                let size = match self.kind(c) {
                    Some(&Kind::Cache { size, .. }) => size,
                    _ => 0,
                };
                let op = Op::MempoolCreateSlabPool {
                    min,
                    cache: self.operand(c),
                };
                (op, PoolKind::Slab { cache: c, size }, u64::from(size))
            }
            2 => {
                let order = u32::try_from(pick(u, 0, 2)?).unwrap_or(0);
                let op = Op::MempoolCreatePagePool { min, order };
                (op, PoolKind::Page { order }, order_bytes(order))
            }
            _ => {
                let size = pick(u, 1, 512)?;
                let op = Op::MempoolCreateKmallocPool { min, size };
                (op, PoolKind::Kmalloc { size }, size)
            }
        };
        let bytes = elem.saturating_mul(u64::from(min));
        self.bind(op, Kind::Pool { kind }, bytes);
        Ok(())
    }

    /// `mempool_alloc` from pool `p`.
    pub fn pool_alloc(&mut self, p: usize, gfp: u32) {
        let Some(&Kind::Pool { kind }) = self.kind(p) else {
            return;
        };
        let (size, order) = match kind {
            PoolKind::Kmalloc { size } => (size, None),
            PoolKind::Slab { size, .. } => (u64::from(size), None),
            PoolKind::Page { order } => (order_bytes(order), Some(order)),
        };
        let op = Op::MempoolAlloc {
            pool: self.operand(p),
            gfp,
        };
        self.bind(
            op,
            Kind::PoolElem {
                pool: p,
                size,
                order,
            },
            size,
        );
    }

    /// The sections that may be opened now without misuse.
    pub fn openable(&self) -> Vec<Ctx> {
        let has = |c: Ctx| self.ctx.contains(&c);
        let hardirqs = self.ctx.iter().filter(|&&c| c == Ctx::Hardirq).count();
        let mut v = vec![Ctx::Preempt];
        if !has(Ctx::Spin) {
            v.push(Ctx::Spin);
        }
        if !has(Ctx::IrqOff) {
            v.push(Ctx::IrqOff);
        }
        if hardirqs < 2 {
            v.push(Ctx::Hardirq);
        }
        if !has(Ctx::Hardirq) && !has(Ctx::IrqOff) && !has(Ctx::Bh) {
            v.push(Ctx::Bh);
        }
        v
    }

    /// Opens a section (not a mapping: see [`Gen::kmap`]).
    pub fn open(&mut self, c: Ctx) {
        let op = match c {
            Ctx::Spin => Op::SpinLock,
            Ctx::IrqOff => Op::LocalIrqDisable,
            Ctx::Hardirq => Op::IrqEnter,
            Ctx::Bh => Op::LocalBhDisable,
            Ctx::Preempt => Op::PreemptDisable,
            Ctx::Map(..) => return,
        };
        self.emit(None, op);
        self.ctx.push(c);
    }

    /// The statement that closes section `c`.
    pub fn close_op(&self, c: Ctx) -> Op {
        match c {
            Ctx::Spin => Op::SpinUnlock,
            Ctx::IrqOff => Op::LocalIrqEnable,
            Ctx::Hardirq => Op::IrqExit,
            Ctx::Bh => Op::LocalBhEnable,
            Ctx::Preempt => Op::PreemptEnable,
            Ctx::Map(m, MapHow::Local) => Op::KunmapLocal {
                addr: self.operand(m),
            },
            Ctx::Map(m, _) => Op::KunmapAtomic {
                addr: self.operand(m),
            },
        }
    }

    /// Closes the innermost section; returns the line of the closing statement.
    pub fn close_top(&mut self) -> Option<u32> {
        let c = self.ctx.pop()?;
        let line = self.emit(None, self.close_op(c));
        if let Ctx::Map(m, _) = c {
            self.release(m, Life::Freed);
        }
        Some(line)
    }
}

/// An in-bounds range of an object of `size` bytes: (offset, length), length at least 1.
pub fn in_bounds(u: &mut Unstructured<'_>, size: u64) -> Result<(u64, u64)> {
    let off = match chance(u, 50)? {
        true => pick(u, 0, size.saturating_sub(1))?,
        false => 0,
    };
    let room = size.saturating_sub(off).max(1);
    let len = match pick(u, 0, 7)? {
        0..=4 => pick(u, 1, room.min(64))?,
        5..=6 => pick(u, 1, room.min(4096))?,
        _ => room.min(64 << 10),
    };
    Ok((off, len))
}
