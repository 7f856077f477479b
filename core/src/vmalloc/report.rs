//! What vmalloc prints: its WARN and BUG texts, warn_alloc() for a failed allocation, and
//! /proc/vmallocinfo.

use super::{VM_ALLOC, VM_IOREMAP, VM_MAP};
use crate::config::Arch;
use crate::gfp::*;
use crate::machine::Machine;

impl Machine {
    /// A BUG()/BUG_ON() in mm/vmalloc.c.
    pub(super) fn vm_bug_text(&mut self, line: u32, what: &str) -> String {
        self.bug_text(&format!("mm/vmalloc.c:{line}"), what)
    }

    /// warn_alloc(gfp, NULL, fmt, ...) for a vmalloc failure.
    pub(super) fn vm_warn_alloc(&mut self, gfp: Gfp, msg: &str) {
        self.warn_alloc_msg(gfp, msg);
    }

    // ----- /proc/vmallocinfo --------------------------------------------------------

    /// /proc/vmallocinfo (s_show()): one line per area in address order, sizes including
    /// the guard page; pointers printed raw (root with kptr_restrict permitting).
    pub fn proc_vmallocinfo(&self) -> String {
        let mut s = String::new();
        for v in self.vmalloc.areas.values() {
            s.push_str(&format!(
                "0x{}-0x{} {:7}",
                self.ptr_hex(v.addr),
                self.ptr_hex(v.end()),
                v.size
            ));
            let caller = v.caller.text(self.layout.arch);
            if !caller.is_empty() {
                s.push(' ');
                s.push_str(&caller);
            }
            if !v.pages.is_empty() {
                s.push_str(&format!(" pages={}", v.pages.len()));
            }
            if v.flags & VM_IOREMAP != 0 {
                s.push_str(" ioremap");
            }
            if v.flags & VM_ALLOC != 0 {
                s.push_str(" vmalloc");
            }
            if v.flags & VM_MAP != 0 {
                s.push_str(" vmap");
            }
            if v.pages_array.is_some() {
                s.push_str(" vpages");
            }
            // show_numa_info(): x86_64 kernels are built with CONFIG_NUMA (one node here),
            // i386 ones without.
            if self.layout.arch == Arch::X86_64 && !v.pages.is_empty() {
                s.push_str(&format!(" N0={}", v.pages.len()));
            }
            s.push('\n');
        }
        s
    }
}
