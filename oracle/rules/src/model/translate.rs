//! The oracle's own page tables: virtual to physical by the path Linux takes for each range
//! (direct-map arithmetic, the vmalloc and vmap PTEs, the pkmap slots, the kmap_local
//! fixmap slots), and what a client access to a non-linear address is.

use super::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use super::highmem::{HighmemModel, Slot};
use super::pages::PageModel;
use super::vmalloc::{VmAddr, VmallocModel};
use super::MisuseKind as M;

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
