//! GFP flags as in include/linux/gfp_types.h (Linux 6.6 values: bit 0x200 is unused since
//! __GFP_ATOMIC went away, so GFP_ATOMIC is __GFP_HIGH|__GFP_KSWAPD_RECLAIM = 0x820).

pub type Gfp = u32;

pub const __GFP_DMA: Gfp = 0x01;
pub const __GFP_HIGHMEM: Gfp = 0x02;
pub const __GFP_DMA32: Gfp = 0x04;
pub const __GFP_MOVABLE: Gfp = 0x08;
pub const __GFP_RECLAIMABLE: Gfp = 0x10;
pub const __GFP_HIGH: Gfp = 0x20;
pub const __GFP_IO: Gfp = 0x40;
pub const __GFP_FS: Gfp = 0x80;
pub const __GFP_ZERO: Gfp = 0x100;
pub const __GFP_DIRECT_RECLAIM: Gfp = 0x400;
pub const __GFP_KSWAPD_RECLAIM: Gfp = 0x800;
pub const __GFP_WRITE: Gfp = 0x1000;
pub const __GFP_NOWARN: Gfp = 0x2000;
pub const __GFP_RETRY_MAYFAIL: Gfp = 0x4000;
pub const __GFP_NOFAIL: Gfp = 0x8000;
pub const __GFP_NORETRY: Gfp = 0x10000;
pub const __GFP_MEMALLOC: Gfp = 0x20000;
pub const __GFP_COMP: Gfp = 0x40000;
pub const __GFP_NOMEMALLOC: Gfp = 0x80000;
pub const __GFP_HARDWALL: Gfp = 0x100000;
pub const __GFP_THISNODE: Gfp = 0x200000;
pub const __GFP_ACCOUNT: Gfp = 0x400000;
pub const __GFP_ZEROTAGS: Gfp = 0x800000;

pub const __GFP_RECLAIM: Gfp = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
pub const GFP_ZONEMASK: Gfp = __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE;
/// GFP_RECLAIM_MASK (mm/internal.h): the caller's bits a slab's page allocation keeps
/// (new_slab() masks with it and GFP_CONSTRAINT_MASK; the cache's allocflags bring the zone).
pub const GFP_RECLAIM_MASK: Gfp = __GFP_RECLAIM
    | __GFP_HIGH
    | __GFP_IO
    | __GFP_FS
    | __GFP_NOWARN
    | __GFP_RETRY_MAYFAIL
    | __GFP_NOFAIL
    | __GFP_NORETRY
    | __GFP_MEMALLOC
    | __GFP_NOMEMALLOC;
/// GFP_CONSTRAINT_MASK (mm/internal.h).
pub const GFP_CONSTRAINT_MASK: Gfp = __GFP_HARDWALL | __GFP_THISNODE;

