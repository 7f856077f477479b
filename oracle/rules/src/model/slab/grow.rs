//! When a cache's slabs come and go, predicted for a cache whose every object passes
//! through the client (an exact cache): a new slab exactly when the cache has no free
//! object, of the order the cache's `oo` gives (or its `min` when the page allocator
//! refused that), and an empty slab discarded exactly when the node already holds at least
//! `min_partial` partial slabs (mm/slub.c, 6.6: new_slab(), free_to_partial_list()), and
//! every slab without a live object discarded by kmem_cache_shrink() and
//! kmem_cache_destroy().
//!
//! kmem models SLUB with one CPU and without per-CPU slabs or per-CPU partial lists: every
//! allocation takes the first partial slab, every free goes straight to its slab, the path
//! Linux takes for a debug cache (free_to_partial_list()). So the node's partial list holds
//! exactly the slabs with a free object, and the rule of __slab_free() and
//! free_to_partial_list() ("inuse == 0 && nr_partial >= min_partial") decides a discard
//! from what the oracle knows. Linux without debugging would keep a cpu slab and park
//! empty slabs on the per-CPU partial list (put_cpu_partial()) first: there the page
//! traffic comes later than kmem's, in batches.

use kmem_vocab::gfp::*;
use kmem_vocab::slab_flags::*;
use kmem_vocab::PageEvent;
use std::sync::Arc;

use super::{SlabModel, St};
use crate::model::facts::PAGE_SIZE;
use crate::model::kmalloc::get_order;
use crate::model::pages::PageModel;
use crate::model::{FailureKind as F, Judgement, Model};
use crate::scenario::Op;

/// MIN_PARTIAL and MAX_PARTIAL (mm/slub.c): the bounds of s->min_partial.
const MIN_PARTIAL: u32 = 5;
const MAX_PARTIAL: u32 = 10;
/// slub_max_order: PAGE_ALLOC_COSTLY_ORDER.
const SLUB_MAX_ORDER: u32 = 3;
/// MAX_OBJS_PER_PAGE (mm/slub.c).
const MAX_OBJS_PER_PAGE: u64 = 32767;
/// MAX_PAGE_ORDER.
const MAX_PAGE_ORDER: u32 = 10;

/// s->min_partial: ilog2(size) / 2, within [MIN_PARTIAL, MAX_PARTIAL] (set_min_partial()).
pub(crate) fn min_partial(size: u32) -> u32 {
    (size.max(1).ilog2() / 2).clamp(MIN_PARTIAL, MAX_PARTIAL)
}

/// Objects in a slab of `order` for slots of `size` bytes.
fn objects(order: u32, size: u64) -> u64 {
    (PAGE_SIZE << order) / size.max(1)
}

/// calc_slab_order(): the lowest order from the one `min_objects` need that wastes at most
/// 1/`fract` of the slab (slub_min_order 0); above `max_order` when none does.
fn slab_order_for(size: u64, min_objects: u64, max_order: u32, fract: u64) -> u32 {
    if objects(0, size) > MAX_OBJS_PER_PAGE {
        return get_order(size * MAX_OBJS_PER_PAGE).saturating_sub(1);
    }
    let mut order = get_order(min_objects * size);
    while order <= max_order {
        let slab = PAGE_SIZE << order;
        if slab % size <= slab / fract {
            break;
        }
        order += 1;
    }
    order
}

/// s->oo's order: calculate_order() on one CPU (min_objects 4 * (fls(1) + 1) = 8).
pub(crate) fn slab_order(size: u32) -> Option<u32> {
    let size = u64::from(size);
    if size == 0 {
        return None;
    }
    let mut min_objects = 8u64.min(objects(SLUB_MAX_ORDER, size));
    while min_objects > 1 {
        for fract in [16, 8, 4] {
            let order = slab_order_for(size, min_objects, SLUB_MAX_ORDER, fract);
            if order <= SLUB_MAX_ORDER {
                return Some(order);
            }
        }
        min_objects -= 1;
    }
    [SLUB_MAX_ORDER, MAX_PAGE_ORDER]
        .into_iter()
        .map(|max| (max, slab_order_for(size, 1, max, 1)))
        .find(|&(max, order)| order <= max)
        .map(|(_, order)| order)
}

/// The mask of a slab's page allocation: new_slab() keeps the caller's reclaim and constraint
/// bits (`flags & (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK)`: no zone, no __GFP_ZERO) and
/// allocate_slab() adds the cache's allocflags.
fn slab_page_gfp(gfp: Gfp, flags: SlabFlags) -> Gfp {
    (gfp & (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK)) | allocflags(flags)
}

