//! warn_alloc() (mm/page_alloc.c): the warning an allocation that fails without
//! __GFP_NOWARN prints ("page allocation failure: order:N", "vmalloc error: size N, ...").
//! One static ratelimit_state, 10 seconds with a burst of 1, serves every caller (the page
//! allocator, SLUB growing a cache, vmalloc), so a print is let through only more than 10
//! seconds after the last print, whoever made it; the model's jiffies are statement indexes
//! (HZ is 1).
//!
//! What the rules say of one call ([`WarnAlloc`]): a page allocator call that failed
//! without __GFP_NOWARN reaches warn_alloc() and must print while the window is open; any
//! other allocating call that failed without it may print (whether its failure went through
//! warn_alloc() depends on the path inside it: a vmap area, a slab's pages, a page array),
//! and must when the family's rules know its path ([`WarnAlloc::reached`]: a slab cache,
//! kmalloc's included once made, that needed a new slab; a large kmalloc; a vmalloc of a size
//! above 0 outside an interrupt); nothing else may
//! print: a call that did not fail, or had __GFP_NOWARN (mempool_alloc() always adds it;
//! but see [`WarnAlloc::kmalloc_cache_created`]), or came while the window is shut.

use kmem_vocab::gfp::{format_gfp, Gfp, __GFP_NOWARN, GFP_KERNEL};

use super::facts::MAX_ORDER;
use super::{FailureKind, Judgement, Model};
use crate::outcome::Outcome;
use crate::scenario::Op;

/// warn_alloc()'s ratelimit interval, in seconds (statements): `DEFINE_RATELIMIT_STATE(
/// nopage_rs, 10*HZ, 1)`.
pub const INTERVAL: u64 = 10;

/// What one call may do with warn_alloc().
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WarnAlloc {
    /// It does not print: the call allocates nothing, or it did not fail.
    #[default]
    NotFailed,
    /// It does not print: the call failed with __GFP_NOWARN (the mask it had).
    NoWarn(Gfp),
    /// It does not print: the call failed before it allocated anything (vmalloc() of 0
    /// bytes, which WARNs instead).
    NothingAllocated,
    /// It prints while the window is open, or not: an allocating call that failed without
    /// __GFP_NOWARN, its failure reaching warn_alloc() or not by its path inside; a call
    /// that may have made a kmalloc cache ([`WarnAlloc::kmalloc_cache_created`]).
    May,
    /// It prints while the window is open: a page allocator call (order at most
    /// MAX_PAGE_ORDER) that failed without __GFP_NOWARN.
    Must,
}

impl WarnAlloc {
    /// The family's rules know that the call's failure went through warn_alloc(), so what
    /// may print must: a kmem_cache_alloc() from a live cache that returned NULL failed in
    /// allocate_slab()'s last attempt, the page allocator at the cache's min order with the
    /// caller's mask (new_slab() keeps __GFP_NOWARN, so a caller's stays a `NoWarn`), and
    /// so did a kmalloc() from a kmalloc cache that has handed out an object (kmem makes the
    /// cache on first use, and that allocation has its own mask); a kmalloc() above
    /// KMALLOC_MAX_CACHE_SIZE, of an order the page allocator serves, failed in
    /// alloc_pages(); a vmalloc of a size above 0 fails through warn_alloc() every way but
    /// __get_vm_area_node()'s BUG_ON(in_interrupt()).
    pub fn reached(&mut self) {
        if *self == WarnAlloc::May {
            *self = WarnAlloc::Must;
        }
    }

    /// The call may have made a kmalloc cache on first use: kmem allocates its struct
    /// kmem_cache then, with its own mask whatever the call's (Linux makes every kmalloc
    /// cache at boot; docs/model.md), and a failure of that allocation warns, though the
    /// call had __GFP_NOWARN, or succeeded after (mempool_alloc() from its reserve).
    pub fn kmalloc_cache_created(&mut self) {
        if *self != WarnAlloc::Must {
            *self = WarnAlloc::May;
        }
    }
}

/// The window of warn_alloc()'s ratelimit: the jiffies of its last print.
#[derive(Clone, Debug, Default)]
pub struct WarnAllocModel {
    last: Option<u64>,
}

impl WarnAllocModel {
    /// Whether a print at `now` passes the ratelimit (`time_is_before_jiffies(begin +
    /// interval)`, or the first print of all).
    fn open(&self, now: u64) -> bool {
        self.last.is_none_or(|t| now > t.saturating_add(INTERVAL))
    }
}

