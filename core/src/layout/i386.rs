//! The i386 kernel address space above PAGE_OFFSET, by each kernel profile's formulas.
//!
//! Linux 6.6 (arch/x86/include/asm/pgtable_32_areas.h, fixmap.h, cpu_entry_area.h): the
//! fixmap hangs from FIXADDR_TOP; below it the cpu_entry_area, the LDT remap and the pkmap
//! area each start on a PMD boundary, and VMALLOC_END, MAXMEM and so lowmem follow from
//! them. The fixmap's and the cpu_entry_area's sizes depend on the configuration; the model's
//! is stated in [`NR_CPUS`] and [`fixmap_6_6`] (docs/model.md, "Machine and layout").
//!
//! Linux 2.6 (include/asm-i386/pgtable.h, highmem.h of the 2.6.1x-2.6.2x kernels the classic
//! texts describe): MAXMEM is a constant 896 MiB, VMALLOC_START is rounded up to an 8 MiB
//! boundary at least 8 MiB above high_memory, and the pkmap area sits below the fixmap.

use crate::{PAGE_SHIFT, PAGE_SIZE};

pub const PAGE_OFFSET: u64 = 0xC000_0000;
/// __FIXADDR_TOP: the fixmap ends one page below the top of the address space.
pub const FIXADDR_TOP: u64 = 0xFFFF_F000;
/// __VMALLOC_RESERVE: the 128 MiB the vmalloc area is guaranteed (the `vmalloc=` default).
pub const VMALLOC_RESERVE: u64 = 128 << 20;
/// VMALLOC_OFFSET: the 8 MiB hole between the direct map and vmalloc that catches strays.
pub const VMALLOC_OFFSET: u64 = 8 << 20;
/// NR_CPUS of the model's i386 configuration (the x86_32 SMP default, as i386_defconfig
/// builds it): it sizes the kmap_local slots of the fixmap and the cpu_entry_area.
pub const NR_CPUS: u64 = 8;
/// KM_MAX_IDX: kmap_atomic / kmap_local slots per CPU.
pub const KM_MAX_IDX: u64 = 16;
/// MAX_IO_APICS on x86_32 (arch/x86/include/asm/apicdef.h).
pub const MAX_IO_APICS: u64 = 64;
/// DIV_ROUND_UP(sizeof(struct cpu_entry_area), PAGE_SIZE) on x86_32 in 6.6: gdt, the entry
/// stack's guard page, entry_stack_page, the #DF stack's guard page, doublefault_stack (one
/// page each), tss_struct (104 bytes of x86_hw_tss and a 16404-byte x86_io_bitmap, page
/// aligned: 5 pages), the debug store (1 page) and its BTS and PEBS buffers (16 pages each).
pub const CPU_ENTRY_AREA_PAGES_PER_CPU: u64 = 1 + 1 + 1 + 1 + 1 + 5 + 1 + 32;
/// The permanent fixmap of the model's 2.6 kernels, as a classic boot log prints it
/// ("fixmap  : 0xfff4b000 - 0xfffff000   ( 720 kB)").
pub const FIXADDR_START_2_6: u64 = 0xFFF4_B000;
/// FIX_KMAP_BEGIN in the model's 2.6 fixmap (the model's choice: the kmap_atomic slots sit at
/// the top of the fixmap, after a few fixed entries).
pub const FIX_KMAP_BEGIN_2_6: u64 = 16;

/// The fixmap of Linux 6.6 on x86_32 as the model configures it: enum fixed_addresses with
/// CONFIG_X86_LOCAL_APIC, CONFIG_X86_IO_APIC, CONFIG_KMAP_LOCAL (highmem) and
/// CONFIG_PCI_MMCONFIG, without PROVIDE_OHCI1394_DMA_INIT, PARAVIRT_XXL (64-bit only),
/// ACPI_APEI_GHES and INTEL_TXT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixmap {
    pub fix_kmap_begin: u64,
    /// __end_of_permanent_fixed_addresses.
    pub end_of_permanent: u64,
    /// __end_of_fixed_addresses: the permanent entries, the 512 boot-time FIX_BTMAP slots
    /// (aligned so as not to straddle a page table) and FIX_WP_TEST.
    pub end_of_fixed: u64,
}

