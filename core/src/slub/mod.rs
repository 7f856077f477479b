//! The SLUB slab allocator (mm/slub.c, mm/slab_common.c of Linux 6.6): caches of
//! equal-sized objects carved out of buddy pages, with SLUB's debugging.
//!
//! - A cache's slabs are blocks of `order` pages from the buddy (PG_slab set on the head);
//!   each slab keeps its free objects on a free list whose next pointers live IN simulated
//!   memory at `object + s->offset`, so a client overwrite corrupts them as in Linux.
//! - Debugging (SLAB_CONSISTENCY_CHECKS, SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER, per
//!   cache or from `slub_debug=` for every cache) lays out each slot as calculate_sizes()
//!   does, fills it as init_object() does, checks it as check_object() does, and reports
//!   through one function (`debug.rs`, slab_bug()/print_trailer()).
//!
//! How a slab's objects are handed out ([`SlabObjects`]), which areas the debug checks compare
//! ([`ObjectChecks`]) and which kmalloc cache serves a size (`crate::kmalloc::KmallocSizes`)
//! are seams (`crate::seams`); kmem's implementations are [`LifoFreelist`], [`SlubChecks`]
//! and `SizeIndex`.
//!
//! Simplifications (each also noted where it applies):
//! - One CPU and no per-CPU slabs: every allocation takes the first partial slab (or a new
//!   slab) and every free goes straight to its slab, the path Linux takes for debug caches.
//!   Object order is the same as Linux's for a fresh slab (ascending) and LIFO after frees.
//! - No cache merging (as with `slab_nomerge`): each kmem_cache_create() makes its own cache.
//! - Free pointers are stored plainly (no CONFIG_SLAB_FREELIST_HARDENED obfuscation), but
//!   cache_from_obj() behaves as with FREELIST_HARDENED: a free to the wrong cache is always
//!   warned about and the object goes to the cache it belongs to.
//! - Every free pointer is validated (check_valid_pointer()) before the model follows it,
//!   with or without debugging; an invalid one is reported ("Freechain corrupt") and the rest
//!   of that slab's free list is isolated, where Linux without debugging would crash.
//! - A free of a pointer that is not the start of an object is always refused ("Invalid object
//!   pointer"), where Linux without SLAB_CONSISTENCY_CHECKS would corrupt the free list.
//! - Pointers print unhashed (as with no_hash_pointers); dump_stack() prints only its
//!   "CPU: ... Comm: ..." line, and stack depot traces are not printed.
//! - The caller of an allocation or free (the track's addr) is the operation index set with
//!   [`Machine::set_caller`], printed as `op_<N>+0x0/0x1`; jiffies is the same index.

mod cache;
mod check;
mod debug;
mod freelist;
mod proc;
pub(crate) mod sites;
mod slab;
mod track;

use std::collections::BTreeMap;

pub use cache::{get_order, SlotLayout};
pub(crate) use cache::{ptr_size, KmemCache};
pub use check::{CheckArea, CheckAreas, CheckedObject, ObjectChecks, SlubChecks};
pub use freelist::{Freelist, LifoFreelist, SlabObjects};
pub(crate) use slab::GFP_SLAB_BUG_MASK;

use crate::context::{SleepSite, MUTEX_LOCK, PERCPU_DOWN_READ};
use crate::gfp::*;
use crate::kmalloc::KmallocSizes;
use crate::machine::Machine;
use crate::report::{Report, ReportKind, Taint};
use crate::slab_flags::*;
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// include/linux/poison.h.
pub const POISON_INUSE: u8 = 0x5a;
pub const POISON_FREE: u8 = 0x6b;
pub const POISON_END: u8 = 0xa5;
pub const SLUB_RED_INACTIVE: u8 = 0xbb;
pub const SLUB_RED_ACTIVE: u8 = 0xcc;
/// kmem_cache_shrink() promotes the partial slabs with at most this many free objects.
const SHRINK_PROMOTE_MAX: u32 = 32;

/// might_alloc() in slab_pre_alloc_hook() (mm/slab.h in 6.6) expands at
/// include/linux/sched/mm.h:306.
pub const SLAB_PRE_ALLOC_HOOK: SleepSite = crate::context::MIGHT_ALLOC;

/// Where the model's caller ("_RET_IP_") addresses start: a kernel text address, so that a
/// track's addr is never 0 (a track with addr 0 prints nothing).
fn text_base(arch: crate::Arch) -> u64 {
    match arch {
        crate::Arch::I386 => 0xc100_0000,
        crate::Arch::X86_64 => 0xffff_ffff_8100_0000,
    }
}

