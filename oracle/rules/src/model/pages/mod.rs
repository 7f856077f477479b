//! The page allocator's rules: live blocks, what freeing must report, translations and
//! client accesses. Where a block may come from and when an allocation may fail are in
//! `zones.rs`, the free pages' index in `free_space.rs`.

use kmem_vocab::gfp::*;
use kmem_vocab::{BootConfig, ReportKind};

use super::context::CtxModel;
use super::facts::{Facts, MAX_ORDER, PAGE_SHIFT, PAGE_SIZE};
use super::runs::RunSet;
use super::shadow::Shadow;

mod blocks;
mod buddyinfo;
mod free_space;
#[cfg(test)]
mod tests;
mod traffic;
mod zones;
use super::{FailureKind as F, Judgement, MisuseKind as M, Model};
use crate::outcome::{Env, Outcome};
use crate::scenario::Op;
pub use blocks::Blocks;
use free_space::FreeRuns;

const PAGE_POISON: u8 = 0xaa;

/// A live block from the page allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub order: u32,
    /// The scenario line that allocated it.
    pub line: u32,
    /// Pages handed to the client (false for pages the model only knows another allocator
    /// holds).
    pub client: bool,
}

/// A block's pages [start, end) and where they lie among the zones.
#[derive(Clone, Copy, Debug)]
struct Place {
    start: u64,
    end: u64,
    /// The zone of its first page.
    first: Option<usize>,
    /// The zone that holds all of it, when one does.
    whole: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct PageModel {
    pub facts: std::sync::Arc<Facts>,
    pub cfg: BootConfig,
    pub blocks: Blocks,
    /// Pages allocated in each zone.
    used: Vec<u64>,
    pub shadow: Shadow,
    /// Pages last filled by __GFP_ZERO and not written since.
    zeroed: RunSet,
    /// Pages the client freed (to tell a use after free from a wild access).
    freed: RunSet,
    /// The kernel's blocks the current statement's page events gave back, [start, end):
    /// a free judged after the events may be of an object in one (a slab the free emptied
    /// and discarded).
    given_back: Vec<(u64, u64)>,
    /// The boot rule's reserved ranges in order of their starts.
    reserved: Vec<(u64, u64)>,
    /// Each zone's pages that are neither reserved nor in a live block.
    free: Vec<FreeRuns>,
    /// Whether every page the buddy handed out is known here (always, while the machine
    /// reports its page traffic); the exact failure rule and /proc/buddyinfo depend on it.
    pub exact: bool,
}

impl PageModel {
    pub fn new(facts: Facts, cfg: BootConfig) -> PageModel {
        let n = facts.zones.len();
        let mut reserved = facts.reserved.clone();
        reserved.sort_unstable();
        let free = facts
            .zones
            .iter()
            .map(|z| FreeRuns::new(z.start, z.end, &reserved))
            .collect();
        PageModel {
            reserved,
            free,
            facts: std::sync::Arc::new(facts),
            cfg,
            blocks: Blocks::default(),
            used: vec![0; n],
            shadow: Shadow::default(),
            zeroed: RunSet::default(),
            freed: RunSet::default(),
            given_back: Vec::new(),
            exact: true,
        }
    }

    fn zone_free(&self, zi: usize) -> u64 {
        self.facts.zones[zi].managed.saturating_sub(self.used[zi])
    }

    /// The live block containing `pfn`: (head, block).
    pub fn block_of(&self, pfn: u64) -> Option<(u64, Block)> {
        self.blocks.block_of(pfn)
    }

    /// Whether `pfn` lay in one of the kernel's blocks until the current statement's page
    /// events gave it back.
    pub fn given_back_now(&self, pfn: u64) -> bool {
        self.given_back.iter().any(|&(s, e)| s <= pfn && pfn < e)
    }

    fn overlapping(&self, pfn: u64, n: u64) -> Option<(u64, Block)> {
        if let Some(x) = self.block_of(pfn) {
            return Some(x);
        }
        self.blocks.first_in(pfn, pfn + n)
    }

    /// The zone [s, e) lies in, when it lies in one.
    fn zone_of_range(&self, s: u64, e: u64) -> Option<usize> {
        self.place(s, e).whole
    }

