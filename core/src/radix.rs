//! A two-level sparse table indexed by page frame number: a top-level index of chunks, each
//! materialised on first write. Lookups cost two index operations; memory is spent only
//! on chunks that were written. A chunk is 64 pfns: the head page of a large block is
//! what most machines write of it, and each such write materialises a whole chunk.
//!
//! The top level is a vector of plain integers (0 for "no chunk", else the chunk's place in
//! a dense vector of materialised chunks), grown only as far as the highest chunk written
//! (or as long as the one it took from the pool below): creating a table for a large machine
//! allocates nothing, and dropping one walks only the chunks that exist. Used for physical
//! frames and for `struct page`.
//!
//! A dropped table's chunks go to a per-thread pool of its entry type (up to [`POOL_BYTES`]
//! of chunks), and so does its top level, its used entries set back to 0; the next table
//! takes them before allocating: a fuzzing loop boots and drops a machine for every input,
//! and allocating, faulting in and freeing its chunks and index each time cost more than
//! keeping them. Which slots of a chunk hold an entry of the table is a bit per slot kept
//! beside the chunk (`live`), so a dropped chunk is not emptied slot by slot: a slot whose
//! bit is clear reads as `None` whatever an earlier table left in it, and is set to `None`
//! when first written. Entries that own memory (a frame's bytes) are dropped with their
//! table, so the pool holds none. Nothing a table answers depends on where its storage
//! came from.

use std::cell::RefCell;

const CHUNK_SHIFT: u32 = 6;
const CHUNK: usize = 1 << CHUNK_SHIFT;

/// How many bytes of chunks each thread keeps for each entry type: the chunks a machine
/// of several GiB writes whole (an exhaustion with order-0 pages writes every `struct page`).
pub const POOL_BYTES: usize = 64 << 20;

/// One chunk of a table: the entries of 64 consecutive pfns.
pub type Chunk<T> = Box<[Option<T>; CHUNK]>;

/// What one thread keeps of dropped tables of one entry type.
pub struct Pool<T> {
    /// Chunks of dropped tables (their slots are stale: see the module's notes).
    chunks: Vec<Chunk<T>>,
    /// The longest top level given back, every entry 0.
    index: Vec<u32>,
}

impl<T> Pool<T> {
    const fn new() -> Self {
        Pool {
            chunks: Vec::new(),
            index: Vec::new(),
        }
    }
}

/// An entry type whose tables' storage is kept for reuse (see the module's notes).
pub trait Pooled: Sized + 'static {
    /// Runs `f` on this thread's pool for the type, or returns `None` while the thread is
    /// being torn down (its pool already gone).
    fn with_pool<R>(f: impl FnOnce(&mut Pool<Self>) -> R) -> Option<R>;
}

/// Declares `$t`'s pool ([`Pooled`]).
macro_rules! pooled {
    ($t:ty) => {
        impl Pooled for $t {
            fn with_pool<R>(f: impl FnOnce(&mut Pool<Self>) -> R) -> Option<R> {
                thread_local! {
                    static POOL: RefCell<Pool<$t>> = const { RefCell::new(Pool::new()) };
                }
                POOL.try_with(|p| p.try_borrow_mut().ok().map(|mut p| f(&mut p)))
                    .ok()
                    .flatten()
            }
        }
    };
}

pooled!(crate::page::Page);
pooled!(crate::mem::FrameData);
#[cfg(test)]
pooled!(u32);
#[cfg(test)]
pooled!(String);

#[derive(Clone, Debug)]
pub struct Radix<T: Pooled> {
    /// Per chunk of pfns: 0, or 1 + the index of its chunk in `chunks`; chunks past the end
    /// have never been written.
    index: Vec<u32>,
    /// Fixed-size chunks: a slot's place in its chunk needs no bounds check.
    chunks: Vec<Chunk<T>>,
    /// Per chunk of `chunks`: bit s set when slot s holds this table's entry (`None` or
    /// not); a clear bit reads as `None`.
    live: Vec<u64>,
    /// The place in `index` of each chunk of `chunks`.
    at: Vec<usize>,
    len: u64,
}

