//! The highmem rules (mm/highmem.c, include/linux/highmem-internal.h), worked out by the
//! oracle itself: which pkmap slot kmap() must take (get_next_pkmap_nr() and the flush on
//! wrap-around are Linux's algorithm, so the address is predicted exactly), the pkmap counts,
//! page_address() of a kmapped highmem page, and the strictly LIFO kmap_atomic /
//! kmap_local_page stack of KM_MAX_IDX fixmap slots. On x86_64 there is no highmem: every
//! kmap function is page_address().

use rustc_hash::FxHashMap;

use kmem_vocab::{Arch, ReportKind};

use super::context::{CtxModel, CtxOp};
use super::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use super::i386_areas::NR_CPUS;
use super::{FailureKind as F, Judgement, MisuseKind as M, Model};
use crate::outcome::{Env, Outcome};
use crate::scenario::Op;

/// KM_MAX_IDX: the kmap_local / kmap_atomic stack depth.
pub const KM_MAX_IDX: u64 = 16;

/// How a kmap statement maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    Kmap,
    Atomic,
    Local,
}

#[derive(Clone, Debug)]
pub struct HighmemModel {
    i386: bool,
    /// PKMAP_BASE, FIXADDR_TOP and FIX_KMAP_BEGIN of the profile (the oracle's facts).
    pkmap_base: u64,
    fixaddr_top: u64,
    fix_kmap_begin: u64,
    /// LAST_PKMAP (0 without highmem support).
    last_pkmap: usize,
    /// pkmap_count[] and what each pkmap PTE maps, held a little past the highest slot ever
    /// mapped (the rest have count 0 and map nothing).
    slots: Vec<PkmapSlot>,
    /// last_pkmap_nr.
    last_nr: u64,
    /// page->virtual of highmem pages that have a pkmap address (only looked up).
    virt: FxHashMap<u64, u64>,
    /// The kmap_local stack: (address, pfn), bottom first.
    stack: Vec<(u64, u64)>,
    /// The kmap_local slots that were ever used: an access to one after it is gone is a
    /// use after unmap, not a wild access.
    local_used: [bool; KM_MAX_IDX as usize],
}

/// One pkmap slot as the rules follow it.
#[derive(Clone, Copy, Debug, Default)]
struct PkmapSlot {
    /// pkmap_count[nr].
    count: u32,
    /// The page its PTE maps.
    pfn: Option<u64>,
    /// Whether it was ever mapped: an access to it after it is gone is a use after unmap,
    /// not a wild access.
    used: bool,
}

/// How many pkmap slots the rules' table grows by at least (a walk maps them in turn).
const SLOTS_CHUNK: usize = 64;

/// PKMAP_ADDR(nr): the address of pkmap slot `nr` above PKMAP_BASE `base`.
fn pkmap_addr(base: u64, nr: u64) -> u64 {
    base + (nr << PAGE_SHIFT)
}

/// A pkmap or kmap_local address as the oracle sees it.
pub enum Slot {
    /// Mapped to `pfn`; `live` when the mapping is still held (not only left for the flush).
    Mapped { pfn: u64, live: bool },
    /// Not mapped; `was_used` when it was mapped before.
    Unmapped { was_used: bool },
}

impl HighmemModel {
    pub fn new(f: &Facts) -> HighmemModel {
        let i386 = f.arch == Arch::I386;
        let n = if i386 { f.last_pkmap as usize } else { 0 };
        HighmemModel {
            i386,
            pkmap_base: f.pkmap_base,
            fixaddr_top: f.fixaddr_top,
            fix_kmap_begin: f.fix_kmap_begin,
            last_pkmap: n,
            slots: Vec::new(),
            last_nr: 0,
            virt: FxHashMap::default(),
            stack: Vec::new(),
            local_used: [false; KM_MAX_IDX as usize],
        }
    }

    pub fn pkmap_addr(&self, nr: u64) -> u64 {
        pkmap_addr(self.pkmap_base, nr)
    }

    /// __fix_to_virt(FIX_KMAP_BEGIN + idx).
    pub fn local_addr(&self, idx: u64) -> u64 {
        self.fixaddr_top - ((self.fix_kmap_begin + idx) << PAGE_SHIFT)
    }

    fn pkmap_nr(&self, va: u64) -> Option<usize> {
        let end = self.pkmap_base + self.last_pkmap as u64 * PAGE_SIZE;
        if !self.i386 || !(self.pkmap_base..end).contains(&va) {
            return None;
        }
        Some(((va - self.pkmap_base) >> PAGE_SHIFT) as usize)
    }

