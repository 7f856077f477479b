//! dump_pagetable() (arch/x86/mm/fault.c, 6.6): the walk of the kernel's page tables an oops
//! prints under "#PF: error_code(...)", one entry per level until the first that is not
//! present or maps a large page.
//!
//! The entries are the ones the model's page tables hold: the direct map in large pages
//! (PSE) unless debug_pagealloc maps it page by page (and clears _PAGE_PRESENT, _PAGE_RW and
//! _PAGE_GLOBAL of a free page, keeping its frame); the tables boot sets up for the pkmap
//! area, the fixmap and the cpu_entry_area (and, on x86_64, for the whole vmalloc area, the
//! vmemmap and the kernel image); the tables a vmalloc, vmap or kmap mapping created, which
//! stay after it is gone, so a guard page or a freed area shows its upper levels present
//! and a PTE of 0. A page-table page's frame is the model's (see [`PageTable::table`]).
//! The model has no user mappings: a user address walks to an empty page directory entry.

use crate::config::Arch;
use crate::layout::{Paging, KERNEL_IMAGE_SIZE, KERNEL_PHYS_START};
use crate::machine::Machine;
use crate::mmu::{PageTable, TableKey, TableLevel};
use crate::{PAGE_SHIFT, PAGE_SIZE};

const PRESENT: u64 = 0x001;
const RW: u64 = 0x002;
const USER: u64 = 0x004;
const ACCESSED: u64 = 0x020;
const DIRTY: u64 = 0x040;
const PSE: u64 = 0x080;
const GLOBAL: u64 = 0x100;
const NX: u64 = 1 << 63;
/// _PAGE_TABLE: what pmd_populate_kernel(), pud_populate() and p4d_populate() write.
const PAGE_TABLE: u64 = PRESENT | RW | USER | ACCESSED | DIRTY;
/// PAGE_KERNEL without _PAGE_NX.
const KERNEL: u64 = PRESENT | RW | ACCESSED | DIRTY | GLOBAL;
/// x86_64's kernel image and fixmap start here (the top PGD entry).
const X86_64_KERNEL_TOP: u64 = 0xffff_ffff_8000_0000;
/// The lowest kernel address on x86_64 (the kernel half of the 48-bit space).
const X86_64_KERNEL_HALF: u64 = 0xffff_8000_0000_0000;

/// One entry of the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// Not present: 0.
    None,
    /// Points to the page-table page in this frame.
    Table(u64),
    /// Maps a large page: the entry's whole value.
    Large(u64),
}

impl Entry {
    fn value(self) -> u64 {
        match self {
            Entry::None => 0,
            Entry::Table(frame) => (frame << PAGE_SHIFT) | PAGE_TABLE,
            Entry::Large(v) => v,
        }
    }
}

impl Machine {
    /// dump_pagetable(va): the line an oops prints, its trailing space included.
    pub(crate) fn dump_pagetable(&mut self, va: u64) -> String {
        match self.layout.paging {
            Paging::TwoLevel => {
                let pde = self.pmd_entry(va);
                let mut s = format!("*pde = {:08x} ", pde.value());
                if let Entry::Table(_) = pde {
                    s.push_str(&format!("*pte = {:08x} ", self.pte_value(va)));
                }
                s
            }
            Paging::Pae => {
                // The pdpt's four entries point to the PMD pages set up with the pgd.
                let pmd_page = self.pt.table((TableLevel::Pud, va >> 30));
                let mut s = format!("*pdpt = {:016x} ", (pmd_page << PAGE_SHIFT) | PRESENT);
                let pde = self.pmd_entry(va);
                s.push_str(&format!("*pde = {:016x} ", pde.value()));
                if let Entry::Table(_) = pde {
                    s.push_str(&format!("*pte = {:016x} ", self.pte_value(va)));
                }
                s
            }
            Paging::FourLevel => {
                // With 4-level paging the P4D is the PGD entry itself (p4d_offset() folds).
                let pgd = self.pgd_entry(va).value();
                let mut s = format!("PGD {pgd:x} P4D {pgd:x} ");
                if pgd == 0 {
                    return s;
                }
                let pud = self.pud_entry(va);
                s.push_str(&format!("PUD {:x} ", pud.value()));
                if !matches!(pud, Entry::Table(_)) {
                    return s;
                }
                let pmd = self.pmd_entry(va);
                s.push_str(&format!("PMD {:x} ", pmd.value()));
                if let Entry::Table(_) = pmd {
                    s.push_str(&format!("PTE {:x}", self.pte_value(va)));
                }
                s
            }
        }
    }

    fn nx(&self) -> u64 {
        match self.layout.paging {
            Paging::TwoLevel => 0,
            Paging::Pae | Paging::FourLevel => NX,
        }
    }

    /// Whether [base, base + size) holds any of the direct map.
    fn covers_lowmem(&self, base: u64, size: u64) -> bool {
        base < self.layout.high_memory && base.saturating_add(size) > self.layout.page_offset
    }

    /// The x86_64 vmemmap's backed range, [start, end).
    fn vmemmap(&self) -> (u64, u64) {
        let l = &self.layout;
        (l.mem_map, l.mem_map + l.max_pfn * l.struct_page_size)
    }

