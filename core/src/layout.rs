//! The kernel's virtual memory layout and the physical zones, computed from the boot
//! configuration as arch/x86 does it.
//!
//! Simplifications (documented in docs/model.md): physical memory is one contiguous range
//! from 0 (no e820 holes, no PCI hole below 4 GiB); one node, one CPU.

use crate::config::{Arch, BootConfig};
use crate::{PAGE_SHIFT, PAGE_SIZE};

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

pub const I386_PAGE_OFFSET: u64 = 0xC000_0000;
/// Lowmem ends at 896 MiB on i386 (the classic MAXMEM of a 128 MiB vmalloc reserve).
pub const I386_MAXMEM: u64 = 896 << 20;
/// VMALLOC_OFFSET: the 8 MiB hole between the direct map and vmalloc that catches strays.
pub const VMALLOC_OFFSET: u64 = 8 << 20;
/// PKMAP_BASE on non-PAE i386.
pub const I386_PKMAP_BASE: u64 = 0xFF80_0000;
/// LAST_PKMAP on non-PAE i386 (PTRS_PER_PTE).
pub const LAST_PKMAP: u64 = 1024;
pub const I386_FIXADDR_TOP: u64 = 0xFFFF_F000;
pub const I386_FIXADDR_START: u64 = 0xFFF4_B000;
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

/// KM_MAX_IDX: kmap_atomic / kmap_local slots per CPU.
pub const KM_MAX_IDX: u64 = 16;
/// FIX_KMAP_BEGIN's index in the fixmap (the model's choice: the slots sit at the top of the
/// fixmap, as the first per-CPU entries after the few fixed ones).
pub const FIX_KMAP_BEGIN: u64 = 16;

/// CONFIG_PHYSICAL_START of a classic i386 kernel: the image is loaded at 1 MiB.
pub const KERNEL_PHYS_START: u64 = 1 << 20;
/// The kernel image (text, data, bss, initial page tables) the model reserves at boot.
pub const KERNEL_IMAGE_SIZE: u64 = 4 << 20;

