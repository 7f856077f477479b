//! Which kept candidate masks a change to the handles makes stale (see `ops::cands`): the
//! handle that changed, and the handles whose membership of the sets reads it.

use super::state::{Gen, Kind};

impl Gen<'_> {
    /// Notes that handle `t`'s own state changed (bound, its counts moved): a handle's
    /// membership depends on other handles only through their life and kmap counts, which
    /// [`Gen::touched_with_dependents`] covers, so `t` alone needs computing again.
    pub(super) fn touched(&mut self, t: usize) {
        self.fresh = false;
        if !self.all_stale {
            self.stale.push(t);
        }
    }

    /// Notes that handle `t`'s life or kmap count changed: its own mask and those of the
    /// handles whose membership asks of `t` (see [`Gen::asks_of`]) may have changed.
    pub(super) fn touched_with_dependents(&mut self, t: usize) {
        self.fresh = false;
        if self.all_stale {
            return;
        }
        self.stale.push(t);
        for k in 0..self.scan.len() {
            if let Some(&j) = self.scan.get(k) {
                if j != t && self.asks_of(j, t) {
                    self.stale.push(j);
                }
            }
        }
    }

    /// Whether handle `j`'s membership of the candidate sets (`membership`, `flagged`) reads
    /// the life or kmap count of handle `t`: `t` is `j`'s owner (a view), the page a kmap
    /// `j` (or `j`'s owner) maps, or the cache or pool of an object or element `j`.
    fn asks_of(&self, j: usize, t: usize) -> bool {
        let r = self.root(j);
        if r == t {
            return true;
        }
        match self.kind(r) {
            Some(&Kind::Kmap { page, .. }) if self.root(page) == t => return true,
            _ => {}
        }
        matches!(
            self.kind(j),
            Some(&Kind::SlabObj { cache, .. }) if cache == t
        ) || matches!(self.kind(j), Some(&Kind::PoolElem { pool, .. }) if pool == t)
    }

    /// Notes that any handle's membership may have changed.
    pub(super) fn touched_all(&mut self) {
        self.fresh = false;
        self.all_stale = true;
        self.stale.clear();
    }
}
