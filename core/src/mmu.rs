//! The simulated MMU: the kernel page table and the page-fault report, with the oops header
//! every die() prints (page faults and BUG()s alike).
//!
//! The direct map is linear (virtual = physical + PAGE_OFFSET) and needs no entries; the
//! vmalloc, pkmap and fixmap ranges are mapped page by page through entries kept here.
//! Byte accesses are translated a page at a time by the machine (see `access.rs`).

use std::collections::BTreeMap;

use crate::config::Arch;
use crate::machine::Machine;
use crate::report::die_header_line;
use crate::PAGE_SHIFT;

/// Page-table entries for the non-linear kernel ranges: virtual page number to pfn.
#[derive(Clone, Debug, Default)]
pub struct PageTable {
    ptes: BTreeMap<u64, u64>,
}

impl PageTable {
    /// set_pte_at(): maps `va`'s page to `pfn`. Returns the previous pfn if one was mapped.
    pub fn map(&mut self, va: u64, pfn: u64) -> Option<u64> {
        self.ptes.insert(va >> PAGE_SHIFT, pfn)
    }

    /// pte_clear(): returns the pfn that was mapped.
    pub fn unmap(&mut self, va: u64) -> Option<u64> {
        self.ptes.remove(&(va >> PAGE_SHIFT))
    }

    pub fn lookup(&self, va: u64) -> Option<u64> {
        self.ptes.get(&(va >> PAGE_SHIFT)).copied()
    }

    /// Mapped entries in [start, end), in address order.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ptes
            .range(start >> PAGE_SHIFT..end.div_ceil(1 << PAGE_SHIFT))
            .map(|(&v, &p)| (v << PAGE_SHIFT, p))
    }

    pub fn len(&self) -> usize {
        self.ptes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ptes.is_empty()
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
    /// (`[#N]`), then show_regs()'s first line (the CPU line, with the taint as it is now:
    /// oops_end() adds TAINT_DIE only after).
    pub(crate) fn die_text(&mut self, what: &str, err: u64) -> String {
        let n = self.log.next_die_counter();
        format!(
            "{}\n{}",
            die_header_line(what, err, n, self.cfg.debug_pagealloc),
            self.dump_stack_line()
        )
    }

    /// A BUG(), BUG_ON() or VM_BUG_ON*() at `at` ("file:line"): report_bug()'s "cut here" and
    /// "kernel BUG at" lines, then die("invalid opcode", regs, 0) from exc_invalid_op(); the
    /// model's `what` (the call and its arguments, when not empty) ends the text.
    pub(crate) fn bug_text(&mut self, at: &str, what: &str) -> String {
        let mut s = format!(
            "------------[ cut here ]------------\nkernel BUG at {at}!\n{}",
            self.die_text("invalid opcode", 0)
        );
        if !what.is_empty() {
            s.push('\n');
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
            );
        }
        let px = match arch {
            Arch::I386 => format!("{:08x}", va as u32),
            Arch::X86_64 => format!("{va:016x}"),
        };
        let code = if write { 0x0002 } else { 0x0000 };
        let head = if va < crate::PAGE_SIZE {
            format!("BUG: kernel NULL pointer dereference, address: {px}")
        } else {
            format!("BUG: unable to handle page fault for address: {px}")
        };
        let walk = match arch {
            Arch::I386 => "*pde = 00000000",
            Arch::X86_64 => "PGD 0 P4D 0",
        };
        format!(
            "{head}\n#PF: supervisor {} access in kernel mode\n#PF: error_code(0x{code:04x}) - not-present page\n{walk}\n{}",
            if write { "write" } else { "read" },
            self.die_text("Oops", code)
        )
    }
}
