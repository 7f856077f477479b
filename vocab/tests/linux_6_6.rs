//! Golden values: every GFP bit and composite, every slab flag and every `slub_debug=` letter,
//! restated from Linux 6.6's headers (include/linux/gfp_types.h, include/linux/slab.h,
//! mm/slab.h's SLAB_DEBUG_FLAGS and mm/slub.c's parse_slub_debug_flags()). The model and the
//! oracle both read the vocabulary crate, so a wrong value there would be believed by both;
//! this file is the independent check that it is Linux's.
//!
//! Configuration assumed where 6.6 makes a value depend on it: no CONFIG_KASAN_HW_TAGS
//! (__GFP_SKIP_ZERO and __GFP_SKIP_KASAN are 0), no CONFIG_LOCKDEP (__GFP_NOLOCKDEP is 0),
//! CONFIG_MEMCG_KMEM (SLAB_ACCOUNT is a real bit).

use kmem_vocab::gfp::*;
use kmem_vocab::slab_flags::*;
use kmem_vocab::SlubDebug;

/// include/linux/gfp_types.h, "Plain integer GFP bitmasks" (6.6): name, ___GFP_ value.
const GFP_BITS_6_6: &[(&str, u32)] = &[
    ("__GFP_DMA", 0x01),
    ("__GFP_HIGHMEM", 0x02),
    ("__GFP_DMA32", 0x04),
    ("__GFP_MOVABLE", 0x08),
    ("__GFP_RECLAIMABLE", 0x10),
    ("__GFP_HIGH", 0x20),
    ("__GFP_IO", 0x40),
    ("__GFP_FS", 0x80),
    ("__GFP_ZERO", 0x100),
    // 0x200 is unused in 6.6 (___GFP_ATOMIC went away in 6.3).
    ("__GFP_DIRECT_RECLAIM", 0x400),
    ("__GFP_KSWAPD_RECLAIM", 0x800),
    ("__GFP_WRITE", 0x1000),
    ("__GFP_NOWARN", 0x2000),
    ("__GFP_RETRY_MAYFAIL", 0x4000),
    ("__GFP_NOFAIL", 0x8000),
    ("__GFP_NORETRY", 0x10000),
    ("__GFP_MEMALLOC", 0x20000),
    ("__GFP_COMP", 0x40000),
    ("__GFP_NOMEMALLOC", 0x80000),
    ("__GFP_HARDWALL", 0x100000),
    ("__GFP_THISNODE", 0x200000),
    ("__GFP_ACCOUNT", 0x400000),
    ("__GFP_ZEROTAGS", 0x800000),
];

/// The composites of "Useful GFP flag combinations" (6.6), worked out by hand from the
/// definitions there: GFP_NOWAIT is __GFP_KSWAPD_RECLAIM alone in 6.6 (later kernels add
/// __GFP_NOWARN), and GFP_HIGHUSER_MOVABLE's __GFP_SKIP_KASAN is 0 in this configuration.
const GFP_COMPOSITES_6_6: &[(&str, u32)] = &[
    ("__GFP_RECLAIM", 0xc00),
    ("GFP_ATOMIC", 0x820),
    ("GFP_KERNEL", 0xcc0),
    ("GFP_KERNEL_ACCOUNT", 0x400cc0),
    ("GFP_NOWAIT", 0x800),
    ("GFP_NOIO", 0xc00),
    ("GFP_NOFS", 0xc40),
    ("GFP_USER", 0x100cc0),
    ("GFP_DMA", 0x01),
    ("GFP_DMA32", 0x04),
    ("GFP_HIGHUSER", 0x100cc2),
    ("GFP_HIGHUSER_MOVABLE", 0x100cca),
    // (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM
    ("GFP_TRANSHUGE_LIGHT", 0x1c20ca),
    ("GFP_TRANSHUGE", 0x1c24ca),
];

/// include/linux/slab.h (6.6, before the _SLAB_* enum of 6.8).
const SLAB_FLAGS_6_6: &[(&str, u32)] = &[
    ("SLAB_CONSISTENCY_CHECKS", 0x0000_0100),
    ("SLAB_RED_ZONE", 0x0000_0400),
    ("SLAB_POISON", 0x0000_0800),
    ("SLAB_KMALLOC", 0x0000_1000),
    ("SLAB_HWCACHE_ALIGN", 0x0000_2000),
    ("SLAB_CACHE_DMA", 0x0000_4000),
    ("SLAB_CACHE_DMA32", 0x0000_8000),
    ("SLAB_STORE_USER", 0x0001_0000),
    ("SLAB_RECLAIM_ACCOUNT", 0x0002_0000),
    ("SLAB_PANIC", 0x0004_0000),
    ("SLAB_TYPESAFE_BY_RCU", 0x0008_0000),
    ("SLAB_ACCOUNT", 0x0400_0000),
];

fn gfp_by_name(name: &str) -> Option<u32> {
    GFP_NAMES.iter().find(|&&(n, _)| n == name).map(|&(_, v)| v)
}

