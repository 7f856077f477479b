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
    /// lowmem_reserve[j] for each zone index j.
    pub reserve: Vec<u64>,
}

/// What the oracle knows of a machine before anything runs.
#[derive(Clone, Debug)]
pub struct Facts {
    pub arch: Arch,
    pub max_pfn: u64,
    pub lowmem_end_pfn: u64,
    pub page_offset: u64,
    pub high_memory: u64,
    pub vmalloc_start: u64,
    pub vmalloc_end: u64,
    pub zones: Vec<ZoneFacts>,
    /// Reserved [start, end) pfn ranges: what boot keeps from the buddy allocator.
    pub reserved: Vec<(u64, u64)>,
    /// The address of mem_map[0] (i386) or of vmemmap (x86_64), and sizeof(struct page).
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
        let (page_offset, lowmem_end_pfn, bounds): (u64, u64, Vec<(ZoneKind, u64, u64)>) =
            match cfg.arch {
                Arch::I386 => {
                    let low = max_pfn.min((896u64 << 20) >> PAGE_SHIFT);
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
            z.min = if z.kind == ZoneKind::HighMem {
                (z.managed / 1024).clamp(32, 128)
            } else {
                (pages_min * z.managed).checked_div(low_pages).unwrap_or(0)
            };
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
                (high_memory + (8 << 20)) & !((8 << 20) - 1),
                0xFF80_0000 - 2 * PAGE_SIZE,
            ),
            Arch::X86_64 => (0xffff_c900_0000_0000, 0xffff_c900_0000_0000 + (32u64 << 40)),
        };
        Facts {
            arch: cfg.arch,
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
