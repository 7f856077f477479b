//! /proc/buddyinfo as the page rules predict it, from the set of free pages alone.

use super::PageModel;
use crate::model::facts::MAX_ORDER;

impl PageModel {
    /// /proc/buddyinfo as a correct buddy allocator must show it: its free blocks are the
    /// maximal naturally aligned runs of free pages in each zone (no two free buddies are
    /// ever left unmerged), so the free-page set alone decides nr_free of every order. The
    /// free runs keep the count as they change (free_space.rs).
    pub fn expected_buddyinfo(&self) -> Vec<[u64; (MAX_ORDER + 1) as usize]> {
        self.free.iter().map(|f| f.nr_free()).collect()
    }
}
