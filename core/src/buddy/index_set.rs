//! The ordered set of block indices behind each free list: a hierarchical bitmap.

use std::cell::RefCell;

/// Keys per chunk of an [`IndexSet`]: 64 words of 64 bits.
const CHUNK_SHIFT: u32 = 12;

/// 64 leaf words and a bit per non-zero word.
#[derive(Clone, Debug)]
struct Chunk {
    summary: u64,
    words: [u64; 64],
}

/// An ordered set of integer keys below a bound fixed at creation: a bit per key in chunks
/// of 4096 keys, materialised on first insert, under summary levels with a bit per
/// non-empty chunk (level 0) and per non-zero word of the level below (levels 1..); the last
/// level is a single word. Insert and remove touch one bit per level they change, the
/// lowest key is one trailing_zeros per level.
#[derive(Clone, Debug)]
pub(super) struct IndexSet {
    chunks: Vec<Option<Box<Chunk>>>,
    /// The words of every summary level, level 0 first; level l starts at `start[l]`.
    summary: Vec<u64>,
    start: [u32; MAX_LEVELS],
    levels: usize,
}

/// Summary levels enough for any u64 key: 2^52 chunks need ceil(52 / 6) levels.
const MAX_LEVELS: usize = 9;

/// How many chunks of dropped sets each thread keeps (2 MiB): a fuzzing loop boots and
/// drops a machine, and its free lists' chunks, for every input.
const POOL_CHUNKS: usize = 4096;

thread_local! {
    /// Chunks of dropped sets, every word 0 as a new chunk's, for the next sets to take.
    /// Boxed as the sets hold them, so a chunk moves in and out as a pointer.
    #[allow(clippy::vec_box)]
    static POOL: RefCell<Vec<Box<Chunk>>> = const { RefCell::new(Vec::new()) };
}

/// A chunk with no key: one from the pool, else a new one.
fn empty_chunk() -> Box<Chunk> {
    POOL.try_with(|p| p.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            Box::new(Chunk {
                summary: 0,
                words: [0; 64],
            })
        })
}

impl Drop for IndexSet {
    fn drop(&mut self) {
        let chunks = std::mem::take(&mut self.chunks);
        // None while the thread is being torn down: the chunks are then freed.
        let _ = POOL.try_with(|p| {
            let Ok(mut pool) = p.try_borrow_mut() else {
                return;
            };
            for mut ch in chunks.into_iter().flatten() {
                if pool.len() >= POOL_CHUNKS {
                    break;
                }
                // Only the words the chunk's summary marks can be non-zero.
                let mut s = ch.summary;
                while s != 0 {
                    ch.words[s.trailing_zeros() as usize] = 0;
                    s &= s - 1;
                }
                ch.summary = 0;
                pool.push(ch);
            }
        });
    }
}

impl IndexSet {
    pub(super) fn new(cap: u64) -> Self {
        let mut start = [0u32; MAX_LEVELS];
        let mut n = cap.div_ceil(1 << CHUNK_SHIFT).div_ceil(64).max(1);
        let mut total = 0u64;
        let mut levels = 0;
        loop {
            start[levels] = u32::try_from(total).expect("summary size");
            total += n;
            levels += 1;
            if n == 1 {
                break;
            }
            n = n.div_ceil(64);
        }
        IndexSet {
            chunks: vec![],
            summary: vec![0; total as usize],
            start,
            levels,
        }
    }

    #[inline]
    fn split(k: u64) -> (usize, usize, u64) {
        (
            (k >> CHUNK_SHIFT) as usize,
            ((k >> 6) & 63) as usize,
            1u64 << (k & 63),
        )
    }

    /// Marks chunk `c` non-empty in the summary levels.
    #[inline]
    fn summary_set(&mut self, mut i: usize) {
        for l in 0..self.levels {
            let x = &mut self.summary[self.start[l] as usize + (i >> 6)];
            let was = *x;
            *x = was | 1 << (i & 63);
            if was != 0 {
                break;
            }
            i >>= 6;
        }
    }

    /// Marks chunk `c` empty in the summary levels.
    #[inline]
    fn summary_clear(&mut self, mut i: usize) {
        for l in 0..self.levels {
            let x = &mut self.summary[self.start[l] as usize + (i >> 6)];
            *x &= !(1 << (i & 63));
            if *x != 0 {
                break;
            }
            i >>= 6;
        }
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.summary[self.start[self.levels - 1] as usize] == 0
    }

