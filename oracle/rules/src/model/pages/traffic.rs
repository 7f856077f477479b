//! The page allocator traffic of the other allocators (slab, kmalloc, vmalloc, mempool): the
//! mm_page_alloc / mm_page_free events a statement caused, checked against the free pages
//! and recorded. A vmalloc area takes its pages one at a time and mostly in a row, so a run
//! of single pages with consecutive pfns is checked and recorded as one range when every
//! page of it passes; otherwise its events are judged one by one, with the same verdict.

use kmem_vocab::{PageEvent, ReportKind};

use super::{Block, PageModel, PAGE_POISON};
use crate::model::{FailureKind as F, Judgement};

/// How many events from the first are single pages of one kind (all taken or all given
/// back) at consecutive pfns.
fn run_len(events: &[PageEvent]) -> usize {
    let key = |e: &PageEvent| match *e {
        PageEvent::Alloc { pfn, order: 0 } => Some((true, pfn)),
        PageEvent::Free { pfn, order: 0 } => Some((false, pfn)),
        _ => None,
    };
    let Some((kind, first)) = events.first().and_then(key) else {
        return 1;
    };
    1 + events[1..]
        .iter()
        .zip(1u64..)
        .take_while(|(e, i)| key(e) == Some((kind, first.wrapping_add(*i))))
        .count()
}

impl PageModel {
    /// Judges a statement's page events in order.
    pub fn observe_all(&mut self, j: &mut Judgement, line: u32, events: &[PageEvent]) {
        self.given_back.clear();
        let mut rest = events;
        while let Some(first) = rest.first() {
            let n = run_len(rest);
            let whole = n > 1
                && match *first {
                    PageEvent::Alloc { pfn, .. } => self.took_run(j, line, pfn, n as u64),
                    PageEvent::Free { pfn, .. } => self.gave_back_run(pfn, n as u64),
                };
            if !whole {
                for ev in &rest[..n] {
                    self.observe(j, line, ev);
                }
            }
            rest = &rest[n..];
        }
    }

    /// Single pages [pfn, pfn + n) taken one after another, when all of them were free in
    /// one zone: what `observe` does for each, done once for the range. False (and nothing
    /// recorded) otherwise.
    fn took_run(&mut self, j: &mut Judgement, line: u32, pfn: u64, n: u64) -> bool {
        let Some(zi) = self.zone_of_range(pfn, pfn + n) else {
            return false;
        };
        if !self.free[zi].contains(pfn, pfn + n) {
            return false;
        }
        self.used[zi] += n;
        if self.cfg.page_poison {
            let bad = self.shadow.pages_not(pfn, n, PAGE_POISON);
            j.expect
                .extend((0..bad).map(|_| ReportKind::PagePoisonOverwritten));
        }
        self.shadow.forget_pages(pfn, n);
        self.freed.remove(pfn, pfn + n);
        self.free[zi].take(pfn, pfn + n);
        let block = Block {
            order: 0,
            line,
            client: false,
        };
        self.blocks.insert_run(pfn, n, block);
        true
    }

    /// Single pages [pfn, pfn + n) given back one after another, when each is a live
    /// order-0 block the kernel (not the client) holds: `release` of each, done once for the
    /// range. False (and nothing changed) otherwise.
    fn gave_back_run(&mut self, pfn: u64, n: u64) -> bool {
        // `unblock` counts the pages off the first page's zone.
        if self.zone_of_range(pfn, pfn + n).is_none() {
            return false;
        }
        if !self.blocks.remove_kernel_pages(pfn, pfn + n) {
            return false;
        }
        self.given_back.push((pfn, pfn + n));
        self.unblock(pfn, n);
        true
    }

    /// Checks and records page allocator traffic the client did not ask for directly: the
    /// pages slab, kmalloc, vmalloc and mempool take and give back. The model cannot say
    /// which pages they will take, but every page they take must have been free, and every
    /// page they give back must be one they took; then the free-page set stays exact.
    pub fn observe(&mut self, j: &mut Judgement, line: u32, ev: &kmem_vocab::PageEvent) {
        match *ev {
            kmem_vocab::PageEvent::Alloc { pfn, order } => {
                let n = 1u64 << order;
                let at = self.place(pfn, pfn + n);
                if !pfn.is_multiple_of(n) || at.whole.is_none() {
                    j.fail(F::Misaligned, format!("the page allocator handed out pfn {pfn:#x} with order {order}"));
                }
                let free = self.take_if_free(at);
                if !free && self.facts.any_reserved(pfn, pfn + n) {
                    j.fail(F::Overlap, format!("pages at pfn {pfn:#x} (order {order}) were taken from memory reserved at boot"));
                }
                if let Some((h, b)) = (!free).then(|| self.overlapping(pfn, n)).flatten() {
                    j.fail(F::Overlap, format!("pages at pfn {pfn:#x} (order {order}) were taken while the block at pfn {h:#x} (order {}) from line {} is live", b.order, b.line));
                    return;
                }
                if let Some(zi) = at.first {
                    self.used[zi] += n;
                }
                // Page poisoning checks every page it hands out, to any allocator.
                if self.cfg.page_poison {
                    let bad = self.shadow.pages_not(pfn, n, PAGE_POISON);
                    j.expect.extend((0..bad).map(|_| ReportKind::PagePoisonOverwritten));
                }
                self.shadow.forget_pages(pfn, n);
                self.freed.remove(pfn, pfn + n);
                if !free {
                    self.mark_busy(at);
                }
                self.blocks.insert(pfn, Block { order, line, client: false });
            }
            kmem_vocab::PageEvent::Free { pfn, order } => match self.blocks.get(pfn) {
                Some(b) if b.order == order && !b.client => {
                    self.given_back.push((pfn, pfn + (1u64 << order)));
                    self.release(pfn, order)
                }
                Some(b) if b.order == order => {
                    j.fail(F::Overlap, format!("the kernel freed pfn {pfn:#x}, which the client holds since line {}", b.line));
                    self.release(pfn, order);
                }
                _ => j.fail(F::WrongValue, format!("the kernel freed pfn {pfn:#x} with order {order}, which no allocator holds with that order")),
            },
        }
    }
}