/// One slab: struct slab's counters and free list head (metadata, outside client memory).
#[derive(Clone, Debug)]
pub(crate) struct Slab {
    pub cache: usize,
    pub order: u32,
    pub objects: u32,
    pub inuse: u32,
    /// Address of the first free object, 0 for none.
    pub freelist: u64,
}

/// The slab allocator's state in a [`Machine`].
pub struct Slub {
    pub(crate) caches: Vec<KmemCache>,
    /// struct kmem_cache address -> cache index, for live caches.
    pub(crate) by_handle: BTreeMap<u64, usize>,
    /// slab_caches in creation order (/proc/slabinfo prints the newest first).
    pub(crate) slab_caches: Vec<usize>,
    /// Every slab, by head pfn.
    pub(crate) slabs: BTreeMap<u64, Slab>,
    /// kmalloc_caches[type][index], created on first use.
    pub(crate) kmalloc_caches: [[Option<usize>; crate::kmalloc::KMALLOC_SHIFT_HIGH as usize + 1];
        crate::kmalloc::NR_KMALLOC_TYPES],
    /// The "kmem_cache" cache that struct kmem_cache objects (the handles) come from.
    pub(crate) kmem_cache: Option<usize>,
    /// Large kmalloc allocations (straight from the buddy): head pfn -> order.
    pub(crate) large: BTreeMap<u64, u32>,
    /// The caller recorded in tracks (see [`Machine::set_caller`]).
    pub(crate) caller: u64,
    /// SLUB reports of the current operation, pushed to the log at its end so that FIX lines
    /// that follow a report (slab_fix()) land in its text.
    pub(crate) pending: Vec<Report>,
    /// How objects are handed out from a slab and taken back.
    pub(crate) objects: Box<dyn SlabObjects>,
    /// Which areas of an object the debug checks compare.
    pub(crate) checks: Box<dyn ObjectChecks>,
    /// Which kmalloc cache serves a request size.
    pub(crate) sizes: Box<dyn KmallocSizes>,
}

impl Slub {
    pub fn new(
        objects: Box<dyn SlabObjects>,
        checks: Box<dyn ObjectChecks>,
        sizes: Box<dyn KmallocSizes>,
    ) -> Slub {
        Slub {
            caches: Vec::new(),
            by_handle: BTreeMap::new(),
            slab_caches: Vec::new(),
            slabs: BTreeMap::new(),
            kmalloc_caches: Default::default(),
            kmem_cache: None,
            large: BTreeMap::new(),
            caller: 0,
            pending: Vec::new(),
            objects,
            checks,
            sizes,
        }
    }
}

/// What the introspection API tells about a cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheInfo {
    pub handle: u64,
    pub name: String,
    /// Effective flags, slub_debug= included.
    pub flags: SlabFlags,
    pub ctor: Option<u8>,
    pub layout: SlotLayout,
    pub object_size: u32,
    pub size: u32,
    pub align: u32,
    pub order: u32,
    pub objects_per_slab: u32,
    pub kmalloc: bool,
    /// Slabs, objects in them, objects allocated.
    pub nr_slabs: u64,
    pub total_objects: u64,
    pub active_objects: u64,
    /// False once destroyed; a cache whose destroy failed stays alive (as in Linux).
    pub alive: bool,
}

/// Where an address lies in the slab allocator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlabObjectInfo {
    /// The cache's handle and name.
    pub cache: u64,
    pub cache_name: String,
    /// The slab: its head pfn, its `struct page *`, its first byte's address, its order.
    pub slab_pfn: u64,
    pub slab_page: u64,
    pub slab_addr: u64,
    pub slab_order: u32,
    /// The slot the address falls in (None in the slab's tail padding): its index and the
    /// object pointer the allocator hands out for it.
    pub index: Option<u32>,
    pub object: Option<u64>,
    /// The address's offset from that object pointer (negative in the left red zone).
    pub offset_in_object: Option<i64>,
    /// Whether that object is currently on its slab's free list (None when the free list
    /// cannot be walked to a conclusion).
    pub free: Option<bool>,
}

/// `%pS` of a caller address the model recorded, on `arch`.
pub(crate) fn symbolize(arch: crate::Arch, ip: u64) -> String {
    match ip.checked_sub(text_base(arch)) {
        Some(n) if n < 1 << 32 => format!("op_{n}+0x0/0x1"),
        _ => format!("0x{ip:x}"),
    }
}

