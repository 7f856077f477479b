//! The lazy freeing of vmap areas (mm/vmalloc.c, 6.6): free_vmap_area_noflush() queues a
//! freed area's range on the purge list instead of returning it to the free space, and
//! __purge_vmap_area_lazy() gives every queued range back at once, in address order. The
//! purge runs when more than lazy_max_pages() are queued, or when alloc_vmap_area() finds
//! no room, which purges and searches once more before it fails.
//!
//! Simplification: Linux purges past the limit from a work item (drain_vmap_work) it
//! schedules; the model runs the purge at once, in the free that crossed the limit.

use crate::machine::Machine;
use crate::PAGE_SHIFT;

/// lazy_max_pages(): fls(num_online_cpus()) * 32 MiB of pages; one CPU here.
pub const LAZY_MAX_PAGES: u64 = (32 << 20) >> PAGE_SHIFT;

impl Machine {
    /// free_vmap_area_noflush(): queues [start, start + size) (the guard page included)
    /// for a lazy purge; the PTEs are already down.
    pub(super) fn free_vmap_area_noflush(&mut self, start: u64, size: u64) {
        let v = &mut self.vmalloc;
        v.lazy.push((start, size));
        v.lazy_nr += size >> PAGE_SHIFT;
        if v.lazy_nr > LAZY_MAX_PAGES {
            self.purge_vmap_area_lazy();
        }
    }

    /// __purge_vmap_area_lazy(): every queued range back to the free space, lowest first.
    /// Returns whether there was any.
    pub(super) fn purge_vmap_area_lazy(&mut self) -> bool {
        let v = &mut self.vmalloc;
        if v.lazy.is_empty() {
            return false;
        }
        let mut queued = std::mem::take(&mut v.lazy);
        queued.sort_unstable();
        for (start, size) in queued {
            v.space.free(start, size);
        }
        v.lazy_nr = 0;
        true
    }

    /// vmap_lazy_nr: pages of freed areas waiting for the purge.
    pub fn vmap_lazy_nr(&self) -> u64 {
        self.vmalloc.lazy_nr
    }

    /// The ranges waiting for the purge, [start, end), in address order.
    pub fn vmap_lazy_ranges(&self) -> Vec<(u64, u64)> {
        let mut r: Vec<(u64, u64)> = self
            .vmalloc
            .lazy
            .iter()
            .map(|&(s, size)| (s, s + size))
            .collect();
        r.sort_unstable();
        r
    }

    /// vm_unmap_aliases(): _vm_unmap_aliases()'s might_sleep(), then the purge of the lazily
    /// freed areas (the per-CPU vmap blocks it also flushes are not modelled).
    pub fn vm_unmap_aliases(&mut self) {
        self.might_sleep(super::VM_UNMAP_ALIASES_SLEEP_SITE);
        self.purge_vmap_area_lazy();
    }
}
