//! SLAB flags as in include/linux/slab.h (values of Linux 6.6).

pub type SlabFlags = u32;

pub const SLAB_CONSISTENCY_CHECKS: SlabFlags = 0x0000_0100;
pub const SLAB_RED_ZONE: SlabFlags = 0x0000_0400;
pub const SLAB_POISON: SlabFlags = 0x0000_0800;
pub const SLAB_KMALLOC: SlabFlags = 0x0000_1000;
pub const SLAB_HWCACHE_ALIGN: SlabFlags = 0x0000_2000;
pub const SLAB_CACHE_DMA: SlabFlags = 0x0000_4000;
pub const SLAB_CACHE_DMA32: SlabFlags = 0x0000_8000;
pub const SLAB_STORE_USER: SlabFlags = 0x0001_0000;
pub const SLAB_PANIC: SlabFlags = 0x0004_0000;
pub const SLAB_TYPESAFE_BY_RCU: SlabFlags = 0x0008_0000;
pub const SLAB_RECLAIM_ACCOUNT: SlabFlags = 0x0002_0000;
pub const SLAB_ACCOUNT: SlabFlags = 0x0400_0000;

/// The debug flags slub_debug= turns on (SLAB_DEBUG_FLAGS in mm/slab.h).
pub const SLAB_DEBUG_FLAGS: SlabFlags =
    SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_CONSISTENCY_CHECKS;

pub const SLAB_FLAG_NAMES: &[(&str, SlabFlags)] = &[
    ("SLAB_CONSISTENCY_CHECKS", SLAB_CONSISTENCY_CHECKS),
    ("SLAB_RED_ZONE", SLAB_RED_ZONE),
    ("SLAB_POISON", SLAB_POISON),
    ("SLAB_KMALLOC", SLAB_KMALLOC),
    ("SLAB_HWCACHE_ALIGN", SLAB_HWCACHE_ALIGN),
    ("SLAB_CACHE_DMA", SLAB_CACHE_DMA),
    ("SLAB_CACHE_DMA32", SLAB_CACHE_DMA32),
    ("SLAB_STORE_USER", SLAB_STORE_USER),
    ("SLAB_RECLAIM_ACCOUNT", SLAB_RECLAIM_ACCOUNT),
    ("SLAB_PANIC", SLAB_PANIC),
    ("SLAB_TYPESAFE_BY_RCU", SLAB_TYPESAFE_BY_RCU),
    ("SLAB_ACCOUNT", SLAB_ACCOUNT),
];

pub const SLAB_FLAGS_MASK: SlabFlags = {
    let mut m = 0;
    let mut i = 0;
    while i < SLAB_FLAG_NAMES.len() {
        m |= SLAB_FLAG_NAMES[i].1;
        i += 1;
    }
    m
};

pub fn format_slab_flags(flags: SlabFlags) -> String {
    crate::flags::format_flags(
        flags as u64,
        SLAB_FLAG_NAMES.iter().map(|&(n, v)| (n, v as u64)),
    )
}

pub fn parse_slab_flags(s: &str) -> Result<SlabFlags, String> {
    let v = crate::flags::parse_flags(
        s,
        SLAB_FLAG_NAMES.iter().map(|&(n, v)| (n, v as u64)),
        "SLAB",
    )?;
    if v & !(SLAB_FLAGS_MASK as u64) != 0 {
        return Err(format!("SLAB flags {s} have unknown bits"));
    }
    Ok(v as SlabFlags)
}
