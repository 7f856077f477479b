//! The generator reaches the extremes within a bounded number of ordinary seeded inputs (in
//! the style of wasmtime's `table_ops_eventually_gcs`): sizes at and next to every kmalloc
//! size class boundary and power of two, the largest size or order of each function and one
//! past it, runs that exhaust every zone and the vmalloc space, the calls whose correct
//! answer is NULL, and the last byte of an object. These tests decode only; whether the
//! machine really runs out is checked with the machine in oracle/tests/reach.rs.

use kmem_rules::scenario::extremes::{Limits, KMALLOC_CLASSES};
use kmem_rules::{scenario_from_bytes, GenConfig, Op, Scenario, Stmt};
use kmem_vocab::gfp::*;
use kmem_vocab::{Arch, BootConfig};

/// Ordinary inputs: `n` seeded byte strings of 64 to 4159 bytes (xorshift64).
fn inputs(seed: u64, n: usize) -> impl Iterator<Item = Vec<u8>> {
    let mut x = seed.max(1);
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n).map(move |_| {
        let len = 64 + (next() % 4096) as usize;
        (0..len).map(|_| next() as u8).collect()
    })
}

/// Decodes up to `n` inputs of `cfg` and returns how many it took until `found` holds for
/// every wanted item (`None` when some were never reached), with what was left.
fn reach<T: Ord + Clone + std::fmt::Debug>(
    cfg: &GenConfig,
    seed: u64,
    n: usize,
    wanted: &[T],
    mut found: impl FnMut(&Scenario, &mut dyn FnMut(T)),
) -> Result<usize, Vec<T>> {
    let mut left: std::collections::BTreeSet<T> = wanted.iter().cloned().collect();
    for (i, bytes) in inputs(seed, n).enumerate() {
        let g = scenario_from_bytes(&bytes, cfg);
        found(&g.scenario, &mut |t| {
            left.remove(&t);
        });
        if left.is_empty() {
            return Ok(i + 1);
        }
    }
    Err(left.into_iter().collect())
}

fn kmalloc_size(s: &Stmt) -> Option<u64> {
    match s.op {
        Op::Kmalloc { size, .. } | Op::Kzalloc { size, .. } | Op::Krealloc { size, .. } => {
            Some(size)
        }
        _ => None,
    }
}

fn boot(words: &[&str]) -> Option<BootConfig> {
    BootConfig::parse_words(words.iter().copied()).ok()
}

#[test]
fn kmalloc_sizes_reach_every_class_boundary_and_power_of_two() {
    let mut wanted: Vec<u64> = vec![];
    for b in KMALLOC_CLASSES
        .into_iter()
        .chain((14..=22).map(|s| 1u64 << s))
    {
        wanted.extend([b - 1, b, b + 1]);
    }
    // KMALLOC_MAX_SIZE + 1: NULL.
    wanted.push((4 << 20) + 1);
    wanted.sort_unstable();
    wanted.dedup();
    let took = reach(&GenConfig::kmalloc(), 1, 800, &wanted, |s, hit| {
        s.stmts.iter().filter_map(kmalloc_size).for_each(&mut *hit)
    });
    assert!(took.is_ok(), "kmalloc sizes never generated: {took:?}");
}

#[test]
fn the_legacy_kmalloc_limit_and_one_past_it_are_reached() {
    let mut cfg = GenConfig::kmalloc();
    cfg.boot = boot(&["kmalloc_max=128K"]);
    let took = reach(&cfg, 2, 100, &[128 << 10, (128 << 10) + 1], |s, hit| {
        s.stmts.iter().filter_map(kmalloc_size).for_each(&mut *hit)
    });
    assert!(took.is_ok(), "{took:?}");
}

#[test]
fn page_orders_reach_the_largest_and_one_past_it() {
    let took = reach(&GenConfig::buddy(), 3, 100, &[10u32, 11], |s, hit| {
        for st in &s.stmts {
            if let Op::AllocPages { order, .. } | Op::GetFreePages { order, .. } = st.op {
                hit(order);
            }
        }
    });
    assert!(took.is_ok(), "{took:?}");
}

/// What a `repeat` of alloc_pages runs out of: the top of its zonelist.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Top {
    Dma,
    Dma32,
    Normal,
    HighMem,
}

