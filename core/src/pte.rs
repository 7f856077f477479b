//! The PTEs of the kernel's non-linear ranges (vmalloc, pkmap, fixmap), by virtual page
//! number: a block of entries per 512 pages, as a page of PTEs holds them (x86_64 and PAE;
//! a two-level i386 table holds 1024, which changes nothing here but the block count).
//!
//! Mapping, unmapping and looking up a page cost one hash lookup of its block and a bit;
//! the blocks are walked in address order through an ordered set of their numbers, which
//! changes only when a block is created or emptied. The hash table is only looked up, never
//! walked, so its order decides nothing.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

const BLOCK_SHIFT: u32 = 9;
const BLOCK: usize = 1 << BLOCK_SHIFT;

#[derive(Clone, Debug)]
struct Block {
    pfn: [u64; BLOCK],
    /// Bit i set when entry i is present.
    present: [u64; BLOCK / 64],
    count: u32,
}

impl Block {
    fn new() -> Box<Block> {
        Box::new(Block {
            pfn: [0; BLOCK],
            present: [0; BLOCK / 64],
            count: 0,
        })
    }

    fn get(&self, i: usize) -> Option<u64> {
        (self.present[i >> 6] >> (i & 63) & 1 != 0).then_some(self.pfn[i])
    }
}

/// Present entries: virtual page number -> pfn.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ptes {
    blocks: FxHashMap<u64, Box<Block>>,
    /// The numbers of the blocks in `blocks`, for walks in address order.
    order: BTreeSet<u64>,
}

/// A virtual page number's block and its entry in it.
fn split(vpn: u64) -> (u64, usize) {
    (vpn >> BLOCK_SHIFT, (vpn as usize) & (BLOCK - 1))
}

impl Ptes {
    /// Maps `vpn` to `pfn`; the pfn it mapped before, if any.
    pub(crate) fn insert(&mut self, vpn: u64, pfn: u64) -> Option<u64> {
        let (key, i) = split(vpn);
        let order = &mut self.order;
        let b = self.blocks.entry(key).or_insert_with(|| {
            order.insert(key);
            Block::new()
        });
        let old = b.get(i);
        b.present[i >> 6] |= 1 << (i & 63);
        b.pfn[i] = pfn;
        if old.is_none() {
            b.count += 1;
        }
        old
    }

    /// Unmaps `vpn`; the pfn it mapped, if any.
    pub(crate) fn remove(&mut self, vpn: u64) -> Option<u64> {
        let (key, i) = split(vpn);
        let b = self.blocks.get_mut(&key)?;
        let old = b.get(i)?;
        b.present[i >> 6] &= !(1 << (i & 63));
        b.count -= 1;
        if b.count == 0 {
            self.blocks.remove(&key);
            self.order.remove(&key);
        }
        Some(old)
    }

    pub(crate) fn get(&self, vpn: u64) -> Option<u64> {
        let (key, i) = split(vpn);
        self.blocks.get(&key)?.get(i)
    }

    /// Present entries with virtual page numbers in [start, end), in order.
    pub(crate) fn range(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let keys = (start < end).then(|| start >> BLOCK_SHIFT..=(end - 1) >> BLOCK_SHIFT);
        keys.into_iter()
            .flat_map(|k| self.order.range(k))
            .filter_map(|key| self.blocks.get(key).map(|b| (*key, b)))
            .flat_map(|(key, b)| {
                (0..BLOCK)
                    .filter_map(move |i| b.get(i).map(|pfn| ((key << BLOCK_SHIFT) + i as u64, pfn)))
            })
            .filter(move |&(vpn, _)| vpn >= start && vpn < end)
    }

    /// How many entries are present (the blocks are few: one per 512 pages mapped).
    pub(crate) fn len(&self) -> usize {
        self.blocks.values().map(|b| b.count as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{QuickCheck, TestResult};
    use std::collections::BTreeMap;

    /// The same operations on an ordered map give the same answers and the same walks.
    /// Each op: what to do (remove, look up, map), the page (clustered, as mappings are: a
    /// few blocks, both ends of each), the pfn, and a range to walk.
    type Op = (u8, u8, u16, u32, (u32, u32));

    fn same_as_a_map(ops: Vec<Op>) -> TestResult {
        let mut p = Ptes::default();
        let mut m: BTreeMap<u64, u64> = BTreeMap::new();
        for (what, block, at, pfn, (s, e)) in ops {
            let vpn = u64::from(block % 4) * 100_000 + u64::from(at % 1500);
            let ok = match what % 3 {
                0 => p.remove(vpn) == m.remove(&vpn),
                1 => p.get(vpn) == m.get(&vpn).copied(),
                _ => p.insert(vpn, pfn.into()) == m.insert(vpn, pfn.into()),
            };
            let (s, e) = (u64::from(s % 400_000), u64::from(e % 400_000));
            let want: Vec<(u64, u64)> = match s < e {
                true => m.range(s..e).map(|(&v, &f)| (v, f)).collect(),
                false => vec![],
            };
            if !ok || p.len() != m.len() || p.range(s, e).collect::<Vec<_>>() != want {
                return TestResult::failed();
            }
        }
        let all: Vec<(u64, u64)> = m.iter().map(|(&v, &f)| (v, f)).collect();
        TestResult::from_bool(p.range(0, u64::MAX).collect::<Vec<_>>() == all)
    }

    #[test]
    fn ptes_behave_as_an_ordered_map() {
        QuickCheck::new()
            .tests(300)
            .quickcheck(same_as_a_map as fn(Vec<Op>) -> TestResult);
    }
}
