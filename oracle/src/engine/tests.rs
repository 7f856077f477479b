//! The engine oracle against allocators written for it: correct ones (a first fit and a
//! buddy, which must pass every seeded run) and deliberately broken ones of every kind,
//! which a bounded seeded run must find, each by the rule it breaks.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::model::FailureKind as F;

/// What a test allocator gets wrong (all false: correct).
#[derive(Clone, Copy, Default)]
struct Faults {
    /// Every third allocation hands out the previous block again.
    double_hand_out: bool,
    /// The last unit of a block stays on the free list.
    overlap: bool,
    /// Ignores the alignment.
    misalign: bool,
    /// The front padding an alignment skips is never put back.
    leak_padding: bool,
    /// Frees are never merged with their neighbours.
    no_coalesce: bool,
    /// Panics on a size or alignment above 1 TiB.
    panic_huge: bool,
    /// Aligns offsets from the arena's start, as if the arena's start were aligned.
    base_relative: bool,
}

/// A first-fit allocator over units (bytes or frames), with a coalescing free list.
#[derive(Default)]
struct FirstFit {
    base: u64,
    free: BTreeMap<u64, u64>,
    last: Option<u64>,
    count: u64,
    f: Faults,
}

impl FirstFit {
    fn new(start: u64, end: u64, f: Faults) -> Self {
        let mut free = BTreeMap::new();
        free.insert(start, end);
        FirstFit {
            base: start,
            free,
            f,
            ..Self::default()
        }
    }

    fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
        if self.f.panic_huge {
            assert!(size < 1 << 40 && align < 1 << 40, "request too large");
        }
        let size = size.max(1);
        self.count += 1;
        if self.f.double_hand_out && self.count.is_multiple_of(3) {
            if let Some(l) = self.last {
                return Some(l);
            }
        }
        let align = if self.f.misalign { 1 } else { align.max(1) };
        let base = if self.f.base_relative { self.base } else { 0 };
        let (s, e, a) = self.free.iter().find_map(|(&s, &e)| {
            let a = (s - base).checked_next_multiple_of(align)? + base;
            (a.checked_add(size)? <= e).then_some((s, e, a))
        })?;
        self.free.remove(&s);
        if a > s && !self.f.leak_padding {
            self.free.insert(s, a);
        }
        let tail = a + size - u64::from(self.f.overlap && size > 1);
        if tail < e {
            self.free.insert(tail, e);
        }
        self.last = Some(a);
        Some(a)
    }

    fn release(&mut self, addr: u64, size: u64) {
        let (mut s, mut e) = (addr, addr + size.max(1));
        if !self.f.no_coalesce {
            if let Some((&ps, &pe)) = self.free.range(..s).next_back() {
                if pe == s {
                    self.free.remove(&ps);
                    s = ps;
                }
            }
            if let Some(ne) = self.free.remove(&e) {
                e = ne;
            }
        }
        self.free.insert(s, e);
    }
}

