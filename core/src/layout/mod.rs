//! The kernel's virtual memory layout and the physical zones, computed from the boot
//! configuration as arch/x86 does it.
//!
//! Simplifications (documented in docs/model.md): physical memory is one contiguous range
//! from 0 (no e820 holes, no PCI hole below 4 GiB); one node, one CPU.

use crate::config::{Arch, BootConfig, Kernel};
use crate::{PAGE_SHIFT, PAGE_SIZE};

mod boot_log;
pub mod i386;

/// Zone indices as in `enum zone_type` for the configurations modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ZoneType {
    Dma,
    Dma32,
    Normal,
    HighMem,
}

impl ZoneType {
    pub fn name(self) -> &'static str {
        match self {
            ZoneType::Dma => "DMA",
            ZoneType::Dma32 => "DMA32",
            ZoneType::Normal => "Normal",
            ZoneType::HighMem => "HighMem",
        }
    }

    /// sysctl_lowmem_reserve_ratio for this zone (mm/page_alloc.c).
    pub fn lowmem_reserve_ratio(self) -> u64 {
        match self {
            ZoneType::Dma | ZoneType::Dma32 => 256,
            ZoneType::Normal => 32,
            ZoneType::HighMem => 0,
        }
    }
}

/// One physical zone's page range: [start_pfn, end_pfn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneSpan {
    pub zone: ZoneType,
    pub start_pfn: u64,
    pub end_pfn: u64,
}

impl ZoneSpan {
    pub fn spanned(&self) -> u64 {
        self.end_pfn - self.start_pfn
    }
    pub fn contains(&self, pfn: u64) -> bool {
        pfn >= self.start_pfn && pfn < self.end_pfn
    }
}

pub const I386_PAGE_OFFSET: u64 = i386::PAGE_OFFSET;
pub use i386::{KM_MAX_IDX, NR_CPUS, VMALLOC_OFFSET};
/// sizeof(struct page) on 32-bit and 64-bit kernels.
pub const I386_STRUCT_PAGE_SIZE: u64 = 32;
pub const X86_64_STRUCT_PAGE_SIZE: u64 = 64;

pub const X86_64_PAGE_OFFSET: u64 = 0xffff_8880_0000_0000;
pub const X86_64_VMALLOC_START: u64 = 0xffff_c900_0000_0000;
/// VMALLOC_SIZE_TB 32 with 4-level paging.
pub const X86_64_VMALLOC_END: u64 = X86_64_VMALLOC_START + (32u64 << 40) - 1;
pub const X86_64_VMEMMAP_START: u64 = 0xffff_ea00_0000_0000;
pub const X86_64_FIXADDR_TOP: u64 = 0xffff_ffff_ff7f_f000;
/// The fixmap on x86_64 spans a few hundred pages below FIXADDR_TOP; only the kmap slots
/// matter to the model.
pub const X86_64_FIXADDR_START: u64 = X86_64_FIXADDR_TOP - 0x200 * PAGE_SIZE;
/// The x86_64 model's kmap_local slots (unused: no highmem) sit where 2.6's i386 ones did.
const X86_64_FIX_KMAP_BEGIN: u64 = 16;

/// CONFIG_PHYSICAL_START of a classic i386 kernel: the image is loaded at 1 MiB.
pub const KERNEL_PHYS_START: u64 = 1 << 20;
/// The kernel image (text, data, bss, initial page tables) the model reserves at boot.
pub const KERNEL_IMAGE_SIZE: u64 = 4 << 20;

/// How the MMU walks the kernel's page tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Paging {
    /// i386 without PAE: page directory (pde) and page table (pte), 4 MiB per pde.
    TwoLevel,
    /// i386 with PAE: pdpt, page directory (2 MiB per entry), page table; 64-bit entries.
    Pae,
    /// x86_64: PGD, P4D (folded into the PGD), PUD, PMD, PTE.
    FourLevel,
}

