//! SLUB debugging: the fills (init_object()), the checks (check_object(), check_slab(),
//! slab_pad_check(), on_freelist()) and the one function that formats every SLUB report
//! (`slub_bug_text`, Linux's slab_bug() + print_trailer() / print_slab_info()).

use super::check::{CheckAreas, CheckedObject};
use super::sites::{
    CACHE_FROM_OBJ, KMEM_CACHE_DESTROY, VIRT_TO_CACHE_KFREE, VIRT_TO_CACHE_KMEM_CACHE_FREE,
};
use super::track::TrackItem;
use super::{POISON_END, POISON_FREE, POISON_INUSE, SLUB_RED_ACTIVE};
use crate::dumpstack::Site;
use crate::machine::Machine;
use crate::report::{hex_dump_lines, Report, ReportKind, Silence, Taint};
use crate::slab_flags::*;
use crate::PAGE_SIZE;

const RULE_EQ: &str =
    "=============================================================================";
const RULE_DASH: &str =
    "-----------------------------------------------------------------------------";

/// The report kind of an area check_bytes_and_report() found overwritten.
fn area_kind(what: &str) -> ReportKind {
    match what {
        "Left Redzone" | "Right Redzone" | "kmalloc Redzone" => ReportKind::RedzoneOverwritten,
        "Poison" | "End Poison" => ReportKind::PoisonOverwritten,
        _ => ReportKind::PaddingOverwritten,
    }
}

/// What a SLUB report says beyond its header: slab_err() (the slab) or object_err() /
/// check_bytes_and_report() (an object, with print_trailer()).
pub(crate) struct SlubBug<'a> {
    pub id: usize,
    pub pfn: u64,
    /// The text after "BUG <cache> (<taint>): ".
    pub title: &'a str,
    /// check_bytes_and_report()'s range line.
    pub range: Option<String>,
    /// The object for print_trailer(); None prints the slab only (slab_err()).
    pub object: Option<u64>,
}

impl Machine {
    fn px(&self, v: u64) -> String {
        format!("{v:0w$x}", w = self.ptr_width())
    }

    /// print_section(): print_hex_dump(KERN_ERR, text, DUMP_PREFIX_ADDRESS, 16, 1, addr,
    /// length, 1).
    pub(crate) fn print_section(&self, out: &mut Vec<String>, prefix: &str, addr: u64, len: u64) {
        if !self.log.texts() {
            return;
        }
        let mut buf = vec![0u8; len as usize];
        self.phys_read(self.slab_pa(addr), &mut buf);
        out.extend(hex_dump_lines(prefix, addr, self.ptr_width(), &buf));
    }

    /// print_tracking(): the alloc and free tracks (SLAB_STORE_USER).
    pub(crate) fn print_tracking(&self, out: &mut Vec<String>, id: usize, obj: u64) {
        if !self.slub.caches[id].has(SLAB_STORE_USER) {
            return;
        }
        let mask = match self.layout.arch {
            crate::Arch::I386 => 0xffff_ffffu64,
            crate::Arch::X86_64 => u64::MAX,
        };
        for (name, which) in [("Allocated", TrackItem::Alloc), ("Freed", TrackItem::Free)] {
            let Some((addr, cpu, pid, when)) = self.get_track(id, obj, which) else {
                continue;
            };
            if addr == 0 {
                continue;
            }
            out.push(format!(
                "{name} in {} age={} cpu={cpu} pid={}",
                self.symbolize(addr),
                self.slub.caller.wrapping_sub(when) & mask,
                pid as i32
            ));
        }
    }

    /// print_slab_info().
    fn print_slab_info(&self, out: &mut Vec<String>, pfn: u64) {
        let (objects, inuse, freelist) = self
            .slub
            .slabs
            .get(&pfn)
            .map_or((0, 0, 0), |s| (s.objects, s.inuse, s.freelist));
        let p = self.pages.get(pfn);
        let zone = self.layout.zone_of_pfn(pfn).map_or(0, |z| {
            self.zones().iter().position(|x| x.kind() == z).unwrap_or(0)
        });
        let names = crate::page::format_page_flags(p.flags);
        let sep = if names.is_empty() { "" } else { "|" };
        out.push(format!(
            "Slab 0x{} objects={objects} used={inuse} fp=0x{} flags={:#x}({names}{sep}zone={zone})",
            self.px(self.layout.page_ptr(pfn)),
            self.px(freelist),
            p.flags
        ));
    }