/// What the page rules say of an order-`order` allocation with `gfp` that found no block:
/// the zone that still had one above its watermark, if any (empty when the failure was
/// right).
fn blocks_to_be_had(pages: &PageModel, gfp: Gfp, order: u32) -> Vec<String> {
    let mut tmp = Judgement::default();
    pages.failed(&mut tmp, gfp, order);
    tmp.failures.into_iter().map(|(_, msg)| msg).collect()
}

/// GFP_SLAB_BUG_MASK: a mask kmalloc_fix_flags() corrects (and reports) first.
const GFP_SLAB_BUG_MASK: Gfp = __GFP_DMA32 | __GFP_HIGHMEM | !__GFP_BITS_MASK;

/// s->allocflags' zone bits (kmem_cache_open()): the zone a cache's slabs must come from.
pub(crate) fn allocflags(flags: SlabFlags) -> Gfp {
    let mut g = 0;
    if flags & SLAB_CACHE_DMA != 0 {
        g |= __GFP_DMA;
    }
    if flags & SLAB_CACHE_DMA32 != 0 {
        g |= __GFP_DMA32;
    }
    g
}

/// What the statement being judged did to the slabs of exact caches, judged against its
/// page events.
#[derive(Clone, Debug, Default)]
pub struct SlabTraffic {
    /// An allocation from an exact cache: the new slab it took (head pfn), or None when the
    /// object came from a slab the cache had.
    pub grew: Option<Option<u64>>,
    /// Slabs a free left empty: (head pfn, cache name, partial slabs on the node before the
    /// free, min_partial).
    pub emptied: Vec<(u64, Arc<str>, u32, u32)>,
    /// Slabs a kmem_cache_shrink() or kmem_cache_destroy() goes over: (head pfn, cache
    /// name, whether it holds no live object and so must be discarded).
    pub reaped: Vec<(u64, Arc<str>, bool)>,
    /// The mask of the allocation being judged (kmem_cache_alloc, kmalloc).
    pub gfp: Option<Gfp>,
    /// New slabs of exact caches: (head pfn, the mask of the page allocation that gave it,
    /// cache), each of whose takes must have left its zone at or above the floor that mask
    /// respects. Only a statement that sets `grew` adds one.
    pub new_slabs: Vec<(u64, Gfp, usize)>,
    /// A kmalloc cache was created on first use: its struct kmem_cache may have taken a
    /// slab of the kmem_cache cache, which the oracle does not follow.
    pub created: bool,
}

impl SlabTraffic {
    /// Nothing recorded: no slab rule ran for the statement.
    pub fn is_quiet(&self) -> bool {
        self.grew.is_none()
            && (self.emptied.len() | self.reaped.len()) == 0
            && self.gfp.is_none()
            && !self.created
    }
}

impl SlabModel {
    /// Whether a slab of cache `cid` other than `except` has a free object.
    fn free_object_elsewhere(&self, cid: usize, except: u64) -> Option<u64> {
        self.slabs
            .iter()
            .filter(|&(&pfn, s)| s.cache == cid && pfn != except)
            .find_map(|(&pfn, _)| {
                self.slot_addrs(pfn)
                    .into_iter()
                    .find(|&slot| matches!(self.state(cid, slot), St::Freed | St::Untouched))
            })
    }

