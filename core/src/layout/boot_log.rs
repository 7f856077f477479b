//! What a booting kernel prints about its memory layout, as each profile's boot log has it.
//! Lines the kernel does not print (the areas 6.6 no longer lists, the model's boot
//! reservations) are kmemfuzz's own and say so.

use super::{Layout, Paging};
use crate::config::{Arch, Kernel};
use crate::PAGE_SHIFT;

/// pages_to_mb().
fn pages_to_mb(pages: u64) -> u64 {
    pages >> (20 - PAGE_SHIFT)
}

impl Layout {
    /// The boot log's memory lines: for i386 initmem_init()'s HIGHMEM/LOWMEM lines, then 6.6's
    /// setup_bootmem_allocator() lines and "Zone ranges:", or 2.6's "Zone PFN ranges:" and
    /// mem_init()'s "virtual kernel memory layout:"; for x86_64 "Zone ranges:". kmemfuzz's own
    /// lines follow: the areas a 6.6 kernel no longer prints, and what boot reserved.
    pub fn boot_log(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.arch == Arch::I386 {
            // CONFIG_HIGHMEM prints the HIGHMEM line even when there is none.
            out.push(format!(
                "{}MB HIGHMEM available.",
                pages_to_mb(self.max_pfn - self.max_low_pfn)
            ));
            out.push(format!(
                "{}MB LOWMEM available.",
                pages_to_mb(self.max_low_pfn)
            ));
        }
        match self.kernel {
            Kernel::V6_6 => {
                if self.arch == Arch::I386 {
                    let low = self.max_low_pfn << PAGE_SHIFT;
                    out.push(format!("  mapped low ram: 0 - {low:08x}"));
                    out.push(format!("  low ram: 0 - {low:08x}"));
                }
                out.push("Zone ranges:".into());
                for z in &self.zones {
                    out.push(format!(
                        "  {:<8} [mem {:#018x}-{:#018x}]",
                        z.zone.name(),
                        z.start_pfn << PAGE_SHIFT,
                        (z.end_pfn << PAGE_SHIFT) - 1
                    ));
                }
                self.areas_6_6(&mut out);
            }
            Kernel::V2_6 => {
                out.push("Zone PFN ranges:".into());
                for z in &self.zones {
                    out.push(format!(
                        "  {:<8} {:8} -> {:8}",
                        z.zone.name(),
                        z.start_pfn,
                        z.end_pfn
                    ));
                }
                self.virtual_kernel_memory_layout(&mut out);
            }
        }
        for &(s, e, what) in &self.reserved {
            out.push(format!(
                "kmemfuzz: reserved at boot: [mem {:#018x}-{:#018x}] {what}",
                s << PAGE_SHIFT,
                (e << PAGE_SHIFT) - 1
            ));
        }
        out
    }

    /// 2.6's mem_init() (arch/i386/mm/init.c): the areas from the top down, without the
    /// kernel image's sections (the model has none).
    fn virtual_kernel_memory_layout(&self, out: &mut Vec<String>) {
        let kb = |s: u64, e: u64| (e - s) >> 10;
        let mb = |s: u64, e: u64| (e - s) >> 20;
        let pkmap_end = self.pkmap_base + (self.last_pkmap << PAGE_SHIFT);
        out.push("virtual kernel memory layout:".into());
        out.push(format!(
            "    fixmap  : 0x{:08x} - 0x{:08x}   ({:4} kB)",
            self.fixaddr_start,
            self.fixaddr_top,
            kb(self.fixaddr_start, self.fixaddr_top)
        ));
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

    /// The areas of a 6.6 kernel, which no longer prints them: kmemfuzz's lines, in the
    /// order of Documentation/arch/x86/x86_64/mm.rst (x86_64) or from the top down (i386).
    fn areas_6_6(&self, out: &mut Vec<String>) {
        let mut area = |name: &str, s: u64, e: u64| {
            let w = if self.arch == Arch::I386 { 8 } else { 16 };
            let size = match e - s {
                n if n >= 64 << 20 => format!("{:4} MB", n >> 20),
                n => format!("{:4} kB", n >> 10),
            };
            out.push(format!(
                "kmemfuzz: {name:<15} 0x{s:0w$x} - 0x{e:0w$x}   ({size})"
            ));
        };
        match self.arch {
            Arch::I386 => {
                let paging = match self.paging {
                    Paging::Pae => "PAE",
                    _ => "2-level",
                };
                area("fixmap", self.fixaddr_tot_start, self.fixaddr_top);
                if let Some((s, e)) = self.cpu_entry_area {
                    area("cpu_entry_area", s, e);
                }
                if let Some((s, e)) = self.ldt {
                    area("LDT remap", s, e);
                }
                let pkmap_end = self.pkmap_base + (self.last_pkmap << PAGE_SHIFT);
                area("pkmap", self.pkmap_base, pkmap_end);
                area("vmalloc", self.vmalloc_start, self.vmalloc_end);
                area("lowmem", self.page_offset, self.high_memory);
                out.push(format!(
                    "kmemfuzz: {paging} paging, LAST_PKMAP {}, NR_CPUS {}",
                    self.last_pkmap,
                    super::i386::NR_CPUS
                ));
            }
            Arch::X86_64 => {
                area("direct map", self.page_offset, self.high_memory);
                area("vmalloc", self.vmalloc_start, self.vmalloc_end);
                area(
                    "vmemmap",
                    self.mem_map,
                    self.mem_map + self.max_pfn * self.struct_page_size,
                );
            }
        }
    }
}
