//! The model's judgement of one statement, given what the machine did.

use kmem_vocab::gfp::*;
use kmem_vocab::ReportKind;

use super::context::{CtxModel, CtxOp};
use super::facts::{Facts, MAX_ORDER, PAGE_SHIFT, PAGE_SIZE};
use super::highmem::{HighmemModel, How};
use super::pages::PageModel;
use super::slab::SlabModel;
use super::vmalloc::{VmallocCall, VmallocModel};
use super::{FailureKind as F, Judgement, MisuseKind as M};
use crate::outcome::{Env, Outcome, MAX_ACCESS};
use crate::scenario::{Op, Operand};

#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) pages: PageModel,
    pub(crate) ctx: CtxModel,
    pub(crate) vmalloc: VmallocModel,
    pub(crate) highmem: HighmemModel,
    pub(crate) slab: SlabModel,
    /// Set once a misuse has made the kernel's state unpredictable (docs/design.md, "Taint").
    pub(crate) tainted: bool,
}

impl Model {
    pub fn new(facts: Facts, cfg: kmem_vocab::BootConfig) -> Model {
        Model {
            highmem: HighmemModel::new(&facts),
            vmalloc: VmallocModel::default(),
            slab: SlabModel::new(&facts, &cfg),
            pages: PageModel::new(facts, cfg),
            ctx: CtxModel::default(),
            tainted: false,
        }
    }

    fn facts(&self) -> &Facts {
        &self.pages.facts
    }

