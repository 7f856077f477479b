//! The traits a user implements, one per kind of allocator, and the one object-safe
//! [`Engine`] the checker drives: each kind's driver turns its trait into it.
//!
//! Addresses: the checker works in bytes. A frame engine's frame numbers become addresses
//! (`frame * frame_size`); a range engine's addresses are its own; a heap engine's are real
//! pointers into memory the harness owns, which the checker shows relative to a fixed base
//! so that replays print the same addresses every time (see [`arena_start`]).

use std::collections::BTreeMap;
use std::ops::Range;

use super::contract::Info;

/// A frame (page) allocator. Frame numbers are plain numbers; the harness keeps the frames'
/// bytes itself (a frame allocator does not touch the memory it manages).
pub trait FrameEngine: Sized + 'static {
    const INFO: Info;
    /// The allocator managing these runs of free frames (sorted, disjoint, none empty).
    fn new(runs: &[Range<u64>]) -> Self;
    /// A run of `count` frames (0 is a legal request) whose first frame number is a multiple
    /// of `align` (a power of two, at least 1); `None` when it cannot.
    fn alloc(&mut self, count: u64, align: u64) -> Option<u64>;
    /// Gives back a run `alloc(count, align)` returned; false if the allocator refuses it.
    fn free(&mut self, frame: u64, count: u64, align: u64) -> bool;
}

/// A heap or object allocator over a byte arena.
pub trait HeapEngine: Sized + 'static {
    const INFO: Info;
    /// The allocator managing the `size` bytes at address `base`. The harness owns that
    /// memory, hands it to this engine alone, and keeps it until the engine is dropped; the
    /// engine may read and write all of it (an adapter's `// SAFETY:` comment for its
    /// allocator's `init` rests on this).
    fn new(base: usize, size: usize) -> Self;
    /// A block for `layout`: its address, or `None`.
    fn allocate(&mut self, layout: core::alloc::Layout) -> Option<usize>;
    /// Gives back a block `allocate` (or `reallocate`) returned for `layout`; false if the
    /// allocator refuses it.
    fn deallocate(&mut self, ptr: usize, layout: core::alloc::Layout) -> bool;
    /// Resizes a live block to `new_size` bytes, keeping its alignment and its first bytes;
    /// `None` leaves the block as it was. Only called when `INFO.realloc` is set.
    fn reallocate(
        &mut self,
        ptr: usize,
        layout: core::alloc::Layout,
        new_size: usize,
    ) -> Option<usize> {
        let _ = (ptr, layout, new_size);
        None
    }
}

/// An address-space allocator (a vmalloc-like space): hands out ranges, touches no memory.
pub trait RangeEngine: Sized + 'static {
    const INFO: Info;
    /// The allocator managing `[start, end)`.
    fn new(start: u64, end: u64) -> Self;
    /// `size` bytes at an `align`-aligned address (align a power of two), or `None`.
    fn alloc(&mut self, size: u64, align: u64) -> Option<u64>;
    /// Gives back a range `alloc(size, align)` returned; false if the allocator refuses it.
    fn free(&mut self, addr: u64, size: u64, align: u64) -> bool;
}

/// What the checker drives: any engine, whatever its kind, in bytes.
pub trait Engine {
    fn info(&self) -> Info;
    /// The arena, `[start, end)`, in the engine's own addresses.
    fn region(&self) -> (u64, u64);
    /// `Err(why)` when the request cannot be put to this engine at all (e.g. no `Layout`
    /// has that size and alignment); it is then not a failure.
    fn allocate(&mut self, size: u64, align: u64) -> Result<Option<u64>, String>;
    /// Frees a live block with the size and alignment it was allocated with.
    fn free(&mut self, addr: u64, size: u64, align: u64) -> bool;
    fn reallocate(
        &mut self,
        addr: u64,
        size: u64,
        align: u64,
        new_size: u64,
    ) -> Result<Option<u64>, String>;
    /// The client stores `len` copies of `byte` at `addr` (inside a live block).
    fn write(&mut self, addr: u64, len: u64, byte: u8);
    /// The client loads `len` bytes from `addr` (inside a live block).
    fn read(&mut self, addr: u64, len: u64) -> Vec<u8>;
    /// Memory next to the arena that the engine changed, if the driver watches it: the
    /// first changed byte's address (in the engine's addresses) and how many bytes of the
    /// watched bands changed. An allocator writes nothing outside the memory it was given.
    fn outside_writes(&self) -> Option<(u64, u64)> {
        None
    }
}

