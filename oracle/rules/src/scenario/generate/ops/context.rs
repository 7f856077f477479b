//! Sections: locks, interrupts, softirqs, preemption, opened and closed in LIFO order.

use arbitrary::{Result, Unstructured};

use super::super::super::ast::Op;
use super::super::choose::{one_of, Few};
use super::super::state::{Ctx, Gen, Life, MapHow};
use super::Action;

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_context(&mut self, u: &mut Unstructured<'_>, a: Action) -> Result<()> {
        match a {
            Action::CtxOpen => {
                if let Some(c) = one_of(u, self.openable().as_slice())? {
                    self.open(c);
                }
            }
            Action::CloseTop => {
                self.close_top();
            }
            _ => {}
        }
        Ok(())
    }

    /// The sections that may be opened now without misuse.
    pub fn openable(&self) -> Few<Ctx, 5> {
        let has = |c: Ctx| self.ctx.contains(&c);
        let hardirqs = self.ctx.iter().filter(|&&c| c == Ctx::Hardirq).count();
        let mut v = Few::new(Ctx::Preempt);
        v.push(Ctx::Preempt);
        if !has(Ctx::Spin) {
            v.push(Ctx::Spin);
        }
        if !has(Ctx::IrqOff) {
            v.push(Ctx::IrqOff);
        }
        if hardirqs < 2 {
            v.push(Ctx::Hardirq);
        }
        if !has(Ctx::Hardirq) && !has(Ctx::IrqOff) && !has(Ctx::Bh) {
            v.push(Ctx::Bh);
        }
        v
    }

    /// Opens a section (not a mapping: see [`Gen::kmap`]).
    pub fn open(&mut self, c: Ctx) {
        let op = match c {
            Ctx::Spin => Op::SpinLock,
            Ctx::IrqOff => Op::LocalIrqDisable,
            Ctx::Hardirq => Op::IrqEnter,
            Ctx::Bh => Op::LocalBhDisable,
            Ctx::Preempt => Op::PreemptDisable,
            Ctx::Map(..) => return,
        };
        self.emit(None, op);
        self.ctx.push(c);
    }

    /// The statement that closes section `c`.
    pub fn close_op(&self, c: Ctx) -> Op {
        match c {
            Ctx::Spin => Op::SpinUnlock,
            Ctx::IrqOff => Op::LocalIrqEnable,
            Ctx::Hardirq => Op::IrqExit,
            Ctx::Bh => Op::LocalBhEnable,
            Ctx::Preempt => Op::PreemptEnable,
            Ctx::Map(m, MapHow::Local) => Op::KunmapLocal {
                addr: self.operand(m),
            },
            Ctx::Map(m, _) => Op::KunmapAtomic {
                addr: self.operand(m),
            },
        }
    }

    /// Closes the innermost section; returns the line of the closing statement.
    pub fn close_top(&mut self) -> Option<u32> {
        let c = self.ctx.pop()?;
        let line = self.emit(None, self.close_op(c));
        if let Ctx::Map(m, _) = c {
            self.release(m, Life::Freed);
        }
        Some(line)
    }
}
