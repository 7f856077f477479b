//! vmalloc, vzalloc, vmalloc_32, __vmalloc_node and vmap judged: where the area may lie,
//! which pages it must take and from which zones, when the call must fail and when a
//! failure is spurious.

use rustc_hash::FxHashMap;

use kmem_vocab::gfp::*;

use super::free::check_frees;
use super::place::area_len;
use super::{Area, AreaKind, VmallocModel};
use crate::model::context::CtxModel;
use crate::model::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use crate::model::pages::PageModel;
use crate::model::warn_alloc::WarnAlloc;
use crate::model::{FailureKind as F, Judgement};
use crate::outcome::Outcome;
use crate::scenario::Op;

/// One call of the vmalloc family: vmalloc() is `__vmalloc_node(size, 1, GFP_KERNEL)`.
#[derive(Clone, Copy, Debug)]
pub struct VmallocCall {
    /// The function's name, for messages.
    pub what: &'static str,
    pub size: u64,
    pub align: u64,
    pub gfp: Gfp,
}

/// The vmalloc-family call an operation is, with the mask and alignment its wrapper uses.
pub(crate) fn vmalloc_call(op: &Op) -> Option<VmallocCall> {
    let (what, size, align, gfp) = match *op {
        Op::Vmalloc { size } => ("vmalloc", size, 1, GFP_KERNEL),
        Op::Vzalloc { size } => ("vzalloc", size, 1, GFP_KERNEL | __GFP_ZERO),
        // GFP_VMALLOC32.
        Op::Vmalloc32 { size } => ("vmalloc_32", size, 1, GFP_KERNEL | GFP_DMA32),
        Op::VmallocNode { size, align, gfp } => ("__vmalloc_node", size, align, gfp),
        _ => return None,
    };
    Some(VmallocCall {
        what,
        size,
        align,
        gfp,
    })
}

impl VmallocModel {
    /// Checks an area the kernel placed at `v` spanning `pages` pages plus the guard.
    fn check_place(&self, j: &mut Judgement, f: &Facts, what: &str, v: u64, pages: u64) -> bool {
        let end = v as u128 + ((pages as u128 + 1) << PAGE_SHIFT);
        if !v.is_multiple_of(PAGE_SIZE) {
            j.fail(
                F::Misaligned,
                format!("{what} returned {v:#x}, not page aligned"),
            );
            return false;
        }
        if v < f.vmalloc_start || end > f.vmalloc_end as u128 {
            j.fail(
                F::WrongValue,
                format!(
                    "{what} returned {v:#x}: the area and its guard page must lie in [{:#x}, {:#x})",
                    f.vmalloc_start, f.vmalloc_end
                ),
            );
            return false;
        }
        let end = end as u64;
        let clash = self
            .areas
            .range(..end)
            .next_back()
            .filter(|(&s, a)| a.end(s) > v);
        if let Some((&s, a)) = clash {
            j.fail(
                F::Overlap,
                format!(
                    "{what} area {v:#x}-{end:#x} (guard included) overlaps the area {s:#x}-{:#x} from line {}",
                    a.end(s),
                    a.line
                ),
            );
            return false;
        }
        true
    }

    /// Is there a free range between the known areas where Linux's search must succeed for
    /// `pages` pages and a guard at an `align`ed start? Above PAGE_SIZE, it looks for
    /// size + align - 1 bytes (the worst-case alignment overhead): with a smaller range only,
    /// success depends on the shape of Linux's free tree, and a failure is allowed.
    fn has_room(&self, f: &Facts, pages: u64, align: u64) -> bool {
        let size = (pages + 1) << PAGE_SHIFT;
        let want = if align > PAGE_SIZE {
            size.saturating_add(align - 1)
        } else {
            size
        };
        let mut cur = f.vmalloc_start;
        for (&s, a) in &self.areas {
            if s >= cur && s - cur >= want {
                return true;
            }
            cur = cur.max(a.end(s));
        }
        f.vmalloc_end > cur && f.vmalloc_end - cur >= want
    }

    fn record(&mut self, start: u64, area: Area) {
        let end = area.end(start);
        self.take_ranges(start, end, &area.array_areas);
        let gone: Vec<u64> = self.freed.range(start..end).map(|(&s, _)| s).collect();
        for s in gone {
            self.freed.remove(&s);
        }
        self.areas.insert(start, area);
    }

