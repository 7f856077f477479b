//! /proc/buddyinfo as the page rules predict it, from the set of free pages alone.

use super::PageModel;
use crate::model::facts::MAX_ORDER;

impl PageModel {
    /// /proc/buddyinfo as a correct buddy allocator must show it: its free blocks are the
    /// maximal naturally aligned runs of free pages in each zone (no two free buddies are
    /// ever left unmerged), so the free-page set alone decides nr_free of every order.
    pub fn expected_buddyinfo(&self) -> Vec<[u64; (MAX_ORDER + 1) as usize]> {
        self.facts
            .zones
            .iter()
            .enumerate()
            .map(|(zi, z)| {
                let mut nr = [0u64; (MAX_ORDER + 1) as usize];
                let mut cur = z.start;
                for (s, e) in self.busy(zi) {
                    if cur < s {
                        count_blocks(&mut nr, cur, s);
                    }
                    cur = cur.max(e);
                }
                nr
            })
            .collect()
    }
}

/// Adds the maximal aligned blocks of [s, e) to `nr`; whole top-order blocks are counted,
/// not walked.
fn count_blocks(nr: &mut [u64; (MAX_ORDER + 1) as usize], mut s: u64, e: u64) {
    let top = 1u64 << MAX_ORDER;
    while s < e {
        if s.is_multiple_of(top) && e - s >= top {
            let n = (e - s) / top;
            nr[MAX_ORDER as usize] += n;
            s += n * top;
            continue;
        }
        let mut o = MAX_ORDER;
        while o > 0 && (!s.is_multiple_of(1 << o) || s + (1 << o) > e) {
            o -= 1;
        }
        nr[o as usize] += 1;
        s += 1 << o;
    }
}