macro_rules! first_fit_engines {
    ($($name:ident, $text:literal, $kind:ident, $level:expr, $faults:expr;)*) => {$(
        struct $name(FirstFit);
        first_fit_engines!(@impl $name, $text, $kind, $level, $faults);
    )*};
    (@impl $name:ident, $text:literal, Heap, $level:expr, $faults:expr) => {
        impl HeapEngine for $name {
            const INFO: Info = Info::heap($text, $level).with_realloc();
            fn new(base: usize, size: usize) -> Self {
                $name(FirstFit::new(base as u64, (base + size) as u64, $faults))
            }
            fn allocate(&mut self, l: core::alloc::Layout) -> Option<usize> {
                self.0.alloc(l.size() as u64, l.align() as u64).map(|a| a as usize)
            }
            fn deallocate(&mut self, ptr: usize, l: core::alloc::Layout) -> bool {
                self.0.release(ptr as u64, l.size() as u64);
                true
            }
            fn reallocate(&mut self, ptr: usize, l: core::alloc::Layout, n: usize) -> Option<usize> {
                let new = self.0.alloc(n as u64, l.align() as u64)?;
                self.0.release(ptr as u64, l.size() as u64);
                Some(new as usize)
            }
        }
    };
    (@impl $name:ident, $text:literal, Frame, $level:expr, $faults:expr) => {
        impl FrameEngine for $name {
            const INFO: Info = Info::frame($text, $level).with_arena(4 << 10, 256 << 10);
            fn new(runs: &[Range<u64>]) -> Self {
                $name(FirstFit::new(runs[0].start, runs[0].end, $faults))
            }
            fn alloc(&mut self, count: u64, align: u64) -> Option<u64> {
                self.0.alloc(count, align)
            }
            fn free(&mut self, frame: u64, count: u64, _: u64) -> bool {
                self.0.release(frame, count);
                true
            }
        }
    };
    (@impl $name:ident, $text:literal, Range, $level:expr, $faults:expr) => {
        impl RangeEngine for $name {
            const INFO: Info = Info::range($text, $level);
            fn new(start: u64, end: u64) -> Self {
                $name(FirstFit::new(start, end, $faults))
            }
            fn alloc(&mut self, size: u64, align: u64) -> Option<u64> {
                self.0.alloc(size, align)
            }
            fn free(&mut self, addr: u64, size: u64, _: u64) -> bool {
                self.0.release(addr, size);
                true
            }
        }
    };
}

const ANY: Level = Level::Complete(Fit::AnyRun);
const SAFE: Level = Level::Safety;
const OK: Faults = Faults {
    double_hand_out: false,
    overlap: false,
    misalign: false,
    leak_padding: false,
    no_coalesce: false,
    panic_huge: false,
    base_relative: false,
};

first_fit_engines! {
    GoodHeap, "good-heap", Heap, ANY, OK;
    GoodFrames, "good-frames", Frame, ANY, OK;
    GoodRange, "good-range", Range, ANY, OK;
    OverlapHeap, "overlap-heap", Heap, SAFE, Faults { overlap: true, ..OK };
    MisalignHeap, "misalign-heap", Heap, SAFE, Faults { misalign: true, ..OK };
    RelativeHeap, "relative-align-heap", Heap, SAFE, Faults { base_relative: true, ..OK };
    PanicHeap, "panic-heap", Heap, SAFE, Faults { panic_huge: true, ..OK };
    PaddingHeap, "padding-heap", Heap, SAFE, Faults { leak_padding: true, ..OK };
    DoubleFrames, "double-frames", Frame, SAFE, Faults { double_hand_out: true, ..OK };
    MisalignFrames, "misalign-frames", Frame, SAFE, Faults { misalign: true, ..OK };
    NoCoalesceRange, "no-coalesce-range", Range, ANY, Faults { no_coalesce: true, ..OK };
    DoubleRange, "double-range", Range, SAFE, Faults { double_hand_out: true, ..OK };
}

/// A buddy frame allocator of orders 0..=MAX_ORDER; with `lose_top`, a free whose merging
/// reaches the top order loses the block.
struct TestBuddy<const LOSE_TOP: bool> {
    free: Vec<BTreeSet<u64>>,
}

const MAX_ORDER: u32 = 4;

impl<const LOSE_TOP: bool> FrameEngine for TestBuddy<LOSE_TOP> {
    const INFO: Info = Info::frame(
        if LOSE_TOP {
            "lose-top-buddy"
        } else {
            "good-buddy"
        },
        Level::Complete(Fit::Buddy {
            min_block: 4 << 10,
            max_block: 4 << (10 + MAX_ORDER),
        }),
    )
    .with_arena(4 << 10, 256 << 10);

    fn new(runs: &[Range<u64>]) -> Self {
        let mut free = vec![BTreeSet::new(); MAX_ORDER as usize + 1];
        let frames = runs[0].clone();
        let mut s = frames.start;
        while s < frames.end {
            let mut o = s.trailing_zeros().min(MAX_ORDER);
            while s + (1 << o) > frames.end {
                o -= 1;
            }
            free[o as usize].insert(s);
            s += 1 << o;
        }
        TestBuddy { free }
    }