pub fn fixmap_6_6(ptrs_per_pte: u64) -> Fixmap {
    // FIX_HOLE, FIX_DBGP_BASE, FIX_EARLYCON_MEM_BASE, FIX_APIC_BASE, FIX_IO_APIC_BASE_0..END.
    let fix_kmap_begin = 4 + MAX_IO_APICS;
    // FIX_KMAP_BEGIN..FIX_KMAP_END, then FIX_PCIE_MCFG.
    let end_of_permanent = fix_kmap_begin + KM_MAX_IDX * NR_CPUS + 1;
    const TOTAL_FIX_BTMAPS: u64 = 64 * 8;
    let e = end_of_permanent;
    let crosses = (e ^ (e + TOTAL_FIX_BTMAPS - 1)) & !(ptrs_per_pte - 1) != 0;
    let btmap_end = if crosses {
        e + TOTAL_FIX_BTMAPS - (e & (TOTAL_FIX_BTMAPS - 1))
    } else {
        e
    };
    let btmap_begin = btmap_end + TOTAL_FIX_BTMAPS - 1;
    // FIX_WP_TEST, then __end_of_fixed_addresses.
    Fixmap {
        fix_kmap_begin,
        end_of_permanent,
        end_of_fixed: btmap_begin + 2,
    }
}

/// The virtual areas above lowmem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// MAXMEM: the most lowmem there can be.
    pub maxmem: u64,
    pub pkmap_base: u64,
    pub last_pkmap: u64,
    pub vmalloc_end: u64,
    /// [LDT_BASE_ADDR, LDT_END_ADDR) (6.6 only).
    pub ldt: Option<(u64, u64)>,
    /// [CPU_ENTRY_AREA_BASE, + (CPU_ENTRY_AREA_PAGES + 1) pages) (6.6 only).
    pub cpu_entry_area: Option<(u64, u64)>,
    /// FIXADDR_START (the permanent fixmap) and FIXADDR_TOT_START (with the boot-time slots).
    pub fixaddr_start: u64,
    pub fixaddr_tot_start: u64,
    pub fix_kmap_begin: u64,
    pub pmd_size: u64,
}

fn pmd_size(pae: bool) -> u64 {
    if pae {
        2 << 20
    } else {
        4 << 20
    }
}

/// PTRS_PER_PTE, which is also LAST_PKMAP: 1024 entries of 4 bytes, or 512 of 8 with PAE.
fn ptrs_per_pte(pae: bool) -> u64 {
    if pae {
        512
    } else {
        1024
    }
}

/// Linux 6.6's areas.
pub fn areas_6_6(pae: bool) -> Areas {
    let pmd = pmd_size(pae);
    let pmd_mask = !(pmd - 1);
    let last_pkmap = ptrs_per_pte(pae);
    let fix = fixmap_6_6(last_pkmap);
    let fixaddr_tot_start = FIXADDR_TOP - (fix.end_of_fixed << PAGE_SHIFT);
    let cea_pages = NR_CPUS * CPU_ENTRY_AREA_PAGES_PER_CPU;
    // The +1 is the read-only IDT page.
    let cea_base = (fixaddr_tot_start - PAGE_SIZE * (cea_pages + 1)) & pmd_mask;
    let ldt_base = (cea_base - PAGE_SIZE) & pmd_mask;
    let pkmap_base = (ldt_base - PAGE_SIZE) & pmd_mask;
    let vmalloc_end = pkmap_base - 2 * PAGE_SIZE;
    Areas {
        maxmem: vmalloc_end - PAGE_OFFSET - VMALLOC_RESERVE,
        pkmap_base,
        last_pkmap,
        vmalloc_end,
        ldt: Some((ldt_base, ldt_base + pmd)),
        cpu_entry_area: Some((cea_base, cea_base + (cea_pages + 1) * PAGE_SIZE)),
        fixaddr_start: FIXADDR_TOP - (fix.end_of_permanent << PAGE_SHIFT),
        fixaddr_tot_start,
        fix_kmap_begin: fix.fix_kmap_begin,
        pmd_size: pmd,
    }
}

