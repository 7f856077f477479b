//! The live blocks of the page rules, by head pfn. Blocks of one order and one owner that
//! lie end to end are kept as one entry for the whole run: the single pages another
//! allocator took one after another in one statement (a vmalloc area's, a large slab
//! cache's), as their page events are judged (traffic.rs), and the blocks a `repeat` takes
//! one after another, lowest first, until memory runs out. Every question about a block
//! sees them as the separate blocks they are, and an entry is split only when one of its
//! blocks changes hands alone.

use std::collections::BTreeMap;
use std::fmt;

use super::Block;

#[derive(Clone, Copy)]
struct Entry {
    block: Block,
    /// The pages the entry covers: 2^order for one block; for a run of blocks, that times
    /// how many.
    pages: u64,
}

impl Entry {
    /// An entry for the one block `b`.
    fn one(block: Block) -> Entry {
        Entry {
            block,
            pages: 1u64 << block.order.min(63),
        }
    }

    fn end(&self, head: u64) -> u64 {
        head.saturating_add(self.pages)
    }

    fn is_run(&self) -> bool {
        self.pages > self.size()
    }

    /// The pages of one of its blocks.
    fn size(&self) -> u64 {
        1u64 << self.block.order.min(63)
    }

    /// The head of the block of this entry (headed at `h`) that holds `pfn`: heads are
    /// naturally aligned.
    fn head_of(&self, h: u64, pfn: u64) -> u64 {
        h + ((pfn - h) & !(self.size() - 1))
    }
}

#[derive(Clone, Default)]
pub struct Blocks {
    map: BTreeMap<u64, Entry>,
}

impl Blocks {
    /// The entry whose pages hold `pfn`: (its first pfn, entry).
    fn entry_of(&self, pfn: u64) -> Option<(u64, Entry)> {
        let (&h, &e) = self.map.range(..=pfn).next_back()?;
        (pfn < e.end(h)).then_some((h, e))
    }

    /// The live block containing `pfn`: (head, block).
    pub fn block_of(&self, pfn: u64) -> Option<(u64, Block)> {
        let (h, e) = self.entry_of(pfn)?;
        Some((e.head_of(h, pfn), e.block))
    }

    /// The live block headed at `pfn`.
    pub fn get(&self, pfn: u64) -> Option<Block> {
        self.block_of(pfn)
            .filter(|&(h, _)| h == pfn)
            .map(|(_, b)| b)
    }

    /// The live block headed at `pfn`, to change.
    pub fn get_mut(&mut self, pfn: u64) -> Option<&mut Block> {
        let (h, e) = self.entry_of(pfn)?;
        if e.head_of(h, pfn) != pfn {
            return None;
        }
        if e.is_run() {
            self.cut(h, e, pfn, pfn + e.size());
            self.map.insert(pfn, Entry::one(e.block));
        }
        self.map.get_mut(&pfn).map(|e| &mut e.block)
    }

    /// The first live block whose head lies in [s, e).
    pub fn first_in(&self, s: u64, e: u64) -> Option<(u64, Block)> {
        if s >= e {
            return None;
        }
        if let Some((h, en)) = self.entry_of(s) {
            // The first head of its blocks at or after s.
            let head = en.head_of(h, s);
            let head = if head == s { s } else { head + en.size() };
            if head < en.end(h) {
                return (head < e).then_some((head, en.block));
            }
        }
        self.map.range(s..e).next().map(|(&h, en)| (h, en.block))
    }

    /// A new live block at `pfn`: the run it continues grows, when the block before it is
    /// of the same order and owner.
    pub fn insert(&mut self, pfn: u64, b: Block) {
        let one = Entry::one(b);
        if let Some((&h, e)) = self.map.range_mut(..pfn).next_back() {
            if e.end(h) == pfn && e.block == b {
                e.pages += one.pages;
                return;
            }
        }
        self.map.insert(pfn, one);
    }

    /// `n` new live blocks of order 0 (`b.order` is 0), one for each page from `pfn` on.
    pub fn insert_run(&mut self, pfn: u64, n: u64, b: Block) {
        if n > 0 {
            self.map.insert(pfn, Entry { block: b, pages: n });
        }
    }

    /// Drops the live block headed at `pfn`, if there is one.
    pub fn remove(&mut self, pfn: u64) {
        match self.entry_of(pfn) {
            Some((h, e)) if e.head_of(h, pfn) == pfn => self.cut(h, e, pfn, pfn + e.size()),
            _ => {}
        }
    }

