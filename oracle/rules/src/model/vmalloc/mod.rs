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
//! A vmalloc of more than PAGE_SIZE / sizeof(void *) pages vmallocs its page array too (and,
//! from 1 GiB on x86_64, that array's own array): the oracle knows how many pages that takes.
//!
//! Where an area lies the oracle predicts when the machine's space declares Linux's lowest
//! fit (`place.rs`, kmem_vocab::VmapFit): every address, the page arrays' included, and
//! every failure for want of address space. A space that declares any other fit is held to
//! the bounds alone (in the space, aligned, no overlap, a failure only without a free range
//! of size + align - 1 bytes), and while an area whose page arrays lie where the oracle does
//! not know is live, a failure for lack of address space is not judged.
//!
//! Here: the areas and what an address in the vmalloc space is; `alloc.rs` judges vmalloc,
//! vzalloc, vmalloc_32, __vmalloc_node and vmap; `place.rs` where they go (over the free
//! ranges of `space.rs`); `free.rs` vfree (deferred from interrupt context) and vunmap.

use std::collections::BTreeMap;

use kmem_vocab::{Arch, ReportKind};

use super::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use super::pages::PageModel;
use super::{Judgement, MisuseKind as M, Model};
use crate::outcome::{Env, Outcome};
use crate::scenario::Op;

mod alloc;
mod free;
mod place;
mod space;

