//! The vmalloc rules (mm/vmalloc.c), worked out by the oracle itself: every area lies in
//! [VMALLOC_START, VMALLOC_END), page aligned, followed by an unmapped guard page, and
//! overlaps no other area (guards included); its pages come from the page allocator one at a
//! time (they arrive as page events during the call: the i-th page taken is mapped at the
//! i-th page of the area), from any zone for vmalloc/vzalloc, from 32-bit addressable lowmem
//! for vmalloc_32; vzalloc memory reads as zero; vfree of an unknown or interior address and
//! a second vfree are reported; vmalloc and vmap from interrupt context are a BUG, vfree from
//! interrupt context is deferred.
//!
//! The deferred free's timing is the machine's documented convention (the work item runs at
//! the next vmalloc-family call made where the worker could be scheduled); the oracle checks
//! that the pages come back exactly then and that the area stays mapped until they do.
//!
//! A vmalloc of more than PAGE_SIZE / sizeof(void *) pages vmallocs its page array too: the
//! oracle knows how many pages that takes but not where that area lies, so while such an
//! area is live it does not judge a failure for lack of address space.

use std::collections::BTreeMap;

use kmem_vocab::gfp::*;
use kmem_vocab::{Arch, ReportKind};

use super::context::CtxModel;
use super::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use super::pages::PageModel;
use super::{FailureKind as F, Judgement, MisuseKind as M};
use crate::outcome::Outcome;

/// One call of the vmalloc family: vmalloc() is `__vmalloc_node(size, 1, GFP_KERNEL)`.
#[derive(Clone, Copy, Debug)]
pub struct VmallocCall {
    /// The function's name, for messages.
    pub what: &'static str,
    pub size: u64,
    pub align: u64,
    pub gfp: Gfp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AreaKind {
    /// vmalloc, vzalloc, vmalloc_32: the pages belong to the area.
    Vmalloc,
    /// vmap: the caller's pages.
    Vmap,
}

#[derive(Clone, Debug)]
pub struct Area {
    pub kind: AreaKind,
    /// The requested size (the usable size for vmap).
    pub size: u64,
    /// The pfn mapped at each page, in address order.
    pub pfns: Vec<u64>,
    /// The pages of a vmalloc'ed page array (its area's address is not known).
    pub array: Vec<u64>,
    /// vfree()d from interrupt context and not yet freed.
    pub queued: bool,
    pub line: u32,
}

impl Area {
    fn mapped_len(&self) -> u64 {
        (self.pfns.len() as u64) << PAGE_SHIFT
    }
    /// The end of the area, guard page included.
    fn end(&self, start: u64) -> u64 {
        start + self.mapped_len() + PAGE_SIZE
    }
}

#[derive(Clone, Debug, Default)]
pub struct VmallocModel {
    pub areas: BTreeMap<u64, Area>,
    /// Areas freed and whose start no area has taken since: start to end (guard included).
    freed: BTreeMap<u64, u64>,
    /// vfree_atomic()'s queue, oldest first.
    deferred: Vec<u64>,
}

/// The vmalloc address space as the oracle sees it at one address.
pub enum VmAddr {
    /// Mapped to `pfn`: `owned` when the bytes [va, va+len) are the client's to touch.
    Mapped { pfn: u64, owned: bool, kind: M },
    /// Must fault.
    Unmapped { kind: M },
}

impl VmallocModel {
    fn ptr_size(f: &Facts) -> u64 {
        match f.arch {
            Arch::I386 => 4,
            Arch::X86_64 => 8,
        }
    }

    fn totalram(f: &Facts) -> u64 {
        f.zones.iter().map(|z| z.managed).sum()
    }

    /// The live area whose range, guard page included, contains `va`: (start, area).
    fn find(&self, va: u64) -> Option<(u64, &Area)> {
        let (&s, a) = self.areas.range(..=va).next_back()?;
        (va < a.end(s)).then_some((s, a))
    }

    /// Whether an area with a page array of unknown address is live.
    fn hidden_areas(&self) -> bool {
        self.areas.values().any(|a| !a.array.is_empty())
    }

