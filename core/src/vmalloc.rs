//! vmalloc: virtually contiguous kernel memory built from single pages (mm/vmalloc.c).
//!
//! Every area lives in [VMALLOC_START, VMALLOC_END), is placed at the lowest free range that
//! fits its size plus one unmapped guard page (alloc_vmap_area()'s first fit), gets its pages
//! from the buddy allocator one at a time, and is mapped page by page through the kernel page
//! table, so touching the guard page or a freed area faults.
//!
//! Simplifications, each where Linux differs in timing or internal state only:
//! - A freed vmap_area is returned to the free ranges at once; Linux frees it lazily (purged
//!   once lazy_max_pages() accumulate), so it reuses addresses later than the model does.
//! - The vm_struct and vmap_area metadata and a page array small enough for kmalloc are kept
//!   in Rust, not in slab memory. A page array larger than a page is vmalloc'ed as Linux
//!   does (its own area, " vpages" in /proc/vmallocinfo), but the page pointers are not
//!   written into it: the model's own list is what vfree() frees.
//! - vfree() from interrupt context is deferred as vfree_atomic() does (the area's first word
//!   becomes the llist node); the work item runs at the next vmalloc-family call made where
//!   the worker could be scheduled (process context, preemption and interrupts enabled), or
//!   when the caller runs [`Machine::delayed_vfree_work`].
//! - `%p` / `%pK` print the raw pointer (as with no_hash_pointers), so output is readable and
//!   deterministic. WARN_ON_ONCE and the rate-limited messages are printed every time.
//! - Line numbers in mm/vmalloc.c for Linux 6.6 are not confirmed (docs/kernel-texts.md §12);
//!   they are gathered in the constants below so they can be corrected in one place.

use std::collections::BTreeMap;

use crate::config::Arch;
use crate::context::{SleepSite, MIGHT_ALLOC, TASK_COMM, TASK_PID};
use crate::gfp::*;
use crate::machine::Machine;
use crate::report::{ReportKind, Taint};
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// vm_struct flags (include/linux/vmalloc.h).
pub const VM_IOREMAP: u32 = 0x0000_0001;
pub const VM_ALLOC: u32 = 0x0000_0002;
pub const VM_MAP: u32 = 0x0000_0004;

/// might_sleep() in vfree() (mm/vmalloc.c, 6.6; line unverified).
pub const VFREE_SLEEP_SITE: SleepSite = SleepSite {
    file: "mm/vmalloc.c",
    line: 2839,
};
/// might_sleep() in vunmap() (line unverified).
pub const VUNMAP_SLEEP_SITE: SleepSite = SleepSite {
    file: "mm/vmalloc.c",
    line: 2880,
};
/// might_sleep() in vmap() (line unverified).
pub const VMAP_SLEEP_SITE: SleepSite = SleepSite {
    file: "mm/vmalloc.c",
    line: 2907,
};
/// might_sleep() in alloc_vmap_area(): what reports sleeping when the vm_struct's own
/// allocation did not (a mask that does not allow blocking) (line unverified).
pub const ALLOC_VMAP_AREA_SLEEP_SITE: SleepSite = SleepSite {
    file: "mm/vmalloc.c",
    line: 1636,
};
/// WARN in vfree() for an unknown area (line unverified).
const VFREE_WARN_LINE: u32 = 2845;
/// WARN in remove_vm_area() for an unaligned address (line unverified).
const REMOVE_VM_AREA_WARN_LINE: u32 = 2741;
/// WARN in vunmap() for an unknown area (line unverified).
const VUNMAP_WARN_LINE: u32 = 2885;
/// BUG_ON(in_interrupt()) in vunmap() (line unverified).
const VUNMAP_BUG_LINE: u32 = 2879;
/// BUG_ON(in_interrupt()) in __get_vm_area_node() (line unverified).
const GET_VM_AREA_BUG_LINE: u32 = 2599;
/// WARN_ON_ONCE(!size) in __vmalloc_node_range() (line unverified).
const VMALLOC_ZERO_SIZE_WARN_LINE: u32 = 3235;
/// WARN_ON(!page) / WARN_ON(!pfn_valid()) in vmap_pages_pte_range() (lines unverified).
const VMAP_NULL_PAGE_WARN_LINE: u32 = 486;
const VMAP_BAD_PFN_WARN_LINE: u32 = 488;
/// VIRTUAL_BUG_ON(!is_vmalloc_or_module_addr()) in vmalloc_to_page() (line unverified).
const VMALLOC_TO_PAGE_BUG_LINE: u32 = 667;
/// WARN_ON_ONCE(pmd_leaf()) in vmalloc_to_page() for a large-page mapping (line unverified).
const VMALLOC_TO_PAGE_LEAF_WARN_LINE: u32 = 708;

