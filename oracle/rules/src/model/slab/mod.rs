//! The slab rules: kmem_cache_*, judged at byte granularity. kmalloc ([`super::kmalloc`])
//! and mempool ([`super::mempool`]) build on the caches and objects kept here.
//!
//! The oracle works out each cache's slot layout itself, from calculate_sizes()'s rules (no
//! code shared with `kmem`; [`layout`](mod@layout)), learns which slab pages belong to which
//! cache from the page events and the objects it is handed (`object.rs`), and keeps, per
//! slot, whether it is live (with the size the client asked for), freed, or unknown
//! (kernel-internal objects: mempool structures and reserves), and the bytes the client
//! wrote into areas that SLUB's debug checks inspect (`access.rs`). From that it predicts
//! every check_object() verdict (`debug.rs`): which report the kernel must print, and when
//! (at a free with F, at validate, at allocation of a poisoned object with F, when a slab is
//! discarded with F). Where the kernel's state can no longer be predicted (a free pointer or
//! orig_size overwritten, a double free without F, a check that marks a whole slab used),
//! the run is tainted (docs/design.md, "Taint"). The cache statements are in `cache.rs`.

use std::collections::{BTreeMap, BTreeSet};

use kmem_vocab::slab_flags::*;
use kmem_vocab::{Arch, BootConfig, ReportKind};

use super::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use super::pages::PageModel;
use super::runs::RunMap;
use super::{Judgement, MisuseKind as M, Model};
use crate::outcome::{Env, Outcome};
use crate::scenario::Op;

mod access;
mod cache;
pub(crate) mod debug;
pub(crate) mod grow;
pub mod layout;
mod object;

pub use layout::{alignment, layout, Layout};

use super::kmalloc::KmallocModel;
use super::mempool::MempoolModel;

#[derive(Clone, Debug)]
pub struct CacheM {
    /// Shared, so that copying a cache's description (what every judgement of one of its
    /// objects does) copies no text.
    pub name: std::sync::Arc<str>,
    pub flags: SlabFlags,
    pub l: Layout,
    pub ctor: Option<u8>,
    pub kmalloc: bool,
    pub alive: bool,
    /// When destroyed: [`SlabModel::structs_made`] then. A struct kmem_cache made after
    /// it may lie where this one did.
    pub destroyed_at: Option<u64>,
    /// Every object of this cache passes through the client (no mempool behind it).
    pub exact: bool,
    /// Destroyed with objects remaining: kept, and never shut down by a later destroy.
    pub leaked: bool,
}

impl CacheM {
    pub(crate) fn has(&self, f: SlabFlags) -> bool {
        self.flags & f != 0
    }
    pub(crate) fn debug(&self) -> bool {
        self.has(SLAB_DEBUG_FLAGS)
    }
    pub(crate) fn object_poison(&self) -> bool {
        self.has(SLAB_POISON) && self.ctor.is_none() && !self.has(SLAB_TYPESAFE_BY_RCU)
    }
    pub(crate) fn orig_on(&self) -> bool {
        self.l.orig.is_some()
    }
    pub(crate) fn ksize(&self) -> u32 {
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
    /// Bytes the client wrote into checked areas, by offset from the slot start, as runs
    /// of one byte value (a write of many bytes is one entry).
    pub dirty: RunMap<u8>,
    /// A mempool reserve element written while poisoned by mempool.
    pub pool_dirty: bool,
}

#[derive(Clone, Debug)]
pub struct SlabM {
    pub cache: usize,
    pub order: u32,
    pub objects: u32,
    /// What the client wrote into the slab's tail (the padding after its last object), by
    /// offset from the slab's start, as runs of one byte value; empty once a check restored
    /// it.
    pub tail: RunMap<u8>,
}

impl SlabM {
    /// Whether slab_pad_check() finds the tail no longer all POISON_INUSE.
    pub fn tail_dirty(&self) -> bool {
        self.tail
            .within(0, u64::MAX)
            .any(|(_, _, &b)| b != debug::POISON_INUSE)
    }