    /// When every page of [s, t) is a live order-0 block the kernel (not the client)
    /// holds: drops them all and says so. Otherwise changes nothing.
    pub fn remove_kernel_pages(&mut self, s: u64, t: u64) -> bool {
        let mut p = s;
        while p < t {
            match self.entry_of(p) {
                Some((h, e)) if e.block.order == 0 && !e.block.client => p = e.end(h),
                _ => return false,
            }
        }
        let mut p = s;
        while p < t {
            let Some((h, e)) = self.entry_of(p) else {
                break;
            };
            let end = e.end(h).min(t);
            self.cut(h, e, p, end);
            p = end;
        }
        true
    }

    /// Takes pages [s, t) out of the entry (h, e) that holds them, keeping its pages before
    /// and after (only a run has any).
    fn cut(&mut self, h: u64, e: Entry, s: u64, t: u64) {
        self.map.remove(&h);
        if h < s {
            self.map.insert(h, Entry { pages: s - h, ..e });
        }
        let end = e.end(h);
        if t < end {
            self.map.insert(
                t,
                Entry {
                    pages: end - t,
                    ..e
                },
            );
        }
    }

    /// The pfn spans [start, end) of the entries whose first pfn lies in [s, e), in order
    /// (a run as one span).
    pub fn spans(&self, s: u64, e: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.map.range(s..e).map(|(&h, en)| (h, en.end(h)))
    }

    /// Every live block in order of its head, a run's one by one.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Block)> + '_ {
        self.map.iter().flat_map(|(&h, e)| {
            let size = e.size();
            (0..e.pages / size).map(move |i| (h + i * size, e.block))
        })
    }
}

/// As a map from head to block, whatever runs hold them.
impl fmt::Debug for Blocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{QuickCheck, TestResult};

    fn block(order: u32, client: bool) -> Block {
        Block {
            order,
            line: 7,
            client,
        }
    }

    /// Runs and single blocks answer every question as a map of single blocks does.
    /// Each op: what to do, a pfn, a length or order, and whose.
    fn same_as_singles(ops: Vec<(u8, u8, u8, bool)>) -> TestResult {
        let mut b = Blocks::default();
        let mut m: BTreeMap<u64, Block> = BTreeMap::new();
        let free = |m: &BTreeMap<u64, Block>, s: u64, t: u64| {
            (s..t).all(|p| {
                m.range(..=p)
                    .next_back()
                    .is_none_or(|(&h, x)| p >= h + (1 << x.order))
            })
        };
        for (what, at, k, client) in ops {
            let pfn = u64::from(at % 96);
            match what % 5 {
                0 => {
                    let n = u64::from(k % 9);
                    if free(&m, pfn, pfn + n) {
                        b.insert_run(pfn, n, block(0, false));
                        m.extend((pfn..pfn + n).map(|p| (p, block(0, false))));
                    }
                }
                1 => {
                    let order = u32::from(k % 4);
                    let head = pfn & !((1 << order) - 1);
                    if free(&m, head, head + (1 << order)) {
                        b.insert(head, block(order, client));
                        m.insert(head, block(order, client));
                    }
                }
                2 => {
                    b.remove(pfn);
                    m.remove(&pfn);
                }
                3 => {
                    if let (Some(x), Some(y)) = (b.get_mut(pfn), m.get_mut(&pfn)) {
                        x.client = client;
                        y.client = client;
                    }
                }
                _ => {
                    let t = pfn + u64::from(k % 9);
                    let singles =
                        (pfn..t).all(|p| m.get(&p).is_some_and(|x| x.order == 0 && !x.client));
                    if b.remove_kernel_pages(pfn, t) != singles {
                        return TestResult::failed();
                    }
                    if singles {
                        for p in pfn..t {
                            m.remove(&p);
                        }
                    }
                }
            }
            let want: Vec<(u64, u32, bool)> =
                m.iter().map(|(&h, x)| (h, x.order, x.client)).collect();
            let got: Vec<(u64, u32, bool)> =
                b.iter().map(|(h, x)| (h, x.order, x.client)).collect();
            if got != want {
                return TestResult::failed();
            }
            for p in 0..100 {
                let by_map = m
                    .range(..=p)
                    .next_back()
                    .filter(|(&h, x)| p < h + (1 << x.order))
                    .map(|(&h, x)| (h, x.order));
                let first = m.range(p..p + 5).next().map(|(&h, x)| (h, x.order));
                if b.block_of(p).map(|(h, x)| (h, x.order)) != by_map
                    || b.get(p).map(|x| x.order) != m.get(&p).map(|x| x.order)
                    || b.first_in(p, p + 5).map(|(h, x)| (h, x.order)) != first
                {
                    return TestResult::failed();
                }
            }
        }
        TestResult::passed()
    }

    #[test]
    fn runs_answer_as_single_blocks_do() {
        QuickCheck::new()
            .tests(500)
            .quickcheck(same_as_singles as fn(Vec<(u8, u8, u8, bool)>) -> TestResult);
    }
}