    /// Where [s, e) lies among the zones, looked up once for all a block's checks.
    fn place(&self, s: u64, e: u64) -> Place {
        let first = self.facts.zone_index(s);
        Place {
            start: s,
            end: e,
            first,
            whole: first.filter(|&zi| e <= self.facts.zones[zi].end),
        }
    }

    /// Whether the block lies in one zone and every page of it is free: then it overlaps
    /// neither a live block nor memory reserved at boot, and its pages are taken from the
    /// free runs at once (the common case, one lookup). Otherwise nothing is taken: what of
    /// it was free is taken by `mark_busy` once the block is known to be recorded.
    fn take_if_free(&mut self, at: Place) -> bool {
        at.whole
            .is_some_and(|zi| self.free[zi].take_if_free(at.start, at.end))
    }

    /// The block's pages joined a live block: taken from the free runs of the zones they
    /// lie in.
    fn mark_busy(&mut self, at: Place) {
        let (s, e) = (at.start, at.end);
        if let Some(zi) = at.whole {
            self.free[zi].take(s, e);
            return;
        }
        for (zi, z) in self.facts.zones.iter().enumerate() {
            self.free[zi].take(s.max(z.start), e.min(z.end));
        }
    }

    /// The live block [s, e) is gone: its pages that are not reserved are free again.
    fn mark_free(&mut self, s: u64, e: u64) {
        for (zi, z) in self.facts.zones.iter().enumerate() {
            let (zs, ze) = (s.max(z.start), e.min(z.end));
            if zs >= ze {
                continue;
            }
            let mut cur = zs;
            for &(rs, re) in &self.reserved {
                if re <= cur {
                    continue;
                }
                if rs >= ze {
                    break;
                }
                if cur < rs {
                    self.free[zi].give(cur, rs);
                }
                cur = cur.max(re);
            }
            if cur < ze {
                self.free[zi].give(cur, ze);
            }
        }
    }

    /// Checks an allocation's result and records the block. `pfn` is None for NULL.
    pub fn allocated(
        &mut self,
        j: &mut Judgement,
        line: u32,
        gfp: Gfp,
        order: u32,
        pfn: Option<u64>,
        ctx: &CtxModel,
    ) {
        ctx.might_alloc(j, gfp);
        let highest = self.facts.highest_zone(gfp);
        let Some(pfn) = pfn else {
            self.failed(j, gfp, order);
            return;
        };
        if order > MAX_ORDER {
            j.fail(
                F::WrongValue,
                format!("an order-{order} allocation above MAX_PAGE_ORDER must fail"),
            );
            return;
        }
        let n = 1u64 << order;
        if pfn & (n - 1) != 0 {
            j.fail(
                F::Misaligned,
                format!("order-{order} block at pfn {pfn:#x} is not aligned to {n} pages"),
            );
        }
        let at = self.place(pfn, pfn + n);
        match at.whole {
            Some(a) => {
                if a > highest {
                    j.fail(
                        F::WrongZone,
                        format!(
                            "{} allows zones up to {}, the block at pfn {pfn:#x} is in {}",
                            format_gfp(gfp),
                            self.facts.zones[highest].kind.name(),
                            self.facts.zones[a].kind.name()
                        ),
                    );
                } else if self.exact && !self.watermark_ok(a, order, highest, gfp) {
                    j.fail(
                        F::Watermark,
                        format!(
                            "{} took an order-{order} block from {} with {} free pages, below its min watermark {} + reserve",
                            format_gfp(gfp),
                            self.facts.zones[a].kind.name(),
                            self.zone_free(a),
                            self.facts.zones[a].min
                        ),
                    );
                } else if let Some(want) = self
                    .first_zone(gfp, order)
                    .filter(|&z| self.exact && z != a)
                {
                    j.fail(
                        F::WrongZone,
                        format!(
                            "{} took an order-{order} block from {}; the zonelist's first zone with a free block above its watermark (low, then min) is {}",
                            format_gfp(gfp),
                            self.facts.zones[a].kind.name(),
                            self.facts.zones[want].kind.name()
                        ),
                    );
                }
            }
            _ => j.fail(
                F::WrongZone,
                format!("the block at pfn {pfn:#x} of order {order} is not inside one zone"),
            ),
        }
        let free = self.take_if_free(at);
        if !free && self.facts.any_reserved(pfn, pfn + n) {
            j.fail(
                F::Overlap,
                format!("the block at pfn {pfn:#x} overlaps memory reserved at boot"),
            );
        }
        if let Some((h, b)) = (!free).then(|| self.overlapping(pfn, n)).flatten() {
            j.fail(F::Overlap, format!("the block at pfn {pfn:#x} (order {order}) overlaps the live block at pfn {h:#x} (order {}) from line {}", b.order, b.line));
            return;
        }
        // One report per page whose poison was overwritten; the block's pages as one run.
        if self.cfg.page_poison {
            let bad = self.shadow.pages_not(pfn, n, PAGE_POISON);
            j.expect
                .extend((0..bad).map(|_| ReportKind::PagePoisonOverwritten));
        }
        if gfp & __GFP_ZERO != 0 {
            self.shadow.fill_pages(pfn, n, 0);
            self.zeroed.insert(pfn, pfn + n);
        } else if !self.cfg.page_poison {
            self.shadow.forget_pages(pfn, n);
        }
        self.freed.remove(pfn, pfn + n);
        if let Some(zi) = at.first {
            self.used[zi] += n;
        }
        if !free {
            self.mark_busy(at);
        }
        self.blocks.insert(
            pfn,
            Block {
                order,
                line,
                client: true,
            },
        );
    }

