//! The whole Linux machine on someone else's frame allocator: a [`FrameEngine`] as the
//! free-block mechanism (`kmem::FreeBlocks`) of every zone, beneath kmem's zone policy
//! (zonelist, watermarks, lowmem_reserve), so slab, kmalloc, vmalloc, kmap and mempool run
//! on it and the kernel oracle judges the whole machine.
//!
//! A frame engine has no buddy free lists, so what /proc/buddyinfo shows (nr_free per
//! order) and which block heads a free run are read off the free frames as a buddy with
//! eager merging would hold them: each maximal free run cut into maximal naturally aligned
//! blocks of at most MAX_PAGE_ORDER. That is what Linux's buddy shows for the same free
//! frames, so the oracle's buddyinfo rule applies unchanged. The free frames are this
//! adapter's record of what it took and gave; whether the engine agrees is judged through
//! what it hands out (overlaps, wrong zones, failures while a block was free).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kmem::layout::ZoneSpan;
use kmem::zone::Zone;
use kmem::{Buddy, FreeBlocks, PageAllocator, MAX_PAGE_ORDER};
use kmem_oracle::checker::AllocatorFactory;
use kmem_oracle::engine::{FrameEngine, Kind, Level};
use kmem_oracle::{check_with, Generated, Options, Scenario, Verdict};

use crate::adapters::{bitmap_allocator, buddy_system_allocator, kmem_buddy};

/// A frame engine as one zone's free blocks.
pub struct EngineBlocks<E> {
    engine: E,
    /// The free frames: [start, end) runs, coalesced.
    free: BTreeMap<u64, u64>,
    free_pages: u64,
}

impl<E: FrameEngine> EngineBlocks<E> {
    pub fn new(_span: &ZoneSpan, runs: &[(u64, u64)]) -> Self {
        let ranges: Vec<_> = runs
            .iter()
            .filter(|r| r.0 < r.1)
            .map(|r| r.0..r.1)
            .collect();
        let mut free = BTreeMap::new();
        for r in &ranges {
            free.insert(r.start, r.end);
        }
        EngineBlocks {
            engine: E::new(&ranges),
            free_pages: ranges.iter().map(|r| r.end - r.start).sum(),
            free,
        }
    }

    /// Takes `[s, e)` out of the free runs (whatever part of it is free).
    fn remove(&mut self, s: u64, e: u64) {
        let hit: Vec<(u64, u64)> = self
            .free
            .range(..e)
            .filter(|&(_, &re)| re > s)
            .map(|(&a, &b)| (a, b))
            .collect();
        for (a, b) in hit {
            self.free.remove(&a);
            self.free_pages -= b - a;
            for (x, y) in [(a, s.max(a)), (e.min(b), b)] {
                if x < y {
                    self.free.insert(x, y);
                    self.free_pages += y - x;
                }
            }
        }
    }

    /// Puts `[s, e)` back, merged with its neighbours.
    fn insert(&mut self, s: u64, e: u64) {
        self.remove(s, e);
        let (mut s, mut e) = (s, e);
        if let Some((&a, &b)) = self.free.range(..s).next_back() {
            if b == s {
                self.free.remove(&a);
                self.free_pages -= b - a;
                s = a;
            }
        }
        if let Some(b) = self.free.remove(&e) {
            self.free_pages -= b - e;
            e = b;
        }
        self.free.insert(s, e);
        self.free_pages += e - s;
    }

    /// The free run holding `pfn`.
    fn run_of(&self, pfn: u64) -> Option<(u64, u64)> {
        self.free
            .range(..=pfn)
            .next_back()
            .filter(|&(_, &e)| pfn < e)
            .map(|(&s, &e)| (s, e))
    }
}

/// The blocks a buddy holds a free run as: (head, order), in address order.
fn blocks(s: u64, e: u64) -> impl Iterator<Item = (u64, u32)> {
    let mut p = s;
    std::iter::from_fn(move || {
        if p >= e {
            return None;
        }
        let mut o = p.trailing_zeros().min(MAX_PAGE_ORDER);
        while p + (1 << o) > e {
            o -= 1;
        }
        let b = (p, o);
        p += 1 << o;
        Some(b)
    })
}