    /// vmalloc(), vzalloc(), vmalloc_32() and __vmalloc_node(): `call` says which.
    #[allow(clippy::too_many_arguments)]
    pub fn vmalloc(
        &mut self,
        j: &mut Judgement,
        ctx: &CtxModel,
        pages: &mut PageModel,
        line: u32,
        call: VmallocCall,
        out: &Outcome,
        events: &[kmem_vocab::PageEvent],
    ) {
        let f = pages.facts.clone();
        let VmallocCall {
            what,
            size,
            align,
            gfp,
        } = call;
        let align = f.word(align);
        let zero = gfp & __GFP_ZERO != 0;
        // __vmalloc_area_node(): highmem unless a DMA zone was asked for.
        let page_gfp = if gfp & (__GFP_DMA | __GFP_DMA32) == 0 {
            gfp | __GFP_HIGHMEM
        } else {
            gfp
        };
        let mut frees = vec![];
        self.flush_if(j, ctx, &mut frees);
        let got = out.value.unwrap_or(0);
        let real = f.word(size);
        let too_big = (real >> PAGE_SHIFT) > Self::totalram(&f);
        let mut must_fail = real == 0 || too_big;
        let aligned = f.word(real.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1));
        // BUG_ON(in_interrupt()) in __get_vm_area_node(), reported as the sleeping check
        // is (in an interrupt might_sleep() always reports).
        if !must_fail && ctx.in_interrupt() {
            ctx.might_sleep(j);
            must_fail = true;
        }
        must_fail |= aligned == 0;
        let n = aligned >> PAGE_SHIFT;
        // alloc_vmap_area(): -EINVAL unless the alignment is a power of two.
        let bad_align = !align.is_power_of_two();
        let levels = array_levels(n, Self::ptr_size(&f));
        let k = array_pages(n, Self::ptr_size(&f));
        // The vm_struct's kzalloc checks a blocking mask; alloc_vmap_area()'s might_sleep()
        // checks any other, after its alignment check. Once per call: the page array's own
        // vmalloc does not report again.
        if !must_fail && (gfpflags_allow_blocking(gfp) || !bad_align) {
            ctx.might_sleep(j);
        }
        must_fail |= bad_align;
        // The pages taken and kept, in order; what was freed must be what is expected.
        let (allocs, freed_now) = kept_and_freed(events);
        check_frees(j, what, &frees, &freed_now);
        // __vmalloc_area_node() takes its pages one at a time (page order 0: no huge
        // mappings without VM_ALLOW_HUGE_VMAP), the page arrays' pages too.
        if let Some(order) = events.iter().find_map(|e| match *e {
            kmem_vocab::PageEvent::Alloc { order, .. } if order != 0 => Some(order),
            _ => None,
        }) {
            j.fail(
                F::WrongValue,
                format!("{what} took an order-{order} block; it takes single pages"),
            );
        }
        // Where the area must go (lowest fit), once the deferred frees have run and the
        // lazy list is purged if the search would find no room.
        let len = area_len(n);
        let fits = if must_fail {
            None
        } else {
            self.fits(len, align)
        };
        if got == 0 {
            // Every way __vmalloc_node_range() fails with a size goes through warn_alloc():
            // more than totalram_pages(), the vm_struct or its address space (a bad
            // alignment's -EINVAL too), the page array, the pages. Only a size of 0
            // (WARN_ON_ONCE) and __get_vm_area_node()'s BUG_ON(in_interrupt()), which comes
            // after the totalram check, return without it. (With __GFP_NOWARN it prints
            // nothing, but a kmalloc cache made on the way may have: that stays "may".)
            if real != 0 && (too_big || !ctx.in_interrupt()) && gfp & __GFP_NOWARN == 0 {
                j.warn_alloc.reached();
            }
            if real == 0 {
                j.warn_alloc = WarnAlloc::NothingAllocated;
                j.slab_oom = WarnAlloc::NothingAllocated;
            }
            // The page arrays' searches may have purged before the vmalloc failed.
            match fits.as_ref().map(|f| f.at.as_slice()) {
                None | Some([]) => {}
                Some(&[one]) => self.place_arrays(Some(one), len, &levels),
                Some(_) => self.place_arrays(None, len, &levels),
            }
            if !allocs.is_empty() {
                j.fail(
                    F::WrongValue,
                    format!(
                        "{what} failed but kept {} pages it took (pfn {:#x} first)",
                        allocs.len(),
                        allocs[0]
                    ),
                );
            }
            if !must_fail && !self.hidden_areas() && self.deferred.is_empty() {
                // Room for the area and, placed after it, its page arrays: certain under
                // the lowest fit, bounded otherwise (no page array then).
                let room = match &fits {
                    Some(fits) => {
                        fits.must
                            && fits
                                .at
                                .iter()
                                .all(|&a| self.array_areas(a, len, &levels).is_some())
                    }
                    None => k == 0 && self.has_room(&f, n, align),
                };
                let free = pages.free_above_watermarks(page_gfp);
                // The page array's pages come first, with the nested mask: its zonelist and
                // lowmem_reserve may leave them no room where the area's own pages have it.
                let array_free = match k {
                    0 => u64::MAX,
                    _ => pages.free_above_watermarks(nested_mask(gfp)),
                };
                if room && free > n + k + 1 && array_free > k + 1 {
                    j.fail(
                        F::SpuriousFailure,
                        format!(
                            "{what}({real}, align {align:#x}) failed with {free} free pages above the watermarks and room for {} pages so aligned in the vmalloc space",
                            n + 1
                        ),
                    );
                }
            }
            return;
        }
        if must_fail {
            j.fail(
                F::WrongValue,
                format!("{what}({size:#x}) must return NULL, got {got:#x}"),
            );
            return;
        }
        if !self.check_place(j, &f, what, got, n) {
            return;
        }
        if align > PAGE_SIZE && !got.is_multiple_of(align) {
            j.fail(
                F::Misaligned,
                format!("{what} returned {got:#x}, not aligned to {align:#x}"),
            );
            return;
        }
        let mut array_areas = vec![];
        if let Some(fits) = &fits {
            if !self.judge_fit(j, what, got, len, fits) {
                return;
            }
            match self.array_areas(got, len, &levels) {
                Some((areas, purged)) => {
                    if purged {
                        self.purge_lazy();
                    }
                    array_areas = areas;
                }
                None => {
                    j.fail(
                        F::WrongValue,
                        format!(
                            "{what} of {n} pages returned {got:#x}, but no free range of the vmalloc space is left for its page array of {} pages: it must fail",
                            levels.first().copied().unwrap_or(0)
                        ),
                    );
                    return;
                }
            }
        }
        if allocs.len() as u64 != n + k {
            j.fail(
                F::WrongValue,
                format!(
                    "{what} of {n} pages took {} pages from the page allocator, expected {}",
                    allocs.len(),
                    n + k
                ),
            );
            return;
        }
        let array_pfns = allocs[..k as usize].to_vec();
        let pfns = allocs[k as usize..].to_vec();
        // Each page is an order-0 allocation that must leave its zone at or above the min
        // watermark (and lowmem_reserve) its mask must respect: the page arrays' pages first
        // with the nested mask, then the area's own.
        let nested = nested_mask(gfp);
        let below = pages
            .below_floor(page_gfp, &pfns, [])
            .or_else(|| pages.below_floor(nested, &array_pfns, pfns.iter().map(|&p| (p, 1))));
        if let Some((pfn, zi, left, floor)) = below {
            j.fail(
                F::Watermark,
                format!(
                    "{what} took pfn {pfn:#x} from {}, leaving {left} free pages there, below the {floor} its mask must keep: it must fail",
                    f.zones[zi].kind.name()
                ),
            );
        }
        let top = f.highest_zone(page_gfp);
        if let Some(&p) = pfns
            .iter()
            .find(|&&p| f.zone_index(p).is_none_or(|z| z > top))
        {
            j.fail(
                F::WrongZone,
                format!(
                    "{what} mapped pfn {p:#x}, outside the zones up to {}",
                    f.zones[top].kind.name()
                ),
            );
        }
        if zero {
            for &p in &pfns {
                pages.expect_zeroed(p);
            }
        }
        self.record(
            got,
            Area {
                kind: AreaKind::Vmalloc,
                size: real,
                pfns,
                array: array_pfns,
                array_areas,
                queued: false,
                line,
            },
        );
    }

    /// vmap() of `pages` (struct page pointers).
    #[allow(clippy::too_many_arguments)]
    pub fn vmap(
        &mut self,
        j: &mut Judgement,
        ctx: &CtxModel,
        pm: &PageModel,
        line: u32,
        pages: &[u64],
        out: &Outcome,
        events: &[kmem_vocab::PageEvent],
    ) {
        let f = &pm.facts;
        let mut frees = vec![];
        ctx.might_sleep(j);
        let count = pages.len() as u64;
        let size = f.word(count << PAGE_SHIFT);
        let too_many = count > Self::totalram(f);
        let mut must_fail = too_many || size == 0;
        // BUG_ON(in_interrupt()) in __get_vm_area_node(), before its size check.
        if !too_many && ctx.in_interrupt() {
            ctx.might_sleep(j);
            must_fail = true;
        }
        if !must_fail {
            self.flush_if(j, ctx, &mut frees);
        }
        // alloc_vmap_area() searches before vmap_pages_range() meets a bad page.
        let searches = !must_fail;
        let mut pfns = Vec::with_capacity(pages.len());
        for &p in pages {
            let pfn = f.word(p.wrapping_sub(f.mem_map)) / f.struct_page;
            if p == 0 || pfn >= f.max_pfn {
                must_fail = true;
                break;
            }
            pfns.push(pfn);
        }
        let freed_now: Vec<u64> = events
            .iter()
            .filter_map(|e| match *e {
                kmem_vocab::PageEvent::Free { pfn, .. } => Some(pfn),
                kmem_vocab::PageEvent::Alloc { .. } => None,
            })
            .collect();
        check_frees(j, "vmap", &frees, &freed_now);
        let got = out.value.unwrap_or(0);
        let len = area_len(count);
        let fits = if searches {
            self.fits(len, PAGE_SIZE)
        } else {
            None
        }
        .filter(|_| !must_fail);
        if got == 0 {
            let room = match &fits {
                Some(fits) => fits.must,
                None => {
                    !self.hidden_areas() && self.deferred.is_empty() && self.has_room(f, count, 1)
                }
            };
            if !must_fail && room {
                j.fail(
                    F::SpuriousFailure,
                    format!("vmap of {count} pages failed with room in the vmalloc space"),
                );
            }
            return;
        }
        if must_fail {
            j.fail(
                F::WrongValue,
                format!("vmap must return NULL, got {got:#x}"),
            );
            return;
        }
        if !self.check_place(j, f, "vmap", got, count) {
            return;
        }
        if let Some(fits) = &fits {
            if !self.judge_fit(j, "vmap", got, len, fits) {
                return;
            }
        }
        self.record(
            got,
            Area {
                kind: AreaKind::Vmap,
                size,
                pfns,
                array: vec![],
                array_areas: vec![],
                queued: false,
                line,
            },
        );
    }
}

