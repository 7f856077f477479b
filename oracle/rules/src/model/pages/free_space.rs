//! A zone's free pages as runs, indexed by the largest naturally aligned block each run
//! holds, so that "is there a free aligned block of order k in this zone?" costs a few
//! array reads instead of a walk over every live block. The runs are what the page rules
//! already say is free (the zone less the boot reservations and the live blocks); this is
//! only their bookkeeping, not a second allocator: it never chooses a block.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Unbounded};

use crate::model::facts::MAX_ORDER;

/// nr_free of each order, as /proc/buddyinfo prints it.
pub(crate) type NrFree = [u64; (MAX_ORDER + 1) as usize];

/// Orders counted in the index: every order a u64 pfn range can hold.
const ORDERS: usize = 64;

/// The order of the largest naturally aligned block inside [s, e), for a non-empty run: the
/// largest power of two not above the length fits if its first aligned start does, and
/// half of it always fits (a run of 2^k pages holds an aligned block of 2^(k-1)).
fn largest_block(s: u64, e: u64) -> u32 {
    let k = 63 - (e - s).leading_zeros();
    // s rounded up to 2^k, then 2^k more, by masks (a remainder would divide).
    let fits = |k: u32| {
        let mask = (1u64 << k) - 1;
        s.checked_add(mask)
            .and_then(|c| (c & !mask).checked_add(mask + 1))
            .is_some_and(|end| end <= e)
    };
    if fits(k) {
        k
    } else {
        k.saturating_sub(1)
    }
}

/// One zone's free runs.
#[derive(Clone, Debug)]
pub(crate) struct FreeRuns {
    /// end (exclusive) -> start; disjoint and never adjacent (adjacent runs are merged).
    /// Keyed by end so that taking the head of a run, what the buddy's lowest-first choice
    /// mostly does, changes the run in place.
    runs: BTreeMap<u64, u64>,
    /// How many runs have their largest aligned block of each order.
    by_order: [u32; ORDERS],
    /// Bit k set when `by_order[k]` is not zero: which orders some run's largest block has.
    orders: u64,
    /// The maximal aligned blocks (at most MAX_ORDER) the runs split into: what a correct
    /// buddy allocator's free lists hold.
    nr: NrFree,
}

impl FreeRuns {
    /// The pages of [start, end) outside the `reserved` ranges (sorted by start).
    pub(crate) fn new(start: u64, end: u64, reserved: &[(u64, u64)]) -> FreeRuns {
        let mut f = FreeRuns {
            runs: BTreeMap::new(),
            by_order: [0; ORDERS],
            orders: 0,
            nr: [0; (MAX_ORDER + 1) as usize],
        };
        let mut cur = start;
        for &(s, e) in reserved {
            let (s, e) = (s.max(start), e.min(end));
            if s >= e {
                continue;
            }
            if cur < s {
                f.insert_run(cur, s);
            }
            cur = cur.max(e);
        }
        if cur < end {
            f.insert_run(cur, end);
        }
        f
    }

    fn insert_run(&mut self, s: u64, e: u64) {
        self.runs.insert(e, s);
        self.count_run(largest_block(s, e), true);
        count_blocks(&mut self.nr, s, e, true);
    }

    /// Removes the run that ends at `e`; its start.
    fn remove_run(&mut self, e: u64) -> Option<u64> {
        let s = self.runs.remove(&e)?;
        self.count_run(largest_block(s, e), false);
        count_blocks(&mut self.nr, s, e, false);
        Some(s)
    }

    /// The run [s, e) lost its head [s, to) (s < to < e) in place: its counts. The maximal blocks of
    /// a run are chosen from its start, each the largest its start's alignment and the run
    /// allow; so the blocks wholly after `to`'s block stay as they were: only the blocks up
    /// to the one holding `to - 1` are counted off, and that block's part from `to` on
    /// (which splits the same way whatever follows it) counted in.
    fn take_head(&mut self, s: u64, to: u64, e: u64) {
        self.count_run(largest_block(s, e), false);
        self.count_run(largest_block(to, e), true);
        let mut head = [0u64; (MAX_ORDER + 1) as usize];
        let mut c = s;
        let mut steps = 0;
        while c < to && steps <= 2 * MAX_ORDER + 2 {
            let o = c
                .trailing_zeros()
                .min(63 - (e - c).leading_zeros())
                .min(MAX_ORDER);
            head[o as usize] += 1;
            c += 1 << o;
            steps += 1;
        }
        if c >= to {
            for (n, h) in self.nr.iter_mut().zip(head) {
                *n = n.saturating_sub(h);
            }
            count_blocks(&mut self.nr, to, c, true);
        } else {
            count_blocks(&mut self.nr, s, e, false);
            count_blocks(&mut self.nr, to, e, true);
        }
    }

