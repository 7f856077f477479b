//! The oracle's own view of a machine's layout, worked out from the boot configuration
//! alone (no code shared with `kmem`). Only what boot reserved and where mem_map lives are
//! taken from the machine, as inputs: they are the machine's choice, not Linux's rules.

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
    /// Reserved [start, end) pfn ranges (input from the machine).
    pub reserved: Vec<(u64, u64)>,
    /// mem_map base and sizeof(struct page) (input from the machine).
    pub mem_map: u64,
    pub struct_page: u64,
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
    pub fn new(
        cfg: &BootConfig,
        reserved: Vec<(u64, u64)>,
        mem_map: u64,
        struct_page: u64,
    ) -> Facts {
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