    /// What `va` is, for an access of `len` bytes within one page. None outside the vmalloc
    /// space.
    pub fn classify(&self, f: &Facts, pages: &PageModel, va: u64, len: u64) -> Option<VmAddr> {
        if va < f.vmalloc_start || va >= f.vmalloc_end {
            return None;
        }
        if let Some((s, a)) = self.find(va) {
            let off = va - s;
            if off >= a.mapped_len() {
                return Some(VmAddr::Unmapped {
                    kind: M::OutOfBounds,
                });
            }
            let pfn = a.pfns[(off >> PAGE_SHIFT) as usize];
            if a.queued {
                return Some(VmAddr::Mapped {
                    pfn,
                    owned: false,
                    kind: M::UseAfterFree,
                });
            }
            return Some(match a.kind {
                AreaKind::Vmalloc => VmAddr::Mapped {
                    pfn,
                    owned: off + len <= a.size,
                    kind: M::OutOfBounds,
                },
                AreaKind::Vmap => VmAddr::Mapped {
                    pfn,
                    owned: pages.owned(pfn),
                    kind: pages.stray_kind(pfn),
                },
            });
        }
        let was = self
            .freed
            .range(..=va)
            .next_back()
            .is_some_and(|(_, &e)| va < e);
        Some(VmAddr::Unmapped {
            kind: if was { M::UseAfterFree } else { M::WildAccess },
        })
    }

    /// Whether a live vmalloc area holds page `pfn` (as a page of the area or of its page
    /// array): the oracle follows its bytes.
    pub fn holds(&self, pfn: u64) -> bool {
        self.areas.values().any(|a| {
            a.kind == AreaKind::Vmalloc && (a.pfns.contains(&pfn) || a.array.contains(&pfn))
        })
    }

    /// The pfn the page table maps at `va` in the vmalloc space.
    pub fn pte(&self, va: u64) -> Option<u64> {
        let (s, a) = self.find(va)?;
        a.pfns.get(((va - s) >> PAGE_SHIFT) as usize).copied()
    }

    /// Where the queued vfree() of `addr` must write its llist node, and what: the address
    /// queued before it, or 0.
    pub fn llist_next(&self) -> u64 {
        self.deferred.last().copied().unwrap_or(0)
    }

    /// vfree() from interrupt context of `addr`, after the node was written (`mapped`:
    /// the write did not fault).
    pub fn queue(&mut self, addr: u64) {
        if let Some(a) = self.areas.get_mut(&addr) {
            a.queued = true;
        }
        self.deferred.push(addr);
    }

    /// Runs the deferred frees, newest first, as delayed_vfree_work() does.
    fn flush(&mut self, j: &mut Judgement, frees: &mut Vec<u64>) {
        let q = std::mem::take(&mut self.deferred);
        for &a in q.iter().rev() {
            self.vfree_process(j, a, frees);
        }
    }

    fn flush_if(&mut self, j: &mut Judgement, ctx: &CtxModel, frees: &mut Vec<u64>) {
        if ctx.may_sleep() {
            self.flush(j, frees);
        }
    }

    /// Removes the area at exactly `addr`; the pages it must give back go to `frees`.
    fn remove(&mut self, addr: u64, free_pages: bool, frees: &mut Vec<u64>) -> bool {
        let Some(a) = self.areas.remove(&addr) else {
            return false;
        };
        if free_pages && a.kind == AreaKind::Vmalloc {
            frees.extend(&a.pfns);
            frees.extend(&a.array);
        }
        self.freed.insert(addr, a.end(addr));
        true
    }

    fn unknown_free(&self, j: &mut Judgement, addr: u64) {
        let kind = if self.freed.contains_key(&addr) && self.find(addr).is_none() {
            ReportKind::DoubleFree
        } else {
            ReportKind::InvalidFree
        };
        j.misuse(M::Report(kind), Some(kind));
    }

    /// vfree() in process context, after its might_sleep().
    fn vfree_process(&mut self, j: &mut Judgement, addr: u64, frees: &mut Vec<u64>) {
        if addr == 0 {
            return;
        }
        if !addr.is_multiple_of(PAGE_SIZE) {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            );
            return;
        }
        if !self.remove(addr, true, frees) {
            self.unknown_free(j, addr);
        }
    }

    fn sleeping(j: &mut Judgement) {
        j.misuse(
            M::Report(ReportKind::SleepInAtomic),
            Some(ReportKind::SleepInAtomic),
        );
    }

    /// vfree() in process context (the interrupt-context path is the caller's: it must write
    /// through the MMU first).
    pub fn vfree(&mut self, j: &mut Judgement, ctx: &CtxModel, addr: u64) -> Vec<u64> {
        let mut frees = vec![];
        if !ctx.may_sleep() {
            Self::sleeping(j);
        }
        self.flush_if(j, ctx, &mut frees);
        self.vfree_process(j, addr, &mut frees);
        frees
    }

