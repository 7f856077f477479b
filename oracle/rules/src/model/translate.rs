//! The oracle's own page tables: virtual to physical by the path Linux takes for each range
//! (direct-map arithmetic, the vmalloc and vmap PTEs, the pkmap slots, the kmap_local
//! fixmap slots), and what a client access to a non-linear address is.

use super::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use super::highmem::{HighmemModel, Slot};
use super::pages::PageModel;
use super::vmalloc::{VmAddr, VmallocModel};
use super::{FailureKind as F, Judgement, MisuseKind as M, Model};
use crate::outcome::{Env, Outcome};
use crate::scenario::Op;

/// The physical address `va` maps to right now, by the model's tables; None when an access
/// there must fault.
pub fn translate(pages: &PageModel, vm: &VmallocModel, hm: &HighmemModel, va: u64) -> Option<u64> {
    let f = &pages.facts;
    if f.is_lowmem_va(va) {
        let pa = va - f.page_offset;
        return pages.direct_mapped(pa >> PAGE_SHIFT).then_some(pa);
    }
    let pfn = vm.pte(va).or_else(|| hm.pte(va))?;
    Some((pfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1)))
}

/// The pfn the kernel page table maps at `va` (vmalloc_to_page's walk): vmalloc, vmap,
/// pkmap and kmap_local addresses.
pub fn pte(vm: &VmallocModel, hm: &HighmemModel, va: u64) -> Option<u64> {
    vm.pte(va).or_else(|| hm.pte(va))
}

/// A client access of `len` bytes at `va` (within one page) outside the direct map:
/// (physical address when mapped, whether the bytes are the client's, the misuse if not).
/// None when the address is no vmalloc, pkmap or kmap_local address.
pub fn classify(
    f: &Facts,
    pages: &PageModel,
    vm: &VmallocModel,
    hm: &HighmemModel,
    va: u64,
    len: u64,
) -> Option<(Option<u64>, bool, M)> {
    let off = va & (PAGE_SIZE - 1);
    if let Some(c) = vm.classify(f, pages, va, len) {
        return Some(match c {
            VmAddr::Mapped { pfn, owned, kind } => (Some((pfn << PAGE_SHIFT) | off), owned, kind),
            VmAddr::Unmapped { kind } => (None, false, kind),
        });
    }
    Some(match hm.slot(va)? {
        Slot::Mapped { pfn, live } => {
            let owned = live && pages.owned(pfn);
            let kind = if live {
                pages.stray_kind(pfn)
            } else {
                M::UseAfterFree
            };
            (Some((pfn << PAGE_SHIFT) | off), owned, kind)
        }
        Slot::Unmapped { was_used } => (
            None,
            false,
            if was_used {
                M::UseAfterFree
            } else {
                M::WildAccess
            },
        ),
    })
}

/// The translation family's statements: page_address, virt_to_page, page_to_phys,
/// virt_to_phys and phys_to_virt.
impl Model {
    pub(crate) fn translate_op(&mut self, j: &mut Judgement, op: &Op, env: &Env, out: &Outcome) {
        let ev = self.evaluator(env);
        match op {
            Op::PageAddress { page } => {
                if let Some(pfn) = self.facts().pfn_of_page(ev(page)) {
                    let want = if self.facts().is_highmem(pfn) {
                        self.highmem.page_virtual(pfn).unwrap_or(0)
                    } else {
                        self.facts().lowmem_va(pfn)
                    };
                    self.expect_value(j, "page_address", want, out);
                }
            }
            Op::VirtToPage { addr } => {
                let a = ev(addr);
                self.pages.translate_misuse(j, a);
                if self.facts().is_lowmem_va(a) {
                    let want = self
                        .facts()
                        .page_ptr((a - self.facts().page_offset) >> PAGE_SHIFT);
                    self.expect_value(j, "virt_to_page", want, out);
                }
            }
            Op::PageToPhys { page } => {
                if let Some(pfn) = self.facts().pfn_of_page(ev(page)) {
                    self.expect_value(j, "page_to_phys", pfn << PAGE_SHIFT, out);
                }
            }
            Op::VirtToPhys { addr } => {
                let a = ev(addr);
                self.pages.translate_misuse(j, a);
                let want = self.facts().word(a.wrapping_sub(self.facts().page_offset));
                self.expect_value(j, "virt_to_phys", want, out);
            }
            Op::PhysToVirt { phys } => {
                let want = self
                    .facts()
                    .word(ev(phys).wrapping_add(self.facts().page_offset));
                self.expect_value(j, "phys_to_virt", want, out);
            }
            _ => {}
        }
    }

    pub(crate) fn expect_value(&self, j: &mut Judgement, what: &str, want: u64, out: &Outcome) {
        let got = out.value.unwrap_or(0);
        if got != want {
            j.fail(
                F::WrongTranslation,
                format!("{what} gave {got:#x}, expected {want:#x}"),
            );
        }
    }
}
