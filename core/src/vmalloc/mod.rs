//! vmalloc: virtually contiguous kernel memory built from single pages (mm/vmalloc.c).
//!
//! Every area lives in [VMALLOC_START, VMALLOC_END), is placed at the lowest free range that
//! fits its size plus one unmapped guard page (alloc_vmap_area()'s first fit), gets its pages
//! from the buddy allocator one at a time, and is mapped page by page through the kernel page
//! table, so touching the guard page or a freed area faults.
//!
//! The address space and the page-table mapping are seams ([`VmapSpace`], [`VmapPages`]):
//! kmem's [`FreeRanges`] and [`PtePerPage`] sit behind them unless the machine was booted with
//! others (`crate::seams`).
//!
//! A freed area's range waits on the lazy purge list, as in Linux (`lazy`), so its
//! addresses are not reused at once: a stale pointer into it faults.
//!
//! Simplifications, each where Linux differs in timing or internal state only:
//! - An area a failing vmalloc or vmap takes down again before its caller saw it is given
//!   back at once, not queued for the purge as Linux's vfree(area->addr) does.
//! - The vm_struct and vmap_area metadata and a page array small enough for kmalloc are kept
//!   in Rust, not in slab memory. A page array larger than a page is vmalloc'ed as Linux
//!   does (its own area, " vpages" in /proc/vmallocinfo), but the page pointers are not
//!   written into it: the model's own list is what vfree() frees.
//! - vfree() from interrupt context is deferred as vfree_atomic() does (the area's first word
//!   becomes the llist node); the work item runs at the next vmalloc-family call made where
//!   the worker could be scheduled (process context, preemption and interrupts enabled), or
//!   when the caller runs [`Machine::delayed_vfree_work`].
//! - `%p` / `%pK` print the raw pointer (as with no_hash_pointers), so output is readable and
//!   deterministic. WARN_ON_ONCE prints once per boot; rate limits run on the model's clock
//!   (docs/model.md, "The clock").
//! - Line numbers in mm/vmalloc.c for Linux 6.6 are not confirmed (docs/kernel-texts.md §12);
//!   they are gathered in the constants below so they can be corrected in one place.

mod alloc;
mod lazy;
mod report;
mod vfree;
mod vm_struct;
mod vmap;
mod vmap_area;

use std::collections::BTreeMap;

use crate::config::Arch;
use crate::context::SleepSite;
use crate::dumpstack::Site;
use crate::machine::Machine;
use crate::PAGE_SIZE;

pub use lazy::LAZY_MAX_PAGES;
pub use vmap::{PtePerPage, VmapPages};
pub use vmap_area::{FreeRanges, VmapFit, VmapSpace};

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
/// might_sleep() in _vm_unmap_aliases() (line unverified).
pub const VM_UNMAP_ALIASES_SLEEP_SITE: SleepSite = SleepSite {
    file: "mm/vmalloc.c",
    line: 2236,
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
// The WARN sites of mm/vmalloc.c. Lines unverified for 6.6; the offsets are the model's (no
// x86 6.x log of these sites found, docs/model.md "Reports").
/// WARN(1, "Trying to vfree() nonexistent vm area") in vfree().
const VFREE_WARN: Site = Site {
    file: "mm/vmalloc.c",
    line: 2845,
    func: "vfree",
    off: 0x1b5,
    size: 0x270,
};
/// WARN(!PAGE_ALIGNED(addr), "Trying to vfree() bad address") in remove_vm_area().
const REMOVE_VM_AREA_WARN: Site = Site {
    file: "mm/vmalloc.c",
    line: 2741,
    func: "remove_vm_area",
    off: 0x10a,
    size: 0x120,
};
/// WARN(1, "Trying to vunmap() nonexistent vm area") in vunmap().
const VUNMAP_WARN: Site = Site {
    file: "mm/vmalloc.c",
    line: 2885,
    func: "vunmap",
    off: 0x4d,
    size: 0x60,
};
/// BUG_ON(in_interrupt()) in vunmap() (line unverified).
const VUNMAP_BUG_LINE: u32 = 2879;
/// BUG_ON(in_interrupt()) in __get_vm_area_node() (line unverified).
const GET_VM_AREA_BUG_LINE: u32 = 2599;
/// WARN_ON_ONCE(!size) in __vmalloc_node_range().
const VMALLOC_ZERO_SIZE_WARN: Site = Site {
    file: "mm/vmalloc.c",
    line: 3235,
    func: "__vmalloc_node_range",
    off: 0x5f1,
    size: 0x6a0,
};
/// WARN_ON(!page) / WARN_ON(!pfn_valid()) in vmap_pages_pte_range(), inlined into
/// vmap_small_pages_range_noflush().
const VMAP_NULL_PAGE_WARN: Site = Site {
    file: "mm/vmalloc.c",
    line: 486,
    func: "vmap_small_pages_range_noflush",
    off: 0x1e1,
    size: 0x2d0,
};
const VMAP_BAD_PFN_WARN: Site = Site {
    file: "mm/vmalloc.c",
    line: 488,
    func: "vmap_small_pages_range_noflush",
    off: 0x1e5,
    size: 0x2d0,
};
/// VIRTUAL_BUG_ON(!is_vmalloc_or_module_addr()) in vmalloc_to_page() (line unverified).
const VMALLOC_TO_PAGE_BUG_LINE: u32 = 667;
/// WARN_ON_ONCE(pmd_leaf()) in vmalloc_to_page() for a large-page mapping.
const VMALLOC_TO_PAGE_LEAF_WARN: Site = Site {
    file: "mm/vmalloc.c",
    line: 708,
    func: "vmalloc_to_page",
    off: 0xd6,
    size: 0x150,
};

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
    /// The caller, as /proc/vmallocinfo prints it (`%pS`).
    pub caller: VmCaller,
    /// The start of the vmalloc'ed page array, when the array was larger than a page.
    pub pages_array: Option<u64>,
}

