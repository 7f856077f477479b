//! Candidate sets: which handles each operation may use now.
//!
//! Every handle's membership of every set is one bit mask ([`Gen::membership`]), the single
//! definition of the sets. The generator asks of the sets on every statement while the
//! handles change only when a statement binds, frees or maps one, so the masks of the
//! handles in [`Gen::scan`] and a [`Summary`] of them are kept by [`Gen::refresh`] and reused
//! until a handle changes; while they are stale every question is answered from the handles
//! themselves, with the same answers. A kept mask also carries what its handle adds to the
//! summary beyond its sets (an idle cache or pool, a page not kmapped), so the summary is
//! one branch-free pass over the kept masks and only the stale handles are looked at.

use super::super::choose::Draw;
use arbitrary::Result;

use super::super::choose;
use super::super::state::{Gen, Handle, Kind, Life, MapHow};

/// A set of handles an operation may use now.
#[derive(Clone, Copy, Debug)]
pub enum Cand {
    /// Pages from alloc_pages that may be freed.
    PagesToFree,
    /// Addresses from __get_free_pages that may be freed.
    FreePagesToFree,
    /// Live page handles; `whole`: only those whose page belongs to their owner; `low`: only
    /// those certainly in lowmem.
    Pages {
        whole: bool,
        low: bool,
    },
    /// Live addresses in the direct map.
    Linear,
    /// Live physical addresses of lowmem.
    PhysLow,
    Caches,
    /// Live slab objects of live caches.
    Objs,
    Kmallocs,
    VmallocsToFree,
    Vmaps,
    /// Live addresses in the vmalloc area.
    VmAreas,
    /// Live `kmap` mappings.
    Kmaps,
    Pools,
    /// Live elements of live pools that may be freed.
    Elems,
    /// Live addresses with bytes that may be touched.
    Access,
}

/// Whole pages that may be mapped, vmapped or kmapped.
pub const WHOLE_PAGES: Cand = Cand::Pages {
    whole: true,
    low: false,
};

impl Cand {
    /// This set's bit in a membership mask.
    pub const fn bit(self) -> u32 {
        1 << match self {
            Cand::PagesToFree => 0,
            Cand::FreePagesToFree => 1,
            Cand::Pages {
                whole: false,
                low: false,
            } => 2,
            Cand::Pages {
                whole: false,
                low: true,
            } => 3,
            Cand::Pages {
                whole: true,
                low: false,
            } => 4,
            Cand::Pages {
                whole: true,
                low: true,
            } => 5,
            Cand::Linear => 6,
            Cand::PhysLow => 7,
            Cand::Caches => 8,
            Cand::Objs => 9,
            Cand::Kmallocs => 10,
            Cand::VmallocsToFree => 11,
            Cand::Vmaps => 12,
            Cand::VmAreas => 13,
            Cand::Kmaps => 14,
            Cand::Pools => 15,
            Cand::Elems => 16,
            Cand::Access => 17,
        }
    }
}

/// What [`Gen::actions`] asks of the sets beyond whether each is empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The union of the members' masks: the bit of every non-empty set.
    pub sets: u32,
    /// How many live caches and pools there are.
    pub caches: usize,
    pub pools: usize,
    /// Whether a live cache has neither objects nor a pool over it.
    pub idle_cache: bool,
    /// Whether a live pool has no elements out.
    pub idle_pool: bool,
    /// Whether a page of [`WHOLE_PAGES`] is not kmapped.
    pub unkmapped_page: bool,
}

/// A kept mask's bits beyond the sets' ([`Cand::bit`] uses the low 18): what its handle
/// adds to the [`Summary`] beyond its sets.
const IDLE_CACHE: u32 = 1 << 29;
const IDLE_POOL: u32 = 1 << 30;
const UNKMAPPED_PAGE: u32 = 1 << 31;

/// The sets' bits of a kept mask, without the summary's flags.
const SET_BITS: u32 = !(IDLE_CACHE | IDLE_POOL | UNKMAPPED_PAGE);

/// The kept masks of the handles in [`Gen::scan`] (parallel to it) and, updated with every
/// change to them, how many masks hold each bit: the [`Summary`] and a set's size are read
/// off the counts instead of a pass over every mask on every turn.
#[derive(Clone, Debug, Default)]
pub struct KeptMasks {
    masks: Vec<u32>,
    /// How many of `masks` have each bit set.
    counts: [u32; 32],
    /// The bits set in any of `masks`.
    union: u32,
}

impl KeptMasks {
    pub fn with_capacity(n: usize) -> Self {
        KeptMasks {
            masks: Vec::with_capacity(n),
            ..KeptMasks::default()
        }
    }

    pub fn get(&self, k: usize) -> Option<u32> {
        self.masks.get(k).copied()
    }

