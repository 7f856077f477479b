//! vfree and vunmap judged: what they must report, which pages must come back, and
//! vfree() from interrupt context, deferred to the next call where the worker can run.

use kmem_vocab::ReportKind;

use super::{AreaKind, VmallocModel};
use crate::model::context::CtxModel;
use crate::model::facts::PAGE_SIZE;
use crate::model::{FailureKind as F, Judgement, MisuseKind as M, Model};

impl VmallocModel {
    /// Where the queued vfree() of `addr` must write its llist node, and what: the address
    /// queued before it, or 0.
    pub fn llist_next(&self) -> u64 {
        self.deferred.last().copied().unwrap_or(0)
    }

    /// vfree() from interrupt context of `addr`, after the node was written (`mapped`:
    /// the write did not fault).
    pub fn queue(&mut self, addr: u64) {
        if let Some(a) = self.areas.get_mut(&addr) {
            a.queued = true;
        }
        self.deferred.push(addr);
    }

    /// Runs the deferred frees, newest first, as delayed_vfree_work() does.
    fn flush(&mut self, j: &mut Judgement, frees: &mut Vec<u64>) {
        let q = std::mem::take(&mut self.deferred);
        for &a in q.iter().rev() {
            self.vfree_process(j, a, frees);
        }
    }

    pub(crate) fn flush_if(&mut self, j: &mut Judgement, ctx: &CtxModel, frees: &mut Vec<u64>) {
        if ctx.may_sleep() {
            self.flush(j, frees);
        }
    }

    /// Removes the area at exactly `addr`; the pages it must give back go to `frees`.
    fn remove(&mut self, addr: u64, free_pages: bool, frees: &mut Vec<u64>) -> bool {
        let Some(a) = self.areas.remove(&addr) else {
            return false;
        };
        if free_pages && a.kind == AreaKind::Vmalloc {
            frees.extend(&a.pfns);
            frees.extend(&a.array);
        }
        // vunmap() of a vmalloc area leaks its pages and its page array (area and all), as
        // in Linux: only the area's own range comes back.
        let arrays: &[(u64, u64)] = if free_pages { &a.array_areas } else { &[] };
        self.give_ranges(addr, a.end(addr), arrays);
        self.freed.insert(addr, a.end(addr));
        true
    }

    fn unknown_free(&mut self, j: &mut Judgement, addr: u64, free_pages: bool) {
        let owner = self
            .areas
            .values()
            .find(|a| a.array_areas.iter().any(|&(s, _)| s == addr));
        let array = owner.is_some();
        if let Some(a) = owner.filter(|_| free_pages) {
            // vfree() frees the pages of that level of the array; which of the owner's array
            // pages those are is not followed: any of them may come back.
            self.loose_frees = a.array.clone();
        }
        // Inside a live page array's area (not at its start): an area is found there, so
        // the address is not a stale handle's but an invalid one, as for any other area.
        let in_array = self
            .areas
            .values()
            .any(|a| a.array_areas.iter().any(|&(s, e)| s <= addr && addr < e));
        let stale = self.freed.contains_key(&addr) && self.find(addr).is_none() && !in_array;
        if array || (stale && self.hidden_areas()) {
            // The address is (or, where the oracle does not place page arrays, may be) a
            // live vmalloc's page array now, a stale handle whose range the array took:
            // Linux finds that area and takes it away without a word, and the owner's later
            // vfree() reads a page array that is gone.
            j.misuse(M::Report(ReportKind::DoubleFree), None);
            if !array {
                // Or it lies inside such an array's area: an invalid free then.
                j.allow
                    .extend([ReportKind::DoubleFree, ReportKind::InvalidFree]);
            }
            self.taint_next = true;
            return;
        }
        let kind = if stale {
            ReportKind::DoubleFree
        } else {
            ReportKind::InvalidFree
        };
        j.misuse(M::Report(kind), Some(kind));
    }

    /// vfree() in process context, after its might_sleep().
    fn vfree_process(&mut self, j: &mut Judgement, addr: u64, frees: &mut Vec<u64>) {
        if addr == 0 {
            return;
        }
        if !addr.is_multiple_of(PAGE_SIZE) {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            );
            return;
        }
        if !self.remove(addr, true, frees) {
            self.unknown_free(j, addr, true);
        }
    }
    /// vfree() in process context (the interrupt-context path is the caller's: it must write
    /// through the MMU first).
    pub fn vfree(&mut self, j: &mut Judgement, ctx: &CtxModel, addr: u64) -> Vec<u64> {
        let mut frees = vec![];
        ctx.might_sleep(j);
        self.flush_if(j, ctx, &mut frees);
        self.vfree_process(j, addr, &mut frees);
        frees
    }

    /// vunmap().
    pub fn vunmap(&mut self, j: &mut Judgement, ctx: &CtxModel, addr: u64) -> Vec<u64> {
        let mut frees = vec![];
        // BUG_ON(in_interrupt()), reported as the sleeping check is.
        if ctx.in_interrupt() {
            ctx.might_sleep(j);
            return frees;
        }
        ctx.might_sleep(j);
        self.flush_if(j, ctx, &mut frees);
        if addr == 0 {
            return frees;
        }
        if !addr.is_multiple_of(PAGE_SIZE) {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            );
        } else if !self.remove(addr, false, &mut frees) {
            self.unknown_free(j, addr, false);
        }
        frees
    }
}

/// vfree() from interrupt context.
impl Model {
    /// vfree() from interrupt context: vfree_atomic() writes its llist node into the first
    /// word of `addr` through the MMU (an oops when that is unmapped), then queues it.
    pub(crate) fn vfree_atomic(&mut self, j: &mut Judgement, addr: u64) {
        if addr == 0 {
            return;
        }
        let width = if self.i386() { 4 } else { 8 };
        let next = self.vmalloc.llist_next().to_le_bytes();
        let mut pas = Vec::with_capacity(width);
        for i in 0..width as u64 {
            let va = self.facts().word(addr.wrapping_add(i));
            let pa = (va >= addr || !self.i386())
                .then(|| {
                    crate::model::translate::translate(
                        &self.pages,
                        &self.vmalloc,
                        &self.highmem,
                        va,
                    )
                })
                .flatten();
            match pa {
                Some(pa) => pas.push(pa),
                None => {
                    j.misuse(
                        M::Report(ReportKind::PageFault),
                        Some(ReportKind::PageFault),
                    );
                    return;
                }
            }
        }
        for (i, pa) in pas.into_iter().enumerate() {
            self.pages.wrote(pa, 1, next[i]);
        }
        self.vmalloc.queue(addr);
    }
}

/// The pages a call gave back must be exactly those of the areas it freed.
pub fn check_frees(j: &mut Judgement, what: &str, want: &[u64], got: &[u64]) {
    let mut want = want.to_vec();
    let mut got = got.to_vec();
    want.sort_unstable();
    got.sort_unstable();
    if want != got {
        let extra: Vec<String> = got
            .iter()
            .filter(|p| !want.contains(p))
            .take(4)
            .map(|p| format!("{p:#x}"))
            .collect();
        let missing: Vec<String> = want
            .iter()
            .filter(|p| !got.contains(p))
            .take(4)
            .map(|p| format!("{p:#x}"))
            .collect();
        j.fail(
            F::WrongValue,
            format!(
                "{what} gave back {} pages, the areas it freed held {} (not expected: [{}]; missing: [{}])",
                got.len(),
                want.len(),
                extra.join(", "),
                missing.join(", ")
            ),
        );
    }
}
