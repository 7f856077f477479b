//! The oracle's own derivation of the i386 kernel areas for each version profile, from the
//! kernel headers' definitions (written apart from kmem's, which must agree with it):
//!
//! - 6.6: arch/x86/include/asm/fixmap.h (enum fixed_addresses), cpu_entry_area.h and
//!   pgtable_32_areas.h, for the configuration docs/model.md states (NR_CPUS 8, local and
//!   I/O APIC, KMAP_LOCAL, PCI_MMCONFIG).
//! - 2.6: the classic constants: MAXMEM 896 MiB, PKMAP_BASE below a 720 kB fixmap,
//!   VMALLOC_START rounded up to 8 MiB.

const MIB: u64 = 1 << 20;
const PAGE: u64 = 4096;
const TOP_OF_FIXMAP: u64 = 0xFFFF_F000;
const START_OF_KERNEL: u64 = 0xC000_0000;

/// What the oracle needs of the areas above lowmem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct I386Areas {
    pub lowmem_limit: u64,
    pub vmalloc_end: u64,
    pub pkmap_base: u64,
    pub last_pkmap: u64,
    pub fixaddr_top: u64,
    /// FIXADDR_START: FIXADDR_TOP less the permanent fixed addresses.
    pub fixaddr_start: u64,
    pub fix_kmap_begin: u64,
}

/// NR_CPUS of the configuration docs/model.md states: the fixmap holds the kmap_local slots
/// of every CPU.
pub const NR_CPUS: u64 = 8;

/// The number of fixmap entries of each kind, in enum order, for 6.6 on x86_32.
fn fixmap_entries_6_6() -> (u64, u64) {
    let nr_cpus = NR_CPUS;
    let km_max_idx = 16;
    let io_apics = 64;
    // (name, count) up to FIX_KMAP_BEGIN: hole, dbgp, earlycon, local APIC, I/O APICs.
    let before_kmap: u64 = [1, 1, 1, 1, io_apics].iter().sum();
    // The kmap_local slots of every CPU, then FIX_PCIE_MCFG.
    let permanent = before_kmap + km_max_idx * nr_cpus + 1;
    (before_kmap, permanent)
}

pub fn areas(classic: bool, pae: bool) -> I386Areas {
    // With PAE a page table holds 512 eight-byte entries and a PMD maps 2 MiB; without, 1024
    // four-byte entries and the (folded) PMD is the 4 MiB page directory entry.
    let (entries, pmd) = if pae { (512, 2 * MIB) } else { (1024, 4 * MIB) };
    let down_to_pmd = |a: u64| a - a % pmd;
    let reserve = 128 * MIB;
    if classic {
        let fixmap_bottom = TOP_OF_FIXMAP - 180 * PAGE;
        let pkmap_base = down_to_pmd(fixmap_bottom - (entries + 1) * PAGE);
        return I386Areas {
            lowmem_limit: (1u64 << 32) - START_OF_KERNEL - reserve,
            vmalloc_end: pkmap_base - 2 * PAGE,
            pkmap_base,
            last_pkmap: entries,
            fixaddr_top: TOP_OF_FIXMAP,
            fixaddr_start: fixmap_bottom,
            fix_kmap_begin: 16,
        };
    }
    let (kmap_begin, permanent) = fixmap_entries_6_6();
    // 512 early_ioremap slots, moved up to the next 512-entry boundary when they would
    // otherwise straddle two page tables; then FIX_WP_TEST.
    let btmaps = 512;
    let first_table = permanent / entries;
    let last_table = (permanent + btmaps - 1) / entries;
    let btmap_end = if first_table == last_table {
        permanent
    } else {
        permanent + btmaps - permanent % btmaps
    };
    let all_entries = btmap_end + btmaps + 1;
    let fixmap_bottom = TOP_OF_FIXMAP - all_entries * PAGE;
    // struct cpu_entry_area on x86_32: gdt, two guard pages, the entry stack, the #DF stack,
    // a five-page TSS with its I/O bitmaps, the debug store and 32 pages of BTS/PEBS buffers.
    let per_cpu = 1 + 1 + 1 + 1 + 1 + 5 + 1 + 32;
    let cea = down_to_pmd(fixmap_bottom - (8 * per_cpu + 1) * PAGE);
    let ldt = down_to_pmd(cea - PAGE);
    let pkmap_base = down_to_pmd(ldt - PAGE);
    let vmalloc_end = pkmap_base - 2 * PAGE;
    I386Areas {
        lowmem_limit: vmalloc_end - START_OF_KERNEL - reserve,
        vmalloc_end,
        pkmap_base,
        last_pkmap: entries,
        fixaddr_top: TOP_OF_FIXMAP,
        fixaddr_start: TOP_OF_FIXMAP - permanent * PAGE,
        fix_kmap_begin: kmap_begin,
    }
}

/// VMALLOC_START: 8 MiB above high_memory (6.6), or the first 8 MiB boundary at least 8 MiB
/// above it (2.6).
pub fn vmalloc_start(high_memory: u64, classic: bool) -> u64 {
    let gap = 8 * MIB;
    if classic {
        (high_memory + gap).div_ceil(gap) * gap
    } else {
        high_memory + gap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_six_areas_from_the_headers() {
        let a = areas(false, false);
        assert_eq!((a.pkmap_base, a.vmalloc_end), (0xff00_0000, 0xfeff_e000));
        assert_eq!(a.lowmem_limit >> 20, 879);
        assert_eq!(a.fix_kmap_begin, 68);
        let a = areas(false, true);
        assert_eq!((a.pkmap_base, a.last_pkmap), (0xff60_0000, 512));
        assert_eq!(a.lowmem_limit >> 20, 885);
    }

    #[test]
    fn classic_areas() {
        let a = areas(true, false);
        assert_eq!((a.lowmem_limit, a.pkmap_base), (896 << 20, 0xff80_0000));
        assert_eq!(areas(true, true).pkmap_base, 0xffc0_0000);
        assert_eq!(vmalloc_start(0xc640_0000, true), 0xc700_0000);
        assert_eq!(vmalloc_start(0xc800_0000, true), 0xc880_0000);
        assert_eq!(vmalloc_start(0xc640_0000, false), 0xc6c0_0000);
    }
}