use alloc::vmalloc_call;
pub use alloc::VmallocCall;
pub use free::check_frees;

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
    /// The pages of a vmalloc'ed page array.
    pub array: Vec<u64>,
    /// The areas of the page arrays, [start, end) with their guard pages, when the oracle
    /// places them (lowest fit); empty otherwise.
    pub array_areas: Vec<(u64, u64)>,
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
    /// A misuse whose effects the model cannot follow: taint before the next statement.
    pub(crate) taint_next: bool,
    /// Pages this statement may give back beyond those predicted: a live vmalloc's page
    /// array that a stale vfree() took away.
    pub(crate) loose_frees: Vec<u64>,
    /// Areas freed and whose start no area has taken since: start to end (guard included).
    freed: BTreeMap<u64, u64>,
    /// vfree_atomic()'s queue, oldest first.
    deferred: Vec<u64>,
    /// The free ranges of the space, when its placement is predicted (lowest fit).
    space: Option<space::FreeSpace>,
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

    /// Whether an area with a page array of unknown address is live (only when the oracle
    /// does not place the areas itself).
    fn hidden_areas(&self) -> bool {
        self.space.is_none() && self.areas.values().any(|a| !a.array.is_empty())
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
        if let Some((pfn, kind)) = self.in_page_array(va) {
            return Some(VmAddr::Mapped {
                pfn,
                owned: false,
                kind,
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

    /// The page mapped at `va` when `va` lies in the vmalloc'ed page array of a live area
    /// (placed by the lowest fit; not its guard page), and what touching it is: a wild
    /// access. Linux maps these pages like any vmalloc area, so touching them does not
    /// fault.
    fn in_page_array(&self, va: u64) -> Option<(u64, M)> {
        self.areas.values().find_map(|a| {
            let (level, &(s, e)) = a
                .array_areas
                .iter()
                .enumerate()
                .find(|(_, &(s, e))| (s..e).contains(&va))?;
            // The arrays' pages come deepest level first (each nested __vmalloc_node()
            // allocates its own array before its pages), and an area ends in its guard page.
            let len = |r: &(u64, u64)| ((r.1 - r.0) >> PAGE_SHIFT).saturating_sub(1);
            let before: u64 = a.array_areas[level + 1..].iter().map(len).sum();
            let page = (va - s) >> PAGE_SHIFT;
            if va >= e - PAGE_SIZE {
                return None;
            }
            let pfn = a.array.get(usize::try_from(before + page).ok()?)?;
            Some((*pfn, M::WildAccess))
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
        match self.find(va) {
            Some((s, a)) => a.pfns.get(((va - s) >> PAGE_SHIFT) as usize).copied(),
            None => self.in_page_array(va).map(|(pfn, _)| pfn),
        }
    }
}

/// The vmalloc family's statements.
impl Model {
    /// The placement rule the machine's vmalloc space declares; before the first statement.
    pub fn set_vmap_fit(&mut self, fit: kmem_vocab::VmapFit) {
        self.vmalloc.set_fit(&self.pages.facts, fit);
    }

    /// is_vmalloc_addr and vmalloc_to_page, judged before the statement's page events.
    pub(crate) fn vmalloc_query(&mut self, j: &mut Judgement, op: &Op, env: &Env, out: &Outcome) {
        let ev = self.evaluator(env);
        match op {
            Op::IsVmallocAddr { addr } => {
                let a = ev(addr);
                let f = self.facts();
                let want = u64::from(a >= f.vmalloc_start && a < f.vmalloc_end);
                self.expect_value(j, "is_vmalloc_addr", want, out);
            }
            Op::VmallocToPage { addr } => self.vmalloc_to_page(j, ev(addr), out),
            _ => {}
        }
    }

    /// vmalloc, vzalloc, vmalloc_32, __vmalloc_node, vmap, vfree and vunmap, judged once
    /// the page allocator traffic they caused has been observed.
    pub(crate) fn vmalloc_op(
        &mut self,
        j: &mut Judgement,
        line: u32,
        op: &Op,
        env: &Env,
        out: &Outcome,
        events: &[kmem_vocab::PageEvent],
    ) {
        let ev = self.evaluator(env);
        let frees = match op {
            Op::Vmalloc { .. }
            | Op::Vzalloc { .. }
            | Op::Vmalloc32 { .. }
            | Op::VmallocNode { .. } => {
                let Some(call) = vmalloc_call(op) else { return };
                let (ctx, pages) = (&self.ctx, &mut self.pages);
                self.vmalloc.vmalloc(j, ctx, pages, line, call, out, events);
                return;
            }
            Op::Vmap { pages } => {
                let ptrs: Vec<u64> = pages.iter().map(ev).collect();
                self.vmalloc
                    .vmap(j, &self.ctx, &self.pages, line, &ptrs, out, events);
                return;
            }
            Op::Vfree { addr } if self.ctx.in_interrupt() => {
                self.vfree_atomic(j, ev(addr));
                vec![]
            }
            Op::Vfree { addr } => self.vmalloc.vfree(j, &self.ctx, ev(addr)),
            Op::Vunmap { addr } => self.vmalloc.vunmap(j, &self.ctx, ev(addr)),
            Op::VmUnmapAliases => {
                // _vm_unmap_aliases(): might_sleep(), then the purge under vmap_purge_lock.
                self.ctx.might_sleep(j);
                self.vmalloc.purge_lazy();
                vec![]
            }
            _ => return,
        };
        let loose = std::mem::take(&mut self.vmalloc.loose_frees);
        let got: Vec<u64> = events
            .iter()
            .filter_map(|e| match *e {
                kmem_vocab::PageEvent::Free { pfn, .. } => Some(pfn),
                kmem_vocab::PageEvent::Alloc { .. } => None,
            })
            .filter(|p| !loose.contains(p))
            .collect();
        check_frees(j, op.name(), &frees, &got);
    }

    /// vmalloc_to_page(): the page the kernel page table maps there, exactly.
    fn vmalloc_to_page(&mut self, j: &mut Judgement, a: u64, out: &Outcome) {
        let f = self.facts();
        if !(a >= f.vmalloc_start && a < f.vmalloc_end) {
            let report = self
                .pages
                .cfg
                .debug_virtual
                .then_some(ReportKind::BadVirtToPhys);
            j.misuse(M::Report(ReportKind::BadVirtToPhys), report);
        }
        let want = if f.is_lowmem_va(a) {
            0
        } else {
            crate::model::translate::pte(&self.vmalloc, &self.highmem, a)
                .map_or(0, |p| f.page_ptr(p))
        };
        self.expect_value(j, "vmalloc_to_page", want, out);
    }
}
