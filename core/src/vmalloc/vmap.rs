//! vmap() and vunmap(): mapping the caller's pages contiguously and taking the mapping
//! down; vmalloc_to_page() reading the kernel page table back.

use super::{
    GET_VM_AREA_BUG_LINE, VMALLOC_TO_PAGE_BUG_LINE, VMALLOC_TO_PAGE_LEAF_WARN, VMAP_BAD_PFN_WARN,
    VMAP_NULL_PAGE_WARN, VMAP_SLEEP_SITE, VM_ALLOC, VM_MAP, VUNMAP_BUG_LINE, VUNMAP_SLEEP_SITE,
    VUNMAP_WARN,
};
use crate::gfp::*;
use crate::machine::Machine;
use crate::mmu::PageTable;
use crate::report::{ReportKind, Taint};
use crate::PAGE_SHIFT;

/// vmap_pages_range(): how the pages of an area are entered in the kernel page table, the
/// step vmalloc and vmap share once the area's address and pages are known.
///
/// The real alternative: Linux maps an area one PTE per page (vmap_small_pages_range_noflush())
/// or, for an area allowed huge mappings on an architecture with HAVE_ARCH_HUGE_VMALLOC,
/// with PMD-sized leaves over runs of 2 MiB (vmap_range_noflush() with a larger page
/// shift). The model's page table holds 4 KiB entries only, so kmem maps page by page.
pub trait VmapPages {
    /// Maps `pfns[i]` at `addr + i * PAGE_SIZE` for every i.
    fn vmap_pages_range(&mut self, pt: &mut PageTable, addr: u64, pfns: &[u64]);
}

/// kmem's mapping: one PTE per page.
#[derive(Clone, Copy, Debug, Default)]
pub struct PtePerPage;

impl VmapPages for PtePerPage {
    fn vmap_pages_range(&mut self, pt: &mut PageTable, addr: u64, pfns: &[u64]) {
        for (i, &pfn) in pfns.iter().enumerate() {
            pt.map(addr + ((i as u64) << PAGE_SHIFT), pfn);
        }
    }
}

impl Machine {
    // ----- vmap / vunmap ------------------------------------------------------------

    /// vmap(pages, count, VM_MAP, PAGE_KERNEL): maps the given `struct page *`s contiguously.
    /// 0 for NULL.
    pub fn vmap(&mut self, pages: &[u64]) -> u64 {
        self.might_sleep(VMAP_SLEEP_SITE);
        let count = pages.len() as u64;
        if count > self.totalram_pages() {
            return 0;
        }
        // count is an unsigned int; size an unsigned long.
        let size = self.ulong(count.wrapping_shl(PAGE_SHIFT));
        // __get_vm_area_node(): BUG_ON(in_interrupt()) comes before its check of the size.
        if self.ctx.in_interrupt() {
            let t = self.vm_bug_text(GET_VM_AREA_BUG_LINE, "vmap() called from interrupt context");
            self.log
                .report_tainting(ReportKind::SleepInAtomic, t, Taint::Die);
            return 0;
        }
        if size == 0 {
            return 0;
        }
        self.maybe_run_delayed_vfree();
        let caller = self.vm_caller();
        let Some(addr) = self.get_vm_area(size, 1, VM_MAP, GFP_KERNEL, caller, false) else {
            return 0;
        };
        // vmap_pages_range(): WARN and unwind on a bad page. (Linux finds it while it maps;
        // the PTEs set before it are taken down again, so checking first ends the same.)
        let mut mapped = Vec::with_capacity(pages.len());
        for &page in pages {
            let pfn = self.page_to_pfn(page);
            let bad = if page == 0 {
                Some(VMAP_NULL_PAGE_WARN)
            } else if pfn >= self.layout.max_pfn {
                Some(VMAP_BAD_PFN_WARN)
            } else {
                None
            };
            if let Some(site) = bad {
                self.warn_warning(&site, false, "", "");
                self.unwind_vm_area(addr);
                return 0;
            }
            mapped.push(pfn);
        }
        self.vmalloc
            .mapper
            .vmap_pages_range(&mut self.pt, addr, &mapped);
        if let Some(vm) = self.vmalloc.areas.get_mut(&addr) {
            vm.mapped = mapped;
        }
        self.commit_vm_area(addr);
        addr
    }

    /// vunmap(): removes a vmap (or vmalloc) area's mapping without freeing its pages.
    pub fn vunmap(&mut self, addr: u64) {
        if self.ctx.in_interrupt() {
            let t = self.vm_bug_text(
                VUNMAP_BUG_LINE,
                &format!("vunmap({addr:#x}) called from interrupt context"),
            );
            self.log
                .report_tainting(ReportKind::SleepInAtomic, t, Taint::Die);
            return;
        }
        self.might_sleep(VUNMAP_SLEEP_SITE);
        self.maybe_run_delayed_vfree();
        if let Some(vm) = self.remove_vm_area_or_warn(addr, "vunmap", &VUNMAP_WARN) {
            if vm.flags & VM_ALLOC != 0 {
                // The pages of a vmalloc area stay allocated: vunmap() does not free them
                // (they are leaked), but they are no longer counted as vmalloc pages.
                self.vmalloc.nr_vmalloc_pages = self
                    .vmalloc
                    .nr_vmalloc_pages
                    .saturating_sub(vm.pages.len() as u64);
            }
        }
    }
    // ----- translation --------------------------------------------------------------

    /// vmalloc_to_page(): the `struct page *` mapped at `addr` by the kernel page table
    /// (vmalloc, pkmap and fixmap ranges), 0 when nothing is mapped there.
    pub fn vmalloc_to_page(&mut self, addr: u64) -> u64 {
        match self.vmalloc_to_pfn_inner(addr) {
            Some(pfn) => self.layout.page_ptr(pfn),
            None => 0,
        }
    }

    /// vmalloc_to_pfn(): the pfn mapped at `addr`, 0 when none.
    pub fn vmalloc_to_pfn(&mut self, addr: u64) -> u64 {
        self.vmalloc_to_pfn_inner(addr).unwrap_or(0)
    }

    pub(super) fn vmalloc_to_pfn_inner(&mut self, addr: u64) -> Option<u64> {
        if self.cfg.debug_virtual && !self.layout.is_vmalloc_addr(addr) {
            // VIRTUAL_BUG_ON(!is_vmalloc_or_module_addr(vmalloc_addr)).
            let w = self.ptr_width();
            let t = self.vm_bug_text(
                VMALLOC_TO_PAGE_BUG_LINE,
                &format!("vmalloc_to_page({addr:#0w$x})", w = w + 2),
            );
            self.log
                .report_tainting(ReportKind::BadVirtToPhys, t, Taint::Die);
        }
        if self.layout.is_direct_map(addr) {
            // The direct map uses large pages: WARN_ON_ONCE(pmd_leaf(*pmd)), NULL.
            self.warn_warning(&VMALLOC_TO_PAGE_LEAF_WARN, true, "", "");
            return None;
        }
        self.pt.lookup(addr)
    }
}