    /// The lowest non-empty chunk.
    #[inline]
    fn first_chunk(&self) -> Option<usize> {
        let top = self.summary[self.start[self.levels - 1] as usize];
        if top == 0 {
            return None;
        }
        let mut i = top.trailing_zeros() as usize;
        for l in (0..self.levels - 1).rev() {
            i = i << 6 | self.summary[self.start[l] as usize + i].trailing_zeros() as usize;
        }
        Some(i)
    }

    /// Adds `k` (below the bound); false if it was there.
    #[inline]
    pub(super) fn insert(&mut self, k: u64) -> bool {
        let (c, w, bit) = Self::split(k);
        if c >= self.chunks.len() {
            self.chunks.resize_with(c + 1, || None);
        }
        let ch = self.chunks[c].get_or_insert_with(empty_chunk);
        let word = ch.words[w];
        if word & bit != 0 {
            return false;
        }
        ch.words[w] = word | bit;
        if word == 0 {
            let was = ch.summary;
            ch.summary = was | 1 << w;
            if was == 0 {
                self.summary_set(c);
            }
        }
        true
    }

    /// Takes `k` out; false if it was not there.
    #[inline]
    pub(super) fn remove(&mut self, k: u64) -> bool {
        let (c, w, bit) = Self::split(k);
        let Some(Some(ch)) = self.chunks.get_mut(c) else {
            return false;
        };
        let word = ch.words[w];
        if word & bit == 0 {
            return false;
        }
        ch.words[w] = word & !bit;
        if word == bit {
            ch.summary &= !(1 << w);
            if ch.summary == 0 {
                self.summary_clear(c);
            }
        }
        true
    }

    #[inline]
    pub(super) fn contains(&self, k: u64) -> bool {
        let (c, w, bit) = Self::split(k);
        matches!(self.chunks.get(c), Some(Some(ch)) if ch.words[w] & bit != 0)
    }

    /// The lowest key.
    #[inline]
    pub(super) fn first(&self) -> Option<u64> {
        let c = self.first_chunk()?;
        let ch = self.chunks[c].as_ref()?;
        let w = ch.summary.trailing_zeros() as usize;
        let b = ch.words[w].trailing_zeros() as u64;
        Some((c as u64) << CHUNK_SHIFT | (w as u64) << 6 | b)
    }

    /// Takes the lowest key out.
    #[inline]
    pub(super) fn pop_first(&mut self) -> Option<u64> {
        let c = self.first_chunk()?;
        let ch = self.chunks[c].as_mut()?;
        let w = ch.summary.trailing_zeros() as usize;
        let word = ch.words[w];
        let b = word.trailing_zeros() as u64;
        ch.words[w] = word & (word - 1);
        if word & (word - 1) == 0 {
            ch.summary &= !(1 << w);
            if ch.summary == 0 {
                self.summary_clear(c);
            }
        }
        Some((c as u64) << CHUNK_SHIFT | (w as u64) << 6 | b)
    }

    /// Every key, ascending.
    pub(super) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.chunks
            .iter()
            .enumerate()
            .filter_map(|(c, ch)| ch.as_ref().map(|ch| (c, ch)))
            .flat_map(|(c, ch)| {
                ch.words.iter().enumerate().flat_map(move |(w, &word)| {
                    let base = (c as u64) << CHUNK_SHIFT | (w as u64) << 6;
                    let mut x = word;
                    std::iter::from_fn(move || {
                        (x != 0).then(|| {
                            let b = x.trailing_zeros() as u64;
                            x &= x - 1;
                            base | b
                        })
                    })
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_built_from_pooled_chunks_holds_only_its_own_keys() {
        let keys: Vec<u64> = (0..40_000).step_by(37).chain([5, 4095, 4096]).collect();
        let mut a = IndexSet::new(1 << 16);
        for &k in &keys {
            a.insert(k);
        }
        drop(a);
        let pooled = POOL.with(|p| p.borrow().len());
        assert!(pooled >= 10, "{pooled} chunks pooled");
        let mut b = IndexSet::new(1 << 16);
        assert!(b.is_empty());
        assert!(b.insert(4100));
        assert!(b.insert(70));
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![70, 4100]);
        assert!(!b.contains(5) && !b.contains(4096) && !b.contains(37));
        assert_eq!((b.pop_first(), b.first()), (Some(70), Some(4100)));
        assert_eq!(POOL.with(|p| p.borrow().len()), pooled - 2);
    }
}
