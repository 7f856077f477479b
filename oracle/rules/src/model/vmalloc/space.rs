//! The oracle's own bookkeeping of the vmalloc address space's free ranges, and Linux's
//! placement rule over them (alloc_vmap_area() -> __alloc_vmap_area() ->
//! find_vmap_lowest_match() in mm/vmalloc.c, 6.6).
//!
//! For an alignment up to PAGE_SIZE the search is exact: the lowest free range at or above
//! VMALLOC_START that holds the area and its guard page. Above PAGE_SIZE the search length
//! becomes size + align - 1 (the worst-case alignment overhead), and the walk down the
//! augmented tree returns the first block it passes that fits once its start is aligned: that
//! block lies no higher than the lowest block of the search length, but which one it is
//! depends on the tree's shape. The oracle then knows the candidates ([`FreeSpace::aligned_fits`])
//! and names the address only when there is one.

use std::collections::BTreeMap;

use crate::model::facts::PAGE_SIZE;

/// lazy_max_pages() with one CPU online: 32 MiB of pages.
const LAZY_MAX_PAGES: u64 = (32 << 20) / PAGE_SIZE;

/// The free ranges [start, end) of the space, merged with their neighbours, and the freed
/// ranges still on the lazy purge list (free_vmap_area_noflush()): not free until purged,
/// which happens when they hold more than lazy_max_pages(), or when a search finds no room
/// (alloc_vmap_area() purges and searches once more).
#[derive(Clone, Debug, Default)]
pub struct FreeSpace {
    free: BTreeMap<u64, u64>,
    lazy: Vec<(u64, u64)>,
    lazy_pages: u64,
}

impl FreeSpace {
    /// All of [start, end) free.
    pub fn new(start: u64, end: u64) -> FreeSpace {
        let mut free = BTreeMap::new();
        if end > start {
            free.insert(start, end);
        }
        FreeSpace {
            free,
            ..FreeSpace::default()
        }
    }

    /// A freed range [start, end) onto the lazy purge list; past lazy_max_pages() the list
    /// is purged (Linux's drain work, which the model runs at once).
    pub fn free_lazy(&mut self, start: u64, end: u64) {
        self.lazy.push((start, end));
        self.lazy_pages += (end - start) / PAGE_SIZE;
        if self.lazy_pages > LAZY_MAX_PAGES {
            self.purge();
        }
    }

    /// Whether freed ranges wait on the lazy purge list.
    pub fn has_lazy(&self) -> bool {
        !self.lazy.is_empty()
    }

    /// __purge_vmap_area_lazy(): every range on the list free again.
    pub fn purge(&mut self) {
        for (s, e) in std::mem::take(&mut self.lazy) {
            self.give(s, e);
        }
        self.lazy_pages = 0;
    }

    /// A search for `len` bytes at an `align`ed start: the addresses it may return and
    /// whether it must succeed ([`Self::lowest_fit`], [`Self::aligned_fits`]). When it would
    /// find no room (for an alignment above PAGE_SIZE, no block of len + align - 1 bytes,
    /// where the machine's search fails), alloc_vmap_area() purges the lazy list and
    /// searches again.
    pub fn search(&mut self, len: u64, align: u64) -> (Vec<u64>, bool) {
        let once = |s: &Self| {
            if align > PAGE_SIZE {
                s.aligned_fits(len, align)
            } else {
                let at: Vec<u64> = s.lowest_fit(len).into_iter().collect();
                let must = !at.is_empty();
                (at, must)
            }
        };
        let found = once(self);
        if found.1 || self.lazy.is_empty() {
            return found;
        }
        self.purge();
        once(self)
    }

    /// The lowest free range at least `len` bytes long: its start.
    fn lowest_block(&self, len: u64) -> Option<u64> {
        self.free
            .iter()
            .find(|(&s, &e)| e - s >= len)
            .map(|(&s, _)| s)
    }

    /// Where Linux must place `len` bytes (guard page included) page aligned: the lowest
    /// range that holds them; None when nothing does.
    pub fn lowest_fit(&self, len: u64) -> Option<u64> {
        self.lowest_block(len)
    }

