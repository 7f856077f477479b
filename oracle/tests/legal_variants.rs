//! Legal variants of the vmalloc and slab seams (`broken::vmalloc`, `broken::slab`) pass the whole checker: the seeded misuse-heavy
//! runs of slab_scenarios.rs and vmalloc_scenarios.rs, a seeded run of the kernel target,
//! and every scenario of corpus/regressions/. They choose differently from kmem (which
//! address vmalloc takes, which object a slab hands out) and stay within Linux's contract,
//! so a failure here is the oracle judging one of kmem's habits.

mod broken;
mod common;

use broken::slab::{AddressOrder, FreelistRandom};
use broken::vmalloc::TopDown;
use kmem::{Buddy, PageAllocator, Seams};
use kmem_oracle::{check_with_seams, parse, GenConfig, Options};

/// The seeded runs of slab_scenarios.rs (same seeds, sizes and misuse rate).
fn slab_runs(seams: &dyn Seams) {
    for (cfg, seed) in [
        (GenConfig::slab(), 11),
        (GenConfig::kmalloc(), 12),
        (GenConfig::mempool(), 13),
    ] {
        let mut cfg = cfg;
        cfg.misuse_percent = 30;
        cfg.max_ops = 120;
        common::misuse_heavy_on(seams, &cfg, seed, 600, &[]);
    }
}

/// The seeded runs of vmalloc_scenarios.rs (same seeds, sizes and misuse rate).
fn vmalloc_runs(seams: &dyn Seams) {
    let mut cfg = GenConfig::vmalloc();
    cfg.misuse_percent = 40;
    common::misuse_heavy_on(seams, &cfg, 11, 600, &[]);
    let mut cfg = GenConfig::kmap();
    cfg.misuse_percent = 40;
    cfg.boot = kmem::BootConfig::parse_words(["arch=i386", "mem=1G", "debug_virtual=1"]).ok();
    common::misuse_heavy_on(seams, &cfg, 12, 600, &[]);
}

/// Every allocator at once: the kernel target's generator.
fn kernel_runs(seams: &dyn Seams) {
    let mut cfg = GenConfig::kernel();
    cfg.max_ops = 150;
    common::misuse_heavy_on(seams, &cfg, 14, 300, &[]);
}

/// Every scenario of corpus/regressions/ passes on a machine with `seams`.
fn regressions(seams: &dyn Seams) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/regressions");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus/regressions")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "kmem"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no regression scenarios in {dir}");
    let make = |z, r: &[(u64, u64)]| -> Box<dyn PageAllocator> { Box::new(Buddy::new(z, r)) };
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable scenario");
        let s = parse(&text).unwrap_or_else(|e| panic!("{}:{e}", path.display()));
        let v = check_with_seams(&s, Options::default(), &make, seams);
        assert!(
            v.pass(),
            "{}: verdict fail\n{}",
            path.display(),
            v.explain()
        );
    }
}

const SEED: u64 = 0x5eed_f1ee;

#[test]
fn a_top_down_vmalloc_space_passes_the_vmalloc_and_kmap_runs() {
    vmalloc_runs(&TopDown);
}

#[test]
fn a_top_down_vmalloc_space_passes_the_kernel_runs() {
    kernel_runs(&TopDown);
}

#[test]
fn a_top_down_vmalloc_space_passes_the_regressions() {
    regressions(&TopDown);
}

#[test]
fn slabs_shuffled_as_with_freelist_random_pass_the_slab_runs() {
    slab_runs(&FreelistRandom(SEED));
}

#[test]
fn slabs_shuffled_as_with_freelist_random_pass_the_kernel_runs() {
    kernel_runs(&FreelistRandom(SEED));
}

#[test]
fn slabs_shuffled_as_with_freelist_random_pass_the_regressions() {
    regressions(&FreelistRandom(SEED));
}

#[test]
fn slabs_handing_out_the_lowest_free_object_pass_the_slab_runs() {
    slab_runs(&AddressOrder);
}

#[test]
fn slabs_handing_out_the_lowest_free_object_pass_the_kernel_runs() {
    kernel_runs(&AddressOrder);
}

#[test]
fn slabs_handing_out_the_lowest_free_object_pass_the_regressions() {
    regressions(&AddressOrder);
}

fn boot(seams: &dyn Seams) -> kmem::Machine {
    let cfg = kmem::BootConfig::parse_words(["arch=i386", "mem=64M"]).expect("boot line");
    let make = |z, r: &[(u64, u64)]| -> Box<dyn PageAllocator> { Box::new(Buddy::new(z, r)) };
    kmem::Machine::boot_with_seams(&cfg, make, seams).expect("boots")
}

/// The objects a fresh cache of 64-byte objects hands out first, in order.
fn first_objects(seams: &dyn Seams, n: usize) -> Vec<u64> {
    let mut m = boot(seams);
    let c = m.kmem_cache_create("variant", 64, 0, 0, None);
    (0..n)
        .map(|_| m.kmem_cache_alloc(c, kmem::gfp::GFP_KERNEL))
        .collect()
}

/// The variants do choose differently from kmem, so the runs above test something.
#[test]
fn each_variant_chooses_differently_from_kmem() {
    use kmem::{KmemSeams, PAGE_SIZE};

    let mut m = boot(&KmemSeams);
    let low = m.vmalloc(PAGE_SIZE);
    assert_eq!(low, m.layout().vmalloc_start);
    let mut m = boot(&TopDown);
    let high = m.vmalloc(PAGE_SIZE);
    assert_eq!(
        high + 2 * PAGE_SIZE,
        m.layout().vmalloc_end,
        "area and guard at the top"
    );

    let kmem_order = first_objects(&KmemSeams, 16);
    assert!(kmem_order.windows(2).all(|w| w[1] == w[0] + 64));
    let random = first_objects(&FreelistRandom(SEED), 16);
    assert!(random.iter().all(|&p| p != 0));
    assert_ne!(random, kmem_order);
    assert!(random.windows(2).any(|w| w[1] < w[0]), "{random:x?}");

    // Freed in the order a, c, b: SLUB hands b out again first, the address-ordered list a.
    for (seams, want) in [(&KmemSeams as &dyn Seams, 1), (&AddressOrder, 0)] {
        let mut m = boot(seams);
        let c = m.kmem_cache_create("variant", 64, 0, 0, None);
        let objs: Vec<u64> = (0..3)
            .map(|_| m.kmem_cache_alloc(c, kmem::gfp::GFP_KERNEL))
            .collect();
        for i in [0, 2, 1] {
            m.kmem_cache_free(c, objs[i]);
        }
        assert_eq!(m.kmem_cache_alloc(c, kmem::gfp::GFP_KERNEL), objs[want]);
    }
}
