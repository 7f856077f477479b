//! Well-behaved operations: what a correct kernel client does with what it holds. This file
//! says which operations are possible now ([`Gen::actions`]) and on which handles
//! ([`Cand`]); each family's operations are in the module of its name.

mod access;
mod cands;
mod context;
mod exhaust;
mod highmem;
mod kmalloc;
mod mempool;
mod pages;
mod slab;
mod translate;
mod vmalloc;

use super::choose::Draw;
use arbitrary::Result;
use kmem_vocab::PAGE_SIZE;

use super::super::kind::Family;
use super::choose;
use super::state::{Gen, MAX_CTX};

pub use access::in_bounds;
pub use cands::{Cand, KeptMasks, WHOLE_PAGES};

/// The most caches and pools alive at once.
pub(crate) const MAX_CACHES: usize = 6;
const MAX_POOLS: usize = 6;

/// Declares [`Action`] and the list of its variants in order, from one list of names.
macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// The well-behaved operations, in the order [`Gen::weights`] lists them (the order
        /// in which a draw picks among them).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Action {
            $($(#[$doc])* $name,)*
        }

        /// Every action in [`Action`]'s order, to read a [`Weights`] mask back.
        const ALL_ACTIONS: &[Action] = &[$(Action::$name,)*];
    };
}

actions! {
    AllocPages,
    GetFreePages,
    FreePagesPage,
    FreePages,
    PageAddress,
    PageToPhys,
    VirtToPage,
    VirtToPhys,
    PhysToVirt,
    /// page_to_phys or page_address of an extreme pfn's `struct page` (the last pfn, the
    /// first above 4 GiB, a zone boundary), which the scenario need not hold.
    TranslateExtreme,
    CacheCreate,
    CacheAlloc,
    CacheQuery,
    CacheDestroy,
    CacheFree,
    Kmalloc,
    Krealloc,
    Ksize,
    Kfree,
    Vmalloc,
    Vfree,
    Vmap,
    Vunmap,
    VmallocToPage,
    IsVmallocAddr,
    /// `vm_unmap_aliases`: the lazily freed areas purged, their addresses free again.
    VmUnmapAliases,
    Kmap,
    KmapAtomic,
    KmapLocal,
    Kunmap,
    /// `walk` a high-order highmem block: kmap and kunmap each of its pages in turn.
    KmapWalk,
    PoolCreate,
    PoolAlloc,
    PoolDestroy,
    PoolFree,
    CtxOpen,
    CloseTop,
    Write,
    Read,
    /// `repeat` an allocation until memory runs out (at most once per scenario).
    Exhaust,
    /// `repeat` a small allocation once memory is scarce.
    Drain,
}

/// The number of [`Action`]s.
const ACTIONS: usize = ALL_ACTIONS.len();
// Every action has its bit in a [`Weights`] mask.
const _: () = assert!(ACTIONS <= 64);

/// The operations possible now and their weights (1 to 4), listed in [`Action`]'s order: a
/// bit per possible action, and its weight less one in two more masks. Built on every turn,
/// so adding an action only sets bits.
#[derive(Clone, Copy, Default)]
struct Weights {
    on: u64,
    /// Bit 0 and bit 1 of each action's weight less one.
    w1: u64,
    w2: u64,
    /// The sum of the weights.
    total: usize,
}

impl Weights {
    /// Makes `a` possible with weight `w` (clamped to 1..=4; each action is added at most
    /// once a turn).
    fn add(&mut self, a: Action, w: u8) {
        let w = w.clamp(1, 4);
        let bit = 1u64 << (a as u32);
        self.on |= bit;
        if (w - 1) & 1 != 0 {
            self.w1 |= bit;
        }
        if (w - 1) & 2 != 0 {
            self.w2 |= bit;
        }
        self.total += usize::from(w);
    }