    /// Judges a free of the block at `pfn` with `order` (page pointer already resolved),
    /// in the order Linux's checks run; returns whether the free happens.
    pub fn free(&mut self, j: &mut Judgement, pfn: u64, order: u32) -> bool {
        let invalid = |j: &mut Judgement| {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            )
        };
        if pfn >= self.facts.max_pfn || order > MAX_ORDER || pfn & ((1 << order) - 1) != 0 {
            invalid(j);
            return false;
        }
        let block = self.block_of(pfn);
        match block {
            None if self.facts.is_reserved(pfn) => {
                j.misuse(
                    M::Report(ReportKind::BadPageState),
                    Some(ReportKind::BadPageState),
                );
                false
            }
            None => {
                j.misuse(
                    M::Report(ReportKind::DoubleFree),
                    Some(ReportKind::DoubleFree),
                );
                false
            }
            Some((h, b)) if h != pfn || b.order != order || !b.client => {
                invalid(j);
                false
            }
            Some(_) => {
                self.release(pfn, order);
                true
            }
        }
    }

    /// Drops a block the kernel has taken back.
    pub fn release(&mut self, pfn: u64, order: u32) {
        self.blocks.remove(pfn);
        self.unblock(pfn, 1u64 << order);
    }

    /// Pages [pfn, pfn + n), no longer in a live block, are free again.
    fn unblock(&mut self, pfn: u64, n: u64) {
        self.mark_free(pfn, pfn + n);
        if let Some(zi) = self.facts.zone_index(pfn) {
            self.used[zi] = self.used[zi].saturating_sub(n);
        }
        if self.cfg.page_poison {
            self.shadow.fill_pages(pfn, n, PAGE_POISON);
        } else {
            self.shadow.forget_pages(pfn, n);
        }
        self.zeroed.remove(pfn, pfn + n);
        self.freed.insert(pfn, pfn + n);
    }

    /// Is the direct-map page `pfn` mapped right now?
    pub fn direct_mapped(&self, pfn: u64) -> bool {
        pfn < self.facts.lowmem_end_pfn
            && (!self.cfg.debug_pagealloc
                || self.facts.is_reserved(pfn)
                || self.block_of(pfn).is_some())
    }

    /// DEBUG_VIRTUAL's VIRTUAL_BUG_ON conditions for __pa(x) (arch/x86/mm/physaddr.c).
    pub fn virtual_bug(&self, x: u64) -> bool {
        let f = &self.facts;
        match f.arch {
            kmem_vocab::Arch::I386 => {
                x < f.page_offset
                    || (x >= f.vmalloc_start && x < f.vmalloc_end)
                    || (f.word(x.wrapping_sub(f.page_offset)) >> PAGE_SHIFT) > f.lowmem_end_pfn
            }
            kmem_vocab::Arch::X86_64 => x < f.page_offset || x - f.page_offset >= 1 << 46,
        }
    }

