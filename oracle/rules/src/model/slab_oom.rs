//! slab_out_of_memory() (mm/slub.c, CONFIG_SLUB_DEBUG): the lines SLUB prints when it cannot
//! get a slab ("SLUB: Unable to allocate memory on node -1, gfp=..."), after
//! ___slab_alloc()'s new_slab() failed with the caller's mask. Its own ratelimit,
//! `DEFINE_RATELIMIT_STATE(slub_oom_rs, DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST)`:
//! ten prints in a window of 5 seconds (statements, HZ being 1), the window starting at the
//! first print after the last one ran out.
//!
//! What one call may do ([`WarnAlloc`], as for warn_alloc()): a call whose slab allocation
//! the family's rules know failed without __GFP_NOWARN ([`WarnAlloc::reached`] of
//! `Judgement::slab_oom`: a
//! kmem_cache_alloc() from a live cache, a kmalloc() from a kmalloc cache that has handed out
//! an object) must print while the window allows; another allocating call that failed may
//! (its failure went through a slab or not: a vm_struct, a pool's reserve, a cache's struct);
//! a call that did not fail, failed with __GFP_NOWARN, or calls the page allocator alone (a
//! page allocator call, a large kmalloc()) or nothing (a vmalloc() of 0 bytes), must not.

use kmem_vocab::gfp::format_gfp;

use super::warn_alloc::WarnAlloc;
use super::{FailureKind, Judgement, Model};
use crate::scenario::Op;

/// DEFAULT_RATELIMIT_INTERVAL, in seconds (statements).
pub const INTERVAL: u64 = 5;
/// DEFAULT_RATELIMIT_BURST.
pub const BURST: u32 = 10;

/// slub_oom_rs: where the window began and how many lines it has let through.
#[derive(Clone, Debug, Default)]
pub struct SlabOomModel {
    begin: Option<u64>,
    printed: u32,
}

impl SlabOomModel {
    /// Whether ___ratelimit() lets a print through at `now`: the first ever, one after the
    /// window passed (`time_is_before_jiffies(begin + interval)`), or one within the burst.
    fn allows(&self, now: u64) -> bool {
        match self.begin {
            None => true,
            Some(b) => now > b.saturating_add(INTERVAL) || self.printed < BURST,
        }
    }

    /// One print at `now`, as ___ratelimit() counts it (a call it holds back changes only
    /// its count of missed callbacks, which the model does not keep).
    fn print(&mut self, now: u64) {
        let b = *self.begin.get_or_insert(now);
        if now > b.saturating_add(INTERVAL) {
            self.begin = Some(now);
            self.printed = 0;
        }
        self.printed = self.printed.saturating_add(1);
    }
}

/// What `op` may do with slab_out_of_memory(), from what it may do with warn_alloc()
/// (`warn`, [`super::warn_alloc::expect`]'s answer, so the call is classified once): the same,
/// but a page allocator call allocates no slab, and no rule knows yet that a slab allocation
/// failed (the slab rules' [`WarnAlloc::reached`] says so).
pub fn expect_slab_oom(op: &Op, warn: WarnAlloc) -> WarnAlloc {
    match (warn, op) {
        // Most calls: they did not fail.
        (WarnAlloc::NotFailed, _) => WarnAlloc::NotFailed,
        (
            _,
            Op::AllocPages { .. }
            | Op::GetFreePages { .. }
            | Op::GetFreePage { .. }
            | Op::GetZeroedPage { .. },
        ) => WarnAlloc::NotFailed,
        (WarnAlloc::Must, _) => WarnAlloc::May,
        (w, _) => w,
    }
}

impl Model {
    /// Judges the slab_out_of_memory() lines a call printed (`printed` of them) at jiffies
    /// `now` against what `j` says of the call, and moves the ratelimit on. Once the run is
    /// tainted nothing is judged (the ratelimit still counts).
    pub fn judge_slab_oom(&mut self, j: &mut Judgement, now: u64, printed: u32) {
        let allowed = self.slab_oom.allows(now);
        let mut held_back = false;
        for _ in 0..printed {
            held_back |= !self.slab_oom.allows(now);
            self.slab_oom.print(now);
        }
        if self.tainted {
            return;
        }
        const LINE: &str = "a \"SLUB: Unable to allocate memory\" line (slab_out_of_memory())";
        let why = match (j.slab_oom, printed) {
            (WarnAlloc::Must, 0) if allowed => {
                "a slab allocation failed without __GFP_NOWARN and slab_out_of_memory() printed nothing".to_string()
            }
            (_, 0) => return,
            (WarnAlloc::NotFailed | WarnAlloc::NothingAllocated, _) => {
                format!("{LINE} from a call with no slab allocation that failed")
            }
            (WarnAlloc::NoWarn(gfp), _) => {
                format!("{LINE} from an allocation with __GFP_NOWARN ({})", format_gfp(gfp))
            }
            (WarnAlloc::May | WarnAlloc::Must, _) if held_back => format!(
                "{LINE} its ratelimit holds back ({BURST} in {INTERVAL} seconds pass)"
            ),
            (WarnAlloc::May | WarnAlloc::Must, _) => return,
        };
        j.fail(FailureKind::Warning, why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_lets_ten_through_then_opens_after_five_seconds() {
        let mut m = SlabOomModel::default();
        for _ in 0..BURST {
            assert!(m.allows(3));
            m.print(3);
        }
        assert!(!m.allows(3) && !m.allows(8));
        assert!(m.allows(9));
        m.print(9);
        assert!(m.allows(9));
    }
}