    /// The one formatter of SLUB reports: slab_bug()'s header, then print_trailer() for an
    /// object or print_slab_info() + dump_stack() for a slab, then
    /// add_taint(TAINT_BAD_PAGE, LOCKDEP_NOW_UNRELIABLE), which taints the kernel at once
    /// (the header showed the taint from before) and may end the text with its line.
    pub(crate) fn slub_bug_text(&mut self, b: &SlubBug) -> String {
        if !self.log.texts() {
            let mut text = String::new();
            self.log.add_taint(Taint::BadPage, &mut text);
            return text;
        }
        let c = &self.slub.caches[b.id];
        let taint = self.log.taint_str();
        let mut out = vec![RULE_EQ.to_string()];
        // slab_err() formats into a 100-byte buffer.
        let mut title = b.title.to_string();
        if title.len() > 99 {
            let mut cut = 99;
            while !title.is_char_boundary(cut) {
                cut -= 1;
            }
            title.truncate(cut);
        }
        let extra_nl = title.ends_with('\n');
        out.push(format!(
            "BUG {} ({taint}): {}",
            c.name,
            title.trim_end_matches('\n')
        ));
        if extra_nl {
            out.push(String::new());
        }
        out.push(RULE_DASH.to_string());
        out.push(String::new());
        if let Some(r) = &b.range {
            out.push(r.clone());
        }
        match b.object {
            Some(p) => {
                // print_trailer().
                let l = c.layout;
                let base = self.slab_address(b.pfn);
                self.print_tracking(&mut out, b.id, p);
                self.print_slab_info(&mut out, b.pfn);
                out.push(format!(
                    "Object 0x{} @offset={} fp=0x{}",
                    self.px(p),
                    p.wrapping_sub(base),
                    self.px(self.get_freepointer(b.id, p))
                ));
                out.push(String::new());
                if c.has(SLAB_RED_ZONE) {
                    self.print_section(
                        &mut out,
                        "Redzone  ",
                        p - l.red_left_pad as u64,
                        l.red_left_pad as u64,
                    );
                } else if p > base + 16 {
                    self.print_section(&mut out, "Bytes b4 ", p - 16, 16);
                }
                self.print_section(
                    &mut out,
                    "Object   ",
                    p,
                    (l.object_size as u64).min(PAGE_SIZE),
                );
                if c.has(SLAB_RED_ZONE) {
                    self.print_section(
                        &mut out,
                        "Redzone  ",
                        p + l.object_size as u64,
                        (l.inuse - l.object_size) as u64,
                    );
                }
                if l.pad_offset != l.size_from_object {
                    self.print_section(
                        &mut out,
                        "Padding  ",
                        p + l.pad_offset as u64,
                        (l.size_from_object - l.pad_offset) as u64,
                    );
                }
            }
            None => self.print_slab_info(&mut out, b.pfn),
        }
        out.push(self.dump_stack());
        let mut text = out.join("\n");
        self.log.add_taint(Taint::BadPage, &mut text);
        text
    }

    fn push_slub_bug(&mut self, kind: ReportKind, b: SlubBug) {
        let text = self.slub_bug_text(&b);
        self.slub.pending.push(Report {
            kind,
            text,
            site: None,
        });
    }

    /// A SLUB report a WARN() at `site` printed: TAINT_WARN at once, the report pushed with
    /// the operation's others.
    fn push_slub_warn(&mut self, kind: ReportKind, mut text: String, site: &Site) {
        self.log.add_taint(Taint::Warn, &mut text);
        self.slub.pending.push(Report {
            kind,
            text,
            site: Some(site.at()),
        });
    }

    /// slab_err().
    pub(crate) fn slab_err(&mut self, id: usize, pfn: u64, title: &str, kind: ReportKind) {
        self.push_slub_bug(
            kind,
            SlubBug {
                id,
                pfn,
                title,
                range: None,
                object: None,
            },
        );
    }

    /// object_err().
    pub(crate) fn object_err(
        &mut self,
        id: usize,
        pfn: u64,
        obj: u64,
        reason: &str,
        kind: ReportKind,
    ) {
        self.push_slub_bug(
            kind,
            SlubBug {
                id,
                pfn,
                title: reason,
                range: None,
                object: Some(obj),
            },
        );
    }

