//! The cache statements: kmem_cache_create (the arguments Linux refuses, the flags it keeps),
//! kmem_cache_alloc/zalloc/free, kmem_cache_destroy with objects remaining,
//! kmem_cache_shrink and validate_slab_cache (validate_slab()'s order of checks).

use kmem_vocab::gfp::*;
use kmem_vocab::slab_flags::*;
use kmem_vocab::ReportKind;

use super::layout::{alignment, layout};
use super::{ptr_of, CacheM, SlabModel, St};
use crate::model::context::CtxModel;
use crate::model::pages::PageModel;
use crate::model::{FailureKind as F, Judgement, MisuseKind as M};

impl SlabModel {
    pub(crate) fn new_cache(
        &mut self,
        name: String,
        size: u32,
        align: u32,
        flags: SlabFlags,
        ctor: Option<u8>,
        kmalloc: bool,
    ) -> usize {
        let ptr = ptr_of(self.arch) as u32;
        let align = alignment(flags, align, size, ptr);
        let flags = flags | self.debug;
        let l = layout(size, align, flags, ctor.is_some(), kmalloc, self.arch);
        self.caches.push(CacheM {
            name: name.into(),
            flags,
            l,
            ctor,
            kmalloc,
            alive: true,
            destroyed_at: None,
            exact: !kmalloc || self.kmalloc.exact,
            leaked: false,
        });
        self.caches.len() - 1
    }

