//! The model's judgement of one statement, given what the machine did.

use kmem::gfp::*;
use kmem::ReportKind;

use super::context::{CtxModel, CtxOp};
use super::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use super::pages::PageModel;
use super::{FailureKind as F, Judgement, MisuseKind as M};
use crate::run::{Env, Outcome, MAX_ACCESS};
use crate::scenario::{Op, Operand};

#[derive(Clone, Debug)]
pub struct Model {
    pub pages: PageModel,
    pub ctx: CtxModel,
    /// Set once a misuse has made the kernel's state unpredictable (DESIGN.md, "Taint").
    pub tainted: bool,
}

impl Model {
    pub fn new(facts: Facts, cfg: kmem::BootConfig) -> Model {
        Model {
            pages: PageModel::new(facts, cfg),
            ctx: CtxModel::default(),
            tainted: false,
        }
    }

    fn facts(&self) -> &Facts {
        &self.pages.facts
    }

    pub fn step(&mut self, line: u32, op: &Op, env: &Env, out: &Outcome) -> Judgement {
        let i386 = self.facts().arch == kmem::Arch::I386;
        let ev = |o: &Operand| env.eval(o, i386);
        let mut j = Judgement::default();
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
                    self.pages.free(&mut j, pfn, *order);
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
                        0
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
        } else if !self.facts().is_lowmem_va(v) || v % PAGE_SIZE != 0 {
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
        if !self.facts().is_lowmem_va(addr) || addr % PAGE_SIZE != 0 {
            j.misuse(
                M::Report(ReportKind::InvalidFree),
                Some(ReportKind::InvalidFree),
            );
            return;
        }
        let pfn = (addr - self.facts().page_offset) >> PAGE_SHIFT;
        self.pages.free(j, pfn, order);
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
                    (None, false, M::WildAccess)
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
    m.facts().arch == kmem::Arch::I386
}