impl<T: Pooled> Drop for Radix<T> {
    fn drop(&mut self) {
        let mut chunks = std::mem::take(&mut self.chunks);
        let mut index = std::mem::take(&mut self.index);
        if std::mem::needs_drop::<T>() {
            for (c, &live) in chunks.iter_mut().zip(&self.live) {
                for_each_bit(live, |s| c[s] = None);
            }
        }
        for &c in &self.at {
            index[c] = 0;
        }
        T::with_pool(|pool| {
            let room = (POOL_BYTES / std::mem::size_of::<[Option<T>; CHUNK]>().max(1))
                .saturating_sub(pool.chunks.len());
            pool.chunks.extend(chunks.drain(..).take(room));
            if index.len() > pool.index.len() {
                pool.index = index;
            }
        });
    }
}

/// Calls `f` with the place of every set bit of `bits`, lowest first.
fn for_each_bit(mut bits: u64, mut f: impl FnMut(usize)) {
    while bits != 0 {
        f(bits.trailing_zeros() as usize);
        bits &= bits - 1;
    }
}

impl<T: Pooled> Radix<T> {
    /// A table for pfns 0..len. Costs nothing until written; then four bytes per 64 pfns
    /// up to the highest chunk written.
    pub fn new(len: u64) -> Self {
        Radix {
            index: vec![],
            chunks: vec![],
            live: vec![],
            at: vec![],
            len,
        }
    }

    /// The place in `chunks` of `pfn`'s chunk, if it has one.
    #[inline]
    fn chunk(&self, pfn: u64) -> Option<usize> {
        if pfn >= self.len {
            return None;
        }
        match self.index.get((pfn >> CHUNK_SHIFT) as usize) {
            None | Some(0) => None,
            Some(&i) => Some(i as usize - 1),
        }
    }

    #[inline]
    pub fn get(&self, pfn: u64) -> Option<&T> {
        let i = self.chunk(pfn)?;
        let s = (pfn as usize) & (CHUNK - 1);
        if self.live[i] >> s & 1 == 0 {
            return None;
        }
        self.chunks[i][s].as_ref()
    }

    /// The slot for `pfn`, materialising its chunk. `pfn` must be below `len`.
    #[inline]
    pub fn slot(&mut self, pfn: u64) -> &mut Option<T> {
        debug_assert!(pfn < self.len);
        let c = (pfn >> CHUNK_SHIFT) as usize;
        let i = match self.index.get(c) {
            None | Some(0) => self.new_chunk(c),
            Some(&i) => i as usize - 1,
        };
        let s = (pfn as usize) & (CHUNK - 1);
        if self.live[i] >> s & 1 == 0 {
            self.live[i] |= 1 << s;
            self.chunks[i][s] = None;
        }
        &mut self.chunks[i][s]
    }

    #[cold]
    fn new_chunk(&mut self, c: usize) -> usize {
        if self.index.is_empty() {
            // Every entry of a pooled index is 0, however long it is: only the length of
            // the index of the table that gave it back.
            self.index = T::with_pool(|pool| std::mem::take(&mut pool.index)).unwrap_or_default();
        }
        if c >= self.index.len() {
            self.index.resize(c + 1, 0);
        }
        let chunk = match T::with_pool(|pool| pool.chunks.pop()).flatten() {
            Some(c) => c,
            None => {
                // Built in place on the heap (an array literal would be built on the stack
                // and copied); the length is CHUNK, so the conversion cannot fail.
                let mut v = Vec::with_capacity(CHUNK);
                v.resize_with(CHUNK, || None);
                let Ok(chunk) = <Chunk<T>>::try_from(v.into_boxed_slice()) else {
                    unreachable!("a radix chunk has CHUNK slots")
                };
                chunk
            }
        };
        self.chunks.push(chunk);
        self.live.push(0);
        self.at.push(c);
        // At most one chunk per 64 pfns of a u64 pfn space below `len`: fits u32 for
        // every machine the configuration accepts (2^32 chunks would be 1 PiB).
        self.index[c] = u32::try_from(self.chunks.len()).expect("radix chunk count");
        self.chunks.len() - 1
    }