    /// [`SlabM::tail_dirty`], the tail restored (slab_fix()'s restore_bytes() writes
    /// POISON_INUSE from the first bad byte to the end).
    pub fn take_tail_dirty(&mut self) -> bool {
        let dirty = self.tail_dirty();
        self.tail = RunMap::default();
        dirty
    }
}

impl SlabModel {
    /// slab_pad_check() of slab `head` of a poisoned cache: a tail the client dirtied must be
    /// reported ("Padding overwritten"), and is restored.
    pub(crate) fn pad_check(&mut self, j: &mut Judgement, head: u64) {
        if self
            .slabs
            .get_mut(&head)
            .is_some_and(SlabM::take_tail_dirty)
        {
            j.expect.push(ReportKind::PaddingOverwritten);
        }
    }
}

#[derive(Clone, Debug)]
pub struct SlabModel {
    pub arch: Arch,
    pub page_offset: u64,
    pub debug: SlabFlags,
    pub poisoning: bool,
    pub caches: Vec<CacheM>,
    pub by_handle: BTreeMap<u64, usize>,
    pub slabs: BTreeMap<u64, SlabM>,
    pub slots: BTreeMap<u64, Slot>,
    /// kmalloc's own state (its caches are among `caches`).
    pub kmalloc: KmallocModel,
    /// mempool's own state (its elements are slab objects, large kmalloc blocks or pages).
    pub mempool: MempoolModel,
    /// Taint the run before the next statement (this one's reports were still predicted).
    pub taint_next: bool,
    /// The slabs the statement being judged took and emptied (exact caches).
    pub traffic: grow::SlabTraffic,
    /// Heads of the pages a statement that created a cache took besides the slabs the rules
    /// follow: slabs of SLUB's own kmem_cache cache (a struct kmem_cache each), whose
    /// objects the rules do not place.
    pub internal: BTreeSet<u64>,
    /// How many struct kmem_cache the run may have taken from SLUB's kmem_cache cache (a
    /// kmem_cache_create(), a kmalloc cache made at its first use).
    pub structs_made: u64,
}

pub(crate) fn ptr_of(arch: Arch) -> u64 {
    match arch {
        Arch::I386 => 4,
        Arch::X86_64 => 8,
    }
}

impl SlabModel {
    pub fn new(facts: &Facts, cfg: &BootConfig) -> SlabModel {
        let debug = cfg.slub_debug.map_or(0, |d| d.slab_flags());
        SlabModel {
            arch: facts.arch,
            page_offset: facts.page_offset,
            debug,
            poisoning: debug & SLAB_POISON != 0,
            caches: vec![],
            by_handle: BTreeMap::new(),
            slabs: BTreeMap::new(),
            slots: BTreeMap::new(),
            kmalloc: KmallocModel::new(cfg),
            mempool: MempoolModel::default(),
            taint_next: false,
            traffic: grow::SlabTraffic::default(),
            internal: BTreeSet::new(),
            structs_made: 0,
        }
    }

    pub(crate) fn pa(&self, va: u64) -> u64 {
        va.wrapping_sub(self.page_offset)
    }

    pub(crate) fn slab_base(&self, pfn: u64) -> u64 {
        self.page_offset + (pfn << PAGE_SHIFT)
    }

    /// Judges a cache operand that names no live cache the oracle knows. Returns false when
    /// what the call does next cannot be predicted: a pointer into a slab of SLUB's own
    /// kmem_cache cache that was never the handle of a cache the scenario created (SLUB's
    /// own "kmem_cache" cache, whose struct is the first object of its first slab; a
    /// kmalloc cache's; a free slot), or a destroyed cache's handle once another struct
    /// kmem_cache has been made (a kmalloc cache's, made at its first use, may have taken
    /// the freed struct), names whatever struct kmem_cache lies there, and Linux goes on
    /// with it. The report may come or not, and the state after it is not followed (taint).
    pub(crate) fn bad_handle(&mut self, j: &mut Judgement, pages: &PageModel, handle: u64) -> bool {
        let unknown = match self.by_handle.get(&handle) {
            Some(&id) => self.caches[id]
                .destroyed_at
                .is_some_and(|t| t < self.structs_made),
            None => self.in_internal_slab(pages, handle),
        };
        if handle != 0 && unknown {
            j.misuse.push(M::Report(ReportKind::MempoolMisuse));
            j.allow.push(ReportKind::MempoolMisuse);
            self.taint_next = true;
            return false;
        }
        let r = if handle == 0 {
            ReportKind::PageFault
        } else {
            ReportKind::MempoolMisuse
        };
        j.misuse(M::Report(r), Some(r));
        true
    }

    pub(crate) fn slot_addrs(&self, pfn: u64) -> Vec<u64> {
        let Some(s) = self.slabs.get(&pfn) else {
            return vec![];
        };
        let size = self.caches[s.cache].l.size as u64;
        let base = self.slab_base(pfn);
        (0..s.objects as u64).map(|i| base + i * size).collect()
    }