    /// slab_fix(): "FIX <cache>: ...", appended to the report it follows.
    pub(crate) fn slab_fix(&mut self, id: usize, text: &str) {
        if !self.log.texts() {
            return;
        }
        let line = format!("FIX {}: {text}", self.slub.caches[id].name);
        match self.slub.pending.last_mut() {
            Some(r) => {
                r.text.push('\n');
                r.text.push_str(&line);
            }
            None => self.log.info(line),
        }
    }

    /// init_object(): red zones to `val`, the object poisoned (with __OBJECT_POISON).
    pub(crate) fn init_object(&mut self, id: usize, obj: u64, val: u8) {
        let c = &self.slub.caches[id];
        let l = c.layout;
        let rz = c.has(SLAB_RED_ZONE);
        let poison = c.object_poison;
        let orig = c.orig_size_on();
        let pa = self.slab_pa(obj);
        let mut poison_size = l.object_size as u64;
        if rz {
            self.phys_fill(pa - l.red_left_pad as u64, l.red_left_pad as u64, val);
            if orig && val == SLUB_RED_ACTIVE {
                poison_size = self.get_orig_size(id, obj) as u64;
            }
        }
        if poison && poison_size > 0 {
            self.phys_fill(pa, poison_size - 1, POISON_FREE);
            self.phys_fill(pa + poison_size - 1, 1, POISON_END);
        }
        if rz {
            self.phys_fill(
                pa + poison_size,
                (l.inuse as u64).saturating_sub(poison_size),
                val,
            );
        }
    }

    /// check_bytes_and_report(): [start, start+len) must all be `value`; the first report
    /// names the bad range, and the bytes are restored.
    #[allow(clippy::too_many_arguments)]
    fn check_bytes_and_report(
        &mut self,
        id: usize,
        pfn: u64,
        object: u64,
        what: &str,
        start: u64,
        value: u8,
        len: u64,
    ) -> bool {
        let pa = self.slab_pa(start);
        let Some(first) = self.phys_find_not(pa, len, value) else {
            return true;
        };
        let last = self.phys_rfind_not(pa, len, value).unwrap_or(first);
        let mut bad = [0u8];
        self.phys_read(pa + first, &mut bad);
        let fault = start + first;
        let end = start + last + 1;
        let range = format!(
            "0x{}-0x{} @offset={}. First byte 0x{:x} instead of 0x{:x}",
            self.px(fault),
            self.px(end - 1),
            fault - self.slab_address(pfn),
            bad[0],
            value
        );
        let title = format!("{what} overwritten");
        self.push_slub_bug(
            area_kind(what),
            SlubBug {
                id,
                pfn,
                title: &title,
                range: Some(range),
                object: Some(object),
            },
        );
        // restore_bytes().
        self.slab_fix(
            id,
            &format!(
                "Restoring {what} 0x{}-0x{}=0x{:x}",
                self.px(fault),
                self.px(end - 1),
                value
            ),
        );
        self.phys_fill(self.slab_pa(fault), end - fault, value);
        false
    }

    /// check_object() (Linux 6.6): the areas the cache's [`ObjectChecks`] names, each
    /// compared with its byte (the first mismatch of a stopping area ends the check), then
    /// the free pointer.
    pub(crate) fn check_object(&mut self, id: usize, pfn: u64, obj: u64, val: u8) -> bool {
        let c = &self.slub.caches[id];
        let l = c.layout;
        let rz = c.has(SLAB_RED_ZONE);
        let keeps_orig = rz && c.orig_size_on() && val == SLUB_RED_ACTIVE;
        let checked = CheckedObject {
            layout: l,
            red_zone: rz,
            poison: c.has(SLAB_POISON),
            object_poison: c.object_poison,
            val,
            orig_size: keeps_orig.then(|| self.get_orig_size(id, obj)),
        };
        let mut areas = CheckAreas::new();
        self.slub.checks.areas(&checked, &mut areas);
        for a in areas.iter() {
            let start = obj.wrapping_add_signed(a.start);
            if !self.check_bytes_and_report(id, pfn, obj, a.what, start, a.value, a.len) && a.stop {
                return false;
            }
        }
        if !l.freeptr_outside && val == SLUB_RED_ACTIVE {
            // Object and free pointer overlap: nothing to check while allocated.
            return true;
        }
        let fp = self.get_freepointer(id, obj);
        if !self.check_valid_pointer(id, pfn, fp) {
            self.object_err(
                id,
                pfn,
                obj,
                "Freepointer corrupt",
                ReportKind::FreepointerCorrupt,
            );
            self.set_freepointer(id, obj, 0);
            return false;
        }
        true
    }