    pub fn push(&mut self, m: u32) {
        self.masks.push(m);
        self.count(0, m);
    }

    pub fn remove(&mut self, k: usize) {
        if k < self.masks.len() {
            let m = self.masks.remove(k);
            self.count(m, 0);
        }
    }

    pub fn set(&mut self, k: usize, m: u32) {
        if let Some(old) = self.masks.get_mut(k) {
            let was = std::mem::replace(old, m);
            self.count(was, m);
        }
    }

    pub fn clear(&mut self) {
        self.masks.clear();
        self.counts = [0; 32];
        self.union = 0;
    }

    /// Moves the counts of the bits that differ between a mask's `old` and `new` value.
    fn count(&mut self, old: u32, new: u32) {
        let mut d = old ^ new;
        while d != 0 {
            let b = d.trailing_zeros();
            d &= d - 1;
            let bit = 1u32 << b;
            if let Some(c) = self.counts.get_mut(b as usize) {
                if new & bit != 0 {
                    *c += 1;
                    self.union |= bit;
                } else {
                    *c = c.saturating_sub(1);
                    if *c == 0 {
                        self.union &= !bit;
                    }
                }
            }
        }
    }

    /// How many masks are in set `c`.
    fn members(&self, c: Cand) -> usize {
        let b = c.bit().trailing_zeros() as usize;
        self.counts.get(b).map_or(0, |&n| n as usize)
    }

    /// What the actions ask of the sets.
    pub fn summary(&self) -> Summary {
        Summary {
            sets: self.union & SET_BITS,
            caches: self.members(Cand::Caches),
            pools: self.members(Cand::Pools),
            idle_cache: self.union & IDLE_CACHE != 0,
            idle_pool: self.union & IDLE_POOL != 0,
            unkmapped_page: self.union & UNKMAPPED_PAGE != 0,
        }
    }
}

/// The summary of masks (in handle order) computed from the handles: one pass without a
/// branch a mask, the counts and flags added up from the masks' bits.
fn summary_of(masks: impl Iterator<Item = u32>) -> Summary {
    let (caches, pools) = (Cand::Caches.bit(), Cand::Pools.bit());
    let (mut sets, mut flags) = (0, 0);
    let (mut nc, mut np) = (0usize, 0usize);
    for m in masks {
        sets |= m;
        flags |= m;
        nc += usize::from(m & caches != 0);
        np += usize::from(m & pools != 0);
    }
    Summary {
        sets: sets & SET_BITS,
        caches: nc,
        pools: np,
        idle_cache: flags & IDLE_CACHE != 0,
        idle_pool: flags & IDLE_POOL != 0,
        unkmapped_page: flags & UNKMAPPED_PAGE != 0,
    }
}