/// The pages of each page array an `n`-page vmalloc vmallocs, outermost first:
/// __vmalloc_area_node() vmallocs an array of more than PAGE_SIZE bytes (`ptr` bytes a
/// page), and that vmalloc's own array likewise (from 1 GiB on x86_64), down to one small
/// enough for kmalloc.
pub(super) fn array_levels(n: u64, ptr: u64) -> Vec<u64> {
    let (mut levels, mut nr) = (vec![], n);
    loop {
        let bytes = nr.saturating_mul(ptr);
        if bytes <= PAGE_SIZE {
            return levels;
        }
        nr = bytes.div_ceil(PAGE_SIZE);
        levels.push(nr);
    }
}

/// The pages the page arrays of an `n`-page vmalloc take, all levels together.
pub(super) fn array_pages(n: u64, ptr: u64) -> u64 {
    array_levels(n, ptr)
        .into_iter()
        .fold(0u64, |t, p| t.saturating_add(p))
}

#[cfg(test)]
mod tests {
    use super::array_pages;

    #[test]
    fn page_arrays_nest_from_one_gib_on_x86_64() {
        // i386: 1024 pointers a page.
        assert_eq!(array_pages(1024, 4), 0);
        assert_eq!(array_pages(1025, 4), 2);
        // x86_64: 512 pointers a page; 262144 pages (1 GiB) have a 512-page array, which
        // fits its own 4096-byte array in one kmalloc; one page more and it does not.
        assert_eq!(array_pages(512, 8), 0);
        assert_eq!(array_pages(513, 8), 2);
        assert_eq!(array_pages(262144, 8), 512);
        assert_eq!(array_pages(262145, 8), 513 + 2);
    }
}