impl Machine {
    /// Sets the caller recorded in SLUB's alloc/free tracks (`_RET_IP_` in Linux): the
    /// runner passes the index of the operation about to run. It also serves as jiffies.
    pub fn set_caller(&mut self, caller: u64) {
        self.slub.caller = caller;
        self.log.set_jiffies(caller);
    }

    pub(crate) fn caller_ip(&self) -> u64 {
        text_base(self.layout.arch).wrapping_add(self.slub.caller)
    }

    /// `%pS` of a caller address the model recorded.
    pub(crate) fn symbolize(&self, ip: u64) -> String {
        symbolize(self.layout.arch, ip)
    }

    /// Pushes the reports SLUB gathered during this operation to the log. Each tainted the
    /// kernel when it was gathered, as Linux does when it prints it.
    pub(crate) fn slub_flush(&mut self) {
        for r in std::mem::take(&mut self.slub.pending) {
            self.log.push_report(r);
        }
    }

    /// A cache by handle, if it is a live one.
    pub(crate) fn cache_id(&self, handle: u64) -> Option<usize> {
        self.slub.by_handle.get(&handle).copied()
    }

    /// The report for a handle that names no live cache: the kernel would dereference a
    /// stale or wild pointer. (Model text: Linux has no such check without KASAN.)
    pub(crate) fn bad_cache_handle(&mut self, func: &str, handle: u64) {
        let w = self.ptr_width();
        if handle == 0 {
            let text = self.page_fault_oops(8, false);
            self.slub_flush();
            self.log.report_tainting(
                ReportKind::PageFault,
                format!("{text}\nkmemfuzz: {func}(NULL): kmem_cache pointer is NULL"),
                Taint::Die,
            );
            return;
        }
        // kmemfuzz's own text, no taint: Linux prints nothing here.
        self.slub_flush();
        self.log.report(
            ReportKind::MempoolMisuse,
            format!(
                "kmemfuzz: {func}: 0x{handle:0w$x} is not a live struct kmem_cache (destroyed, or never created)"
            ),
        );
    }

    /// The page-table-free translation of a slab object address to its physical address.
    pub(crate) fn slab_pa(&self, va: u64) -> u64 {
        va.wrapping_sub(self.layout.page_offset)
    }

    /// The slab an address lies in: its head pfn.
    pub(crate) fn find_slab(&self, addr: u64) -> Option<u64> {
        if !self.layout.is_direct_map(addr) {
            return None;
        }
        let pfn = (addr - self.layout.page_offset) >> PAGE_SHIFT;
        let (&head, slab) = self.slub.slabs.range(..=pfn).next_back()?;
        (pfn < head + (1u64 << slab.order)).then_some(head)
    }

    pub(crate) fn slab_address(&self, pfn: u64) -> u64 {
        self.layout.page_offset + (pfn << PAGE_SHIFT)
    }

    // ------------------------------------------------------------------------------------
    // kmem_cache_create() and friends.

    /// Creates the "kmem_cache" cache on first use: struct kmem_cache objects come from it
    /// (its own handle is one of its objects, as after SLUB's bootstrap()).
    fn ensure_kmem_cache_cache(&mut self) -> Option<usize> {
        if let Some(id) = self.slub.kmem_cache {
            return Some(id);
        }
        // sizeof(struct kmem_cache) for one node, SLAB_HWCACHE_ALIGN (an approximation).
        let size = match self.layout.arch {
            crate::Arch::I386 => 136,
            crate::Arch::X86_64 => 232,
        };
        let id = self.create_cache_raw("kmem_cache", size, 0, SLAB_HWCACHE_ALIGN, None)?;
        self.slub.kmem_cache = Some(id);
        let handle = self.slab_alloc(id, GFP_NOWAIT | __GFP_ZERO, size);
        if handle == 0 {
            return None;
        }
        self.slub.caches[id].handle = handle;
        self.slub.caches[id].refcount = -1;
        self.slub.by_handle.insert(handle, id);
        Some(id)
    }

    /// create_cache() without the struct kmem_cache allocation: opens the cache and lists it.
    fn create_cache_raw(
        &mut self,
        name: &str,
        size: u32,
        align: u32,
        flags: SlabFlags,
        ctor: Option<u8>,
    ) -> Option<usize> {
        let arch = self.layout.arch;
        let align = cache::calculate_alignment(flags, align, size, arch);
        let flags = flags | cache::slub_debug_flags(self.cfg.slub_debug);
        let c = KmemCache::open(name, size, align, flags, ctor, arch)?;
        let id = self.slub.caches.len();
        self.slub.caches.push(c);
        self.slub.slab_caches.push(id);
        Some(id)
    }

