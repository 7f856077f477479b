//! Random vmalloc and kmap scenarios through the checker, misuse-heavy: the real kernel model
//! must pass every one, and every misuse class these families can commit must be judged.

mod common;

use kmem_oracle::GenConfig;

#[test]
fn misuse_heavy_vmalloc_scenarios_pass_and_every_misuse_class_is_judged() {
    let mut cfg = GenConfig::vmalloc();
    cfg.misuse_percent = 40;
    common::misuse_heavy(
        &cfg,
        11,
        600,
        &[
            "double-free",
            "invalid-free",
            "use-after-free",
            "out-of-bounds",
            "wild-access",
            "sleep-in-atomic",
            "bad-virt-to-phys",
        ],
    );
}

#[test]
fn misuse_heavy_kmap_scenarios_pass_and_every_misuse_class_is_judged() {
    let mut cfg = GenConfig::kmap();
    cfg.misuse_percent = 40;
    // Highmem needs more than MAXMEM (879M with 6.6's layout) on i386.
    cfg.boot = kmem::BootConfig::parse_words(["arch=i386", "mem=1G", "debug_virtual=1"]).ok();
    common::misuse_heavy(
        &cfg,
        12,
        600,
        &[
            "kmap-misuse",
            "sleep-in-atomic",
            "use-after-free",
            "bad-virt-to-phys",
            "context-imbalance",
        ],
    );
}
