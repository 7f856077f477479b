//! Random slab, kmalloc and mempool scenarios through the checker: seeded and bounded,
//! misuse-heavy, on the real kernel model. Every verdict must pass, and every class of
//! misuse the generator injects for these families must be judged.

mod common;

use kmem_oracle::GenConfig;

fn check_family(mut cfg: GenConfig, seed: u64, kinds: &[&str]) {
    cfg.misuse_percent = 30;
    cfg.max_ops = 120;
    common::misuse_heavy(&cfg, seed, 600, kinds);
}

#[test]
fn misuse_heavy_slab_scenarios_pass_and_each_misuse_is_judged() {
    check_family(
        GenConfig::slab(),
        11,
        &[
            "double-free",
            "invalid-free",
            "use-after-free",
            "out-of-bounds",
            "wrong-cache",
            "objects-remaining",
            "sleep-in-atomic",
        ],
    );
}

#[test]
fn misuse_heavy_kmalloc_scenarios_pass_and_each_misuse_is_judged() {
    check_family(
        GenConfig::kmalloc(),
        12,
        &[
            "double-free",
            "invalid-free",
            "use-after-free",
            "out-of-bounds",
            "sleep-in-atomic",
        ],
    );
}

#[test]
fn misuse_heavy_mempool_scenarios_pass_and_each_misuse_is_judged() {
    check_family(
        GenConfig::mempool(),
        13,
        &[
            "mempool-misuse",
            "use-after-free",
            "out-of-bounds",
            "sleep-in-atomic",
        ],
    );
}

/// The oracle's own calculate_sizes() agrees with the machine's slot layout for every size,
/// alignment and debug flag combination the generator uses (a disagreement is a bug on one
/// side: the oracle computes it from Linux's rules independently).
#[test]
fn oracle_layout_matches_the_machine_for_generated_caches() {
    use kmem::slab_flags::*;
    use kmem_oracle::model::slab::{alignment, layout};
    let sizes = [
        8u32, 16, 24, 32, 40, 64, 96, 100, 128, 192, 256, 500, 512, 1000, 1024, 2048, 4096, 5000,
    ];
    let aligns = [0u32, 8, 16, 32, 64];
    let flagsets = [
        0,
        SLAB_HWCACHE_ALIGN,
        SLAB_RED_ZONE,
        SLAB_POISON,
        SLAB_STORE_USER,
        SLAB_RED_ZONE | SLAB_POISON,
        SLAB_RED_ZONE | SLAB_STORE_USER | SLAB_HWCACHE_ALIGN,
        SLAB_DEBUG_FLAGS,
        SLAB_DEBUG_FLAGS | SLAB_HWCACHE_ALIGN,
    ];
    for arch in [kmem::Arch::I386, kmem::Arch::X86_64] {
        let boot = kmem::BootConfig {
            arch,
            ..Default::default()
        };
        let mut m = kmem::Machine::boot(&boot).unwrap();
        let ptr = if arch == kmem::Arch::I386 { 4 } else { 8 };
        for &size in &sizes {
            for &align in &aligns {
                for &flags in &flagsets {
                    for ctor in [None, Some(0x2a)] {
                        let h = m.kmem_cache_create("t", size as u64, align as u64, flags, ctor);
                        let info = m.kmem_cache_info(h).unwrap();
                        let a = alignment(flags, align, size, ptr);
                        let l = layout(size, a, flags, ctor.is_some(), false, arch);
                        let k = info.layout;
                        let what = format!(
                            "{arch:?} size {size} align {align} flags {flags:#x} ctor {ctor:?}"
                        );
                        assert_eq!(
                            (l.rlp, l.object_size, l.inuse, l.offset, l.size, l.align),
                            (
                                k.red_left_pad,
                                k.object_size,
                                k.inuse,
                                k.offset,
                                k.size,
                                k.align
                            ),
                            "{what}"
                        );
                        assert_eq!(
                            (l.pad_offset, l.size_from_object, l.track.map(|t| t.0)),
                            (k.pad_offset, k.size_from_object, k.track_offset),
                            "{what}"
                        );
                        m.kmem_cache_destroy(h);
                    }
                }
            }
        }
    }
}