    /// create_cache(): a new cache with its struct kmem_cache allocated. Returns its index.
    pub(crate) fn create_cache(
        &mut self,
        name: &str,
        size: u32,
        align: u32,
        flags: SlabFlags,
        ctor: Option<u8>,
    ) -> Option<usize> {
        let kc = self.ensure_kmem_cache_cache()?;
        let obj_size = self.slub.caches[kc].layout.object_size;
        let handle = self.slab_alloc(kc, GFP_KERNEL | __GFP_ZERO, obj_size);
        if handle == 0 {
            return None;
        }
        let Some(id) = self.create_cache_raw(name, size, align, flags, ctor) else {
            self.slab_free(kc, handle);
            return None;
        };
        self.slub.caches[id].handle = handle;
        self.slub.by_handle.insert(handle, id);
        Some(id)
    }

    /// kmem_cache_create(name, size, align, flags, ctor): a cache handle (the address of its
    /// struct kmem_cache), or 0 when Linux fails (-EINVAL: no name, a size above
    /// KMALLOC_MAX_SIZE or 0, flags outside SLAB_FLAGS_PERMITTED, an alignment that is not a
    /// power of two, called from interrupt context). `ctor`, when given, is the byte the
    /// constructor stores into every byte of each new object.
    pub fn kmem_cache_create(
        &mut self,
        name: &str,
        size: u64,
        align: u64,
        flags: SlabFlags,
        ctor: Option<u8>,
    ) -> u64 {
        // mutex_lock(&slab_mutex) comes before every check; with a debug flag,
        // static_branch_enable(&slub_debug_enabled) takes cpus_read_lock() before it.
        self.might_sleep(if flags & SLAB_DEBUG_FLAGS != 0 {
            PERCPU_DOWN_READ
        } else {
            MUTEX_LOCK
        });
        let max = self.kmalloc_max_size();
        // kmem_cache_sanity_check() (CONFIG_DEBUG_VM): a name, process context, a size
        // kmalloc could serve.
        let sane = !name.is_empty() && !self.ctx.in_interrupt() && size <= max;
        // Refused later, without the integrity message: an alignment above KMALLOC_MAX_SIZE
        // (calculate_sizes() finds no order for the object it makes, kmem_cache_open()
        // fails), and the model's own -EINVAL for size 0 and for an alignment that is not a
        // power of two (Linux would divide by zero / compute nonsense alignments).
        let unusable = size == 0 || (align != 0 && !align.is_power_of_two()) || align > max;
        let mut err = 0i32;
        if !sane {
            self.log.warn(format!(
                "kmem_cache_create({}) integrity check failed",
                if name.is_empty() { "(null)" } else { name }
            ));
            err = -22;
        } else {
            if name.contains(' ') {
                // WARN_ON(strchr(name, ' ')): it confuses parsers.
                self.warn_warning(&sites::CACHE_NAME_SPACE, false, "", "");
            }
            if flags & !cache::SLAB_FLAGS_PERMITTED != 0 || unusable {
                err = -22;
            }
        }
        if err == 0 {
            let flags = flags & cache::SLAB_FLAGS_PERMITTED & !SLAB_KMALLOC;
            match self.create_cache(name, size as u32, align as u32, flags, ctor) {
                Some(id) => {
                    let h = self.slub.caches[id].handle;
                    self.slub_flush();
                    return h;
                }
                None => err = -12,
            }
        }
        self.slub_flush();
        let func = "kmem_cache_create_usercopy";
        if flags & SLAB_PANIC != 0 {
            // panic(): the model cannot stop, so it prints the panic and returns NULL.
            self.log.warn(format!(
                "Kernel panic - not syncing: {func}: Failed to create slab '{name}'. Error {err}"
            ));
        } else {
            self.log.warn(format!(
                "{func}({name}) failed with error {err}\n{}",
                self.dump_stack()
            ));
        }
        0
    }

    /// slab_pre_alloc_hook(): might_alloc().
    pub(crate) fn slab_pre_alloc_hook(&mut self, gfp: Gfp) {
        if gfpflags_allow_blocking(gfp) {
            self.might_sleep(SLAB_PRE_ALLOC_HOOK);
        }
    }

