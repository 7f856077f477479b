//! A page pool's page traffic, predicted from its reserve (mm/mempool.c, 6.6): which
//! blocks mempool_create_page_pool() keeps, whether mempool_alloc() had to take from the
//! reserve, and which blocks mempool_free() and mempool_destroy() give back.
//!
//! - mempool_create() allocates the pool and its elements array (kmalloc) and then `min_nr`
//!   elements: the last `min_nr` blocks the call takes are the reserve, each of the pool's
//!   order.
//! - mempool_alloc() first asks the allocator with __GFP_NOMEMALLOC | __GFP_NORETRY |
//!   __GFP_NOWARN and without __GFP_DIRECT_RECLAIM and __GFP_IO; only when that fails does
//!   it take the reserve's top element, so a reserve element handed out while the page
//!   allocator had a block for that mask is wrong, and an element from the allocator is the
//!   one block the call took.
//! - mempool_free() puts the element back in the reserve while curr_nr < min_nr (no page
//!   goes back), else gives exactly its block back to the page allocator.
//! - mempool_destroy() gives every reserve element's block back.
//!
//! For kmalloc and slab pools the oracle knows curr_nr too (the same rules), but not which
//! objects creation put in the reserve, nor whether a cache behind kmalloc had a free
//! object (their caches are no longer exact once a pool allocates behind the client's
//! back): it bounds those (docs/harness.md).

use kmem_vocab::gfp::*;
use kmem_vocab::PageEvent;

use crate::model::pages::PageModel;
use crate::model::{FailureKind as F, Judgement};

fn allocs(events: &[PageEvent]) -> Vec<(u64, u32)> {
    events
        .iter()
        .filter_map(|e| match *e {
            PageEvent::Alloc { pfn, order } => Some((pfn, order)),
            PageEvent::Free { .. } => None,
        })
        .collect()
}

fn frees(events: &[PageEvent]) -> Vec<(u64, u32)> {
    events
        .iter()
        .filter_map(|e| match *e {
            PageEvent::Free { pfn, order } => Some((pfn, order)),
            PageEvent::Alloc { .. } => None,
        })
        .collect()
}

/// The mask of mempool_alloc()'s first try of the allocator.
pub(super) fn first_try(gfp: Gfp) -> Gfp {
    (gfp | __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN) & !(__GFP_DIRECT_RECLAIM | __GFP_IO)
}

/// mempool_create_page_pool(min, order) succeeded: its reserve, the last `min` blocks it
/// took (struct page pointers, top last), when they are each of `order`.
pub(super) fn created(
    j: &mut Judgement,
    pages: &PageModel,
    min: u32,
    order: u32,
    events: &[PageEvent],
) -> Option<Vec<Option<u64>>> {
    let taken = allocs(events);
    let n = min as usize;
    let tail = taken.get(taken.len().checked_sub(n)?..)?;
    if let Some(&(pfn, o)) = tail.iter().find(|&&(_, o)| o != order) {
        j.fail(
            F::WrongValue,
            format!(
                "mempool_create_page_pool({min}, {order}) filled its reserve with an order-{o} block at pfn {pfn:#x}"
            ),
        );
        return None;
    }
    Some(
        tail.iter()
            .map(|&(pfn, _)| Some(pages.facts.page_ptr(pfn)))
            .collect(),
    )
}

/// mempool_alloc() of a page pool returned `v`: from the reserve (`from_reserve`) only when
/// the allocator had no block for the first try's mask, else the one block it took.
pub(super) fn alloc(
    j: &mut Judgement,
    pages: &PageModel,
    order: u32,
    gfp: Gfp,
    v: u64,
    from_reserve: bool,
    events: &[PageEvent],
) {
    let taken = allocs(events);
    if from_reserve {
        if !taken.is_empty() {
            j.fail(
                F::WrongValue,
                format!(
                    "mempool_alloc handed out its reserve element {v:#x} though the page allocator gave it the block at pfn {:#x}",
                    taken[0].0
                ),
            );
            return;
        }
        let mut tmp = Judgement::default();
        pages.failed(&mut tmp, first_try(gfp), order);
        for (kind, msg) in tmp.failures {
            j.fail(
                kind,
                format!("mempool_alloc took {v:#x} from the reserve before the allocator: {msg}"),
            );
        }
        return;
    }
    let want = pages.facts.pfn_of_page(v).map(|pfn| (pfn, order));
    if taken.len() != 1 || want != Some(taken[0]) {
        j.fail(
            F::WrongValue,
            format!(
                "mempool_alloc returned {v:#x} from the allocator, but took {:x?} (pfn, order) from the page allocator",
                taken
            ),
        );
        return;
    }
    // Every try carries __GFP_NOMEMALLOC, so none may go below the floor of the first
    // (the lowest of them: no direct reclaim): not into the emergency reserves either.
    if let Some((zi, left, floor)) = pages.took_below_floor(first_try(gfp), taken[0].0, events) {
        j.fail(
            F::Watermark,
            format!(
                "mempool_alloc took pfn {:#x} from {}, leaving {left} free pages there, below the {floor} {} must keep",
                taken[0].0,
                pages.facts.zones[zi].kind.name(),
                format_gfp(first_try(gfp))
            ),
        );
    }
}

/// mempool_free() of page element `e`: back to the reserve (no page freed) or, with the
/// reserve full, exactly its block back to the page allocator.
pub(super) fn free(
    j: &mut Judgement,
    pages: &PageModel,
    order: u32,
    e: u64,
    to_reserve: bool,
    curr_nr: usize,
    events: &[PageEvent],
) {
    let given = frees(events);
    let want: Vec<(u64, u32)> = if to_reserve {
        vec![]
    } else {
        pages
            .facts
            .pfn_of_page(e)
            .map(|pfn| (pfn, order))
            .into_iter()
            .collect()
    };
    if given != want {
        j.fail(
            F::WrongValue,
            format!(
                "mempool_free({e:#x}) with {curr_nr} elements in the reserve gave back {:x?} (pfn, order); it must {}",
                given,
                if to_reserve {
                    "keep the element in the reserve".to_string()
                } else {
                    format!("give back its block {:x?}", want)
                }
            ),
        );
    }
}

/// mempool_destroy() of a page pool: every reserve element's block goes back.
pub(super) fn destroyed(
    j: &mut Judgement,
    pages: &PageModel,
    order: u32,
    reserve: &[Option<u64>],
    events: &[PageEvent],
) {
    let given = frees(events);
    for e in reserve.iter().flatten() {
        let Some(pfn) = pages.facts.pfn_of_page(*e) else {
            continue;
        };
        if !given.contains(&(pfn, order)) {
            j.fail(
                F::WrongValue,
                format!(
                    "mempool_destroy kept the reserve element {e:#x}: its block at pfn {pfn:#x} must go back"
                ),
            );
        }
    }
}