/// What an area records as its caller (vm_struct.caller): a return address, formatted
/// (`%pS`) only when /proc/vmallocinfo is read, or a symbol set with
/// [`Machine::set_vmalloc_caller`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmCaller {
    Ip(u64),
    Symbol(String),
}

impl VmCaller {
    /// The caller as `%pS` prints it on `arch`.
    pub fn text(&self, arch: Arch) -> String {
        match self {
            VmCaller::Ip(ip) => crate::slub::symbolize(arch, *ip),
            VmCaller::Symbol(s) => s.clone(),
        }
    }
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

/// The vmalloc state of a machine.
pub struct Vmalloc {
    /// Live areas by start address.
    areas: BTreeMap<u64, VmStruct>,
    /// The address space the areas are carved from.
    space: Box<dyn VmapSpace>,
    /// How an area's pages are entered in the page table.
    mapper: Box<dyn VmapPages>,
    /// Areas freed and whose start no live area has taken since: start to size. Used only
    /// to tell a second vfree() from a vfree() of an address that never was an area.
    freed: BTreeMap<u64, u64>,
    /// vfree_atomic()'s llist: addresses in the order they were queued.
    deferred: Vec<u64>,
    /// The lazy purge list: freed areas (start, size with the guard page) whose range is not
    /// free yet, in the order they were freed.
    lazy: Vec<(u64, u64)>,
    /// vmap_lazy_nr: the pages `lazy` holds.
    lazy_nr: u64,
    /// nr_vmalloc_pages.
    nr_vmalloc_pages: u64,
    /// The caller the next areas record (a symbol set by the client, or the caller of the
    /// area whose page array is being allocated); None: the statement that calls.
    caller: Option<VmCaller>,
}

impl Vmalloc {
    /// No areas yet: the whole of `space` free.
    pub fn new(space: Box<dyn VmapSpace>, mapper: Box<dyn VmapPages>) -> Vmalloc {
        Vmalloc {
            areas: BTreeMap::new(),
            space,
            mapper,
            freed: BTreeMap::new(),
            deferred: Vec::new(),
            lazy: Vec::new(),
            lazy_nr: 0,
            nr_vmalloc_pages: 0,
            caller: None,
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
        self.vmalloc.space.free_ranges().into_iter()
    }

    /// The placement rule the machine's vmalloc space declares ([`VmapSpace::fit`]).
    pub fn vmalloc_fit(&self) -> VmapFit {
        self.vmalloc.space.fit()
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
        self.vmalloc.caller = caller.map(VmCaller::Symbol);
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

    /// The area's caller: the one set with [`Machine::set_vmalloc_caller`], or
    /// __builtin_return_address(0), the statement that called (`op_<N>+0x0/0x1`).
    fn vm_caller(&self) -> VmCaller {
        match &self.vmalloc.caller {
            Some(c) => c.clone(),
            None => VmCaller::Ip(self.caller_ip()),
        }
    }

    fn ptr_hex(&self, v: u64) -> String {
        format!("{v:0w$x}", w = self.ptr_width())
    }
}
