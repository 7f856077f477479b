//! The vmalloc family: vmalloc(), vzalloc(), vmalloc_32(), __vmalloc() and __vmalloc_node()
//! through __vmalloc_node_range(), and __vmalloc_area_node() filling an area with pages.

use super::{VmCaller, GET_VM_AREA_BUG_LINE, VMALLOC_ZERO_SIZE_WARN, VM_ALLOC};
use crate::context::MIGHT_ALLOC;
use crate::gfp::*;
use crate::machine::Machine;
use crate::report::{ReportKind, Taint};
use crate::{PAGE_SHIFT, PAGE_SIZE};

impl Machine {
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
    pub(super) fn __vmalloc_node_range(
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
            self.warn_warning(&VMALLOC_ZERO_SIZE_WARN, true, "", "");
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
            self.might_sleep(MIGHT_ALLOC);
        }
        let caller = self.vm_caller();
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
            // A page array (depth > 0) is never the client's: a stale handle to an area
            // freed where it now lies is still a double free.
            if depth == 0 {
                self.commit_vm_area(addr);
            }
            addr
        } else {
            0
        }
    }

    /// __vmalloc_area_node(): the page array, the pages (one at a time), the mappings.
    /// On failure frees what was taken (vfree(area->addr)) and returns false.
    pub(super) fn __vmalloc_area_node(
        &mut self,
        addr: u64,
        size: u64,
        gfp: Gfp,
        caller: VmCaller,
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
        // vm_area_alloc_pages(): alloc_pages() with __GFP_NOWARN added, silent on failure;
        // the warning below is vmalloc's own.
        for _ in 0..nr_small_pages {
            match self.alloc_pages_warn(page_gfp | __GFP_NOWARN, 0) {
                Some(pfn) => pages.push(pfn),
                None => break,
            }
        }
        let got = pages.len() as u64;
        self.vmalloc.nr_vmalloc_pages = self.vmalloc.nr_vmalloc_pages.saturating_add(got);
        self.vmalloc
            .mapper
            .vmap_pages_range(&mut self.pt, addr, &pages);
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
                self.free_vm_pages(&vm, false);
            }
            return false;
        }
        true
    }
}