    /// nr_free of every order a correct buddy allocator shows for these free pages.
    pub(crate) fn nr_free(&self) -> NrFree {
        self.nr
    }

    /// Whether some free run holds a naturally aligned block of 2^order pages.
    pub(crate) fn has_block(&self, order: u32) -> bool {
        order < 64 && self.orders >> order != 0
    }

    /// One run more (or less) whose largest aligned block has order `k`.
    fn count_run(&mut self, k: u32, add: bool) {
        let c = &mut self.by_order[k as usize];
        *c = if add { *c + 1 } else { c.saturating_sub(1) };
        if *c == 0 {
            self.orders &= !(1 << k);
        } else {
            self.orders |= 1 << k;
        }
    }

    /// The first run that ends after `p`: (start, end).
    fn run_after(&self, p: u64) -> Option<(u64, u64)> {
        self.runs
            .range((Excluded(p), Unbounded))
            .next()
            .map(|(&e, &s)| (s, e))
    }

    /// Whether every page of [s, e) is free (inside one run).
    pub(crate) fn contains(&self, s: u64, e: u64) -> bool {
        self.run_after(s).is_some_and(|(rs, re)| rs <= s && e <= re)
    }

    /// Pages [s, e) are no longer free (what of them was): each run they overlap loses its
    /// part inside them. (An allocation's common case, a block wholly free, is
    /// `take_if_free`.)
    pub(crate) fn take(&mut self, s: u64, e: u64) {
        if s >= e {
            return;
        }
        while let Some((rs, re)) = self.run_after(s).filter(|&(rs, _)| rs < e) {
            // What is left of that run ends at s or starts at e: the next run after s is
            // the next one overlapping, or none.
            self.take_if_free(s.max(rs), e.min(re));
        }
    }

    /// When every page of [s, e) is free (inside one run), takes them and says so; otherwise
    /// changes nothing. `contains` then `take` with one search of the runs (an allocation's
    /// common case).
    pub(crate) fn take_if_free(&mut self, s: u64, e: u64) -> bool {
        if s >= e {
            return self.contains(s, e);
        }
        let Some((&re, start)) = self.runs.range_mut((Excluded(s), Unbounded)).next() else {
            return false;
        };
        let rs = *start;
        if rs > s || e > re {
            return false;
        }
        if s == rs && e < re {
            *start = e;
            self.take_head(rs, e, re);
            return true;
        }
        self.remove_run(re);
        if rs < s {
            self.insert_run(rs, s);
        }
        if re > e {
            self.insert_run(e, re);
        }
        true
    }

    /// Pages [s, e) are free again, merged with the runs they touch.
    pub(crate) fn give(&mut self, s: u64, e: u64) {
        if s >= e {
            return;
        }
        let (mut lo, mut hi) = (s, e);
        // Every run overlapping or adjacent to [s, e]: those ending at s or later that
        // start at e or earlier.
        while let Some((&re, &rs)) = self.runs.range(lo..).next() {
            if rs > hi {
                break;
            }
            self.remove_run(re);
            lo = lo.min(rs);
            hi = hi.max(re);
        }
        self.insert_run(lo, hi);
    }

    #[cfg(test)]
    pub(crate) fn runs(&self) -> Vec<(u64, u64)> {
        self.runs.iter().map(|(&e, &s)| (s, e)).collect()
    }
}

