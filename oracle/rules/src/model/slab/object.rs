//! Objects handed out and given back: what a cache may hand out (a free slot of one of its
//! slabs, aligned, checked with F), what a free must report (an invalid pointer, a wrong
//! cache, a double free), and a slab's pages going back (discard_slab()).

use kmem_vocab::slab_flags::*;
use kmem_vocab::ReportKind;

use super::debug::{POISON_END, POISON_FREE};
use super::{SlabM, SlabModel, St};
use crate::model::facts::{PAGE_SHIFT, PAGE_SIZE};
use crate::model::kmalloc::ZERO_SIZE_PTR;
use crate::model::pages::PageModel;
use crate::model::runs::RunMap;
use crate::model::{FailureKind as F, Judgement, MisuseKind as M};

impl SlabModel {
    /// Judges object `v` handed out by cache `cid` for `req` bytes (`orig`: SLUB's
    /// orig_size); records it live. Returns false when it is no object of the cache.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn allocated(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        cid: usize,
        v: u64,
        req: u64,
        orig: u32,
        zero: bool,
    ) -> bool {
        let c = self.caches[cid].clone();
        let l = c.l;
        if !pages.facts.is_lowmem_va(v) {
            j.fail(
                F::WrongValue,
                format!("{} handed out {v:#x}, not a lowmem address", c.name),
            );
            return false;
        }
        let pfn = (v - self.page_offset) >> PAGE_SHIFT;
        let Some((head, b)) = pages.block_of(pfn) else {
            j.fail(
                F::Overlap,
                format!("{} handed out {v:#x}, in a free page", c.name),
            );
            return false;
        };
        if b.client {
            j.fail(
                F::Overlap,
                format!(
                    "{} handed out {v:#x}, in pages the client holds since line {}",
                    c.name, b.line
                ),
            );
            return false;
        }
        if self.kmalloc.large.contains_key(&self.slab_base(head)) {
            j.fail(
                F::Overlap,
                format!(
                    "{} handed out {v:#x}, inside a live large kmalloc block",
                    c.name
                ),
            );
            return false;
        }
        let slab = match self.slabs.get(&head) {
            Some(s) if s.cache != cid => {
                j.fail(
                    F::Overlap,
                    format!(
                        "{} handed out {v:#x}, in a slab of {}",
                        c.name, self.caches[s.cache].name
                    ),
                );
                return false;
            }
            Some(s) => {
                if c.exact {
                    self.traffic.grew = Some(None);
                }
                s.clone()
            }
            None => {
                // An exact cache's slab is new when the oracle first sees an object of it.
                if c.exact && !(c.has(SLAB_CONSISTENCY_CHECKS) && self.has_dirty_free(cid)) {
                    self.judge_new_slab(j, pages, cid, head, b.order);
                }
                let objects = ((PAGE_SIZE << b.order) / l.size.max(1) as u64) as u32;
                let s = SlabM {
                    cache: cid,
                    order: b.order,
                    objects,
                    tail: RunMap::default(),
                };
                self.slabs.insert(head, s.clone());
                if let (Some(cb), true) = (c.ctor, c.exact) {
                    // The constructor ran on every object when the slab was made.
                    for slot in self.slot_addrs(head) {
                        self.shadow(pages, slot + l.rlp as u64, l.object_size as u64, Some(cb));
                    }
                }
                s
            }
        };
        let Some(slot) = self.slot_of_object(head, &slab, v) else {
            j.fail(F::Misaligned, format!("{} handed out {v:#x}, which is not the start of one of its objects (slot size {}, left red zone {})", c.name, l.size, l.rlp));
            return false;
        };
        if !v.is_multiple_of(l.align as u64) {
            j.fail(
                F::Misaligned,
                format!("{} handed out {v:#x}, not aligned to {}", c.name, l.align),
            );
        }
        match self.state(cid, slot) {
            St::Live { client, .. } => {
                j.fail(
                    F::Overlap,
                    format!(
                        "{} handed out {v:#x}, which is {}",
                        c.name,
                        if client {
                            "live"
                        } else {
                            "in a mempool's reserve"
                        }
                    ),
                );
                return false;
            }
            St::Unknown => {}
            St::Freed | St::Untouched => {
                if c.has(SLAB_CONSISTENCY_CHECKS) {
                    if c.has(SLAB_POISON) {
                        self.pad_check(j, head);
                    }
                    let bad = self.would_fail(cid, slot, false, l.object_size);
                    if bad.iter().any(|k| *k != ReportKind::PaddingOverwritten) {
                        j.fail(
                            F::MissedReport,
                            format!(
                                "{} handed out {v:#x}, whose {} check must have failed",
                                c.name, bad[0]
                            ),
                        );
                    }
                    // Padding findings do not stop the allocation.
                    let (reps, _) = self.check_object(cid, slot, false, l.object_size);
                    j.expect.extend(reps);
                }
            }
        }
        // Other objects the allocator may have checked (and refused) first.
        if c.has(SLAB_CONSISTENCY_CHECKS) {
            self.allow_cache(j, cid);
        }
        let s = self.slot_mut(slot);
        s.st = St::Live {
            req,
            orig,
            client: true,
        };
        s.pool_dirty = false;
        if c.debug() {
            self.init_object(cid, slot, true, orig);
        }
        // What the object holds.
        let obj = slot + l.rlp as u64;
        let os = l.object_size as u64;
        let zero_len = if c.kmalloc && c.has(SLAB_STORE_USER | SLAB_RED_ZONE) {
            orig as u64
        } else {
            os
        };
        if zero {
            self.shadow(pages, obj, os, None);
            self.shadow(pages, obj, zero_len.min(os), Some(0));
        } else if c.object_poison() {
            let ps = if c.has(SLAB_RED_ZONE) && c.orig_on() {
                orig as u64
            } else {
                os
            };
            self.shadow(pages, obj, os, None);
            if ps > 0 {
                self.shadow(pages, obj, ps - 1, Some(POISON_FREE));
                self.shadow(pages, obj + ps - 1, 1, Some(POISON_END));
            }
        } else if c.ctor.is_none() {
            self.shadow(pages, obj, os, None);
        }
        true
    }

    /// NULL from an exact cache that still has a free object is a spurious failure. With
    /// consistency checks, a free object the client corrupted may be the one the allocator
    /// checks first: alloc_debug_processing() refuses it, reports it and marks its whole
    /// slab used ("Marking all objects used"), clean objects and all, so the allocation may
    /// then need a new slab and fail for want of memory. Which slabs went is not known:
    /// the reports are allowed (a printed one taints the run) and the failure is not judged.
    pub(crate) fn spurious(&self, j: &mut Judgement, cid: usize) {
        let exact = self.caches[cid].exact;
        // Where the model no longer knows which objects are free (a mempool may hold some),
        // any object the client corrupted may be the one SLUB checked.
        if self.caches[cid].has(SLAB_CONSISTENCY_CHECKS) && (!exact || self.has_dirty_free(cid)) {
            self.allow_cache(j, cid);
            return;
        }
        if !exact {
            return;
        }
        for (&pfn, s) in &self.slabs {
            if s.cache != cid {
                continue;
            }
            for slot in self.slot_addrs(pfn) {
                if matches!(self.state(cid, slot), St::Freed | St::Untouched)
                    && self.slots.get(&slot).is_none_or(|x| x.dirty.is_empty())
                    && !s.tail_dirty()
                {
                    j.fail(
                        F::SpuriousFailure,
                        format!(
                            "{} failed an allocation with object {:#x} free",
                            self.caches[cid].name,
                            slot + self.caches[cid].l.rlp as u64
                        ),
                    );
                    return;
                }
            }
        }
    }

    /// Whether a slab of cache `cid` has a free object or a tail the client corrupted.
    pub(crate) fn has_dirty_free(&self, cid: usize) -> bool {
        self.slabs
            .iter()
            .filter(|(_, s)| s.cache == cid)
            .any(|(&pfn, s)| {
                s.tail_dirty()
                    || self.slot_addrs(pfn).into_iter().any(|slot| {
                        matches!(self.state(cid, slot), St::Freed | St::Untouched)
                            && self.slots.get(&slot).is_some_and(|x| !x.dirty.is_empty())
                    })
            })
    }

    /// kfree()/kmem_cache_free() of `addr`; `cache` is the cache kmem_cache_free() named.
    pub(crate) fn free(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        cache: Option<usize>,
        addr: u64,
    ) {
        let invalid = |j: &mut Judgement| {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            )
        };
        if let Some((head, slab)) = self.slab_of(pages, addr) {
            if let Some(c) = cache {
                if c != slab.cache {
                    j.misuse(
                        M::Report(ReportKind::WrongCache),
                        Some(ReportKind::WrongCache),
                    );
                }
            }
            let Some(slot) = self.slot_of_object(head, &slab, addr) else {
                invalid(j);
                return;
            };
            self.free_slot(j, pages, slab.cache, head, slot);
            return;
        }
        if cache.is_none() {
            if addr <= ZERO_SIZE_PTR {
                return;
            }
            if let Some((order, _)) = self.kmalloc.large.get(&addr).copied() {
                self.kmalloc.large.remove(&addr);
                let _ = order;
                return;
            }
        }
        if pages.facts.is_lowmem_va(addr) {
            let pfn = (addr - self.page_offset) >> PAGE_SHIFT;
            // A block given back by this very statement was the kernel's: a slab of objects
            // the oracle never saw (a mempool's reserve) that this free emptied.
            let block = pages.block_of(pfn);
            let kernel = match block {
                Some((_, b)) => !b.client,
                None => pages.given_back_now(pfn),
            };
            match block {
                _ if kernel && self.large_of(addr).is_none() => {
                    // Kernel pages the oracle does not know: possibly a slab of internal
                    // objects.
                    j.misuse.push(M::WildAccess);
                    j.allow.extend([
                        ReportKind::InvalidFree,
                        ReportKind::WrongCache,
                        ReportKind::DoubleFree,
                    ]);
                    j.allow.extend(ReportKind::ALL.iter().copied());
                    self.taint_next = true;
                    return;
                }
                None if cache.is_none() && !pages.facts.is_reserved(pfn) => {
                    j.misuse(
                        M::Report(ReportKind::DoubleFree),
                        Some(ReportKind::DoubleFree),
                    );
                    return;
                }
                _ => {}
            }
        }
        invalid(j);
    }

    pub(crate) fn free_slot(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        cid: usize,
        head: u64,
        slot: u64,
    ) {
        let c = self.caches[cid].clone();
        let st = self.state(cid, slot);
        let orig = match st {
            St::Live { orig, .. } => orig,
            _ => c.l.object_size,
        };
        let free_now = matches!(st, St::Freed | St::Untouched);
        if matches!(st, St::Unknown) || matches!(st, St::Live { client: false, .. }) {
            // A kernel-internal object (or one the oracle cannot place): whatever happens
            // next is unpredictable.
            j.misuse.push(if matches!(st, St::Unknown) {
                M::WildAccess
            } else {
                M::UseAfterFree
            });
            j.allow.extend(ReportKind::ALL.iter().copied());
            self.taint_next = true;
            return;
        }
        if free_now {
            j.misuse.push(M::Report(ReportKind::DoubleFree));
        }
        if c.debug() {
            if c.has(SLAB_CONSISTENCY_CHECKS) && c.has(SLAB_POISON) {
                self.pad_check(j, head);
            }
            let live = self.live_in_slab(head);
            match live {
                Some(0) => {
                    j.expect.push(ReportKind::DoubleFree);
                    return;
                }
                None if free_now => {
                    j.allow.push(ReportKind::DoubleFree);
                    self.taint_next = true;
                    return;
                }
                _ => {}
            }
            if c.has(SLAB_CONSISTENCY_CHECKS) {
                if free_now {
                    j.expect.push(ReportKind::DoubleFree);
                    return;
                }
                let (reps, ok) = self.check_object(cid, slot, true, orig);
                j.expect.extend(reps);
                if !ok {
                    // "Object at ... not freed": it stays allocated, and the client lost it.
                    if let Some(s) = self.slots.get_mut(&slot) {
                        if let St::Live { orig, .. } = s.st {
                            s.st = St::Live {
                                req: 0,
                                orig,
                                client: true,
                            };
                        }
                    }
                    return;
                }
            } else if free_now {
                // Without F only set_freepointer()'s naive check (FREELIST_HARDENED) may
                // notice, when the object heads its slab's free list; else the list loops.
                j.allow.push(ReportKind::DoubleFree);
                self.taint_next = true;
                return;
            }
            self.init_object(cid, slot, false, orig);
        } else if free_now {
            // As above: the naive check's BUG, or a free list that loops.
            j.allow.push(ReportKind::DoubleFree);
            self.taint_next = true;
            return;
        }
        let s = self.slot_mut(slot);
        s.st = St::Freed;
        let obj = slot + c.l.rlp as u64;
        if c.ctor.is_none() {
            self.shadow(pages, obj, c.l.object_size as u64, None);
        }
        if c.exact && self.live_in_slab(head) == Some(0) {
            self.slab_emptied(cid, head);
        }
    }

    /// Live objects in a slab, if the oracle knows every slot.
    pub(crate) fn live_in_slab(&self, head: u64) -> Option<u32> {
        let s = self.slabs.get(&head)?;
        let mut n = 0;
        for slot in self.slot_addrs(head) {
            match self.state(s.cache, slot) {
                St::Live { .. } => n += 1,
                St::Unknown => return None,
                _ => {}
            }
        }
        Some(n)
    }

    /// A slab's pages went back to the page allocator (discard_slab()): with F every object
    /// is checked as free and the tail padding as well; no object may be live.
    pub fn slab_freed(&mut self, j: &mut Judgement, pfn: u64) {
        let Some(s) = self.slabs.get(&pfn).cloned() else {
            return;
        };
        let c = self.caches[s.cache].clone();
        let slots = self.slot_addrs(pfn);
        // A misuse of this statement nothing caught (a double free without debugging) has
        // already made the slab's count wrong: SLUB discards it with objects live, as Linux
        // does, and the run is tainted from the next statement.
        let judged: &[u64] = if self.taint_next { &[] } else { &slots };
        let live = judged
            .iter()
            .filter(|&&slot| matches!(self.state(s.cache, slot), St::Live { client: true, .. }));
        for &slot in live {
            j.fail(
                F::Overlap,
                format!(
                    "{} gave its slab at pfn {pfn:#x} back while object {:#x} is live",
                    c.name,
                    slot + c.l.rlp as u64
                ),
            );
        }
        if c.has(SLAB_CONSISTENCY_CHECKS) {
            if s.tail_dirty() && c.has(SLAB_POISON) {
                j.expect.push(ReportKind::PaddingOverwritten);
            }
            for &slot in &slots {
                if self.slots.get(&slot).is_some_and(|x| !x.dirty.is_empty()) {
                    let (reps, _) = self.check_object(s.cache, slot, false, c.l.object_size);
                    j.expect.extend(reps);
                }
            }
        }
        for slot in slots {
            self.slots.remove(&slot);
        }
        self.slabs.remove(&pfn);
    }
}
