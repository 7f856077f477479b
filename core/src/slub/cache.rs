//! `struct kmem_cache`: the geometry of a cache's objects and slabs, computed as
//! mm/slab_common.c (calculate_alignment) and mm/slub.c (calculate_sizes, calculate_order)
//! compute it.

use std::collections::BTreeSet;

use crate::config::{Arch, SlubDebug};
use crate::gfp::*;
use crate::slab_flags::*;
use crate::{MAX_PAGE_ORDER, PAGE_SIZE};

/// slub_max_order: PAGE_ALLOC_COSTLY_ORDER.
pub const SLUB_MAX_ORDER: u32 = 3;
/// MAX_OBJS_PER_PAGE: the objects field of struct slab is 15 bits.
pub const MAX_OBJS_PER_PAGE: u32 = 32767;
/// MIN_PARTIAL / MAX_PARTIAL: bounds of min_partial, the empty slabs kept on the partial list.
pub const MIN_PARTIAL: u32 = 5;
pub const MAX_PARTIAL: u32 = 10;
/// cache_line_size() on x86.
pub const CACHE_LINE_SIZE: u32 = 64;
/// ARCH_SLAB_MINALIGN / ARCH_KMALLOC_MINALIGN: __alignof__(unsigned long long), 8 on both
/// i386 (GCC's preferred alignment) and x86_64.
pub const ARCH_SLAB_MINALIGN: u32 = 8;

/// The slab flags kmem_cache_create() accepts (SLAB_FLAGS_PERMITTED, the part the model knows).
pub const SLAB_FLAGS_PERMITTED: SlabFlags = SLAB_CONSISTENCY_CHECKS
    | SLAB_RED_ZONE
    | SLAB_POISON
    | SLAB_KMALLOC
    | SLAB_HWCACHE_ALIGN
    | SLAB_CACHE_DMA
    | SLAB_CACHE_DMA32
    | SLAB_STORE_USER
    | SLAB_PANIC
    | SLAB_TYPESAFE_BY_RCU
    | SLAB_RECLAIM_ACCOUNT
    | SLAB_ACCOUNT;

/// The flags slub_debug= adds to every cache (kmem_cache_flags()).
pub fn slub_debug_flags(d: Option<SlubDebug>) -> SlabFlags {
    d.map_or(0, SlubDebug::slab_flags)
}

/// sizeof(void *).
pub fn ptr_size(arch: Arch) -> u32 {
    match arch {
        Arch::I386 => 4,
        Arch::X86_64 => 8,
    }
}

/// sizeof(struct track) with CONFIG_STACKDEPOT (which SLUB_DEBUG selects): addr, handle,
/// cpu, pid, when.
pub fn track_size(arch: Arch) -> u32 {
    match arch {
        Arch::I386 => 20,
        Arch::X86_64 => 32,
    }
}

fn align_up(v: u64, a: u64) -> u64 {
    if a <= 1 {
        return v;
    }
    v.div_ceil(a).saturating_mul(a)
}

/// get_order(size): the smallest order whose block holds `size` bytes.
pub fn get_order(size: u64) -> u32 {
    if size <= PAGE_SIZE {
        return 0;
    }
    let pages = size.div_ceil(PAGE_SIZE);
    64 - (pages - 1).leading_zeros()
}

/// order_objects(): objects of `size` bytes in a slab of `order`.
pub fn order_objects(order: u32, size: u32) -> u32 {
    if size == 0 {
        return 0;
    }
    ((PAGE_SIZE << order) / size as u64).min(u32::MAX as u64) as u32
}

/// calculate_alignment() (mm/slab_common.c).
pub fn calculate_alignment(flags: SlabFlags, align: u32, size: u32, arch: Arch) -> u32 {
    let mut align = align;
    if flags & SLAB_HWCACHE_ALIGN != 0 {
        let mut ralign = CACHE_LINE_SIZE;
        while size <= ralign / 2 {
            ralign /= 2;
        }
        align = align.max(ralign);
    }
    align = align.max(ARCH_SLAB_MINALIGN);
    align_up(align as u64, ptr_size(arch) as u64).min(u32::MAX as u64) as u32
}

/// calc_slab_order() (mm/slub.c, Linux 6.6).
fn calc_slab_order(size: u32, min_objects: u32, max_order: u32, fract_leftover: u32) -> u32 {
    let min_order = 0;
    if order_objects(min_order, size) > MAX_OBJS_PER_PAGE {
        return get_order(size as u64 * MAX_OBJS_PER_PAGE as u64).saturating_sub(1);
    }
    let mut order = min_order.max(get_order(min_objects as u64 * size as u64));
    while order <= max_order {
        let slab_size = PAGE_SIZE << order;
        let rem = slab_size % size as u64;
        if rem <= slab_size / fract_leftover as u64 {
            break;
        }
        order += 1;
    }
    order
}

