//! The kmalloc rules (mm/slab_common.c, mm/slub.c): the size classes and the kmalloc caches
//! they name (kmalloc-, kmalloc-rcl-, dma-kmalloc-, kmalloc-cg-), large kmalloc straight from
//! the page allocator above KMALLOC_MAX_CACHE_SIZE, KMALLOC_MAX_SIZE, ZERO_SIZE_PTR, and
//! kmalloc/kzalloc/krealloc/ksize/kfree. Objects of the kmalloc caches are judged by the slab
//! rules (super::slab).

use std::collections::{BTreeMap, BTreeSet};

use kmem_vocab::config::KmallocMax;
use kmem_vocab::gfp::*;
use kmem_vocab::slab_flags::*;
use kmem_vocab::{BootConfig, ReportKind};

use super::context::CtxModel;
use super::facts::{MAX_ORDER, PAGE_SHIFT, PAGE_SIZE};
use super::pages::PageModel;
use super::slab::{SlabModel, St};
use super::{FailureKind as F, Judgement, MisuseKind as M, Model};
use crate::outcome::{Env, Outcome};
use crate::scenario::Op;

pub const ZERO_SIZE_PTR: u64 = 16;
pub(crate) const KMALLOC_MAX_CACHE_SIZE: u64 = 8192;

/// The kmalloc size class serving 1 <= size <= 8192, by the rule of mm/slab_common.c rather
/// than its tables: the powers of two from 8 to 8192 (KMALLOC_SHIFT_LOW 3 to
/// KMALLOC_SHIFT_HIGH, PAGE_SHIFT + 1), plus 96 and 192 (for sizes 65..96 and 129..192, which
/// would waste a third of a power of two).
pub fn kmalloc_class(size: u64) -> u64 {
    match size {
        0..=8 => 8,
        65..=96 => 96,
        129..=192 => 192,
        _ => size.next_power_of_two().min(8192),
    }
}

/// The name a kmalloc cache of size class `size` gets: the size in bytes, or in KiB with a
/// `k` from 1024 on (kmalloc-96, kmalloc-1k, kmalloc-8k).
pub(crate) fn kmalloc_class_name(size: u64) -> String {
    if size >= 1024 {
        format!("{}k", size / 1024)
    } else {
        size.to_string()
    }
}

pub(crate) fn get_order(size: u64) -> u32 {
    if size <= PAGE_SIZE {
        0
    } else {
        64 - (size.div_ceil(PAGE_SIZE) - 1).leading_zeros()
    }
}

/// kmalloc's own state: the caches made so far, the large blocks, and what krealloc() copies.
#[derive(Clone, Debug)]
pub struct KmallocModel {
    /// KMALLOC_MAX_SIZE: 4 MiB, or 128 KiB with `kmalloc_max=legacy`.
    pub max: u64,
    /// `kmalloc_max=legacy`.
    pub legacy: bool,
    /// The kmalloc caches made so far, by (type, size class).
    pub(crate) ids: BTreeMap<(u8, u32), usize>,
    /// Those of them that have not handed out an object yet. kmem creates a kmalloc cache
    /// at its first use (Linux at boot, docs/model.md), and the creation's own allocation
    /// fails when memory is out: until a call succeeds, a call may still be the one that
    /// creates it.
    pub(crate) unborn: BTreeSet<usize>,
    /// Every object of the kmalloc caches passes through the client (no mempool yet).
    pub(crate) exact: bool,
    /// Large kmalloc blocks: address -> (order, requested size).
    pub large: BTreeMap<u64, (u32, u64)>,
    /// The bytes krealloc() copies, read before the statement's page events (which may
    /// free the old block).
    pub(crate) stash: Option<Vec<(u64, Option<u8>)>>,
}

impl KmallocModel {
    pub fn new(cfg: &BootConfig) -> KmallocModel {
        let legacy = cfg.kmalloc_max == KmallocMax::Legacy;
        KmallocModel {
            max: if legacy { 128 << 10 } else { 4 << 20 },
            legacy,
            ids: BTreeMap::new(),
            unborn: BTreeSet::new(),
            exact: true,
            large: BTreeMap::new(),
            stash: None,
        }
    }

