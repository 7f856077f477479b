//! What an engine promises: its kind, its contract level, the fit rule a complete engine is
//! judged by, and the preconditions its crate documents as the caller's business.

use std::fmt;

/// The three kinds of allocator people write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A frame (page) allocator: given frame ranges, hands out runs of frames.
    Frame,
    /// A heap or object allocator over a byte arena: `Layout` in, pointer out.
    Heap,
    /// An address-space allocator: hands out ranges of `[start, end)`, touches no memory.
    Range,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Frame => "frame",
            Kind::Heap => "heap",
            Kind::Range => "range",
        }
    }
}

/// How a complete engine decides whether a request fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// A request fails only when no free run of the arena holds `size` bytes at an
    /// `align`-aligned start (first fit, best fit, a bitmap scan).
    AnyRun,
    /// A buddy system: a request takes a naturally aligned block of
    /// `max(size.next_power_of_two(), align, min_block)` bytes, and fails only when that block
    /// is larger than `max_block` or no naturally aligned block of that size is free.
    Buddy { min_block: u64, max_block: u64 },
    /// Linux's alloc_vmap_area(): a request fails only when no free run is `size + align - 1`
    /// bytes long (`size` for an alignment up to the engine's unit). A run that long always
    /// holds an aligned block, so this is weaker than [`Fit::AnyRun`].
    Padded,
}

/// The contract level an engine declares; the oracle judges exactly that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Every engine: results disjoint from every live block, inside the arena, aligned as
    /// asked, bytes kept until freed (across a reallocate too), nothing written next to the
    /// arena (where the driver watches: [`super::Engine::outside_writes`]), every free of a live block
    /// accepted, no panic, and nothing lost: once every block is freed, the largest request
    /// that ever succeeded succeeds again.
    Safety,
    /// Safety, and a request fails only when the fit rule says nothing could hold it (a
    /// zero-size request may fail).
    Complete(Fit),
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::Safety => f.write_str("safety"),
            Level::Complete(Fit::AnyRun) => f.write_str("completeness (any free run)"),
            Level::Complete(Fit::Padded) => {
                f.write_str("completeness (a free run of size + align - 1)")
            }
            Level::Complete(Fit::Buddy {
                min_block,
                max_block,
            }) => write!(
                f,
                "completeness (buddy blocks of {min_block} to {max_block} bytes)"
            ),
        }
    }
}

/// What the engine's documentation makes the caller's business. Requests outside these are
/// not passed to the engine: replay shows them with a note, and they are never failures.
#[derive(Clone, Copy, Debug)]
pub struct Preconditions {
    /// A size of 0 is the caller's error.
    pub nonzero_size: bool,
    /// Alignments above this are the caller's error.
    pub max_align: u64,
    /// Sizes above this are the caller's error.
    pub max_size: u64,
    /// Requests that hit a known, documented bug of this release (docs/engines.md): why, if
    /// the request is one. Not a precondition: fuzzing keeps them out to get past the bug,
    /// replay passes them, so the known-bugs corpus proves the bug is still there.
    pub known_bug: Option<fn(size: u64, align: u64) -> Option<&'static str>>,
}

impl Preconditions {
    /// No precondition beyond what `core::alloc::Layout` itself enforces.
    pub const NONE: Preconditions = Preconditions {
        nonzero_size: false,
        max_align: u64::MAX,
        max_size: u64::MAX,
        known_bug: None,
    };

    /// Why a request of `size` bytes at `align` is the caller's error, if it is.
    pub fn refuses(&self, size: u64, align: u64) -> Option<String> {
        if self.nonzero_size && size == 0 {
            return Some("a size of 0 is the caller's error".into());
        }
        if align > self.max_align {
            return Some(format!(
                "an alignment above {:#x} is the caller's error",
                self.max_align
            ));
        }
        if size > self.max_size {
            return Some(format!(
                "a size above {:#x} is the caller's error",
                self.max_size
            ));
        }
        None
    }
}