    /// Ranges whose page tables boot sets up and nothing takes down: the pkmap area, the
    /// cpu_entry_area and the fixmap (i386), the kernel image and fixmap (x86_64).
    fn boot_tables(&self, va: u64) -> bool {
        let l = &self.layout;
        match l.arch {
            Arch::I386 => {
                let pkmap_end = l.pkmap_base + (l.last_pkmap << PAGE_SHIFT);
                let fixed = l.cpu_entry_area.map_or(l.fixaddr_tot_start, |(s, _)| s);
                (l.pkmap_base..pkmap_end).contains(&va) || va >= fixed
            }
            Arch::X86_64 => va >= X86_64_KERNEL_TOP,
        }
    }

    fn table_key(&self, level: TableLevel, va: u64) -> TableKey {
        PageTable::tables_for(self.layout.paging, va)
            .find(|k| k.0 == level)
            .unwrap_or((level, va >> 21))
    }

    fn table_entry(&mut self, level: TableLevel, va: u64, exists: bool) -> Entry {
        let key = self.table_key(level, va);
        if exists || self.pt.has_table(key) {
            Entry::Table(self.pt.table(key))
        } else {
            Entry::None
        }
    }

    /// The x86_64 PGD entry: the kernel's entries for the direct map, the vmalloc area (all
    /// preallocated at boot, preallocate_vmalloc_pages()), the vmemmap and the kernel image.
    fn pgd_entry(&mut self, va: u64) -> Entry {
        if va < X86_64_KERNEL_HALF {
            return Entry::None;
        }
        let size = 1u64 << 39;
        let base = va & !(size - 1);
        let l = &self.layout;
        let (vs, ve) = self.vmemmap();
        let within = |s: u64, e: u64| base < e && base.saturating_add(size) > s;
        let exists = self.covers_lowmem(base, size)
            || within(l.vmalloc_start, l.vmalloc_end)
            || within(vs, ve)
            || self.boot_tables(va);
        self.table_entry(TableLevel::Pgd, va, exists)
    }

    /// The x86_64 PUD entry (no 1 GiB pages: the model's CPU has no gbpages).
    fn pud_entry(&mut self, va: u64) -> Entry {
        let size = 1u64 << 30;
        let base = va & !(size - 1);
        let (vs, ve) = self.vmemmap();
        let exists = self.covers_lowmem(base, size)
            || (base < ve && base + size > vs)
            || self.boot_tables(va);
        self.table_entry(TableLevel::Pud, va, exists)
    }

    /// The page directory (PMD) entry: a large page of the direct map, a page table, or
    /// nothing.
    fn pmd_entry(&mut self, va: u64) -> Entry {
        let l = &self.layout;
        if va < l.page_offset {
            return Entry::None;
        }
        let size = l.pmd_size();
        let base = va & !(size - 1);
        if self.covers_lowmem(base, size) {
            // The direct map: large pages where a whole one fits below high_memory, unless
            // debug_pagealloc, which maps it page by page (probe_page_size_mask()).
            if !self.cfg.debug_pagealloc && base >= l.page_offset && base + size <= l.high_memory {
                let pa = base - l.page_offset;
                let text = KERNEL_PHYS_START..KERNEL_PHYS_START + KERNEL_IMAGE_SIZE;
                let exec = pa < text.end && pa + size > text.start;
                let nx = if exec { 0 } else { self.nx() };
                return Entry::Large(pa | KERNEL | PSE | nx);
            }
            return self.table_entry(TableLevel::Pmd, va, true);
        }
        if l.arch == Arch::X86_64 {
            let (vs, ve) = self.vmemmap();
            if base < ve && base + size > vs {
                // The vmemmap is mapped with 2 MiB pages of the struct pages' backing.
                let backing = l
                    .reserved
                    .iter()
                    .find(|r| r.2 == "mem_map")
                    .map_or(0, |r| r.0 << PAGE_SHIFT);
                return Entry::Large((backing + (base - vs)) | KERNEL | PSE | NX);
            }
        }
        let boot = self.boot_tables(va);
        self.table_entry(TableLevel::Pmd, va, boot)
    }

    /// The PTE: a direct-map page (present, or as debug_pagealloc left a free one), a
    /// mapping's page, or 0.
    fn pte_value(&self, va: u64) -> u64 {
        let l = &self.layout;
        let nx = self.nx();
        if l.is_direct_map(va) {
            let pfn = (va - l.page_offset) >> PAGE_SHIFT;
            if self.cfg.debug_pagealloc && self.alloc.is_free(pfn) {
                // __set_pages_np(): _PAGE_PRESENT and _PAGE_RW cleared, and _PAGE_GLOBAL
                // with them (pgprot_clear_protnone_bits()); the frame stays.
                return (pfn << PAGE_SHIFT) | ACCESSED | DIRTY | nx;
            }
            return (pfn << PAGE_SHIFT) | KERNEL | nx;
        }
        self.pt
            .lookup(va & !(PAGE_SIZE - 1))
            .map_or(0, |pfn| (pfn << PAGE_SHIFT) | KERNEL | nx)
    }
}