    /// A cache stops being exact (a mempool allocates from it behind the client's back):
    /// slots the client freed may now hold kernel objects.
    pub(crate) fn make_inexact(&mut self, pages: &mut PageModel, ids: &[usize]) {
        let mut lost_dirty = false;
        for &id in ids {
            if let Some(c) = self.caches.get_mut(id) {
                c.exact = false;
            }
        }
        let slabs: Vec<(u64, usize, bool)> = self
            .slabs
            .iter()
            .map(|(&p, s)| (p, s.cache, s.tail_dirty()))
            .collect();
        for (pfn, cid, tail) in slabs {
            if !ids.contains(&cid) {
                continue;
            }
            lost_dirty |= tail;
            let l = self.caches[cid].l;
            for slot in self.slot_addrs(pfn) {
                if !matches!(self.slots.get(&slot).map(|s| s.st), Some(St::Live { .. })) {
                    // A mempool may poison it behind the client's back.
                    self.shadow(pages, slot + l.rlp as u64, l.object_size as u64, None);
                }
                if let Some(s) = self.slots.get_mut(&slot) {
                    if matches!(s.st, St::Freed | St::Untouched) {
                        lost_dirty |= !s.dirty.is_empty();
                        s.st = St::Unknown;
                        s.dirty = Default::default();
                    }
                }
            }
        }
        if lost_dirty {
            self.taint_next = true;
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn cache_create(
        &mut self,
        j: &mut Judgement,
        pages: &PageModel,
        ctx: &CtxModel,
        name: &str,
        size: u32,
        align: u32,
        flags: SlabFlags,
        ctor: Option<u8>,
        v: u64,
    ) {
        // slab_mutex (and cpus_read_lock() with a debug flag) before any check.
        ctx.might_sleep(j);
        // The struct kmem_cache comes from SLUB's own kmem_cache cache, whose slabs the
        // rules do not follow (made at the first creation, with that cache's own struct).
        self.cache_struct_taken();
        let bad = name.is_empty()
            || ctx.in_interrupt()
            || size as u64 > self.kmalloc.max
            || size == 0
            || (align != 0 && !align.is_power_of_two())
            || align as u64 > self.kmalloc.max;
        if bad {
            if v != 0 {
                j.fail(
                    F::WrongValue,
                    format!("kmem_cache_create({name}) must fail here, got {v:#x}"),
                );
            }
            return;
        }
        let permitted = SLAB_CONSISTENCY_CHECKS
            | SLAB_RED_ZONE
            | SLAB_POISON
            | SLAB_HWCACHE_ALIGN
            | SLAB_CACHE_DMA
            | SLAB_CACHE_DMA32
            | SLAB_STORE_USER
            | SLAB_PANIC
            | SLAB_TYPESAFE_BY_RCU
            | SLAB_RECLAIM_ACCOUNT
            | SLAB_ACCOUNT;
        if v == 0 {
            // The struct kmem_cache comes from the kmem_cache cache: with memory plentiful
            // and flags Linux permits, creation cannot fail, unless the object with its
            // debugging metadata needs a slab above MAX_PAGE_ORDER (calculate_order()).
            let ptr = ptr_of(self.arch) as u32;
            let kept = flags & permitted;
            let l = layout(
                size,
                alignment(kept, align, size, ptr),
                kept | self.debug,
                ctor.is_some(),
                false,
                self.arch,
            );
            let fits = crate::model::kmalloc::get_order(u64::from(l.size))
                <= crate::model::facts::MAX_ORDER;
            if fits && flags & !permitted == 0 && pages.plentiful(GFP_KERNEL, 3, 256) {
                j.fail(
                    F::SpuriousFailure,
                    format!("kmem_cache_create({name}, {size}) failed with memory to spare"),
                );
            }
            return;
        }
        let id = self.new_cache(
            name.to_string(),
            size,
            align,
            flags & permitted,
            ctor,
            false,
        );
        if let Some(&old) = self.by_handle.get(&v) {
            if self.caches[old].alive {
                j.fail(
                    F::Overlap,
                    format!(
                        "kmem_cache_create returned {v:#x}, the handle of live cache {}",
                        self.caches[old].name
                    ),
                );
            }
        }
        self.by_handle.insert(v, id);
    }

    /// The live cache `h` names: Ok(its index), or Err(whether what the call does next is
    /// still predicted) after judging the operand ([`SlabModel::bad_handle`]).
    pub(crate) fn live_cache(
        &mut self,
        j: &mut Judgement,
        pages: &PageModel,
        h: u64,
    ) -> Result<usize, bool> {
        match self.by_handle.get(&h) {
            Some(&id) if self.caches[id].alive => Ok(id),
            _ => Err(self.bad_handle(j, pages, h)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn cache_alloc(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        h: u64,
        gfp: Gfp,
        zero: bool,
        v: u64,
    ) {
        let cid = match self.live_cache(j, pages, h) {
            Ok(cid) => cid,
            Err(predicted) => {
                if v != 0 && predicted {
                    j.fail(
                        F::WrongValue,
                        format!("allocation from {h:#x}, no live cache, returned {v:#x}"),
                    );
                }
                return;
            }
        };
        ctx.might_alloc(j, gfp);
        if v == 0 {
            // Only a new slab the page allocator could not give fails a live cache's
            // allocation, and its last attempt has the caller's mask.
            j.warn_alloc.reached();
            j.slab_oom.reached();
            self.spurious(j, cid);
            self.judge_slab_failure(j, pages, cid, gfp);
            return;
        }
        let os = self.caches[cid].l.object_size;
        self.traffic.gfp = Some(gfp);
        self.allocated(
            j,
            pages,
            cid,
            v,
            os as u64,
            os,
            zero || gfp & __GFP_ZERO != 0,
        );
    }

    pub fn cache_free(&mut self, j: &mut Judgement, pages: &mut PageModel, h: u64, addr: u64) {
        let Ok(cid) = self.live_cache(j, pages, h) else {
            return;
        };
        self.free(j, pages, Some(cid), addr);
    }

    pub fn cache_destroy(&mut self, j: &mut Judgement, pages: &PageModel, ctx: &CtxModel, h: u64) {
        if h == 0 {
            return;
        }
        // cpus_read_lock(), then slab_mutex.
        ctx.might_sleep(j);
        let Ok(cid) = self.live_cache(j, pages, h) else {
            return;
        };
        if self.caches[cid].leaked {
            // kmem_cache_destroy(): s->refcount went to 0 at the destroy that found objects
            // remaining; this one takes it below 0 and does nothing more.
            return;
        }
        let mut live = false;
        let mut unknown = false;
        for (&pfn, s) in &self.slabs {
            if s.cache != cid {
                continue;
            }
            for slot in self.slot_addrs(pfn) {
                match self.state(cid, slot) {
                    St::Live { .. } => live = true,
                    St::Unknown => unknown = true,
                    _ => {}
                }
            }
        }
        // A slab pool's reserve, and what it handed out, are objects of the cache that the
        // pool took behind the client's back: the oracle may not know their slots.
        let kind = super::super::mempool::PoolKind::Slab(cid);
        for p in self.mempool.pools.values().filter(|p| p.kind == kind) {
            if !p.exact {
                unknown = true;
            } else if !p.reserve.is_empty() || !p.out.is_empty() {
                live = true;
            }
        }
        if self.caches[cid].exact && !unknown {
            self.slabs_reaped(cid);
        }
        if live {
            j.misuse(
                M::Report(ReportKind::ObjectsRemaining),
                Some(ReportKind::ObjectsRemaining),
            );
            // The cache is kept, usable, with its refcount at 0.
            self.caches[cid].leaked = true;
        } else if unknown {
            j.allow.push(ReportKind::ObjectsRemaining);
            self.taint_next = true;
        } else {
            // The handle stays known: naming it again is a use of a destroyed cache.
            self.caches[cid].alive = false;
            self.caches[cid].destroyed_at = Some(self.structs_made);
        }
    }

    pub fn cache_shrink(&mut self, j: &mut Judgement, pages: &PageModel, ctx: &CtxModel, h: u64) {
        // flush_all() takes cpus_read_lock() first.
        ctx.might_sleep(j);
        if let Ok(cid) = self.live_cache(j, pages, h) {
            if self.caches[cid].exact {
                self.slabs_reaped(cid);
            }
        }
    }

    /// validate_slab_cache(): each slab with a free object (and, with U, each full one):
    /// the tail padding, then its objects in address order up to the first that fails.
    pub fn validate(&mut self, j: &mut Judgement, pages: &PageModel, ctx: &CtxModel, h: u64) {
        let Ok(cid) = self.live_cache(j, pages, h) else {
            return;
        };
        // Its object map comes from kmalloc(GFP_KERNEL).
        ctx.might_sleep(j);
        let c = self.caches[cid].clone();
        let heads: Vec<u64> = self
            .slabs
            .iter()
            .filter(|(_, s)| s.cache == cid)
            .map(|(&p, _)| p)
            .collect();
        for head in heads {
            let slots = self.slot_addrs(head);
            let states: Vec<St> = slots.iter().map(|&s| self.state(cid, s)).collect();
            let dirty = slots
                .iter()
                .any(|s| self.slots.get(s).is_some_and(|x| !x.dirty.is_empty()))
                || self.slabs.get(&head).is_some_and(|s| s.tail_dirty());
            if !dirty {
                continue;
            }
            if states.iter().any(|s| matches!(s, St::Unknown)) {
                self.allow_cache(j, cid);
                self.taint_next = true;
                continue;
            }
            let partial = states
                .iter()
                .any(|s| matches!(s, St::Freed | St::Untouched));
            if !partial && !c.has(SLAB_STORE_USER) {
                continue;
            }
            if c.has(SLAB_POISON) {
                self.pad_check(j, head);
            }
            for (slot, st) in slots.into_iter().zip(states) {
                let (active, orig) = match st {
                    St::Live { orig, .. } => (true, orig),
                    _ => (false, c.l.object_size),
                };
                let (reps, ok) = self.check_object(cid, slot, active, orig);
                j.expect.extend(reps);
                if !ok {
                    break;
                }
            }
        }
    }
}