    fn alloc(&mut self, count: u64, align: u64) -> Option<u64> {
        let want = count.max(1).checked_next_power_of_two()?.max(align);
        let order = want.trailing_zeros();
        let o = (order..=MAX_ORDER).find(|&o| !self.free[o as usize].is_empty())?;
        let b = self.free[o as usize].pop_first()?;
        for k in (order..o).rev() {
            self.free[k as usize].insert(b + (1 << k));
        }
        Some(b)
    }

    fn free(&mut self, frame: u64, count: u64, align: u64) -> bool {
        let want = count.max(1).next_power_of_two().max(align);
        let (mut b, mut o) = (frame, want.trailing_zeros());
        while o < MAX_ORDER && self.free[o as usize].remove(&(b ^ (1 << o))) {
            b &= !(1 << o);
            o += 1;
        }
        if !(LOSE_TOP && o == MAX_ORDER) {
            self.free[o as usize].insert(b);
        }
        true
    }
}

/// A heap whose reallocate moves a block without its bytes.
struct ForgetfulRealloc(SimHeapDriver<GoodHeap>);

impl Engine for ForgetfulRealloc {
    fn info(&self) -> Info {
        Info {
            name: "forgetful-realloc",
            ..GoodHeap::INFO
        }
    }
    fn region(&self) -> (u64, u64) {
        self.0.region()
    }
    fn allocate(&mut self, size: u64, align: u64) -> Result<Option<u64>, String> {
        self.0.allocate(size, align)
    }
    fn free(&mut self, addr: u64, size: u64, align: u64) -> bool {
        self.0.free(addr, size, align)
    }
    fn reallocate(&mut self, a: u64, s: u64, al: u64, n: u64) -> Result<Option<u64>, String> {
        let new = self.0.allocate(n, al)?;
        if new.is_some() {
            self.0.free(a, s, al);
        }
        Ok(new)
    }
    fn write(&mut self, addr: u64, len: u64, byte: u8) {
        self.0.write(addr, len, byte)
    }
    fn read(&mut self, addr: u64, len: u64) -> Vec<u8> {
        self.0.read(addr, len)
    }
}

/// The failure kinds seeded runs find, and after how many inputs the first appeared.
fn seeded(info: &Info, make: Factory, runs: usize) -> (BTreeSet<&'static str>, Option<usize>) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut kinds = BTreeSet::new();
    let mut first = None;
    for i in 0..runs {
        let len = rng.gen_range(16..1024);
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let s = engine_scenario_from_bytes(&data, info);
        let v = check_engine(&s, &make, EngineOptions::FUZZ);
        if !v.pass() && first.is_none() {
            first = Some(i);
        }
        kinds.extend(v.failures.iter().map(|f| f.kind.as_str()));
    }
    (kinds, first)
}

#[test]
fn correct_engines_pass_every_seeded_run() {
    let engines: [(Info, Factory); 5] = [
        (GoodHeap::INFO, SimHeapDriver::<GoodHeap>::factory()),
        (GoodFrames::INFO, FrameDriver::<GoodFrames>::factory()),
        (GoodRange::INFO, RangeDriver::<GoodRange>::factory()),
        (
            TestBuddy::<false>::INFO,
            FrameDriver::<TestBuddy<false>>::factory(),
        ),
        (GoodHeap::INFO, SimHeapDriver::<GoodHeap>::factory()),
    ];
    for (info, make) in engines {
        let (kinds, _) = seeded(&info, make, 300);
        assert!(kinds.is_empty(), "{}: {kinds:?}", info.name);
    }
}