/// The layout of a booted machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub arch: Arch,
    /// The version profile whose formulas made this layout.
    pub kernel: Kernel,
    pub paging: Paging,
    pub mem: u64,
    pub max_pfn: u64,
    /// Highest lowmem pfn + 1 (max_low_pfn).
    pub max_low_pfn: u64,
    pub page_offset: u64,
    /// The virtual address just past the direct map (high_memory).
    pub high_memory: u64,
    pub vmalloc_start: u64,
    /// Exclusive end of the vmalloc range.
    pub vmalloc_end: u64,
    /// PKMAP_BASE (i386 only; 0 on x86_64).
    pub pkmap_base: u64,
    pub last_pkmap: u64,
    /// FIXADDR_START: the permanent fixmap entries.
    pub fixaddr_start: u64,
    /// FIXADDR_TOT_START: the whole fixmap, boot-time entries included.
    pub fixaddr_tot_start: u64,
    pub fixaddr_top: u64,
    /// FIX_KMAP_BEGIN: the fixmap index of the first kmap_local slot.
    pub fix_kmap_begin: u64,
    /// The cpu_entry_area and the LDT remap, [start, end) (i386 6.6 only).
    pub cpu_entry_area: Option<(u64, u64)>,
    pub ldt: Option<(u64, u64)>,
    /// Virtual address of mem_map[0] (i386) or vmemmap (x86_64).
    pub mem_map: u64,
    pub struct_page_size: u64,
    pub zones: Vec<ZoneSpan>,
    /// Physical ranges reserved at boot, before the buddy allocator takes over: [start, end) pfns.
    pub reserved: Vec<(u64, u64, &'static str)>,
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

impl Layout {
    /// Computes the layout. The configuration must already be validated.
    pub fn new(cfg: &BootConfig) -> Layout {
        let max_pfn = cfg.mem >> PAGE_SHIFT;
        let dma_end = (16u64 << 20) >> PAGE_SHIFT;
        match cfg.arch {
            Arch::I386 => {
                let classic = cfg.kernel == Kernel::V2_6;
                let a = if classic {
                    i386::areas_2_6(cfg.pae)
                } else {
                    i386::areas_6_6(cfg.pae)
                };
                // find_low_pfn_range(): lowmem is what fits below MAXMEM.
                let max_low_pfn = max_pfn.min(a.maxmem >> PAGE_SHIFT);
                let high_memory = I386_PAGE_OFFSET + (max_low_pfn << PAGE_SHIFT);
                let vmalloc_start = i386::vmalloc_start(high_memory, classic);
                let mut zones = vec![ZoneSpan {
                    zone: ZoneType::Dma,
                    start_pfn: 0,
                    end_pfn: dma_end.min(max_pfn),
                }];
                if max_low_pfn > dma_end {
                    zones.push(ZoneSpan {
                        zone: ZoneType::Normal,
                        start_pfn: dma_end,
                        end_pfn: max_low_pfn,
                    });
                }
                if max_pfn > max_low_pfn {
                    zones.push(ZoneSpan {
                        zone: ZoneType::HighMem,
                        start_pfn: max_low_pfn,
                        end_pfn: max_pfn,
                    });
                }
                // mem_map lives at the top of lowmem (memblock allocates top-down below
                // max_low_pfn).
                let mm_pages = align_up(max_pfn * I386_STRUCT_PAGE_SIZE, PAGE_SIZE) >> PAGE_SHIFT;
                let mm_start = max_low_pfn - mm_pages;
                let reserved = boot_reservations(mm_start, max_low_pfn);
                Layout {
                    arch: cfg.arch,
                    kernel: cfg.kernel,
                    paging: if cfg.pae {
                        Paging::Pae
                    } else {
                        Paging::TwoLevel
                    },
                    mem: cfg.mem,
                    max_pfn,
                    max_low_pfn,
                    page_offset: I386_PAGE_OFFSET,
                    high_memory,
                    vmalloc_start,
                    vmalloc_end: a.vmalloc_end,
                    pkmap_base: a.pkmap_base,
                    last_pkmap: a.last_pkmap,
                    fixaddr_start: a.fixaddr_start,
                    fixaddr_tot_start: a.fixaddr_tot_start,
                    fixaddr_top: i386::FIXADDR_TOP,
                    fix_kmap_begin: a.fix_kmap_begin,
                    cpu_entry_area: a.cpu_entry_area,
                    ldt: a.ldt,
                    mem_map: I386_PAGE_OFFSET + (mm_start << PAGE_SHIFT),
                    struct_page_size: I386_STRUCT_PAGE_SIZE,
                    zones,
                    reserved,
                }
            }
            Arch::X86_64 => {
                let dma32_end = (4u64 << 30) >> PAGE_SHIFT;
                let mut zones = vec![ZoneSpan {
                    zone: ZoneType::Dma,
                    start_pfn: 0,
                    end_pfn: dma_end.min(max_pfn),
                }];
                if max_pfn > dma_end {
                    zones.push(ZoneSpan {
                        zone: ZoneType::Dma32,
                        start_pfn: dma_end,
                        end_pfn: max_pfn.min(dma32_end),
                    });
                }
                if max_pfn > dma32_end {
                    zones.push(ZoneSpan {
                        zone: ZoneType::Normal,
                        start_pfn: dma32_end,
                        end_pfn: max_pfn,
                    });
                }
                // The vmemmap's backing pages: the model reserves them at the top of memory.
                let mm_pages = align_up(max_pfn * X86_64_STRUCT_PAGE_SIZE, PAGE_SIZE) >> PAGE_SHIFT;
                let mm_start = max_pfn - mm_pages;
                let reserved = boot_reservations(mm_start, max_pfn);
                Layout {
                    arch: cfg.arch,
                    kernel: cfg.kernel,
                    paging: Paging::FourLevel,
                    mem: cfg.mem,
                    max_pfn,
                    max_low_pfn: max_pfn,
                    page_offset: X86_64_PAGE_OFFSET,
                    high_memory: X86_64_PAGE_OFFSET + (max_pfn << PAGE_SHIFT),
                    vmalloc_start: X86_64_VMALLOC_START,
                    vmalloc_end: X86_64_VMALLOC_END + 1,
                    pkmap_base: 0,
                    last_pkmap: 0,
                    fixaddr_start: X86_64_FIXADDR_START,
                    fixaddr_tot_start: X86_64_FIXADDR_START,
                    fixaddr_top: X86_64_FIXADDR_TOP,
                    fix_kmap_begin: X86_64_FIX_KMAP_BEGIN,
                    cpu_entry_area: None,
                    ldt: None,
                    mem_map: X86_64_VMEMMAP_START,
                    struct_page_size: X86_64_STRUCT_PAGE_SIZE,
                    zones,
                    reserved,
                }
            }
        }
    }

    pub fn has_highmem(&self) -> bool {
        self.max_pfn > self.max_low_pfn
    }

    /// Is `va` in the direct map (lowmem)?
    pub fn is_direct_map(&self, va: u64) -> bool {
        va >= self.page_offset && va < self.high_memory
    }

    pub fn is_vmalloc_addr(&self, va: u64) -> bool {
        va >= self.vmalloc_start && va < self.vmalloc_end
    }

    pub fn is_pkmap_addr(&self, va: u64) -> bool {
        self.last_pkmap != 0
            && va >= self.pkmap_base
            && va < self.pkmap_base + self.last_pkmap * PAGE_SIZE
    }

    /// __fix_to_virt(idx).
    pub fn fix_to_virt(&self, idx: u64) -> u64 {
        self.fixaddr_top - (idx << PAGE_SHIFT)
    }

    /// The fixmap address of kmap_atomic / kmap_local slot `i` (FIX_KMAP_BEGIN + i; CPU 0's
    /// slots are the first KM_MAX_IDX).
    pub fn kmap_slot_addr(&self, i: u64) -> u64 {
        self.fix_to_virt(self.fix_kmap_begin + i)
    }

    /// PMD_SIZE: what one entry of the level above the page table maps.
    pub fn pmd_size(&self) -> u64 {
        match self.paging {
            Paging::TwoLevel => 4 << 20,
            Paging::Pae | Paging::FourLevel => 2 << 20,
        }
    }

    pub fn pkmap_addr(&self, nr: u64) -> u64 {
        self.pkmap_base + (nr << PAGE_SHIFT)
    }

    pub fn zone_of_pfn(&self, pfn: u64) -> Option<ZoneType> {
        self.zones.iter().find(|z| z.contains(pfn)).map(|z| z.zone)
    }

    pub fn is_highmem_pfn(&self, pfn: u64) -> bool {
        pfn >= self.max_low_pfn && pfn < self.max_pfn
    }

    /// The `struct page *` value of a pfn (its address in mem_map / vmemmap).
    pub fn page_ptr(&self, pfn: u64) -> u64 {
        self.mem_map + pfn * self.struct_page_size
    }

    /// The pfn a `struct page *` value denotes, if it points at the start of one.
    pub fn pfn_of_page_ptr(&self, ptr: u64) -> Option<u64> {
        let off = ptr.checked_sub(self.mem_map)?;
        if off % self.struct_page_size != 0 {
            return None;
        }
        let pfn = off / self.struct_page_size;
        (pfn < self.max_pfn).then_some(pfn)
    }
}

/// What a real boot reserves before memblock_free_all(): the first megabyte (BIOS data, the
/// real-mode trampoline: x86 always reserves it), the kernel image, and mem_map.
fn boot_reservations(mm_start: u64, mm_end: u64) -> Vec<(u64, u64, &'static str)> {
    let img_start = KERNEL_PHYS_START >> PAGE_SHIFT;
    let img_end = (KERNEL_PHYS_START + KERNEL_IMAGE_SIZE) >> PAGE_SHIFT;
    vec![
        (0, img_start, "first 1M"),
        (img_start, img_end, "kernel image"),
        (mm_start, mm_end, "mem_map"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot(words: &[&str]) -> Layout {
        Layout::new(&BootConfig::parse_words(words.iter().copied()).unwrap())
    }

    #[test]
    fn i386_classic_layout_matches_a_2_6_boot_log() {
        let l = boot(&["mem=1G", "kernel=2.6"]);
        assert_eq!(l.high_memory, 0xf800_0000);
        assert_eq!(l.vmalloc_start, 0xf880_0000);
        assert_eq!(l.vmalloc_end, 0xff7f_e000);
        assert_eq!(l.pkmap_base, 0xff80_0000);
        assert_eq!(l.pkmap_base + l.last_pkmap * PAGE_SIZE, 0xffc0_0000);
        assert_eq!((l.fixaddr_start, l.fixaddr_top), (0xfff4_b000, 0xffff_f000));
        let names: Vec<_> = l.zones.iter().map(|z| z.zone).collect();
        assert_eq!(names, [ZoneType::Dma, ZoneType::Normal, ZoneType::HighMem]);
        assert_eq!(l.zones[0].end_pfn, 4096);
        assert_eq!(l.zones[1].end_pfn, (896 << 20) >> 12);
        let log = l.boot_log();
        for want in [
            "128MB HIGHMEM available.",
            "896MB LOWMEM available.",
            "  HighMem    229376 ->   262144",
            "    lowmem  : 0xc0000000 - 0xf8000000   ( 896 MB)",
        ] {
            assert!(log.iter().any(|s| s == want), "{want} not in {log:#?}");
        }
    }

    #[test]
    fn i386_6_6_layout_follows_maxmem_and_the_unrounded_vmalloc_start() {
        let l = boot(&["mem=1G"]);
        assert_eq!(l.kernel, Kernel::V6_6);
        assert_eq!(l.max_low_pfn, 0x36ffe);
        assert_eq!(l.high_memory, 0xf6ff_e000);
        assert_eq!(l.vmalloc_start, 0xf77f_e000);
        assert_eq!((l.vmalloc_end, l.pkmap_base), (0xfeff_e000, 0xff00_0000));
        assert_eq!(l.kmap_slot_addr(0), 0xfffb_b000);
        assert_eq!(l.zones[1].end_pfn, 0x36ffe);
        let log = l.boot_log();
        for want in [
            "144MB HIGHMEM available.",
            "879MB LOWMEM available.",
            "  mapped low ram: 0 - 36ffe000",
            "  low ram: 0 - 36ffe000",
        ] {
            assert!(log.iter().any(|s| s == want), "{want} not in {log:#?}");
        }
        // mem=100M: exactly VMALLOC_OFFSET above high_memory, where 2.6 rounded up.
        assert_eq!(boot(&["mem=100M"]).vmalloc_start, 0xc6c0_0000);
        assert_eq!(boot(&["mem=100M", "kernel=2.6"]).vmalloc_start, 0xc700_0000);
    }

    #[test]
    fn i386_pae_has_512_pkmap_slots_and_up_to_64_gib() {
        let l = boot(&["mem=64G", "pae=1"]);
        assert_eq!(
            (l.paging, l.last_pkmap, l.pkmap_base),
            (Paging::Pae, 512, 0xff60_0000)
        );
        assert_eq!(l.max_pfn, 16 << 20);
        assert_eq!(l.zones.last().unwrap().end_pfn, 16 << 20);
        // 16M struct pages of 32 bytes: 512 MiB of mem_map below the end of lowmem.
        let (s, e, _) = l.reserved[2];
        assert_eq!((e - s) << PAGE_SHIFT, 512 << 20);
        let l = boot(&["mem=2G", "pae=1", "kernel=2.6"]);
        assert_eq!((l.pkmap_base, l.vmalloc_end), (0xffc0_0000, 0xffbf_e000));
    }

    #[test]
    fn small_i386_has_no_highmem_and_vmalloc_after_gap() {
        for k in ["kernel=6.6", "kernel=2.6"] {
            let l = boot(&["mem=128M", k]);
            assert!(!l.has_highmem());
            assert_eq!(l.high_memory, 0xc800_0000);
            assert_eq!(l.vmalloc_start, 0xc880_0000);
        }
        let l = boot(&["mem=16M"]);
        assert_eq!(l.zones.len(), 1);
        // mem_map for 4096 pages of 32 bytes: 32 pages at the top of lowmem.
        assert_eq!(l.reserved[2], (4096 - 32, 4096, "mem_map"));
    }

    #[test]
    fn x86_64_layout() {
        let l = boot(&["arch=x86_64", "mem=8G"]);
        assert_eq!(l.page_offset, 0xffff_8880_0000_0000);
        assert_eq!(l.vmalloc_start, 0xffff_c900_0000_0000);
        assert!(!l.has_highmem());
        let names: Vec<_> = l.zones.iter().map(|z| z.zone).collect();
        assert_eq!(names, [ZoneType::Dma, ZoneType::Dma32, ZoneType::Normal]);
        assert_eq!(l.pfn_of_page_ptr(l.page_ptr(12345)), Some(12345));
        assert_eq!(l.pfn_of_page_ptr(l.page_ptr(12345) + 8), None);
    }
}
