//! Misuse, injected on purpose: each kind, when the scenario so far allows it.

use super::choose::Draw;
use arbitrary::Result;
use kmem_vocab::gfp::{__GFP_ZERO, GFP_KERNEL};
use kmem_vocab::{Arch, MAX_PAGE_ORDER, PAGE_SIZE};

use super::super::ast::{printed_line, Op, Operand};
use super::super::kind::Family;
use super::choose::{self, byte, chance, one_of, pick};
use super::ops::Cand;
use super::ops::{in_bounds, offset, page_round, MAX_CACHES};
use super::state::{order_bytes, Ctx, Gen, Handle, Kind, Life, MapHow, MAX_CTX};
use super::Misuse;

/// A call that may sleep, for [`Misuse::SleepInAtomic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sleeper {
    Kmalloc,
    AllocPages,
    CacheAlloc(usize),
    Vmalloc,
    Kmap(usize),
    PoolAlloc(usize),
    /// kmem_cache_create, or kmem_cache_shrink, validate_slab_cache or kmem_cache_destroy
    /// of a live cache: slab_mutex, cpus_read_lock() or a GFP_KERNEL kmalloc inside.
    CacheCall,
    /// vm_unmap_aliases, once a vmalloc area waits for the purge: its might_sleep().
    VmUnmapAliases,
}

/// A way to free, for [`Misuse::WildFree`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Freer {
    Kfree,
    FreePages,
    Vfree,
    CacheFree(usize),
}

