//! Highmem mappings: kmap, kunmap, kmap_atomic, kmap_local_page, and the walk over a
//! high-order highmem block that kmaps and kunmaps each page in turn.

use super::super::choose::Draw;
use arbitrary::Result;
use kmem_vocab::gfp::GFP_HIGHUSER;
use kmem_vocab::{MAX_PAGE_ORDER, PAGE_SIZE};

use super::super::super::ast::Op;
use super::super::choose::chance;
use super::super::state::{Ctx, Gen, Kind, Life, MapHow};
use super::{Action, Cand, WHOLE_PAGES};

/// The smallest block a walk takes: 512 pages, LAST_PKMAP with PAE. A walk over more
/// distinct pages than there are pkmap slots wraps the pkmap scan (and flushes every unused
/// slot, slot 0 among them once it has been used); a walk of 1024 pages with PAE, or two
/// walks over two 1024-page blocks without, wrap it twice.
pub const WALK_MIN_ORDER: u32 = 9;

/// The bytes of the MAX_PAGE_ORDER block a walk allocates.
const WALK_BYTES: u64 = (1 << MAX_PAGE_ORDER) * PAGE_SIZE;

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_highmem(&mut self, u: &mut impl Draw, a: Action) -> Result<()> {
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
            Action::KmapWalk => self.kmap_walk(u)?,
            _ => {}
        }
        Ok(())
    }

    /// Whether a walk is possible: highmem pages to walk, held or within the budget.
    pub(super) fn may_walk(&self) -> bool {
        self.has_highmem && (self.walkable().next().is_some() || self.fits(WALK_BYTES))
    }

    /// The live highmem blocks of at least [`WALK_MIN_ORDER`] the scenario holds.
    fn walkable(&self) -> impl Iterator<Item = usize> + '_ {
        self.members(WHOLE_PAGES.bit())
            .filter(|&p| self.is_walkable(p))
    }

    fn is_walkable(&self, p: usize) -> bool {
        matches!(
            self.kind(p),
            Some(&Kind::Pages { order, high: true }) if order >= WALK_MIN_ORDER
        )
    }

    /// `walk N kmap kunmap P` over every page of a highmem block: one the scenario holds, or
    /// (now and then, or when it holds none) a new MAX_PAGE_ORDER block of GFP_HIGHUSER,
    /// so that two walks take twice as many distinct pages.
    fn kmap_walk(&mut self, u: &mut impl Draw) -> Result<()> {
        let held = match chance(u, 50)? {
            true => self.pick_where(u, WHOLE_PAGES, |p| self.is_walkable(p))?,
            false => None,
        };
        let p = match held {
            Some(p) => p,
            None if self.fits(WALK_BYTES) && !self.scarce => self.bind(
                Op::AllocPages {
                    gfp: GFP_HIGHUSER,
                    order: MAX_PAGE_ORDER,
                },
                Kind::Pages {
                    order: MAX_PAGE_ORDER,
                    high: true,
                },
                WALK_BYTES,
            ),
            None => match self.walkable().next() {
                Some(p) => p,
                None => return Ok(()),
            },
        };
        let Some(&Kind::Pages { order, .. }) = self.kind(p) else {
            return Ok(());
        };
        let page = self.operand(p);
        self.emit(None, Op::Kmap { page });
        if let Some(s) = self.stmts.last_mut() {
            s.repeat = Some(1 << order);
            s.walk = true;
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
