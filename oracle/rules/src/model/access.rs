//! The client's accesses (`write`, `read`): which bytes of a range are the client's to touch,
//! which misuse an access outside them is, whether it must fault, and what a read must
//! return. Slab and large kmalloc memory is judged by the slab rules (`slab/access.rs`);
//! every other range page by page, through the oracle's own page tables (`translate.rs`).

use kmem_vocab::ReportKind;

use super::facts::{PAGE_SHIFT, PAGE_SIZE};
use super::{FailureKind as F, Judgement, MisuseKind as M, Model};
use crate::outcome::{Env, Outcome, MAX_ACCESS};
use crate::scenario::Op;

/// The access family's statements.
impl Model {
    pub(crate) fn access_op(&mut self, j: &mut Judgement, op: &Op, env: &Env, out: &Outcome) {
        let ev = self.evaluator(env);
        match op {
            Op::Write { addr, len, byte } => {
                self.access(j, ev(addr), (*len).min(MAX_ACCESS), Some(*byte), out)
            }
            Op::Read { addr, len } => self.access(j, ev(addr), (*len).min(MAX_ACCESS), None, out),
            _ => {}
        }
    }

    /// A client `write` (`byte` is Some) or `read` of [va, va+len).
    fn access(&mut self, j: &mut Judgement, va: u64, len: u64, byte: Option<u8>, out: &Outcome) {
        if len == 0 {
            return;
        }
        // The pages of the range: (va, physical address if mapped, bytes).
        let mut chunks: Vec<(u64, Option<u64>, usize)> = vec![];
        let mut misuse: Option<M> = None;
        let mut first_owned = None;
        // The page allocator block the range starts in, for a range in the direct map: a
        // range that runs on into another block is out of bounds even when the client holds
        // that one too.
        let mut first_block = None;
        let end = va as u128 + len as u128;
        let mut cur = va as u128;
        while cur < end {
            let n = ((PAGE_SIZE as u128) - (cur % PAGE_SIZE as u128)).min(end - cur) as usize;
            let a = cur as u64;
            let (pa, owned, kind) =
                if cur > u64::MAX as u128 || (self.i386() && cur > u32::MAX as u128) {
                    (None, false, M::WildAccess)
                } else if self.facts().is_lowmem_va(a) {
                    let pfn = (a - self.facts().page_offset) >> PAGE_SHIFT;
                    let pa = self
                        .pages
                        .direct_mapped(pfn)
                        .then_some(a - self.facts().page_offset);
                    let block = self.pages.block_of(pfn).map(|(h, _)| h);
                    let first = *first_block.get_or_insert(block);
                    let owned = self.pages.owned(pfn) && (block == first || first.is_none());
                    // The misuse if the page is not the client's (looked up only then): a
                    // page element the client gave back to its pool, in the reserve now, is
                    // a use after free.
                    let kind = if owned {
                        M::OutOfBounds
                    } else if self
                        .slab
                        .reserve_page_element(&self.pages.facts, pfn)
                        .is_some()
                    {
                        M::UseAfterFree
                    } else {
                        self.pages.stray_kind(pfn)
                    };
                    (pa, owned, kind)
                } else {
                    super::translate::classify(
                        self.facts(),
                        &self.pages,
                        &self.vmalloc,
                        &self.highmem,
                        a,
                        n as u64,
                    )
                    .unwrap_or((None, false, M::WildAccess))
                };
            if first_owned.is_none() {
                first_owned = Some(owned);
            }
            if !owned && misuse.is_none() {
                misuse = Some(if first_owned == Some(true) {
                    M::OutOfBounds
                } else {
                    kind
                });
            }
            chunks.push((a, pa, n));
            cur += n as u128;
        }
        let faults = chunks.iter().any(|c| c.1.is_none());
        if !faults && self.slab.touches(&self.pages, va, len) {
            let ok = if byte.is_some() {
                out.wrote
            } else {
                out.read.is_some()
            };
            if !ok {
                j.fail(
                    F::Fault,
                    format!("access to mapped memory at {va:#x} (+{len}) faulted"),
                );
                return;
            }
            let read = out.read.as_deref();
            self.slab.access(j, &mut self.pages, va, len, byte, read);
            return;
        }
        if let Some(m) = misuse {
            j.misuse.push(m);
        }
        let ok = if byte.is_some() {
            out.wrote
        } else {
            out.read.is_some()
        };
        if faults {
            j.expect.push(ReportKind::PageFault);
            if ok {
                let (a, _, _) = chunks
                    .iter()
                    .find(|c| c.1.is_none())
                    .copied()
                    .unwrap_or((va, None, 0));
                j.fail(
                    F::Fault,
                    format!("access to {a:#x}, which must not be mapped, did not fault"),
                );
            }
            return;
        }
        if !ok {
            j.fail(
                F::Fault,
                format!("access to mapped memory at {va:#x} (+{len}) faulted"),
            );
            return;
        }
        if let Some(b) = byte {
            // A write into a page-pool element in its pool's reserve, followed; else through
            // another mapping (vmap, kmap) of a page the slab allocator holds now.
            for c in &chunks {
                if let Some(pa) = c.1 {
                    let pfn = pa >> PAGE_SHIFT;
                    let reserved = (!self.pages.owned(pfn))
                        .then(|| self.slab.reserve_page_element(&self.pages.facts, pfn))
                        .flatten();
                    if let Some(e) = reserved {
                        let facts = &self.pages.facts;
                        self.slab.reserve_page_write(facts, e, pa, c.2 as u64, b);
                        continue;
                    }
                    let vmalloc = &self.vmalloc;
                    self.slab
                        .alias_write(&self.pages, pfn, || vmalloc.holds(pfn));
                }
            }
        }
        let mut off = 0usize;
        for (a, pa, n) in chunks {
            let pa = pa.unwrap_or(0);
            match byte {
                Some(b) => self.pages.wrote(pa, n, b),
                None => {
                    if let Some(bytes) = out.read.as_ref().and_then(|r| r.get(off..off + n)) {
                        self.pages.check_read(j, a, pa, bytes);
                    }
                }
            }
            off += n;
        }
    }
}