    /// slab_pad_check(): with SLAB_POISON, the slab's tail (what objects leave over) must be
    /// POISON_INUSE.
    pub(crate) fn slab_pad_check(&mut self, id: usize, pfn: u64) {
        let c = &self.slub.caches[id];
        if !c.has(SLAB_POISON) {
            return;
        }
        let Some(order) = self.slub.slabs.get(&pfn).map(|s| s.order) else {
            return;
        };
        let start = self.slab_address(pfn);
        let length = PAGE_SIZE << order;
        let remainder = length % c.layout.size as u64;
        if remainder == 0 {
            return;
        }
        let pad = start + length - remainder;
        let pad_pa = self.slab_pa(pad);
        let Some(first) = self.phys_find_not(pad_pa, remainder, POISON_INUSE) else {
            return;
        };
        let last = self
            .phys_rfind_not(pad_pa, remainder, POISON_INUSE)
            .unwrap_or(first);
        let fault = pad + first;
        let end = pad + last + 1;
        let title = format!(
            "Padding overwritten. 0x{}-0x{} @offset={}",
            self.px(fault),
            self.px(end - 1),
            fault - start
        );
        let mut text = self.slub_bug_text(&SlubBug {
            id,
            pfn,
            title: &title,
            range: None,
            object: None,
        });
        let mut lines = Vec::new();
        self.print_section(&mut lines, "Padding ", pad, remainder);
        for l in lines {
            text.push('\n');
            text.push_str(&l);
        }
        self.slub.pending.push(Report {
            kind: ReportKind::PaddingOverwritten,
            text,
            site: None,
        });
        self.slab_fix(
            id,
            &format!(
                "Restoring slab padding 0x{}-0x{}=0x{:x}",
                self.px(fault),
                self.px(end - 1),
                POISON_INUSE
            ),
        );
        self.phys_fill(self.slab_pa(fault), end - fault, POISON_INUSE);
    }

    /// check_slab().
    pub(crate) fn check_slab(&mut self, id: usize, pfn: u64) -> bool {
        let Some(s) = self.slub.slabs.get(&pfn).cloned() else {
            return false;
        };
        if s.inuse > s.objects {
            self.slab_err(
                id,
                pfn,
                &format!("inuse {} > max {}", s.inuse, s.objects),
                ReportKind::FreepointerCorrupt,
            );
            return false;
        }
        self.slab_pad_check(id, pfn);
        true
    }

    /// on_freelist(): walks the slab's free list (at most objects + 1 steps) looking for
    /// `search`, repairing a corrupt chain and the in-use count as SLUB does.
    pub(crate) fn on_freelist(&mut self, id: usize, pfn: u64, search: u64) -> bool {
        let Some(s) = self.slub.slabs.get(&pfn).cloned() else {
            return false;
        };
        let mut fp = s.freelist;
        let mut object = 0u64;
        let mut nr: u32 = 0;
        while fp != 0 && nr <= s.objects {
            if fp == search {
                return true;
            }
            if !self.check_valid_pointer(id, pfn, fp) {
                if object != 0 {
                    self.object_err(
                        id,
                        pfn,
                        object,
                        "Freechain corrupt",
                        ReportKind::FreepointerCorrupt,
                    );
                    self.set_freepointer(id, object, 0);
                } else {
                    self.slab_err(
                        id,
                        pfn,
                        "Freepointer corrupt",
                        ReportKind::FreepointerCorrupt,
                    );
                    if let Some(s) = self.slub.slabs.get_mut(&pfn) {
                        s.freelist = 0;
                        s.inuse = s.objects;
                    }
                    self.slab_fix(id, "Freelist cleared");
                    return false;
                }
                break;
            }
            object = fp;
            fp = self.get_freepointer(id, object);
            nr += 1;
        }
        let counted = s.objects as i64 - nr as i64;
        let inuse = self.slub.slabs.get(&pfn).map_or(0, |s| s.inuse);
        if inuse as i64 != counted {
            self.slab_err(
                id,
                pfn,
                &format!("Wrong object count. Counter is {inuse} but counted were {counted}"),
                ReportKind::FreepointerCorrupt,
            );
            if let Some(s) = self.slub.slabs.get_mut(&pfn) {
                // Linux stores the count in a 16-bit field; a negative count (a cyclic free
                // list) wraps above `objects`, which the model keeps as `objects`.
                s.inuse = if counted < 0 {
                    s.objects
                } else {
                    counted as u32
                };
            }
            self.slab_fix(id, "Object count adjusted");
        }
        search == 0
    }

