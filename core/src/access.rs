//! Client accesses to kernel virtual memory, translated through the simulated MMU a page at
//! a time. A fault anywhere in the range is reported before any byte changes.

use crate::machine::Machine;
use crate::mmu::is_canonical;
use crate::report::{ReportKind, Taint};
use crate::{PAGE_SHIFT, PAGE_SIZE};

impl Machine {
    /// Translates a kernel virtual address to a physical one, as the MMU would: the direct
    /// map linearly (less pages debug_pagealloc has unmapped), other ranges by their entries.
    pub fn translate(&self, va: u64) -> Option<u64> {
        if !is_canonical(self.layout.arch, va) {
            return None;
        }
        if self.layout.is_direct_map(va) {
            let pa = va - self.layout.page_offset;
            if self.cfg.debug_pagealloc && self.alloc.is_free(pa >> PAGE_SHIFT) {
                return None;
            }
            return Some(pa);
        }
        self.pt
            .lookup(va)
            .map(|pfn| (pfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1)))
    }

    /// Translates every page of [va, va+len); on the first unmapped page (or where the
    /// range wraps past the top of the address space) reports the fault and returns None.
    fn translate_range(&mut self, va: u64, len: u64, write: bool) -> Option<Vec<(u64, usize)>> {
        let mut out = Vec::with_capacity((len / PAGE_SIZE).saturating_add(2).min(1 << 20) as usize);
        let end = va as u128 + len as u128;
        let mut cur = va as u128;
        while cur < end {
            let chunk = ((PAGE_SIZE as u128) - (cur & (PAGE_SIZE as u128 - 1))).min(end - cur);
            let addr = cur as u64;
            match (cur <= u64::MAX as u128)
                .then(|| self.translate(addr))
                .flatten()
            {
                Some(pa) => out.push((pa, chunk as usize)),
                None => {
                    let text = self.page_fault_oops(addr, write);
                    self.log
                        .report_tainting(ReportKind::PageFault, text, Taint::Die);
                    return None;
                }
            }
            cur += chunk;
        }
        Some(out)
    }

    /// Stores `len` copies of `byte` from `va` on. Returns false (after a page-fault report)
    /// when any page of the range is unmapped; then nothing was written.
    pub fn write(&mut self, va: u64, len: u64, byte: u8) -> bool {
        let Some(chunks) = self.translate_range(va, len, true) else {
            return false;
        };
        for (pa, n) in chunks {
            self.mem.fill_in_page(pa, n, byte);
        }
        true
    }

    /// Stores `data` at `va`.
    pub fn write_bytes(&mut self, va: u64, data: &[u8]) -> bool {
        let Some(chunks) = self.translate_range(va, data.len() as u64, true) else {
            return false;
        };
        let mut off = 0;
        for (pa, n) in chunks {
            self.mem.write_in_page(pa, &data[off..off + n]);
            off += n;
        }
        true
    }

    /// Loads `len` bytes from `va`, or None (after a page-fault report).
    pub fn read(&mut self, va: u64, len: u64) -> Option<Vec<u8>> {
        let chunks = self.translate_range(va, len, false)?;
        // Filled as it is read, not zeroed first.
        let mut out = Vec::with_capacity(len as usize);
        for (pa, n) in chunks {
            self.mem.read_in_page_into(pa, n, &mut out);
        }
        Some(out)
    }

    /// Physical-memory access for the allocators themselves (no MMU, no fault): reads.
    pub(crate) fn phys_read(&self, pa: u64, out: &mut [u8]) {
        self.mem.read(pa, out)
    }

    /// The first offset of [pa, pa+len) whose byte is not `byte`, if any: checks of poison,
    /// red zones and padding, without copying the bytes (O(1) per page one byte fills).
    pub(crate) fn phys_find_not(&self, pa: u64, len: u64, byte: u8) -> Option<u64> {
        self.mem.find_not_in(pa, len, byte)
    }

    /// The last offset of [pa, pa+len) whose byte is not `byte`, if any.
    pub(crate) fn phys_rfind_not(&self, pa: u64, len: u64, byte: u8) -> Option<u64> {
        self.mem.rfind_not_in(pa, len, byte)
    }

    /// Physical-memory access for the allocators themselves: fills.
    pub(crate) fn phys_fill(&mut self, pa: u64, len: u64, byte: u8) {
        let mut off = 0u64;
        while off < len {
            let p = pa + off;
            let n = (PAGE_SIZE - (p & (PAGE_SIZE - 1))).min(len - off);
            self.mem.fill_in_page(p, n as usize, byte);
            off += n;
        }
    }

    /// Physical-memory access for the allocators themselves: writes.
    pub(crate) fn phys_write(&mut self, pa: u64, data: &[u8]) {
        self.mem.write(pa, data)
    }
}
