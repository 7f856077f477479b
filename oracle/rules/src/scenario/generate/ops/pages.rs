//! The page allocator's operations: alloc_pages, __get_free_pages and their frees.

use arbitrary::{Result, Unstructured};
use kmem_vocab::gfp::{__GFP_HIGHMEM, GFP_DMA};
use kmem_vocab::MAX_PAGE_ORDER;

use super::super::super::ast::Op;
use super::super::choose::{self, chance, pick};
use super::super::extremes;
use super::super::state::{order_bytes, Gen, Kind, Life};
use super::{Action, Cand};

impl Gen<'_> {
    /// Performs one of this family's well-behaved operations.
    pub(super) fn act_pages(&mut self, u: &mut Unstructured<'_>, a: Action) -> Result<()> {
        let atomic = self.atomic();
        match a {
            Action::AllocPages => {
                let gfp = choose::gfp_pages(u, atomic, true)?;
                let order = self.fit_order(u, gfp)?;
                if order > MAX_PAGE_ORDER {
                    // One past the largest order: NULL, with the allocation-failure warning.
                    self.emit(None, Op::AllocPages { gfp, order });
                    return Ok(());
                }
                let high = gfp & __GFP_HIGHMEM != 0 && self.has_highmem;
                self.bind(
                    Op::AllocPages { gfp, order },
                    Kind::Pages { order, high },
                    order_bytes(order),
                );
            }
            Action::GetFreePages => {
                let gfp = choose::gfp_object(u, atomic, true)?;
                let (op, order) = match pick(u, 0, 3)? {
                    0 | 1 => {
                        let order = self.fit_order(u, gfp)?;
                        if order > MAX_PAGE_ORDER {
                            self.emit(None, Op::GetFreePages { gfp, order });
                            return Ok(());
                        }
                        (Op::GetFreePages { gfp, order }, order)
                    }
                    2 => (Op::GetFreePage { gfp }, 0),
                    _ => (Op::GetZeroedPage { gfp }, 0),
                };
                self.bind(op, Kind::FreePages { order }, order_bytes(order));
            }
            Action::FreePagesPage => {
                if let Some(i) = self.pick(u, Cand::PagesToFree)? {
                    if let Some(Kind::Pages { order, .. }) = self.kind(i) {
                        let op = Op::FreePagesPage {
                            page: self.operand(i),
                            order: *order,
                        };
                        self.emit(None, op);
                        self.release(i, Life::Freed);
                    }
                }
            }
            Action::FreePages => {
                if let Some(i) = self.pick(u, Cand::FreePagesToFree)? {
                    if let Some(&Kind::FreePages { order }) = self.kind(i) {
                        let addr = self.operand(i);
                        let op = match order == 0 && chance(u, 50)? {
                            true => Op::FreePage { addr },
                            false => Op::FreePages { addr, order },
                        };
                        self.emit(None, op);
                        self.release(i, Life::Freed);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A buddy order that fits the budget (and, for GFP_DMA, the small DMA zone), now and
    /// then one past MAX_PAGE_ORDER.
    fn fit_order(&self, u: &mut Unstructured<'_>, gfp: u32) -> Result<u32> {
        if chance(u, 2)? {
            return Ok(extremes::PAST_MAX_ORDER);
        }
        let mut order = choose::order(u)?;
        if gfp & GFP_DMA != 0 {
            order = order.min(1);
        }
        while order > 0 && !self.fits(order_bytes(order)) {
            order -= 1;
        }
        Ok(order)
    }
}
