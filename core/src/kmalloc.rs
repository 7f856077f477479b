//! kmalloc() and friends (mm/slab_common.c, include/linux/slab.h of Linux 6.6): size
//! classes served by the kmalloc-N caches (created on first use, so boot stays cheap),
//! larger sizes straight from the buddy.
//!
//! Simplifications: the kmalloc caches are created the first time a size class and type is
//! used, so /proc/slabinfo lists them in that order rather than Linux's boot order; no
//! CONFIG_RANDOM_KMALLOC_CACHES.

use crate::config::KmallocMax;
use crate::gfp::*;
use crate::machine::Machine;
use crate::report::{ReportKind, Taint};
use crate::slab_flags::*;
use crate::slub::get_order;
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// ZERO_SIZE_PTR: what kmalloc(0) returns.
pub const ZERO_SIZE_PTR: u64 = 16;
pub const KMALLOC_SHIFT_LOW: u32 = 3;
pub const KMALLOC_SHIFT_HIGH: u32 = PAGE_SHIFT + 1;
pub const KMALLOC_MIN_SIZE: u64 = 1 << KMALLOC_SHIFT_LOW;
pub const KMALLOC_MAX_CACHE_SIZE: u64 = 1 << KMALLOC_SHIFT_HIGH;
/// KMALLOC_MAX_SIZE: 1 << (MAX_PAGE_ORDER + PAGE_SHIFT).
pub const KMALLOC_MAX_SIZE: u64 = 4 << 20;
/// KMALLOC_MAX_SIZE of older kernels (`kmalloc_max=128K` on the boot line).
pub const KMALLOC_MAX_SIZE_LEGACY: u64 = 128 << 10;
/// ARCH_KMALLOC_MINALIGN on x86.
pub const ARCH_KMALLOC_MINALIGN: u32 = 8;

/// Tag in `Page::owner_tag` of a large kmalloc block's head page.
pub(crate) const KMALLOC_LARGE_TAG: u64 = 0x6b6d_616c_6c6f_6321;

/// enum kmalloc_cache_type (without the random caches).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KmallocType {
    Normal = 0,
    Reclaim = 1,
    Dma = 2,
    Cgroup = 3,
}
pub const NR_KMALLOC_TYPES: usize = 4;

impl KmallocType {
    fn prefix(self) -> &'static str {
        match self {
            KmallocType::Normal => "kmalloc-",
            KmallocType::Reclaim => "kmalloc-rcl-",
            KmallocType::Dma => "dma-kmalloc-",
            KmallocType::Cgroup => "kmalloc-cg-",
        }
    }
    fn flags(self) -> SlabFlags {
        match self {
            KmallocType::Normal => 0,
            KmallocType::Reclaim => SLAB_RECLAIM_ACCOUNT,
            KmallocType::Dma => SLAB_CACHE_DMA,
            KmallocType::Cgroup => SLAB_ACCOUNT,
        }
    }
}

/// kmalloc_type(): which family of caches a mask allocates from.
pub fn kmalloc_type(gfp: Gfp) -> KmallocType {
    if gfp & (__GFP_RECLAIMABLE | __GFP_DMA | __GFP_ACCOUNT) == 0 {
        KmallocType::Normal
    } else if gfp & __GFP_DMA != 0 {
        KmallocType::Dma
    } else if gfp & __GFP_RECLAIMABLE != 0 {
        KmallocType::Reclaim
    } else {
        KmallocType::Cgroup
    }
}

/// kmalloc_info[]: (size, short name) by index.
pub const KMALLOC_INFO: [(u32, &str); 14] = [
    (0, "0"),
    (96, "96"),
    (192, "192"),
    (8, "8"),
    (16, "16"),
    (32, "32"),
    (64, "64"),
    (128, "128"),
    (256, "256"),
    (512, "512"),
    (1024, "1k"),
    (2048, "2k"),
    (4096, "4k"),
    (8192, "8k"),
];

/// kmalloc_size_index[] (size_index[] in 6.6): (size - 1) / 8 -> index, for sizes up to 192.
const SIZE_INDEX: [u8; 24] = [
    3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2,
];

/// kmalloc_slab()'s index for 1 <= size <= KMALLOC_MAX_CACHE_SIZE.
pub fn kmalloc_index(size: u64) -> usize {
    if size == 0 {
        return 0;
    }
    if size <= 192 {
        return SIZE_INDEX[((size - 1) / 8) as usize] as usize;
    }
    (64 - (size - 1).leading_zeros()) as usize
}