    fn local_idx(&self, va: u64) -> Option<u64> {
        if !self.i386 {
            return None;
        }
        let lo = self.local_addr(KM_MAX_IDX - 1);
        let hi = self.local_addr(0) + PAGE_SIZE;
        (self.i386 && (lo..hi).contains(&va))
            .then(|| (hi - PAGE_SIZE - (va & !(PAGE_SIZE - 1))) >> PAGE_SHIFT)
    }

    /// Whether `va` lies between FIX_KMAP_END and FIX_KMAP_BEGIN: the kmap_local slots of
    /// every CPU, where kunmap_local_indexed() takes an address for a slot of its own.
    fn in_kmap_fixmap(&self, va: u64) -> bool {
        let lo = self.local_addr(KM_MAX_IDX * NR_CPUS - 1);
        (lo..=self.local_addr(0)).contains(&va)
    }

    /// page_address() of a highmem page: its pkmap address until the slot is flushed.
    pub fn page_virtual(&self, pfn: u64) -> Option<u64> {
        self.virt.get(&pfn).copied()
    }

    /// What the page table holds for `va` if it is a pkmap or kmap_local address.
    pub fn slot(&self, va: u64) -> Option<Slot> {
        if let Some(nr) = self.pkmap_nr(va) {
            let s = self.slots.get(nr).copied().unwrap_or_default();
            return Some(match (s.count, s.pfn) {
                (c, Some(pfn)) if c >= 1 => Slot::Mapped { pfn, live: c >= 2 },
                _ => Slot::Unmapped { was_used: s.used },
            });
        }
        let idx = self.local_idx(va)?;
        Some(match self.stack.get(idx as usize) {
            Some(&(_, pfn)) => Slot::Mapped { pfn, live: true },
            None => Slot::Unmapped {
                was_used: self.local_used.get(idx as usize).copied().unwrap_or(false),
            },
        })
    }

    /// The pfn the page table maps at `va` (for vmalloc_to_page of a kmap address).
    pub fn pte(&self, va: u64) -> Option<u64> {
        match self.slot(va)? {
            Slot::Mapped { pfn, .. } => Some(pfn),
            Slot::Unmapped { .. } => None,
        }
    }

    /// flush_all_zero_pkmaps().
    fn flush(&mut self) {
        for (nr, s) in self.slots.iter_mut().enumerate() {
            if s.count != 1 {
                continue;
            }
            s.count = 0;
            if let Some(pfn) = s.pfn.take() {
                let va = pkmap_addr(self.pkmap_base, nr as u64);
                // page->virtual = NULL for the page this slot mapped (one lookup).
                if let std::collections::hash_map::Entry::Occupied(e) = self.virt.entry(pfn) {
                    if *e.get() == va {
                        e.remove();
                    }
                }
            }
        }
    }

    /// map_new_virtual(): the slot Linux takes, or None when every slot is pinned.
    fn map_new_virtual(&mut self, pfn: u64) -> Option<u64> {
        let last = self.last_pkmap as u64;
        if last == 0 {
            return None;
        }
        let mut left = last;
        loop {
            self.last_nr = (self.last_nr + 1) & (last - 1);
            if self.last_nr == 0 {
                self.flush();
                left = last;
            }
            let nr = self.last_nr as usize;
            if nr >= self.slots.len() {
                let len = (nr + 1).max(self.slots.len() + SLOTS_CHUNK);
                self.slots
                    .resize(len.min(self.last_pkmap), PkmapSlot::default());
            }
            let s = self.slots.get_mut(nr)?;
            if s.count == 0 {
                *s = PkmapSlot {
                    count: 1,
                    pfn: Some(pfn),
                    used: true,
                };
                let va = self.pkmap_addr(nr as u64);
                // At most one page a slot has an address: room for them all at the first.
                if self.virt.capacity() == 0 {
                    self.virt.reserve(self.last_pkmap);
                }
                self.virt.insert(pfn, va);
                return Some(va);
            }
            left -= 1;
            if left == 0 {
                return None;
            }
        }
    }

    /// The pfn of a `struct page *` operand, or the oops reading it (the misuse is recorded).
    fn page(&self, j: &mut Judgement, f: &Facts, page: u64) -> Option<u64> {
        let pfn = f.pfn_of_page(page);
        if pfn.is_none() {
            j.misuse(
                M::Report(ReportKind::PageFault),
                Some(ReportKind::PageFault),
            );
        }
        pfn
    }

    fn kmap_misuse(j: &mut Judgement) {
        j.misuse(
            M::Report(ReportKind::KmapMisuse),
            Some(ReportKind::KmapMisuse),
        );
    }