    /// vunmap().
    pub fn vunmap(&mut self, j: &mut Judgement, ctx: &CtxModel, addr: u64) -> Vec<u64> {
        let mut frees = vec![];
        if ctx.in_interrupt() {
            Self::sleeping(j);
            return frees;
        }
        if !ctx.may_sleep() {
            Self::sleeping(j);
        }
        self.flush_if(j, ctx, &mut frees);
        if addr == 0 {
            return frees;
        }
        if !addr.is_multiple_of(PAGE_SIZE) {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            );
        } else if !self.remove(addr, false, &mut frees) {
            self.unknown_free(j, addr);
        }
        frees
    }

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
        let mut must_fail = real == 0 || (real >> PAGE_SHIFT) > Self::totalram(&f);
        let aligned = f.word(real.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1));
        if !must_fail && ctx.in_interrupt() {
            Self::sleeping(j);
            must_fail = true;
        }
        must_fail |= aligned == 0;
        let n = aligned >> PAGE_SHIFT;
        // alloc_vmap_area(): -EINVAL unless the alignment is a power of two.
        let bad_align = !align.is_power_of_two();
        let array = n * Self::ptr_size(&f);
        let k = if array > PAGE_SIZE {
            array.div_ceil(PAGE_SIZE)
        } else {
            0
        };
        // The vm_struct's kzalloc checks a blocking mask; alloc_vmap_area()'s might_sleep()
        // checks any other, after its alignment check. Once per call: the page array's own
        // vmalloc does not report again.
        if !must_fail && !ctx.may_sleep() && (gfpflags_allow_blocking(gfp) || !bad_align) {
            Self::sleeping(j);
        }
        must_fail |= bad_align;
        // The pages taken and kept, in order; what was freed must be what is expected.
        let mut allocs: Vec<u64> = vec![];
        let mut freed_now: Vec<u64> = vec![];
        for ev in events {
            match *ev {
                kmem_vocab::PageEvent::Alloc { pfn, order } => {
                    allocs.extend((0..1u64 << order.min(10)).map(|i| pfn + i))
                }
                kmem_vocab::PageEvent::Free { pfn, order } => {
                    for p in (0..1u64 << order.min(10)).map(|i| pfn + i) {
                        match allocs.iter().position(|&x| x == p) {
                            Some(i) => {
                                allocs.remove(i);
                            }
                            None => freed_now.push(p),
                        }
                    }
                }
            }
        }
        check_frees(j, what, &frees, &freed_now);
        if got == 0 {
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
            if !must_fail && k == 0 && !self.hidden_areas() && self.deferred.is_empty() {
                let free = pages.free_above_watermarks(page_gfp);
                if free > n + 1 && self.has_room(&f, n, align) {
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
        if !ctx.may_sleep() {
            Self::sleeping(j);
        }
        let count = pages.len() as u64;
        let size = f.word(count << PAGE_SHIFT);
        let too_many = count > Self::totalram(f);
        let mut must_fail = too_many || size == 0;
        // BUG_ON(in_interrupt()) in __get_vm_area_node(), before its size check.
        if !too_many && ctx.in_interrupt() {
            Self::sleeping(j);
            must_fail = true;
        }
        if !must_fail {
            self.flush_if(j, ctx, &mut frees);
        }
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
        if got == 0 {
            if !must_fail
                && !self.hidden_areas()
                && self.deferred.is_empty()
                && self.has_room(f, count, 1)
            {
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
        self.record(
            got,
            Area {
                kind: AreaKind::Vmap,
                size,
                pfns,
                array: vec![],
                queued: false,
                line,
            },
        );
    }
}

/// The pages a call gave back must be exactly those of the areas it freed.
pub fn check_frees(j: &mut Judgement, what: &str, want: &[u64], got: &[u64]) {
    let mut want = want.to_vec();
    let mut got = got.to_vec();
    want.sort_unstable();
    got.sort_unstable();
    if want != got {
        let extra: Vec<String> = got
            .iter()
            .filter(|p| !want.contains(p))
            .take(4)
            .map(|p| format!("{p:#x}"))
            .collect();
        let missing: Vec<String> = want
            .iter()
            .filter(|p| !got.contains(p))
            .take(4)
            .map(|p| format!("{p:#x}"))
            .collect();
        j.fail(
            F::WrongValue,
            format!(
                "{what} gave back {} pages, the areas it freed held {} (not expected: [{}]; missing: [{}])",
                got.len(),
                want.len(),
                extra.join(", "),
                missing.join(", ")
            ),
        );
    }
}