/// kmalloc_slab()'s size classes: which kmalloc cache serves a request, the seam beneath
/// kmalloc().
///
/// Real alternatives: where KMALLOC_MIN_SIZE is above 8 (ARCH_DMA_MINALIGN of an
/// architecture whose DMA is not cache-coherent), setup_kmalloc_cache_index_table() points
/// the smallest sizes at larger caches and kmalloc-96 and kmalloc-192 may go; with
/// CONFIG_RANDOM_KMALLOC_CACHES each size class has sixteen copies and the caller's address
/// picks one. kmem serves x86's classes ([`SizeIndex`]).
pub trait KmallocSizes {
    /// The index into `kmalloc_caches[type]` ([`KMALLOC_INFO`]) for a request of `size`
    /// bytes, 1 <= size <= KMALLOC_MAX_CACHE_SIZE.
    fn kmalloc_index(&self, size: u64) -> usize;
}

/// x86's size classes (KMALLOC_MIN_SIZE 8, kmalloc-96 and kmalloc-192 present):
/// [`kmalloc_index`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SizeIndex;

impl KmallocSizes for SizeIndex {
    fn kmalloc_index(&self, size: u64) -> usize {
        kmalloc_index(size)
    }
}

/// The size class kmalloc(size) is served from (0 for sizes above KMALLOC_MAX_CACHE_SIZE).
pub fn kmalloc_size_class(size: u64) -> u64 {
    if size == 0 || size > KMALLOC_MAX_CACHE_SIZE {
        return 0;
    }
    KMALLOC_INFO[kmalloc_index(size)].0 as u64
}

impl Machine {
    pub(crate) fn kmalloc_max_size(&self) -> u64 {
        match self.cfg.kmalloc_max {
            KmallocMax::Current => KMALLOC_MAX_SIZE,
            KmallocMax::Legacy => KMALLOC_MAX_SIZE_LEGACY,
        }
    }

    /// The kmalloc cache of a type and index, created on first use
    /// (create_kmalloc_cache(): SLAB_KMALLOC, natural alignment for powers of two).
    pub(crate) fn kmalloc_cache_id(&mut self, ty: KmallocType, index: usize) -> Option<usize> {
        if index == 0 || index >= KMALLOC_INFO.len() {
            return None;
        }
        if let Some(id) = self.slub.kmalloc_caches[ty as usize][index] {
            return Some(id);
        }
        let (size, short) = KMALLOC_INFO[index];
        let name = format!("{}{short}", ty.prefix());
        let mut align = ARCH_KMALLOC_MINALIGN;
        if size.is_power_of_two() {
            align = align.max(size);
        }
        let id = self.create_cache(&name, size, align, ty.flags() | SLAB_KMALLOC, None)?;
        // create_kmalloc_cache(): create_boot_cache() leaves -1 (no merging while booting),
        // then the cache goes on slab_caches with a refcount of 1.
        self.slub.caches[id].refcount = 1;
        self.slub.kmalloc_caches[ty as usize][index] = Some(id);
        Some(id)
    }

    /// The handle of the kmalloc cache serving `size` with `gfp`, if it exists yet.
    pub fn kmalloc_cache(&self, size: u64, gfp: Gfp) -> Option<u64> {
        if size == 0 || size > KMALLOC_MAX_CACHE_SIZE {
            return None;
        }
        let index = self.slub.sizes.kmalloc_index(size);
        let id = self.slub.kmalloc_caches[kmalloc_type(gfp) as usize]
            .get(index)
            .copied()
            .flatten()?;
        Some(self.slub.caches[id].handle)
    }

    /// __do_kmalloc_node(): `check` makes the might_alloc() check (off for the allocations
    /// other allocators make on a caller's behalf, which made it once already).
    pub(crate) fn do_kmalloc(&mut self, size: u64, gfp: Gfp, check: bool) -> u64 {
        if size > KMALLOC_MAX_CACHE_SIZE {
            return self.kmalloc_large(size, gfp, check);
        }
        if size == 0 {
            return ZERO_SIZE_PTR;
        }
        let index = self.slub.sizes.kmalloc_index(size);
        // might_alloc() comes first: in Linux the kmalloc caches exist from boot, so the
        // check runs whatever happens next; the model creates a cache on first use, which
        // can fail once memory has run out.
        if check {
            self.slab_pre_alloc_hook(gfp);
        }
        let Some(id) = self.kmalloc_cache_id(kmalloc_type(gfp), index) else {
            self.slub_flush();
            return 0;
        };
        let p = self.slab_alloc(id, gfp, size as u32);
        self.slub_flush();
        p
    }