    /// The possible actions with their weights, in order.
    fn entries(&self) -> impl Iterator<Item = (Action, u8)> + '_ {
        let mut on = self.on;
        std::iter::from_fn(move || {
            if on == 0 {
                return None;
            }
            let i = on.trailing_zeros();
            on &= on - 1;
            let w = 1 + ((self.w1 >> i) & 1) + 2 * ((self.w2 >> i) & 1);
            Some((*ALL_ACTIONS.get(i as usize)?, w as u8))
        })
    }

    /// The `k`th action of the list in which each appears as many times as its weight.
    fn nth(&self, mut k: usize) -> Option<Action> {
        for (a, w) in self.entries() {
            let w = usize::from(w);
            if k < w {
                return Some(a);
            }
            k -= w;
        }
        None
    }
}

/// Converts an in-range offset for an operand.
pub fn offset(off: u64) -> i64 {
    i64::try_from(off).unwrap_or(i64::MAX)
}

/// `n` rounded up to whole pages.
pub fn page_round(n: u64) -> u64 {
    n.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE)
}

// The operations.
impl Gen<'_> {
    /// Every well-behaved operation possible now, repeated by weight: what
    /// [`Gen::choose_action`] draws from.
    #[cfg(test)]
    pub fn actions(&self) -> Vec<Action> {
        let t = self.weights();
        let mut v = Vec::new();
        for (a, w) in t.entries() {
            v.extend(std::iter::repeat_n(a, usize::from(w)));
        }
        v
    }

    /// One well-behaved operation possible now, drawn as [`choose::one_of`] draws from
    /// [`Gen::actions`] (the same bytes choose the same operation), or `None` when none is.
    pub fn choose_action(&mut self, u: &mut impl Draw) -> Result<Option<Action>> {
        self.refresh();
        let t = self.weights();
        if t.total == 0 {
            return Ok(None);
        }
        Ok(t.nth(choose::index(u, t.total)?))
    }

    /// Every well-behaved operation possible now, with its weight, in a fixed order.
    fn weights(&self) -> Weights {
        use Action as A;
        let mut t = Weights::default();
        let atomic = self.atomic();
        let s = self.summary();
        let has = |c: Cand| s.sets & c.bit() != 0;
        if self.on(Family::Pages) {
            if self.fits(PAGE_SIZE) {
                t.add(A::AllocPages, 2);
                t.add(A::GetFreePages, 2);
            }
            if has(Cand::PagesToFree) {
                t.add(A::FreePagesPage, 2);
            }
            if has(Cand::FreePagesToFree) {
                t.add(A::FreePages, 2);
            }
        }
        if self.on(Family::Translate) {
            if has(Cand::Pages {
                whole: false,
                low: true,
            }) {
                t.add(A::PageAddress, 1);
            }
            if has(Cand::Pages {
                whole: false,
                low: false,
            }) {
                t.add(A::PageToPhys, 1);
            }
            if has(Cand::Linear) {
                t.add(A::VirtToPage, 1);
                t.add(A::VirtToPhys, 1);
            }
            if has(Cand::PhysLow) {
                t.add(A::PhysToVirt, 1);
            }
            t.add(A::TranslateExtreme, 1);
        }
        if self.on(Family::Slab) {
            if !atomic && s.caches < MAX_CACHES {
                t.add(A::CacheCreate, if s.caches == 0 { 3 } else { 1 });
            }
            if s.caches > 0 {
                t.add(A::CacheAlloc, 3);
                if !atomic {
                    t.add(A::CacheQuery, 1);
                    if s.idle_cache {
                        t.add(A::CacheDestroy, 1);
                    }
                }
            }
            if has(Cand::Objs) {
                t.add(A::CacheFree, 2);
            }
        }
        if self.on(Family::Kmalloc) {
            t.add(A::Kmalloc, 3);
            t.add(A::Krealloc, 1);
            if has(Cand::Kmallocs) {
                t.add(A::Ksize, 1);
                t.add(A::Kfree, 3);
            }
        }
        if self.on(Family::Vmalloc) {
            if !atomic {
                t.add(A::Vmalloc, 2);
                if has(Cand::VmallocsToFree) {
                    t.add(A::Vfree, 2);
                }
                if has(WHOLE_PAGES) {
                    t.add(A::Vmap, 1);
                }
                if has(Cand::Vmaps) {
                    t.add(A::Vunmap, 1);
                }
                if self.vm_lazy {
                    t.add(A::VmUnmapAliases, 1);
                }
            }
            if has(Cand::VmAreas) {
                t.add(A::VmallocToPage, 1);
            }
            if has(Cand::Access) {
                t.add(A::IsVmallocAddr, 1);
            }
        }
        if self.on(Family::Highmem) {
            if !atomic && s.unkmapped_page {
                t.add(A::Kmap, 2);
            }
            if has(WHOLE_PAGES) && self.ctx.len() < MAX_CTX {
                t.add(A::KmapAtomic, 2);
                t.add(A::KmapLocal, 1);
            }
            if !atomic && has(Cand::Kmaps) {
                t.add(A::Kunmap, 2);
            }
            if !atomic && self.may_walk() {
                t.add(A::KmapWalk, 1);
            }
        }
        if self.on(Family::Mempool) {
            if !atomic && s.pools < MAX_POOLS {
                t.add(A::PoolCreate, if s.pools == 0 { 3 } else { 1 });
            }
            if s.pools > 0 {
                t.add(A::PoolAlloc, 3);
                if !atomic && s.idle_pool {
                    t.add(A::PoolDestroy, 1);
                }
            }
            if has(Cand::Elems) {
                t.add(A::PoolFree, 2);
            }
        }
        if self.on(Family::Context) && self.ctx.len() < MAX_CTX {
            t.add(A::CtxOpen, 2);
        }
        if !self.ctx.is_empty() {
            t.add(A::CloseTop, 3);
        }
        if self.on(Family::Access) && has(Cand::Access) {
            t.add(A::Write, 4);
            t.add(A::Read, 3);
        }
        if self.may_exhaust() {
            t.add(A::Exhaust, 1);
        }
        if self.scarce && self.drains < exhaust::MAX_DRAINS {
            t.add(A::Drain, 1);
        }
        t
    }

    /// Performs one well-behaved operation (nothing when it has no candidate).
    pub fn act(&mut self, u: &mut impl Draw, a: Action) -> Result<()> {
        use Action as A;
        match a {
            A::AllocPages | A::GetFreePages | A::FreePagesPage | A::FreePages => {
                self.act_pages(u, a)
            }
            A::PageAddress
            | A::VirtToPage
            | A::PageToPhys
            | A::VirtToPhys
            | A::PhysToVirt
            | A::TranslateExtreme => self.act_translate(u, a),
            A::CacheCreate | A::CacheAlloc | A::CacheFree | A::CacheDestroy | A::CacheQuery => {
                self.act_slab(u, a)
            }
            A::Kmalloc | A::Krealloc | A::Ksize | A::Kfree => self.act_kmalloc(u, a),
            A::Vmalloc
            | A::Vfree
            | A::Vmap
            | A::Vunmap
            | A::VmallocToPage
            | A::IsVmallocAddr
            | A::VmUnmapAliases => self.act_vmalloc(u, a),
            A::Kmap | A::Kunmap | A::KmapAtomic | A::KmapLocal | A::KmapWalk => {
                self.act_highmem(u, a)
            }
            A::PoolCreate | A::PoolAlloc | A::PoolFree | A::PoolDestroy => self.act_mempool(u, a),
            A::CtxOpen | A::CloseTop => self.act_context(u, a),
            A::Write | A::Read => self.act_access(u, a),
            A::Exhaust | A::Drain => self.act_exhaust(u, a),
        }
    }
}

#[cfg(test)]
mod tests;