/// Deliberate bugs, for the tests that prove the oracle finds them (like
/// [`crate::BuddyFaults`]). All off by default; the real model never sets them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmallocFaults {
    /// alloc_vmap_area() reserves no guard page: the next area starts right after this one.
    pub no_guard_page: bool,
    /// vmalloc's page-table entries point at the neighbouring page frame (pfn ^ 1).
    pub wrong_pte: bool,
    /// alloc_vmap_area() ignores an alignment above PAGE_SIZE: areas are only page aligned.
    pub ignore_align: bool,
}

/// One area: vm_struct and its vmap_area together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmStruct {
    /// The start address (vm_struct.addr).
    pub addr: u64,
    /// The size including the guard page (vm_struct.size, as /proc/vmallocinfo shows it).
    pub size: u64,
    /// VM_ALLOC for vmalloc, VM_MAP for vmap.
    pub flags: u32,
    /// The pages vmalloc allocated for the area, as pfns, in address order; empty for vmap
    /// areas (their vm_struct has nr_pages 0: the pages stay the caller's).
    pub pages: Vec<u64>,
    /// For a vmap area, the pfns it maps (the caller's pages), in address order.
    pub mapped: Vec<u64>,
    /// Whether an unmapped guard page follows the area (always, without VM_NO_GUARD).
    pub guard: bool,
    /// The `%pS` of the caller, as /proc/vmallocinfo prints it.
    pub caller: String,
    /// The start of the vmalloc'ed page array, when the array was larger than a page.
    pub pages_array: Option<u64>,
}

impl VmStruct {
    /// get_vm_area_size(): the usable size, without the guard page.
    pub fn usable_size(&self) -> u64 {
        if self.guard {
            self.size.saturating_sub(PAGE_SIZE)
        } else {
            self.size
        }
    }
    /// The exclusive end, guard page included.
    pub fn end(&self) -> u64 {
        self.addr.saturating_add(self.size)
    }
    pub fn nr_pages(&self) -> usize {
        self.pages.len()
    }
}

/// Buckets of free ranges by length: one per page count up to 64, then eight per power of
/// two (as TLSF does). Bucket order follows length order, so every range in a bucket above a
/// request's own bucket fits it.
const EXACT_BUCKETS: u64 = 64;
const SUB_BUCKETS: u64 = 8;
const NR_BUCKETS: usize = (EXACT_BUCKETS + 64 * SUB_BUCKETS) as usize;

fn bucket_of(len: u64) -> usize {
    let pages = (len >> PAGE_SHIFT).max(1);
    if pages <= EXACT_BUCKETS {
        return (pages - 1) as usize;
    }
    let k = 63 - u64::from(pages.leading_zeros()); // >= 6
    let sub = (pages >> (k - 3)) & (SUB_BUCKETS - 1);
    (EXACT_BUCKETS + (k - 6) * SUB_BUCKETS + sub) as usize
}

/// The free address ranges of the vmalloc space: by start (for merging) and by length
/// bucket (for a lowest-address first fit that does not walk every hole, the job of
/// alloc_vmap_area()'s augmented rb-tree).
#[derive(Clone, Debug)]
struct FreeRanges {
    /// Start to exclusive end, merged with their neighbours.
    by_start: BTreeMap<u64, u64>,
    /// The starts of the ranges in each length bucket.
    buckets: Vec<std::collections::BTreeSet<u64>>,
    /// Bit b set when bucket b is not empty.
    nonempty: Vec<u64>,
}

impl FreeRanges {
    fn new() -> FreeRanges {
        FreeRanges {
            by_start: BTreeMap::new(),
            buckets: vec![Default::default(); NR_BUCKETS],
            nonempty: vec![0; NR_BUCKETS.div_ceil(64)],
        }
    }

    fn insert(&mut self, start: u64, end: u64) {
        self.by_start.insert(start, end);
        let b = bucket_of(end - start);
        self.buckets[b].insert(start);
        self.nonempty[b / 64] |= 1 << (b % 64);
    }

    fn remove(&mut self, start: u64) -> Option<u64> {
        let end = self.by_start.remove(&start)?;
        let b = bucket_of(end - start);
        self.buckets[b].remove(&start);
        if self.buckets[b].is_empty() {
            self.nonempty[b / 64] &= !(1 << (b % 64));
        }
        Some(end)
    }