impl Gen<'_> {
    /// Whether handle `h` (`i`) was freed and may be freed again the same way.
    pub(super) fn freed_again(&self, h: &Handle, atomic: bool) -> bool {
        h.life == Life::Freed
            && match h.kind {
                Kind::Pages { .. } | Kind::FreePages { .. } => true,
                Kind::Kmalloc { size } => size > 0,
                Kind::SlabObj { cache, .. } => {
                    self.get(cache).is_some_and(|c| c.life == Life::Live)
                }
                Kind::Vmalloc { .. } | Kind::Vmap { .. } => !atomic,
                _ => false,
            }
    }

    pub(super) fn double_free_cands(&self) -> Vec<usize> {
        let atomic = self.atomic();
        self.find(|_, h| self.freed_again(h, atomic))
    }

    pub(super) fn wrong_order_cands(&self) -> Vec<usize> {
        let mut v = self.cands(Cand::PagesToFree);
        v.extend(self.cands(Cand::FreePagesToFree));
        v
    }

    /// Whether handle `i` (`h`) is an address of freed memory that may be touched.
    pub(super) fn touchable_after_free(&self, i: usize, h: &Handle) -> bool {
        !matches!(h.kind, Kind::Kmap { .. })
            && self.life_of(i) == Life::Freed
            && self.addr_size(i).is_some_and(|s| s > 0)
            && matches!(
                self.kind(self.root(i)),
                Some(
                    Kind::Pages { .. }
                        | Kind::FreePages { .. }
                        | Kind::SlabObj { .. }
                        | Kind::Kmalloc { .. }
                        | Kind::Vmalloc { .. }
                        | Kind::Vmap { .. }
                )
            )
    }

    pub(super) fn use_after_free_cands(&self) -> Vec<usize> {
        if !self.on(Family::Access) {
            return Vec::new();
        }
        self.find(|i, h| self.touchable_after_free(i, h))
    }

    pub(super) fn freers(&self) -> Vec<Freer> {
        let mut v = Vec::new();
        if self.on(Family::Kmalloc) {
            v.push(Freer::Kfree);
        }
        if self.on(Family::Pages) {
            v.push(Freer::FreePages);
        }
        if self.on(Family::Vmalloc) && !self.atomic() {
            v.push(Freer::Vfree);
        }
        if self.on(Family::Slab) {
            v.extend(self.cands(Cand::Caches).into_iter().map(Freer::CacheFree));
        }
        v
    }

    pub(super) fn interior_cands(&self) -> Vec<usize> {
        let atomic = self.atomic();
        let mut v: Vec<usize> = self
            .cands(Cand::Kmallocs)
            .into_iter()
            .chain(self.cands(Cand::Objs))
            .filter(|&i| self.addr_size(i).is_some_and(|s| s >= 2))
            .collect();
        if !atomic {
            v.extend(self.cands(Cand::VmallocsToFree));
        }
        v
    }

    pub(super) fn out_of_bounds_cands(&self) -> Vec<usize> {
        match self.on(Family::Access) {
            true => self.cands(Cand::Access),
            false => Vec::new(),
        }
    }

    pub(super) fn sleepers(&self) -> Vec<Sleeper> {
        let mut v = Vec::new();
        if self.on(Family::Kmalloc) {
            v.push(Sleeper::Kmalloc);
        }
        if self.on(Family::Pages) && self.fits(PAGE_SIZE) {
            v.push(Sleeper::AllocPages);
        }
        if self.on(Family::Vmalloc) && self.fits(PAGE_SIZE) {
            v.push(Sleeper::Vmalloc);
        }
        if self.on(Family::Vmalloc) && self.vm_lazy {
            v.push(Sleeper::VmUnmapAliases);
        }
        v.extend(
            self.cands(Cand::Caches)
                .into_iter()
                .map(Sleeper::CacheAlloc),
        );
        v.extend(self.cands(Cand::Pools).into_iter().map(Sleeper::PoolAlloc));
        if self.on(Family::Highmem) {
            v.extend(
                self.cands(Cand::Pages {
                    whole: true,
                    low: false,
                })
                .into_iter()
                .filter(|&p| !self.kmapped(p))
                .map(Sleeper::Kmap),
            );
        }
        if self.on(Family::Slab) {
            v.push(Sleeper::CacheCall);
        }
        v
    }

    /// Ways to enter atomic context now: sections, or a kmap_atomic of one of these pages.
    pub(super) fn atomic_openers(&self) -> (Vec<Ctx>, Vec<usize>) {
        if self.ctx.len() >= MAX_CTX {
            return (Vec::new(), Vec::new());
        }
        let ctxs = match self.on(Family::Context) {
            true => self.openable().as_slice().to_vec(),
            false => Vec::new(),
        };
        let pages = match self.on(Family::Highmem) {
            true => self.cands(Cand::Pages {
                whole: true,
                low: false,
            }),
            false => Vec::new(),
        };
        (ctxs, pages)
    }

    pub(super) fn wrong_translation_cands(&self) -> Vec<usize> {
        if !self.on(Family::Translate) {
            return Vec::new();
        }
        self.find(|i, h| {
            self.alive(i)
                && (self.is_vmalloc_area(i)
                    || matches!(h.kind, Kind::Kmap { high: true, .. }) && self.has_highmem)
        })
    }

    /// (object, other cache) pairs.
    pub(super) fn wrong_cache_cands(&self) -> Vec<(usize, usize)> {
        let caches = self.cands(Cand::Caches);
        let mut v = Vec::new();
        for o in self.cands(Cand::Objs) {
            if let Some(&Kind::SlabObj { cache, .. }) = self.kind(o) {
                v.extend(caches.iter().filter(|&&c| c != cache).map(|&c| (o, c)));
            }
        }
        v
    }

    pub(super) fn destroy_with_live_cands(&self) -> Vec<usize> {
        if self.atomic() {
            return Vec::new();
        }
        let caches = self
            .cands(Cand::Caches)
            .into_iter()
            .filter(|&c| self.cache_has_objects(c) && !self.cache_has_pool(c));
        let pools = self
            .cands(Cand::Pools)
            .into_iter()
            .filter(|&p| self.pool_busy(p));
        caches.chain(pools).collect()
    }

    /// Stack positions of atomic or local mappings with another mapping above them.
    pub(super) fn buried_maps(&self) -> Vec<usize> {
        let mut v = Vec::new();
        let mut seen_map_above = false;
        for (j, c) in self.ctx.iter().enumerate().rev() {
            if let Ctx::Map(..) = c {
                if seen_map_above {
                    v.push(j);
                }
                seen_map_above = true;
            }
        }
        v
    }

    pub(super) fn unmapped_pages(&self) -> Vec<usize> {
        match self.atomic() {
            true => Vec::new(),
            false => self
                .cands(Cand::Pages {
                    whole: true,
                    low: false,
                })
                .into_iter()
                .filter(|&p| !self.kmapped(p))
                .collect(),
        }
    }

    /// Injects misuse `m`; false when there was nothing to inject it with.
    pub fn inject(&mut self, u: &mut impl Draw, m: Misuse) -> Result<bool> {
        let line = match m {
            Misuse::DoubleFree => self.double_free(u)?,
            Misuse::WrongOrder => self.wrong_order(u)?,
            Misuse::UseAfterFree => self.use_after_free(u)?,
            Misuse::WildFree => self.wild_free(u)?,
            Misuse::InteriorFree => self.interior_free(u)?,
            Misuse::OutOfBounds => self.out_of_bounds(u)?,
            Misuse::SleepInAtomic => self.sleep_in_atomic(u)?,
            Misuse::WrongTranslation => self.wrong_translation(u)?,
            Misuse::WrongCache => self.wrong_cache(u)?,
            Misuse::DestroyWithLive => self.destroy_with_live(u)?,
            Misuse::KmapUnbalanced => self.kmap_unbalanced(u)?,
            Misuse::ContextImbalance => self.context_imbalance(u)?,
        };
        Ok(match line {
            Some(line) => {
                self.record(line, m);
                true
            }
            None => false,
        })
    }

    /// The statement that frees handle `i` the way it was allocated, at `offset`.
    fn free_op(&self, i: usize, offset: i64) -> Option<Op> {
        let addr = self.at(i, offset);
        Some(match self.kind(i)? {
            &Kind::Pages { order, .. } => Op::FreePagesPage { page: addr, order },
            &Kind::FreePages { order } => Op::FreePages { addr, order },
            Kind::Kmalloc { .. } => Op::Kfree { addr },
            &Kind::SlabObj { cache, .. } => Op::KmemCacheFree {
                cache: self.operand(cache),
                addr,
            },
            Kind::Vmalloc { .. } => Op::Vfree { addr },
            Kind::Vmap { .. } => Op::Vunmap { addr },
            _ => return None,
        })
    }

    fn double_free(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let Some(i) = one_of(u, &self.double_free_cands())? else {
            return Ok(None);
        };
        let Some(op) = self.free_op(i, 0) else {
            return Ok(None);
        };
        let line = self.emit(None, op);
        self.release(i, Life::Gone);
        Ok(Some(line))
    }

    fn wrong_order(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let Some(i) = one_of(u, &self.wrong_order_cands())? else {
            return Ok(None);
        };
        let order = match self.kind(i) {
            Some(&Kind::Pages { order, .. } | &Kind::FreePages { order }) => order,
            _ => return Ok(None),
        };
        let bad = if chance(u, 12)? {
            MAX_PAGE_ORDER.saturating_add(1)
        } else if order == 0 || chance(u, 50)? {
            order.saturating_add(u32::try_from(pick(u, 1, 2)?).unwrap_or(1))
        } else {
            order - 1
        };
        let addr = self.operand(i);
        let op = match self.kind(i) {
            Some(Kind::Pages { .. }) => Op::FreePagesPage {
                page: addr,
                order: bad,
            },
            _ => Op::FreePages { addr, order: bad },
        };
        let line = self.emit(None, op);
        self.release(i, Life::Gone);
        Ok(Some(line))
    }

    fn use_after_free(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let Some(i) = one_of(u, &self.use_after_free_cands())? else {
            return Ok(None);
        };
        let size = self.addr_size(i).unwrap_or(0);
        let (off, len) = in_bounds(u, size)?;
        Ok(Some(self.access(u, i, offset(off), len)?))
    }

    /// A write (mostly) or a read of `len` bytes at handle `i` plus `off`.
    fn access(&mut self, u: &mut impl Draw, i: usize, off: i64, len: u64) -> Result<u32> {
        let addr = self.at(i, off);
        let op = match chance(u, 25)? {
            true => Op::Read { addr, len },
            false => Op::Write {
                addr,
                len,
                byte: byte(u)?,
            },
        };
        Ok(self.emit(None, op))
    }

    fn wild_free(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        const WILD_32: [u64; 6] = [
            0x1000,
            0x0804_8000,
            0xdead_4ead,
            0x6b6b_6b6b,
            0x5a5a_5a00,
            0x0000_0010_0000,
        ];
        const WILD_64: [u64; 5] = [
            0x1000,
            0x40_0000,
            0xdead_0000_0000_0100,
            0x6b6b_6b6b_6b6b_6b6b,
            0x0000_7fff_f000_0000,
        ];
        let Some(freer) = one_of(u, &self.freers())? else {
            return Ok(None);
        };
        let wild: &[u64] = match self.boot.arch {
            Arch::I386 => &WILD_32,
            Arch::X86_64 => &WILD_64,
        };
        let addr = Operand::Lit(one_of(u, wild)?.unwrap_or(0x1000));
        let op = match freer {
            Freer::Kfree => Op::Kfree { addr },
            Freer::FreePages => Op::FreePages { addr, order: 0 },
            Freer::Vfree => Op::Vfree { addr },
            Freer::CacheFree(c) => Op::KmemCacheFree {
                cache: self.operand(c),
                addr,
            },
        };
        Ok(Some(self.emit(None, op)))
    }

    fn interior_free(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let Some(i) = one_of(u, &self.interior_cands())? else {
            return Ok(None);
        };
        let size = self.addr_size(i).unwrap_or(0);
        let off = match size > 16 && chance(u, 50)? {
            true => 16,
            false => pick(u, 1, size.saturating_sub(1).min(64))?,
        };
        let Some(op) = self.free_op(i, offset(off)) else {
            return Ok(None);
        };
        let line = self.emit(None, op);
        self.release(i, Life::Gone);
        Ok(Some(line))
    }

    fn out_of_bounds(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let Some(i) = one_of(u, &self.out_of_bounds_cands())? else {
            return Ok(None);
        };
        let size = self.addr_size(i).unwrap_or(0);
        let end = match self.is_vmalloc_area(i) && chance(u, 50)? {
            true => page_round(size),
            false => size,
        };
        let (off, len) = match pick(u, 0, 15)? {
            0 => {
                let far = end.saturating_add(PAGE_SIZE.saturating_mul(pick(u, 1, 4)?));
                (offset(far), pick(u, 1, 16)?)
            }
            1 => {
                let before = pick(u, 1, 16)?;
                (-offset(before), before)
            }
            _ => {
                let over = pick(u, 1, 32)?;
                let back = pick(u, 0, end.min(16))?;
                (offset(end.saturating_sub(back)), back.saturating_add(over))
            }
        };
        Ok(Some(self.access(u, i, off, len)?))
    }

    fn sleep_in_atomic(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let sleepers = self.sleepers();
        if sleepers.is_empty() {
            return Ok(None);
        }
        if !self.atomic() {
            let (ctxs, pages) = self.atomic_openers();
            let use_kmap = ctxs.is_empty() || (!pages.is_empty() && chance(u, 20)?);
            match (use_kmap, one_of(u, &ctxs)?, one_of(u, &pages)?) {
                (true, _, Some(p)) | (false, None, Some(p)) => {
                    self.kmap(p, MapHow::Atomic);
                }
                (_, Some(c), _) => self.open(c),
                (_, None, None) => return Ok(None),
            }
        }
        // A sleeper chosen before the section opened may be the page just kmap_atomic'ed:
        // kmap of a page with an atomic mapping is still a sleeping call.
        let Some(s) = one_of(u, &sleepers)? else {
            return Ok(None);
        };
        let gfp = choose::gfp_sleeping(u)?;
        match s {
            Sleeper::Kmalloc => {
                let size = pick(u, 1, 256)?;
                self.bind(
                    Op::Kmalloc { size, gfp },
                    Kind::Kmalloc { size },
                    size.max(8),
                );
            }
            Sleeper::AllocPages => {
                let op = Op::AllocPages { gfp, order: 0 };
                let kind = Kind::Pages {
                    order: 0,
                    high: false,
                };
                self.bind(op, kind, order_bytes(0));
            }
            Sleeper::CacheAlloc(c) => self.cache_alloc(c, gfp, false),
            Sleeper::Vmalloc => {
                let kind = Kind::Vmalloc {
                    size: PAGE_SIZE,
                    low: false,
                };
                self.bind(Op::Vmalloc { size: PAGE_SIZE }, kind, PAGE_SIZE);
            }
            Sleeper::Kmap(p) => {
                self.kmap(p, MapHow::Kmap);
            }
            Sleeper::PoolAlloc(p) => self.pool_alloc(p, GFP_KERNEL | (gfp & !__GFP_ZERO)),
            Sleeper::CacheCall => self.cache_call_in_atomic(u)?,
            Sleeper::VmUnmapAliases => {
                self.emit(None, Op::VmUnmapAliases);
                self.vm_lazy = false;
            }
        }
        Ok(Some(printed_line(self.stmts.len().saturating_sub(1))))
    }

    /// A kmem_cache call that sleeps whatever its arguments: a new cache (refused in an
    /// interrupt, where kmem_cache_sanity_check() fails it, so nothing is bound), or a
    /// shrink, validation or destruction of a live cache (done as anywhere else).
    fn cache_call_in_atomic(&mut self, u: &mut impl Draw) -> Result<()> {
        let caches = self.cands(Cand::Caches);
        let idle: Vec<usize> = caches
            .iter()
            .copied()
            .filter(|&c| !self.cache_busy(c))
            .collect();
        let (c, d) = (one_of(u, &caches)?, one_of(u, &idle)?);
        let n = pick(u, 0, 3)?;
        match (c, d) {
            (_, Some(d)) if n == 3 => {
                let cache = self.operand(d);
                self.emit(None, Op::KmemCacheDestroy { cache });
                self.release(d, Life::Freed);
            }
            (Some(c), _) if n == 2 => {
                let cache = self.operand(c);
                self.emit(None, Op::ValidateSlabCache { cache });
            }
            (Some(c), _) if n == 1 || caches.len() >= MAX_CACHES => {
                let cache = self.operand(c);
                self.emit(None, Op::KmemCacheShrink { cache });
            }
            _ => self.cache_create(u, self.in_interrupt())?,
        }
        Ok(())
    }

    fn wrong_translation(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let addr = match one_of(u, &self.wrong_translation_cands())? {
            Some(i) => {
                let size = self.addr_size(i).unwrap_or(0);
                self.at(i, offset(pick(u, 0, size.saturating_sub(1))?))
            }
            // The classic i386 user text address: below PAGE_OFFSET on both architectures.
            None => Operand::Lit(0x0804_8000),
        };
        let op = match chance(u, 60)? {
            true => Op::VirtToPhys { addr },
            false => Op::VirtToPage { addr },
        };
        Ok(Some(self.emit(None, op)))
    }

    fn wrong_cache(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let Some((o, c)) = one_of(u, &self.wrong_cache_cands())? else {
            return Ok(None);
        };
        let op = Op::KmemCacheFree {
            cache: self.operand(c),
            addr: self.operand(o),
        };
        let line = self.emit(None, op);
        self.release(o, Life::Gone);
        Ok(Some(line))
    }

    fn destroy_with_live(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let Some(x) = one_of(u, &self.destroy_with_live_cands())? else {
            return Ok(None);
        };
        let (op, children) = match self.kind(x) {
            Some(Kind::Cache { .. }) => (
                Op::KmemCacheDestroy {
                    cache: self.operand(x),
                },
                self.find(|_, h| matches!(h.kind, Kind::SlabObj { cache, .. } if cache == x)),
            ),
            Some(Kind::Pool { .. }) => (
                Op::MempoolDestroy {
                    pool: self.operand(x),
                },
                self.find(|_, h| matches!(h.kind, Kind::PoolElem { pool, .. } if pool == x)),
            ),
            _ => return Ok(None),
        };
        let line = self.emit(None, op);
        self.release(x, Life::Gone);
        for child in children {
            if self.get(child).is_some_and(|h| h.life == Life::Live) {
                self.release(child, Life::Gone);
            }
        }
        Ok(Some(line))
    }

    fn kmap_unbalanced(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let buried = self.buried_maps();
        let unmapped = self.unmapped_pages();
        let room = self.ctx.len().saturating_add(2) <= MAX_CTX;
        let pages = self.cands(Cand::Pages {
            whole: true,
            low: false,
        });
        let mut ways = Vec::new();
        if !buried.is_empty() {
            ways.push(0);
        }
        if !unmapped.is_empty() {
            ways.push(1);
        }
        if room && !pages.is_empty() {
            ways.push(2);
        }
        match one_of(u, &ways)? {
            Some(0) => {
                let Some(j) = one_of(u, &buried)? else {
                    return Ok(None);
                };
                Ok(self.unmap_buried(j))
            }
            Some(1) => {
                let Some(p) = one_of(u, &unmapped)? else {
                    return Ok(None);
                };
                let op = Op::Kunmap {
                    page: self.operand(p),
                };
                Ok(Some(self.emit(None, op)))
            }
            Some(_) => {
                let Some(p) = one_of(u, &pages)? else {
                    return Ok(None);
                };
                let how = match chance(u, 30)? {
                    true => MapHow::Local,
                    false => MapHow::Atomic,
                };
                self.kmap(p, how);
                self.kmap(p, how);
                Ok(self.unmap_buried(self.ctx.len().saturating_sub(2)))
            }
            None => Ok(None),
        }
    }

    /// Unmaps the mapping at stack position `j` although it is not the innermost.
    fn unmap_buried(&mut self, j: usize) -> Option<u32> {
        let c = *self.ctx.get(j)?;
        let Ctx::Map(m, _) = c else {
            return None;
        };
        self.ctx.remove(j);
        let line = self.emit(None, self.close_op(c));
        self.release(m, Life::Freed);
        Some(line)
    }

    fn context_imbalance(&mut self, u: &mut impl Draw) -> Result<Option<u32>> {
        let closes = [
            Op::SpinUnlock,
            Op::PreemptEnable,
            Op::IrqExit,
            Op::LocalBhEnable,
        ];
        let i = choose::index(u, closes.len())?;
        let Some(op) = closes.get(i).cloned() else {
            return Ok(None);
        };
        Ok(Some(self.emit(None, op)))
    }
}