    /// A translation of `addr` that is only valid on the direct map.
    pub fn translate_misuse(&self, j: &mut Judgement, addr: u64) {
        if !self.facts.is_lowmem_va(addr) {
            let report = (self.cfg.debug_virtual && self.virtual_bug(addr))
                .then_some(ReportKind::BadVirtToPhys);
            j.misuse(M::Report(ReportKind::BadVirtToPhys), report);
        }
    }

    /// Classifies a client access to the lowmem page `pfn` that lies outside any live
    /// client allocation.
    pub fn stray_kind(&self, pfn: u64) -> M {
        if self.freed.contains(pfn) {
            M::UseAfterFree
        } else {
            M::WildAccess
        }
    }

    /// Is the lowmem page `pfn` part of a live client allocation?
    pub fn owned(&self, pfn: u64) -> bool {
        self.block_of(pfn).is_some_and(|(_, b)| b.client)
    }

    /// Records a client write of `len` bytes of `byte` at physical `pa` (within one page).
    pub fn wrote(&mut self, pa: u64, len: usize, byte: u8) {
        let pfn = pa >> PAGE_SHIFT;
        if self.cfg.page_poison
            && self.block_of(pfn).is_none()
            && self.shadow.page_is(pfn, PAGE_POISON).is_none()
            && !self.facts.is_reserved(pfn)
        {
            // A free page under page poisoning holds 0xaa until written.
            self.shadow.fill_page(pfn, PAGE_POISON);
        }
        self.shadow.set(pa, len, byte);
        self.zeroed.remove(pfn, pfn + 1);
    }

    /// Checks bytes read at physical `pa` (within one page).
    pub fn check_read(&self, j: &mut Judgement, va: u64, pa: u64, got: &[u8]) {
        let pfn = pa >> PAGE_SHIFT;
        let mut cmp = self.shadow.check(pa, got);
        if cmp.is_none()
            && self.cfg.page_poison
            && self.block_of(pfn).is_none()
            && !self.facts.is_reserved(pfn)
            && self.shadow.page_is(pfn, PAGE_POISON).is_none()
        {
            // Never written since boot poisoned it.
            cmp = got
                .iter()
                .position(|&b| b != PAGE_POISON)
                .map(|i| super::shadow::Mismatch {
                    index: i,
                    expected: PAGE_POISON,
                    got: got[i],
                });
        }
        if let Some(m) = cmp {
            let kind = if m.expected == 0 && self.zeroed.contains(pfn) {
                F::NotZeroed
            } else {
                F::Content
            };
            j.fail(
                kind,
                format!(
                    "byte at {:#x} reads {:#04x}, expected {:#04x}",
                    va + m.index as u64,
                    m.got,
                    m.expected
                ),
            );
        }
    }

    pub fn page_size() -> u64 {
        PAGE_SIZE
    }
}

/// What vmalloc's judgement needs from the page model.
impl PageModel {
    /// The page `pfn` (just taken by another allocator) must read as zero until written.
    pub fn expect_zeroed(&mut self, pfn: u64) {
        self.shadow.fill_page(pfn, 0);
        self.zeroed.insert(pfn, pfn + 1);
    }
}