    /// The same limits with no caches, blocks or stash (for a scratch copy of the slab
    /// model).
    pub(crate) fn settings_only(&self) -> KmallocModel {
        KmallocModel {
            ids: BTreeMap::new(),
            unborn: BTreeSet::new(),
            large: BTreeMap::new(),
            stash: None,
            ..*self
        }
    }
}

/// The kmalloc type `gfp` asks for: (type, its caches' name prefix, their flags).
fn kmalloc_type(gfp: Gfp) -> (u8, &'static str, SlabFlags) {
    if gfp & (__GFP_RECLAIMABLE | __GFP_DMA | __GFP_ACCOUNT) == 0 {
        (0u8, "kmalloc-", 0)
    } else if gfp & __GFP_DMA != 0 {
        (2, "dma-kmalloc-", SLAB_CACHE_DMA)
    } else if gfp & __GFP_RECLAIMABLE != 0 {
        (1, "kmalloc-rcl-", SLAB_RECLAIM_ACCOUNT)
    } else {
        (3, "kmalloc-cg-", SLAB_ACCOUNT)
    }
}

impl SlabModel {
    /// Whether a kmalloc of `size` (served by a cache) with `gfp` may make its cache: it
    /// has none yet, or one that has not handed out an object (docs/model.md).
    pub(crate) fn kmalloc_cache_unborn(&self, size: u64, gfp: Gfp) -> bool {
        let key = (kmalloc_type(gfp).0, kmalloc_class(size) as u32);
        self.kmalloc
            .ids
            .get(&key)
            .is_none_or(|id| self.kmalloc.unborn.contains(id))
    }

    pub(crate) fn kmalloc_cache(&mut self, size: u64, gfp: Gfp) -> usize {
        let (ty, prefix, tflags) = kmalloc_type(gfp);
        let csize = kmalloc_class(size) as u32;
        if let Some(&id) = self.kmalloc.ids.get(&(ty, csize)) {
            if self.kmalloc.unborn.contains(&id) {
                self.cache_struct_taken();
            }
            return id;
        }
        let short = kmalloc_class_name(csize.into());
        let align = if csize.is_power_of_two() {
            csize.max(8)
        } else {
            8
        };
        let id = self.new_cache(
            format!("{prefix}{short}"),
            csize,
            align,
            tflags | SLAB_KMALLOC,
            None,
            true,
        );
        self.kmalloc.ids.insert((ty, csize), id);
        self.kmalloc.unborn.insert(id);
        // Its struct kmem_cache came from the kmem_cache cache, whose slabs the oracle does
        // not follow.
        self.cache_struct_taken();
        id
    }

    pub(crate) fn large_of(&self, va: u64) -> Option<(u64, u32, u64)> {
        let (&a, &(order, req)) = self.kmalloc.large.range(..=va).next_back()?;
        (va < a + (PAGE_SIZE << order)).then_some((a, order, req))
    }