    /// kmem_cache_alloc(cache, gfp): an object, or 0.
    pub fn kmem_cache_alloc(&mut self, cache: u64, gfp: Gfp) -> u64 {
        let Some(id) = self.cache_id(cache) else {
            self.bad_cache_handle("kmem_cache_alloc", cache);
            return 0;
        };
        self.slab_pre_alloc_hook(gfp);
        let size = self.slub.caches[id].layout.object_size;
        let p = self.slab_alloc(id, gfp, size);
        self.slub_flush();
        p
    }

    /// kmem_cache_zalloc(cache, gfp): kmem_cache_alloc(cache, gfp | __GFP_ZERO).
    pub fn kmem_cache_zalloc(&mut self, cache: u64, gfp: Gfp) -> u64 {
        self.kmem_cache_alloc(cache, gfp | __GFP_ZERO)
    }

    /// kmem_cache_free(cache, addr).
    pub fn kmem_cache_free(&mut self, cache: u64, addr: u64) {
        let Some(id) = self.cache_id(cache) else {
            self.bad_cache_handle("kmem_cache_free", cache);
            return;
        };
        // cache_from_obj() (as with CONFIG_SLAB_FREELIST_HARDENED) and virt_to_cache().
        let Some(pfn) = self.find_slab(addr) else {
            self.slub_flush();
            self.report_not_slab_page("kmem_cache_free", addr);
            self.slub_flush();
            return;
        };
        let real = self.slub.slabs.get(&pfn).map_or(id, |s| s.cache);
        if real != id {
            self.report_wrong_cache(id, real, pfn, addr);
        }
        self.slab_free(real, addr);
        self.slub_flush();
    }

    /// kmem_cache_size(): the object size.
    pub fn kmem_cache_size(&self, cache: u64) -> u64 {
        self.cache_id(cache)
            .map_or(0, |id| self.slub.caches[id].layout.object_size as u64)
    }

    /// kmem_cache_shrink(cache) (__kmem_cache_do_shrink()): returns every empty slab to the
    /// buddy and promotes the partial slabs filled up most to the head of the list, those
    /// with one free object first, up to SHRINK_PROMOTE_MAX free; each such group in the
    /// reverse of its old order (list_move() to the head of its promote list), the slabs
    /// with more free objects after them in their old order.
    pub fn kmem_cache_shrink(&mut self, cache: u64) -> i32 {
        // __kmem_cache_shrink() -> flush_all(): cpus_read_lock() before it reads the cache.
        self.might_sleep(PERCPU_DOWN_READ);
        let Some(id) = self.cache_id(cache) else {
            self.bad_cache_handle("kmem_cache_shrink", cache);
            return 0;
        };
        let empty: Vec<u64> = self.slub.caches[id]
            .partial
            .iter()
            .copied()
            .filter(|pfn| self.slub.slabs.get(pfn).is_some_and(|s| s.inuse == 0))
            .collect();
        for pfn in empty {
            self.remove_partial(id, pfn);
            self.discard_slab(pfn);
        }
        let free_of = |pfn: &u64| {
            self.slub
                .slabs
                .get(pfn)
                .map_or(u32::MAX, |s| s.objects.saturating_sub(s.inuse))
        };
        let (mut promoted, mut rest) = (Vec::new(), Vec::new());
        for (i, pfn) in self.slub.caches[id].partial.iter().enumerate() {
            match free_of(pfn) {
                // Fewest free first; within one count, the later slab first.
                free if free <= SHRINK_PROMOTE_MAX => {
                    promoted.push((free, std::cmp::Reverse(i), *pfn))
                }
                _ => rest.push(*pfn),
            }
        }
        promoted.sort_unstable();
        let order = promoted.into_iter().map(|(_, _, pfn)| pfn).chain(rest);
        self.slub.caches[id].partial = order.collect();
        self.slub_flush();
        0
    }