/// The layout of a booted machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub arch: Arch,
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
    pub fixaddr_start: u64,
    pub fixaddr_top: u64,
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
                let max_low_pfn = max_pfn.min(I386_MAXMEM >> PAGE_SHIFT);
                let high_memory = I386_PAGE_OFFSET + (max_low_pfn << PAGE_SHIFT);
                // VMALLOC_START = (high_memory + VMALLOC_OFFSET) & ~(VMALLOC_OFFSET - 1)
                let vmalloc_start = (high_memory + VMALLOC_OFFSET) & !(VMALLOC_OFFSET - 1);
                let vmalloc_end = I386_PKMAP_BASE - 2 * PAGE_SIZE;
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
                    mem: cfg.mem,
                    max_pfn,
                    max_low_pfn,
                    page_offset: I386_PAGE_OFFSET,
                    high_memory,
                    vmalloc_start,
                    vmalloc_end,
                    pkmap_base: I386_PKMAP_BASE,
                    last_pkmap: LAST_PKMAP,
                    fixaddr_start: I386_FIXADDR_START,
                    fixaddr_top: I386_FIXADDR_TOP,
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
                    fixaddr_top: X86_64_FIXADDR_TOP,
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

    pub fn is_fixmap_addr(&self, va: u64) -> bool {
        va >= self.fixaddr_start && va < self.fixaddr_top + PAGE_SIZE
    }

    /// __fix_to_virt(idx).
    pub fn fix_to_virt(&self, idx: u64) -> u64 {
        self.fixaddr_top - (idx << PAGE_SHIFT)
    }

    /// The fixmap address of kmap_atomic / kmap_local slot `i` (FIX_KMAP_BEGIN + i).
    pub fn kmap_slot_addr(&self, i: u64) -> u64 {
        self.fix_to_virt(FIX_KMAP_BEGIN + i)
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

    pub fn is_reserved_pfn(&self, pfn: u64) -> bool {
        self.reserved.iter().any(|&(s, e, _)| pfn >= s && pfn < e)
    }

    /// The boot log's memory layout, as arch/x86/mm/init_32.c printed it (i386), or the
    /// x86_64 equivalents.
    pub fn boot_log(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.arch {
            Arch::I386 => {
                let kb = |s: u64, e: u64| (e - s) >> 10;
                let mb = |s: u64, e: u64| (e - s) >> 20;
                out.push("virtual kernel memory layout:".into());
                out.push(format!(
                    "    fixmap  : 0x{:08x} - 0x{:08x}   ({:4} kB)",
                    self.fixaddr_start,
                    self.fixaddr_top,
                    kb(self.fixaddr_start, self.fixaddr_top)
                ));
                let pkmap_end = self.pkmap_base + self.last_pkmap * PAGE_SIZE;
                out.push(format!(
                    "    pkmap   : 0x{:08x} - 0x{:08x}   ({:4} kB)",
                    self.pkmap_base,
                    pkmap_end,
                    kb(self.pkmap_base, pkmap_end)
                ));
                out.push(format!(
                    "    vmalloc : 0x{:08x} - 0x{:08x}   ({:4} MB)",
                    self.vmalloc_start,
                    self.vmalloc_end,
                    mb(self.vmalloc_start, self.vmalloc_end)
                ));
                out.push(format!(
                    "    lowmem  : 0x{:08x} - 0x{:08x}   ({:4} MB)",
                    self.page_offset,
                    self.high_memory,
                    mb(self.page_offset, self.high_memory)
                ));
            }
            Arch::X86_64 => {
                out.push(format!("page_offset_base: 0x{:016x}", self.page_offset));
                out.push(format!(
                    "vmalloc_base    : 0x{:016x} - 0x{:016x}",
                    self.vmalloc_start,
                    self.vmalloc_end - 1
                ));
                out.push(format!("vmemmap_base    : 0x{:016x}", self.mem_map));
            }
        }
        out.push("Zone ranges:".into());
        for z in &self.zones {
            out.push(format!(
                "  {:<8} [mem 0x{:016x}-0x{:016x}]",
                z.zone.name(),
                z.start_pfn << PAGE_SHIFT,
                (z.end_pfn << PAGE_SHIFT) - 1
            ));
        }
        for &(s, e, what) in &self.reserved {
            out.push(format!(
                "memblock_reserve: [mem 0x{:016x}-0x{:016x}] {}",
                s << PAGE_SHIFT,
                (e << PAGE_SHIFT) - 1,
                what
            ));
        }
        out
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
    fn i386_typical_layout_matches_kernel_facts() {
        let l = boot(&["mem=1G"]);
        assert_eq!(l.high_memory, 0xf800_0000);
        assert_eq!(l.vmalloc_start, 0xf880_0000);
        assert_eq!(l.vmalloc_end, 0xff7f_e000);
        assert_eq!(l.pkmap_base, 0xff80_0000);
        assert_eq!(l.pkmap_base + LAST_PKMAP * PAGE_SIZE, 0xffc0_0000);
        assert_eq!((l.fixaddr_start, l.fixaddr_top), (0xfff4_b000, 0xffff_f000));
        let names: Vec<_> = l.zones.iter().map(|z| z.zone).collect();
        assert_eq!(names, [ZoneType::Dma, ZoneType::Normal, ZoneType::HighMem]);
        assert_eq!(l.zones[0].end_pfn, 4096);
        assert_eq!(l.zones[1].end_pfn, (896 << 20) >> 12);
        assert!(l
            .boot_log()
            .iter()
            .any(|s| s == "    lowmem  : 0xc0000000 - 0xf8000000   ( 896 MB)"));
    }

    #[test]
    fn small_i386_has_no_highmem_and_vmalloc_after_gap() {
        let l = boot(&["mem=128M"]);
        assert!(!l.has_highmem());
        assert_eq!(l.high_memory, 0xc800_0000);
        assert_eq!(l.vmalloc_start, 0xc880_0000);
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