    /// The kernel handed out `v` for a kmalloc of `size` (> 0).
    pub(crate) fn kmalloc_result(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        size: u64,
        gfp: Gfp,
        v: u64,
        zero: bool,
    ) {
        if size <= KMALLOC_MAX_CACHE_SIZE {
            let cid = self.kmalloc_cache(size, gfp);
            if v != 0 {
                self.kmalloc.unborn.remove(&cid);
                self.traffic.gfp = Some(gfp);
                self.allocated(j, pages, cid, v, size, size as u32, zero);
            } else {
                // A cache that has handed out an object exists: the call failed as a
                // cache's allocation does (allocate_slab()'s last attempt). One that has not
                // may have failed to be made, with its own mask.
                if !self.kmalloc.unborn.contains(&cid) {
                    j.warn_alloc.reached();
                    j.slab_oom.reached();
                    self.judge_slab_failure(j, pages, cid, gfp);
                }
                self.spurious(j, cid);
            }
            return;
        }
        let order = get_order(size);
        if size > self.kmalloc.max || order > MAX_ORDER {
            if v != 0 {
                j.fail(
                    F::WrongValue,
                    format!("kmalloc({size}) is above KMALLOC_MAX_SIZE and must fail, got {v:#x}"),
                );
            }
            return;
        }
        if v == 0 {
            // __kmalloc_large_node(): alloc_pages() of get_order(size) with __GFP_COMP and
            // without the zone bits a slab may not use (GFP_SLAB_BUG_MASK); its failure
            // is the page allocator's, warn_alloc() and all; no slab is involved.
            j.warn_alloc.reached();
            j.slab_oom = super::warn_alloc::WarnAlloc::NotFailed;
            pages.failed(j, gfp & !(__GFP_DMA32 | __GFP_HIGHMEM), order);
            return;
        }
        if !v.is_multiple_of(PAGE_SIZE) || !pages.facts.is_lowmem_va(v) {
            j.fail(
                F::Misaligned,
                format!("large kmalloc({size}) returned {v:#x}, not a page-aligned lowmem address"),
            );
            return;
        }
        let pfn = (v - self.page_offset) >> PAGE_SHIFT;
        match pages.block_of(pfn) {
            Some((h, b)) if h == pfn && b.order == order && !b.client && !self.slabs.contains_key(&h) && !self.kmalloc.large.contains_key(&v) => {
                self.kmalloc.large.insert(v, (order, size));
                if zero {
                    self.shadow(pages, v, size, Some(0));
                }
            }
            _ => j.fail(F::Overlap, format!("large kmalloc({size}) returned {v:#x}, which is not a block of order {order} just taken from the page allocator")),
        }
    }

