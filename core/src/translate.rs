//! Translation between struct pages, kernel virtual and physical addresses (__pa, __va,
//! page_address(), virt_to_page()), with DEBUG_VIRTUAL's checks.

use crate::config::Arch;
use crate::machine::Machine;
use crate::report::{ReportKind, Taint};
use crate::PAGE_SHIFT;

impl Machine {
    /// virt_addr_valid(): __virt_addr_valid() of arch/x86/mm/physaddr.c. On i386 any
    /// address from PAGE_OFFSET below FIXADDR_START outside the vmalloc area whose
    /// `addr - PAGE_OFFSET` is a page that exists (pfn_valid()): with highmem that takes in
    /// the gap after high_memory and the pkmap area. On x86_64 the direct map (the kernel
    /// image's own mapping is not modelled).
    pub fn virt_addr_valid(&self, addr: u64) -> bool {
        let l = &self.layout;
        match l.arch {
            Arch::I386 => {
                addr >= l.page_offset
                    && !l.is_vmalloc_addr(addr)
                    && addr < l.fixaddr_start
                    && (addr - l.page_offset) >> PAGE_SHIFT < l.max_pfn
            }
            Arch::X86_64 => l.is_direct_map(addr),
        }
    }

    /// __phys_addr() with CONFIG_DEBUG_VIRTUAL: the VIRTUAL_BUG_ON conditions of
    /// arch/x86/mm/physaddr.c.
    fn debug_virtual_check(&mut self, x: u64, what: &str) {
        if !self.cfg.debug_virtual {
            return;
        }
        let l = &self.layout;
        let (bad, line) = match l.arch {
            Arch::I386 => {
                let phys = x.wrapping_sub(l.page_offset) & 0xffff_ffff;
                if x < l.page_offset {
                    (true, 88)
                } else if l.is_vmalloc_addr(x) {
                    (true, 89)
                } else {
                    ((phys >> PAGE_SHIFT) > l.max_low_pfn, 93)
                }
            }
            // x - PAGE_OFFSET must be a valid physical address (46 bits).
            Arch::X86_64 => (x < l.page_offset || x - l.page_offset >= 1 << 46, 28),
        };
        if bad {
            let w = self.ptr_width() + 2;
            let text = self.bug_text(
                &format!("arch/x86/mm/physaddr.c:{line}"),
                &format!("{what}({x:#0w$x})"),
            );
            self.log
                .report_tainting(ReportKind::BadVirtToPhys, text, Taint::Die);
        }
    }

    fn arch_mask(&self, v: u64) -> u64 {
        match self.layout.arch {
            Arch::I386 => v & 0xffff_ffff,
            Arch::X86_64 => v,
        }
    }

    /// virt_to_phys() / __pa(): valid for the direct map only.
    pub fn virt_to_phys(&mut self, addr: u64) -> u64 {
        self.debug_virtual_check(addr, "virt_to_phys");
        self.arch_mask(addr.wrapping_sub(self.layout.page_offset))
    }

    /// phys_to_virt() / __va().
    pub fn phys_to_virt(&mut self, phys: u64) -> u64 {
        self.arch_mask(phys.wrapping_add(self.layout.page_offset))
    }

    /// virt_to_page(): pfn_to_page(__pa(addr) >> PAGE_SHIFT), arithmetic like the kernel's.
    pub fn virt_to_page(&mut self, addr: u64) -> u64 {
        self.debug_virtual_check(addr, "virt_to_page");
        let pfn = self.arch_mask(addr.wrapping_sub(self.layout.page_offset)) >> PAGE_SHIFT;
        self.arch_mask(
            self.layout
                .mem_map
                .wrapping_add(pfn.wrapping_mul(self.layout.struct_page_size)),
        )
    }

    /// page_to_pfn() by pointer arithmetic, as the kernel does it.
    pub fn page_to_pfn(&self, page: u64) -> u64 {
        self.arch_mask(page.wrapping_sub(self.layout.mem_map)) / self.layout.struct_page_size
    }

    /// page_to_phys(): a phys_addr_t, 64 bits wide with PAE (36-bit physical addresses)
    /// and on x86_64, 32 bits on i386 without it.
    pub fn page_to_phys(&mut self, page: u64) -> u64 {
        let phys = self.page_to_pfn(page) << PAGE_SHIFT;
        match self.layout.paging {
            crate::layout::Paging::TwoLevel => phys & 0xffff_ffff,
            _ => phys,
        }
    }

    /// page_address(): the direct-map address of a lowmem page; a highmem page's kmap
    /// address, or NULL (0) when it is not mapped.
    pub fn page_address(&mut self, page: u64) -> u64 {
        let pfn = self.page_to_pfn(page);
        if pfn >= self.layout.max_pfn {
            // Not a page of this machine: the arithmetic the kernel would do.
            return self.arch_mask(self.layout.page_offset.wrapping_add(pfn << PAGE_SHIFT));
        }
        if self.layout.is_highmem_pfn(pfn) {
            return self.highmem_page_address(pfn);
        }
        self.layout.page_offset + (pfn << PAGE_SHIFT)
    }
}
