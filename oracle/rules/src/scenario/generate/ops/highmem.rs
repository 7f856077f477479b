//! Highmem mappings: kmap, kunmap, kmap_atomic, kmap_local_page.

use arbitrary::{Result, Unstructured};

use super::super::super::ast::Op;
use super::super::state::{Ctx, Gen, Kind, Life, MapHow};
use super::{Action, Cand, WHOLE_PAGES};

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_highmem(&mut self, u: &mut Unstructured<'_>, a: Action) -> Result<()> {
        match a {
            Action::Kmap => {
                if let Some(p) = self.pick_where(u, WHOLE_PAGES, |p| !self.kmapped(p))? {
                    self.kmap(p, MapHow::Kmap);
                }
            }
            Action::Kunmap => {
                if let Some(m) = self.pick(u, Cand::Kmaps)? {
                    if let Some(&Kind::Kmap { page, .. }) = self.kind(m) {
                        let op = Op::Kunmap {
                            page: self.operand(page),
                        };
                        self.emit(None, op);
                        self.release(m, Life::Freed);
                    }
                }
            }
            Action::KmapAtomic | Action::KmapLocal => {
                if let Some(p) = self.pick(
                    u,
                    Cand::Pages {
                        whole: true,
                        low: false,
                    },
                )? {
                    let how = match a {
                        Action::KmapAtomic => MapHow::Atomic,
                        _ => MapHow::Local,
                    };
                    self.kmap(p, how);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Maps page handle `p`; atomic and local mappings are pushed on the section stack.
    pub fn kmap(&mut self, p: usize, how: MapHow) -> usize {
        let high = self.page_like(p).is_some_and(|(high, _)| high);
        let page = self.operand(p);
        let op = match how {
            MapHow::Kmap => Op::Kmap { page },
            MapHow::Atomic => Op::KmapAtomic { page },
            MapHow::Local => Op::KmapLocalPage { page },
        };
        let m = self.bind(op, Kind::Kmap { page: p, how, high }, 0);
        if how != MapHow::Kmap {
            self.ctx.push(Ctx::Map(m, how));
        }
        m
    }
}