/// Adds (or takes away) the maximal aligned blocks of [s, e) to `nr`: each block is the
/// largest that both `s`'s alignment and what is left allow (at most MAX_ORDER); whole
/// top-order blocks are counted, not walked.
fn count_blocks(nr: &mut NrFree, mut s: u64, e: u64, add: bool) {
    let top = 1u64 << MAX_ORDER;
    let mut count = |o: u32, n: u64| {
        let c = &mut nr[o as usize];
        *c = if add { *c + n } else { c.saturating_sub(n) };
    };
    while s < e {
        if s.is_multiple_of(top) && e - s >= top {
            let n = (e - s) / top;
            count(MAX_ORDER, n);
            s += n * top;
            continue;
        }
        let o = s
            .trailing_zeros()
            .min(63 - (e - s).leading_zeros())
            .min(MAX_ORDER);
        count(o, 1);
        s += 1 << o;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer by definition: a walk over every page.
    fn has_block_by_pages(free: &[bool], base: u64, order: u32) -> bool {
        let size = 1u64 << order;
        let n = free.len() as u64;
        let mut c = base.next_multiple_of(size);
        while c + size <= base + n {
            if (c..c + size).all(|p| free[(p - base) as usize]) {
                return true;
            }
            c += size;
        }
        false
    }

    /// The first definitions, by walking: the closed forms above must agree with them.
    fn largest_block_by_walk(s: u64, e: u64) -> u32 {
        (0..ORDERS as u32)
            .filter(|&k| {
                let size = 1u64 << k;
                s.checked_next_multiple_of(size)
                    .and_then(|c| c.checked_add(size))
                    .is_some_and(|end| end <= e)
            })
            .max()
            .unwrap_or(0)
    }

    fn count_blocks_by_walk(nr: &mut NrFree, mut s: u64, e: u64) {
        while s < e {
            let mut o = MAX_ORDER;
            while o > 0 && (!s.is_multiple_of(1 << o) || s + (1 << o) > e) {
                o -= 1;
            }
            nr[o as usize] += 1;
            s += 1 << o;
        }
    }

    #[test]
    fn closed_forms_agree_with_walks() {
        // Low pfns, and pfns about a high power of two (every bit above MAX_ORDER flips).
        let starts = (0..300u64).chain((1u64 << 40) - 1100..(1 << 40) - 1000);
        for s in starts {
            for e in s + 1..s + 2100 {
                assert_eq!(
                    largest_block(s, e),
                    largest_block_by_walk(s, e),
                    "[{s}, {e})"
                );
                let (mut a, mut b) = ([0; (MAX_ORDER + 1) as usize], [0; (MAX_ORDER + 1) as usize]);
                count_blocks(&mut a, s, e, true);
                count_blocks_by_walk(&mut b, s, e);
                assert_eq!(a, b, "[{s}, {e})");
            }
        }
    }

    #[test]
    fn largest_block_of_runs() {
        assert_eq!(largest_block(0, 1), 0);
        assert_eq!(largest_block(0, 1024), 10);
        assert_eq!(largest_block(1, 1024), 9);
        assert_eq!(largest_block(3, 9), 2);
        assert_eq!(largest_block(5, 7), 0);
        assert_eq!(largest_block(5, 8), 1);
        assert_eq!(largest_block(7, 8), 0);
        assert_eq!(largest_block(u64::MAX - 1, u64::MAX), 0);
    }

    /// Random takes and gives against the page-by-page answer for every order.
    #[test]
    fn index_agrees_with_a_walk_over_the_pages() {
        let (base, n) = (0x13u64, 700u64);
        let reserved = [(0x40, 0x48), (0x100, 0x101), (0x2a0, 0x300)];
        let mut f = FreeRuns::new(base, base + n, &reserved);
        let mut free: Vec<bool> = (base..base + n)
            .map(|p| !reserved.iter().any(|&(s, e)| s <= p && p < e))
            .collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for step in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let s = base + x % n;
            let len = 1 + (x >> 20) % 40;
            let e = (s + len).min(base + n);
            if (x >> 40).is_multiple_of(4) {
                // Takes only what is wholly free, and says whether it was.
                let all = (s..e).all(|p| free[(p - base) as usize]);
                assert_eq!(
                    f.take_if_free(s, e),
                    all,
                    "step {step}: take_if_free [{s}, {e})"
                );
                if all {
                    (s..e).for_each(|p| free[(p - base) as usize] = false);
                }
            } else if (x >> 40).is_multiple_of(2) {
                f.take(s, e);
                (s..e).for_each(|p| free[(p - base) as usize] = false);
            } else {
                // Only pages that are not reserved come back.
                f.give(s, e);
                (s..e).for_each(|p| free[(p - base) as usize] = true);
            }
            let (cs, ce) = (s.min(e), e.max(s + 1).min(base + n));
            assert_eq!(
                f.contains(cs, ce),
                (cs..ce).all(|p| free[(p - base) as usize]),
                "step {step}: contains [{cs}, {ce})"
            );
            for order in 0..12 {
                assert_eq!(
                    f.has_block(order),
                    has_block_by_pages(&free, base, order),
                    "step {step}, order {order}"
                );
            }
            let runs = f.runs();
            assert!(
                runs.windows(2).all(|w| w[0].1 < w[1].0),
                "step {step}: {runs:?}"
            );
            let mut nr = [0; (MAX_ORDER + 1) as usize];
            runs.iter()
                .for_each(|&(s, e)| count_blocks(&mut nr, s, e, true));
            assert_eq!(f.nr_free(), nr, "step {step}");
            let pages: u64 = runs.iter().map(|r| r.1 - r.0).sum();
            assert_eq!(pages, free.iter().filter(|&&b| b).count() as u64);
        }
    }
}
