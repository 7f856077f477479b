//! vmalloc and its variants, vfree, vmap, vunmap and the vmalloc-area queries.

use super::super::choose::Draw;
use arbitrary::Result;
use kmem_vocab::PAGE_SIZE;

use super::super::super::ast::{Op, Operand};
use super::super::choose::{self, chance, one_of, pick};
use super::super::extremes;
use super::super::state::{Gen, Kind, Life};
use super::{offset, page_round, Action, Cand};

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_vmalloc(&mut self, u: &mut impl Draw, a: Action) -> Result<()> {
        match a {
            Action::Vmalloc => {
                let l = self.limits;
                let mut size = match pick(u, 0, 31)? {
                    0..=2 => {
                        let room = self.budget.saturating_sub(self.live_bytes);
                        extremes::vmalloc_boundary(u, &l, room)?
                    }
                    4 => {
                        // The largest vmalloc on this machine, or one past it: the call alone
                        // is judged, and it may take all the memory there is.
                        let size = extremes::vmalloc_extreme(u, &l)?;
                        let op = Op::Vmalloc { size };
                        if size <= l.totalram.saturating_mul(PAGE_SIZE) {
                            self.scarce = true;
                        }
                        self.emit(None, op);
                        return Ok(());
                    }
                    _ => choose::vmalloc_size(u)?,
                };
                if !self.fits(page_round(size)) {
                    size = PAGE_SIZE;
                }
                let (op, low) = match pick(u, 0, 4)? {
                    0 | 1 => (Op::Vmalloc { size }, false),
                    2 => (Op::Vzalloc { size }, false),
                    3 => (Op::Vmalloc32 { size }, true),
                    _ => {
                        let (align, sure) = choose::vmalloc_align(u)?;
                        let gfp = choose::gfp_vmalloc(u)?;
                        let op = Op::VmallocNode { size, align, gfp };
                        if !sure {
                            // NULL, or an area no handle refers to: only the call is judged.
                            self.emit(None, op);
                            return Ok(());
                        }
                        (op, gfp & kmem_vocab::gfp::GFP_DMA32 != 0)
                    }
                };
                self.bind(op, Kind::Vmalloc { size, low }, page_round(size));
            }
            Action::Vfree => match self.pick(u, Cand::VmallocsToFree)? {
                Some(i) if !chance(u, 5)? => {
                    let op = Op::Vfree {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                    self.release(i, Life::Freed);
                    self.vm_lazy = true;
                }
                _ => {
                    self.emit(
                        None,
                        Op::Vfree {
                            addr: Operand::Null,
                        },
                    );
                }
            },
            Action::Vmap => {
                let cands = self.cands(Cand::Pages {
                    whole: true,
                    low: false,
                });
                let n = pick(u, 0, 4)?;
                if n == 0 {
                    // vmap of no pages: NULL.
                    self.emit(None, Op::Vmap { pages: vec![] });
                    return Ok(());
                }
                let mut pages = Vec::new();
                for _ in 0..n {
                    if let Some(p) = one_of(u, &cands)? {
                        pages.push(p);
                    }
                }
                if !pages.is_empty() {
                    let op = Op::Vmap {
                        pages: pages.iter().map(|&p| self.operand(p)).collect(),
                    };
                    self.bind(op, Kind::Vmap { pages }, 0);
                }
            }
            Action::Vunmap => {
                if let Some(i) = self.pick(u, Cand::Vmaps)? {
                    let op = Op::Vunmap {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                    self.release(i, Life::Freed);
                    self.vm_lazy = true;
                }
            }
            Action::VmallocToPage => {
                if let Some(i) = self.pick(u, Cand::VmAreas)? {
                    let size = self.addr_size(i).unwrap_or(0);
                    let off = pick(u, 0, size.saturating_sub(1))?;
                    let (high, whole) = match self.kind(i) {
                        Some(&Kind::Vmalloc { low, .. }) => (!low && self.has_highmem, true),
                        _ => (self.has_highmem, false),
                    };
                    let op = Op::VmallocToPage {
                        addr: self.at(i, offset(off)),
                    };
                    self.bind(op, Kind::PageView { of: i, high, whole }, 0);
                }
            }
            Action::VmUnmapAliases => {
                self.emit(None, Op::VmUnmapAliases);
                self.vm_lazy = false;
            }
            Action::IsVmallocAddr => {
                if let Some(i) = self.pick(u, Cand::Access)? {
                    let op = Op::IsVmallocAddr {
                        addr: self.operand(i),
                    };
                    self.emit(None, op);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