/// calculate_order() (mm/slub.c, Linux 6.6) for one CPU: min_objects = 4 * (fls(1) + 1).
/// None where Linux returns -ENOSYS.
pub fn calculate_order(size: u32) -> Option<u32> {
    if size == 0 {
        return None;
    }
    let mut min_objects: u32 = 4 * (1 + 1);
    let max_objects = order_objects(SLUB_MAX_ORDER, size);
    min_objects = min_objects.min(max_objects);
    while min_objects > 1 {
        let mut fraction = 16;
        while fraction >= 4 {
            let order = calc_slab_order(size, min_objects, SLUB_MAX_ORDER, fraction);
            if order <= SLUB_MAX_ORDER {
                return Some(order);
            }
            fraction /= 2;
        }
        min_objects -= 1;
    }
    let order = calc_slab_order(size, 1, SLUB_MAX_ORDER, 1);
    if order <= SLUB_MAX_ORDER {
        return Some(order);
    }
    let order = calc_slab_order(size, 1, MAX_PAGE_ORDER, 1);
    (order <= MAX_PAGE_ORDER).then_some(order)
}

/// The slot layout of a cache: where each part of an object's slot lies, as calculate_sizes()
/// places it. Offsets are from the object pointer handed out (the slot begins `red_left_pad`
/// bytes before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotLayout {
    /// s->red_left_pad: the left red zone before the object (0 without SLAB_RED_ZONE).
    pub red_left_pad: u32,
    /// s->object_size: what the client asked for.
    pub object_size: u32,
    /// s->inuse: object plus right red zone / alignment slack; the free pointer follows it
    /// when it is kept outside the object.
    pub inuse: u32,
    /// s->offset: the free pointer's offset from the object.
    pub offset: u32,
    /// Whether the free pointer lies outside the object (offset >= inuse).
    pub freeptr_outside: bool,
    /// Offset of the alloc track (the free track follows it), with SLAB_STORE_USER.
    pub track_offset: Option<u32>,
    /// sizeof(struct track).
    pub track_size: u32,
    /// Offset of orig_size (the requested kmalloc size), with SLAB_STORE_USER on a kmalloc
    /// cache.
    pub orig_size_offset: Option<u32>,
    /// Where padding (0x5a) starts, and size_from_object(): padding is [pad_offset, size_from_object).
    pub pad_offset: u32,
    pub size_from_object: u32,
    /// s->size: the whole slot, the stride between objects.
    pub size: u32,
    /// s->align.
    pub align: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct KmemCache {
    pub name: String,
    /// The cache's handle: the address of its `struct kmem_cache` (an object of the
    /// "kmem_cache" cache), 0 while it is being created.
    pub handle: u64,
    /// Effective flags: the caller's plus slub_debug='s.
    pub flags: SlabFlags,
    /// __OBJECT_POISON: SLAB_POISON without a ctor (or RCU).
    pub object_poison: bool,
    pub ctor: Option<u8>,
    pub layout: SlotLayout,
    pub ptr_size: u32,
    /// s->oo: the preferred slab order and its object count.
    pub order: u32,
    pub objects: u32,
    /// s->min: the fallback order when the preferred one cannot be had.
    pub min_order: u32,
    pub min_partial: u32,
    /// GFP flags every slab allocation of this cache adds (s->allocflags).
    pub allocflags: Gfp,
    /// s->refcount: -1 for the caches that bootstrap SLUB (never destroyed), 1 for a kmalloc
    /// cache and a new cache.
    pub refcount: i64,
    /// n->partial: slab head pfns, list head first.
    pub partial: Vec<u64>,
    /// Every slab of the cache (Linux keeps n->nr_slabs and, with SLAB_STORE_USER, n->full).
    pub slabs: BTreeSet<u64>,
    pub total_objects: u64,
    /// False once kmem_cache_destroy() released the cache.
    pub alive: bool,
    /// kmalloc caches carry SLAB_KMALLOC.
    pub kmalloc: bool,
}

