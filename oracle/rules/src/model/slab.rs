//! The slab rules: kmem_cache_*, kmalloc and mempool, judged at byte granularity.
//!
//! The oracle works out each cache's slot layout itself, from calculate_sizes()'s rules
//! (no code shared with `kmem`), learns which slab pages belong to which cache from the page
//! events and the objects it is handed, and keeps, per slot, whether it is live (with the
//! size the client asked for), freed, or unknown (kernel-internal objects: mempool
//! structures and reserves), and the bytes the client wrote into areas that SLUB's debug
//! checks inspect. From that it predicts every check_object() verdict: which report the
//! kernel must print, and when (at a free with F, at validate, at allocation of a poisoned
//! object with F, when a slab is discarded with F). Where the kernel's state can no longer
//! be predicted (a free pointer or orig_size overwritten, a double free without F, a check
//! that marks a whole slab used), the run is tainted (docs/design.md, "Taint").

use std::collections::BTreeMap;

use kmem_vocab::config::KmallocMax;
use kmem_vocab::gfp::*;
use kmem_vocab::slab_flags::*;
use kmem_vocab::{Arch, BootConfig, ReportKind};

use super::context::CtxModel;
use super::facts::{Facts, MAX_ORDER, PAGE_SHIFT, PAGE_SIZE};
use super::pages::PageModel;
use super::{FailureKind as F, Judgement, MisuseKind as M};

pub const ZERO_SIZE_PTR: u64 = 16;
const KMALLOC_MAX_CACHE_SIZE: u64 = 8192;
const POISON_INUSE: u8 = 0x5a;
const POISON_FREE: u8 = 0x6b;
const POISON_END: u8 = 0xa5;
const RED_INACTIVE: u8 = 0xbb;
const RED_ACTIVE: u8 = 0xcc;
const CACHE_LINE: u32 = 64;
/// Client accesses longer than this into slab memory are not followed byte by byte: the
/// run is tainted instead.
const MAX_SLAB_ACCESS: u64 = 1 << 22;

/// A slot layout, from calculate_sizes() (mm/slub.c, 6.6). Offsets are from the slot start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub rlp: u32,
    pub object_size: u32,
    pub inuse: u32,
    /// Free pointer offset from the object, and whether it is outside the object.
    pub offset: u32,
    pub fp_outside: bool,
    pub track: Option<(u32, u32)>,
    pub orig: Option<u32>,
    pub pad_offset: u32,
    pub size_from_object: u32,
    pub size: u32,
    pub align: u32,
    /// sizeof(void *).
    pub ptr: u32,
}

fn align_up(v: u64, a: u64) -> u64 {
    if a <= 1 {
        v
    } else {
        v.div_ceil(a).saturating_mul(a)
    }
}

/// calculate_alignment() (mm/slab_common.c).
pub fn alignment(flags: SlabFlags, align: u32, size: u32, ptr: u32) -> u32 {
    let mut a = align;
    if flags & SLAB_HWCACHE_ALIGN != 0 {
        let mut r = CACHE_LINE;
        while size <= r / 2 {
            r /= 2;
        }
        a = a.max(r);
    }
    a = a.max(8);
    align_up(a as u64, ptr as u64).min(1 << 30) as u32
}

/// calculate_sizes() for effective `flags`.
pub fn layout(
    object_size: u32,
    align: u32,
    flags: SlabFlags,
    ctor: bool,
    kmalloc: bool,
    arch: Arch,
) -> Layout {
    let (ptr, trk) = match arch {
        Arch::I386 => (4u64, 20u64),
        Arch::X86_64 => (8, 32),
    };
    let z = flags & SLAB_RED_ZONE != 0;
    let u = flags & SLAB_STORE_USER != 0;
    let p = flags & SLAB_POISON != 0;
    let os = object_size as u64;
    let mut size = align_up(os, ptr);
    if z && size == os {
        size += ptr;
    }
    let inuse = size;
    let outside = (u && kmalloc) || p || (z && os < ptr) || ctor;
    let offset = if outside {
        let o = size;
        size += ptr;
        o
    } else {
        (os / 2) & !(ptr - 1)
    };
    let mut track = None;
    let mut orig = None;
    if u {
        track = Some((size as u32, (2 * trk) as u32));
        size += 2 * trk;
        if kmalloc {
            orig = Some(size as u32);
            size += 4;
        }
    }
    let pad_offset = size;
    let mut rlp = 0;
    if z {
        size += ptr;
        rlp = align_up(ptr, align as u64);
        size += rlp;
    }
    size = align_up(size, align as u64);
    Layout {
        rlp: rlp as u32,
        object_size,
        inuse: inuse as u32,
        offset: offset as u32,
        fp_outside: outside,
        track,
        orig,
        pad_offset: pad_offset as u32,
        size_from_object: (size - rlp) as u32,
        size: size.min(u32::MAX as u64) as u32,
        align,
        ptr: ptr as u32,
    }
}

/// The kmalloc size class serving 1 <= size <= 8192, by the rule of mm/slab_common.c rather
/// than its tables: the powers of two from 8 to 8192 (KMALLOC_SHIFT_LOW 3 to
/// KMALLOC_SHIFT_HIGH, PAGE_SHIFT + 1), plus 96 and 192 (for sizes 65..96 and 129..192, which
/// would waste a third of a power of two).
pub fn kmalloc_class(size: u64) -> u64 {
    match size {
        0..=8 => 8,
        65..=96 => 96,
        129..=192 => 192,
        _ => size.next_power_of_two().min(8192),
    }
}

/// The name a kmalloc cache of size class `size` gets: the size in bytes, or in KiB with a
/// `k` from 1024 on (kmalloc-96, kmalloc-1k, kmalloc-8k).
fn kmalloc_class_name(size: u64) -> String {
    if size >= 1024 {
        format!("{}k", size / 1024)
    } else {
        size.to_string()
    }
}

fn get_order(size: u64) -> u32 {
    if size <= PAGE_SIZE {
        0
    } else {
        64 - (size.div_ceil(PAGE_SIZE) - 1).leading_zeros()
    }
}

#[derive(Clone, Debug)]
pub struct CacheM {
    pub name: String,
    pub flags: SlabFlags,
    pub l: Layout,
    pub ctor: Option<u8>,
    pub kmalloc: bool,
    pub alive: bool,
    /// Every object of this cache passes through the client (no mempool behind it).
    pub exact: bool,
}