#[test]
fn broken_engines_are_found_by_the_rule_they_break() {
    let forgetful: Factory = |a| Box::new(ForgetfulRealloc(SimHeapDriver::new(a)));
    let cases: [(Info, Factory, &str); 12] = [
        (
            RelativeHeap::INFO,
            SimHeapDriver::<RelativeHeap>::factory(),
            "misaligned",
        ),
        (
            OverlapHeap::INFO,
            SimHeapDriver::<OverlapHeap>::factory(),
            "overlap",
        ),
        (
            MisalignHeap::INFO,
            SimHeapDriver::<MisalignHeap>::factory(),
            "misaligned",
        ),
        (
            PanicHeap::INFO,
            SimHeapDriver::<PanicHeap>::factory(),
            "panic",
        ),
        (
            PaddingHeap::INFO,
            SimHeapDriver::<PaddingHeap>::factory(),
            "spurious-failure",
        ),
        (GoodHeap::INFO, forgetful, "content"),
        (
            DoubleFrames::INFO,
            FrameDriver::<DoubleFrames>::factory(),
            "overlap",
        ),
        (
            MisalignFrames::INFO,
            FrameDriver::<MisalignFrames>::factory(),
            "misaligned",
        ),
        (
            TestBuddy::<true>::INFO,
            FrameDriver::<TestBuddy<true>>::factory(),
            "spurious-failure",
        ),
        (
            NoCoalesceRange::INFO,
            RangeDriver::<NoCoalesceRange>::factory(),
            "spurious-failure",
        ),
        (
            DoubleRange::INFO,
            RangeDriver::<DoubleRange>::factory(),
            "overlap",
        ),
        (
            Info {
                level: SAFE,
                ..TestBuddy::<true>::INFO
            },
            FrameDriver::<TestBuddy<true>>::factory(),
            "spurious-failure",
        ),
    ];
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (info, make, want) in cases {
        let (kinds, first) = seeded(&info, make, 200);
        assert!(
            kinds.contains(want),
            "{}: found {kinds:?}, not {want}",
            info.name
        );
        assert!(first.is_some_and(|i| i < 200), "{}", info.name);
    }
    std::panic::set_hook(prev);
}

#[test]
fn a_lost_top_merge_is_shown_in_a_readable_scenario() {
    let text = "engine lose-top-buddy arena=64K\na = allocate 4K 1\nfree a\nb = allocate 64K 1\n";
    let s = parse_engine(text).unwrap();
    let v = check_engine(
        &s,
        &FrameDriver::<TestBuddy<true>>::factory(),
        EngineOptions::REPLAY,
    );
    // Completeness fails the request; at the end, nothing-lost fails the first one's repeat.
    let got: Vec<(u32, F)> = v.failures.iter().map(|f| (f.line, f.kind)).collect();
    assert_eq!(
        got,
        [(4, F::SpuriousFailure), (5, F::SpuriousFailure)],
        "{}",
        engine_text(&s, &v)
    );
    let out = engine_text(&s, &v);
    assert!(
        out.contains("   4: b = allocate 65536 1  -> 0x0\n"),
        "{out}"
    );
    assert!(out.contains("verdict: fail"), "{out}");
    // The correct buddy hands the whole arena out again.
    let v = check_engine(
        &s,
        &FrameDriver::<TestBuddy<false>>::factory(),
        EngineOptions::REPLAY,
    );
    assert!(v.pass(), "{}", engine_text(&s, &v));
}

