//! quickcheck properties of the buddy allocator after random operation sequences.

use kmem::gfp::*;
use kmem::layout::Layout;
use kmem::zone::build_zones;
use kmem::{BootConfig, Buddy, PageAllocator, MAX_PAGE_ORDER};
use quickcheck::{quickcheck, Arbitrary, Gen};

#[derive(Clone, Debug)]
enum Step {
    Alloc { gfp: u8, order: u8 },
    Free { which: u16 },
}

impl Arbitrary for Step {
    fn arbitrary(g: &mut Gen) -> Step {
        if bool::arbitrary(g) || bool::arbitrary(g) {
            Step::Alloc {
                gfp: u8::arbitrary(g) % 4,
                order: u8::arbitrary(g) % 12,
            }
        } else {
            Step::Free {
                which: u16::arbitrary(g),
            }
        }
    }
}

const MASKS: [Gfp; 4] = [GFP_KERNEL, GFP_ATOMIC, GFP_KERNEL | GFP_DMA, GFP_HIGHUSER];

fn machine_buddy(mem: &str) -> Buddy {
    let cfg = BootConfig::parse_words(["mem", mem].join("=").split(' ')).unwrap();
    let l = Layout::new(&cfg);
    let reserved: Vec<(u64, u64)> = l.reserved.iter().map(|&(s, e, _)| (s, e)).collect();
    Buddy::new(build_zones(&l), &reserved)
}

fn run(b: &mut Buddy, steps: &[Step]) -> Vec<(u64, u32)> {
    let mut live: Vec<(u64, u32)> = vec![];
    for s in steps {
        match *s {
            Step::Alloc { gfp, order } => {
                if let Some(pfn) = b.alloc(MASKS[gfp as usize], order as u32) {
                    live.push((pfn, order as u32));
                }
            }
            Step::Free { which } if !live.is_empty() => {
                let (pfn, order) = live.swap_remove(which as usize % live.len());
                b.free(pfn, order);
            }
            Step::Free { .. } => {}
        }
    }
    live
}

/// Checks every invariant; returns a description of the first broken one.
fn invariants(b: &Buddy, live: &[(u64, u32)]) -> Result<(), String> {
    let free = b.free_blocks();
    // Every block, free or allocated, as an interval; sorted, neighbours must not overlap.
    let mut all: Vec<(u64, u64, bool)> = free
        .iter()
        .map(|&(_, p, o)| (p, p + (1 << o), true))
        .collect();
    all.extend(live.iter().map(|&(p, o)| (p, p + (1 << o), false)));
    all.sort_unstable();
    for w in all.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(format!(
                "blocks {:#x}..{:#x} (free: {}) and {:#x}..{:#x} (free: {}) overlap",
                w[0].0, w[0].1, w[0].2, w[1].0, w[1].1, w[1].2
            ));
        }
    }
    for &(zi, pfn, order) in &free {
        if pfn & ((1 << order) - 1) != 0 {
            return Err(format!("free block {pfn:#x} not aligned to order {order}"));
        }
        let z = &b.zones()[zi];
        if pfn < z.span.start_pfn || pfn + (1 << order) > z.span.end_pfn {
            return Err(format!(
                "free block {pfn:#x} order {order} outside its zone"
            ));
        }
        if order < MAX_PAGE_ORDER && free.binary_search(&(zi, pfn ^ (1 << order), order)).is_ok() {
            return Err(format!(
                "free buddies {pfn:#x} and {:#x} of order {order} left unmerged",
                pfn ^ (1 << order)
            ));
        }
    }
    for (zi, z) in b.zones().iter().enumerate() {
        let free_pages: u64 = free.iter().filter(|f| f.0 == zi).map(|f| 1u64 << f.2).sum();
        let live_pages: u64 = live
            .iter()
            .filter(|l| z.span.contains(l.0))
            .map(|l| 1u64 << l.1)
            .sum();
        if free_pages != b.free_pages(zi) {
            return Err(format!(
                "zone {} counts {} free pages, lists hold {free_pages}",
                z.name(),
                b.free_pages(zi)
            ));
        }
        if free_pages + live_pages != z.managed {
            return Err(format!(
                "zone {}: free {free_pages} + allocated {live_pages} != managed {}",
                z.name(),
                z.managed
            ));
        }
    }
    Ok(())
}

fn prop(steps: Vec<Step>, free_all: bool) -> Result<(), String> {
    let mut b = machine_buddy("1G");
    let mut live = run(&mut b, &steps);
    if free_all {
        for (pfn, order) in live.drain(..) {
            b.free(pfn, order);
        }
    }
    invariants(&b, &live)
}

#[test]
fn buddy_invariants_hold_after_random_sequences() {
    fn p(steps: Vec<Step>) -> bool {
        match prop(steps, false) {
            Ok(()) => true,
            Err(e) => panic!("{e}"),
        }
    }
    quickcheck(p as fn(Vec<Step>) -> bool);
}

#[test]
fn freeing_everything_restores_the_boot_state() {
    fn p(steps: Vec<Step>) -> bool {
        let boot = machine_buddy("1G");
        let mut b = machine_buddy("1G");
        let live = run(&mut b, &steps);
        for (pfn, order) in live {
            b.free(pfn, order);
        }
        invariants(&b, &[]).unwrap();
        // Coalescing is complete: the same free blocks as at boot.
        b.free_blocks() == boot.free_blocks()
    }
    quickcheck(p as fn(Vec<Step>) -> bool);
}