impl<E: FrameEngine> FreeBlocks for EngineBlocks<E> {
    fn take(&mut self, order: u32) -> Option<u64> {
        let n = 1u64 << order;
        let pfn = self.engine.alloc(n, n)?;
        self.remove(pfn, pfn.saturating_add(n));
        Some(pfn)
    }

    fn give(&mut self, pfn: u64, order: u32) {
        let n = 1u64 << order;
        self.engine.free(pfn, n, n);
        self.insert(pfn, pfn.saturating_add(n));
    }

    fn nr_free(&self, order: u32) -> u64 {
        self.free
            .iter()
            .flat_map(|(&s, &e)| blocks(s, e))
            .filter(|&(_, o)| o == order)
            .count() as u64
    }

    fn free_pages(&self) -> u64 {
        self.free_pages
    }

    fn is_free(&self, pfn: u64) -> bool {
        self.run_of(pfn).is_some()
    }

    fn free_block_order(&self, pfn: u64) -> Option<u32> {
        let (s, e) = self.run_of(pfn)?;
        blocks(s, e).find(|&(h, _)| h == pfn).map(|(_, o)| o)
    }
}

/// A machine's page allocator: kmem's zone policy over one `E` per zone.
pub fn page_allocator<E: FrameEngine>(
    zones: Vec<Zone>,
    reserved: &[(u64, u64)],
) -> Box<dyn PageAllocator> {
    Box::new(Buddy::with_free_blocks(zones, reserved, |span, runs| {
        EngineBlocks::<E>::new(span, runs)
    }))
}

/// Builds a machine's page allocator from its zones and boot reservations.
pub type MakePageAllocator = fn(Vec<Zone>, &[(u64, u64)]) -> Box<dyn PageAllocator>;

/// A frame engine the machine can run on.
#[derive(Clone, Copy)]
pub struct MachineEngine {
    pub name: &'static str,
    /// Whether it promises completeness (the regression corpus must pass on it).
    pub complete: bool,
    pub make: MakePageAllocator,
}

/// The frame engines a machine can run on, kmem's own first.
pub fn machine_engines() -> Vec<MachineEngine> {
    fn entry<E: FrameEngine>() -> MachineEngine {
        debug_assert_eq!(E::INFO.kind, Kind::Frame);
        MachineEngine {
            name: E::INFO.name,
            complete: matches!(E::INFO.level, Level::Complete(_)),
            make: page_allocator::<E>,
        }
    }
    vec![
        entry::<kmem_buddy::KmemBuddy>(),
        entry::<buddy_system_allocator::BsaFrames>(),
        entry::<bitmap_allocator::Bitmap>(),
    ]
}

/// The frame engine named `name`, or a one-line message listing them.
pub fn machine_engine(name: &str) -> Result<MachineEngine, String> {
    let all = machine_engines();
    all.iter().find(|m| m.name == name).copied().ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|m| m.name).collect();
        format!(
            "no frame engine '{name}' to run a machine on (one of: {})",
            names.join(" ")
        )
    })
}

/// Checks a kernel scenario on a machine whose zones run on `engine`.
pub fn check_on(s: &Scenario, engine: &MachineEngine, opts: Options) -> Verdict {
    let make: AllocatorFactory<'_> = &|z, r| (engine.make)(z, r);
    check_with(s, opts, make)
}

/// The engine the kernel fuzz target `kernel_on_engine` runs on: `KMEMFUZZ_ENGINE`, or
/// bitmap-allocator when it is unset.
pub fn fuzz_engine() -> MachineEngine {
    static ENGINE: OnceLock<MachineEngine> = OnceLock::new();
    *ENGINE.get_or_init(|| {
        let name = std::env::var("KMEMFUZZ_ENGINE").unwrap_or_else(|_| "bitmap-allocator".into());
        machine_engine(&name).unwrap_or_else(|e| panic!("KMEMFUZZ_ENGINE: {e}"))
    })
}

/// What `kernel_on_engine` does with a generated kernel scenario.
pub fn fuzz_kernel(g: &Generated) {
    let v = check_on(
        &g.scenario,
        &fuzz_engine(),
        Options {
            record_steps: false,
        },
    );
    if !v.pass() {
        panic!(
            "{}",
            kmem_oracle::fuzz::failure_message(&v, &format!("# on {}\n{g}", fuzz_engine().name))
        );
    }
}