fn top(arch: Arch, gfp: Gfp) -> Top {
    if gfp & __GFP_DMA != 0 {
        Top::Dma
    } else if gfp & __GFP_DMA32 != 0 && arch == Arch::X86_64 {
        Top::Dma32
    } else if gfp & __GFP_HIGHMEM != 0 && arch == Arch::I386 {
        Top::HighMem
    } else {
        Top::Normal
    }
}

#[test]
fn repeats_run_every_zonelist_dry_on_both_architectures() {
    for (words, want, seed) in [
        (
            &["arch=i386", "mem=1G"][..],
            &[Top::Dma, Top::Normal, Top::HighMem][..],
            4,
        ),
        (
            &["arch=x86_64", "mem=8G"][..],
            &[Top::Dma, Top::Dma32, Top::Normal][..],
            5,
        ),
    ] {
        let mut cfg = GenConfig::buddy();
        cfg.boot = boot(words);
        let took = reach(&cfg, seed, 800, want, |s, hit| {
            for st in s.stmts.iter().filter(|st| st.repeat.is_some()) {
                if let Op::AllocPages { gfp, .. } = st.op {
                    hit(top(s.boot.arch, gfp));
                }
            }
        });
        assert!(took.is_ok(), "{words:?}: never exhausted {took:?}");
    }
}

#[test]
fn repeats_exhaust_the_vmalloc_space_and_kmalloc() {
    // The vmalloc space of a highmem machine runs out to vmap (no memory needed), that of a
    // small machine to vmalloc (which runs the memory out too).
    for (words, what, seed) in [
        (&["arch=i386", "mem=1G"][..], "vmap", 6),
        (&["arch=i386", "mem=32M"][..], "vmalloc", 12),
    ] {
        let mut cfg = GenConfig::vmalloc();
        cfg.boot = boot(words);
        let took = reach(&cfg, seed, 500, &[what], |s, hit| {
            for st in s.stmts.iter().filter(|st| st.repeat.is_some()) {
                hit(st.op.name().trim_end_matches("_32"));
            }
        });
        assert!(took.is_ok(), "{words:?}: {took:?}");
    }
    // A pool drained to its reserve needs a kernel scenario that exhausts memory and then
    // drains a pool: about one in 500 inputs (seeds 1 to 7 took 124 to 749).
    let took = reach(
        &GenConfig::kernel(),
        7,
        2000,
        &["kmalloc", "kmem_cache_alloc", "mempool_alloc"],
        |s, hit| {
            for st in s.stmts.iter().filter(|st| st.repeat.is_some()) {
                hit(st.op.name());
            }
        },
    );
    assert!(took.is_ok(), "never repeated: {took:?}");
}

#[test]
fn vmalloc_sizes_reach_the_page_array_thresholds_and_the_largest() {
    // (machine, sizes): a page either side of one page, the sizes whose page array no longer
    // fits in a page, the largest vmalloc of the machine and one past it.
    let i386 = boot(&["arch=i386", "mem=1G"]);
    let x86_64 = boot(&["arch=x86_64", "mem=4G"]);
    let k = 4096u64;
    for (b, want, seed) in [
        (i386, vec![k - 1, k, k + 1, 1024 * k, 1024 * k + 1], 8),
        (x86_64, vec![k + 1, 512 * k, 512 * k + 1, (1 << 30) + k], 9),
    ] {
        let mut cfg = GenConfig::vmalloc();
        cfg.boot = b.clone();
        let took = reach(&cfg, seed, 600, &want, |s, hit| {
            for st in &s.stmts {
                if let Op::Vmalloc { size }
                | Op::Vzalloc { size }
                | Op::Vmalloc32 { size }
                | Op::VmallocNode { size, .. } = st.op
                {
                    hit(size);
                }
            }
        });
        assert!(
            took.is_ok(),
            "{:?}: never generated {took:?}",
            b.map(|b| b.arch)
        );
    }
}