    /// __kmalloc_large_node(): whole pages (a compound block of get_order(size)), page
    /// aligned, up to KMALLOC_MAX_SIZE.
    fn kmalloc_large(&mut self, size: u64, gfp: Gfp, check: bool) -> u64 {
        if size > self.kmalloc_max_size() && self.cfg.kmalloc_max == KmallocMax::Legacy {
            // Older kernels: no cache that large, kmalloc() returns NULL.
            return 0;
        }
        let mut flags = gfp;
        if flags & crate::slub::GFP_SLAB_BUG_MASK != 0 {
            flags = self.kmalloc_fix_flags(flags);
        }
        flags |= __GFP_COMP;
        let order = get_order(size);
        let pfn = if check {
            self.alloc_pages_pfn(flags, order)
        } else {
            // On a caller's behalf (mempool's pool->alloc()): no might_alloc() again, but a
            // failure is alloc_pages()'s all the same and goes through warn_alloc() (silent
            // for mempool_alloc(), which adds __GFP_NOWARN; not for mempool_create()'s
            // GFP_KERNEL preallocation).
            self.alloc_pages_warn(flags, order)
        };
        let Some(pfn) = pfn else { return 0 };
        self.pages.get_mut(pfn).owner_tag = KMALLOC_LARGE_TAG;
        self.slub.large.insert(pfn, order);
        self.layout.page_offset + (pfn << PAGE_SHIFT)
    }

    /// kmalloc(size, gfp): 0 for NULL, ZERO_SIZE_PTR (16) for size 0.
    pub fn kmalloc(&mut self, size: u64, gfp: Gfp) -> u64 {
        self.do_kmalloc(size, gfp, true)
    }

    /// kzalloc(size, gfp).
    pub fn kzalloc(&mut self, size: u64, gfp: Gfp) -> u64 {
        self.do_kmalloc(size, gfp | __GFP_ZERO, true)
    }

    /// Is this the start of a live large kmalloc block? Returns its head pfn and order.
    fn large_block(&self, addr: u64) -> Option<(u64, u32)> {
        if !self.layout.is_direct_map(addr) || addr & (PAGE_SIZE - 1) != 0 {
            return None;
        }
        let pfn = (addr - self.layout.page_offset) >> PAGE_SHIFT;
        let order = *self.slub.large.get(&pfn)?;
        let p = self.pages.get(pfn);
        (p.owner_tag == KMALLOC_LARGE_TAG && p.owner_order == Some(order as u8))
            .then_some((pfn, order))
    }

    /// kfree(addr). NULL and ZERO_SIZE_PTR are ignored. Memory kmalloc did not hand out (a
    /// page from alloc_pages(), a pointer into an object or a large block, a vmalloc or wild
    /// address) is reported as invalid-free and left alone. (Linux frees a non-slab page it
    /// is given, warning only for order 0; the model refuses.)
    pub fn kfree(&mut self, addr: u64) {
        self.do_kfree(addr);
        self.slub_flush();
    }

    pub(crate) fn do_kfree(&mut self, addr: u64) {
        if addr <= ZERO_SIZE_PTR {
            return;
        }
        if let Some(pfn) = self.find_slab(addr) {
            let id = self.slub.slabs.get(&pfn).map_or(0, |s| s.cache);
            self.slab_free(id, addr);
            return;
        }
        if let Some((pfn, order)) = self.large_block(addr) {
            self.slub.large.remove(&pfn);
            self.pages.get_mut(pfn).owner_tag = 0;
            self.slub_flush();
            self.free_pages_pfn(pfn, order);
            return;
        }
        self.slub_flush();
        self.report_bad_kfree(addr);
    }

