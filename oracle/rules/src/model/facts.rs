//! The oracle's own view of a machine's layout, worked out from the boot configuration
//! alone (no code shared with `kmem`), including what boot reserves and where mem_map lives,
//! by the rule docs/model.md states. The checker compares the machine's layout with these
//! facts before anything runs ([`Facts::boot_mismatch`]).

use kmem_vocab::{Arch, BootConfig};

pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u64 = 4096;
pub const MAX_ORDER: u32 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ZoneKind {
    Dma,
    Dma32,
    Normal,
    HighMem,
}

impl ZoneKind {
    pub fn name(self) -> &'static str {
        match self {
            ZoneKind::Dma => "DMA",
            ZoneKind::Dma32 => "DMA32",
            ZoneKind::Normal => "Normal",
            ZoneKind::HighMem => "HighMem",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ZoneFacts {
    pub kind: ZoneKind,
    pub start: u64,
    pub end: u64,
    pub managed: u64,
    /// WMARK_MIN.
    pub min: u64,
    /// WMARK_LOW: the fast path's watermark.
    pub low: u64,
    /// `lowmem_reserve[j]` for each zone index j.
    pub reserve: Vec<u64>,
}

/// What the oracle knows of a machine before anything runs.
#[derive(Clone, Debug)]
pub struct Facts {
    pub arch: Arch,
    /// The pkmap area and the kmap_local slots (i386; zero on x86_64).
    pub pkmap_base: u64,
    pub last_pkmap: u64,
    pub fixaddr_top: u64,
    /// FIXADDR_START (i386; 0 on x86_64).
    pub fixaddr_start: u64,
    pub fix_kmap_begin: u64,
    pub max_pfn: u64,
    pub lowmem_end_pfn: u64,
    pub page_offset: u64,
    pub high_memory: u64,
    pub vmalloc_start: u64,
    pub vmalloc_end: u64,
    pub zones: Vec<ZoneFacts>,
    /// Reserved [start, end) pfn ranges: what boot keeps from the buddy allocator.
    pub reserved: Vec<(u64, u64)>,
    /// The address of `mem_map[0]` (i386) or of vmemmap (x86_64), and sizeof(struct page).
    pub mem_map: u64,
    pub struct_page: u64,
}

/// sizeof(struct page): 32 bytes on a 32-bit kernel, 64 on a 64-bit one (include/linux/
/// mm_types.h without the debug and KMSAN fields).
fn struct_page_size(arch: Arch) -> u64 {
    match arch {
        Arch::I386 => 32,
        Arch::X86_64 => 64,
    }
}

/// vmemmap_base of x86_64 with 4-level paging and no KASLR (Documentation/arch/x86/x86_64/mm.rst).
const X86_64_VMEMMAP: u64 = 0xffff_ea00_0000_0000;

/// What boot reserves before the buddy allocator takes over, by the rule of docs/model.md:
/// the first 1 MiB (x86 always keeps it), a 4 MiB kernel image loaded at 1 MiB
/// (CONFIG_PHYSICAL_START), and mem_map, which memblock allocates top-down, so it ends at the
/// end of lowmem (max_low_pfn on i386, max_pfn on x86_64). Returns the ranges and the pfn
/// mem_map starts at.
fn boot_reservations(arch: Arch, max_pfn: u64, lowmem_end_pfn: u64) -> (Vec<(u64, u64)>, u64) {
    let one_mib = (1u64 << 20) >> PAGE_SHIFT;
    let image_end = one_mib + ((4u64 << 20) >> PAGE_SHIFT);
    let mem_map_bytes = max_pfn * struct_page_size(arch);
    let mem_map_pages = mem_map_bytes.div_ceil(PAGE_SIZE);
    let mm_start = lowmem_end_pfn - mem_map_pages;
    (
        vec![
            (0, one_mib),
            (one_mib, image_end),
            (mm_start, lowmem_end_pfn),
        ],
        mm_start,
    )
}

fn isqrt(x: u64) -> u64 {
    let (mut lo, mut hi) = (0u64, 1u64 << 32);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if mid * mid <= x {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

impl Facts {
    pub fn new(cfg: &BootConfig) -> Facts {
        let max_pfn = cfg.mem >> PAGE_SHIFT;
        let dma = (16u64 << 20) >> PAGE_SHIFT;
        let classic = cfg.kernel == kmem_vocab::Kernel::V2_6;
        let i386 = super::i386_areas::areas(classic, cfg.pae);
        let (page_offset, lowmem_end_pfn, bounds): (u64, u64, Vec<(ZoneKind, u64, u64)>) =
            match cfg.arch {
                Arch::I386 => {
                    let low = max_pfn.min(i386.lowmem_limit >> PAGE_SHIFT);
                    (
                        0xC000_0000,
                        low,
                        vec![
                            (ZoneKind::Dma, 0, dma.min(max_pfn)),
                            (ZoneKind::Normal, dma, low),
                            (ZoneKind::HighMem, low, max_pfn),
                        ],
                    )
                }
                Arch::X86_64 => {
                    let four_g = (4u64 << 30) >> PAGE_SHIFT;
                    (
                        0xffff_8880_0000_0000,
                        max_pfn,
                        vec![
                            (ZoneKind::Dma, 0, dma.min(max_pfn)),
                            (ZoneKind::Dma32, dma, max_pfn.min(four_g)),
                            (ZoneKind::Normal, four_g, max_pfn),
                        ],
                    )
                }
            };
        let (reserved, mm_start) = boot_reservations(cfg.arch, max_pfn, lowmem_end_pfn);
        let struct_page = struct_page_size(cfg.arch);
        let mem_map = match cfg.arch {
            Arch::I386 => page_offset + (mm_start << PAGE_SHIFT),
            Arch::X86_64 => X86_64_VMEMMAP,
        };
        let mut zones: Vec<ZoneFacts> = bounds
            .into_iter()
            .filter(|&(_, s, e)| s < e)
            .map(|(kind, start, end)| {
                let held: u64 = reserved
                    .iter()
                    .map(|&(s, e)| e.min(end).saturating_sub(s.max(start)))
                    .sum();
                ZoneFacts {
                    kind,
                    start,
                    end,
                    managed: end - start - held,
                    min: 0,
                    low: 0,
                    reserve: vec![],
                }
            })
            .collect();
        // Linux's boot-time watermarks and lowmem_reserve, from the managed page counts.
        let low_pages: u64 = zones
            .iter()
            .filter(|z| z.kind != ZoneKind::HighMem)
            .map(|z| z.managed)
            .sum();
        let min_free_kbytes = isqrt(low_pages * 4 * 16).clamp(128, 262_144);
        let pages_min = min_free_kbytes / 4;
        let n = zones.len();
        let managed: Vec<u64> = zones.iter().map(|z| z.managed).collect();
        for (i, z) in zones.iter_mut().enumerate() {
            let share = (pages_min * z.managed).checked_div(low_pages).unwrap_or(0);
            z.min = if z.kind == ZoneKind::HighMem {
                (z.managed / 1024).clamp(32, 128)
            } else {
                share
            };
            // __setup_per_zone_wmarks(): low = min + max(share / 4, managed * 10 / 10000)
            // (watermark_scale_factor 10), from the share even for HighMem.
            z.low = z.min + (share >> 2).max(z.managed * 10 / 10_000);
            let ratio = match z.kind {
                ZoneKind::Dma | ZoneKind::Dma32 => 256,
                ZoneKind::Normal => 32,
                ZoneKind::HighMem => 0,
            };
            z.reserve = (0..n)
                .map(|j| {
                    if j <= i || ratio == 0 || z.managed == 0 {
                        0
                    } else {
                        managed[i + 1..=j].iter().sum::<u64>() / ratio
                    }
                })
                .collect();
        }
        let high_memory = page_offset + (lowmem_end_pfn << PAGE_SHIFT);
        let (vmalloc_start, vmalloc_end) = match cfg.arch {
            Arch::I386 => (
                super::i386_areas::vmalloc_start(high_memory, classic),
                i386.vmalloc_end,
            ),
            Arch::X86_64 => (0xffff_c900_0000_0000, 0xffff_c900_0000_0000 + (32u64 << 40)),
        };
        let (pkmap_base, last_pkmap, fixaddr_top, fixaddr_start, fix_kmap_begin) = match cfg.arch {
            Arch::I386 => (
                i386.pkmap_base,
                i386.last_pkmap,
                i386.fixaddr_top,
                i386.fixaddr_start,
                i386.fix_kmap_begin,
            ),
            Arch::X86_64 => (0, 0, 0, 0, 0),
        };
        Facts {
            arch: cfg.arch,
            pkmap_base,
            last_pkmap,
            fixaddr_top,
            fixaddr_start,
            fix_kmap_begin,
            max_pfn,
            lowmem_end_pfn,
            page_offset,
            high_memory,
            vmalloc_start,
            vmalloc_end,
            zones,
            reserved,
            mem_map,
            struct_page,
        }
    }

    /// Compares what a booted machine says of its layout with these facts: None when they
    /// agree, or what differs. `reserved` are the machine's reserved [start, end) pfn ranges.
    pub fn boot_mismatch(
        &self,
        reserved: &[(u64, u64)],
        mem_map: u64,
        struct_page: u64,
    ) -> Option<String> {
        if struct_page != self.struct_page {
            return Some(format!(
                "sizeof(struct page) is {struct_page}, {} on {}",
                self.struct_page,
                self.arch.name()
            ));
        }
        if mem_map != self.mem_map {
            return Some(format!(
                "mem_map is at {mem_map:#x}, the boot rule puts it at {:#x}",
                self.mem_map
            ));
        }
        if reserved != self.reserved.as_slice() {
            return Some(format!(
                "boot reserved pfn ranges {reserved:x?}, the boot rule reserves {:x?}",
                self.reserved
            ));
        }
        None
    }

    /// Truncates a value to the machine's word size.
    pub fn word(&self, v: u64) -> u64 {
        match self.arch {
            Arch::I386 => v & 0xffff_ffff,
            Arch::X86_64 => v,
        }
    }

    pub fn is_lowmem_va(&self, va: u64) -> bool {
        va >= self.page_offset && va < self.high_memory
    }

    /// virt_addr_valid() (arch/x86/mm/physaddr.c). On i386 not only the direct map: any
    /// address from PAGE_OFFSET up to the fixmap outside the vmalloc area whose
    /// `x - PAGE_OFFSET` is the address of a page that exists (the gap after high_memory and
    /// the pkmap area, on a machine with that much memory). On x86_64 the direct map (the
    /// kernel image mapping is not modelled).
    pub fn virt_addr_valid(&self, va: u64) -> bool {
        match self.arch {
            Arch::I386 => {
                va >= self.page_offset
                    && !(va >= self.vmalloc_start && va < self.vmalloc_end)
                    && va < self.fixaddr_start
                    && (va - self.page_offset) >> PAGE_SHIFT < self.max_pfn
            }
            Arch::X86_64 => self.is_lowmem_va(va),
        }
    }

    pub fn lowmem_va(&self, pfn: u64) -> u64 {
        self.page_offset + (pfn << PAGE_SHIFT)
    }

    pub fn page_ptr(&self, pfn: u64) -> u64 {
        self.mem_map + pfn * self.struct_page
    }

    pub fn pfn_of_page(&self, ptr: u64) -> Option<u64> {
        let off = ptr.checked_sub(self.mem_map)?;
        (off % self.struct_page == 0 && off / self.struct_page < self.max_pfn)
            .then(|| off / self.struct_page)
    }

    pub fn zone_index(&self, pfn: u64) -> Option<usize> {
        self.zones
            .iter()
            .position(|z| pfn >= z.start && pfn < z.end)
    }

    pub fn is_reserved(&self, pfn: u64) -> bool {
        self.reserved.iter().any(|&(s, e)| pfn >= s && pfn < e)
    }

    /// Whether any pfn of [start, end) is reserved ([`Facts::is_reserved`] of each, a range
    /// at a time).
    pub fn any_reserved(&self, start: u64, end: u64) -> bool {
        self.reserved
            .iter()
            .any(|&(s, e)| s.max(start) < e.min(end))
    }

    pub fn is_highmem(&self, pfn: u64) -> bool {
        pfn >= self.lowmem_end_pfn && pfn < self.max_pfn
    }

    /// The highest zone a GFP mask allows, as an index into `zones` (the zonelist is that
    /// zone and every one below it).
    pub fn highest_zone(&self, gfp: u32) -> usize {
        use kmem_vocab::gfp::{__GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM};
        let want = if gfp & __GFP_DMA != 0 {
            ZoneKind::Dma
        } else if gfp & __GFP_DMA32 != 0 {
            if self.arch == Arch::X86_64 {
                ZoneKind::Dma32
            } else {
                ZoneKind::Normal
            }
        } else if gfp & __GFP_HIGHMEM != 0 {
            ZoneKind::HighMem
        } else {
            ZoneKind::Normal
        };
        self.zones.iter().rposition(|z| z.kind <= want).unwrap_or(0)
    }
}

/// The rules on their own, from Linux's worked examples (no kmem involved).
#[cfg(test)]
mod tests {
    use super::*;

    fn boot(words: &[&str]) -> Facts {
        Facts::new(&BootConfig::parse_words(words.iter().copied()).unwrap())
    }

    #[test]
    fn i386_1g_matches_a_classic_boot_log() {
        // A 2.6 kernel with 1 GiB prints: lowmem c0000000-f8000000, vmalloc f8800000-ff7fe000.
        let f = boot(&["arch=i386", "mem=1G", "kernel=2.6"]);
        assert_eq!(f.high_memory, 0xf800_0000);
        assert_eq!((f.vmalloc_start, f.vmalloc_end), (0xf880_0000, 0xff7f_e000));
        let kinds: Vec<_> = f.zones.iter().map(|z| z.kind).collect();
        assert_eq!(kinds, [ZoneKind::Dma, ZoneKind::Normal, ZoneKind::HighMem]);
        assert_eq!(f.zones[0].end, 4096, "ZONE_DMA ends at 16 MiB");
        assert_eq!(f.lowmem_end_pfn, (896 << 20) >> 12);
        // 6.6: lowmem ends at MAXMEM (879 MiB and 1016 KiB), vmalloc 8 MiB above it.
        let f = boot(&["arch=i386", "mem=1G"]);
        assert_eq!((f.high_memory, f.vmalloc_start), (0xf6ff_e000, 0xf77f_e000));
        assert_eq!((f.pkmap_base, f.last_pkmap), (0xff00_0000, 1024));
        let f = boot(&["arch=i386", "mem=8G", "pae=1"]);
        assert_eq!((f.max_pfn, f.last_pkmap), (2 << 20, 512));
    }

    #[test]
    fn a_range_is_reserved_where_one_of_its_pages_is() {
        let f = boot(&["arch=i386", "mem=128M"]);
        for start in (0..1400).chain(32_000..32_800) {
            for n in [1, 2, 7, 256, 1024] {
                let each = (start..start + n).any(|p| f.is_reserved(p));
                assert_eq!(f.any_reserved(start, start + n), each, "{start} {n}");
            }
        }
    }

    #[test]
    fn boot_reservations_follow_the_stated_rule() {
        // 128 MiB i386: 32768 struct pages of 32 bytes = 256 pages of mem_map, at the top of
        // lowmem; the first 1 MiB and a 4 MiB image at 1 MiB.
        let f = boot(&["arch=i386", "mem=128M"]);
        assert_eq!(f.struct_page, 32);
        assert_eq!(
            f.reserved,
            vec![(0, 256), (256, 1280), (32768 - 256, 32768)]
        );
        assert_eq!(f.mem_map, 0xc000_0000 + ((32768 - 256) << 12));
        assert_eq!(f.page_ptr(1), f.mem_map + 32);
        // x86_64: vmemmap, 64-byte struct pages; mem_map's backing still at the top of RAM.
        let f = boot(&["arch=x86_64", "mem=1G"]);
        assert_eq!((f.mem_map, f.struct_page), (0xffff_ea00_0000_0000, 64));
        assert_eq!(f.reserved[2], (262_144 - 4096, 262_144));
        assert!(f
            .boot_mismatch(&f.reserved.clone(), f.mem_map, 64)
            .is_none());
        assert!(f
            .boot_mismatch(&f.reserved.clone(), f.mem_map, 32)
            .is_some());
    }

    #[test]
    fn min_free_kbytes_and_lowmem_reserve_follow_linux() {
        // init_per_zone_wmark_min(): min_free_kbytes = sqrt(lowmem_kbytes * 16), clamped to
        // [128, 262144]; the DMA zone's lowmem_reserve against Normal is Normal's managed
        // pages / 256 (sysctl_lowmem_reserve_ratio).
        let f = boot(&["arch=i386", "mem=512M"]);
        let low: u64 = f.zones.iter().map(|z| z.managed).sum();
        let min_sum: u64 = f.zones.iter().map(|z| z.min).sum();
        let want = isqrt(low * 4 * 16) / 4;
        assert!(min_sum <= want && want - min_sum < f.zones.len() as u64);
        assert_eq!(f.zones[0].reserve[1], f.zones[1].managed / 256);
    }
}
