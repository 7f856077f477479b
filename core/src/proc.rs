//! /proc files in the kernel's formats.

use crate::layout::ZoneType;
use crate::machine::Machine;
use crate::NR_PAGE_ORDERS;

impl Machine {
    /// /proc/buddyinfo (mm/vmstat.c frag_show_print()).
    pub fn proc_buddyinfo(&self) -> String {
        let mut s = String::new();
        for (zi, z) in self.zones().iter().enumerate() {
            s.push_str(&format!("Node 0, zone {:>8} ", z.name()));
            for o in 0..NR_PAGE_ORDERS {
                s.push_str(&format!("{:6} ", self.alloc.nr_free(zi, o as u32)));
            }
            s.push('\n');
        }
        s
    }

    /// /proc/meminfo: the totals this model keeps (fs/proc/meminfo.c show_val_kb()).
    pub fn proc_meminfo(&self) -> String {
        let kb = |pages: u64| pages * 4;
        let zones = self.zones();
        let (mut total, mut free, mut htotal, mut hfree) = (0, 0, 0, 0);
        for (zi, z) in zones.iter().enumerate() {
            total += z.managed;
            free += self.alloc.free_pages(zi);
            if z.kind() == ZoneType::HighMem {
                htotal += z.managed;
                hfree += self.alloc.free_pages(zi);
            }
        }
        let mut s = String::new();
        let mut line =
            |name: &str, v: u64| s.push_str(&format!("{:<16}{:>8} kB\n", format!("{name}:"), v));
        line("MemTotal", kb(total));
        line("MemFree", kb(free));
        if self.layout.arch == crate::Arch::I386 {
            line("HighTotal", kb(htotal));
            line("HighFree", kb(hfree));
            line("LowTotal", kb(total - htotal));
            line("LowFree", kb(free - hfree));
        }
        s
    }
}