pub const GFP_ATOMIC: Gfp = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
pub const GFP_KERNEL: Gfp = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
pub const GFP_KERNEL_ACCOUNT: Gfp = GFP_KERNEL | __GFP_ACCOUNT;
pub const GFP_NOWAIT: Gfp = __GFP_KSWAPD_RECLAIM;
pub const GFP_NOIO: Gfp = __GFP_RECLAIM;
pub const GFP_NOFS: Gfp = __GFP_RECLAIM | __GFP_IO;
pub const GFP_USER: Gfp = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
pub const GFP_DMA: Gfp = __GFP_DMA;
pub const GFP_DMA32: Gfp = __GFP_DMA32;
pub const GFP_HIGHUSER: Gfp = GFP_USER | __GFP_HIGHMEM;
pub const GFP_HIGHUSER_MOVABLE: Gfp = GFP_HIGHUSER | __GFP_MOVABLE;
pub const GFP_TRANSHUGE_LIGHT: Gfp =
    (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & !__GFP_RECLAIM;
pub const GFP_TRANSHUGE: Gfp = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/// Every bit this model knows; others are rejected by the parser.
pub const __GFP_BITS_MASK: Gfp = 0xff_ffff & !0x200;

/// Names in the order of include/trace/events/mmflags.h (`__def_gfpflag_names`); printing is
/// greedy in this order, as `%pGg` does, so 0xdc0 prints as `GFP_KERNEL|__GFP_ZERO`.
pub const GFP_NAMES: &[(&str, Gfp)] = &[
    ("GFP_TRANSHUGE", GFP_TRANSHUGE),
    ("GFP_TRANSHUGE_LIGHT", GFP_TRANSHUGE_LIGHT),
    ("GFP_HIGHUSER_MOVABLE", GFP_HIGHUSER_MOVABLE),
    ("GFP_HIGHUSER", GFP_HIGHUSER),
    ("GFP_USER", GFP_USER),
    ("GFP_KERNEL_ACCOUNT", GFP_KERNEL_ACCOUNT),
    ("GFP_KERNEL", GFP_KERNEL),
    ("GFP_NOFS", GFP_NOFS),
    ("GFP_ATOMIC", GFP_ATOMIC),
    ("GFP_NOIO", GFP_NOIO),
    ("GFP_NOWAIT", GFP_NOWAIT),
    ("GFP_DMA", GFP_DMA),
    ("__GFP_HIGHMEM", __GFP_HIGHMEM),
    ("GFP_DMA32", GFP_DMA32),
    ("__GFP_HIGH", __GFP_HIGH),
    ("__GFP_IO", __GFP_IO),
    ("__GFP_FS", __GFP_FS),
    ("__GFP_NOWARN", __GFP_NOWARN),
    ("__GFP_RETRY_MAYFAIL", __GFP_RETRY_MAYFAIL),
    ("__GFP_NOFAIL", __GFP_NOFAIL),
    ("__GFP_NORETRY", __GFP_NORETRY),
    ("__GFP_COMP", __GFP_COMP),
    ("__GFP_ZERO", __GFP_ZERO),
    ("__GFP_NOMEMALLOC", __GFP_NOMEMALLOC),
    ("__GFP_MEMALLOC", __GFP_MEMALLOC),
    ("__GFP_HARDWALL", __GFP_HARDWALL),
    ("__GFP_THISNODE", __GFP_THISNODE),
    ("__GFP_RECLAIMABLE", __GFP_RECLAIMABLE),
    ("__GFP_MOVABLE", __GFP_MOVABLE),
    ("__GFP_ACCOUNT", __GFP_ACCOUNT),
    ("__GFP_WRITE", __GFP_WRITE),
    ("__GFP_RECLAIM", __GFP_RECLAIM),
    ("__GFP_DIRECT_RECLAIM", __GFP_DIRECT_RECLAIM),
    ("__GFP_KSWAPD_RECLAIM", __GFP_KSWAPD_RECLAIM),
    ("__GFP_ZEROTAGS", __GFP_ZEROTAGS),
    // Accepted by the parser, never chosen by the printer (the names above cover the bits).
    ("__GFP_DMA", __GFP_DMA),
    ("__GFP_DMA32", __GFP_DMA32),
];

/// Formats a mask as `%pGg` does: greedy over [`GFP_NAMES`], leftover bits in hex; `0` for none.
pub fn format_gfp(mask: Gfp) -> String {
    crate::flags::format_flags(mask as u64, GFP_NAMES.iter().map(|&(n, v)| (n, v as u64)))
}

/// Parses `NAME|NAME|0x..`; `0` is no flags. Unknown names and bits are errors.
pub fn parse_gfp(s: &str) -> Result<Gfp, String> {
    let v = crate::flags::parse_flags(s, GFP_NAMES.iter().map(|&(n, v)| (n, v as u64)), "GFP")?;
    if v & !(__GFP_BITS_MASK as u64) != 0 {
        return Err(format!("GFP mask {s} has bits outside __GFP_BITS_MASK"));
    }
    Ok(v as Gfp)
}

/// gfpflags_allow_blocking(): the caller may sleep.
pub fn gfpflags_allow_blocking(gfp: Gfp) -> bool {
    gfp & __GFP_DIRECT_RECLAIM != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        assert_eq!(GFP_KERNEL, 0xcc0);
        assert_eq!(GFP_ATOMIC, 0x820);
        assert_eq!(GFP_NOWAIT, 0x800);
        assert_eq!(GFP_HIGHUSER_MOVABLE, 0x100cca);
    }

    #[test]
    fn formatting_is_greedy_like_pgg() {
        assert_eq!(format_gfp(GFP_KERNEL), "GFP_KERNEL");
        assert_eq!(format_gfp(GFP_KERNEL | __GFP_ZERO), "GFP_KERNEL|__GFP_ZERO");
        assert_eq!(format_gfp(GFP_ATOMIC | __GFP_DMA), "GFP_ATOMIC|GFP_DMA");
        assert_eq!(format_gfp(0), "0");
        for m in [
            0,
            GFP_KERNEL,
            GFP_ATOMIC | __GFP_ZERO,
            GFP_HIGHUSER | __GFP_NOWARN,
            0x1034,
        ] {
            assert_eq!(parse_gfp(&format_gfp(m)).unwrap(), m, "{}", format_gfp(m));
        }
        assert!(parse_gfp("GFP_BOGUS").is_err());
        assert!(parse_gfp("0x200").is_err());
        assert!(parse_gfp("GFP_KERNEL|").is_err());
    }
}