/// The mask of a page array's nested vmalloc: the caller's reclaim, IO, FS and NOWARN bits,
/// zeroed, from any zone (the model keeps fewer bits than Linux's GFP_RECLAIM_MASK; see
/// docs/model.md).
fn nested_mask(gfp: Gfp) -> Gfp {
    (gfp & (__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_NOWARN)) | __GFP_ZERO | __GFP_HIGHMEM
}

/// The pages `events` took and kept, in the order taken, and the pages they freed that they
/// had not taken, in the order freed: a free gives back the earliest taken copy of its page
/// still kept. A failing vmalloc of most of memory takes and frees tens of thousands of
/// pages, so each page's kept copies are a chain found through a hash table (only looked
/// up, never walked), not by a scan of the list.
fn kept_and_freed(events: &[kmem_vocab::PageEvent]) -> (Vec<u64>, Vec<u64>) {
    let is_alloc = |e: &kmem_vocab::PageEvent| matches!(e, kmem_vocab::PageEvent::Alloc { .. });
    // The common case: nothing is given back after the first page is taken, so every page
    // taken is kept and every page given back was freed now.
    let first_alloc = events.iter().position(is_alloc).unwrap_or(events.len());
    if events[first_alloc..].iter().all(is_alloc) {
        let pages = |e: &kmem_vocab::PageEvent| {
            let (kmem_vocab::PageEvent::Alloc { pfn, order }
            | kmem_vocab::PageEvent::Free { pfn, order }) = *e;
            (0..1u64 << order.min(10)).map(move |i| pfn + i)
        };
        return (
            events[first_alloc..].iter().flat_map(pages).collect(),
            events[..first_alloc].iter().flat_map(pages).collect(),
        );
    }
    const NONE: usize = usize::MAX;
    let mut taken: Vec<Option<u64>> = vec![];
    // For each position in `taken`, the position of the next kept copy of its page.
    let mut next: Vec<usize> = vec![];
    // Page -> (its earliest kept copy, its latest), positions in `taken`.
    let mut kept: FxHashMap<u64, (usize, usize)> = FxHashMap::default();
    let mut freed_now: Vec<u64> = vec![];
    for ev in events {
        match *ev {
            kmem_vocab::PageEvent::Alloc { pfn, order } => {
                for p in (0..1u64 << order.min(10)).map(|i| pfn + i) {
                    let i = taken.len();
                    taken.push(Some(p));
                    next.push(NONE);
                    match kept.get_mut(&p) {
                        Some((_, last)) => {
                            if let Some(n) = next.get_mut(*last) {
                                *n = i;
                            }
                            *last = i;
                        }
                        None => {
                            kept.insert(p, (i, i));
                        }
                    }
                }
            }
            kmem_vocab::PageEvent::Free { pfn, order } => {
                for p in (0..1u64 << order.min(10)).map(|i| pfn + i) {
                    match kept.get(&p).copied() {
                        Some((first, last)) => {
                            if let Some(t) = taken.get_mut(first) {
                                *t = None;
                            }
                            match next.get(first).copied().filter(|&n| n != NONE) {
                                Some(n) => kept.insert(p, (n, last)),
                                None => kept.remove(&p),
                            };
                        }
                        None => freed_now.push(p),
                    }
                }
            }
        }
    }
    (taken.into_iter().flatten().collect(), freed_now)
}