/// The classic 2.6 areas.
pub fn areas_2_6(pae: bool) -> Areas {
    let pmd = pmd_size(pae);
    let last_pkmap = ptrs_per_pte(pae);
    let pkmap_base = (FIXADDR_START_2_6 - PAGE_SIZE * (last_pkmap + 1)) & !(pmd - 1);
    Areas {
        // -__PAGE_OFFSET - __VMALLOC_RESERVE: 896 MiB.
        maxmem: (1 << 32) - PAGE_OFFSET - VMALLOC_RESERVE,
        pkmap_base,
        last_pkmap,
        vmalloc_end: pkmap_base - 2 * PAGE_SIZE,
        ldt: None,
        cpu_entry_area: None,
        fixaddr_start: FIXADDR_START_2_6,
        fixaddr_tot_start: FIXADDR_START_2_6,
        fix_kmap_begin: FIX_KMAP_BEGIN_2_6,
        pmd_size: pmd,
    }
}

/// VMALLOC_START for a high_memory: 6.6's `high_memory + VMALLOC_OFFSET`, or 2.6's
/// `(high_memory + 2 * VMALLOC_OFFSET - 1) & ~(VMALLOC_OFFSET - 1)`.
pub fn vmalloc_start(high_memory: u64, classic: bool) -> u64 {
    if classic {
        (high_memory + 2 * VMALLOC_OFFSET - 1) & !(VMALLOC_OFFSET - 1)
    } else {
        high_memory + VMALLOC_OFFSET
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_6_6_fixmap_and_areas_follow_the_headers() {
        // Non-PAE: 197 permanent entries, the boot-time slots fit the same page table, so
        // __end_of_fixed_addresses is 197 + 512 + 1.
        let f = fixmap_6_6(1024);
        assert_eq!(
            (f.fix_kmap_begin, f.end_of_permanent, f.end_of_fixed),
            (68, 197, 710)
        );
        let a = areas_6_6(false);
        assert_eq!(a.fixaddr_tot_start, 0xffd3_9000);
        assert_eq!(a.cpu_entry_area.unwrap().0, 0xff80_0000);
        assert_eq!(a.ldt.unwrap().0, 0xff40_0000);
        assert_eq!(a.pkmap_base, 0xff00_0000);
        assert_eq!(a.vmalloc_end, 0xfeff_e000);
        // "879MB LOWMEM available." (MAXMEM 0x36ffe000).
        assert_eq!(a.maxmem, 0x36ff_e000);
        // PAE: the boot-time slots are pushed to a 512-entry boundary.
        let f = fixmap_6_6(512);
        assert_eq!((f.end_of_permanent, f.end_of_fixed), (197, 1025));
        let a = areas_6_6(true);
        assert_eq!(a.fixaddr_tot_start, 0xffbf_e000);
        assert_eq!(a.pkmap_base, 0xff60_0000);
        assert_eq!((a.last_pkmap, a.vmalloc_end), (512, 0xff5f_e000));
        assert_eq!(a.maxmem >> 20, 885);
    }

    #[test]
    fn a_3_x_kernel_without_cpu_entry_area_gave_887_mb() {
        // Before the cpu_entry_area, PKMAP_BASE hung from FIXADDR_START and MAXMEM was the
        // same formula: boot logs of that era print "887MB LOWMEM available" and "low ram:
        // 0 - 377fe000". The formula reproduces them (a sanity check of MAXMEM).
        let pkmap = (0xfff1_6000u64 - PAGE_SIZE * 1025) & !((4 << 20) - 1);
        assert_eq!(
            pkmap - 2 * PAGE_SIZE - PAGE_OFFSET - VMALLOC_RESERVE,
            0x377f_e000
        );
    }

    #[test]
    fn the_2_6_areas_are_the_classic_ones() {
        let a = areas_2_6(false);
        assert_eq!(
            (a.maxmem, a.pkmap_base, a.vmalloc_end),
            (896 << 20, 0xff80_0000, 0xff7f_e000)
        );
        // PAE boot logs of 2.6: "pkmap   : 0xffc00000 - 0xffe00000   (2048 kB)".
        let a = areas_2_6(true);
        assert_eq!((a.pkmap_base, a.last_pkmap), (0xffc0_0000, 512));
        assert_eq!(vmalloc_start(0xf800_0000, true), 0xf880_0000);
        // mem=100M: 2.6 leaves between 8 and 16 MiB, 6.6 exactly 8.
        assert_eq!(vmalloc_start(0xc640_0000, true), 0xc700_0000);
        assert_eq!(vmalloc_start(0xc640_0000, false), 0xc6c0_0000);
    }
}