    /// kfree() of something kmalloc did not hand out.
    fn report_bad_kfree(&mut self, addr: u64) {
        let w = self.ptr_width();
        if !self.layout.is_direct_map(addr) {
            // virt_to_folio() of an address outside the direct map: a struct page pointer
            // outside mem_map, which faults when read.
            let page = self.layout.mem_map.wrapping_add(
                (addr.wrapping_sub(self.layout.page_offset) >> PAGE_SHIFT)
                    .wrapping_mul(self.layout.struct_page_size),
            );
            let page = match self.layout.arch {
                crate::Arch::I386 => page & 0xffff_ffff,
                crate::Arch::X86_64 => page,
            };
            let text = self.page_fault_oops(page, false);
            self.log.report_tainting(
                ReportKind::InvalidFree,
                format!("{text}\nkmemfuzz: kfree(0x{addr:0w$x}): not a kmalloc address"),
                Taint::Die,
            );
            return;
        }
        let pfn = (addr - self.layout.page_offset) >> PAGE_SHIFT;
        if self.alloc.is_free(pfn) {
            // The page is free already: a double free of a large kmalloc block, or a free of
            // memory nobody holds; folio_put() on a zero refcount.
            self.vm_bug_on_page(
                ReportKind::DoubleFree,
                pfn,
                "VM_BUG_ON_FOLIO(folio_ref_count(folio) == 0)",
                &format!("kfree(0x{addr:0w$x})"),
            );
            return;
        }
        // free_large_kmalloc(): WARN_ON_ONCE(order == 0), then pr_warn_once() of the pointer.
        let site = crate::slub::sites::FREE_LARGE_KMALLOC;
        let pointer = if self.log.once("free_large_kmalloc: object pointer") {
            format!("object pointer: 0x{addr:0w$x}")
        } else {
            String::new()
        };
        self.warn_report(ReportKind::InvalidFree, &site, true, "", &pointer);
    }

    /// ksize(addr): the usable size of a kmalloc object (slab_ksize(): object_size with Z or
    /// P, inuse with U, else the whole slot; the block size for large kmalloc). With
    /// SLAB_STORE_USER on a kmalloc cache it also lifts the kmalloc red zone
    /// (skip_orig_size_check()), since the caller may now use all of it.
    pub fn ksize(&mut self, addr: u64) -> u64 {
        if addr <= ZERO_SIZE_PTR {
            return 0;
        }
        if let Some(pfn) = self.find_slab(addr) {
            let id = self.slub.slabs.get(&pfn).map_or(0, |s| s.cache);
            let c = &self.slub.caches[id];
            let (ks, osize) = (c.ksize(), c.layout.object_size);
            // Linux writes orig_size relative to whatever pointer it was given; the model
            // only for an object pointer.
            if self.check_valid_pointer(id, pfn, addr) {
                self.set_orig_size(id, addr, osize);
            }
            return ks as u64;
        }
        if let Some((_, order)) = self.large_block(addr) {
            return PAGE_SIZE << order;
        }
        // __ksize(): WARN_ON(folio_size(folio) <= KMALLOC_MAX_CACHE_SIZE) or not the
        // folio's address.
        let w = self.ptr_width();
        self.warn_warning(
            &crate::slub::sites::KSIZE,
            false,
            "",
            &format!("kmemfuzz: ksize(0x{addr:0w$x})"),
        );
        0
    }

    /// krealloc(p, new_size, gfp) as Linux 6.6 does it: size 0 frees and returns
    /// ZERO_SIZE_PTR; if ksize(p) still holds new_size, p itself (nothing re-poisoned or
    /// zeroed); otherwise a new kmalloc() with the old ksize(p) bytes copied and p freed.
    pub fn krealloc(&mut self, p: u64, new_size: u64, gfp: Gfp) -> u64 {
        if new_size == 0 {
            self.kfree(p);
            return ZERO_SIZE_PTR;
        }
        let ks = if p > ZERO_SIZE_PTR {
            // The model copies from object pointers and large blocks only; anything else is
            // treated as size 0, and the kfree() below reports it. Any other page of the
            // direct map goes through ksize() as in Linux, whose __ksize() warns about a
            // folio that is no large kmalloc (a block freed behind the client's back) and
            // answers 0.
            let valid = match self.find_slab(p) {
                Some(pfn) => {
                    let id = self.slub.slabs.get(&pfn).map_or(0, |s| s.cache);
                    self.check_valid_pointer(id, pfn, p)
                }
                None => self.layout.is_direct_map(p),
            };
            if valid {
                self.ksize(p)
            } else {
                0
            }
        } else {
            0
        };
        if ks >= new_size {
            return p;
        }
        let ret = self.do_kmalloc(new_size, gfp, true);
        if ret != 0 && p > ZERO_SIZE_PTR && ks > 0 {
            let mut buf = vec![0u8; ks as usize];
            self.phys_read(self.slab_pa(p), &mut buf);
            self.phys_write(self.slab_pa(ret), &buf);
        }
        if ret != 0 && ret != p {
            self.kfree(p);
        }
        ret
    }
}