#[cfg(test)]
mod kept_tests {
    use kmem_vocab::PageEvent;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The list as a client would keep it: each free scans for the earliest kept copy.
    fn by_scan(events: &[PageEvent]) -> (Vec<u64>, Vec<u64>) {
        let (mut kept, mut freed) = (vec![], vec![]);
        for ev in events {
            match *ev {
                PageEvent::Alloc { pfn, order } => kept.extend((0..1u64 << order).map(|i| pfn + i)),
                PageEvent::Free { pfn, order } => {
                    for p in (0..1u64 << order).map(|i| pfn + i) {
                        match kept.iter().position(|&x| x == p) {
                            Some(i) => {
                                kept.remove(i);
                            }
                            None => freed.push(p),
                        }
                    }
                }
            }
        }
        (kept, freed)
    }

    #[test]
    fn kept_and_freed_pages_are_those_of_the_list() {
        let mut rng = StdRng::seed_from_u64(0x7a11);
        for _ in 0..2000 {
            let events: Vec<PageEvent> = (0..rng.gen_range(0..40))
                .map(|_| {
                    let (pfn, order) = (rng.gen_range(0..24), rng.gen_range(0..3));
                    match rng.gen_bool(0.6) {
                        true => PageEvent::Alloc { pfn, order },
                        false => PageEvent::Free { pfn, order },
                    }
                })
                .collect();
            assert_eq!(
                super::kept_and_freed(&events),
                by_scan(&events),
                "{events:?}"
            );
        }
    }
}
