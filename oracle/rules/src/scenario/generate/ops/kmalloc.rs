//! kmalloc, kzalloc, krealloc, ksize and kfree.

use arbitrary::{Result, Unstructured};

use super::super::super::ast::{Op, Operand};
use super::super::choose::{self, chance, pick};
use super::super::extremes;
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
                if size > self.limits.kmalloc_max {
                    // Past KMALLOC_MAX_SIZE: NULL.
                    self.emit(None, op);
                    return Ok(());
                }
                self.bind(op, Kind::Kmalloc { size }, size.max(8));
            }
            Action::Krealloc => {
                let old = match chance(u, 15)? {
                    true => None,
                    false => self.pick(u, Cand::Kmallocs)?,
                };
                // krealloc(p, 0) frees p and returns ZERO_SIZE_PTR.
                let size = match old.is_some() && chance(u, 4)? {
                    true => 0,
                    false => self.fit_kmalloc_size(u)?.max(1),
                };
                let gfp = choose::gfp_object(u, atomic, false)?;
                let addr = old.map_or(Operand::Null, |i| self.operand(i));
                let op = Op::Krealloc { addr, size, gfp };
                if size == 0 || size > self.limits.kmalloc_max {
                    // ZERO_SIZE_PTR after freeing p, or NULL leaving p as it was (never
                    // used again, as after any krealloc).
                    let life = if size == 0 { Life::Freed } else { Life::Gone };
                    if let Some(i) = old {
                        self.release(i, life);
                    }
                    self.emit(None, op);
                    return Ok(());
                }
                if let Some(i) = old {
                    self.release(i, Life::Gone);
                }
                self.bind(op, Kind::Kmalloc { size }, size);
            }
            Action::Ksize => {
                if let Some(i) = self.pick(u, Cand::Kmallocs)? {
                    let op = Op::Ksize {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                }
            }
            Action::Kfree => match self.pick(u, Cand::Kmallocs)? {
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

    /// A kmalloc size that fits the budget: 0 now and then, often a size class boundary or
    /// a power of two and its neighbours, up to KMALLOC_MAX_SIZE and one byte past it.
    fn fit_kmalloc_size(&self, u: &mut Unstructured<'_>) -> Result<u64> {
        if chance(u, 2)? {
            return Ok(0);
        }
        let max = self.limits.kmalloc_max;
        let size = match pick(u, 0, 7)? {
            0 => extremes::kmalloc_boundary(u, max)?,
            _ => choose::kmalloc_size(u)?,
        };
        Ok(match size > max || self.fits(size) {
            true => size,
            false => pick(u, 1, 64)?,
        })
    }
}