    /// For an alignment above PAGE_SIZE: every address the search may return, lowest first
    /// (the aligned start of each free block no higher than the lowest block of
    /// len + align - 1 bytes that holds `len` bytes there), and whether the search must
    /// succeed (such a lowest block exists).
    pub fn aligned_fits(&self, len: u64, align: u64) -> (Vec<u64>, bool) {
        let align = align.max(PAGE_SIZE);
        let limit = self.lowest_block(len.saturating_add(align - 1));
        let fits = self
            .free
            .iter()
            .take_while(|(&s, _)| limit.is_none_or(|l| s <= l))
            .filter_map(|(&s, &e)| {
                let a = s.checked_next_multiple_of(align)?;
                (a.checked_add(len)? <= e).then_some(a)
            })
            .collect();
        (fits, limit.is_some())
    }

    /// Takes [start, end), which must lie in one free range; false when it does not.
    pub fn take(&mut self, start: u64, end: u64) -> bool {
        let Some((&s, &e)) = self.free.range(..=start).next_back() else {
            return false;
        };
        if end > e {
            return false;
        }
        self.free.remove(&s);
        if s < start {
            self.free.insert(s, start);
        }
        if end < e {
            self.free.insert(end, e);
        }
        true
    }

    /// Gives [start, end) back, merged with its neighbours.
    pub fn give(&mut self, start: u64, end: u64) {
        let (mut s, mut e) = (start, end);
        if let Some((&ps, &pe)) = self.free.range(..s).next_back() {
            if pe == s {
                self.free.remove(&ps);
                s = ps;
            }
        }
        if let Some(ne) = self.free.remove(&e) {
            e = ne;
        }
        self.free.insert(s, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_fit_takes_the_first_hole_that_holds_the_area() {
        let mut f = FreeSpace::new(0x10000, 0x100000);
        assert!(f.take(0x10000, 0x12000));
        assert!(f.take(0x13000, 0x15000));
        // Holes: [0x12000, 0x13000) and [0x15000, 0x100000).
        assert_eq!(f.lowest_fit(0x1000), Some(0x12000));
        assert_eq!(f.lowest_fit(0x2000), Some(0x15000));
        f.give(0x13000, 0x15000);
        assert_eq!(f.lowest_fit(0x2000), Some(0x12000));
        assert!(!f.take(0x11000, 0x13000));
        assert_eq!(f.lowest_fit(0x100000), None);
    }

    #[test]
    fn freed_ranges_wait_for_the_purge() {
        let mut f = FreeSpace::new(0x10000, 0x100000);
        assert!(f.take(0x10000, 0x12000));
        assert!(f.take(0x12000, 0x13000));
        f.free_lazy(0x10000, 0x12000);
        // Not free yet: the next search goes above.
        assert_eq!(f.lowest_fit(0x1000), Some(0x13000));
        // A search that finds room does not purge.
        assert_eq!(f.search(0x1000, PAGE_SIZE), (vec![0x13000], true));
        assert!(f.has_lazy());
        // One that would not does: the range is free again, merged with nothing below.
        assert_eq!(f.search(0x100000, PAGE_SIZE), (vec![], false));
        assert!(!f.has_lazy());
        assert_eq!(f.lowest_fit(0x2000), Some(0x10000));
        // Past lazy_max_pages() the list purges by itself.
        assert!(f.take(0x13000, 0x14000));
        f.free_lazy(0x13000, 0x14000);
        assert!(f.has_lazy());
        let big = (LAZY_MAX_PAGES + 1) * PAGE_SIZE;
        let mut g = FreeSpace::new(0, big + 0x1000);
        assert!(g.take(0, big));
        g.free_lazy(0, big);
        assert!(!g.has_lazy());
        assert_eq!(g.lowest_fit(big), Some(0));
    }

    #[test]
    fn an_alignment_above_a_page_allows_the_blocks_below_the_lowest_long_one() {
        let mut f = FreeSpace::new(0x10000, 0x100000);
        // Holes: [0x11000, 0x14000) (holds 8K at 0x12000), [0x18000, 0x100000).
        assert!(f.take(0x10000, 0x11000));
        assert!(f.take(0x14000, 0x18000));
        let (fits, must) = f.aligned_fits(0x2000, 0x2000);
        assert_eq!(fits, vec![0x12000, 0x18000]);
        assert!(must);
        let (fits, _) = f.aligned_fits(0x2000, 0x4000);
        assert_eq!(fits, vec![0x18000]);
    }
}