    /// kmem_cache_destroy(cache). With objects still allocated, SLUB reports "Objects
    /// remaining in <cache> on __kmem_cache_shutdown()" for each partial slab holding some
    /// and the WARN "Slab cache still has objects"; the cache is then kept (still usable,
    /// still in /proc/slabinfo, its memory leaked), as Linux keeps it.
    pub fn kmem_cache_destroy(&mut self, cache: u64) {
        if cache == 0 {
            return;
        }
        // cpus_read_lock(), then mutex_lock(&slab_mutex).
        self.might_sleep(PERCPU_DOWN_READ);
        let Some(id) = self.cache_id(cache) else {
            self.bad_cache_handle("kmem_cache_destroy", cache);
            return;
        };
        let c = &mut self.slub.caches[id];
        c.refcount = c.refcount.saturating_sub(1);
        if c.refcount != 0 {
            return;
        }
        if self.kmem_cache_shutdown(id) {
            // shutdown_cache(): off slab_caches, struct kmem_cache freed.
            self.slub.caches[id].alive = false;
            self.slub.slab_caches.retain(|&x| x != id);
            self.slub.by_handle.remove(&cache);
            if let Some(kc) = self.slub.kmem_cache {
                self.slab_free(kc, cache);
            }
        }
        self.slub_flush();
    }

    /// validate_slab_cache(): what writing 1 to /sys/kernel/slab/<cache>/validate does. Walks
    /// the partial slabs (and the full ones, which SLUB lists only with SLAB_STORE_USER),
    /// checks each slab's free list and every object. Returns the slabs counted.
    pub fn validate_slab_cache(&mut self, cache: u64) -> u64 {
        let Some(id) = self.cache_id(cache) else {
            self.bad_cache_handle("validate_slab_cache", cache);
            return 0;
        };
        // bitmap_alloc(oo_objects(s->oo), GFP_KERNEL) for the object map: might_alloc().
        self.might_sleep(crate::context::MIGHT_ALLOC);
        let n = self.validate_cache(id);
        self.slub_flush();
        n
    }

    // ------------------------------------------------------------------------------------
    // Introspection.

    fn cache_info(&self, id: usize) -> CacheInfo {
        let c = &self.slub.caches[id];
        let active: u64 = c
            .slabs
            .iter()
            .filter_map(|p| self.slub.slabs.get(p))
            .map(|s| s.inuse as u64)
            .sum();
        CacheInfo {
            handle: c.handle,
            name: c.name.clone(),
            flags: c.flags,
            ctor: c.ctor,
            layout: c.layout,
            object_size: c.layout.object_size,
            size: c.layout.size,
            align: c.layout.align,
            order: c.order,
            objects_per_slab: c.objects,
            kmalloc: c.kmalloc,
            nr_slabs: c.slabs.len() as u64,
            total_objects: c.total_objects,
            active_objects: active,
            alive: c.alive,
        }
    }

    /// The live caches, newest first (the order of slab_caches and /proc/slabinfo).
    pub fn kmem_caches(&self) -> Vec<CacheInfo> {
        self.slub
            .slab_caches
            .iter()
            .rev()
            .map(|&id| self.cache_info(id))
            .collect()
    }

    /// One live cache by handle.
    pub fn kmem_cache_info(&self, cache: u64) -> Option<CacheInfo> {
        self.cache_id(cache).map(|id| self.cache_info(id))
    }

    /// Which cache, slab and object an address belongs to, if it lies in a slab.
    pub fn slab_object_info(&self, addr: u64) -> Option<SlabObjectInfo> {
        let pfn = self.find_slab(addr)?;
        let slab = self.slub.slabs.get(&pfn)?;
        let c = &self.slub.caches[slab.cache];
        let base = self.slab_address(pfn);
        let off = addr - base;
        let size = c.layout.size as u64;
        let idx = off / size;
        let (index, object, offset_in_object, free) = if idx < slab.objects as u64 {
            let obj = base + idx * size + c.layout.red_left_pad as u64;
            (
                Some(idx as u32),
                Some(obj),
                Some(addr as i64 - obj as i64),
                self.object_is_free(slab.cache, pfn, obj),
            )
        } else {
            (None, None, None, None)
        };
        Some(SlabObjectInfo {
            cache: c.handle,
            cache_name: c.name.clone(),
            slab_pfn: pfn,
            slab_page: self.layout.page_ptr(pfn),
            slab_addr: base,
            slab_order: slab.order,
            index,
            object,
            offset_in_object,
            free,
        })
    }

    /// A large kmalloc allocation (straight from the buddy) starting at `addr`: its order.
    pub fn kmalloc_large_order(&self, addr: u64) -> Option<u32> {
        if !self.layout.is_direct_map(addr) || addr & (PAGE_SIZE - 1) != 0 {
            return None;
        }
        let pfn = (addr - self.layout.page_offset) >> PAGE_SHIFT;
        self.slub.large.get(&pfn).copied()
    }
}