#[test]
fn every_gfp_bit_is_linux_6_6s() {
    let consts = [
        __GFP_DMA,
        __GFP_HIGHMEM,
        __GFP_DMA32,
        __GFP_MOVABLE,
        __GFP_RECLAIMABLE,
        __GFP_HIGH,
        __GFP_IO,
        __GFP_FS,
        __GFP_ZERO,
        __GFP_DIRECT_RECLAIM,
        __GFP_KSWAPD_RECLAIM,
        __GFP_WRITE,
        __GFP_NOWARN,
        __GFP_RETRY_MAYFAIL,
        __GFP_NOFAIL,
        __GFP_NORETRY,
        __GFP_MEMALLOC,
        __GFP_COMP,
        __GFP_NOMEMALLOC,
        __GFP_HARDWALL,
        __GFP_THISNODE,
        __GFP_ACCOUNT,
        __GFP_ZEROTAGS,
    ];
    assert_eq!(consts.len(), GFP_BITS_6_6.len());
    for (&c, &(name, want)) in consts.iter().zip(GFP_BITS_6_6) {
        assert_eq!(c, want, "{name}");
        // The parser's table knows every bit by its name.
        assert_eq!(gfp_by_name(name), Some(want), "{name} in GFP_NAMES");
        assert_eq!(parse_gfp(name), Ok(want), "parse {name}");
    }
    let all: u32 = GFP_BITS_6_6.iter().map(|&(_, v)| v).fold(0, |a, b| a | b);
    assert_eq!(
        __GFP_BITS_MASK, all,
        "__GFP_BITS_MASK is exactly the known bits"
    );
    assert_eq!(GFP_ZONEMASK, 0x0f);
}

#[test]
fn every_gfp_composite_is_linux_6_6s() {
    let consts = [
        __GFP_RECLAIM,
        GFP_ATOMIC,
        GFP_KERNEL,
        GFP_KERNEL_ACCOUNT,
        GFP_NOWAIT,
        GFP_NOIO,
        GFP_NOFS,
        GFP_USER,
        GFP_DMA,
        GFP_DMA32,
        GFP_HIGHUSER,
        GFP_HIGHUSER_MOVABLE,
        GFP_TRANSHUGE_LIGHT,
        GFP_TRANSHUGE,
    ];
    assert_eq!(consts.len(), GFP_COMPOSITES_6_6.len());
    for (&c, &(name, want)) in consts.iter().zip(GFP_COMPOSITES_6_6) {
        assert_eq!(c, want, "{name}");
        assert_eq!(gfp_by_name(name), Some(want), "{name} in GFP_NAMES");
    }
    // Every name the parser accepts is one of the two tables above.
    for &(n, v) in GFP_NAMES {
        let known = GFP_BITS_6_6
            .iter()
            .chain(GFP_COMPOSITES_6_6)
            .any(|&(m, w)| m == n && w == v);
        assert!(known, "{n} = {v:#x} is not a 6.6 name and value");
    }
}

#[test]
fn gfp_masks_print_as_pgg_does() {
    // %pGg of include/trace/events/mmflags.h: composites first, then single bits.
    assert_eq!(format_gfp(0xcc0), "GFP_KERNEL");
    assert_eq!(format_gfp(0xdc0), "GFP_KERNEL|__GFP_ZERO");
    assert_eq!(format_gfp(0x2800), "GFP_NOWAIT|__GFP_NOWARN");
    assert_eq!(format_gfp(0x821), "GFP_ATOMIC|GFP_DMA");
}

#[test]
fn every_slab_flag_is_linux_6_6s() {
    let consts = [
        SLAB_CONSISTENCY_CHECKS,
        SLAB_RED_ZONE,
        SLAB_POISON,
        SLAB_KMALLOC,
        SLAB_HWCACHE_ALIGN,
        SLAB_CACHE_DMA,
        SLAB_CACHE_DMA32,
        SLAB_STORE_USER,
        SLAB_RECLAIM_ACCOUNT,
        SLAB_PANIC,
        SLAB_TYPESAFE_BY_RCU,
        SLAB_ACCOUNT,
    ];
    for (&c, &(name, want)) in consts.iter().zip(SLAB_FLAGS_6_6) {
        assert_eq!(c, want, "{name}");
        assert_eq!(parse_slab_flags(name), Ok(want), "parse {name}");
    }
    assert_eq!(SLAB_FLAG_NAMES.len(), SLAB_FLAGS_6_6.len());
    for &(n, v) in SLAB_FLAG_NAMES {
        assert!(
            SLAB_FLAGS_6_6.contains(&(n, v)),
            "{n} = {v:#x} is not a 6.6 name and value"
        );
    }
    // mm/slab.h: SLAB_DEBUG_FLAGS.
    assert_eq!(SLAB_DEBUG_FLAGS, 0x0001_0d00);
}

#[test]
fn every_slub_debug_letter_is_linux_6_6s() {
    // parse_slub_debug_flags(): letters are case-insensitive; F, Z, P, U map to these flags;
    // the option without letters means DEBUG_DEFAULT_FLAGS (F, Z, P and U).
    let letter = |l: &str| SlubDebug::parse(l).map(|d| d.slab_flags());
    assert_eq!(letter("F"), Ok(0x100));
    assert_eq!(letter("Z"), Ok(0x400));
    assert_eq!(letter("P"), Ok(0x800));
    assert_eq!(letter("U"), Ok(0x10000));
    assert_eq!(letter("f"), Ok(0x100));
    assert_eq!(letter("zp"), Ok(0xc00));
    assert_eq!(SlubDebug::ALL.slab_flags(), 0x0001_0d00);
    assert_eq!(SlubDebug::ALL.letters(), "FZPU");
}