/// What `op`, which returned `out`, may do with warn_alloc().
pub fn expect(op: &Op, out: &Outcome) -> WarnAlloc {
    // Only a call that returned NULL failed: most calls are answered here.
    if out.value != Some(0) {
        return WarnAlloc::NotFailed;
    }
    // The mask an allocating call hands down, and whether its failure surely reaches
    // warn_alloc(); a call that allocates nothing returns at once.
    let (gfp, must) = match *op {
        Op::AllocPages { gfp, order } | Op::GetFreePages { gfp, order } => {
            (gfp, order <= MAX_ORDER)
        }
        Op::GetFreePage { gfp } | Op::GetZeroedPage { gfp } => (gfp, true),
        Op::KmemCacheAlloc { gfp, .. }
        | Op::KmemCacheZalloc { gfp, .. }
        | Op::Kmalloc { gfp, .. }
        | Op::Kzalloc { gfp, .. }
        | Op::Krealloc { gfp, .. }
        | Op::VmallocNode { gfp, .. } => (gfp, false),
        // GFP_KERNEL inside: the area and its pages, the cache's struct, the pool's
        // reserve.
        Op::Vmalloc { .. }
        | Op::Vzalloc { .. }
        | Op::Vmalloc32 { .. }
        | Op::Vmap { .. }
        | Op::KmemCacheCreate { .. }
        | Op::MempoolCreateKmallocPool { .. }
        | Op::MempoolCreateSlabPool { .. }
        | Op::MempoolCreatePagePool { .. } => (GFP_KERNEL, false),
        // mempool_alloc() hands its pool's allocator gfp | __GFP_NOWARN.
        Op::MempoolAlloc { gfp, .. } => (gfp | __GFP_NOWARN, false),
        _ => return WarnAlloc::NotFailed,
    };
    if gfp & __GFP_NOWARN != 0 {
        WarnAlloc::NoWarn(gfp)
    } else if must {
        WarnAlloc::Must
    } else {
        WarnAlloc::May
    }
}

impl Model {
    /// Judges the warn_alloc() warnings a call printed (`printed` of them) at jiffies `now`
    /// against what `j` says of the call, and moves the ratelimit's window on. Once the run
    /// is tainted nothing is judged (the window still moves).
    pub fn judge_warn_alloc(&mut self, j: &mut Judgement, now: u64, printed: u32) {
        let open = self.warn_alloc.open(now);
        let last = self.warn_alloc.last;
        if printed != 0 {
            self.warn_alloc.last = Some(now);
        }
        if self.tainted {
            return;
        }
        let why = match (j.warn_alloc, printed) {
            (WarnAlloc::Must, 0) if open => format!(
                "the allocation failed without __GFP_NOWARN and printed no warn_alloc() warning ({})",
                since(last, now)
            ),
            (_, 0) => return,
            (_, 2..) => format!(
                "{printed} warn_alloc() warnings in one call: its ratelimit lets one through in {INTERVAL} seconds"
            ),
            (WarnAlloc::NotFailed, _) => {
                "a warn_alloc() warning from a call that did not fail".to_string()
            }
            (WarnAlloc::NothingAllocated, _) => {
                "a warn_alloc() warning from a call that failed before it allocated anything"
                    .to_string()
            }
            (WarnAlloc::NoWarn(gfp), _) => format!(
                "a warn_alloc() warning from an allocation with __GFP_NOWARN ({})",
                format_gfp(gfp)
            ),
            (WarnAlloc::May | WarnAlloc::Must, _) if !open => format!(
                "a warn_alloc() warning its ratelimit holds back ({})",
                since(last, now)
            ),
            (WarnAlloc::May | WarnAlloc::Must, _) => return,
        };
        j.fail(FailureKind::Warning, why);
    }
}