    /// kmap(), kmap_atomic(), kmap_local_page(): returns the address it must give.
    pub fn map(
        &mut self,
        j: &mut Judgement,
        ctx: &mut CtxModel,
        f: &Facts,
        how: How,
        page: u64,
    ) -> u64 {
        match how {
            How::Kmap => ctx.might_sleep(j),
            How::Atomic => {
                for r in ctx.apply(CtxOp::PreemptDisable) {
                    j.misuse(M::Report(r), Some(r));
                }
            }
            How::Local => {}
        }
        let Some(pfn) = self.page(j, f, page) else {
            return 0;
        };
        if !f.is_highmem(pfn) {
            return f.lowmem_va(pfn);
        }
        match how {
            How::Kmap => {
                let va = match self.virt.get(&pfn) {
                    Some(&va) => va,
                    None => match self.map_new_virtual(pfn) {
                        Some(va) => va,
                        None => {
                            // Every slot pinned: Linux sleeps for ever (the model's hung task).
                            Self::kmap_misuse(j);
                            return 0;
                        }
                    },
                };
                if let Some(s) = self.pkmap_nr(va).and_then(|nr| self.slots.get_mut(nr)) {
                    s.count = s.count.saturating_add(1);
                }
                va
            }
            How::Atomic | How::Local => {
                let idx = self.stack.len() as u64;
                if idx >= KM_MAX_IDX {
                    Self::kmap_misuse(j);
                    return 0;
                }
                let va = self.local_addr(idx);
                self.stack.push((va, pfn));
                self.local_used[idx as usize] = true;
                va
            }
        }
    }

    /// kunmap().
    pub fn kunmap(&mut self, j: &mut Judgement, f: &Facts, page: u64) {
        let Some(pfn) = self.page(j, f, page) else {
            return;
        };
        if !f.is_highmem(pfn) {
            return;
        }
        let nr = self.virt.get(&pfn).and_then(|&va| self.pkmap_nr(va));
        match nr {
            Some(nr) if self.slots.get(nr).is_some_and(|s| s.count >= 2) => {
                self.slots[nr].count -= 1
            }
            // Not kmapped at all, or its last kmap already dropped: BUG.
            _ => Self::kmap_misuse(j),
        }
    }

    /// kunmap_atomic() (`atomic`) or kunmap_local() of `addr`.
    pub fn unmap_local(&mut self, j: &mut Judgement, ctx: &mut CtxModel, addr: u64, atomic: bool) {
        if self.i386 {
            let a = addr & !(PAGE_SIZE - 1);
            if self.in_kmap_fixmap(a) {
                match self.stack.last() {
                    None => Self::kmap_misuse(j),
                    Some(&(top, _)) => {
                        if top != a {
                            Self::kmap_misuse(j);
                        }
                        // The top slot goes, whichever address was passed.
                        self.stack.pop();
                    }
                }
            } else if addr < 0xC000_0000 {
                // WARN_ON_ONCE(addr < PAGE_OFFSET).
                Self::kmap_misuse(j);
            }
        }
        if atomic {
            for r in ctx.apply(CtxOp::PreemptEnable) {
                j.misuse(M::Report(r), Some(r));
            }
        }
    }

    /// Checks a kmap result.
    pub fn expect(j: &mut Judgement, what: &str, want: u64, out: &Outcome) {
        let got = out.value.unwrap_or(0);
        if got != want {
            j.fail(
                F::WrongTranslation,
                format!("{what} gave {got:#x}, expected {want:#x}"),
            );
        }
    }
}

/// The highmem family's statements: kmap, kmap_atomic, kmap_local_page and their unmaps.
impl Model {
    pub(crate) fn highmem_op(&mut self, j: &mut Judgement, op: &Op, env: &Env, out: &Outcome) {
        let ev = self.evaluator(env);
        match op {
            Op::Kmap { page } => self.kmap(j, How::Kmap, ev(page), out),
            Op::KmapAtomic { page } => self.kmap(j, How::Atomic, ev(page), out),
            Op::KmapLocalPage { page } => self.kmap(j, How::Local, ev(page), out),
            Op::Kunmap { page } => self.highmem.kunmap(j, &self.pages.facts, ev(page)),
            Op::KunmapAtomic { addr } => self.highmem.unmap_local(j, &mut self.ctx, ev(addr), true),
            Op::KunmapLocal { addr } => self.highmem.unmap_local(j, &mut self.ctx, ev(addr), false),
            _ => {}
        }
    }

    pub(super) fn kmap(&mut self, j: &mut Judgement, how: How, page: u64, out: &Outcome) {
        let want = self
            .highmem
            .map(j, &mut self.ctx, &self.pages.facts, how, page);
        let what = match how {
            How::Kmap => "kmap",
            How::Atomic => "kmap_atomic",
            How::Local => "kmap_local_page",
        };
        HighmemModel::expect(j, what, want, out);
    }
}
