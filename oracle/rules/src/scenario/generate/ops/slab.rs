//! Slab caches: kmem_cache_create, _alloc, _zalloc, _free, _destroy, _shrink, validate.

use super::super::choose::Draw;
use arbitrary::Result;
use kmem_vocab::gfp::__GFP_ZERO;
use kmem_vocab::slab_flags::*;

use super::super::super::ast::Op;
use super::super::choose::{self, byte, chance, one_of};
use super::super::state::{Gen, Kind, Life};
use super::{Action, Cand};

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_slab(&mut self, u: &mut impl Draw, a: Action) -> Result<()> {
        let atomic = self.atomic();
        match a {
            Action::CacheCreate => self.cache_create(u, false)?,
            Action::CacheAlloc => {
                if let Some(c) = self.pick(u, Cand::Caches)? {
                    let gfp = choose::gfp_object(u, atomic, false)?;
                    let zalloc = chance(u, 30)?;
                    self.cache_alloc(c, gfp, zalloc);
                }
            }
            Action::CacheFree => {
                if let Some(i) = self.pick(u, Cand::Objs)? {
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
                if let Some(c) = self.pick_where(u, Cand::Caches, |c| !self.cache_busy(c))? {
                    let op = Op::KmemCacheDestroy {
                        cache: self.operand(c),
                    };
                    self.emit(None, op);
                    self.release(c, Life::Freed);
                }
            }
            Action::CacheQuery => {
                if let Some(c) = self.pick(u, Cand::Caches)? {
                    let cache = self.operand(c);
                    let op = match chance(u, 50)? {
                        true => Op::ValidateSlabCache { cache },
                        false => Op::KmemCacheShrink { cache },
                    };
                    self.emit(None, op);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `kmem_cache_create` of a cache the scenario may use, or, when `refused` (in an
    /// interrupt) or too large, one whose NULL is not bound.
    pub(in super::super) fn cache_create(
        &mut self,
        u: &mut impl Draw,
        refused: bool,
    ) -> Result<()> {
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
        let max = u32::try_from(self.limits.kmalloc_max).unwrap_or(u32::MAX);
        let size = match chance(u, 3)? {
            // The largest object size, or one past it (NULL).
            true => max + u32::from(chance(u, 50)?),
            false => one_of(u, &SIZES)?.unwrap_or(64),
        };
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
        if size > max || refused {
            self.emit(None, op);
            return Ok(());
        }
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
}