    /// A large kmalloc block went back (kfree judged it already).
    pub fn pages_freed(&mut self, pfn: u64) {
        let va = self.slab_base(pfn);
        self.kmalloc.large.remove(&va);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn kmalloc(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        size: u64,
        gfp: Gfp,
        zero: bool,
        v: u64,
    ) {
        if size == 0 {
            if v != ZERO_SIZE_PTR {
                j.fail(
                    F::WrongValue,
                    format!("kmalloc(0) must return ZERO_SIZE_PTR (16), got {v:#x}"),
                );
            }
            return;
        }
        let legacy_big =
            size > KMALLOC_MAX_CACHE_SIZE && size > self.kmalloc.max && self.kmalloc.legacy;
        if !legacy_big {
            ctx.might_alloc(j, gfp);
        }
        self.kmalloc_result(j, pages, size, gfp, v, zero || gfp & __GFP_ZERO != 0);
    }

    pub fn kfree(&mut self, j: &mut Judgement, pages: &mut PageModel, addr: u64) {
        if addr <= ZERO_SIZE_PTR {
            return;
        }
        self.free(j, pages, None, addr);
    }

    /// A struct kmem_cache may be taken from SLUB's own kmem_cache cache by this statement:
    /// its slabs become `internal`, and a destroyed cache's struct may be the one reused.
    pub(crate) fn cache_struct_taken(&mut self) {
        self.traffic.created = true;
        self.structs_made += 1;
    }

    /// Whether `p` lies in a slab of SLUB's own kmem_cache cache (see `internal`).
    pub(crate) fn in_internal_slab(&self, pages: &PageModel, p: u64) -> bool {
        pages.facts.is_lowmem_va(p)
            && pages
                .block_of(self.pa(p) >> PAGE_SHIFT)
                .is_some_and(|(head, b)| !b.client && self.internal.contains(&head))
    }

    /// ksize(): the usable size; lifts the kmalloc red zone of an object. None when the
    /// pointer is no object the model knows: Linux answers with whatever cache or folio the
    /// page now belongs to, which the model cannot predict.
    pub fn ksize(
        &mut self,
        j: &mut Judgement,
        pages: &PageModel,
        addr: u64,
        v: Option<u64>,
    ) -> Option<u64> {
        if addr <= ZERO_SIZE_PTR {
            return Some(0);
        }
        if let Some((head, slab)) = self.slab_of(pages, addr) {
            let c = self.caches[slab.cache].clone();
            let ks = c.ksize() as u64;
            if let Some(slot) = self.slot_of_object(head, &slab, addr) {
                match self.state(slab.cache, slot) {
                    St::Live {
                        req, client: true, ..
                    } => {
                        let s = self.slot_mut(slot);
                        s.st = St::Live {
                            req: req.max(ks.min(c.l.object_size as u64)),
                            orig: c.l.object_size,
                            client: true,
                        };
                    }
                    St::Freed => j.misuse.push(M::UseAfterFree),
                    St::Unknown => {
                        self.taint_next = true;
                    }
                    _ => j.misuse.push(M::WildAccess),
                }
            } else {
                j.misuse.push(M::OutOfBounds);
            }
            return Some(ks);
        }
        if let Some((order, _)) = self.kmalloc.large.get(&addr).copied() {
            let ks = PAGE_SIZE << order;
            self.kmalloc.large.insert(addr, (order, ks));
            return Some(ks);
        }
        let _ = v;
        j.misuse.push(M::WildAccess);
        None
    }

    #[allow(clippy::too_many_arguments)]
    pub fn krealloc(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        p: u64,
        n: u64,
        gfp: Gfp,
        v: u64,
    ) {
        if n == 0 {
            self.kfree(j, pages, p);
            if v != ZERO_SIZE_PTR {
                j.fail(
                    F::WrongValue,
                    format!("krealloc(p, 0) must return ZERO_SIZE_PTR, got {v:#x}"),
                );
            }
            return;
        }
        // The old object's bytes, for the copy.
        let (ks, old_req) = if p > ZERO_SIZE_PTR {
            match self.slab_of(pages, p) {
                Some((head, slab)) if self.slot_of_object(head, &slab, p).is_some() => {
                    let slot = self.slot_of_object(head, &slab, p).unwrap_or(0);
                    let old = match self.state(slab.cache, slot) {
                        St::Live {
                            req, client: true, ..
                        } => req,
                        _ => 0,
                    };
                    (self.ksize(j, pages, p, None).unwrap_or(0), old)
                }
                Some(_) => (0, 0),
                None => match self.kmalloc.large.get(&p).copied() {
                    Some((order, req)) => (PAGE_SIZE << order, req),
                    None if self.in_internal_slab(pages, p) => {
                        // A dangling pointer into a slab of SLUB's own kmem_cache cache:
                        // ksize() answers that cache's object size (or 0 where the pointer
                        // is no object's start, red zones on), so krealloc() keeps the
                        // pointer or kfree()s it, and SLUB's checks of that slab may report.
                        j.misuse.push(M::WildAccess);
                        j.allow.extend([
                            ReportKind::InvalidFree,
                            ReportKind::DoubleFree,
                            ReportKind::RedzoneOverwritten,
                            ReportKind::PoisonOverwritten,
                            ReportKind::PaddingOverwritten,
                            ReportKind::FreepointerCorrupt,
                        ]);
                        self.taint_next = true;
                        return;
                    }
                    None => (0, 0),
                },
            }
        } else {
            (0, 0)
        };
        if ks >= n {
            if v != p {
                j.fail(F::WrongValue, format!("krealloc({p:#x}, {n}) fits in ksize {ks} and must return the same pointer, got {v:#x}"));
                return;
            }
            if let Some((head, slab)) = self.slab_of(pages, p) {
                if let Some(slot) = self.slot_of_object(head, &slab, p) {
                    if let St::Live {
                        orig, client: true, ..
                    } = self.state(slab.cache, slot)
                    {
                        self.slot_mut(slot).st = St::Live {
                            req: n,
                            orig,
                            client: true,
                        };
                    }
                }
            } else if let Some((order, _)) = self.kmalloc.large.get(&p).copied() {
                self.kmalloc.large.insert(p, (order, n));
            }
            return;
        }
        // What the client may use of the old object (a direct-map address), as runs.
        let runs = match self.kmalloc.stash.take() {
            Some(r) => r,
            None => pages.shadow.runs_of(self.pa(p), old_req.min(n)),
        };
        self.kmalloc(j, pages, ctx, n, gfp, false, v);
        if v != 0 {
            // A run of equal bytes at a time (the client fills objects whole or in runs).
            let mut start = 0;
            for &(len, b) in &runs {
                self.shadow(pages, v + start, len, b);
                start += len;
            }
            // memcpy() copies ksize(p) bytes: beyond what the client asked, whatever they held.
            let copied = start;
            if ks.min(n) > copied {
                self.shadow(pages, v + copied, ks.min(n) - copied, None);
            }
            // krealloc() frees p only when the new object is elsewhere: a kmalloc() that
            // hands back p's own block (p was freed behind the client's back and the block
            // taken again) leaves it allocated.
            if p > ZERO_SIZE_PTR && v != p {
                self.kfree(j, pages, p);
            }
        }
    }

    /// The bytes the client may use at object pointer `p` (0 for anything else).
    pub(crate) fn client_req(&self, pages: &PageModel, p: u64) -> u64 {
        if p <= ZERO_SIZE_PTR {
            return 0;
        }
        if let Some((head, slab)) = self.slab_of(pages, p) {
            if let Some(slot) = self.slot_of_object(head, &slab, p) {
                if let St::Live {
                    req, client: true, ..
                } = self.state(slab.cache, slot)
                {
                    return req;
                }
            }
            return 0;
        }
        self.kmalloc.large.get(&p).map_or(0, |&(_, req)| req)
    }
}

/// kmalloc's part of [`Model`].
impl Model {
    /// Before the statement's page events are observed (they may free the old block): the
    /// bytes krealloc() copies (`Model::begin` has emptied the stash of the one before).
    pub(super) fn kmalloc_before_events(&mut self, op: &Op, env: &Env) {
        if let Op::Krealloc { addr, size, .. } = op {
            let p = self.evaluator(env)(addr);
            let old = self.slab.client_req(&self.pages, p);
            let runs = self.pages.shadow.runs_of(self.slab.pa(p), old.min(*size));
            self.slab.kmalloc.stash = Some(runs);
        }
    }

