//! kmalloc, kzalloc, krealloc, ksize and kfree.

use arbitrary::{Result, Unstructured};

use super::super::super::ast::{Op, Operand};
use super::super::choose::{self, chance, one_of, pick};
use super::super::state::{Gen, Kind, Life};
use super::{Action, Cand};

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_kmalloc(&mut self, u: &mut Unstructured<'_>, a: Action) -> Result<()> {
        let atomic = self.atomic();
        match a {
            Action::Kmalloc => {
                let size = self.fit_kmalloc_size(u)?;
                let gfp = choose::gfp_object(u, atomic, true)?;
                let op = match chance(u, 30)? {
                    true => Op::Kzalloc { size, gfp },
                    false => Op::Kmalloc { size, gfp },
                };
                self.bind(op, Kind::Kmalloc { size }, size.max(8));
            }
            Action::Krealloc => {
                let kmallocs = self.cands(Cand::Kmallocs);
                let old = match chance(u, 15)? {
                    true => None,
                    false => one_of(u, &kmallocs)?,
                };
                let size = self.fit_kmalloc_size(u)?.max(1);
                let gfp = choose::gfp_object(u, atomic, false)?;
                let addr = old.map_or(Operand::Null, |i| self.operand(i));
                if let Some(i) = old {
                    self.release(i, Life::Gone);
                }
                self.bind(
                    Op::Krealloc { addr, size, gfp },
                    Kind::Kmalloc { size },
                    size,
                );
            }
            Action::Ksize => {
                if let Some(i) = one_of(u, &self.cands(Cand::Kmallocs))? {
                    let op = Op::Ksize {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                }
            }
            Action::Kfree => match one_of(u, &self.cands(Cand::Kmallocs))? {
                Some(i) if !chance(u, 5)? => {
                    let op = Op::Kfree {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                    self.release(i, Life::Freed);
                }
                _ => {
                    self.emit(
                        None,
                        Op::Kfree {
                            addr: Operand::Null,
                        },
                    );
                }
            },
            _ => {}
        }
        Ok(())
    }

    fn fit_kmalloc_size(&self, u: &mut Unstructured<'_>) -> Result<u64> {
        if chance(u, 2)? {
            return Ok(0);
        }
        let size = choose::kmalloc_size(u)?;
        Ok(match self.fits(size) {
            true => size,
            false => pick(u, 1, 64)?,
        })
    }
}