impl CacheM {
    fn has(&self, f: SlabFlags) -> bool {
        self.flags & f != 0
    }
    fn debug(&self) -> bool {
        self.has(SLAB_DEBUG_FLAGS)
    }
    fn object_poison(&self) -> bool {
        self.has(SLAB_POISON) && self.ctor.is_none() && !self.has(SLAB_TYPESAFE_BY_RCU)
    }
    fn orig_on(&self) -> bool {
        self.l.orig.is_some()
    }
    fn ksize(&self) -> u32 {
        if self.has(SLAB_RED_ZONE | SLAB_POISON) {
            self.l.object_size
        } else if self.has(SLAB_TYPESAFE_BY_RCU | SLAB_STORE_USER) {
            self.l.inuse
        } else {
            self.l.size
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum St {
    /// Allocated: `req` the bytes the client may use, `orig` SLUB's orig_size. `client` is
    /// false for an element sitting in a mempool's reserve.
    Live { req: u64, orig: u32, client: bool },
    /// Freed by the client.
    Freed,
    /// Never seen: free in an exact cache, unknown otherwise.
    Untouched,
    /// Unknown to the oracle (a kernel-internal object, or a slot that may be one).
    Unknown,
}

#[derive(Clone, Debug)]
pub struct Slot {
    pub st: St,
    /// Bytes the client wrote into checked areas, by offset from the slot start.
    pub dirty: BTreeMap<u32, u8>,
    /// A mempool reserve element written while poisoned by mempool.
    pub pool_dirty: bool,
}

#[derive(Clone, Debug)]
pub struct SlabM {
    pub cache: usize,
    pub order: u32,
    pub objects: u32,
    pub tail_dirty: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Kmalloc(u64),
    Slab(usize),
    Page(u32),
}

#[derive(Clone, Debug)]
pub struct PoolM {
    pub kind: PoolKind,
    pub min: u32,
    /// The reserve, top last; None for an element the oracle never saw.
    pub reserve: Vec<Option<u64>>,
    /// Elements handed out and not given back, with how many times (an address can be
    /// handed out again after the client freed it behind the pool's back, and kmalloc(0)
    /// is always ZERO_SIZE_PTR).
    pub out: BTreeMap<u64, u32>,
    /// Whether the reserve's size is known exactly.
    pub exact: bool,
}

/// Where a byte lies in a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    LeftRz,
    Object,
    RightRz,
    FreePtr,
    Track,
    Orig,
    Padding,
}

#[derive(Clone, Debug)]
pub struct SlabModel {
    pub arch: Arch,
    pub page_offset: u64,
    pub debug: SlabFlags,
    pub kmalloc_max: u64,
    pub legacy: bool,
    pub poisoning: bool,
    pub caches: Vec<CacheM>,
    pub by_handle: BTreeMap<u64, usize>,
    kmalloc_ids: BTreeMap<(u8, u32), usize>,
    pub slabs: BTreeMap<u64, SlabM>,
    pub slots: BTreeMap<u64, Slot>,
    /// Large kmalloc blocks: address -> (order, requested size).
    pub large: BTreeMap<u64, (u32, u64)>,
    pub pools: BTreeMap<u64, PoolM>,
    kmalloc_exact: bool,
    /// The bytes krealloc() copies, read before the statement's page events (which may
    /// free the old block).
    stash: Option<Vec<Option<u8>>>,
    /// The page-pool element being freed was free already before the statement ran, or
    /// another allocator holds its pages now: what __free_pages() will find.
    page_gone: Option<PageGone>,
    /// Taint the run before the next statement (this one's reports were still predicted).
    pub taint_next: bool,
}

/// What mempool_free() of a page element finds when the client freed the pages behind the
/// pool's back (pages.rs's rules).
#[derive(Clone, Copy, Debug)]
enum PageGone {
    /// The pages are free, or reserved: this report is certain.
    Report(ReportKind),
    /// Another allocator holds them now: __free_pages() drops its reference unreported
    /// (a kmalloc or vmalloc page), or finds a slab page (Bad page state); which one
    /// the oracle does not track, and what follows is unpredictable.
    Foreign,
}

fn ptr_of(arch: Arch) -> u64 {
    match arch {
        Arch::I386 => 4,
        Arch::X86_64 => 8,
    }
}

impl SlabModel {
    pub fn new(facts: &Facts, cfg: &BootConfig) -> SlabModel {
        let debug = cfg.slub_debug.map_or(0, |d| d.slab_flags());
        let legacy = cfg.kmalloc_max == KmallocMax::Legacy;
        SlabModel {
            arch: facts.arch,
            page_offset: facts.page_offset,
            debug,
            kmalloc_max: if legacy { 128 << 10 } else { 4 << 20 },
            legacy,
            poisoning: debug & SLAB_POISON != 0,
            caches: vec![],
            by_handle: BTreeMap::new(),
            kmalloc_ids: BTreeMap::new(),
            slabs: BTreeMap::new(),
            slots: BTreeMap::new(),
            large: BTreeMap::new(),
            pools: BTreeMap::new(),
            kmalloc_exact: true,
            stash: None,
            page_gone: None,
            taint_next: false,
        }
    }

    fn pa(&self, va: u64) -> u64 {
        va.wrapping_sub(self.page_offset)
    }

    fn slab_base(&self, pfn: u64) -> u64 {
        self.page_offset + (pfn << PAGE_SHIFT)
    }

    fn sleep_check(&self, j: &mut Judgement, gfp: Gfp, ctx: &CtxModel) {
        if gfp & __GFP_DIRECT_RECLAIM != 0 && !ctx.may_sleep() {
            j.misuse(
                M::Report(ReportKind::SleepInAtomic),
                Some(ReportKind::SleepInAtomic),
            );
        }
    }

    fn bad_handle(&self, j: &mut Judgement, handle: u64) {
        let r = if handle == 0 {
            ReportKind::PageFault
        } else {
            ReportKind::MempoolMisuse
        };
        j.misuse(M::Report(r), Some(r));
    }

    fn new_cache(
        &mut self,
        name: String,
        size: u32,
        align: u32,
        flags: SlabFlags,
        ctor: Option<u8>,
        kmalloc: bool,
    ) -> usize {
        let ptr = ptr_of(self.arch) as u32;
        let align = alignment(flags, align, size, ptr);
        let flags = flags | self.debug;
        let l = layout(size, align, flags, ctor.is_some(), kmalloc, self.arch);
        self.caches.push(CacheM {
            name,
            flags,
            l,
            ctor,
            kmalloc,
            alive: true,
            exact: !kmalloc || self.kmalloc_exact,
        });
        self.caches.len() - 1
    }

    fn kmalloc_cache(&mut self, size: u64, gfp: Gfp) -> usize {
        let (ty, prefix, tflags) = if gfp & (__GFP_RECLAIMABLE | __GFP_DMA | __GFP_ACCOUNT) == 0 {
            (0u8, "kmalloc-", 0)
        } else if gfp & __GFP_DMA != 0 {
            (2, "dma-kmalloc-", SLAB_CACHE_DMA)
        } else if gfp & __GFP_RECLAIMABLE != 0 {
            (1, "kmalloc-rcl-", SLAB_RECLAIM_ACCOUNT)
        } else {
            (3, "kmalloc-cg-", SLAB_ACCOUNT)
        };
        let csize = kmalloc_class(size) as u32;
        if let Some(&id) = self.kmalloc_ids.get(&(ty, csize)) {
            return id;
        }
        let short = kmalloc_class_name(csize.into());
        let align = if csize.is_power_of_two() {
            csize.max(8)
        } else {
            8
        };
        let id = self.new_cache(
            format!("{prefix}{short}"),
            csize,
            align,
            tflags | SLAB_KMALLOC,
            None,
            true,
        );
        self.kmalloc_ids.insert((ty, csize), id);
        id
    }

    /// A cache stops being exact (a mempool allocates from it behind the client's back):
    /// slots the client freed may now hold kernel objects.
    fn make_inexact(&mut self, pages: &mut PageModel, ids: &[usize]) {
        let mut lost_dirty = false;
        for &id in ids {
            if let Some(c) = self.caches.get_mut(id) {
                c.exact = false;
            }
        }
        let slabs: Vec<(u64, usize, bool)> = self
            .slabs
            .iter()
            .map(|(&p, s)| (p, s.cache, s.tail_dirty))
            .collect();
        for (pfn, cid, tail) in slabs {
            if !ids.contains(&cid) {
                continue;
            }
            lost_dirty |= tail;
            let l = self.caches[cid].l;
            for slot in self.slot_addrs(pfn) {
                if !matches!(self.slots.get(&slot).map(|s| s.st), Some(St::Live { .. })) {
                    // A mempool may poison it behind the client's back.
                    self.shadow(pages, slot + l.rlp as u64, l.object_size as u64, None);
                }
                if let Some(s) = self.slots.get_mut(&slot) {
                    if matches!(s.st, St::Freed | St::Untouched) {
                        lost_dirty |= !s.dirty.is_empty();
                        s.st = St::Unknown;
                        s.dirty.clear();
                    }
                }
            }
        }
        if lost_dirty {
            self.taint_next = true;
        }
    }

    fn slot_addrs(&self, pfn: u64) -> Vec<u64> {
        let Some(s) = self.slabs.get(&pfn) else {
            return vec![];
        };
        let size = self.caches[s.cache].l.size as u64;
        let base = self.slab_base(pfn);
        (0..s.objects as u64).map(|i| base + i * size).collect()
    }

    fn state(&self, cid: usize, slot: u64) -> St {
        match self.slots.get(&slot).map(|s| s.st) {
            Some(St::Untouched) | None => {
                if self.caches[cid].exact {
                    St::Untouched
                } else {
                    St::Unknown
                }
            }
            Some(st) => st,
        }
    }

    fn slot_mut(&mut self, slot: u64) -> &mut Slot {
        self.slots.entry(slot).or_insert(Slot {
            st: St::Untouched,
            dirty: BTreeMap::new(),
            pool_dirty: false,
        })
    }

    /// The slab containing `va`, if the oracle knows it: (head pfn, slab).
    /// The slab `va` lies in, from this model's own slab map: a slab is forgotten only
    /// after the statement that discarded it is judged (its page-free event may already
    /// have reached the page model when a kfree empties it).
    fn slab_of(&self, pages: &PageModel, va: u64) -> Option<(u64, SlabM)> {
        if !pages.facts.is_lowmem_va(va) {
            return None;
        }
        let pfn = (va - self.page_offset) >> PAGE_SHIFT;
        let (&head, s) = self.slabs.range(..=pfn).next_back()?;
        (pfn < head + (1u64 << s.order)).then(|| (head, s.clone()))
    }

    /// The slot start of object pointer `p` in slab `pfn`, if `p` is one.
    fn slot_of_object(&self, pfn: u64, s: &SlabM, p: u64) -> Option<u64> {
        let l = self.caches[s.cache].l;
        let base = self.slab_base(pfn);
        let slot = p.checked_sub(l.rlp as u64)?;
        let off = slot.checked_sub(base)?;
        (off % l.size as u64 == 0 && off / (l.size as u64) < s.objects as u64).then_some(slot)
    }

    fn large_of(&self, va: u64) -> Option<(u64, u32, u64)> {
        let (&a, &(order, req)) = self.large.range(..=va).next_back()?;
        (va < a + (PAGE_SIZE << order)).then_some((a, order, req))
    }

    /// Sets the shadow of [va, va+len) to `byte` (None: unknown), page by page.
    fn shadow(&self, pages: &mut PageModel, va: u64, len: u64, byte: Option<u8>) {
        let mut cur = self.pa(va);
        let end = cur + len;
        while cur < end {
            let n = (PAGE_SIZE - cur % PAGE_SIZE).min(end - cur);
            match byte {
                Some(b) => pages.shadow.set(cur, n as usize, b),
                None => pages.shadow.unknown(cur, n as usize),
            }
            cur += n;
        }
    }

    // ----------------------------------------------------------------------------------
    // The checks SLUB runs, predicted.

    /// The area of slot-relative offset `r`.
    fn area(l: &Layout, r: u32) -> Area {
        if r < l.rlp {
            return Area::LeftRz;
        }
        let o = r - l.rlp;
        if o < l.object_size {
            return Area::Object;
        }
        if o < l.inuse {
            return Area::RightRz;
        }
        if l.fp_outside && o >= l.offset && o < l.offset + l.ptr {
            return Area::FreePtr;
        }
        if let Some((t, n)) = l.track {
            if o >= t && o < t + n {
                return Area::Track;
            }
        }
        if let Some(or) = l.orig {
            if o >= or && o < or + 4 {
                return Area::Orig;
            }
        }
        Area::Padding
    }

    /// check_object(): the reports for `slot` in state `active`, restoring each area that
    /// fails, and whether the object passed.
    fn check_object(
        &mut self,
        cid: usize,
        slot: u64,
        active: bool,
        orig: u32,
    ) -> (Vec<ReportKind>, bool) {
        let c = self.caches[cid].clone();
        let l = c.l;
        let mut out = vec![];
        let val = if active { RED_ACTIVE } else { RED_INACTIVE };
        let Some(s) = self.slots.get_mut(&slot) else {
            return (out, true);
        };
        let mut area = |lo: u32,
                        hi: u32,
                        want: &dyn Fn(u32) -> u8,
                        kind: ReportKind,
                        out: &mut Vec<ReportKind>|
         -> bool {
            let bad = s.dirty.range(lo..hi).any(|(&r, &b)| b != want(r));
            if bad {
                out.push(kind);
                let keys: Vec<u32> = s.dirty.range(lo..hi).map(|(&r, _)| r).collect();
                for k in keys {
                    s.dirty.remove(&k);
                }
            }
            !bad
        };
        let obj = l.rlp;
        let end = obj + l.object_size;
        if c.has(SLAB_RED_ZONE) {
            if !area(0, obj, &|_| val, ReportKind::RedzoneOverwritten, &mut out) {
                return (out, false);
            }
            if !area(
                end,
                obj + l.inuse,
                &|_| val,
                ReportKind::RedzoneOverwritten,
                &mut out,
            ) {
                return (out, false);
            }
            if c.orig_on()
                && active
                && orig < l.object_size
                && !area(
                    obj + orig,
                    end,
                    &|_| val,
                    ReportKind::RedzoneOverwritten,
                    &mut out,
                )
            {
                return (out, false);
            }
        } else if c.has(SLAB_POISON) && l.object_size < l.inuse {
            area(
                end,
                obj + l.inuse,
                &|_| POISON_INUSE,
                ReportKind::PaddingOverwritten,
                &mut out,
            );
        }
        if c.has(SLAB_POISON) {
            if !active && c.object_poison() && l.object_size > 0 {
                if !area(
                    obj,
                    end - 1,
                    &|_| POISON_FREE,
                    ReportKind::PoisonOverwritten,
                    &mut out,
                ) {
                    return (out, false);
                }
                if !area(
                    end - 1,
                    end,
                    &|_| POISON_END,
                    ReportKind::PoisonOverwritten,
                    &mut out,
                ) {
                    return (out, false);
                }
            }
            let (lo, hi) = (obj + l.pad_offset, obj + l.size_from_object);
            if lo < hi {
                area(
                    lo,
                    hi,
                    &|_| POISON_INUSE,
                    ReportKind::PaddingOverwritten,
                    &mut out,
                );
            }
        }
        (out, true)
    }

    /// init_object(): the red zones and poison rewritten.
    fn init_object(&mut self, cid: usize, slot: u64, active: bool, orig: u32) {
        let c = &self.caches[cid];
        let l = c.l;
        let z = c.has(SLAB_RED_ZONE);
        let poison = c.object_poison();
        let ps = if z && c.orig_on() && active {
            orig
        } else {
            l.object_size
        };
        let Some(s) = self.slots.get_mut(&slot) else {
            return;
        };
        let mut clear = |lo: u32, hi: u32| {
            let keys: Vec<u32> = s.dirty.range(lo..hi).map(|(&r, _)| r).collect();
            for k in keys {
                s.dirty.remove(&k);
            }
        };
        if z {
            clear(0, l.rlp);
            clear(l.rlp + ps, l.rlp + l.inuse.max(ps));
        }
        if poison {
            clear(l.rlp, l.rlp + ps);
        }
    }

    /// What an INACTIVE/ACTIVE check of the slot would report, without changing anything.
    fn would_fail(&self, cid: usize, slot: u64, active: bool, orig: u32) -> Vec<ReportKind> {
        let mut tmp = self.clone_slot_only(slot);
        tmp.check_object(cid, slot, active, orig).0
    }

    fn clone_slot_only(&self, slot: u64) -> SlabModel {
        SlabModel {
            caches: self.caches.clone(),
            slots: self
                .slots
                .get(&slot)
                .map(|s| [(slot, s.clone())].into_iter().collect())
                .unwrap_or_default(),
            slabs: BTreeMap::new(),
            by_handle: BTreeMap::new(),
            kmalloc_ids: BTreeMap::new(),
            large: BTreeMap::new(),
            pools: BTreeMap::new(),
            stash: None,
            page_gone: None,
            ..*self
        }
    }

    /// Every report any check of cache `cid` could print now (for statements whose checks
    /// the oracle cannot pin down).
    fn allow_cache(&self, j: &mut Judgement, cid: usize) {
        for (&pfn, s) in &self.slabs {
            if s.cache != cid {
                continue;
            }
            if s.tail_dirty {
                j.allow.push(ReportKind::PaddingOverwritten);
            }
            for slot in self.slot_addrs(pfn) {
                if self.slots.get(&slot).is_some_and(|x| !x.dirty.is_empty()) {
                    j.allow.extend([
                        ReportKind::RedzoneOverwritten,
                        ReportKind::PoisonOverwritten,
                        ReportKind::PaddingOverwritten,
                    ]);
                }
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // Allocation.

    /// Judges object `v` handed out by cache `cid` for `req` bytes (`orig`: SLUB's
    /// orig_size); records it live. Returns false when it is no object of the cache.
    #[allow(clippy::too_many_arguments)]
    fn allocated(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        cid: usize,
        v: u64,
        req: u64,
        orig: u32,
        zero: bool,
    ) -> bool {
        let c = self.caches[cid].clone();
        let l = c.l;
        if !pages.facts.is_lowmem_va(v) {
            j.fail(
                F::WrongValue,
                format!("{} handed out {v:#x}, not a lowmem address", c.name),
            );
            return false;
        }
        let pfn = (v - self.page_offset) >> PAGE_SHIFT;
        let Some((head, b)) = pages.block_of(pfn) else {
            j.fail(
                F::Overlap,
                format!("{} handed out {v:#x}, in a free page", c.name),
            );
            return false;
        };
        if b.client {
            j.fail(
                F::Overlap,
                format!(
                    "{} handed out {v:#x}, in pages the client holds since line {}",
                    c.name, b.line
                ),
            );
            return false;
        }
        if self.large.contains_key(&self.slab_base(head)) {
            j.fail(
                F::Overlap,
                format!(
                    "{} handed out {v:#x}, inside a live large kmalloc block",
                    c.name
                ),
            );
            return false;
        }
        let slab = match self.slabs.get(&head) {
            Some(s) if s.cache != cid => {
                j.fail(
                    F::Overlap,
                    format!(
                        "{} handed out {v:#x}, in a slab of {}",
                        c.name, self.caches[s.cache].name
                    ),
                );
                return false;
            }
            Some(s) => s.clone(),
            None => {
                let objects = ((PAGE_SIZE << b.order) / l.size.max(1) as u64) as u32;
                let s = SlabM {
                    cache: cid,
                    order: b.order,
                    objects,
                    tail_dirty: false,
                };
                self.slabs.insert(head, s.clone());
                if let (Some(cb), true) = (c.ctor, c.exact) {
                    // The constructor ran on every object when the slab was made.
                    for slot in self.slot_addrs(head) {
                        self.shadow(pages, slot + l.rlp as u64, l.object_size as u64, Some(cb));
                    }
                }
                s
            }
        };
        let Some(slot) = self.slot_of_object(head, &slab, v) else {
            j.fail(F::Misaligned, format!("{} handed out {v:#x}, which is not the start of one of its objects (slot size {}, left red zone {})", c.name, l.size, l.rlp));
            return false;
        };
        if !v.is_multiple_of(l.align as u64) {
            j.fail(
                F::Misaligned,
                format!("{} handed out {v:#x}, not aligned to {}", c.name, l.align),
            );
        }
        match self.state(cid, slot) {
            St::Live { client, .. } => {
                j.fail(
                    F::Overlap,
                    format!(
                        "{} handed out {v:#x}, which is {}",
                        c.name,
                        if client {
                            "live"
                        } else {
                            "in a mempool's reserve"
                        }
                    ),
                );
                return false;
            }
            St::Unknown => {}
            St::Freed | St::Untouched => {
                if c.has(SLAB_CONSISTENCY_CHECKS) {
                    if slab.tail_dirty && c.has(SLAB_POISON) {
                        j.expect.push(ReportKind::PaddingOverwritten);
                        if let Some(s) = self.slabs.get_mut(&head) {
                            s.tail_dirty = false;
                        }
                    }
                    let bad = self.would_fail(cid, slot, false, l.object_size);
                    if bad.iter().any(|k| *k != ReportKind::PaddingOverwritten) {
                        j.fail(
                            F::MissedReport,
                            format!(
                                "{} handed out {v:#x}, whose {} check must have failed",
                                c.name, bad[0]
                            ),
                        );
                    }
                    // Padding findings do not stop the allocation.
                    let (reps, _) = self.check_object(cid, slot, false, l.object_size);
                    j.expect.extend(reps);
                }
            }
        }
        // Other objects the allocator may have checked (and refused) first.
        if c.has(SLAB_CONSISTENCY_CHECKS) {
            self.allow_cache(j, cid);
        }
        let s = self.slot_mut(slot);
        s.st = St::Live {
            req,
            orig,
            client: true,
        };
        s.pool_dirty = false;
        if c.debug() {
            self.init_object(cid, slot, true, orig);
        }
        // What the object holds.
        let obj = slot + l.rlp as u64;
        let os = l.object_size as u64;
        let zero_len = if c.kmalloc && c.has(SLAB_STORE_USER | SLAB_RED_ZONE) {
            orig as u64
        } else {
            os
        };
        if zero {
            self.shadow(pages, obj, os, None);
            self.shadow(pages, obj, zero_len.min(os), Some(0));
        } else if c.object_poison() {
            let ps = if c.has(SLAB_RED_ZONE) && c.orig_on() {
                orig as u64
            } else {
                os
            };
            self.shadow(pages, obj, os, None);
            if ps > 0 {
                self.shadow(pages, obj, ps - 1, Some(POISON_FREE));
                self.shadow(pages, obj + ps - 1, 1, Some(POISON_END));
            }
        } else if c.ctor.is_none() {
            self.shadow(pages, obj, os, None);
        }
        true
    }

    /// The kernel handed out `v` for a kmalloc of `size` (> 0).
    fn kmalloc_result(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        size: u64,
        gfp: Gfp,
        v: u64,
        zero: bool,
    ) {
        if size <= KMALLOC_MAX_CACHE_SIZE {
            let cid = self.kmalloc_cache(size, gfp);
            if v != 0 {
                self.allocated(j, pages, cid, v, size, size as u32, zero);
            } else if self.caches[cid].exact {
                self.spurious(j, cid);
            }
            return;
        }
        let order = get_order(size);
        if size > self.kmalloc_max || order > MAX_ORDER {
            if v != 0 {
                j.fail(
                    F::WrongValue,
                    format!("kmalloc({size}) is above KMALLOC_MAX_SIZE and must fail, got {v:#x}"),
                );
            }
            return;
        }
        if v == 0 {
            return;
        }
        if !v.is_multiple_of(PAGE_SIZE) || !pages.facts.is_lowmem_va(v) {
            j.fail(
                F::Misaligned,
                format!("large kmalloc({size}) returned {v:#x}, not a page-aligned lowmem address"),
            );
            return;
        }
        let pfn = (v - self.page_offset) >> PAGE_SHIFT;
        match pages.block_of(pfn) {
            Some((h, b)) if h == pfn && b.order == order && !b.client && !self.slabs.contains_key(&h) && !self.large.contains_key(&v) => {
                self.large.insert(v, (order, size));
                if zero {
                    self.shadow(pages, v, size, Some(0));
                }
            }
            _ => j.fail(F::Overlap, format!("large kmalloc({size}) returned {v:#x}, which is not a block of order {order} just taken from the page allocator")),
        }
    }

    /// NULL from an exact cache that still has a free object is a spurious failure.
    fn spurious(&self, j: &mut Judgement, cid: usize) {
        for (&pfn, s) in &self.slabs {
            if s.cache != cid {
                continue;
            }
            for slot in self.slot_addrs(pfn) {
                if matches!(self.state(cid, slot), St::Freed | St::Untouched)
                    && self.slots.get(&slot).is_none_or(|x| x.dirty.is_empty())
                    && !s.tail_dirty
                {
                    j.fail(
                        F::SpuriousFailure,
                        format!(
                            "{} failed an allocation with object {:#x} free",
                            self.caches[cid].name,
                            slot + self.caches[cid].l.rlp as u64
                        ),
                    );
                    return;
                }
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // Freeing.

    /// kfree()/kmem_cache_free() of `addr`; `cache` is the cache kmem_cache_free() named.
    fn free(&mut self, j: &mut Judgement, pages: &mut PageModel, cache: Option<usize>, addr: u64) {
        let invalid = |j: &mut Judgement| {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            )
        };
        if let Some((head, slab)) = self.slab_of(pages, addr) {
            if let Some(c) = cache {
                if c != slab.cache {
                    j.misuse(
                        M::Report(ReportKind::WrongCache),
                        Some(ReportKind::WrongCache),
                    );
                }
            }
            let Some(slot) = self.slot_of_object(head, &slab, addr) else {
                invalid(j);
                return;
            };
            self.free_slot(j, pages, slab.cache, head, slot);
            return;
        }
        if cache.is_none() {
            if addr <= ZERO_SIZE_PTR {
                return;
            }
            if let Some((order, _)) = self.large.get(&addr).copied() {
                self.large.remove(&addr);
                let _ = order;
                return;
            }
        }
        if pages.facts.is_lowmem_va(addr) {
            let pfn = (addr - self.page_offset) >> PAGE_SHIFT;
            match pages.block_of(pfn) {
                Some((_, b)) if !b.client && self.large_of(addr).is_none() => {
                    // Kernel pages the oracle does not know: possibly a slab of internal
                    // objects.
                    j.misuse.push(M::WildAccess);
                    j.allow.extend([
                        ReportKind::InvalidFree,
                        ReportKind::WrongCache,
                        ReportKind::DoubleFree,
                    ]);
                    j.allow.extend(ReportKind::ALL.iter().copied());
                    self.taint_next = true;
                    return;
                }
                None if cache.is_none() && !pages.facts.is_reserved(pfn) => {
                    j.misuse(
                        M::Report(ReportKind::DoubleFree),
                        Some(ReportKind::DoubleFree),
                    );
                    return;
                }
                _ => {}
            }
        }
        invalid(j);
    }

    fn free_slot(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        cid: usize,
        head: u64,
        slot: u64,
    ) {
        let c = self.caches[cid].clone();
        let st = self.state(cid, slot);
        let orig = match st {
            St::Live { orig, .. } => orig,
            _ => c.l.object_size,
        };
        let free_now = matches!(st, St::Freed | St::Untouched);
        if matches!(st, St::Unknown) || matches!(st, St::Live { client: false, .. }) {
            // A kernel-internal object (or one the oracle cannot place): whatever happens
            // next is unpredictable.
            j.misuse.push(if matches!(st, St::Unknown) {
                M::WildAccess
            } else {
                M::UseAfterFree
            });
            j.allow.extend(ReportKind::ALL.iter().copied());
            self.taint_next = true;
            return;
        }
        if free_now {
            j.misuse.push(M::Report(ReportKind::DoubleFree));
        }
        if c.debug() {
            if c.has(SLAB_CONSISTENCY_CHECKS) && c.has(SLAB_POISON) {
                if let Some(s) = self.slabs.get_mut(&head) {
                    if s.tail_dirty {
                        s.tail_dirty = false;
                        j.expect.push(ReportKind::PaddingOverwritten);
                    }
                }
            }
            let live = self.live_in_slab(head);
            match live {
                Some(0) => {
                    j.expect.push(ReportKind::DoubleFree);
                    return;
                }
                None if free_now => {
                    j.allow.push(ReportKind::DoubleFree);
                    self.taint_next = true;
                    return;
                }
                _ => {}
            }
            if c.has(SLAB_CONSISTENCY_CHECKS) {
                if free_now {
                    j.expect.push(ReportKind::DoubleFree);
                    return;
                }
                let (reps, ok) = self.check_object(cid, slot, true, orig);
                j.expect.extend(reps);
                if !ok {
                    // "Object at ... not freed": it stays allocated, and the client lost it.
                    if let Some(s) = self.slots.get_mut(&slot) {
                        if let St::Live { orig, .. } = s.st {
                            s.st = St::Live {
                                req: 0,
                                orig,
                                client: true,
                            };
                        }
                    }
                    return;
                }
            } else if free_now {
                // Without F nothing notices: the free list now loops.
                self.taint_next = true;
                return;
            }
            self.init_object(cid, slot, false, orig);
        } else if free_now {
            self.taint_next = true;
            return;
        }
        let s = self.slot_mut(slot);
        s.st = St::Freed;
        let obj = slot + c.l.rlp as u64;
        if c.ctor.is_none() {
            self.shadow(pages, obj, c.l.object_size as u64, None);
        }
    }

    /// Live objects in a slab, if the oracle knows every slot.
    fn live_in_slab(&self, head: u64) -> Option<u32> {
        let s = self.slabs.get(&head)?;
        let mut n = 0;
        for slot in self.slot_addrs(head) {
            match self.state(s.cache, slot) {
                St::Live { .. } => n += 1,
                St::Unknown => return None,
                _ => {}
            }
        }
        Some(n)
    }

    /// A slab's pages went back to the page allocator (discard_slab()): with F every object
    /// is checked as free and the tail padding as well; no object may be live.
    pub fn slab_freed(&mut self, j: &mut Judgement, pfn: u64) {
        let Some(s) = self.slabs.get(&pfn).cloned() else {
            return;
        };
        let c = self.caches[s.cache].clone();
        let slots = self.slot_addrs(pfn);
        for &slot in &slots {
            if let St::Live { client: true, .. } = self.state(s.cache, slot) {
                j.fail(
                    F::Overlap,
                    format!(
                        "{} gave its slab at pfn {pfn:#x} back while object {:#x} is live",
                        c.name,
                        slot + c.l.rlp as u64
                    ),
                );
            }
        }
        if c.has(SLAB_CONSISTENCY_CHECKS) {
            if s.tail_dirty && c.has(SLAB_POISON) {
                j.expect.push(ReportKind::PaddingOverwritten);
            }
            for &slot in &slots {
                if self.slots.get(&slot).is_some_and(|x| !x.dirty.is_empty()) {
                    let (reps, _) = self.check_object(s.cache, slot, false, c.l.object_size);
                    j.expect.extend(reps);
                }
            }
        }
        for slot in slots {
            self.slots.remove(&slot);
        }
        self.slabs.remove(&pfn);
    }

    /// A large kmalloc block went back (kfree judged it already).
    pub fn pages_freed(&mut self, pfn: u64) {
        let va = self.slab_base(pfn);
        self.large.remove(&va);
    }

    // ----------------------------------------------------------------------------------
    // Client accesses.

    /// Does [va, va+len) touch memory this model judges?
    pub fn touches(&self, pages: &PageModel, va: u64, len: u64) -> bool {
        let f = &pages.facts;
        let end = va.saturating_add(len);
        let mut p = va & !(PAGE_SIZE - 1);
        let mut n = 0;
        while p < end && n < 4096 {
            if f.is_lowmem_va(p) {
                let pfn = (p - self.page_offset) >> PAGE_SHIFT;
                // Slabs, large kmalloc blocks, and any other kernel-held page (a slab of
                // internal objects the oracle has not placed).
                if pages.block_of(pfn).is_some_and(|(_, b)| !b.client) {
                    return true;
                }
            }
            p += PAGE_SIZE;
            n += 1;
        }
        false
    }

    /// The client wrote through another mapping into physical page `pfn`: if a slab, a
    /// large kmalloc block or any other kernel-held page the oracle does not follow holds it
    /// (`followed`: a vmalloc area's page, whose bytes the oracle keeps; asked only of
    /// kernel-held pages, as it walks the vmalloc areas), what the write did is not
    /// followed (taint).
    pub fn alias_write(&mut self, pages: &PageModel, pfn: u64, followed: impl FnOnce() -> bool) {
        let Some((h, b)) = pages.block_of(pfn) else {
            return;
        };
        if b.client {
            return;
        }
        // Known slabs and large blocks, and the pages of slabs of internal objects (the
        // kmem_cache structures, for one) the oracle has not placed.
        let known = self.slabs.contains_key(&h) || self.large.contains_key(&self.slab_base(h));
        if known || !followed() {
            self.taint_next = true;
        }
    }

    /// A client access that touches slab or large kmalloc memory; the range is mapped.
    pub fn access(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        va: u64,
        len: u64,
        byte: Option<u8>,
        read: Option<&[u8]>,
    ) {
        if len > MAX_SLAB_ACCESS {
            j.misuse.push(M::OutOfBounds);
            if byte.is_some() {
                self.taint_next = true;
            }
            return;
        }
        let mut misuse: Option<M> = None;
        let mut note = |m: M| {
            if misuse.is_none() {
                misuse = Some(m);
            }
        };
        let mut i = 0u64;
        while i < len {
            let a = va + i;
            // Outside the slab allocator.
            let Some((head, slab)) = self.slab_of(pages, a) else {
                let run = (PAGE_SIZE - a % PAGE_SIZE).min(len - i);
                if let Some((base, _, req)) = self.large_of(a) {
                    let n = if a < base + req {
                        (base + req - a).min(run)
                    } else {
                        run
                    };
                    if a >= base + req {
                        note(M::OutOfBounds);
                    }
                    self.plain(
                        j,
                        pages,
                        a,
                        n,
                        byte,
                        read.map(|r| &r[i as usize..(i + n) as usize]),
                    );
                    i += n;
                    continue;
                }
                note(if i == 0 {
                    M::WildAccess
                } else {
                    M::OutOfBounds
                });
                let pfn = (a - self.page_offset) >> PAGE_SHIFT;
                match pages.block_of(pfn) {
                    Some((_, b)) if !b.client => {
                        if byte.is_some() {
                            // Kernel memory the oracle does not model.
                            self.taint_next = true;
                        }
                    }
                    Some(_) => self.plain(
                        j,
                        pages,
                        a,
                        run,
                        byte,
                        read.map(|r| &r[i as usize..(i + run) as usize]),
                    ),
                    None => {
                        if let Some(b) = byte {
                            pages.wrote(self.pa(a), run as usize, b);
                        }
                    }
                }
                i += run;
                continue;
            };
            let c = self.caches[slab.cache].clone();
            let l = c.l;
            let base = self.slab_base(head);
            let off = a - base;
            let idx = off / l.size as u64;
            if idx >= slab.objects as u64 {
                // The slab's tail.
                let run = (base + (PAGE_SIZE << slab.order) - a).min(len - i);
                note(M::OutOfBounds);
                if let Some(b) = byte {
                    if c.has(SLAB_POISON) && b != POISON_INUSE {
                        if let Some(s) = self.slabs.get_mut(&head) {
                            s.tail_dirty = true;
                        }
                    }
                    self.shadow(pages, a, run, None);
                }
                i += run;
                continue;
            }
            let slot = base + idx * l.size as u64;
            let r = (a - slot) as u32;
            let st = self.state(slab.cache, slot);
            let area = Self::area(&l, r);
            let o = r.wrapping_sub(l.rlp) as u64;
            match (area, st) {
                (
                    Area::Object,
                    St::Live {
                        req, client: true, ..
                    },
                ) if o < req => {
                    let n = (req - o).min(len - i).min(slot + l.size as u64 - a);
                    self.plain(
                        j,
                        pages,
                        a,
                        n,
                        byte,
                        read.map(|rd| &rd[i as usize..(i + n) as usize]),
                    );
                    i += n;
                    continue;
                }
                (_, St::Live { client: true, .. }) => note(M::OutOfBounds),
                (_, St::Live { client: false, .. }) | (_, St::Freed) => note(if i == 0 {
                    M::UseAfterFree
                } else {
                    M::OutOfBounds
                }),
                (_, St::Untouched) | (_, St::Unknown) => note(if i == 0 {
                    M::WildAccess
                } else {
                    M::OutOfBounds
                }),
            }
            if let Some(b) = byte {
                self.wrote_byte(pages, &c, slab.cache, slot, r, area, st, b);
            }
            i += 1;
        }
        if let Some(m) = misuse {
            j.misuse.push(m);
        }
    }

    /// Bytes with no allocator meaning: the shadow records writes and checks reads.
    fn plain(
        &self,
        j: &mut Judgement,
        pages: &mut PageModel,
        va: u64,
        n: u64,
        byte: Option<u8>,
        read: Option<&[u8]>,
    ) {
        let mut off = 0u64;
        while off < n {
            let a = va + off;
            let k = (PAGE_SIZE - a % PAGE_SIZE).min(n - off);
            match byte {
                Some(b) => pages.wrote(self.pa(a), k as usize, b),
                None => {
                    if let Some(got) = read.and_then(|r| r.get(off as usize..(off + k) as usize)) {
                        pages.check_read(j, a, self.pa(a), got);
                    }
                }
            }
            off += k;
        }
    }

    /// One byte the client wrote outside what it may use, in `slot`.
    #[allow(clippy::too_many_arguments)]
    fn wrote_byte(
        &mut self,
        pages: &mut PageModel,
        c: &CacheM,
        cid: usize,
        slot: u64,
        r: u32,
        area: Area,
        st: St,
        b: u8,
    ) {
        let l = c.l;
        let a = slot + r as u64;
        let o = r.wrapping_sub(l.rlp);
        let z = c.has(SLAB_RED_ZONE);
        let p = c.has(SLAB_POISON);
        let live = matches!(st, St::Live { .. });
        let in_fp = |o: u32| o >= l.offset && o < l.offset + l.ptr;
        let mut checked = false;
        let mut taint = false;
        match st {
            St::Unknown => taint = true,
            _ => match area {
                Area::LeftRz | Area::RightRz => checked = z || (p && area == Area::RightRz),
                Area::Object => {
                    if live {
                        if let St::Live { orig, client, .. } = st {
                            if z && c.orig_on() && o >= orig {
                                checked = true;
                            }
                            if !client && self.poisoning {
                                if let Some(s) = self.slots.get_mut(&slot) {
                                    s.pool_dirty = true;
                                }
                            }
                        }
                    } else if !l.fp_outside && in_fp(o) {
                        taint = true;
                    } else if c.object_poison() {
                        checked = true;
                    }
                }
                Area::FreePtr => taint = true,
                Area::Orig => taint = live,
                Area::Track => {}
                Area::Padding => checked = p,
            },
        }
        if taint {
            self.taint_next = true;
        }
        if checked {
            self.slot_mut(slot).dirty.insert(r, b);
        }
        // Object bytes of a free object in a ctor cache keep what is written; everything
        // else is no longer predicted.
        if area == Area::Object && c.ctor.is_some() && !live {
            pages.wrote(self.pa(a), 1, b);
        } else {
            self.shadow(pages, a, 1, None);
        }
        let _ = cid;
    }

    // ----------------------------------------------------------------------------------
    // The statements.

    #[allow(clippy::too_many_arguments)]
    pub fn cache_create(
        &mut self,
        j: &mut Judgement,
        ctx: &CtxModel,
        name: &str,
        size: u32,
        align: u32,
        flags: SlabFlags,
        ctor: Option<u8>,
        v: u64,
    ) {
        let bad = name.is_empty()
            || ctx.in_interrupt()
            || size as u64 > self.kmalloc_max
            || size == 0
            || (align != 0 && !align.is_power_of_two())
            || align as u64 > self.kmalloc_max;
        if bad {
            if v != 0 {
                j.fail(
                    F::WrongValue,
                    format!("kmem_cache_create({name}) must fail here, got {v:#x}"),
                );
            }
            return;
        }
        if v == 0 {
            return;
        }
        let permitted = SLAB_CONSISTENCY_CHECKS
            | SLAB_RED_ZONE
            | SLAB_POISON
            | SLAB_HWCACHE_ALIGN
            | SLAB_CACHE_DMA
            | SLAB_CACHE_DMA32
            | SLAB_STORE_USER
            | SLAB_PANIC
            | SLAB_TYPESAFE_BY_RCU
            | SLAB_RECLAIM_ACCOUNT
            | SLAB_ACCOUNT;
        let id = self.new_cache(
            name.to_string(),
            size,
            align,
            flags & permitted,
            ctor,
            false,
        );
        if let Some(&old) = self.by_handle.get(&v) {
            if self.caches[old].alive {
                j.fail(
                    F::Overlap,
                    format!(
                        "kmem_cache_create returned {v:#x}, the handle of live cache {}",
                        self.caches[old].name
                    ),
                );
            }
        }
        self.by_handle.insert(v, id);
    }

    fn live_cache(&self, j: &mut Judgement, h: u64) -> Option<usize> {
        match self.by_handle.get(&h) {
            Some(&id) if self.caches[id].alive => Some(id),
            _ => {
                self.bad_handle(j, h);
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn cache_alloc(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        h: u64,
        gfp: Gfp,
        zero: bool,
        v: u64,
    ) {
        let Some(cid) = self.live_cache(j, h) else {
            if v != 0 {
                j.fail(
                    F::WrongValue,
                    format!("allocation from {h:#x}, no live cache, returned {v:#x}"),
                );
            }
            return;
        };
        self.sleep_check(j, gfp, ctx);
        if v == 0 {
            if self.caches[cid].exact {
                self.spurious(j, cid);
            }
            return;
        }
        let os = self.caches[cid].l.object_size;
        self.allocated(
            j,
            pages,
            cid,
            v,
            os as u64,
            os,
            zero || gfp & __GFP_ZERO != 0,
        );
    }

    pub fn cache_free(&mut self, j: &mut Judgement, pages: &mut PageModel, h: u64, addr: u64) {
        let Some(cid) = self.live_cache(j, h) else {
            return;
        };
        self.free(j, pages, Some(cid), addr);
    }

    pub fn cache_destroy(&mut self, j: &mut Judgement, h: u64) {
        if h == 0 {
            return;
        }
        let Some(cid) = self.live_cache(j, h) else {
            return;
        };
        let mut live = false;
        let mut unknown = false;
        for (&pfn, s) in &self.slabs {
            if s.cache != cid {
                continue;
            }
            for slot in self.slot_addrs(pfn) {
                match self.state(cid, slot) {
                    St::Live { .. } => live = true,
                    St::Unknown => unknown = true,
                    _ => {}
                }
            }
        }
        if live {
            j.misuse(
                M::Report(ReportKind::ObjectsRemaining),
                Some(ReportKind::ObjectsRemaining),
            );
        } else if unknown {
            j.allow.push(ReportKind::ObjectsRemaining);
            self.taint_next = true;
        } else {
            self.caches[cid].alive = false;
            self.by_handle.remove(&h);
        }
    }

    pub fn cache_shrink(&mut self, j: &mut Judgement, h: u64) {
        let _ = self.live_cache(j, h);
    }

    /// validate_slab_cache(): each slab with a free object (and, with U, each full one):
    /// the tail padding, then its objects in address order up to the first that fails.
    pub fn validate(&mut self, j: &mut Judgement, h: u64) {
        let Some(cid) = self.live_cache(j, h) else {
            return;
        };
        let c = self.caches[cid].clone();
        let heads: Vec<u64> = self
            .slabs
            .iter()
            .filter(|(_, s)| s.cache == cid)
            .map(|(&p, _)| p)
            .collect();
        for head in heads {
            let slots = self.slot_addrs(head);
            let states: Vec<St> = slots.iter().map(|&s| self.state(cid, s)).collect();
            let dirty = slots
                .iter()
                .any(|s| self.slots.get(s).is_some_and(|x| !x.dirty.is_empty()))
                || self.slabs.get(&head).is_some_and(|s| s.tail_dirty);
            if !dirty {
                continue;
            }
            if states.iter().any(|s| matches!(s, St::Unknown)) {
                self.allow_cache(j, cid);
                self.taint_next = true;
                continue;
            }
            let partial = states
                .iter()
                .any(|s| matches!(s, St::Freed | St::Untouched));
            if !partial && !c.has(SLAB_STORE_USER) {
                continue;
            }
            if c.has(SLAB_POISON) {
                if let Some(s) = self.slabs.get_mut(&head) {
                    if s.tail_dirty {
                        s.tail_dirty = false;
                        j.expect.push(ReportKind::PaddingOverwritten);
                    }
                }
            }
            for (slot, st) in slots.into_iter().zip(states) {
                let (active, orig) = match st {
                    St::Live { orig, .. } => (true, orig),
                    _ => (false, c.l.object_size),
                };
                let (reps, ok) = self.check_object(cid, slot, active, orig);
                j.expect.extend(reps);
                if !ok {
                    break;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn kmalloc(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        size: u64,
        gfp: Gfp,
        zero: bool,
        v: u64,
    ) {
        if size == 0 {
            if v != ZERO_SIZE_PTR {
                j.fail(
                    F::WrongValue,
                    format!("kmalloc(0) must return ZERO_SIZE_PTR (16), got {v:#x}"),
                );
            }
            return;
        }
        let legacy_big = size > KMALLOC_MAX_CACHE_SIZE && size > self.kmalloc_max && self.legacy;
        if !legacy_big {
            self.sleep_check(j, gfp, ctx);
        }
        self.kmalloc_result(j, pages, size, gfp, v, zero || gfp & __GFP_ZERO != 0);
    }

    pub fn kfree(&mut self, j: &mut Judgement, pages: &mut PageModel, addr: u64) {
        if addr <= ZERO_SIZE_PTR {
            return;
        }
        self.free(j, pages, None, addr);
    }

    /// ksize(): the usable size; lifts the kmalloc red zone of an object. None when the
    /// pointer is no object the model knows: Linux answers with whatever cache or folio the
    /// page now belongs to, which the model cannot predict.
    pub fn ksize(
        &mut self,
        j: &mut Judgement,
        pages: &PageModel,
        addr: u64,
        v: Option<u64>,
    ) -> Option<u64> {
        if addr <= ZERO_SIZE_PTR {
            return Some(0);
        }
        if let Some((head, slab)) = self.slab_of(pages, addr) {
            let c = self.caches[slab.cache].clone();
            let ks = c.ksize() as u64;
            if let Some(slot) = self.slot_of_object(head, &slab, addr) {
                match self.state(slab.cache, slot) {
                    St::Live {
                        req, client: true, ..
                    } => {
                        let s = self.slot_mut(slot);
                        s.st = St::Live {
                            req: req.max(ks.min(c.l.object_size as u64)),
                            orig: c.l.object_size,
                            client: true,
                        };
                    }
                    St::Freed => j.misuse.push(M::UseAfterFree),
                    St::Unknown => {
                        self.taint_next = true;
                    }
                    _ => j.misuse.push(M::WildAccess),
                }
            } else {
                j.misuse.push(M::OutOfBounds);
            }
            return Some(ks);
        }
        if let Some((order, _)) = self.large.get(&addr).copied() {
            let ks = PAGE_SIZE << order;
            self.large.insert(addr, (order, ks));
            return Some(ks);
        }
        let _ = v;
        j.misuse.push(M::WildAccess);
        None
    }

    #[allow(clippy::too_many_arguments)]
    pub fn krealloc(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        p: u64,
        n: u64,
        gfp: Gfp,
        v: u64,
    ) {
        if n == 0 {
            self.kfree(j, pages, p);
            if v != ZERO_SIZE_PTR {
                j.fail(
                    F::WrongValue,
                    format!("krealloc(p, 0) must return ZERO_SIZE_PTR, got {v:#x}"),
                );
            }
            return;
        }
        // The old object's bytes, for the copy.
        let (ks, old_req) = if p > ZERO_SIZE_PTR {
            match self.slab_of(pages, p) {
                Some((head, slab)) if self.slot_of_object(head, &slab, p).is_some() => {
                    let slot = self.slot_of_object(head, &slab, p).unwrap_or(0);
                    let old = match self.state(slab.cache, slot) {
                        St::Live {
                            req, client: true, ..
                        } => req,
                        _ => 0,
                    };
                    (self.ksize(j, pages, p, None).unwrap_or(0), old)
                }
                Some(_) => (0, 0),
                None => match self.large.get(&p).copied() {
                    Some((order, req)) => (PAGE_SIZE << order, req),
                    None => (0, 0),
                },
            }
        } else {
            (0, 0)
        };
        if ks >= n {
            if v != p {
                j.fail(F::WrongValue, format!("krealloc({p:#x}, {n}) fits in ksize {ks} and must return the same pointer, got {v:#x}"));
                return;
            }
            if let Some((head, slab)) = self.slab_of(pages, p) {
                if let Some(slot) = self.slot_of_object(head, &slab, p) {
                    if let St::Live {
                        orig, client: true, ..
                    } = self.state(slab.cache, slot)
                    {
                        self.slot_mut(slot).st = St::Live {
                            req: n,
                            orig,
                            client: true,
                        };
                    }
                }
            } else if let Some((order, _)) = self.large.get(&p).copied() {
                self.large.insert(p, (order, n));
            }
            return;
        }
        let bytes: Vec<Option<u8>> = match self.stash.take() {
            Some(b) => b,
            None => (0..old_req.min(n))
                .map(|i| pages.shadow.get(self.pa(p + i)))
                .collect(),
        };
        self.kmalloc(j, pages, ctx, n, gfp, false, v);
        if v != 0 {
            for (i, b) in bytes.iter().enumerate() {
                self.shadow(pages, v + i as u64, 1, *b);
            }
            // memcpy() copies ksize(p) bytes: beyond what the client asked, whatever they held.
            let copied = bytes.len() as u64;
            if ks.min(n) > copied {
                self.shadow(pages, v + copied, ks.min(n) - copied, None);
            }
            if p > ZERO_SIZE_PTR {
                self.kfree(j, pages, p);
            }
        }
    }

    /// The bytes the client may use at object pointer `p` (0 for anything else).
    fn client_req(&self, pages: &PageModel, p: u64) -> u64 {
        if p <= ZERO_SIZE_PTR {
            return 0;
        }
        if let Some((head, slab)) = self.slab_of(pages, p) {
            if let Some(slot) = self.slot_of_object(head, &slab, p) {
                if let St::Live {
                    req, client: true, ..
                } = self.state(slab.cache, slot)
                {
                    return req;
                }
            }
            return 0;
        }
        self.large.get(&p).map_or(0, |&(_, req)| req)
    }

    // ----------------------------------------------------------------------------------
    // mempool.

    fn pool_live(&self, j: &mut Judgement, h: u64) -> bool {
        if self.pools.contains_key(&h) {
            return true;
        }
        j.misuse(
            M::Report(ReportKind::MempoolMisuse),
            Some(ReportKind::MempoolMisuse),
        );
        false
    }

    #[allow(clippy::too_many_arguments)]
    pub fn pool_create(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        min: u32,
        kind: Result<PoolKind, u64>,
        v: u64,
    ) {
        let kind = match kind {
            Ok(k) => k,
            Err(h) => match self.by_handle.get(&h) {
                Some(&id) if self.caches[id].alive => PoolKind::Slab(id),
                _ => {
                    self.bad_handle(j, h);
                    return;
                }
            },
        };
        if let PoolKind::Page(o) = kind {
            if o > MAX_ORDER {
                return;
            }
        }
        self.sleep_check(j, GFP_KERNEL, ctx);
        let kids: Vec<usize> = self.kmalloc_ids.values().copied().collect();
        // The pool's own allocations may run into objects the client corrupted.
        for &id in &kids {
            self.allow_cache(j, id);
        }
        if let PoolKind::Slab(id) = kind {
            self.allow_cache(j, id);
        }
        self.kmalloc_exact = false;
        self.make_inexact(pages, &kids);
        if let PoolKind::Slab(id) = kind {
            self.make_inexact(pages, &[id]);
        }
        if v == 0 {
            return;
        }
        if let Some((head, slab)) = self.slab_of(pages, v) {
            if let Some(slot) = self.slot_of_object(head, &slab, v) {
                if let St::Live { client: true, .. } = self.state(slab.cache, slot) {
                    j.fail(
                        F::Overlap,
                        format!("mempool_create returned {v:#x}, a live client object"),
                    );
                }
            }
        }
        if self.pools.contains_key(&v) {
            j.fail(
                F::Overlap,
                format!("mempool_create returned {v:#x}, a live pool"),
            );
        }
        self.pools.insert(
            v,
            PoolM {
                kind,
                min,
                reserve: vec![None; min as usize],
                out: BTreeMap::new(),
                exact: true,
            },
        );
    }

    fn elem_size(&self, kind: PoolKind) -> u64 {
        match kind {
            PoolKind::Kmalloc(s) => s,
            PoolKind::Slab(id) => self.caches[id].l.object_size as u64,
            PoolKind::Page(o) => PAGE_SIZE << o,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn pool_alloc(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        ctx: &CtxModel,
        h: u64,
        gfp: Gfp,
        v: u64,
    ) {
        if !self.pool_live(j, h) {
            return;
        }
        self.sleep_check(j, gfp, ctx);
        let Some(pool) = self.pools.get(&h).cloned() else {
            return;
        };
        if v == 0 {
            if pool.exact && !pool.reserve.is_empty() {
                j.fail(
                    F::SpuriousFailure,
                    format!(
                        "mempool_alloc returned NULL with {} elements in the reserve",
                        pool.reserve.len()
                    ),
                );
            }
            return;
        }
        let top = pool.reserve.last().copied();
        let size = self.elem_size(pool.kind);
        if top == Some(Some(v)) {
            // From the reserve.
            if let Some(p) = self.pools.get_mut(&h) {
                p.reserve.pop();
                *p.out.entry(v).or_insert(0) += 1;
            }
            self.take_from_reserve(j, pages, pool.kind, v, size);
            return;
        }
        if pool.reserve.contains(&Some(v)) {
            j.fail(
                F::WrongValue,
                format!("mempool_alloc returned {v:#x}, which is in the reserve but not on top"),
            );
            return;
        }
        if top == Some(None) {
            if let Some(p) = self.pools.get_mut(&h) {
                p.exact = false;
            }
        }
        // From the allocator (or an element of the reserve never seen).
        match pool.kind {
            PoolKind::Kmalloc(s) => {
                if s == 0 {
                    return;
                }
                self.kmalloc_result(j, pages, s, gfp, v, false)
            }
            PoolKind::Slab(id) => {
                let os = self.caches[id].l.object_size;
                self.allocated(j, pages, id, v, os as u64, os, false);
            }
            PoolKind::Page(o) => {
                if let Some(pfn) = pages.facts.pfn_of_page(v) {
                    if let Some(b) = pages.blocks.get_mut(&pfn) {
                        if b.order == o {
                            b.client = true;
                        }
                    }
                }
            }
        }
        if let Some(p) = self.pools.get_mut(&h) {
            *p.out.entry(v).or_insert(0) += 1;
        }
    }

    fn take_from_reserve(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        kind: PoolKind,
        v: u64,
        size: u64,
    ) {
        if let PoolKind::Page(_) = kind {
            if let Some(pfn) = pages.facts.pfn_of_page(v) {
                if let Some(b) = pages.blocks.get_mut(&pfn) {
                    b.client = true;
                }
            }
            return;
        }
        if let Some((head, slab)) = self.slab_of(pages, v) {
            if let Some(slot) = self.slot_of_object(head, &slab, v) {
                let s = self.slot_mut(slot);
                if s.pool_dirty {
                    j.expect.push(ReportKind::PoisonOverwritten);
                }
                s.pool_dirty = false;
                if let St::Live { orig, .. } = s.st {
                    s.st = St::Live {
                        req: size,
                        orig,
                        client: true,
                    };
                }
            }
        }
        let fill = if self.poisoning {
            Some(POISON_INUSE)
        } else {
            None
        };
        self.shadow(pages, v, size, fill);
    }

    pub fn pool_free(&mut self, j: &mut Judgement, pages: &mut PageModel, e: u64, h: u64) {
        if e == 0 {
            return;
        }
        if !self.pool_live(j, h) {
            return;
        }
        let Some(pool) = self.pools.get(&h).cloned() else {
            return;
        };
        if !pool.out.contains_key(&e) {
            j.misuse(
                M::Report(ReportKind::MempoolMisuse),
                Some(ReportKind::MempoolMisuse),
            );
            return;
        }
        if let Some(p) = self.pools.get_mut(&h) {
            if let Some(n) = p.out.get_mut(&e) {
                *n -= 1;
                if *n == 0 {
                    p.out.remove(&e);
                }
            }
        }
        if pool.reserve.len() < pool.min as usize {
            if let Some(p) = self.pools.get_mut(&h) {
                p.reserve.push(Some(e));
            }
            self.put_in_reserve(pages, pool.kind, e);
            return;
        }
        self.underlying_free(j, pages, pool.kind, e);
    }

    fn put_in_reserve(&mut self, pages: &mut PageModel, kind: PoolKind, e: u64) {
        let size = self.elem_size(kind);
        if let PoolKind::Page(_) = kind {
            if let Some(pfn) = pages.facts.pfn_of_page(e) {
                if let Some(b) = pages.blocks.get_mut(&pfn) {
                    b.client = false;
                }
            }
            return;
        }
        if let Some((head, slab)) = self.slab_of(pages, e) {
            if let Some(slot) = self.slot_of_object(head, &slab, e) {
                let s = self.slot_mut(slot);
                if let St::Live { orig, .. } = s.st {
                    s.st = St::Live {
                        req: 0,
                        orig,
                        client: false,
                    };
                }
                s.pool_dirty = false;
            }
        }
        self.shadow(pages, e, size, None);
    }

    fn underlying_free(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        kind: PoolKind,
        e: u64,
    ) {
        match kind {
            PoolKind::Kmalloc(_) => self.kfree(j, pages, e),
            PoolKind::Slab(id) => self.free(j, pages, Some(id), e),
            PoolKind::Page(o) => {
                if let Some(pfn) = pages.facts.pfn_of_page(e) {
                    if let Some(b) = pages.blocks.get_mut(&pfn) {
                        if b.order == o {
                            b.client = false;
                        }
                    }
                    // The client freed the page behind the pool's back: __free_pages() of a
                    // free page, or of pages someone else holds now.
                    match self.page_gone {
                        Some(PageGone::Report(r)) => j.misuse(M::Report(r), Some(r)),
                        Some(PageGone::Foreign) => {
                            j.misuse(M::Report(ReportKind::InvalidFree), None);
                            j.allow.push(ReportKind::InvalidFree);
                            self.taint_next = true;
                        }
                        None => {}
                    }
                }
            }
        }
    }

    pub fn pool_destroy(&mut self, j: &mut Judgement, pages: &mut PageModel, h: u64) {
        if h == 0 {
            return;
        }
        if !self.pool_live(j, h) {
            return;
        }
        let Some(pool) = self.pools.remove(&h) else {
            return;
        };
        if !pool.out.is_empty() {
            j.misuse(
                M::Report(ReportKind::MempoolMisuse),
                Some(ReportKind::MempoolMisuse),
            );
        }
        let size = self.elem_size(pool.kind);
        for e in pool.reserve.iter().rev() {
            match e {
                Some(e) => {
                    // remove_element() checks the poison, then the element is freed.
                    self.take_from_reserve(j, pages, pool.kind, *e, size);
                    self.underlying_free(j, pages, pool.kind, *e);
                }
                None => {
                    if let PoolKind::Slab(id) = pool.kind {
                        if self.caches[id].has(SLAB_CONSISTENCY_CHECKS) {
                            self.allow_cache(j, id);
                        }
                    }
                }
            }
        }
    }
}

/// The slab family's part of [`super::Model`]: statements are judged once the page
/// allocator traffic they caused has been observed (new slabs arrive as events).
impl super::Model {
    /// Before the statement's page events are observed: a page-pool element the client
    /// gives back is the kernel's again.
    pub(super) fn slab_before_events(
        &mut self,
        op: &crate::scenario::Op,
        env: &crate::outcome::Env,
    ) {
        let i386 = self.pages.facts.arch == Arch::I386;
        self.slab.stash = None;
        self.slab.page_gone = None;
        if let crate::scenario::Op::Krealloc { addr, size, .. } = op {
            let p = env.eval(addr, i386);
            let old = self.slab.client_req(&self.pages, p);
            let s = &self.slab;
            let bytes = (0..old.min(*size))
                .map(|i| self.pages.shadow.get(s.pa(p + i)))
                .collect();
            self.slab.stash = Some(bytes);
        }
        if let crate::scenario::Op::MempoolFree { addr, pool } = op {
            let (e, h) = (env.eval(addr, i386), env.eval(pool, i386));
            if let Some(p) = self.slab.pools.get(&h) {
                if let PoolKind::Page(o) = p.kind {
                    if p.out.contains_key(&e) {
                        if let Some(pfn) = self.pages.facts.pfn_of_page(e) {
                            match self.pages.blocks.get_mut(&pfn) {
                                Some(b) if b.order == o && b.client => b.client = false,
                                _ => {
                                    // What __free_pages() will find (pages.rs's rules).
                                    self.slab.page_gone = Some(match self.pages.block_of(pfn) {
                                        None if !self.pages.facts.is_reserved(pfn) => {
                                            PageGone::Report(ReportKind::DoubleFree)
                                        }
                                        None => PageGone::Report(ReportKind::BadPageState),
                                        Some(_) => PageGone::Foreign,
                                    })
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Judges a slab, kmalloc or mempool statement; false for any other.
    pub(super) fn slab_settle(
        &mut self,
        j: &mut Judgement,
        op: &crate::scenario::Op,
        env: &crate::outcome::Env,
        out: &crate::outcome::Outcome,
        events: &[kmem_vocab::PageEvent],
    ) -> bool {
        use crate::scenario::Op;
        let i386 = self.pages.facts.arch == Arch::I386;
        let ev = |o: &crate::scenario::Operand| env.eval(o, i386);
        let v = out.value.unwrap_or(0);
        let (s, pages, ctx) = (&mut self.slab, &mut self.pages, &self.ctx);
        match op {
            Op::KmemCacheCreate {
                name,
                size,
                align,
                flags,
                ctor,
            } => s.cache_create(j, ctx, name, *size, *align, *flags, *ctor, v),
            Op::KmemCacheAlloc { cache, gfp } => {
                s.cache_alloc(j, pages, ctx, ev(cache), *gfp, false, v)
            }
            Op::KmemCacheZalloc { cache, gfp } => {
                s.cache_alloc(j, pages, ctx, ev(cache), *gfp, true, v)
            }
            Op::KmemCacheFree { cache, addr } => s.cache_free(j, pages, ev(cache), ev(addr)),
            Op::KmemCacheDestroy { cache } => s.cache_destroy(j, ev(cache)),
            Op::KmemCacheShrink { cache } => s.cache_shrink(j, ev(cache)),
            Op::ValidateSlabCache { cache } => s.validate(j, ev(cache)),
            Op::Kmalloc { size, gfp } => s.kmalloc(j, pages, ctx, *size, *gfp, false, v),
            Op::Kzalloc { size, gfp } => s.kmalloc(j, pages, ctx, *size, *gfp, true, v),
            Op::Krealloc { addr, size, gfp } => s.krealloc(j, pages, ctx, ev(addr), *size, *gfp, v),
            Op::Ksize { addr } => {
                if let Some(want) = s.ksize(j, pages, ev(addr), out.value) {
                    if v != want {
                        j.fail(F::WrongValue, format!("ksize gave {v}, expected {want}"));
                    }
                }
            }
            Op::Kfree { addr } => s.kfree(j, pages, ev(addr)),
            Op::MempoolCreateKmallocPool { min, size } => {
                s.pool_create(j, pages, ctx, *min, Ok(PoolKind::Kmalloc(*size)), v)
            }
            Op::MempoolCreateSlabPool { min, cache } => {
                s.pool_create(j, pages, ctx, *min, Err(ev(cache)), v)
            }
            Op::MempoolCreatePagePool { min, order } => {
                s.pool_create(j, pages, ctx, *min, Ok(PoolKind::Page(*order)), v)
            }
            Op::MempoolAlloc { pool, gfp } => s.pool_alloc(j, pages, ctx, ev(pool), *gfp, v),
            Op::MempoolFree { addr, pool } => s.pool_free(j, pages, ev(addr), ev(pool)),
            Op::MempoolDestroy { pool } => s.pool_destroy(j, pages, ev(pool)),
            _ => {
                self.slab_events(j, events);
                return false;
            }
        }
        self.slab_events(j, events);
        true
    }

    /// Slabs and large kmalloc blocks whose pages went back.
    fn slab_events(&mut self, j: &mut Judgement, events: &[kmem_vocab::PageEvent]) {
        for e in events {
            if let kmem_vocab::PageEvent::Free { pfn, .. } = *e {
                self.slab.slab_freed(j, pfn);
                self.slab.pages_freed(pfn);
            }
        }
    }
}

#[cfg(test)]
mod class_tests {
    use super::*;

    #[test]
    fn kmalloc_classes_follow_slab_common() {
        // kmalloc_info[] and size_index[] of mm/slab_common.c, by their rule.
        let cases = [
            (1, 8),
            (8, 8),
            (9, 16),
            (33, 64),
            (64, 64),
            (65, 96),
            (96, 96),
            (97, 128),
            (129, 192),
            (192, 192),
            (193, 256),
            (4097, 8192),
            (8192, 8192),
        ];
        for (size, class) in cases {
            assert_eq!(kmalloc_class(size), class, "kmalloc({size})");
        }
        assert_eq!(kmalloc_class_name(96), "96");
        assert_eq!(kmalloc_class_name(1024), "1k");
        assert_eq!(kmalloc_class_name(8192), "8k");
    }
}