/// The ratelimit's window, for a failure's message.
fn since(last: Option<u64>, now: u64) -> String {
    match last {
        None => "none printed before".to_string(),
        Some(t) => format!(
            "the last one printed {} statements before; one in {INTERVAL} passes",
            now - t
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::facts::Facts;
    use kmem_vocab::gfp::GFP_ATOMIC;
    use kmem_vocab::BootConfig;

    fn model() -> Model {
        let cfg = BootConfig::default();
        Model::new(Facts::new(&cfg), cfg)
    }

    fn judged(m: &mut Model, op: &Op, value: u64, now: u64, printed: u32) -> Vec<FailureKind> {
        let mut j = Judgement::default();
        let out = Outcome {
            value: Some(value),
            ..Default::default()
        };
        j.warn_alloc = expect(op, &out);
        m.judge_warn_alloc(&mut j, now, printed);
        j.failures.iter().map(|f| f.0).collect()
    }

    const PAGE: Op = Op::AllocPages {
        gfp: GFP_ATOMIC,
        order: 3,
    };

    #[test]
    fn a_failed_page_allocation_prints_once_a_window() {
        let mut m = model();
        assert!(judged(&mut m, &PAGE, 0, 4, 1).is_empty());
        // Held back up to 10 seconds after, printed past them.
        assert!(judged(&mut m, &PAGE, 0, 14, 0).is_empty());
        assert_eq!(judged(&mut m, &PAGE, 0, 14, 1), [FailureKind::Warning]);
        assert_eq!(judged(&mut m, &PAGE, 0, 25, 0), [FailureKind::Warning]);
        assert!(judged(&mut m, &PAGE, 0, 26, 1).is_empty());
    }

    #[test]
    fn no_warning_without_a_failure_or_with_nowarn() {
        let mut m = model();
        assert_eq!(
            judged(&mut m, &PAGE, 0xc000_0000, 1, 1),
            [FailureKind::Warning]
        );
        let nowarn = Op::AllocPages {
            gfp: GFP_ATOMIC | __GFP_NOWARN,
            order: 0,
        };
        assert!(judged(&mut m, &nowarn, 0, 30, 0).is_empty());
        assert_eq!(judged(&mut m, &nowarn, 0, 50, 1), [FailureKind::Warning]);
        let pool = Op::MempoolAlloc {
            pool: crate::scenario::Operand::Lit(1),
            gfp: GFP_KERNEL,
        };
        assert_eq!(judged(&mut m, &pool, 0, 70, 1), [FailureKind::Warning]);
        assert_eq!(judged(&mut m, &PAGE, 0, 90, 2), [FailureKind::Warning]);
    }

    #[test]
    fn other_failures_may_print_but_need_not() {
        let mut m = model();
        let vmalloc = Op::Vmalloc { size: 1 << 20 };
        assert!(judged(&mut m, &vmalloc, 0, 1, 0).is_empty());
        assert!(judged(&mut m, &vmalloc, 0, 2, 1).is_empty());
        assert_eq!(judged(&mut m, &vmalloc, 0, 3, 1), [FailureKind::Warning]);
        // An order above MAX_PAGE_ORDER fails before warn_alloc() (WARN_ON_ONCE_GFP).
        let huge = Op::AllocPages {
            gfp: GFP_ATOMIC,
            order: MAX_ORDER + 1,
        };
        assert!(judged(&mut m, &huge, 0, 20, 0).is_empty());
    }

    #[test]
    fn a_call_that_may_make_a_kmalloc_cache_may_warn_whatever_its_mask_or_result() {
        for (gfp, value) in [(GFP_ATOMIC | __GFP_NOWARN, 0), (GFP_KERNEL, 0xc000_1000)] {
            let mut m = model();
            let op = Op::MempoolAlloc {
                pool: crate::scenario::Operand::Lit(1),
                gfp,
            };
            let out = Outcome {
                value: Some(value),
                ..Default::default()
            };
            let mut j = Judgement {
                warn_alloc: expect(&op, &out),
                ..Default::default()
            };
            j.warn_alloc.kmalloc_cache_created();
            m.judge_warn_alloc(&mut j, 1, 1);
            assert!(
                j.failures.is_empty(),
                "{gfp:#x} {value:#x}: {:?}",
                j.failures
            );
        }
        // A page allocator call makes no cache: what it must do stays.
        let mut w = WarnAlloc::Must;
        w.kmalloc_cache_created();
        assert_eq!(w, WarnAlloc::Must);
    }

    #[test]
    fn a_failure_the_rules_know_reached_warn_alloc_must_print() {
        let mut m = model();
        let alloc = Op::KmemCacheAlloc {
            cache: crate::scenario::Operand::Lit(1),
            gfp: GFP_KERNEL,
        };
        let out = Outcome {
            value: Some(0),
            ..Default::default()
        };
        let mut j = Judgement {
            warn_alloc: expect(&alloc, &out),
            ..Default::default()
        };
        assert_eq!(j.warn_alloc, WarnAlloc::May);
        j.warn_alloc.reached();
        assert_eq!(j.warn_alloc, WarnAlloc::Must);
        m.judge_warn_alloc(&mut j, 3, 0);
        assert_eq!(
            j.failures.iter().map(|f| f.0).collect::<Vec<_>>(),
            [FailureKind::Warning]
        );
        // __GFP_NOWARN stays silent, and a call that did not fail stays one.
        for mut w in [
            WarnAlloc::NoWarn(GFP_KERNEL | __GFP_NOWARN),
            WarnAlloc::NotFailed,
        ] {
            let before = w;
            w.reached();
            assert_eq!(w, before);
        }
    }

    #[test]
    fn a_tainted_run_is_not_judged_but_its_window_moves() {
        let mut m = model();
        m.taint();
        assert!(judged(&mut m, &PAGE, 0, 5, 0).is_empty());
        assert!(judged(&mut m, &PAGE, 0xc000_0000, 6, 1).is_empty());
        assert_eq!(m.warn_alloc.last, Some(6));
    }
}