/// Everything the harness needs to know about an engine besides its methods.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    /// The name used in `engine NAME ...` lines and by `--engine NAME`.
    pub name: &'static str,
    pub kind: Kind,
    pub level: Level,
    pub pre: Preconditions,
    /// The smallest and largest arena, in bytes, the engine is run on.
    pub min_arena: u64,
    pub max_arena: u64,
    /// The unit the engine hands out, in bytes: a frame engine's frame size, a page-granular
    /// range allocator's page; 1 otherwise. A complete engine's blocks are judged as taking
    /// whole units.
    pub frame: u64,
    /// Whether it has a reallocate.
    pub realloc: bool,
    /// The alignment the crate documents for the start of the memory it is given, in bytes
    /// (1: any address). The harness offsets arenas from their aligned place by multiples
    /// of this (and of [`Info::frame`]), never by less.
    pub arena_align: u64,
}

impl Info {
    /// A heap engine with the default arena limits (4 KiB to 1 MiB) and no realloc.
    pub const fn heap(name: &'static str, level: Level) -> Info {
        Info {
            name,
            kind: Kind::Heap,
            level,
            pre: Preconditions::NONE,
            min_arena: 4 << 10,
            max_arena: 1 << 20,
            frame: 1,
            realloc: false,
            arena_align: 1,
        }
    }

    /// A frame engine over 4 KiB frames, 1 to 1024 of them.
    pub const fn frame(name: &'static str, level: Level) -> Info {
        Info {
            name,
            kind: Kind::Frame,
            level,
            pre: Preconditions::NONE,
            min_arena: 4 << 10,
            max_arena: 4 << 20,
            frame: 4 << 10,
            realloc: false,
            arena_align: 1,
        }
    }

    /// A range engine over 4 KiB to 1 GiB of address space.
    pub const fn range(name: &'static str, level: Level) -> Info {
        Info {
            name,
            kind: Kind::Range,
            level,
            pre: Preconditions::NONE,
            min_arena: 4 << 10,
            max_arena: 1 << 30,
            frame: 1,
            realloc: false,
            arena_align: 1,
        }
    }

    pub const fn with_pre(mut self, pre: Preconditions) -> Info {
        self.pre = pre;
        self
    }

    pub const fn with_known_bug(mut self, f: fn(u64, u64) -> Option<&'static str>) -> Info {
        self.pre.known_bug = Some(f);
        self
    }

    pub const fn with_realloc(mut self) -> Info {
        self.realloc = true;
        self
    }

    pub const fn with_unit(mut self, unit: u64) -> Info {
        self.frame = unit;
        self
    }

    pub const fn with_arena(mut self, min: u64, max: u64) -> Info {
        self.min_arena = min;
        self.max_arena = max;
        self
    }

    /// The crate documents that the memory it is given starts at a multiple of `align`.
    pub const fn with_arena_align(mut self, align: u64) -> Info {
        self.arena_align = align;
        self
    }

    /// What an arena's offset from its aligned place is a multiple of.
    pub fn offset_unit(&self) -> u64 {
        self.arena_align.max(self.frame).max(1)
    }

    /// Why an arena of `len` bytes at `offset` is not one this engine is run on, if so: the
    /// length within `min_arena..=max_arena`, the offset a multiple of [`Info::offset_unit`]
    /// and below the arena's length rounded up to a power of two.
    pub fn refuses_arena(&self, len: u64, offset: u64) -> Option<String> {
        if len < self.min_arena || len > self.max_arena {
            return Some(format!(
                "{} runs on arenas of {} to {} bytes, not {len}",
                self.name, self.min_arena, self.max_arena
            ));
        }
        let unit = self.offset_unit();
        if !offset.is_multiple_of(unit) {
            return Some(format!(
                "{}'s arena offset must be a multiple of {unit}, not {offset}",
                self.name
            ));
        }
        let s = len.max(1).next_power_of_two();
        if offset >= s {
            return Some(format!(
                "an arena offset must be below the arena's size rounded up to a power of two ({s}), not {offset}"
            ));
        }
        None
    }
}
