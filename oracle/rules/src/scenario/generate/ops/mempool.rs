//! Mempools over kmalloc, slab caches and pages.

use super::super::choose::Draw;
use arbitrary::Result;
use kmem_vocab::gfp::__GFP_ZERO;

use super::super::super::ast::Op;
use super::super::choose::{self, chance, kmalloc_size, one_of, pick};
use super::super::state::{order_bytes, Gen, Kind, Life, PoolKind};
use super::{Action, Cand};

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_mempool(&mut self, u: &mut impl Draw, a: Action) -> Result<()> {
        let atomic = self.atomic();
        match a {
            Action::PoolCreate => self.pool_create(u)?,
            Action::PoolAlloc => {
                if let Some(p) = self.pick(u, Cand::Pools)? {
                    let gfp = choose::gfp_object(u, atomic, false)? & !__GFP_ZERO;
                    self.pool_alloc(p, gfp);
                }
            }
            Action::PoolFree => {
                if let Some(e) = self.pick(u, Cand::Elems)? {
                    if let Some(&Kind::PoolElem { pool, .. }) = self.kind(e) {
                        let op = Op::MempoolFree {
                            addr: self.operand(e),
                            pool: self.operand(pool),
                        };
                        self.emit(None, op);
                        self.release(e, Life::Freed);
                    }
                }
            }
            Action::PoolDestroy => {
                if let Some(p) = self.pick_where(u, Cand::Pools, |p| !self.pool_busy(p))? {
                    let op = Op::MempoolDestroy {
                        pool: self.operand(p),
                    };
                    self.emit(None, op);
                    self.release(p, Life::Freed);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn pool_create(&mut self, u: &mut impl Draw) -> Result<()> {
        let min = u32::try_from(pick(u, 0, 4)?).unwrap_or(0);
        let caches = self.cands(Cand::Caches);
        let (op, kind, elem) = match pick(u, 0, 2)? {
            1 if !caches.is_empty() => {
                let c = one_of(u, &caches)?.unwrap_or(0);
                let size = match self.kind(c) {
                    Some(&Kind::Cache { size, .. }) => size,
                    _ => 0,
                };
                let op = Op::MempoolCreateSlabPool {
                    min,
                    cache: self.operand(c),
                };
                (op, PoolKind::Slab { cache: c, size }, u64::from(size))
            }
            2 => {
                let mut order = u32::try_from(pick(u, 0, 2)?).unwrap_or(0);
                if chance(u, 4)? {
                    // The largest order, or one past it: elements of one order past the
                    // largest make the pool NULL unless it keeps no reserve, and then every
                    // mempool_alloc() fails.
                    const MAX: u32 = kmem_vocab::MAX_PAGE_ORDER;
                    order = one_of(u, &[MAX + 1, MAX])?.unwrap_or(MAX + 1);
                    if order > MAX {
                        self.emit(None, Op::MempoolCreatePagePool { min, order });
                        return Ok(());
                    }
                }
                let op = Op::MempoolCreatePagePool { min, order };
                (op, PoolKind::Page { order }, order_bytes(order))
            }
            _ => {
                // Now and then a size of kmalloc's whole range: past the largest kmalloc
                // cache the elements are pages (kmalloc_large()).
                let size = match chance(u, 20)? {
                    true => kmalloc_size(u)?,
                    false => pick(u, 1, 512)?,
                };
                let op = Op::MempoolCreateKmallocPool { min, size };
                (op, PoolKind::Kmalloc { size }, size)
            }
        };
        let bytes = elem.saturating_mul(u64::from(min));
        self.bind(op, Kind::Pool { kind }, bytes);
        Ok(())
    }

    /// `mempool_alloc` from pool `p`.
    pub fn pool_alloc(&mut self, p: usize, gfp: u32) {
        let Some(&Kind::Pool { kind }) = self.kind(p) else {
            return;
        };
        let (size, order) = match kind {
            PoolKind::Kmalloc { size } => (size, None),
            PoolKind::Slab { size, .. } => (u64::from(size), None),
            PoolKind::Page { order } => (order_bytes(order), Some(order)),
        };
        let op = Op::MempoolAlloc {
            pool: self.operand(p),
            gfp,
        };
        self.bind(
            op,
            Kind::PoolElem {
                pool: p,
                size,
                order,
            },
            size,
        );
    }
}