    pub(crate) fn state(&self, cid: usize, slot: u64) -> St {
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

    pub(crate) fn slot_mut(&mut self, slot: u64) -> &mut Slot {
        self.slots.entry(slot).or_insert(Slot {
            st: St::Untouched,
            dirty: RunMap::default(),
            pool_dirty: false,
        })
    }

    /// The slab containing `va`, if the oracle knows it: (head pfn, slab).
    /// The slab `va` lies in, from this model's own slab map: a slab is forgotten only
    /// after the statement that discarded it is judged (its page-free event may already
    /// have reached the page model when a kfree empties it).
    pub(crate) fn slab_of(&self, pages: &PageModel, va: u64) -> Option<(u64, SlabM)> {
        if !pages.facts.is_lowmem_va(va) {
            return None;
        }
        let pfn = (va - self.page_offset) >> PAGE_SHIFT;
        let (&head, s) = self.slabs.range(..=pfn).next_back()?;
        (pfn < head + (1u64 << s.order)).then(|| (head, s.clone()))
    }

    /// The slot start of object pointer `p` in slab `pfn`, if `p` is one.
    pub(crate) fn slot_of_object(&self, pfn: u64, s: &SlabM, p: u64) -> Option<u64> {
        let l = self.caches[s.cache].l;
        let base = self.slab_base(pfn);
        let slot = p.checked_sub(l.rlp as u64)?;
        let off = slot.checked_sub(base)?;
        (off % l.size as u64 == 0 && off / (l.size as u64) < s.objects as u64).then_some(slot)
    }

    /// Sets the shadow of [va, va+len) to `byte` (None: unknown): the whole pages in it at
    /// once, the parts of pages page by page.
    pub(crate) fn shadow(&self, pages: &mut PageModel, va: u64, len: u64, byte: Option<u8>) {
        let mut cur = self.pa(va);
        let end = cur + len;
        while cur < end {
            let n = (PAGE_SIZE - cur % PAGE_SIZE).min(end - cur);
            if n == PAGE_SIZE {
                let (pfn, whole) = (cur / PAGE_SIZE, (end - cur) / PAGE_SIZE);
                match byte {
                    Some(b) => pages.shadow.fill_pages(pfn, whole, b),
                    None => pages.shadow.forget_pages(pfn, whole),
                }
                cur += whole * PAGE_SIZE;
                continue;
            }
            match byte {
                Some(b) => pages.shadow.set(cur, n as usize, b),
                None => pages.shadow.unknown(cur, n as usize),
            }
            cur += n;
        }
    }
}

/// The slab family's part of [`Model`]: its statements are judged once the page allocator
/// traffic they caused has been observed (new slabs arrive as events).
impl Model {
    /// Judges a kmem_cache_* statement.
    pub(super) fn slab_op(&mut self, j: &mut Judgement, op: &Op, env: &Env, out: &Outcome) {
        let ev = self.evaluator(env);
        let v = out.value.unwrap_or(0);
        let (s, pages, ctx) = (&mut self.slab, &mut self.pages, &self.ctx);
        match op {
            Op::KmemCacheCreate {
                name,
                size,
                align,
                flags,
                ctor,
            } => s.cache_create(j, pages, ctx, name, *size, *align, *flags, *ctor, v),
            Op::KmemCacheAlloc { cache, gfp } => {
                s.cache_alloc(j, pages, ctx, ev(cache), *gfp, false, v)
            }
            Op::KmemCacheZalloc { cache, gfp } => {
                s.cache_alloc(j, pages, ctx, ev(cache), *gfp, true, v)
            }
            Op::KmemCacheFree { cache, addr } => s.cache_free(j, pages, ev(cache), ev(addr)),
            Op::KmemCacheDestroy { cache } => s.cache_destroy(j, pages, ctx, ev(cache)),
            Op::KmemCacheShrink { cache } => s.cache_shrink(j, pages, ctx, ev(cache)),
            Op::ValidateSlabCache { cache } => s.validate(j, pages, ctx, ev(cache)),
            _ => {}
        }
    }

    /// Slabs and large kmalloc blocks whose pages went back (after every statement).
    pub(super) fn slab_events(
        &mut self,
        j: &mut Judgement,
        op: &Op,
        events: &[kmem_vocab::PageEvent],
    ) {
        // A statement no slab rule looked at and that gave no page back leaves the slabs as
        // they were (every statement but the slab families' and those that free pages):
        // with the traffic quiet, only a freed page has a slab rule to answer.
        if self.slab.traffic.is_quiet()
            && !events
                .iter()
                .any(|e| matches!(e, kmem_vocab::PageEvent::Free { .. }))
        {
            return;
        }
        self.judge_slab_traffic(j, op, events);
        for e in events {
            if let kmem_vocab::PageEvent::Free { pfn, .. } = *e {
                self.slab.slab_freed(j, pfn);
                self.slab.pages_freed(pfn);
            }
        }
    }
}