/// The arena an engine is given: `len` bytes, starting `offset` bytes past the place
/// [`arena_start`] gives an arena of that size. An offset that is not a multiple of the
/// arena's alignment is how the harness hands an allocator a misaligned region (a heap from
/// a `static [u8; N]`, frames from after a kernel image), as real callers do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arena {
    pub len: u64,
    pub offset: u64,
}

impl Arena {
    /// An arena at the aligned place, with no offset.
    pub const fn aligned(len: u64) -> Arena {
        Arena { len, offset: 0 }
    }

    /// Where the engine's region starts, in the addresses the checker shows: `offset` bytes
    /// past [`arena_start`] of the whole span, offset and arena, so that the span keeps the
    /// pattern that makes alignments independent of where memory landed.
    pub fn shown_start(self) -> u64 {
        arena_start(self.span()).saturating_add(self.offset)
    }

    /// The offset and the arena together.
    pub fn span(self) -> u64 {
        self.len.saturating_add(self.offset)
    }
}

/// Builds an engine over an arena.
pub type Factory = fn(arena: Arena) -> Box<dyn Engine>;

/// Where the harness puts an arena of `arena` bytes: aligned to the arena's size rounded up
/// to a power of two (S), and not to 2S, so that whether a request's alignment can be met
/// inside the arena never depends on where memory happened to be.
pub fn arena_start(arena: u64) -> u64 {
    let s = arena.max(1).next_power_of_two();
    (1u64 << 28).max(s.saturating_mul(2)).saturating_add(s)
}

/// `Layout::from_size_align`, with the reason when there is none.
pub fn layout(size: u64, align: u64) -> Result<core::alloc::Layout, String> {
    let s = usize::try_from(size).map_err(|_| format!("size {size:#x} is no usize"))?;
    let a = usize::try_from(align).map_err(|_| format!("align {align:#x} is no usize"))?;
    core::alloc::Layout::from_size_align(s, a)
        .map_err(|_| format!("no Layout has size {size:#x} and align {align:#x}"))
}

/// Bytes the harness keeps for engines that do not hold memory (frames, the tests' heaps),
/// materialised a 4 KiB page at a time; untouched bytes read as 0.
#[derive(Clone, Debug, Default)]
pub struct SimMemory {
    pages: BTreeMap<u64, Box<[u8; 4096]>>,
}

impl SimMemory {
    pub fn write(&mut self, addr: u64, len: u64, byte: u8) {
        let mut a = addr;
        let end = addr.saturating_add(len);
        while a < end {
            let off = (a & 4095) as usize;
            let n = (4096 - off).min((end - a) as usize);
            let page = self
                .pages
                .entry(a >> 12)
                .or_insert_with(|| Box::new([0; 4096]));
            page[off..off + n].fill(byte);
            a += n as u64;
        }
    }

    pub fn read(&self, addr: u64, len: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let mut a = addr;
        let end = addr.saturating_add(len);
        while a < end {
            let off = (a & 4095) as usize;
            let n = (4096 - off).min((end - a) as usize);
            match self.pages.get(&(a >> 12)) {
                Some(p) => out.extend_from_slice(&p[off..off + n]),
                None => out.resize(out.len() + n, 0),
            }
            a += n as u64;
        }
        out
    }
}

/// What every driver that keeps the bytes itself says the same way: the engine's `INFO`, the
/// arena's place, and the client's bytes in a [`SimMemory`].
macro_rules! sim_common {
    () => {
        fn info(&self) -> Info {
            E::INFO
        }
        fn region(&self) -> (u64, u64) {
            (self.start, self.end)
        }
        fn write(&mut self, addr: u64, len: u64, byte: u8) {
            self.mem.write(addr, len, byte)
        }
        fn read(&mut self, addr: u64, len: u64) -> Vec<u8> {
            self.mem.read(addr, len)
        }
    };
}

/// A [`FrameEngine`] as an [`Engine`].
pub struct FrameDriver<E> {
    engine: E,
    start: u64,
    end: u64,
    mem: SimMemory,
}