    /// The lowest start of a range at least `size` long.
    fn first_fit(&self, size: u64) -> Option<u64> {
        let want = bucket_of(size);
        let mut best: Option<u64> = None;
        // Every range in a higher bucket fits: the lowest start among their first entries.
        for w in want / 64..self.nonempty.len() {
            let mut bits = self.nonempty[w];
            if w == want / 64 {
                // Only the buckets strictly above `want`.
                let bit = want % 64;
                bits &= if bit == 63 { 0 } else { !((2u64 << bit) - 1) };
            }
            while bits != 0 {
                let b = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(&s) = self.buckets[b].first() {
                    best = Some(best.map_or(s, |x| x.min(s)));
                }
            }
        }
        // The request's own bucket: in address order, up to the best so far.
        for &s in &self.buckets[want] {
            if best.is_some_and(|b| s > b) {
                break;
            }
            if self.by_start.get(&s).is_some_and(|&e| e - s >= size) {
                best = Some(s);
                break;
            }
        }
        best
    }
}

/// The vmalloc state of a machine.
#[derive(Clone, Debug)]
pub struct Vmalloc {
    /// Live areas by start address.
    areas: BTreeMap<u64, VmStruct>,
    /// Free address ranges.
    free: FreeRanges,
    /// Areas freed and whose start no live area has taken since: start to size. Used only
    /// to tell a second vfree() from a vfree() of an address that never was an area.
    freed: BTreeMap<u64, u64>,
    /// vfree_atomic()'s llist: addresses in the order they were queued.
    deferred: Vec<u64>,
    /// nr_vmalloc_pages.
    nr_vmalloc_pages: u64,
    /// The caller symbol the next areas record; None: the API function's own name.
    caller: Option<String>,
    /// Deliberate bugs (tests only).
    pub faults: VmallocFaults,
}

impl Vmalloc {
    pub fn new(vmalloc_start: u64, vmalloc_end: u64) -> Vmalloc {
        let mut free = FreeRanges::new();
        if vmalloc_end > vmalloc_start {
            free.insert(vmalloc_start, vmalloc_end);
        }
        Vmalloc {
            areas: BTreeMap::new(),
            free,
            freed: BTreeMap::new(),
            deferred: Vec::new(),
            nr_vmalloc_pages: 0,
            caller: None,
            faults: VmallocFaults::default(),
        }
    }

    /// The live area containing `addr` (guard page included), if any.
    pub fn find(&self, addr: u64) -> Option<&VmStruct> {
        self.areas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| addr < v.end())
    }

    /// __alloc_vmap_area(): `size` bytes at an `align`ed start (a power of two).
    ///
    /// Up to PAGE_SIZE every start is aligned and this is the lowest first fit. Above it,
    /// Linux searches for a free block of `size + align - 1` bytes (the worst-case alignment
    /// overhead, find_vmap_lowest_match()'s adjust_search_size) and aligns its start; the
    /// model takes the lowest such block. Linux's augmented rb-tree walk may also stop at a
    /// lower block it passes on the way if that one fits once aligned, which depends on the
    /// tree's shape: the model does not follow the walk (docs/model.md).
    fn alloc_range(&mut self, size: u64, align: u64) -> Option<u64> {
        let length = if align > PAGE_SIZE && !self.faults.ignore_align {
            size.checked_add(align - 1)?
        } else {
            size
        };
        let start = self.free.first_fit(length)?;
        let nva = if align > PAGE_SIZE && !self.faults.ignore_align {
            start.checked_add(align - 1)? & !(align - 1)
        } else {
            start
        };
        let end = self.free.remove(start)?;
        let new_end = nva.checked_add(size)?;
        if start < nva {
            self.free.insert(start, nva);
        }
        if new_end < end {
            self.free.insert(new_end, end);
        }
        Some(nva)
    }

    /// Returns [start, start+size) to the free ranges, merging neighbours.
    fn free_range(&mut self, start: u64, size: u64) {
        let mut s = start;
        let mut e = start.saturating_add(size);
        if let Some((&ps, &pe)) = self.free.by_start.range(..s).next_back() {
            if pe == s {
                self.free.remove(ps);
                s = ps;
            }
        }
        if let Some(ne) = self.free.remove(e) {
            e = ne;
        }
        self.free.insert(s, e);
    }
}

/// What a vfree()/vunmap() of an unknown address was: for the report kind.
fn unknown_kind(v: &Vmalloc, addr: u64) -> ReportKind {
    if v.freed.contains_key(&addr) && v.find(addr).is_none() {
        ReportKind::DoubleFree
    } else {
        ReportKind::InvalidFree
    }
}

impl Machine {
    // ----- introspection -------------------------------------------------------------