    /// The first pfn in [start, end) for which `hit` says yes, given its entry (None for an
    /// entry never written). Runs of never-written chunks are answered once each (`hit` is
    /// asked of their first pfn only), so `hit(_, None)` must not depend on the pfn.
    pub fn find(
        &self,
        start: u64,
        end: u64,
        mut hit: impl FnMut(u64, Option<&T>) -> bool,
    ) -> Option<u64> {
        let end = end.min(self.len);
        let mut pfn = start;
        let mut absent_hit: Option<bool> = None;
        while pfn < end {
            let chunk_end = ((pfn >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT;
            let stop = chunk_end.min(end);
            match self.chunk(pfn) {
                None => {
                    if *absent_hit.get_or_insert_with(|| hit(pfn, None)) {
                        return Some(pfn);
                    }
                }
                Some(i) => {
                    let (c, live) = (&self.chunks[i], self.live[i]);
                    for p in pfn..stop {
                        let s = (p as usize) & (CHUNK - 1);
                        let e = if live >> s & 1 == 0 {
                            None
                        } else {
                            c[s].as_ref()
                        };
                        let yes = match e {
                            None => *absent_hit.get_or_insert_with(|| hit(p, None)),
                            Some(_) => hit(p, e),
                        };
                        if yes {
                            return Some(p);
                        }
                    }
                }
            }
            pfn = stop;
        }
        None
    }

    /// Number of materialised entries (for tests and statistics).
    pub fn count(&self) -> usize {
        let mut n = 0;
        for (c, &live) in self.chunks.iter().zip(&self.live) {
            for_each_bit(live, |s| n += usize::from(c[s].is_some()));
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_asks_every_written_entry_and_each_run_of_absent_ones_once() {
        let mut r: Radix<u32> = Radix::new(4096);
        *r.slot(1030) = Some(7);
        *r.slot(1024) = Some(1);
        assert_eq!(
            (r.get(1030), r.get(1029), r.get(4095)),
            (Some(&7), None, None)
        );
        assert_eq!(r.count(), 2);
        let mut asked = vec![];
        let hit = r.find(900, 2000, |p, e| {
            asked.push((p, e.copied()));
            e == Some(&7)
        });
        assert_eq!(hit, Some(1030));
        assert_eq!(asked, vec![(900, None), (1024, Some(1)), (1030, Some(7))]);
        assert_eq!(r.find(1024, 2000, |_, e| e.is_none()), Some(1025));
        assert_eq!(r.find(1024, 1025, |_, e| e.is_none()), None);
        assert_eq!(r.find(0, 4096, |_, e| e == Some(&8)), None);
    }

    #[test]
    fn a_table_built_from_pooled_chunks_holds_nothing_it_was_not_given() {
        let mut r: Radix<u32> = Radix::new(1 << 20);
        for pfn in (0..1 << 20).step_by(4096) {
            *r.slot(pfn) = Some(1);
            *r.slot(pfn + 63) = Some(2);
        }
        drop(r);
        let pooled = u32::with_pool(|p| p.chunks.len()).unwrap_or(0);
        assert!(pooled >= 256, "{pooled} chunks pooled");
        let mut r: Radix<u32> = Radix::new(1 << 20);
        *r.slot(5) = Some(3);
        assert_eq!(r.count(), 1);
        assert_eq!(r.find(0, 64, |_, e| e.is_some()), Some(5));
        // A slot an earlier table wrote reads as never written, through every accessor.
        assert_eq!((r.get(0), r.get(63)), (None, None));
        assert_eq!(*r.slot(63), None);
        assert_eq!(r.count(), 1);
        assert_eq!(u32::with_pool(|p| p.chunks.len()), Some(pooled - 1));
        // The index came back too, all 0 but the entry just written.
        assert!(u32::with_pool(|p| p.index.is_empty()).unwrap_or(false));
        assert_eq!(r.find(64, 1 << 20, |_, e| e.is_some()), None);
    }

    #[test]
    fn entries_that_own_memory_are_dropped_with_their_table() {
        let mut r: Radix<String> = Radix::new(1 << 12);
        *r.slot(3) = Some("frame".into());
        *r.slot(130) = Some("bytes".into());
        drop(r);
        let held = String::with_pool(|p| {
            p.chunks
                .iter()
                .map(|c| c.iter().filter(|e| e.is_some()).count())
                .sum::<usize>()
        });
        assert_eq!(held, Some(0));
    }
}