impl<E: FrameEngine> FrameDriver<E> {
    pub fn new(arena: Arena) -> Self {
        let f = E::INFO.frame.max(1);
        // Frame numbers stay small (a bitmap allocator indexes them); the start keeps the
        // alignment pattern of [`arena_start`] (aligned to S, not to 2S), then the offset's
        // whole frames.
        let len = arena.len;
        let span = arena.span().max(f).next_power_of_two();
        let start = (span / f * f).saturating_add(arena.offset / f * f);
        let end = start.saturating_add(len / f * f);
        FrameDriver {
            engine: E::new(std::slice::from_ref(&(start / f..end / f))),
            start,
            end,
            mem: SimMemory::default(),
        }
    }

    pub fn factory() -> Factory {
        |arena| Box::new(Self::new(arena))
    }

    pub fn engine(&mut self) -> &mut E {
        &mut self.engine
    }
}

impl<E: FrameEngine> Engine for FrameDriver<E> {
    sim_common!();
    fn allocate(&mut self, size: u64, align: u64) -> Result<Option<u64>, String> {
        let f = E::INFO.frame.max(1);
        let got = self.engine.alloc(size.div_ceil(f), (align / f).max(1));
        Ok(got.map(|pfn| pfn.saturating_mul(f)))
    }
    fn free(&mut self, addr: u64, size: u64, align: u64) -> bool {
        let f = E::INFO.frame.max(1);
        self.engine
            .free(addr / f, size.div_ceil(f), (align / f).max(1))
    }
    fn reallocate(&mut self, _: u64, _: u64, _: u64, _: u64) -> Result<Option<u64>, String> {
        Err("a frame engine has no reallocate".into())
    }
}

/// A [`RangeEngine`] as an [`Engine`].
pub struct RangeDriver<E> {
    engine: E,
    start: u64,
    end: u64,
    mem: SimMemory,
}

impl<E: RangeEngine> RangeDriver<E> {
    pub fn new(arena: Arena) -> Self {
        let start = arena.shown_start();
        let end = start.saturating_add(arena.len);
        RangeDriver {
            engine: E::new(start, end),
            start,
            end,
            mem: SimMemory::default(),
        }
    }

    pub fn factory() -> Factory {
        |arena| Box::new(Self::new(arena))
    }
}

impl<E: RangeEngine> Engine for RangeDriver<E> {
    sim_common!();
    fn allocate(&mut self, size: u64, align: u64) -> Result<Option<u64>, String> {
        Ok(self.engine.alloc(size, align))
    }
    fn free(&mut self, addr: u64, size: u64, align: u64) -> bool {
        self.engine.free(addr, size, align)
    }
    fn reallocate(&mut self, _: u64, _: u64, _: u64, _: u64) -> Result<Option<u64>, String> {
        Err("a range engine has no reallocate".into())
    }
}

/// A [`HeapEngine`] that never touches its arena's bytes (a test's model allocator), as an
/// [`Engine`] with the bytes kept by the harness. Real allocators keep their metadata in the
/// arena and run on real memory instead (the `kmemfuzz-engines` crate's heap driver).
pub struct SimHeapDriver<E> {
    engine: E,
    start: u64,
    end: u64,
    mem: SimMemory,
}

impl<E: HeapEngine> SimHeapDriver<E> {
    pub fn new(arena: Arena) -> Self {
        let start = arena.shown_start();
        let end = start.saturating_add(arena.len);
        SimHeapDriver {
            engine: E::new(start as usize, arena.len as usize),
            start,
            end,
            mem: SimMemory::default(),
        }
    }

    pub fn factory() -> Factory {
        |arena| Box::new(Self::new(arena))
    }
}

impl<E: HeapEngine> Engine for SimHeapDriver<E> {
    sim_common!();
    fn allocate(&mut self, size: u64, align: u64) -> Result<Option<u64>, String> {
        let l = layout(size, align)?;
        Ok(self.engine.allocate(l).map(|p| p as u64))
    }
    fn free(&mut self, addr: u64, size: u64, align: u64) -> bool {
        layout(size, align).is_ok_and(|l| self.engine.deallocate(addr as usize, l))
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
        let n = new_size as usize;
        let got = self.engine.reallocate(addr as usize, l, n);
        if let Some(p) = got {
            // The harness keeps the bytes, so it moves them as the allocator would have.
            let keep = size.min(new_size);
            let bytes = self.mem.read(addr, keep);
            for (i, b) in bytes.into_iter().enumerate() {
                self.mem.write(p as u64 + i as u64, 1, b);
            }
        }
        Ok(got.map(|p| p as u64))
    }
}