    /// The live vmalloc and vmap areas, in address order.
    pub fn vm_areas(&self) -> impl Iterator<Item = &VmStruct> + '_ {
        self.vmalloc.areas.values()
    }

    /// find_vm_area(): the live area whose range (guard page included) contains `addr`.
    pub fn find_vm_area(&self, addr: u64) -> Option<&VmStruct> {
        self.vmalloc.find(addr)
    }

    /// The free ranges of the vmalloc space, [start, end), in address order.
    pub fn vmalloc_free_ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.vmalloc.free.by_start.iter().map(|(&s, &e)| (s, e))
    }

    /// Turns deliberate vmalloc bugs on (for the oracle's own tests).
    pub fn set_vmalloc_faults(&mut self, faults: VmallocFaults) {
        self.vmalloc.faults = faults;
    }

    /// Addresses vfree()d from interrupt context and not yet freed, oldest first.
    pub fn deferred_vfrees(&self) -> &[u64] {
        &self.vmalloc.deferred
    }

    /// nr_vmalloc_pages: pages currently held by vmalloc areas.
    pub fn nr_vmalloc_pages(&self) -> u64 {
        self.vmalloc.nr_vmalloc_pages
    }

    /// Sets the `%pS` the next areas record as their caller (/proc/vmallocinfo), e.g. the
    /// scenario line that calls; None restores the default, the API function's name.
    pub fn set_vmalloc_caller(&mut self, caller: Option<String>) {
        self.vmalloc.caller = caller;
    }

    /// is_vmalloc_addr().
    pub fn is_vmalloc_addr(&self, addr: u64) -> bool {
        self.layout.is_vmalloc_addr(addr)
    }

    // ----- helpers ------------------------------------------------------------------

    fn ulong(&self, v: u64) -> u64 {
        match self.layout.arch {
            Arch::I386 => v & 0xffff_ffff,
            Arch::X86_64 => v,
        }
    }

    fn totalram_pages(&self) -> u64 {
        self.zones().iter().map(|z| z.managed).sum()
    }

    fn vm_caller(&self, func: &str) -> String {
        match &self.vmalloc.caller {
            Some(c) => c.clone(),
            None => format!("{func}+0x0/0x0"),
        }
    }

    /// A WARN() block: "cut here", the message, the WARNING line.
    fn vm_warn_text(&self, msg: &str, line: u32, func: &str) -> String {
        let mut s = String::from("------------[ cut here ]------------\n");
        if !msg.is_empty() {
            s.push_str(msg);
            s.push('\n');
        }
        s.push_str(&format!(
            "WARNING: CPU: 0 PID: {TASK_PID} at mm/vmalloc.c:{line} {func}\n\
             CPU: 0 PID: {TASK_PID} Comm: {TASK_COMM} {}",
            self.log.taint_str()
        ));
        s
    }

    /// A BUG()/BUG_ON() in mm/vmalloc.c.
    fn vm_bug_text(&mut self, line: u32, what: &str) -> String {
        self.bug_text(&format!("mm/vmalloc.c:{line}"), what)
    }

    /// warn_alloc(gfp, NULL, fmt, ...) for a vmalloc failure.
    fn vm_warn_alloc(&mut self, gfp: Gfp, msg: &str) {
        if gfp & __GFP_NOWARN != 0 {
            return;
        }
        self.log.warn(format!(
            "{TASK_COMM}: {msg}, mode:{:#x}({}), nodemask=(null)\nCPU: 0 PID: {TASK_PID} Comm: {TASK_COMM} {}",
            gfp,
            format_gfp(gfp),
            self.log.taint_str()
        ));
    }

    fn ptr_hex(&self, v: u64) -> String {
        format!("{v:0w$x}", w = self.ptr_width())
    }

    /// Runs the deferred vfree() work if the worker could run now (process context,
    /// preemption and interrupts enabled).
    fn maybe_run_delayed_vfree(&mut self) {
        if !self.vmalloc.deferred.is_empty() && self.ctx.may_sleep() {
            self.delayed_vfree_work();
        }
    }

    /// delayed_vfree_work(): the workqueue item vfree_atomic() schedules. Frees every queued
    /// address as vfree() would in process context (in llist order: newest first). The
    /// kworker is its own task, so the current context's atomicity does not apply.
    pub fn delayed_vfree_work(&mut self) {
        let queued = std::mem::take(&mut self.vmalloc.deferred);
        for &addr in queued.iter().rev() {
            self.vfree_process(addr);
        }
    }

    // ----- the area allocator -------------------------------------------------------

    /// __get_vm_area_node() + alloc_vmap_area(): reserves `size` bytes (already page
    /// aligned, without the guard) at an `align`ed address and records the area. Returns its
    /// start. `might_sleep`: alloc_vmap_area()'s own might_sleep() is the first to check
    /// (the caller's mask did not allow blocking, so the vm_struct allocation did not).
    fn get_vm_area(
        &mut self,
        size: u64,
        align: u64,
        flags: u32,
        gfp: Gfp,
        caller: String,
        might_sleep: bool,
    ) -> Option<u64> {
        if size == 0 || !align.is_power_of_two() {
            // alloc_vmap_area(): -EINVAL, before its might_sleep().
            return None;
        }
        if might_sleep {
            self.ctx
                .might_sleep(ALLOC_VMAP_AREA_SLEEP_SITE, &mut self.log);
        }
        let guard = if self.vmalloc.faults.no_guard_page {
            0
        } else {
            PAGE_SIZE
        };
        let total = size.checked_add(guard)?;
        let Some(start) = self.vmalloc.alloc_range(total, align) else {
            if gfp & __GFP_NOWARN == 0 {
                self.log.warn(format!(
                    "vmap allocation for size {} failed: use vmalloc=<size> to increase size",
                    total
                ));
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
                guard: guard != 0,
                caller,
                pages_array: None,
            },
        );
        Some(start)
    }

    /// An area now handed to its caller: addresses it took are no longer "freed" for
    /// double-free detection. (An allocation that fails and unwinds never gets here, so a
    /// second vfree of an old area at the same address is still told apart.)
    fn commit_vm_area(&mut self, addr: u64) {
        let Some(end) = self.vmalloc.find(addr).map(VmStruct::end) else {
            return;
        };
        while let Some((&s, _)) = self.vmalloc.freed.range(addr..end).next() {
            self.vmalloc.freed.remove(&s);
        }
    }

    /// remove_vm_area() + the page-table teardown: unlinks the area with exactly this start,
    /// clears its PTEs and gives its addresses back. The caller frees the pages.
    fn remove_vm_area(&mut self, addr: u64) -> Option<VmStruct> {
        let vm = self.unwind_vm_area(addr)?;
        self.vmalloc.freed.insert(vm.addr, vm.size);
        Some(vm)
    }

    /// remove_vm_area() for an allocation that failed before its caller saw it.
    fn unwind_vm_area(&mut self, addr: u64) -> Option<VmStruct> {
        let vm = self.vmalloc.areas.remove(&addr)?;
        // The PTEs an area has are its first pages, in order (vmalloc's pages or vmap's).
        let mapped = vm.pages.len().max(vm.mapped.len()) as u64;
        for i in 0..mapped {
            self.pt.unmap(vm.addr + (i << PAGE_SHIFT));
        }
        self.vmalloc.free_range(vm.addr, vm.size);
        Some(vm)
    }

    /// Frees what a removed vmalloc area held: its pages, then its page array.
    fn free_vm_pages(&mut self, vm: &VmStruct) {
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
            if let Some(array) = self.unwind_vm_area(arr) {
                self.free_vm_pages(&array);
            }
        }
    }

    // ----- vmalloc ------------------------------------------------------------------

    /// vmalloc(): `size` bytes of virtually contiguous memory, pages from any zone
    /// (GFP_KERNEL, highmem allowed). 0 for NULL.
    pub fn vmalloc(&mut self, size: u64) -> u64 {
        self.__vmalloc_node_range(size, 1, GFP_KERNEL, "vmalloc", 0)
    }

    /// vzalloc(): vmalloc() of zeroed memory.
    pub fn vzalloc(&mut self, size: u64) -> u64 {
        self.__vmalloc_node_range(size, 1, GFP_KERNEL | __GFP_ZERO, "vzalloc", 0)
    }

    /// vmalloc_32(): pages that are 32-bit addressable. GFP_VMALLOC32 is GFP_DMA32|GFP_KERNEL
    /// on both architectures: ZONE_DMA32 on x86_64; on i386, where there is no ZONE_DMA32,
    /// GFP_DMA32 means ZONE_NORMAL, and it keeps __GFP_HIGHMEM from being added.
    pub fn vmalloc_32(&mut self, size: u64) -> u64 {
        self.__vmalloc_node_range(size, 1, GFP_DMA32 | GFP_KERNEL, "vmalloc_32", 0)
    }

    /// __vmalloc(): vmalloc with an explicit mask. Linux supports GFP_KERNEL, GFP_NOFS and
    /// GFP_NOIO based masks with __GFP_ZERO, __GFP_NOWARN and the DMA32 zone; the model
    /// passes any mask on to the page allocator as Linux does.
    pub fn __vmalloc(&mut self, size: u64, gfp: Gfp) -> u64 {
        self.__vmalloc_node_range(size, 1, gfp, "__vmalloc", 0)
    }

    /// __vmalloc_node(size, align, gfp, NUMA_NO_NODE, caller): vmalloc at an `align`ed
    /// address. `align` must be a power of two (else NULL, as alloc_vmap_area()'s -EINVAL);
    /// up to PAGE_SIZE it changes nothing.
    pub fn __vmalloc_node(&mut self, size: u64, align: u64, gfp: Gfp) -> u64 {
        self.__vmalloc_node_range(size, align, gfp, "__vmalloc_node", 0)
    }

    /// __vmalloc_node_range() for the vmalloc range.
    fn __vmalloc_node_range(
        &mut self,
        size: u64,
        align: u64,
        gfp: Gfp,
        func: &str,
        depth: u32,
    ) -> u64 {
        self.maybe_run_delayed_vfree();
        let real_size = self.ulong(size);
        if real_size == 0 {
            // if (WARN_ON_ONCE(!size)) return NULL;
            let t = self.vm_warn_text(
                "",
                VMALLOC_ZERO_SIZE_WARN_LINE,
                "__vmalloc_node_range+0x0/0x0",
            );
            self.log.warn_tainting(t, Taint::Warn);
            return 0;
        }
        if (real_size >> PAGE_SHIFT) > self.totalram_pages() {
            self.vm_warn_alloc(
                gfp,
                &format!("vmalloc error: size {real_size}, exceeds total pages"),
            );
            return 0;
        }
        // __get_vm_area_node(): BUG_ON(in_interrupt()).
        if self.ctx.in_interrupt() {
            let t = self.vm_bug_text(
                GET_VM_AREA_BUG_LINE,
                &format!("{func}({real_size:#x}) called from interrupt context"),
            );
            self.log
                .report_tainting(ReportKind::SleepInAtomic, t, Taint::Die);
            return 0;
        }
        // size = PAGE_ALIGN(size), computed in unsigned long.
        let aligned = self.ulong(real_size.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1));
        if aligned == 0 {
            return 0;
        }
        // kzalloc_node() of the vm_struct: might_alloc(); alloc_vmap_area()'s might_sleep()
        // is rate-limited away behind it, and so is the nested vmalloc of a large page array
        // (depth > 0): one report per API call, as everywhere in the model.
        let blocking = gfpflags_allow_blocking(gfp);
        if depth == 0 && blocking {
            self.ctx.might_sleep(MIGHT_ALLOC, &mut self.log);
        }
        let caller = self.vm_caller(func);
        let align = self.ulong(align);
        let sleep_check = depth == 0 && !blocking;
        let Some(addr) =
            self.get_vm_area(aligned, align, VM_ALLOC, gfp, caller.clone(), sleep_check)
        else {
            let nofail = if gfp & __GFP_NOFAIL != 0 {
                ". Retrying."
            } else {
                ""
            };
            self.vm_warn_alloc(
                gfp,
                &format!("vmalloc error: size {real_size}, vm_struct allocation failed{nofail}"),
            );
            // With __GFP_NOFAIL Linux retries forever; nothing else runs in the model to
            // free address space, so it returns NULL (docs/model.md).
            return 0;
        };
        if self.__vmalloc_area_node(addr, aligned, gfp, caller, depth) {
            self.commit_vm_area(addr);
            addr
        } else {
            0
        }
    }

    /// __vmalloc_area_node(): the page array, the pages (one at a time), the mappings.
    /// On failure frees what was taken (vfree(area->addr)) and returns false.
    fn __vmalloc_area_node(
        &mut self,
        addr: u64,
        size: u64,
        gfp: Gfp,
        caller: String,
        depth: u32,
    ) -> bool {
        let nr_small_pages = size >> PAGE_SHIFT;
        let ptr_size = self.ptr_width() as u64 / 2;
        let array_size = nr_small_pages.saturating_mul(ptr_size);
        let nested_gfp = (gfp & (__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_NOWARN)) | __GFP_ZERO;
        if array_size > PAGE_SIZE {
            // area->pages = __vmalloc_node(array_size, 1, nested_gfp, node, area->caller).
            let saved = self.vmalloc.caller.replace(caller);
            let arr = if depth < 4 {
                self.__vmalloc_node_range(array_size, 1, nested_gfp, "__vmalloc_node", depth + 1)
            } else {
                0
            };
            self.vmalloc.caller = saved;
            if arr == 0 {
                self.vm_warn_alloc(
                    gfp,
                    &format!(
                        "vmalloc error: size {}, failed to allocated page array size {}",
                        nr_small_pages << PAGE_SHIFT,
                        array_size
                    ),
                );
                self.unwind_vm_area(addr);
                return false;
            }
            if let Some(vm) = self.vmalloc.areas.get_mut(&addr) {
                vm.pages_array = Some(arr);
            }
        }
        let mut page_gfp = gfp;
        if page_gfp & (__GFP_DMA | __GFP_DMA32) == 0 {
            page_gfp |= __GFP_HIGHMEM;
        }
        let mut pages = Vec::with_capacity(nr_small_pages.min(1 << 20) as usize);
        for _ in 0..nr_small_pages {
            match self.alloc_pages_nocheck(page_gfp | __GFP_NOWARN, 0) {
                Some(pfn) => pages.push(pfn),
                None => break,
            }
        }
        let got = pages.len() as u64;
        self.vmalloc.nr_vmalloc_pages = self.vmalloc.nr_vmalloc_pages.saturating_add(got);
        for (i, &pfn) in pages.iter().enumerate() {
            let pte = if self.vmalloc.faults.wrong_pte {
                pfn ^ 1
            } else {
                pfn
            };
            self.pt.map(addr + ((i as u64) << PAGE_SHIFT), pte);
        }
        if let Some(vm) = self.vmalloc.areas.get_mut(&addr) {
            vm.pages = pages;
        }
        if got != nr_small_pages {
            self.vm_warn_alloc(
                page_gfp,
                &format!(
                    "vmalloc error: size {}, failed to allocate pages",
                    got << PAGE_SHIFT
                ),
            );
            // goto fail: vfree(area->addr).
            if let Some(vm) = self.unwind_vm_area(addr) {
                self.free_vm_pages(&vm);
            }
            return false;
        }
        true
    }

    // ----- vfree --------------------------------------------------------------------

    /// vfree(): frees a vmalloc area (a vmap area is only unmapped). From interrupt
    /// context the free is deferred (vfree_atomic()). NULL is ignored.
    pub fn vfree(&mut self, addr: u64) {
        if self.ctx.in_interrupt() {
            self.vfree_atomic(addr);
            return;
        }
        self.ctx.might_sleep(VFREE_SLEEP_SITE, &mut self.log);
        self.maybe_run_delayed_vfree();
        self.vfree_process(addr);
    }

    /// vfree_atomic(): queues `addr` on the llist (whose node is the area's first word) for
    /// delayed_vfree_work().
    pub fn vfree_atomic(&mut self, addr: u64) {
        if addr == 0 {
            return;
        }
        // llist_add((struct llist_node *)addr, &p->list): writes the next pointer into the
        // freed memory, through the MMU: an unmapped address oopses here.
        let next = self.vmalloc.deferred.last().copied().unwrap_or(0);
        let bytes = next.to_le_bytes();
        let n = self.ptr_width() / 2;
        if !self.write_bytes(addr, &bytes[..n]) {
            return;
        }
        self.vmalloc.deferred.push(addr);
    }

    /// vfree() in process context, after its might_sleep().
    fn vfree_process(&mut self, addr: u64) {
        if let Some(vm) = self.remove_vm_area_or_warn(addr, "vfree", VFREE_WARN_LINE) {
            if vm.flags & VM_ALLOC != 0 {
                self.free_vm_pages(&vm);
            }
        }
    }

    /// What vfree() and vunmap() share: remove_vm_area(), with its WARN for an unaligned
    /// address, and the "nonexistent vm area" report of the caller `func` when no area
    /// starts at `addr`. NULL is ignored.
    fn remove_vm_area_or_warn(
        &mut self,
        addr: u64,
        func: &str,
        warn_line: u32,
    ) -> Option<VmStruct> {
        if addr == 0 {
            return None;
        }
        let w = self.ptr_width();
        let mut msg = String::new();
        if addr & (PAGE_SIZE - 1) != 0 {
            // remove_vm_area(): WARN(!PAGE_ALIGNED(addr), ...).
            msg.push_str(&self.vm_warn_text(
                &format!("Trying to vfree() bad address ({addr:0w$x})"),
                REMOVE_VM_AREA_WARN_LINE,
                "remove_vm_area+0x0/0x0",
            ));
            self.log.add_taint(Taint::Warn, &mut msg);
            msg.push('\n');
        } else if let Some(vm) = self.remove_vm_area(addr) {
            return Some(vm);
        }
        let kind = unknown_kind(&self.vmalloc, addr);
        msg.push_str(&self.vm_warn_text(
            &format!("Trying to {func}() nonexistent vm area ({addr:0w$x})"),
            warn_line,
            &format!("{func}+0x0/0x0"),
        ));
        self.log.report_tainting(kind, msg, Taint::Warn);
        None
    }

    // ----- vmap / vunmap ------------------------------------------------------------

    /// vmap(pages, count, VM_MAP, PAGE_KERNEL): maps the given `struct page *`s contiguously.
    /// 0 for NULL.
    pub fn vmap(&mut self, pages: &[u64]) -> u64 {
        self.ctx.might_sleep(VMAP_SLEEP_SITE, &mut self.log);
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
        let caller = self.vm_caller("vmap");
        let Some(addr) = self.get_vm_area(size, 1, VM_MAP, GFP_KERNEL, caller, false) else {
            return 0;
        };
        // vmap_pages_range(): one PTE per page, WARN and unwind on a bad page.
        let mut mapped = Vec::with_capacity(pages.len());
        for (i, &page) in pages.iter().enumerate() {
            let pfn = self.page_to_pfn(page);
            let bad = if page == 0 {
                Some(VMAP_NULL_PAGE_WARN_LINE)
            } else if pfn >= self.layout.max_pfn {
                Some(VMAP_BAD_PFN_WARN_LINE)
            } else {
                None
            };
            if let Some(line) = bad {
                let t = self.vm_warn_text("", line, "vmap_pages_pte_range+0x0/0x0");
                self.log.warn_tainting(t, Taint::Warn);
                // vunmap(area->addr): the PTEs set so far go too.
                if let Some(vm) = self.vmalloc.areas.get_mut(&addr) {
                    vm.mapped = mapped;
                }
                self.unwind_vm_area(addr);
                return 0;
            }
            self.pt.map(addr + ((i as u64) << PAGE_SHIFT), pfn);
            mapped.push(pfn);
        }
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
        self.ctx.might_sleep(VUNMAP_SLEEP_SITE, &mut self.log);
        self.maybe_run_delayed_vfree();
        if let Some(vm) = self.remove_vm_area_or_warn(addr, "vunmap", VUNMAP_WARN_LINE) {
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

    fn vmalloc_to_pfn_inner(&mut self, addr: u64) -> Option<u64> {
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
            let t = self.vm_warn_text(
                "",
                VMALLOC_TO_PAGE_LEAF_WARN_LINE,
                "vmalloc_to_page+0x0/0x0",
            );
            self.log.warn_tainting(t, Taint::Warn);
            return None;
        }
        self.pt.lookup(addr)
    }

    // ----- /proc/vmallocinfo --------------------------------------------------------

    /// /proc/vmallocinfo (s_show()): one line per area in address order, sizes including
    /// the guard page; pointers printed raw (root with kptr_restrict permitting).
    pub fn proc_vmallocinfo(&self) -> String {
        let mut s = String::new();
        for v in self.vmalloc.areas.values() {
            s.push_str(&format!(
                "0x{}-0x{} {:7}",
                self.ptr_hex(v.addr),
                self.ptr_hex(v.end()),
                v.size
            ));
            if !v.caller.is_empty() {
                s.push(' ');
                s.push_str(&v.caller);
            }
            if !v.pages.is_empty() {
                s.push_str(&format!(" pages={}", v.pages.len()));
            }
            if v.flags & VM_IOREMAP != 0 {
                s.push_str(" ioremap");
            }
            if v.flags & VM_ALLOC != 0 {
                s.push_str(" vmalloc");
            }
            if v.flags & VM_MAP != 0 {
                s.push_str(" vmap");
            }
            if v.pages_array.is_some() {
                s.push_str(" vpages");
            }
            // show_numa_info(): x86_64 kernels are built with CONFIG_NUMA (one node here),
            // i386 ones without.
            if self.layout.arch == Arch::X86_64 && !v.pages.is_empty() {
                s.push_str(&format!(" N0={}", v.pages.len()));
            }
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucketed first fit agrees with a scan of every free range.
    #[test]
    fn first_fit_matches_a_linear_scan() {
        let start = 0x1000_0000u64;
        let end = start + (1 << 32);
        let mut v = Vmalloc::new(start, end);
        let mut live: Vec<(u64, u64)> = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if !x.is_multiple_of(3) || live.is_empty() {
                let pages = match x % 7 {
                    0 => 1 + (x >> 8) % 4000,
                    _ => 1 + (x >> 8) % 70,
                };
                let size = pages << PAGE_SHIFT;
                // One request in four asks for an alignment from 8K to 1M.
                let align = match (x >> 40) % 16 {
                    k @ 0..=7 if k % 2 == 0 => PAGE_SIZE << (1 + (x >> 44) % 8),
                    _ => PAGE_SIZE,
                };
                let length = if align > PAGE_SIZE {
                    size + align - 1
                } else {
                    size
                };
                let expect = v
                    .free
                    .by_start
                    .iter()
                    .find(|(&s, &e)| e - s >= length)
                    .map(|(&s, _)| s.next_multiple_of(align));
                let got = v.alloc_range(size, align);
                assert_eq!(got, expect);
                if let Some(a) = got {
                    live.push((a, size));
                }
            } else {
                let (a, size) = live.swap_remove(((x >> 16) % live.len() as u64) as usize);
                v.free_range(a, size);
            }
        }
        for (a, size) in live {
            v.free_range(a, size);
        }
        assert_eq!(v.free.by_start.len(), 1);
        assert_eq!(v.free.first_fit(1 << 32), Some(start));
    }
}