    /// A new slab of `order` pages at `head` for exact cache `cid`: the cache must have had
    /// no free object, and the order must be its oo order or, when the first try at that
    /// order found no block (`pages`, after the statement's events: a block of that order
    /// free above the watermark now was free before), its min order.
    pub(crate) fn judge_new_slab(
        &mut self,
        j: &mut Judgement,
        pages: &PageModel,
        cid: usize,
        head: u64,
        order: u32,
    ) {
        let c = &self.caches[cid];
        if let Some(slot) = self.free_object_elsewhere(cid, head) {
            j.fail(
                F::WrongValue,
                format!(
                    "{} took a new slab at pfn {head:#x} while its object {:#x} was free",
                    c.name,
                    slot + u64::from(c.l.rlp)
                ),
            );
        }
        let oo = slab_order(c.l.size);
        let min = get_order(u64::from(c.l.size));
        if oo != Some(order) && order != min {
            j.fail(
                F::WrongValue,
                format!(
                    "{} took a slab of order {order}; its slabs are of order {} (or {min} when that fails)",
                    c.name,
                    oo.map_or("none".to_string(), |o| o.to_string())
                ),
            );
        } else if let Some(gfp) = self.traffic.gfp.filter(|g| g & GFP_SLAB_BUG_MASK == 0) {
            // new_slab()'s first try, at the cache's order: __GFP_NOWARN | __GFP_NORETRY,
            // no __GFP_NOFAIL, and no reclaim (but __GFP_NOMEMALLOC) above the min order.
            // The second, at the min order, with the slab's mask as it is.
            let page_gfp = slab_page_gfp(gfp, c.flags);
            let first = |oo: u32| {
                let m = (page_gfp | __GFP_NOWARN | __GFP_NORETRY) & !__GFP_NOFAIL;
                match m & __GFP_DIRECT_RECLAIM != 0 && oo > min {
                    true => (m | __GFP_NOMEMALLOC) & !__GFP_RECLAIM,
                    false => m,
                }
            };
            if let Some(oo) = oo.filter(|&o| o != order) {
                for msg in blocks_to_be_had(pages, first(oo), oo) {
                    j.fail(
                        F::WrongValue,
                        format!(
                            "{} took a slab of its min order {order}, not {oo}: {msg}",
                            c.name
                        ),
                    );
                }
            }
            // Either try may have given a min-order slab, and the second's floor is the
            // lower.
            let took_with = match order == min {
                true => page_gfp,
                false => first(order),
            };
            self.traffic.new_slabs.push((head, took_with, cid));
        }
        self.traffic.grew = Some(Some(head));
    }

    /// Exact or not, a live cache's allocation returned NULL: allocate_slab()'s last attempt,
    /// at the min order with [`slab_page_gfp`], found no block. NULL is spurious where the
    /// page allocator must have given one.
    pub(crate) fn judge_slab_failure(
        &self,
        j: &mut Judgement,
        pages: &PageModel,
        cid: usize,
        gfp: Gfp,
    ) {
        let c = &self.caches[cid];
        let min = get_order(u64::from(c.l.size));
        for msg in blocks_to_be_had(pages, slab_page_gfp(gfp, c.flags), min) {
            j.fail(
                F::SpuriousFailure,
                format!("{} could not take a new slab: {msg}", c.name),
            );
        }
    }

    /// The last live object of slab `head` (of exact cache `cid`) was freed: whether it must
    /// be discarded is known from the partial slabs (those with a free object) before.
    pub(crate) fn slab_emptied(&mut self, cid: usize, head: u64) {
        let mut nr_partial = 0;
        for (&pfn, s) in self.slabs.iter().filter(|(_, s)| s.cache == cid) {
            let partial = if pfn == head {
                // It had objects - 1 free ones before this free.
                s.objects > 1
            } else {
                self.slot_addrs(pfn)
                    .into_iter()
                    .any(|slot| matches!(self.state(cid, slot), St::Freed | St::Untouched))
            };
            nr_partial += u32::from(partial);
        }
        let c = &self.caches[cid];
        self.traffic
            .emptied
            .push((head, c.name.clone(), nr_partial, min_partial(c.l.size)));
    }
}

impl SlabModel {
    /// kmem_cache_shrink() or kmem_cache_destroy() of exact cache `cid`: every slab without
    /// a live object is on the partial list and is discarded (__kmem_cache_do_shrink(),
    /// __kmem_cache_shutdown()); a slab with one stays.
    pub(crate) fn slabs_reaped(&mut self, cid: usize) {
        let name = self.caches[cid].name.clone();
        let reaped: Vec<(u64, Arc<str>, bool)> = self
            .slabs
            .iter()
            .filter(|(_, s)| s.cache == cid)
            .map(|(&pfn, _)| {
                let empty = self
                    .slot_addrs(pfn)
                    .into_iter()
                    .all(|slot| matches!(self.state(cid, slot), St::Freed | St::Untouched));
                (pfn, name.clone(), empty)
            })
            .collect();
        self.traffic.reaped.extend(reaped);
    }
}