/// The page family's statements: alloc_pages, __get_free_pages and their frees.
impl Model {
    pub(crate) fn pages_op(
        &mut self,
        j: &mut Judgement,
        line: u32,
        op: &Op,
        env: &Env,
        out: &Outcome,
    ) {
        let ev = self.evaluator(env);
        match op {
            Op::AllocPages { gfp, order } => {
                let v = out.value.unwrap_or(0);
                let pfn = match v {
                    0 => None,
                    v => match self.facts().pfn_of_page(v) {
                        Some(p) => Some(p),
                        None => {
                            j.fail(
                                F::WrongValue,
                                format!("alloc_pages returned {v:#x}, which is no struct page"),
                            );
                            return;
                        }
                    },
                };
                self.pages.allocated(j, line, *gfp, *order, pfn, &self.ctx);
            }
            Op::GetFreePages { gfp, order } => self.get_free(j, line, *gfp, *order, out),
            Op::GetFreePage { gfp } => self.get_free(j, line, *gfp, 0, out),
            Op::GetZeroedPage { gfp } => self.get_free(j, line, *gfp | __GFP_ZERO, 0, out),
            Op::FreePagesPage { page, order } => match self.facts().pfn_of_page(ev(page)) {
                Some(pfn) => {
                    if !self.foreign_free(j, pfn) {
                        self.pages.free(j, pfn, *order);
                    }
                }
                None => j.misuse(
                    M::Report(ReportKind::InvalidFree),
                    Some(ReportKind::InvalidFree),
                ),
            },
            Op::FreePages { addr, order } => self.free_addr(j, ev(addr), *order),
            Op::FreePage { addr } => self.free_addr(j, ev(addr), 0),
            _ => {}
        }
    }

    fn get_free(&mut self, j: &mut Judgement, line: u32, gfp: Gfp, order: u32, out: &Outcome) {
        let v = out.value.unwrap_or(0);
        let gfp = gfp & !__GFP_HIGHMEM;
        let pfn = if v == 0 {
            None
        } else if !self.facts().is_lowmem_va(v) || !v.is_multiple_of(PAGE_SIZE) {
            j.fail(
                F::WrongValue,
                format!("__get_free_pages returned {v:#x}, not a page-aligned lowmem address"),
            );
            return;
        } else {
            Some((v - self.facts().page_offset) >> PAGE_SHIFT)
        };
        self.pages.allocated(j, line, gfp, order, pfn, &self.ctx);
    }

    fn free_addr(&mut self, j: &mut Judgement, addr: u64, order: u32) {
        if addr == 0 {
            return;
        }
        if !self.facts().virt_addr_valid(addr) || !addr.is_multiple_of(PAGE_SIZE) {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            );
            return;
        }
        let pfn = (addr - self.facts().page_offset) >> PAGE_SHIFT;
        if !self.facts().is_lowmem_va(addr) {
            // i386: a valid address past the direct map. virt_to_page() takes it for the
            // page at addr - PAGE_OFFSET, a highmem page nobody meant (DEBUG_VIRTUAL: a BUG
            // in __pa() instead), and __free_pages() drops a reference on that page.
            if self.pages.cfg.debug_virtual {
                j.misuse(
                    M::Report(ReportKind::BadVirtToPhys),
                    Some(ReportKind::BadVirtToPhys),
                );
                return;
            }
            j.misuse(M::Report(ReportKind::InvalidFree), None);
        }
        if !self.foreign_free(j, pfn) {
            self.pages.free(j, pfn, order);
        }
    }

    /// A client free of a page another allocator (vmalloc, the slab, a mempool) holds now:
    /// the page allocator cannot tell it from a free of the client's own page (both are a
    /// reference dropped), so it frees the page under that allocator's feet, unreported,
    /// and what follows is no longer predictable (taint). Except a slab's first page: it
    /// carries PG_slab, which is in PAGE_FLAGS_CHECK_AT_FREE in Linux 6.6, so
    /// free_page_is_bad() reports "Bad page state" (kmem's kind for it: invalid-free) and
    /// the page stays with the slab. (Linux would first stop at VM_BUG_ON_PAGE() for a
    /// multi-page slab freed with an order other than its own; kmem reports PG_slab there
    /// too, a simplification.)
    fn foreign_free(&mut self, j: &mut Judgement, pfn: u64) -> bool {
        match self.pages.block_of(pfn) {
            Some((head, b)) if !b.client => {
                let m = M::Report(ReportKind::InvalidFree);
                if head == pfn && self.slab.slabs.contains_key(&pfn) {
                    // Judged in full, the report required; the slab's page has lost its
                    // reference, so the taint starts with the next statement.
                    j.misuse(m, Some(ReportKind::InvalidFree));
                    self.slab.taint_next = true;
                } else {
                    j.misuse.push(m);
                    self.tainted = true;
                }
                true
            }
            _ => false,
        }
    }
}
