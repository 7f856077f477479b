//! The areas: __get_vm_area_node() reserving a range and recording its vm_struct,
//! remove_vm_area() taking it out again (with its WARN and report for an address that names
//! no area), and the freeing of an area's pages.

use super::{VmCaller, VmStruct, Vmalloc, ALLOC_VMAP_AREA_SLEEP_SITE, REMOVE_VM_AREA_WARN};
use crate::context::SECOND;
use crate::dumpstack::Site;
use crate::gfp::*;
use crate::machine::Machine;
use crate::report::Ratelimit;
use crate::report::{ReportKind, Taint};
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// What a vfree()/vunmap() of an unknown address was: for the report kind.
fn unknown_kind(v: &Vmalloc, addr: u64) -> ReportKind {
    if v.freed.contains_key(&addr) && v.find(addr).is_none() {
        ReportKind::DoubleFree
    } else {
        ReportKind::InvalidFree
    }
}

impl Machine {
    // ----- the area allocator -------------------------------------------------------

    /// __get_vm_area_node() + alloc_vmap_area(): reserves `size` bytes (already page
    /// aligned, without the guard) at an `align`ed address and records the area. Returns its
    /// start. `might_sleep`: alloc_vmap_area()'s own might_sleep() is the first to check
    /// (the caller's mask did not allow blocking, so the vm_struct allocation did not).
    pub(super) fn get_vm_area(
        &mut self,
        size: u64,
        align: u64,
        flags: u32,
        gfp: Gfp,
        caller: VmCaller,
        might_sleep: bool,
    ) -> Option<u64> {
        if size == 0 || !align.is_power_of_two() {
            // alloc_vmap_area(): -EINVAL, before its might_sleep().
            return None;
        }
        if might_sleep {
            self.might_sleep(ALLOC_VMAP_AREA_SLEEP_SITE);
        }
        let total = size.checked_add(PAGE_SIZE)?;
        // No room: purge the lazily freed areas and search once more (alloc_vmap_area()'s
        // overflow path).
        let found = match self.vmalloc.space.alloc(total, align) {
            None if self.purge_vmap_area_lazy() => self.vmalloc.space.alloc(total, align),
            found => found,
        };
        let Some(start) = found else {
            // printk_ratelimit(): the shared printk rate limit, 10 per 5 seconds (statements).
            if gfp & __GFP_NOWARN == 0 {
                let limit = self.log.ratelimit("printk_ratelimit", 5 * SECOND, 10);
                if let Ratelimit::Print { missed } = limit {
                    let mut text = String::new();
                    if missed != 0 {
                        text = format!("alloc_vmap_area: {missed} callbacks suppressed\n");
                    }
                    text.push_str(&format!(
                        "vmap allocation for size {total} failed: use vmalloc=<size> to increase size"
                    ));
                    self.log.warn(text);
                }
            }
            return None;
        };
        self.vmalloc.areas.insert(
            start,
            VmStruct {
                addr: start,
                size: total,
                flags,
                pages: Vec::new(),
                mapped: Vec::new(),
                guard: true,
                caller,
                pages_array: None,
            },
        );
        Some(start)
    }

    /// An area now handed to its caller: addresses it took are no longer "freed" for
    /// double-free detection. (An allocation that fails and unwinds never gets here, so a
    /// second vfree of an old area at the same address is still told apart.)
    pub(super) fn commit_vm_area(&mut self, addr: u64) {
        let Some(end) = self.vmalloc.find(addr).map(VmStruct::end) else {
            return;
        };
        while let Some((&s, _)) = self.vmalloc.freed.range(addr..end).next() {
            self.vmalloc.freed.remove(&s);
        }
    }

    /// remove_vm_area() + the page-table teardown: unlinks the area with exactly this start,
    /// clears its PTEs and queues its addresses for the lazy purge. The caller frees the
    /// pages.
    pub(super) fn remove_vm_area(&mut self, addr: u64) -> Option<VmStruct> {
        let vm = self.unlink_vm_area(addr)?;
        self.free_vmap_area_noflush(vm.addr, vm.size);
        self.vmalloc.freed.insert(vm.addr, vm.size);
        Some(vm)
    }

    /// remove_vm_area() for an allocation that failed before its caller saw it: its
    /// addresses come back at once (docs/model.md).
    pub(super) fn unwind_vm_area(&mut self, addr: u64) -> Option<VmStruct> {
        let vm = self.unlink_vm_area(addr)?;
        self.release_range(&vm, false);
        Some(vm)
    }

    /// An unlinked area's addresses: queued for the lazy purge, or given back at once.
    fn release_range(&mut self, vm: &VmStruct, lazy: bool) {
        if lazy {
            self.free_vmap_area_noflush(vm.addr, vm.size);
        } else {
            self.vmalloc.space.free(vm.addr, vm.size);
        }
    }

    /// Takes the area with exactly this start out of the list and its PTEs down.
    fn unlink_vm_area(&mut self, addr: u64) -> Option<VmStruct> {
        let vm = self.vmalloc.areas.remove(&addr)?;
        // The PTEs an area has are its first pages, in order (vmalloc's pages or vmap's).
        let mapped = vm.pages.len().max(vm.mapped.len()) as u64;
        for i in 0..mapped {
            self.pt.unmap(vm.addr + (i << PAGE_SHIFT));
        }
        Some(vm)
    }

    /// Frees what a removed vmalloc area held: its pages, then its page array, whose area
    /// is queued for the purge (`lazy`, a vfree()) or given back at once (a failed
    /// allocation's unwinding).
    pub(super) fn free_vm_pages(&mut self, vm: &VmStruct, lazy: bool) {
        for &pfn in &vm.pages {
            self.free_pages_nocheck(pfn, 0);
        }
        self.vmalloc.nr_vmalloc_pages = self
            .vmalloc
            .nr_vmalloc_pages
            .saturating_sub(vm.pages.len() as u64);
        if let Some(arr) = vm.pages_array {
            // kvfree(vm->pages). The array's area was never the client's: its address is
            // not recorded as freed.
            if let Some(array) = self.unlink_vm_area(arr) {
                self.release_range(&array, lazy);
                self.free_vm_pages(&array, lazy);
            }
        }
    }

    /// What vfree() and vunmap() share: remove_vm_area(), with its WARN for an unaligned
    /// address, and the "nonexistent vm area" report of the caller `func` when no area
    /// starts at `addr`. NULL is ignored.
    pub(super) fn remove_vm_area_or_warn(
        &mut self,
        addr: u64,
        func: &str,
        site: &Site,
    ) -> Option<VmStruct> {
        if addr == 0 {
            return None;
        }
        let w = self.ptr_width();
        let mut msg = String::new();
        if addr & (PAGE_SIZE - 1) != 0 {
            // remove_vm_area(): WARN(!PAGE_ALIGNED(addr), ...).
            msg.push_str(&self.warn_text(
                &REMOVE_VM_AREA_WARN,
                &format!("Trying to vfree() bad address ({addr:0w$x})"),
                "",
            ));
            self.log.add_taint(Taint::Warn, &mut msg);
            msg.push('\n');
        } else if let Some(vm) = self.remove_vm_area(addr) {
            return Some(vm);
        }
        let kind = unknown_kind(&self.vmalloc, addr);
        msg.push_str(&self.warn_text(
            site,
            &format!("Trying to {func}() nonexistent vm area ({addr:0w$x})"),
            "",
        ));
        self.log
            .report_tainting_at(kind, msg, Taint::Warn, Some(site.at()));
        None
    }
}
