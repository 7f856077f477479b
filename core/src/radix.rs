//! A two-level sparse table indexed by page frame number: a top-level vector of chunks,
//! each materialised on first write. Lookups cost two index operations; memory is spent only
//! on chunks that were written. Used for physical frames and for `struct page`.

const CHUNK_SHIFT: u32 = 9;
const CHUNK: usize = 1 << CHUNK_SHIFT;

#[derive(Clone, Debug)]
pub struct Radix<T> {
    chunks: Vec<Option<Box<[Option<T>]>>>,
    len: u64,
}

impl<T> Radix<T> {
    /// A table for pfns 0..len. Costs one pointer per 512 pfns.
    pub fn new(len: u64) -> Self {
        let n = len.div_ceil(CHUNK as u64) as usize;
        let mut chunks = Vec::with_capacity(n);
        chunks.resize_with(n, || None);
        Radix { chunks, len }
    }

    pub fn get(&self, pfn: u64) -> Option<&T> {
        if pfn >= self.len {
            return None;
        }
        self.chunks[(pfn >> CHUNK_SHIFT) as usize].as_ref()?[(pfn as usize) & (CHUNK - 1)].as_ref()
    }

    /// The slot for `pfn`, materialising its chunk. `pfn` must be below `len`.
    pub fn slot(&mut self, pfn: u64) -> &mut Option<T> {
        debug_assert!(pfn < self.len);
        let chunk = self.chunks[(pfn >> CHUNK_SHIFT) as usize].get_or_insert_with(|| {
            let mut v = Vec::with_capacity(CHUNK);
            v.resize_with(CHUNK, || None);
            v.into_boxed_slice()
        });
        &mut chunk[(pfn as usize) & (CHUNK - 1)]
    }

    pub fn get_mut(&mut self, pfn: u64) -> Option<&mut T> {
        if pfn >= self.len {
            return None;
        }
        self.chunks[(pfn >> CHUNK_SHIFT) as usize].as_mut()?[(pfn as usize) & (CHUNK - 1)].as_mut()
    }

    /// Number of materialised entries (for tests and statistics).
    pub fn count(&self) -> usize {
        self.chunks
            .iter()
            .flatten()
            .map(|c| c.iter().filter(|e| e.is_some()).count())
            .sum()
    }
}