#[test]
fn an_arena_at_an_offset_shows_a_heap_that_assumes_an_aligned_base() {
    let text = |offset| {
        format!("engine relative-align-heap arena=4K offset={offset}\na = allocate 16 16\n")
    };
    let run = |offset| {
        let s = parse_engine(&text(offset)).unwrap();
        let v = check_engine(
            &s,
            &SimHeapDriver::<RelativeHeap>::factory(),
            EngineOptions::REPLAY,
        );
        let out = engine_text(&s, &v);
        (v, out)
    };
    // At its aligned place the arena starts at a multiple of 4 KiB: nothing to see.
    let (v, out) = run(0);
    assert!(v.pass(), "{out}");
    // Eight bytes on, the first block is 8-aligned only (the arena and its offset lie in the
    // upper half of an aligned 16 KiB block: 0x10002000 in the addresses shown).
    let (v, out) = run(8);
    let got: Vec<(u32, F)> = v.failures.iter().map(|f| (f.line, f.kind)).collect();
    assert_eq!(got, [(2, F::Misaligned), (3, F::Misaligned)], "{out}");
    assert!(
        out.contains("   2: a = allocate 16 16  -> 0x10002008\n"),
        "{out}"
    );
    assert!(
        out.starts_with("engine relative-align-heap arena=4K offset=8\n"),
        "{out}"
    );
    // An engine's offsets must be whole units of what its crate documents.
    let info = RelativeHeap::INFO.with_arena_align(16);
    assert!(info
        .refuses_arena(4 << 10, 8)
        .is_some_and(|m| m.contains("multiple of 16")));
    assert!(info
        .refuses_arena(4 << 10, 4 << 10)
        .is_some_and(|m| m.contains("below")));
    assert_eq!(info.refuses_arena(4 << 10, 32), None);
}

#[test]
fn caller_errors_are_not_passed_and_not_failures() {
    let text = "engine good-heap arena=4K\na = allocate 16 8\nfree a\nfree a\nwrite a 1 0x1\nb = allocate 8 3\nc = allocate 0x8000000000000000 1\nread 0x1234 4\n";
    let s = parse_engine(text).unwrap();
    let v = check_engine(
        &s,
        &SimHeapDriver::<GoodHeap>::factory(),
        EngineOptions::REPLAY,
    );
    assert!(v.pass(), "{}", engine_text(&s, &v));
    let kinds: Vec<&str> = v.misuse.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(kinds, ["double-free", "use-after-free", "wild-access"]);
    let out = engine_text(&s, &v);
    assert!(
        out.contains("not passed to the engine: ALIGN 0x3 is not a power of two"),
        "{out}"
    );
    assert!(out.contains("no Layout has size"), "{out}");
}

#[test]
fn the_generator_reaches_every_extreme_for_every_kind() {
    let infos = [GoodHeap::INFO, GoodFrames::INFO, GoodRange::INFO];
    for info in infos {
        let mut rng = StdRng::seed_from_u64(11);
        let mut seen = BTreeSet::new();
        let mut inputs = 0;
        while seen.len() < 8 && inputs < 500 {
            let data: Vec<u8> = (0..rng.gen_range(64..512)).map(|_| rng.gen()).collect();
            let s = engine_scenario_from_bytes(&data, &info);
            for st in &s.scenario.stmts {
                let (size, align) = match st.op {
                    crate::scenario::Op::Allocate { size, align } => (size, align),
                    crate::scenario::Op::Reallocate { size, .. } => {
                        seen.insert("reallocate");
                        (size, 1)
                    }
                    crate::scenario::Op::Write { .. } => {
                        seen.insert("write");
                        continue;
                    }
                    _ => continue,
                };
                if size == 0 {
                    seen.insert("zero");
                }
                if size > s.arena {
                    seen.insert("larger than the arena");
                }
                if size >= isize::MAX as u64 {
                    seen.insert("huge");
                }
                if !size.is_multiple_of(align.max(1)) && size < s.arena {
                    seen.insert("unaligned");
                }
                if align.is_power_of_two() && align > s.arena {
                    seen.insert("over-aligned");
                }
                if !align.is_power_of_two() {
                    seen.insert("not a power of two");
                }
            }
            inputs += 1;
        }
        let mut want = vec![
            "zero",
            "larger than the arena",
            "huge",
            "unaligned",
            "over-aligned",
            "not a power of two",
        ];
        if info.kind != Kind::Range {
            want.push("write");
        }
        want.push("reallocate");
        if !info.realloc {
            want.pop();
        }
        for w in want {
            assert!(
                seen.contains(w),
                "{}: never {w} in {inputs} inputs",
                info.name
            );
        }
    }
}
