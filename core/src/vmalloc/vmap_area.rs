//! The vmap area space: the allocator of address ranges beneath vmalloc (the seam
//! [`VmapSpace`]), and kmem's own implementation of it, the free-range index
//! [`FreeRanges`] with alloc_vmap_area()'s lowest fit.

use std::collections::{BTreeMap, BTreeSet};

use crate::{PAGE_SHIFT, PAGE_SIZE};
pub use kmem_vocab::VmapFit;

/// The vmalloc address-space allocator: what alloc_vmap_area() and free_vmap_area() ask of
/// the free ranges of [VMALLOC_START, VMALLOC_END), beneath everything vmalloc itself
/// decides (the guard page, the vm_struct bookkeeping, the pages and their mapping).
///
/// Real alternatives exist: Linux itself searches its free tree lowest-first for vmalloc
/// and top-down for the per-CPU allocator's areas (pcpu_get_vm_areas()), and other kernels
/// keep their kernel virtual space in other range allocators (vmem arenas, bitmaps).
///
/// The contract an implementation keeps, and all the oracle judges: a range it hands out
/// lies in the space, starts at a multiple of `align`, and overlaps no range handed out and
/// not given back; and it fails only when no free range is `size + align - 1` bytes long
/// (`size` for an alignment up to PAGE_SIZE), as Linux's search of its free tree does. Which
/// fitting range it takes it declares with [`VmapSpace::fit`]: a space that takes the lowest
/// fit, as alloc_vmap_area() does, has every address and every failure for want of address
/// space predicted by the oracle; any other only the contract above.
pub trait VmapSpace {
    /// The placement rule this space keeps.
    fn fit(&self) -> VmapFit;
    /// Takes `size` bytes (a multiple of PAGE_SIZE) starting at a multiple of `align` (a
    /// power of two; PAGE_SIZE or less asks for page alignment only). None when nothing
    /// fits.
    fn alloc(&mut self, size: u64, align: u64) -> Option<u64>;
    /// Gives back [start, start + size), a range `alloc` handed out.
    fn free(&mut self, start: u64, size: u64);
    /// The free ranges [start, end), in address order.
    fn free_ranges(&self) -> Vec<(u64, u64)>;
}

/// Buckets of free ranges by length: one per page count up to 64, then eight per power of
/// two (as TLSF does). Bucket order follows length order, so every range in a bucket above a
/// request's own bucket fits it.
const EXACT_BUCKETS: u64 = 64;
const SUB_BUCKETS: u64 = 8;
const NR_BUCKETS: usize = (EXACT_BUCKETS + 64 * SUB_BUCKETS) as usize;

fn bucket_of(len: u64) -> usize {
    let pages = (len >> PAGE_SHIFT).max(1);
    if pages <= EXACT_BUCKETS {
        return (pages - 1) as usize;
    }
    let k = 63 - u64::from(pages.leading_zeros()); // >= 6
    let sub = (pages >> (k - 3)) & (SUB_BUCKETS - 1);
    (EXACT_BUCKETS + (k - 6) * SUB_BUCKETS + sub) as usize
}

/// The free address ranges of the vmalloc space: by start (for merging) and by length
/// bucket (for a lowest-address first fit that does not walk every hole, the job of
/// alloc_vmap_area()'s augmented rb-tree).
#[derive(Clone, Debug)]
pub struct FreeRanges {
    /// Start to exclusive end, merged with their neighbours.
    by_start: BTreeMap<u64, u64>,
    /// (length bucket, start) of every range: one set rather than a set per bucket, so that
    /// a new space (one per boot) allocates nothing for its hundreds of empty buckets.
    buckets: BTreeSet<(usize, u64)>,
    /// Bit b set when bucket b is not empty.
    nonempty: Vec<u64>,
}

impl FreeRanges {
    /// The whole of [start, end) free.
    pub fn new(start: u64, end: u64) -> FreeRanges {
        let mut f = FreeRanges {
            by_start: BTreeMap::new(),
            buckets: BTreeSet::new(),
            nonempty: vec![0; NR_BUCKETS.div_ceil(64)],
        };
        if end > start {
            f.insert(start, end);
        }
        f
    }

    fn insert(&mut self, start: u64, end: u64) {
        self.by_start.insert(start, end);
        let b = bucket_of(end - start);
        self.buckets.insert((b, start));
        self.nonempty[b / 64] |= 1 << (b % 64);
    }

    fn remove(&mut self, start: u64) -> Option<u64> {
        let end = self.by_start.remove(&start)?;
        let b = bucket_of(end - start);
        self.buckets.remove(&(b, start));
        if self.bucket(b).next().is_none() {
            self.nonempty[b / 64] &= !(1 << (b % 64));
        }
        Some(end)
    }