    fn step(&mut self, line: u32, op: &Op, env: &Env, out: &Outcome) -> Judgement {
        let i386 = self.facts().arch == kmem_vocab::Arch::I386;
        let ev = |o: &Operand| env.eval(o, i386);
        let mut j = Judgement::default();
        if std::mem::take(&mut self.slab.taint_next) {
            self.tainted = true;
        }
        self.slab_before_events(op, env);
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
                            return j;
                        }
                    },
                };
                self.pages
                    .allocated(&mut j, line, *gfp, *order, pfn, &self.ctx);
            }
            Op::GetFreePages { gfp, order } => self.get_free(&mut j, line, *gfp, *order, out),
            Op::GetFreePage { gfp } => self.get_free(&mut j, line, *gfp, 0, out),
            Op::GetZeroedPage { gfp } => self.get_free(&mut j, line, *gfp | __GFP_ZERO, 0, out),
            Op::FreePagesPage { page, order } => match self.facts().pfn_of_page(ev(page)) {
                Some(pfn) => {
                    if !self.foreign_free(&mut j, pfn) {
                        self.pages.free(&mut j, pfn, *order);
                    }
                }
                None => j.misuse(
                    M::Report(ReportKind::InvalidFree),
                    Some(ReportKind::InvalidFree),
                ),
            },
            Op::FreePages { addr, order } => self.free_addr(&mut j, ev(addr), *order),
            Op::FreePage { addr } => self.free_addr(&mut j, ev(addr), 0),
            Op::PageAddress { page } => {
                if let Some(pfn) = self.facts().pfn_of_page(ev(page)) {
                    let want = if self.facts().is_highmem(pfn) {
                        self.highmem.page_virtual(pfn).unwrap_or(0)
                    } else {
                        self.facts().lowmem_va(pfn)
                    };
                    self.expect_value(&mut j, "page_address", want, out);
                }
            }
            Op::VirtToPage { addr } => {
                let a = ev(addr);
                self.pages.translate_misuse(&mut j, a);
                if self.facts().is_lowmem_va(a) {
                    let want = self
                        .facts()
                        .page_ptr((a - self.facts().page_offset) >> PAGE_SHIFT);
                    self.expect_value(&mut j, "virt_to_page", want, out);
                }
            }
            Op::PageToPhys { page } => {
                if let Some(pfn) = self.facts().pfn_of_page(ev(page)) {
                    self.expect_value(&mut j, "page_to_phys", pfn << PAGE_SHIFT, out);
                }
            }
            Op::VirtToPhys { addr } => {
                let a = ev(addr);
                self.pages.translate_misuse(&mut j, a);
                let want = self.facts().word(a.wrapping_sub(self.facts().page_offset));
                self.expect_value(&mut j, "virt_to_phys", want, out);
            }
            Op::PhysToVirt { phys } => {
                let want = self
                    .facts()
                    .word(ev(phys).wrapping_add(self.facts().page_offset));
                self.expect_value(&mut j, "phys_to_virt", want, out);
            }
            Op::SpinLock => self.ctx_op(&mut j, CtxOp::SpinLock),
            Op::SpinUnlock => self.ctx_op(&mut j, CtxOp::SpinUnlock),
            Op::LocalIrqDisable => self.ctx_op(&mut j, CtxOp::LocalIrqDisable),
            Op::LocalIrqEnable => self.ctx_op(&mut j, CtxOp::LocalIrqEnable),
            Op::IrqEnter => self.ctx_op(&mut j, CtxOp::IrqEnter),
            Op::IrqExit => self.ctx_op(&mut j, CtxOp::IrqExit),
            Op::LocalBhDisable => self.ctx_op(&mut j, CtxOp::LocalBhDisable),
            Op::LocalBhEnable => self.ctx_op(&mut j, CtxOp::LocalBhEnable),
            Op::PreemptDisable => self.ctx_op(&mut j, CtxOp::PreemptDisable),
            Op::PreemptEnable => self.ctx_op(&mut j, CtxOp::PreemptEnable),
            Op::Kmap { page } => self.kmap(&mut j, How::Kmap, ev(page), out),
            Op::KmapAtomic { page } => self.kmap(&mut j, How::Atomic, ev(page), out),
            Op::KmapLocalPage { page } => self.kmap(&mut j, How::Local, ev(page), out),
            Op::Kunmap { page } => {
                let f = self.pages.facts.clone();
                self.highmem.kunmap(&mut j, &f, ev(page));
            }
            Op::KunmapAtomic { addr } => {
                self.highmem
                    .unmap_local(&mut j, &mut self.ctx, ev(addr), true)
            }
            Op::KunmapLocal { addr } => {
                self.highmem
                    .unmap_local(&mut j, &mut self.ctx, ev(addr), false)
            }
            Op::IsVmallocAddr { addr } => {
                let a = ev(addr);
                let f = self.facts();
                let want = u64::from(a >= f.vmalloc_start && a < f.vmalloc_end);
                self.expect_value(&mut j, "is_vmalloc_addr", want, out);
            }
            Op::VmallocToPage { addr } => self.vmalloc_to_page(&mut j, ev(addr), out),
            Op::Write { addr, len, byte } => {
                self.access(&mut j, ev(addr), (*len).min(MAX_ACCESS), Some(*byte), out)
            }
            Op::Read { addr, len } => {
                self.access(&mut j, ev(addr), (*len).min(MAX_ACCESS), None, out)
            }
            _ => {}
        }
        j
    }

    /// Judges one statement in one call: what it did on the machine (`out`) and the page
    /// allocator traffic it caused (`events`, the mm_page_alloc / mm_page_free tracepoints in
    /// order). The checker knows nothing else of the model's protocol.
    pub fn judge(
        &mut self,
        line: u32,
        op: &Op,
        env: &Env,
        out: &Outcome,
        events: &[kmem_vocab::PageEvent],
    ) -> Judgement {
        let mut j = self.step(line, op, env, out);
        // The page family's own traffic is judged by `step`; every other family's arrives
        // here as events (a slab growing, a vmalloc area's pages, a mempool's reserve).
        if op.family() != crate::scenario::Family::Pages {
            for ev in events {
                self.pages.observe(&mut j, line, ev);
            }
        }
        self.settle(&mut j, line, op, env, out, events);
        j
    }

    /// What /proc/buddyinfo must show now, zone by zone, when the model knows every free page
    /// exactly (None once it does not).
    pub fn expected_buddyinfo(&self) -> Option<Vec<[u64; (MAX_ORDER + 1) as usize]>> {
        self.pages.exact.then(|| self.pages.expected_buddyinfo())
    }

    /// Whether the run is tainted: after a misuse whose effect cannot be predicted, only a
    /// panic is judged (docs/design.md, "Taint").
    pub fn tainted(&self) -> bool {
        self.tainted
    }

    /// Taints the run: the kernel printed a report the model allowed but could not pin down,
    /// so its state is no longer predicted.
    pub fn taint(&mut self) {
        self.tainted = true;
    }

    /// The name of zone `zi` as /proc/buddyinfo prints it.
    pub fn zone_name(&self, zi: usize) -> &'static str {
        self.facts().zones[zi].kind.name()
    }

    /// The second half of a statement's judgement, once the page allocator traffic it
    /// caused has been observed: the vmalloc family, whose pages arrive as events.
    fn settle(
        &mut self,
        j: &mut Judgement,
        line: u32,
        op: &Op,
        env: &Env,
        out: &Outcome,
        events: &[kmem_vocab::PageEvent],
    ) {
        if self.slab_settle(j, op, env, out, events) {
            return;
        }
        let i386 = self.facts().arch == kmem_vocab::Arch::I386;
        let ev = |o: &Operand| env.eval(o, i386);
        let frees = match op {
            Op::Vmalloc { .. }
            | Op::Vzalloc { .. }
            | Op::Vmalloc32 { .. }
            | Op::VmallocNode { .. } => {
                let Some(call) = vmalloc_call(op) else { return };
                let (ctx, pages) = (&self.ctx, &mut self.pages);
                self.vmalloc.vmalloc(j, ctx, pages, line, call, out, events);
                return;
            }
            Op::Vmap { pages } => {
                let ptrs: Vec<u64> = pages.iter().map(ev).collect();
                self.vmalloc
                    .vmap(j, &self.ctx, &self.pages, line, &ptrs, out, events);
                return;
            }
            Op::Vfree { addr } if self.ctx.in_interrupt() => {
                self.vfree_atomic(j, ev(addr));
                vec![]
            }
            Op::Vfree { addr } => self.vmalloc.vfree(j, &self.ctx, ev(addr)),
            Op::Vunmap { addr } => self.vmalloc.vunmap(j, &self.ctx, ev(addr)),
            _ => return,
        };
        let got: Vec<u64> = events
            .iter()
            .filter_map(|e| match *e {
                kmem_vocab::PageEvent::Free { pfn, .. } => Some(pfn),
                kmem_vocab::PageEvent::Alloc { .. } => None,
            })
            .collect();
        super::vmalloc::check_frees(j, op.name(), &frees, &got);
    }

    /// vfree() from interrupt context: vfree_atomic() writes its llist node into the first
    /// word of `addr` through the MMU (an oops when that is unmapped), then queues it.
    fn vfree_atomic(&mut self, j: &mut Judgement, addr: u64) {
        if addr == 0 {
            return;
        }
        let width = if i386(self) { 4 } else { 8 };
        let next = self.vmalloc.llist_next().to_le_bytes();
        let mut pas = Vec::with_capacity(width);
        for i in 0..width as u64 {
            let va = self.facts().word(addr.wrapping_add(i));
            let pa = (va >= addr || !i386(self))
                .then(|| super::translate::translate(&self.pages, &self.vmalloc, &self.highmem, va))
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

    fn kmap(&mut self, j: &mut Judgement, how: How, page: u64, out: &Outcome) {
        let f = self.pages.facts.clone();
        let want = self.highmem.map(j, &mut self.ctx, &f, how, page);
        let what = match how {
            How::Kmap => "kmap",
            How::Atomic => "kmap_atomic",
            How::Local => "kmap_local_page",
        };
        HighmemModel::expect(j, what, want, out);
    }

    /// vmalloc_to_page(): the page the kernel page table maps there, exactly.
    fn vmalloc_to_page(&mut self, j: &mut Judgement, a: u64, out: &Outcome) {
        let f = self.facts();
        if !(a >= f.vmalloc_start && a < f.vmalloc_end) {
            let report = self
                .pages
                .cfg
                .debug_virtual
                .then_some(ReportKind::BadVirtToPhys);
            j.misuse(M::Report(ReportKind::BadVirtToPhys), report);
        }
        let want = if f.is_lowmem_va(a) {
            0
        } else {
            super::translate::pte(&self.vmalloc, &self.highmem, a).map_or(0, |p| f.page_ptr(p))
        };
        self.expect_value(j, "vmalloc_to_page", want, out);
    }

    fn ctx_op(&mut self, j: &mut Judgement, op: CtxOp) {
        for r in self.ctx.apply(op) {
            j.misuse(M::Report(r), Some(r));
        }
    }

    fn expect_value(&self, j: &mut Judgement, what: &str, want: u64, out: &Outcome) {
        let got = out.value.unwrap_or(0);
        if got != want {
            j.fail(
                F::WrongTranslation,
                format!("{what} gave {got:#x}, expected {want:#x}"),
            );
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
        if !self.facts().is_lowmem_va(addr) || !addr.is_multiple_of(PAGE_SIZE) {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            );
            return;
        }
        let pfn = (addr - self.facts().page_offset) >> PAGE_SHIFT;
        if !self.foreign_free(j, pfn) {
            self.pages.free(j, pfn, order);
        }
    }

    /// A client free of a page another allocator (vmalloc, the slab, a mempool) holds now:
    /// the page allocator cannot tell it from a free of the client's own page (both are a
    /// reference dropped), so it frees the page under that allocator's feet, unreported,
    /// and what follows is no longer predictable (taint).
    fn foreign_free(&mut self, j: &mut Judgement, pfn: u64) -> bool {
        match self.pages.block_of(pfn) {
            Some((_, b)) if !b.client => {
                j.misuse.push(M::Report(ReportKind::InvalidFree));
                self.tainted = true;
                true
            }
            _ => false,
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
        let end = va as u128 + len as u128;
        let mut cur = va as u128;
        while cur < end {
            let n = ((PAGE_SIZE as u128) - (cur % PAGE_SIZE as u128)).min(end - cur) as usize;
            let a = cur as u64;
            let (pa, owned, kind) =
                if cur > u64::MAX as u128 || (i386(self) && cur > u32::MAX as u128) {
                    (None, false, M::WildAccess)
                } else if self.facts().is_lowmem_va(a) {
                    let pfn = (a - self.facts().page_offset) >> PAGE_SHIFT;
                    let pa = self
                        .pages
                        .direct_mapped(pfn)
                        .then_some(a - self.facts().page_offset);
                    (pa, self.pages.owned(pfn), self.pages.stray_kind(pfn))
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
        if byte.is_some() {
            // A write through another mapping (vmap, kmap) of a page the slab allocator
            // holds now.
            for c in &chunks {
                if let Some(pa) = c.1 {
                    let pfn = pa >> PAGE_SHIFT;
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

fn i386(m: &Model) -> bool {
    m.facts().arch == kmem_vocab::Arch::I386
}

/// The vmalloc-family call an operation is, with the mask and alignment its wrapper uses.
fn vmalloc_call(op: &Op) -> Option<VmallocCall> {
    let (what, size, align, gfp) = match *op {
        Op::Vmalloc { size } => ("vmalloc", size, 1, GFP_KERNEL),
        Op::Vzalloc { size } => ("vzalloc", size, 1, GFP_KERNEL | __GFP_ZERO),
        // GFP_VMALLOC32.
        Op::Vmalloc32 { size } => ("vmalloc_32", size, 1, GFP_KERNEL | GFP_DMA32),
        Op::VmallocNode { size, align, gfp } => ("__vmalloc_node", size, align, gfp),
        _ => return None,
    };
    Some(VmallocCall {
        what,
        size,
        align,
        gfp,
    })
}