    /// cache_from_obj()'s WARN_ONCE (TAINT_WARN): a free to a cache the object does not
    /// belong to; the object's tracks follow (print_tracking()). Once per boot: after the
    /// first, the free is still redirected to the right cache, silently.
    pub(crate) fn report_wrong_cache(&mut self, id: usize, real: usize, pfn: u64, addr: u64) {
        if !self.warn_once(&CACHE_FROM_OBJ) {
            self.log
                .silence(ReportKind::WrongCache, &CACHE_FROM_OBJ.at(), Silence::Once);
            return;
        }
        let mut text = String::new();
        if self.log.texts() {
            let msg = format!(
                "kmem_cache_free: Wrong slab cache. {} but object is from {}",
                self.slub.caches[id].name, self.slub.caches[real].name
            );
            let mut out = vec![self.warn_text(&CACHE_FROM_OBJ, &msg, "")];
            if self.check_valid_pointer(real, pfn, addr) {
                self.print_tracking(&mut out, real, addr);
            }
            text = out.join("\n");
        }
        self.push_slub_warn(ReportKind::WrongCache, text, &CACHE_FROM_OBJ);
    }

    /// virt_to_cache()'s WARN_ONCE: an object outside any slab page (TAINT_WARN), once per
    /// boot; `func` is the function it is inlined into (kfree, kmem_cache_free).
    pub(crate) fn report_not_slab_page(&mut self, func: &str, addr: u64) {
        let site = if func == "kfree" {
            VIRT_TO_CACHE_KFREE
        } else {
            VIRT_TO_CACHE_KMEM_CACHE_FREE
        };
        if !self.warn_once(&site) {
            self.log
                .silence(ReportKind::InvalidFree, &site.at(), Silence::Once);
            return;
        }
        let after = if self.log.texts() {
            format!("kmemfuzz: {func}(0x{})", self.px(addr))
        } else {
            String::new()
        };
        let text = self.warn_text(&site, "virt_to_cache: Object is not a Slab page!", &after);
        self.push_slub_warn(ReportKind::InvalidFree, text, &site);
    }

    /// __kmem_cache_shutdown()'s list_slab_objects() for each partial slab with objects, then
    /// kmem_cache_destroy()'s WARN (TAINT_WARN): one objects-remaining report.
    pub(crate) fn report_objects_remaining(&mut self, id: usize, partial: &[u64]) {
        let name = self.slub.caches[id].name.clone();
        let title = format!("Objects remaining in {name} on __kmem_cache_shutdown()");
        let mut out: Vec<String> = Vec::new();
        for &pfn in partial {
            let text = self.slub_bug_text(&SlubBug {
                id,
                pfn,
                title: &title,
                range: None,
                object: None,
            });
            if !self.log.texts() {
                continue;
            }
            out.push(text);
            let base = self.slab_address(pfn);
            // get_map(): the free objects from one walk of the free list.
            let free = self.free_map(id, pfn);
            for (obj, free) in self.slab_objects(id, pfn).into_iter().zip(free) {
                if free {
                    continue;
                }
                out.push(format!("Object 0x{} @offset={}", self.px(obj), obj - base));
                self.print_tracking(&mut out, id, obj);
            }
        }
        let mut text = String::new();
        if self.log.texts() {
            let msg = format!(
                "kmem_cache_destroy {name}: Slab cache still has objects when called from {}",
                self.symbolize(self.caller_ip())
            );
            out.push(self.warn_text(&KMEM_CACHE_DESTROY, &msg, ""));
            text = out.join("\n");
        }
        self.push_slub_warn(ReportKind::ObjectsRemaining, text, &KMEM_CACHE_DESTROY);
    }
}