    /// The starts of the ranges in bucket `b`, lowest first.
    fn bucket(&self, b: usize) -> impl Iterator<Item = u64> + '_ {
        self.buckets.range((b, 0)..=(b, u64::MAX)).map(|&(_, s)| s)
    }

    /// The lowest start of a range at least `size` long.
    fn first_fit(&self, size: u64) -> Option<u64> {
        let want = bucket_of(size);
        let mut best: Option<u64> = None;
        // Every range in a higher bucket fits: the lowest start among their first entries.
        for w in want / 64..self.nonempty.len() {
            let mut bits = self.nonempty[w];
            if w == want / 64 {
                // Only the buckets strictly above `want`.
                let bit = want % 64;
                bits &= if bit == 63 { 0 } else { !((2u64 << bit) - 1) };
            }
            while bits != 0 {
                let b = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(s) = self.bucket(b).next() {
                    best = Some(best.map_or(s, |x| x.min(s)));
                }
            }
        }
        // The request's own bucket: in address order, up to the best so far.
        for s in self.bucket(want) {
            if best.is_some_and(|b| s > b) {
                break;
            }
            if self.by_start.get(&s).is_some_and(|&e| e - s >= size) {
                best = Some(s);
                break;
            }
        }
        best
    }
}

impl VmapSpace for FreeRanges {
    /// The lowest fit, as Linux's free-tree search gives it.
    fn fit(&self) -> VmapFit {
        VmapFit::Lowest
    }

    /// __alloc_vmap_area(): the lowest first fit.
    ///
    /// Up to PAGE_SIZE every start is aligned and this is the lowest first fit. Above it,
    /// Linux searches for a free block of `size + align - 1` bytes (the worst-case alignment
    /// overhead, find_vmap_lowest_match()'s adjust_search_size) and aligns its start; the
    /// model takes the lowest such block. Linux's augmented rb-tree walk may also stop at a
    /// lower block it passes on the way if that one fits once aligned, which depends on the
    /// tree's shape: the model does not follow the walk (docs/model.md).
    fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        let aligned = align > PAGE_SIZE;
        let length = if aligned {
            size.checked_add(align - 1)?
        } else {
            size
        };
        let start = self.first_fit(length)?;
        let nva = if aligned {
            start.checked_add(align - 1)? & !(align - 1)
        } else {
            start
        };
        let new_end = nva.checked_add(size)?;
        let end = self.remove(start)?;
        if start < nva {
            self.insert(start, nva);
        }
        if new_end < end {
            self.insert(new_end, end);
        }
        Some(nva)
    }

    /// free_vmap_area(): back to the free ranges, merged with its neighbours.
    fn free(&mut self, start: u64, size: u64) {
        let mut s = start;
        let mut e = start.saturating_add(size);
        if let Some((&ps, &pe)) = self.by_start.range(..s).next_back() {
            if pe == s {
                self.remove(ps);
                s = ps;
            }
        }
        if let Some(ne) = self.remove(e) {
            e = ne;
        }
        self.insert(s, e);
    }

    fn free_ranges(&self) -> Vec<(u64, u64)> {
        self.by_start.iter().map(|(&s, &e)| (s, e)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucketed first fit agrees with a scan of every free range.
    #[test]
    fn first_fit_matches_a_linear_scan() {
        let start = 0x1000_0000u64;
        let end = start + (1 << 32);
        let mut v = FreeRanges::new(start, end);
        let mut live: Vec<(u64, u64)> = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if !x.is_multiple_of(3) || live.is_empty() {
                let pages = match x % 7 {
                    0 => 1 + (x >> 8) % 4000,
                    _ => 1 + (x >> 8) % 70,
                };
                let size = pages << PAGE_SHIFT;
                // One request in four asks for an alignment from 8K to 1M.
                let align = match (x >> 40) % 16 {
                    k @ 0..=7 if k % 2 == 0 => PAGE_SIZE << (1 + (x >> 44) % 8),
                    _ => PAGE_SIZE,
                };
                let length = if align > PAGE_SIZE {
                    size + align - 1
                } else {
                    size
                };
                let expect = v
                    .by_start
                    .iter()
                    .find(|(&s, &e)| e - s >= length)
                    .map(|(&s, _)| s.next_multiple_of(align));
                let got = v.alloc(size, align);
                assert_eq!(got, expect);
                if let Some(a) = got {
                    live.push((a, size));
                }
            } else {
                let (a, size) = live.swap_remove(((x >> 16) % live.len() as u64) as usize);
                v.free(a, size);
            }
        }
        for (a, size) in live {
            v.free(a, size);
        }
        assert_eq!(v.by_start.len(), 1);
        assert_eq!(v.first_fit(1 << 32), Some(start));
    }
}