#[test]
fn calls_whose_answer_is_null_or_zero_are_made() {
    let wanted = [
        "kmalloc past KMALLOC_MAX_SIZE",
        "alloc_pages past MAX_PAGE_ORDER",
        "vmap of no pages",
        "kmem_cache_create past KMALLOC_MAX_SIZE",
        "page pool past MAX_PAGE_ORDER",
        "krealloc to 0",
        "vmalloc past totalram",
        "kmalloc 0",
    ];
    let took = reach(&GenConfig::kernel(), 10, 1500, &wanted, |s, hit| {
        for st in &s.stmts {
            match &st.op {
                Op::Kmalloc { size, .. } if *size > 4 << 20 => hit("kmalloc past KMALLOC_MAX_SIZE"),
                Op::Kmalloc { size: 0, .. } => hit("kmalloc 0"),
                Op::AllocPages { order: 11, .. } => hit("alloc_pages past MAX_PAGE_ORDER"),
                Op::Vmap { pages } if pages.is_empty() => hit("vmap of no pages"),
                Op::KmemCacheCreate { size, .. } if *size > 4 << 20 => {
                    hit("kmem_cache_create past KMALLOC_MAX_SIZE")
                }
                Op::MempoolCreatePagePool { order: 11, .. } => hit("page pool past MAX_PAGE_ORDER"),
                Op::Krealloc { size: 0, .. } => hit("krealloc to 0"),
                Op::Vmalloc { size } if *size > Limits::new(&s.boot).totalram * 4096 => {
                    hit("vmalloc past totalram")
                }
                _ => {}
            }
        }
    });
    assert!(took.is_ok(), "never made: {took:?}");
}

#[test]
fn accesses_reach_the_last_byte() {
    let took = reach(&GenConfig::kmalloc(), 11, 50, &[true], |s, hit| {
        let mut sizes = std::collections::BTreeMap::new();
        for st in &s.stmts {
            if let (Some(name), Some(size)) = (&st.bind, kmalloc_size(st)) {
                sizes.insert(name.clone(), size);
            }
            if let Op::Write { addr, len, .. } | Op::Read { addr, len } = &st.op {
                if let kmem_rules::Operand::Name { name, offset } = addr {
                    let end = u64::try_from(*offset).unwrap_or(0) + len;
                    if sizes
                        .get(name)
                        .is_some_and(|&s| s > 1 && end == s && *len < s)
                    {
                        hit(true);
                    }
                }
            }
        }
    });
    assert!(
        took.is_ok(),
        "no access ended at the last byte of an object"
    );
}

/// The pfn of a literal `struct page *` operand on the scenario's machine.
fn literal_pfn(s: &Scenario, page: &kmem_rules::scenario::Operand) -> Option<u64> {
    let kmem_rules::scenario::Operand::Lit(ptr) = *page else {
        return None;
    };
    kmem_rules::model::facts::Facts::new(&s.boot).pfn_of_page(ptr)
}

#[test]
fn kmap_walks_cover_more_distinct_pages_than_pkmap_slots() {
    // With the generator's own boot lines: a scenario whose walks kmap more distinct
    // highmem pages than twice LAST_PKMAP wraps the pkmap scan twice.
    let took = reach(&GenConfig::kmap(), 3, 400, &["pae", "no-pae"], |s, hit| {
        let mut pages = std::collections::BTreeMap::new();
        for st in s.stmts.iter().filter(|st| st.walk) {
            if let Op::Kmap { page } = &st.op {
                let n = pages.entry(page.clone()).or_insert(0);
                *n = st.calls().max(*n);
            }
        }
        let last_pkmap = if s.boot.pae { 512 } else { 1024 };
        if pages.values().sum::<u32>() >= 2 * last_pkmap {
            hit(if s.boot.pae { "pae" } else { "no-pae" });
        }
    });
    assert!(took.is_ok(), "{took:?}");
}

#[test]
fn translations_reach_the_last_pfn_and_the_first_above_4g() {
    // page_to_phys of a page above 4 GiB needs i386 with PAE and mem= over 4G: about one
    // generated boot in 40.
    let took = reach(
        &GenConfig::buddy(),
        11,
        3000,
        &["last pfn", "first pfn above 4G", "above 4G under PAE"],
        |s, hit| {
            let f = kmem_rules::model::facts::Facts::new(&s.boot);
            for st in &s.stmts {
                let (Op::PageToPhys { page } | Op::PageAddress { page }) = &st.op else {
                    continue;
                };
                let Some(pfn) = literal_pfn(s, page) else {
                    continue;
                };
                if pfn + 1 == f.max_pfn {
                    hit("last pfn");
                }
                if pfn == 1 << 20 {
                    hit("first pfn above 4G");
                }
                if pfn >= 1 << 20 && s.boot.pae && matches!(st.op, Op::PageToPhys { .. }) {
                    hit("above 4G under PAE");
                }
            }
        },
    );
    assert!(took.is_ok(), "{took:?}");
}
