//! The zone policy the page rules predict: which zone of the zonelist an allocation must
//! come from (the low watermark first, then the min watermark with what the mask earns, and
//! lowmem_reserve), when a failure is spurious, and when memory is plentiful enough that a
//! few allocations cannot fail.

use kmem_vocab::gfp::*;

use super::PageModel;
use crate::model::facts::MAX_ORDER;
use crate::model::{FailureKind as F, Judgement};

impl PageModel {
    /// Is there a naturally aligned run of 2^order pages in zone `zi` that is neither
    /// reserved nor allocated?
    pub(super) fn has_free_block(&self, zi: usize, order: u32) -> bool {
        self.free.get(zi).is_some_and(|f| f.has_block(order))
    }

    /// __zone_watermark_ok() at the min watermark with the flags the mask earns.
    pub(super) fn watermark_ok(&self, zi: usize, order: u32, highest: usize, gfp: Gfp) -> bool {
        let free = self.zone_free(zi) as i64 - ((1i64 << order) - 1);
        self.floor(zi, highest, gfp)
            .is_none_or(|floor| free > floor)
    }

    /// The free pages zone `zi` must keep for a `gfp` request whose zonelist starts at
    /// `highest` (the min watermark the mask earns plus lowmem_reserve); None when the mask
    /// ignores watermarks (__GFP_MEMALLOC).
    pub(super) fn floor(&self, zi: usize, highest: usize, gfp: Gfp) -> Option<i64> {
        if gfp & __GFP_MEMALLOC != 0 && gfp & __GFP_NOMEMALLOC == 0 {
            return None;
        }
        let z = &self.facts.zones[zi];
        let mut min = z.min as i64;
        if gfp & __GFP_HIGH != 0 {
            min -= min / 2;
            if gfp & __GFP_DIRECT_RECLAIM == 0 && gfp & __GFP_NOMEMALLOC == 0 {
                min -= min / 4;
            }
        }
        Some(min + z.reserve.get(highest).copied().unwrap_or(0) as i64)
    }

    /// The block another allocator took at `pfn` with `gfp` during a statement whose page
    /// events are `events`: [`PageModel::below_floor`] of it, with the pages taken after it
    /// as `later` (a page given back later counts as left, so this errs towards passing).
    /// (zone, free pages the take left, floor) when it broke the rule.
    pub fn took_below_floor(
        &self,
        gfp: Gfp,
        pfn: u64,
        events: &[kmem_vocab::PageEvent],
    ) -> Option<(usize, i64, i64)> {
        use kmem_vocab::PageEvent::Alloc;
        let k = events
            .iter()
            .position(|e| matches!(*e, Alloc { pfn: p, .. } if p == pfn))?;
        let later = events
            .get(k + 1..)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| match *e {
                Alloc { pfn, order } => Some((pfn, 1i64 << order)),
                _ => None,
            });
        self.below_floor(gfp, &[pfn], later)
            .map(|(_, zi, left, floor)| (zi, left, floor))
    }

    /// Blocks another allocator took with `gfp` (`later`: blocks taken after these from the
    /// same zones, with any mask, as (pfn, pages)): each take left its zone at or above the
    /// floor the mask must respect, so the zone's free count now plus what was taken from it
    /// later may not be below it. The first block that breaks the rule: (pfn, zone, free
    /// pages it left, floor).
    pub fn below_floor(
        &self,
        gfp: Gfp,
        pfns: &[u64],
        later: impl IntoIterator<Item = (u64, i64)>,
    ) -> Option<(u64, usize, i64, i64)> {
        if !self.exact {
            return None;
        }
        let highest = self.facts.highest_zone(gfp);
        // What a page leaves and the floor it must respect depend on its zone alone: worked
        // out once a zone, then the first page in a zone below its floor is the answer.
        let mut after = vec![0i64; self.facts.zones.len()];
        for (p, n) in later {
            if let Some(a) = self.facts.zone_index(p).and_then(|zi| after.get_mut(zi)) {
                *a += n;
            }
        }
        let below: Vec<Option<(i64, i64)>> = (0..self.facts.zones.len())
            .map(|zi| {
                let floor = self.floor(zi, highest, gfp)?;
                let left = self.zone_free(zi) as i64 + after[zi];
                (left < floor).then_some((left, floor))
            })
            .collect();
        if below.iter().all(Option::is_none) {
            return None;
        }
        pfns.iter().find_map(|&pfn| {
            let zi = self.facts.zone_index(pfn)?;
            let (left, floor) = (*below.get(zi)?)?;
            Some((pfn, zi, left, floor))
        })
    }

    /// The zone get_page_from_freelist() must take an order-`order` block from: the first
    /// zone of the zonelist (from the highest the mask allows down) above its low watermark
    /// and lowmem_reserve with a free block (the fast path), else the first above the min
    /// watermark the mask earns (the slow path, no reclaim in the model).
    pub(super) fn first_zone(&self, gfp: Gfp, order: u32) -> Option<usize> {
        let highest = self.facts.highest_zone(gfp);
        let low_ok = |zi: usize| {
            let z = &self.facts.zones[zi];
            let free = self.zone_free(zi) as i64 - ((1i64 << order) - 1);
            free > (z.low + z.reserve.get(highest).copied().unwrap_or(0)) as i64
        };
        (0..=highest)
            .rev()
            .find(|&zi| low_ok(zi) && self.has_free_block(zi, order))
            .or_else(|| {
                (0..=highest).rev().find(|&zi| {
                    self.watermark_ok(zi, order, highest, gfp) && self.has_free_block(zi, order)
                })
            })
    }

    /// An order-`order` allocation with `gfp` returned NULL: spurious when a zone the mask
    /// allows has a free aligned block above the watermark the mask must respect.
    pub fn failed(&self, j: &mut Judgement, gfp: Gfp, order: u32) {
        if order > MAX_ORDER || !self.exact {
            return;
        }
        let highest = self.facts.highest_zone(gfp);
        if let Some(zi) = (0..=highest).rev().find(|&zi| {
            self.watermark_ok(zi, order, highest, gfp) && self.has_free_block(zi, order)
        }) {
            j.fail(
                F::SpuriousFailure,
                format!(
                    "order-{order} allocation failed, but zone {} has {} free pages above its watermark and a free aligned block",
                    self.facts.zones[zi].kind.name(),
                    self.zone_free(zi)
                ),
            );
        }
    }

    /// Whether memory is plentiful for `gfp`: a zone it allows has, above its min watermark
    /// and reserve, more than `pages` free pages and a free block of `order`. Then a few
    /// allocations of at most that order, `pages` pages in all, cannot fail.
    pub fn plentiful(&self, gfp: Gfp, order: u32, pages: u64) -> bool {
        if !self.exact {
            return false;
        }
        let highest = self.facts.highest_zone(gfp);
        (0..=highest).any(|zi| {
            let z = &self.facts.zones[zi];
            let floor = z.min + z.reserve.get(highest).copied().unwrap_or(0);
            self.zone_free(zi) > floor + pages && self.has_free_block(zi, order)
        })
    }

    /// Free pages a run of order-0 allocations with `gfp` can take before every zone it may
    /// use is down to its min watermark (plus the lowmem reserve against that mask).
    pub fn free_above_watermarks(&self, gfp: Gfp) -> u64 {
        let highest = self.facts.highest_zone(gfp);
        (0..=highest)
            .map(|zi| {
                let z = &self.facts.zones[zi];
                let floor = z.min + z.reserve.get(highest).copied().unwrap_or(0) + 1;
                self.zone_free(zi).saturating_sub(floor)
            })
            .sum()
    }
}