impl Model {
    /// The slab traffic the statement's page events must show: a new slab's pages taken
    /// exactly when it took one, an emptied slab's pages given back exactly when the rule
    /// says.
    pub(super) fn judge_slab_traffic(&mut self, j: &mut Judgement, op: &Op, events: &[PageEvent]) {
        let t = std::mem::take(&mut self.slab.traffic);
        if t.created {
            j.warn_alloc.kmalloc_cache_created();
            j.slab_oom.kmalloc_cache_created();
            for e in events {
                if let PageEvent::Alloc { pfn, .. } = *e {
                    let va = self.slab.slab_base(pfn);
                    let s = &mut self.slab;
                    if !s.slabs.contains_key(&pfn) && !s.kmalloc.large.contains_key(&va) {
                        s.internal.insert(pfn);
                    }
                }
            }
        }
        if !self.slab.internal.is_empty() {
            for e in events {
                if let PageEvent::Free { pfn, .. } = *e {
                    self.slab.internal.remove(&pfn);
                }
            }
        }
        if self.tainted || self.slab.taint_next {
            return;
        }
        for &(head, gfp, cid) in &t.new_slabs {
            // The slab's mask carries the cache's zone (allocflags: SLAB_CACHE_DMA is
            // __GFP_DMA): its pages lie in that zone or below.
            let facts = &self.pages.facts;
            let highest = facts.highest_zone(gfp);
            if let Some(z) = facts.zone_index(head).filter(|&z| z > highest) {
                j.fail(
                    F::WrongZone,
                    format!(
                        "{} took a slab at pfn {head:#x} from {}; {} allows zones up to {}",
                        self.slab.caches[cid].name,
                        facts.zones[z].kind.name(),
                        format_gfp(gfp),
                        facts.zones[highest].kind.name()
                    ),
                );
                continue;
            }
            if let Some((zi, left, floor)) = self.pages.took_below_floor(gfp, head, events) {
                j.fail(
                    F::Watermark,
                    format!(
                        "{} took a slab at pfn {head:#x} from {}, leaving {left} free pages there, below the {floor} {} must keep",
                        self.slab.caches[cid].name,
                        self.pages.facts.zones[zi].kind.name(),
                        format_gfp(gfp)
                    ),
                );
            }
        }
        let single = matches!(
            op,
            Op::KmemCacheAlloc { .. }
                | Op::KmemCacheZalloc { .. }
                | Op::Kmalloc { .. }
                | Op::Kzalloc { .. }
        );
        if let (true, Some(grew)) = (single, t.grew) {
            let taken: Vec<u64> = events
                .iter()
                .filter_map(|e| match *e {
                    PageEvent::Alloc { pfn, .. } => Some(pfn),
                    PageEvent::Free { .. } => None,
                })
                .collect();
            let want: Vec<u64> = grew.into_iter().collect();
            let wrong = if t.created {
                want.iter().any(|h| !taken.contains(h)) || taken.len() > want.len() + 1
            } else {
                taken != want
            };
            if wrong {
                j.fail(
                    F::WrongValue,
                    format!(
                        "{} took pages at {:x?} from the page allocator; it needed {}",
                        op.name(),
                        taken,
                        match grew {
                            Some(h) => format!("one new slab, at pfn {h:#x}"),
                            None => "none: the cache had a free object".to_string(),
                        }
                    ),
                );
            }
        }
        for (head, name, empty) in t.reaped {
            let discarded = events
                .iter()
                .any(|e| matches!(*e, PageEvent::Free { pfn, .. } if pfn == head));
            if discarded != empty {
                j.fail(
                    F::WrongValue,
                    format!(
                        "{}: the slab at pfn {head:#x} of {name} {}",
                        op.name(),
                        if empty {
                            "holds no live object: it must be discarded"
                        } else {
                            "holds live objects: it must stay"
                        }
                    ),
                );
            }
        }
        for (head, name, nr_partial, min) in t.emptied {
            let discarded = events
                .iter()
                .any(|e| matches!(*e, PageEvent::Free { pfn, .. } if pfn == head));
            let must = nr_partial >= min;
            if discarded != must {
                j.fail(
                    F::WrongValue,
                    format!(
                        "{}: the slab at pfn {head:#x} of {name} went empty with {nr_partial} partial slabs on the node (min_partial {min}): discard_slab() {} have freed it",
                        op.name(),
                        if must { "must" } else { "must not" }
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_orders_and_min_partial_follow_calculate_order() {
        // kmalloc-8 .. kmalloc-8k on one CPU.
        assert_eq!(slab_order(8), Some(0));
        assert_eq!(slab_order(512), Some(0));
        assert_eq!(slab_order(1024), Some(1));
        assert_eq!(slab_order(2048), Some(2));
        assert_eq!(slab_order(4096), Some(3));
        assert_eq!(slab_order(8192), Some(3));
        assert_eq!(min_partial(8), 5);
        assert_eq!(min_partial(1 << 20), 10);
        assert_eq!(min_partial(4096), 6);
    }
}
