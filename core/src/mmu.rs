//! The simulated MMU: the kernel page table and the page-fault report, with the oops header
//! every die() prints (page faults and BUG()s alike).
//!
//! The direct map is linear (virtual = physical + PAGE_OFFSET) and needs no entries; the
//! vmalloc, pkmap and fixmap ranges are mapped page by page through entries kept here.
//! Byte accesses are translated a page at a time by the machine (see `access.rs`).

use std::collections::BTreeMap;

use crate::config::Arch;
use crate::layout::{Paging, KERNEL_IMAGE_SIZE, KERNEL_PHYS_START};
use crate::machine::Machine;
use crate::pte::Ptes;
use crate::report::die_header_line;
use crate::PAGE_SHIFT;

/// A page of page table, by what it maps: the level of the entry pointing to it
/// ([`TableLevel`]) and that entry's index (the virtual address shifted by what one entry
/// maps).
pub type TableKey = (TableLevel, u64);

/// Which entry points to a page-table page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableLevel {
    /// A page-directory (PMD) entry pointing to a page of PTEs.
    Pmd,
    /// A PUD (or PAE pdpt) entry pointing to a page of PMDs.
    Pud,
    /// A PGD entry (x86_64) pointing to a page of PUDs.
    Pgd,
}

/// Page-table entries for the non-linear kernel ranges: virtual page number to pfn; and the
/// page-table pages the kernel's page tables hold, which are never freed for kernel ranges
/// (vunmap clears PTEs and leaves the tables).
#[derive(Clone, Debug)]
pub struct PageTable {
    ptes: Ptes,
    paging: Paging,
    /// Each page-table page and the frame the model gives it (see [`PageTable::table`]).
    tables: BTreeMap<TableKey, u64>,
    /// The page table the last mapping's PTE went into (its tables all exist).
    last_table: Option<TableKey>,
}

impl Default for PageTable {
    fn default() -> Self {
        PageTable::new(Paging::TwoLevel)
    }
}

/// The frames page-table pages are numbered in: the reserved kernel image, from its top
/// down, as the model's stand-in for the frames Linux takes from the page allocator (which
/// the model leaves alone, so that page tables do not change what the buddy hands out).
const TABLE_POOL_PAGES: u64 = KERNEL_IMAGE_SIZE >> PAGE_SHIFT;

impl PageTable {
    pub fn new(paging: Paging) -> PageTable {
        PageTable {
            ptes: Ptes::default(),
            paging,
            tables: BTreeMap::new(),
            last_table: None,
        }
    }

    pub fn paging(&self) -> Paging {
        self.paging
    }

    /// The page-table pages that must exist for a PTE at `va`: the one holding the PTE and,
    /// on x86_64, the PMD and PUD pages above it (PAE's pdpt points to four PMD pages set
    /// up with the page directory).
    pub fn tables_for(paging: Paging, va: u64) -> impl Iterator<Item = TableKey> {
        let (keys, n): ([TableKey; 3], usize) = match paging {
            Paging::TwoLevel => ([(TableLevel::Pmd, va >> 22); 3], 1),
            Paging::Pae => ([(TableLevel::Pmd, va >> 21); 3], 1),
            Paging::FourLevel => (
                [
                    (TableLevel::Pgd, va >> 39),
                    (TableLevel::Pud, va >> 30),
                    (TableLevel::Pmd, va >> 21),
                ],
                3,
            ),
        };
        keys.into_iter().take(n)
    }

    /// The frame of a page-table page, numbering it if it is new: frames are handed out in
    /// the order tables are first needed, from the top of the kernel image down (wrapping
    /// within it, so that past a thousand tables two may print the same frame).
    pub fn table(&mut self, key: TableKey) -> u64 {
        let next = self.tables.len() as u64;
        *self.tables.entry(key).or_insert_with(|| {
            ((KERNEL_PHYS_START + KERNEL_IMAGE_SIZE) >> PAGE_SHIFT) - 1 - next % TABLE_POOL_PAGES
        })
    }

    /// Whether a page-table page was created by a mapping (pte_alloc_kernel() and friends).
    pub fn has_table(&self, key: TableKey) -> bool {
        self.tables.contains_key(&key)
    }

    /// set_pte_at(): maps `va`'s page to `pfn`, allocating the page-table pages it needs.
    /// Returns the previous pfn if one was mapped.
    pub fn map(&mut self, va: u64, pfn: u64) -> Option<u64> {
        // Consecutive pages mostly share their page table: look the tables up only when the
        // one holding the PTE changes.
        let pte_table = Self::tables_for(self.paging, va).last();
        if pte_table != self.last_table {
            for key in Self::tables_for(self.paging, va) {
                self.table(key);
            }
            self.last_table = pte_table;
        }
        self.ptes.insert(va >> PAGE_SHIFT, pfn)
    }

