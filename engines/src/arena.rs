//! Real memory for heap engines: an arena the harness owns, and the driver that runs a
//! [`HeapEngine`] over it.

use std::alloc::{alloc_zeroed, dealloc, Layout};

use kmem_oracle::engine::{layout, Arena, Engine, Factory, HeapEngine, Info};

/// `len` bytes of zeroed memory at `offset` bytes past an address aligned to
/// `(offset + len).next_power_of_two()` (S) and not to 2S, so whether an alignment can be met
/// in it never depends on where it landed.
pub struct RawArena {
    raw: *mut u8,
    whole: Layout,
    /// The arena starts this many bytes into the allocation.
    skip: usize,
    start: usize,
    len: usize,
    /// The guard band's length before the arena (GUARD after it).
    before: usize,
}

/// How many bytes on each side of an arena are watched for writes by its allocator.
const GUARD: usize = 256;
/// What the guard bands hold: a byte no allocator's bookkeeping writes by chance often.
const GUARD_BYTE: u8 = 0xf7;

impl RawArena {
    /// None when the memory cannot be had.
    pub fn new(len: usize, offset: usize) -> Option<RawArena> {
        // S is the power of two at or above offset + len. 4S zeroed bytes from calloc (which
        // maps fresh zero pages for large sizes, so only what is touched costs), and the
        // arena `offset` bytes past the first address that is S past a multiple of 2S: at
        // most 3S - 1 + offset bytes in, so it ends inside the allocation, and offset and
        // arena lie inside one aligned 2S block's upper half, where no address is aligned to
        // 2S, wherever calloc put it (the checker's shown addresses follow the same pattern).
        let s = len
            .checked_add(offset)?
            .max(1)
            .checked_next_power_of_two()?;
        let whole = Layout::from_size_align(s.checked_mul(4)?.checked_add(GUARD)?, 16).ok()?;
        // SAFETY: `whole` has a nonzero size.
        let raw = unsafe { alloc_zeroed(whole) };
        if raw.is_null() {
            return None;
        }
        let start = (raw as usize).checked_next_multiple_of(2 * s)? + s + offset;
        let skip = start - raw as usize;
        // The guard bands: up to GUARD bytes before the arena (there are at least S) and
        // GUARD after it (the allocation's last GUARD bytes are past 4S).
        let before = GUARD.min(skip);
        let mut a = RawArena {
            raw,
            whole,
            skip,
            start,
            len,
            before,
        };
        a.fill_bands();
        Some(a)
    }

    /// The guard bands' offsets in the allocation: before the arena and after it.
    fn band_offsets(&self) -> [(usize, usize); 2] {
        [
            (self.skip - self.before, self.before),
            (self.skip + self.len, GUARD),
        ]
    }

    /// Fills both guard bands with the pattern.
    fn fill_bands(&mut self) {
        for (off, n) in self.band_offsets() {
            // SAFETY: each band lies inside the allocation `raw` owns (`new`: `before <=
            // skip`, and the arena ends at least GUARD bytes before the allocation does);
            // u8 has no invalid values.
            unsafe { std::ptr::write_bytes(self.raw.add(off), GUARD_BYTE, n) }
        }
    }

    /// One guard band's bytes.
    fn band(&self, (off, n): (usize, usize)) -> &[u8] {
        // SAFETY: the band lies inside the zero-initialised allocation `raw` owns (see
        // `fill_bands`), and the engine's writes to it, if any, happened before this shared
        // borrow of the arena.
        unsafe { std::slice::from_raw_parts(self.raw.add(off), n) }
    }

    /// The bytes next to the arena that no longer hold the guard pattern: the first one's
    /// address and how many, if any changed.
    pub fn outside_writes(&self) -> Option<(u64, u64)> {
        let lo = (self.start - self.before) as u64;
        let hi = (self.start + self.len) as u64;
        let [b, a] = self.band_offsets().map(|o| {
            let band = self.band(o);
            let first = band.iter().position(|&x| x != GUARD_BYTE)?;
            let n = band.iter().filter(|&&x| x != GUARD_BYTE).count();
            Some((first as u64, n as u64))
        });
        match (b, a) {
            (Some((f, n)), after) => Some((lo + f, n + after.map_or(0, |a| a.1))),
            (None, Some((f, n))) => Some((hi + f, n)),
            (None, None) => None,
        }
    }

    pub fn start(&self) -> usize {
        self.start
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The offset of `[addr, addr + len)` in the arena, if it lies inside.
    fn offset(&self, addr: u64, len: u64) -> Option<usize> {
        let off = usize::try_from(addr).ok()?.checked_sub(self.start)?;
        let end = off.checked_add(usize::try_from(len).ok()?)?;
        (end <= self.len).then_some(off)
    }

    /// Stores `len` copies of `byte` at `addr`; nothing outside the arena is touched.
    pub fn write(&mut self, addr: u64, len: u64, byte: u8) {
        if let Some(off) = self.offset(addr, len) {
            // SAFETY: `[start + off, start + off + len)` lies inside the allocation `raw`
            // owns (checked by `offset`); u8 has no invalid values.
            unsafe { std::ptr::write_bytes(self.raw.add(self.skip + off), byte, len as usize) }
        }
    }

    /// Loads `len` bytes from `addr`; bytes outside the arena read as 0.
    pub fn read(&self, addr: u64, len: u64) -> Vec<u8> {
        let n = usize::try_from(len).unwrap_or(0);
        let mut out = vec![0u8; n];
        if let Some(off) = self.offset(addr, len) {
            // SAFETY: the source lies inside the zero-initialised allocation `raw` owns
            // (checked by `offset`), the destination is `n` bytes of `out`, and the two do
            // not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(self.raw.add(self.skip + off), out.as_mut_ptr(), n)
            }
        }
        out
    }
}