    /// Judges a kmalloc-family statement, once its page events are observed.
    pub(super) fn kmalloc_op(&mut self, j: &mut Judgement, op: &Op, env: &Env, out: &Outcome) {
        let ev = self.evaluator(env);
        let v = out.value.unwrap_or(0);
        let (s, pages, ctx) = (&mut self.slab, &mut self.pages, &self.ctx);
        match op {
            Op::Kmalloc { size, gfp } => s.kmalloc(j, pages, ctx, *size, *gfp, false, v),
            Op::Kzalloc { size, gfp } => s.kmalloc(j, pages, ctx, *size, *gfp, true, v),
            Op::Krealloc { addr, size, gfp } => s.krealloc(j, pages, ctx, ev(addr), *size, *gfp, v),
            Op::Ksize { addr } => {
                if let Some(want) = s.ksize(j, pages, ev(addr), out.value) {
                    if v != want {
                        j.fail(F::WrongValue, format!("ksize gave {v}, expected {want}"));
                    }
                }
            }
            Op::Kfree { addr } => s.kfree(j, pages, ev(addr)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod class_tests {
    use super::*;

    #[test]
    fn kmalloc_classes_follow_slab_common() {
        // kmalloc_info[] and size_index[] of mm/slab_common.c, by their rule.
        let cases = [
            (1, 8),
            (8, 8),
            (9, 16),
            (33, 64),
            (64, 64),
            (65, 96),
            (96, 96),
            (97, 128),
            (129, 192),
            (192, 192),
            (193, 256),
            (4097, 8192),
            (8192, 8192),
        ];
        for (size, class) in cases {
            assert_eq!(kmalloc_class(size), class, "kmalloc({size})");
        }
        assert_eq!(kmalloc_class_name(96), "96");
        assert_eq!(kmalloc_class_name(1024), "1k");
        assert_eq!(kmalloc_class_name(8192), "8k");
    }
}