    /// pte_clear(): returns the pfn that was mapped.
    pub fn unmap(&mut self, va: u64) -> Option<u64> {
        self.ptes.remove(va >> PAGE_SHIFT)
    }

    pub fn lookup(&self, va: u64) -> Option<u64> {
        self.ptes.get(va >> PAGE_SHIFT)
    }

    /// Mapped entries in [start, end), in address order.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ptes
            .range(start >> PAGE_SHIFT, end.div_ceil(1 << PAGE_SHIFT))
            .map(|(v, p)| (v << PAGE_SHIFT, p))
    }

    pub fn len(&self) -> usize {
        self.ptes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ptes.len() == 0
    }
}

/// x86_64 addresses must be canonical (bits 63..47 equal); others raise #GP, not #PF.
pub fn is_canonical(arch: Arch, va: u64) -> bool {
    match arch {
        Arch::I386 => va <= u32::MAX as u64,
        Arch::X86_64 => {
            let top = va >> 47;
            top == 0 || top == (1 << 17) - 1
        }
    }
}

impl Machine {
    /// What die() prints once it is called: __die_header()'s line with the next die counter
    /// (`[#N]`), __die_body()'s show_regs() (the CPU lines with the taint as it is now:
    /// oops_end() adds TAINT_DIE only after) and print_modules(); for a page fault
    /// page_fault_oops()'s "CR2:" summary; then oops_end()'s end-of-trace marker.
    pub(crate) fn die_text(&mut self, what: &str, err: u64, cr2: Option<u64>) -> String {
        let n = self.log.next_die_counter();
        if !self.log.texts() {
            return String::new();
        }
        let mut s = format!(
            "{}
{}
Modules linked in:
",
            die_header_line(what, err, n, self.cfg.debug_pagealloc),
            self.show_regs()
        );
        if let Some(cr2) = cr2 {
            s.push_str(&format!("CR2: {cr2:016x}\n"));
        }
        s.push_str(crate::dumpstack::END_TRACE);
        s
    }

    /// A BUG(), BUG_ON() or VM_BUG_ON*() at `at` ("file:line"): report_bug()'s "cut here" and
    /// "kernel BUG at" lines, then die("invalid opcode", regs, 0) from exc_invalid_op(); the
    /// model's `what` (the call and its arguments, when not empty) ends the text on a line of
    /// kmemfuzz's own.
    pub(crate) fn bug_text(&mut self, at: &str, what: &str) -> String {
        if !self.log.texts() {
            return self.die_text("invalid opcode", 0, None);
        }
        let mut s = format!(
            "------------[ cut here ]------------\nkernel BUG at {at}!\n{}",
            self.die_text("invalid opcode", 0, None)
        );
        if !what.is_empty() {
            s.push_str("\nkmemfuzz: ");
            s.push_str(what);
        }
        s
    }

    /// The oops for an access to an unmapped kernel address (arch/x86/mm/fault.c,
    /// show_fault_oops() then __die("Oops", regs, error_code)); on x86_64 a non-canonical
    /// address raises #GP instead (die_addr() with the "general protection fault" text).
    pub(crate) fn page_fault_oops(&mut self, va: u64, write: bool) -> String {
        let arch = self.layout.arch;
        if arch == Arch::X86_64 && !is_canonical(arch, va) {
            return self.die_text(
                &format!("general protection fault, probably for non-canonical address 0x{va:x}"),
                0,
                None,
            );
        }
        let code = if write { 0x0002 } else { 0x0000 };
        // The walk numbers the page-table pages it reads, text or not.
        let walk = self.dump_pagetable(va);
        if !self.log.texts() {
            return self.die_text("Oops", code, Some(va));
        }
        let px = match arch {
            Arch::I386 => format!("{:08x}", va as u32),
            Arch::X86_64 => format!("{va:016x}"),
        };
        let head = if va < crate::PAGE_SIZE {
            format!("BUG: kernel NULL pointer dereference, address: {px}")
        } else {
            format!("BUG: unable to handle page fault for address: {px}")
        };
        format!(
            "{head}\n#PF: supervisor {} access in kernel mode\n#PF: error_code(0x{code:04x}) - not-present page\n{walk}\n{}",
            if write { "write" } else { "read" },
            self.die_text("Oops", code, Some(va))
        )
    }
}
