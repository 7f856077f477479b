//! The oracle's model of the execution context: which calls may sleep, and which unlocks or
//! enables are unbalanced.

use kmem_vocab::ReportKind;

use super::{Judgement, MisuseKind as M, Model};
use crate::scenario::Op;

#[derive(Clone, Debug, Default)]
pub struct CtxModel {
    preempt: u32,
    softirq_disable: u32,
    hardirq: u32,
    irqs_off: bool,
    locks: u32,
    saved: Vec<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxOp {
    SpinLock,
    SpinUnlock,
    LocalIrqDisable,
    LocalIrqEnable,
    IrqEnter,
    IrqExit,
    LocalBhDisable,
    LocalBhEnable,
    PreemptDisable,
    PreemptEnable,
}

impl CtxModel {
    /// May a sleeping function be called now?
    pub fn may_sleep(&self) -> bool {
        self.preempt == 0 && self.softirq_disable == 0 && self.hardirq == 0 && !self.irqs_off
    }

    /// might_sleep() of a call that sleeps: in atomic context the kernel must report
    /// "BUG: sleeping function called from invalid context".
    pub fn might_sleep(&self, j: &mut Judgement) {
        if !self.may_sleep() {
            j.misuse(
                M::Report(ReportKind::SleepInAtomic),
                Some(ReportKind::SleepInAtomic),
            );
        }
    }

    /// might_alloc(gfp): an allocation sleeps when its mask may reclaim.
    pub fn might_alloc(&self, j: &mut Judgement, gfp: kmem_vocab::gfp::Gfp) {
        if gfp & kmem_vocab::gfp::__GFP_DIRECT_RECLAIM != 0 {
            self.might_sleep(j);
        }
    }

    pub fn in_interrupt(&self) -> bool {
        self.hardirq > 0 || self.softirq_disable > 0
    }

    pub fn in_hardirq(&self) -> bool {
        self.hardirq > 0
    }

    /// Extra preemption disable from outside (kmap_atomic).
    pub fn preempt_add(&mut self, n: i32) {
        self.preempt = self.preempt.saturating_add_signed(n);
    }

    /// Applies a context statement; returns the reports Linux must print for it.
    pub fn apply(&mut self, op: CtxOp) -> Vec<ReportKind> {
        let bad = vec![ReportKind::ContextImbalance];
        match op {
            CtxOp::SpinLock => {
                self.preempt += 1;
                self.locks += 1;
            }
            CtxOp::SpinUnlock => {
                if self.locks == 0 {
                    return bad;
                }
                self.locks -= 1;
                if self.preempt == 0 {
                    return bad;
                }
                self.preempt -= 1;
            }
            CtxOp::LocalIrqDisable => self.irqs_off = true,
            CtxOp::LocalIrqEnable => self.irqs_off = false,
            CtxOp::IrqEnter => {
                self.saved.push(self.irqs_off);
                self.irqs_off = true;
                self.hardirq += 1;
            }
            CtxOp::IrqExit => {
                if self.hardirq == 0 {
                    return bad;
                }
                self.hardirq -= 1;
                self.irqs_off = self.saved.pop().unwrap_or(false);
            }
            CtxOp::LocalBhDisable => self.softirq_disable += 1,
            CtxOp::LocalBhEnable => {
                // A warning for enabling bottom halves in hardirq or with irqs off, and one
                // for the underflow: each is its own report.
                let mut out = vec![];
                if self.hardirq > 0 || self.irqs_off {
                    out.push(ReportKind::ContextImbalance);
                }
                if self.softirq_disable == 0 {
                    out.push(ReportKind::ContextImbalance);
                } else {
                    self.softirq_disable -= 1;
                }
                return out;
            }
            CtxOp::PreemptDisable => self.preempt += 1,
            CtxOp::PreemptEnable => {
                if self.preempt == 0 {
                    return bad;
                }
                self.preempt -= 1;
            }
        }
        vec![]
    }
}

/// The context family's statements: locks, interrupts, softirqs and preemption.
impl Model {
    pub(crate) fn context_op(&mut self, j: &mut Judgement, op: &Op) {
        let op = match op {
            Op::SpinLock => CtxOp::SpinLock,
            Op::SpinUnlock => CtxOp::SpinUnlock,
            Op::LocalIrqDisable => CtxOp::LocalIrqDisable,
            Op::LocalIrqEnable => CtxOp::LocalIrqEnable,
            Op::IrqEnter => CtxOp::IrqEnter,
            Op::IrqExit => CtxOp::IrqExit,
            Op::LocalBhDisable => CtxOp::LocalBhDisable,
            Op::LocalBhEnable => CtxOp::LocalBhEnable,
            Op::PreemptDisable => CtxOp::PreemptDisable,
            Op::PreemptEnable => CtxOp::PreemptEnable,
            _ => return,
        };
        for r in self.ctx.apply(op) {
            j.misuse(M::Report(r), Some(r));
        }
    }
}