impl Drop for RawArena {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `alloc_zeroed(self.whole)` and is freed once, here.
        unsafe { dealloc(self.raw, self.whole) }
    }
}

/// A [`HeapEngine`] over a [`RawArena`]. The engine is dropped before its arena.
pub struct HeapDriver<E> {
    engine: E,
    arena: RawArena,
}

impl<E: HeapEngine> HeapDriver<E> {
    /// The engine over a fresh arena, or None when there is no memory.
    pub fn new(arena: Arena) -> Option<Self> {
        let (len, offset) = (
            usize::try_from(arena.len).ok()?,
            usize::try_from(arena.offset).ok()?,
        );
        let arena = RawArena::new(len, offset)?;
        Some(HeapDriver {
            engine: E::new(arena.start(), arena.len()),
            arena,
        })
    }

    /// The factory the checker and the fuzz targets use.
    pub fn factory() -> Factory {
        |arena| match HeapDriver::<E>::new(arena) {
            Some(d) => Box::new(d),
            None => panic!(
                "no memory for an arena of {} bytes at offset {}",
                arena.len, arena.offset
            ),
        }
    }
}

impl<E: HeapEngine> Engine for HeapDriver<E> {
    fn info(&self) -> Info {
        E::INFO
    }
    fn region(&self) -> (u64, u64) {
        let s = self.arena.start() as u64;
        (s, s + self.arena.len() as u64)
    }
    fn allocate(&mut self, size: u64, align: u64) -> Result<Option<u64>, String> {
        let l = layout(size, align)?;
        Ok(self.engine.allocate(l).map(|p| p as u64))
    }
    fn free(&mut self, addr: u64, size: u64, align: u64) -> bool {
        match layout(size, align) {
            Ok(l) => {
                self.engine.deallocate(addr as usize, l);
                true
            }
            Err(_) => false,
        }
    }
    fn reallocate(
        &mut self,
        addr: u64,
        size: u64,
        align: u64,
        new_size: u64,
    ) -> Result<Option<u64>, String> {
        let l = layout(size, align)?;
        layout(new_size, align)?;
        let got = self.engine.reallocate(addr as usize, l, new_size as usize);
        Ok(got.map(|p| p as u64))
    }
    fn write(&mut self, addr: u64, len: u64, byte: u8) {
        self.arena.write(addr, len, byte)
    }
    fn read(&mut self, addr: u64, len: u64) -> Vec<u8> {
        self.arena.read(addr, len)
    }
    fn outside_writes(&self) -> Option<(u64, u64)> {
        self.arena.outside_writes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmem_oracle::engine::{check_engine, engine_text, parse_engine, EngineOptions, Level};

    /// A bump allocator whose `new` writes an 8-byte header at the arena's last byte: seven
    /// of them past its end, as an allocator that rounds its size up before writing does.
    struct Scribbler {
        next: usize,
        end: usize,
    }

    impl HeapEngine for Scribbler {
        const INFO: Info = Info::heap("scribbler", Level::Safety);
        fn new(base: usize, size: usize) -> Self {
            let p = (base + size - 1) as *mut u8;
            // SAFETY: the harness's arena is followed by GUARD bytes of its own allocation,
            // so the seven bytes past the end are writable (they are what this test watches).
            unsafe { std::ptr::write_bytes(p, 0, 8) };
            Scribbler {
                next: base,
                end: base + size - 1,
            }
        }
        fn allocate(&mut self, l: Layout) -> Option<usize> {
            let a = self.next.checked_next_multiple_of(l.align())?;
            (a + l.size() <= self.end).then(|| {
                self.next = a + l.size();
                a
            })
        }
        fn deallocate(&mut self, _: usize, _: Layout) -> bool {
            true
        }
    }

    #[test]
    fn a_write_past_the_arena_fails_the_line_that_made_it() {
        let s = parse_engine("engine scribbler arena=4K offset=3\na = allocate 16 8\nfree a\n")
            .unwrap();
        let v = check_engine(
            &s,
            &HeapDriver::<Scribbler>::factory(),
            EngineOptions::REPLAY,
        );
        let out = engine_text(&s, &v);
        assert_eq!(v.failures.len(), 1, "{out}");
        let f = &v.failures[0];
        assert_eq!((f.line, f.kind.as_str()), (1, "content"), "{out}");
        assert!(
            f.message.ends_with("wrote outside its arena: 7 bytes changed from 0x10003003 (0 bytes past the arena's end)"),
            "{out}"
        );
    }

    #[test]
    fn the_guard_bands_hold_their_pattern_until_written() {
        for (len, offset) in [(1, 0), (24, 3), (4096, 0), (4096, 4095)] {
            let a = RawArena::new(len, offset).unwrap();
            assert_eq!(a.outside_writes(), None, "{len} {offset}");
            let s = (len + offset).next_power_of_two();
            assert_eq!((a.start() - offset) % (2 * s), s, "{len} {offset}");
        }
    }
}