impl KmemCache {
    /// kmem_cache_open(): calculate_sizes() and the rest. `flags` already holds slub_debug's.
    /// None where Linux fails with -EINVAL.
    pub fn open(
        name: &str,
        object_size: u32,
        align: u32,
        flags: SlabFlags,
        ctor: Option<u8>,
        arch: Arch,
    ) -> Option<KmemCache> {
        let ptr = ptr_size(arch);
        let trk = track_size(arch);
        let object_poison =
            flags & SLAB_POISON != 0 && flags & SLAB_TYPESAFE_BY_RCU == 0 && ctor.is_none();
        let kmalloc = flags & SLAB_KMALLOC != 0;
        let store_user = flags & SLAB_STORE_USER != 0;
        let red_zone = flags & SLAB_RED_ZONE != 0;
        // All sums below are u64 and bounded by the order check at the end.
        let mut size = align_up(object_size as u64, ptr as u64);
        if red_zone && size == object_size as u64 {
            size += ptr as u64;
        }
        let inuse = size;
        let orig_size_on = store_user && kmalloc;
        let offset;
        if orig_size_on
            || flags & (SLAB_TYPESAFE_BY_RCU | SLAB_POISON) != 0
            || (red_zone && object_size < ptr)
            || ctor.is_some()
        {
            offset = size;
            size += ptr as u64;
        } else {
            offset = (object_size as u64 / 2) & !(ptr as u64 - 1);
        }
        let info_end = size;
        let mut track_offset = None;
        let mut orig_size_offset = None;
        if store_user {
            track_offset = Some(size);
            size += 2 * trk as u64;
            if kmalloc {
                orig_size_offset = Some(size);
                size += 4;
            }
        }
        let pad_offset = size;
        let mut red_left_pad = 0u64;
        if red_zone {
            size += ptr as u64;
            red_left_pad = align_up(ptr as u64, align as u64);
            size += red_left_pad;
        }
        size = align_up(size, align as u64);
        if size == 0 || size > (PAGE_SIZE << MAX_PAGE_ORDER) {
            return None;
        }
        let size32 = size as u32;
        let order = calculate_order(size32)?;
        let objects = order_objects(order, size32);
        if objects == 0 {
            return None;
        }
        let min_order = get_order(size);
        let size_from_object = if red_zone { size - red_left_pad } else { size };
        let ilog2 = 31 - size32.leading_zeros();
        let min_partial = (ilog2 / 2).clamp(MIN_PARTIAL, MAX_PARTIAL);
        let mut allocflags = 0;
        if flags & SLAB_CACHE_DMA != 0 {
            allocflags |= __GFP_DMA;
        }
        if flags & SLAB_CACHE_DMA32 != 0 {
            allocflags |= __GFP_DMA32;
        }
        if flags & SLAB_RECLAIM_ACCOUNT != 0 {
            allocflags |= __GFP_RECLAIMABLE;
        }
        if order > 0 {
            allocflags |= __GFP_COMP;
        }
        let _ = info_end;
        Some(KmemCache {
            name: name.to_string(),
            handle: 0,
            flags,
            object_poison,
            ctor,
            layout: SlotLayout {
                red_left_pad: red_left_pad as u32,
                object_size,
                inuse: inuse as u32,
                offset: offset as u32,
                freeptr_outside: offset >= inuse,
                track_offset: track_offset.map(|v| v as u32),
                track_size: trk,
                orig_size_offset: orig_size_offset.map(|v| v as u32),
                pad_offset: pad_offset as u32,
                size_from_object: size_from_object as u32,
                size: size32,
                align,
            },
            ptr_size: ptr,
            order,
            objects,
            min_order,
            min_partial,
            allocflags,
            refcount: 1,
            partial: Vec::new(),
            slabs: BTreeSet::new(),
            total_objects: 0,
            alive: true,
            kmalloc,
        })
    }

    /// kmem_cache_debug(): any SLUB debug flag.
    pub fn debug(&self) -> bool {
        self.flags & SLAB_DEBUG_FLAGS != 0
    }
    pub fn has(&self, f: SlabFlags) -> bool {
        self.flags & f != 0
    }
    /// slub_debug_orig_size(): kmalloc caches with SLAB_STORE_USER keep the requested size.
    pub fn orig_size_on(&self) -> bool {
        self.layout.orig_size_offset.is_some()
    }
    /// slab_ksize().
    pub fn ksize(&self) -> u32 {
        if self.has(SLAB_RED_ZONE | SLAB_POISON) {
            self.layout.object_size
        } else if self.has(SLAB_TYPESAFE_BY_RCU | SLAB_STORE_USER) {
            self.layout.inuse
        } else {
            self.layout.size
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmalloc_32_with_full_debugging_matches_the_worked_example() {
        let f = SLAB_KMALLOC | SLAB_DEBUG_FLAGS;
        let c = KmemCache::open("kmalloc-32", 32, 32, f, None, Arch::X86_64).unwrap();
        let l = c.layout;
        assert_eq!(l.size, 160);
        assert_eq!(l.red_left_pad, 32);
        assert_eq!(l.inuse, 40);
        assert_eq!(l.offset, 40);
        assert_eq!(l.track_offset, Some(48));
        assert_eq!(l.orig_size_offset, Some(112));
        assert_eq!(l.pad_offset, 116);
        assert_eq!(l.size_from_object, 128);
        let c = KmemCache::open("kmalloc-64", 64, 64, f, None, Arch::X86_64).unwrap();
        assert_eq!(c.layout.size, 256);
        let c = KmemCache::open("kmalloc-32", 32, 32, SLAB_KMALLOC, None, Arch::X86_64).unwrap();
        assert_eq!((c.layout.size, c.layout.offset), (32, 16));
    }

    #[test]
    fn orders() {
        assert_eq!(calculate_order(8192), Some(3));
        assert_eq!(calculate_order(4096), Some(3));
        assert_eq!(calculate_order(512), Some(0));
        assert_eq!(calculate_order(12288), Some(3));
        assert_eq!(calculate_order(4 << 20), Some(10));
        assert_eq!(get_order(4097), 1);
        assert_eq!(get_order(1), 0);
    }
}