impl Gen<'_> {
    fn live(&self, i: usize) -> bool {
        self.get(i).is_some_and(|h| h.life == Life::Live)
    }

    /// The sets handle `i` (whose handle is `h`) is in, as a mask of [`Cand::bit`]s.
    pub(in super::super) fn membership(&self, i: usize, h: &Handle) -> u32 {
        let mut m = 0;
        if h.life == Life::Live {
            let unpinned = h.pins == 0;
            m |= match h.kind {
                Kind::Pages { .. } if unpinned => Cand::PagesToFree.bit(),
                Kind::FreePages { .. } if unpinned => Cand::FreePagesToFree.bit(),
                Kind::Cache { .. } => Cand::Caches.bit(),
                Kind::SlabObj { cache, .. } if self.live(cache) => Cand::Objs.bit(),
                Kind::Kmalloc { .. } => Cand::Kmallocs.bit(),
                Kind::Vmalloc { .. } if unpinned => Cand::VmallocsToFree.bit(),
                Kind::Vmap { .. } => Cand::Vmaps.bit(),
                Kind::Pool { .. } => Cand::Pools.bit(),
                Kind::PoolElem { pool, .. } if unpinned && self.live(pool) => Cand::Elems.bit(),
                _ => 0,
            };
        }
        if self.alive(i) {
            if let Some((high, bytes)) = self.page_like(i) {
                // Cand::Pages { whole, low } for every whole (bytes to own) and low (not
                // highmem) the page allows.
                const fn pages(whole: bool, low: bool) -> u32 {
                    Cand::Pages { whole, low }.bit()
                }
                m |= pages(false, false);
                if !high {
                    m |= pages(false, true);
                }
                if bytes > 0 {
                    m |= pages(true, false);
                    if !high {
                        m |= pages(true, true);
                    }
                }
            }
            if self.is_linear(i) {
                m |= Cand::Linear.bit();
            }
            if self.is_vmalloc_area(i) {
                m |= Cand::VmAreas.bit();
            }
            m |= match h.kind {
                Kind::Phys { low: true, .. } => Cand::PhysLow.bit(),
                Kind::Kmap {
                    how: MapHow::Kmap, ..
                } => Cand::Kmaps.bit(),
                _ => 0,
            };
            if self.addr_size(i).is_some_and(|s| s > 0) {
                m |= Cand::Access.bit();
            }
        }
        m
    }

    /// What the actions ask of the sets, from (handle, mask) pairs in handle order.
    fn summarize(&self, masks: impl Iterator<Item = (usize, u32)>) -> Summary {
        summary_of(masks.map(|(i, m)| self.flagged(i, m)))
    }

    /// Mask `m` of handle `i` with the bits of what it adds to the summary beyond its sets.
    fn flagged(&self, i: usize, m: u32) -> u32 {
        let mut k = m;
        if m & Cand::Caches.bit() != 0 && !self.cache_busy(i) {
            k |= IDLE_CACHE;
        }
        if m & Cand::Pools.bit() != 0 && !self.pool_busy(i) {
            k |= IDLE_POOL;
        }
        if m & WHOLE_PAGES.bit() != 0 && !self.kmapped(i) {
            k |= UNKMAPPED_PAGE;
        }
        k
    }

    /// The mask of handle `i`.
    fn mask(&self, i: usize) -> u32 {
        self.get(i).map_or(0, |h| self.membership(i, h))
    }

    /// The masks of the handles in [`Gen::scan`] and their summary, computed again if a
    /// handle changed since they were last computed: the masks of the handles marked
    /// stale, or all of them after a release.
    pub fn refresh(&mut self) {
        if self.fresh {
            return;
        }
        if self.all_stale {
            self.kept.clear();
            for k in 0..self.scan.len() {
                if let Some(&i) = self.scan.get(k) {
                    let m = self.flagged(i, self.mask(i));
                    self.kept.push(m);
                }
            }
        } else {
            for j in 0..self.stale.len() {
                let Some(&t) = self.stale.get(j) else { break };
                if let Ok(k) = self.scan.binary_search(&t) {
                    let m = self.flagged(t, self.mask(t));
                    self.kept.set(k, m);
                }
            }
        }
        self.stale.clear();
        self.all_stale = false;
        self.fresh = true;
    }

    /// The summary of the sets, from the kept masks or (when a handle changed since) from
    /// the handles.
    pub fn summary(&self) -> Summary {
        match self.fresh {
            true => self.kept.summary(),
            false => self.summarize(self.scan.iter().map(|&i| (i, self.mask(i)))),
        }
    }

    /// The handles in [`Gen::scan`] in any of the sets of `bits`, in handle order.
    pub fn members(&self, bits: u32) -> Members<'_, '_> {
        Members {
            g: self,
            bits,
            k: 0,
        }
    }

    /// The handles in `c`, in handle order.
    pub fn cands(&self, c: Cand) -> Vec<usize> {
        self.members(c.bit()).collect()
    }

    /// Whether any handle is in `c`.
    pub fn has(&self, c: Cand) -> bool {
        match self.fresh {
            true => self.kept.members(c) != 0,
            false => self.members(c.bit()).next().is_some(),
        }
    }

    /// One handle of `c` for which `keep` holds, drawn as [`choose::one_of`] draws from the
    /// list of them (so the same bytes choose the same handle), or `None` when there is none.
    pub fn pick_where(
        &self,
        u: &mut impl Draw,
        c: Cand,
        keep: impl Fn(usize) -> bool,
    ) -> Result<Option<usize>> {
        let n = self.members(c.bit()).filter(|&i| keep(i)).count();
        if n == 0 {
            return Ok(None);
        }
        let k = choose::index(u, n)?;
        Ok(self.members(c.bit()).filter(|&i| keep(i)).nth(k))
    }

    /// One handle of `c`, drawn as [`choose::one_of`] draws from [`Gen::cands`]: as
    /// `pick_where` with every member kept, the set's size read off the kept counts.
    pub fn pick(&self, u: &mut impl Draw, c: Cand) -> Result<Option<usize>> {
        let n = match self.fresh {
            true => self.kept.members(c),
            false => self.members(c.bit()).count(),
        };
        if n == 0 {
            return Ok(None);
        }
        let k = choose::index(u, n)?;
        Ok(self.members(c.bit()).nth(k))
    }
}

/// The handles of [`Gen::scan`] in a set, from the kept masks while they are fresh.
pub struct Members<'g, 'c> {
    g: &'g Gen<'c>,
    bits: u32,
    k: usize,
}

impl Iterator for Members<'_, '_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let g = self.g;
        while let Some(&i) = g.scan.get(self.k) {
            let m = match g.fresh {
                true => g.kept.get(self.k).unwrap_or(0),
                false => g.mask(i),
            };
            self.k += 1;
            if m & self.bits != 0 {
                return Some(i);
            }
        }
        None
    }
}
