//! The page allocation API (alloc_pages() and friends) around the buddy allocator, with the
//! checks Linux makes on the way in and out: might_alloc(), check_new_pages() and page
//! poisoning on allocation, free_pages_prepare() and bad_page() on free.

use crate::context::{MIGHT_ALLOC, SECOND};
use crate::dumpstack::Site;
use crate::gfp::*;
use crate::machine::{Machine, PAGE_POISON};
use crate::page::{format_page_flags, Page, PAGE_FLAGS_CHECK_AT_FREE, PG_HEAD, PG_RESERVED};
use crate::report::{hex_dump_lines, Ratelimit, ReportKind, Silence, Taint};
use crate::{MAX_PAGE_ORDER, PAGE_SHIFT, PAGE_SIZE};

/// Where free_pages_prepare()'s VM_BUG_ON_PAGE(compound && compound_order(page) != order)
/// is (mm/page_alloc.c, 6.6; the line is the model's, unverified).
const FREE_PAGES_PREPARE_COMPOUND_BUG: &str = "mm/page_alloc.c:1086";

/// WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER, gfp) in __alloc_pages() (line and offsets kept
/// from the earlier texts; no 6.6 log on record).
const ALLOC_PAGES_ORDER: Site = Site {
    file: "mm/page_alloc.c",
    line: 4426,
    func: "__alloc_pages",
    off: 0x2ad,
    size: 0x310,
};

/// bad_page()'s own rate limit: a burst of 60 reports, then none until a minute after the
/// burst began (on the model's clock, 60 statements).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BadPageRatelimit {
    resume: u64,
    nr_shown: u64,
    nr_unshown: u64,
}

impl Machine {
    /// dump_page(): the lines describing one struct page; `dropped` when the caller's
    /// reference was already put (bad_page() on the free path runs after
    /// put_page_testzero() took the refcount to 0, and shows it so).
    pub(crate) fn dump_page(&self, pfn: u64, reason: &str, dropped: bool) -> String {
        if !self.log.texts() {
            return String::new();
        }
        let p = self.pages.get(pfn);
        let zone = self.layout.zone_of_pfn(pfn).map_or(0, |z| {
            self.zones().iter().position(|x| x.kind() == z).unwrap_or(0)
        });
        let w = self.ptr_width();
        // A page of a compound block is shown with its folio: the head's refcount and flags,
        // and the folio's line (its mapcounts and pincount are 0 here).
        let folio = self
            .allocated_block(pfn)
            .filter(|&(h, _)| self.pages.get(h).flags & PG_HEAD != 0);
        let (refcount, flags_of, head) = match folio {
            Some((h, order)) => {
                let hp = self.pages.get(h);
                let line = format!(
                    "head:{:0w$x} order:{order} entire_mapcount:0 nr_pages_mapped:0 pincount:0\n",
                    self.layout.page_ptr(h)
                );
                (hp.refcount, hp.flags, line)
            }
            None => (p.refcount, p.flags, String::new()),
        };
        let flags = format_page_flags(flags_of);
        let sep = if flags.is_empty() { "" } else { "|" };
        format!(
            "page:{:0w$x} refcount:{} mapcount:{} mapping:{:0w$x} index:0x0 pfn:{:#x}\n\
             {head}flags: {:#x}({flags}{sep}zone={zone})\n\
             page dumped because: {reason}",
            self.layout.page_ptr(pfn),
            if dropped {
                refcount.saturating_sub(1)
            } else {
                refcount
            },
            p.mapcount + 1,
            0,
            pfn,
            flags_of,
        )
    }

    /// VM_BUG_ON_PAGE()/VM_BUG_ON_FOLIO() on a zero refcount (include/linux/mm.h), reported
    /// as `kind`: the page dumped with `reason`, then the BUG's oops (the task dies); `what`
    /// is kmemfuzz's line under it.
    pub(crate) fn vm_bug_on_page(&mut self, kind: ReportKind, pfn: u64, reason: &str, what: &str) {
        self.vm_bug_on_page_at(kind, pfn, "include/linux/mm.h:1129", reason, what)
    }

    /// VM_BUG_ON_PAGE() at `at`. The page is dumped only when texts are kept.
    fn vm_bug_on_page_at(
        &mut self,
        kind: ReportKind,
        pfn: u64,
        at: &str,
        reason: &str,
        what: &str,
    ) {
        let dump = self.log.texts().then(|| self.dump_page(pfn, reason, false));
        let bug = self.bug_text(at, what);
        let text = match dump {
            Some(dump) => format!("{dump}\n{bug}"),
            None => bug,
        };
        self.log.report_tainting(kind, text, Taint::Die);
    }

    pub(crate) fn ptr_width(&self) -> usize {
        match self.layout.arch {
            crate::Arch::I386 => 8,
            crate::Arch::X86_64 => 16,
        }
    }

    /// bad_page() on the free path: "BUG: Bad page state", the page dumped (its refcount
    /// already dropped), print_modules() and dump_stack(), then add_taint(TAINT_BAD_PAGE,
    /// LOCKDEP_NOW_UNRELIABLE). At most 60 reports, then none until a minute after the first
    /// of them (60 statements), the next one saying how many were held back; the taint is
    /// added either way.
    pub(crate) fn bad_page(&mut self, kind: ReportKind, pfn: u64, reason: &str) {
        let now = self.log.jiffies();
        let rs = &mut self.bad_page_rs;
        let mut text = String::new();
        if rs.nr_shown == 60 {
            if now < rs.resume {
                rs.nr_unshown += 1;
                self.log.silence(
                    kind,
                    "bad_page",
                    Silence::Ratelimit {
                        interval: 60 * SECOND,
                        burst: 60,
                    },
                );
                self.log.add_taint(Taint::BadPage, &mut String::new());
                return;
            }
            if rs.nr_unshown != 0 {
                text = format!(
                    "BUG: Bad page state: {} messages suppressed\n",
                    rs.nr_unshown
                );
                rs.nr_unshown = 0;
            }
            rs.nr_shown = 0;
        }
        if rs.nr_shown == 0 {
            rs.resume = now + 60 * SECOND;
        }
        rs.nr_shown += 1;
        if self.log.texts() {
            text.push_str(&format!(
                "BUG: Bad page state in process {}  pfn:{:05x}\n{}\nModules linked in:\n{}",
                crate::context::TASK_COMM,
                pfn,
                self.dump_page(pfn, reason, true),
                self.dump_stack()
            ));
        }
        self.log.report_tainting(kind, text, Taint::BadPage);
    }

    /// A free the model refuses where Linux has no check (kmemfuzz's own words, no taint).
    fn refuse_free(&mut self, pfn: u64, why: &str) {
        self.log.report(
            ReportKind::InvalidFree,
            format!("kmemfuzz: freeing pfn {pfn:#x}: {why}; Linux frees without a check, the model refuses the free"),
        );
    }

    /// The allocated block `pfn` lies in, as (head pfn, order), from page_owner's records.
    pub fn allocated_block(&self, pfn: u64) -> Option<(u64, u32)> {
        (0..=MAX_PAGE_ORDER).find_map(|o| {
            let head = pfn & !((1u64 << o) - 1);
            (self.pages.get(head).owner_order == Some(o as u8)).then_some((head, o))
        })
    }

    /// The allocation itself, under [`Machine::alloc_pages_warn`]: no might_sleep(), no
    /// failure warning.
    pub(crate) fn alloc_pages_nocheck(&mut self, gfp: Gfp, order: u32) -> Option<u64> {
        if order > MAX_PAGE_ORDER {
            return None;
        }
        let pfn = self.alloc.alloc(gfp, order)?;
        if let Some(ev) = self.page_events.as_mut() {
            ev.push(crate::machine::PageEvent::Alloc { pfn, order });
        }
        self.post_alloc_hook(pfn, order, gfp);
        Some(pfn)
    }

    /// post_alloc_hook(): the page state of a new block (set_page_refcounted() comes first),
    /// then the poison check (kernel_unpoison_pages(), page by page), then zeroing.
    fn post_alloc_hook(&mut self, pfn: u64, order: u32, gfp: Gfp) {
        let n = 1u64 << order;
        // prep_compound_page() for __GFP_COMP: the head is PG_head (its tails are known by
        // the head's recorded order).
        let head = if gfp & __GFP_COMP != 0 && order > 0 {
            PG_HEAD
        } else {
            0
        };
        *self.pages.get_mut(pfn) = Page {
            refcount: 1,
            owner_order: Some(order as u8),
            flags: head,
            ..Page::FREE
        };
        if self.cfg.page_poison {
            let mut from = pfn;
            while let Some((p, off)) = self.mem.find_not_in_frames(from, pfn + n, PAGE_POISON) {
                self.check_poison_mem(p, off);
                from = p + 1;
            }
        }
        if gfp & __GFP_ZERO != 0 {
            for p in pfn..pfn + n {
                self.mem.fill_page(p, 0);
            }
        }
    }

    /// Where unpoison_page()'s kmap_local_page() maps a page for the check: a lowmem page at
    /// its direct-map address, a highmem page in the next kmap_local slot. (With every slot
    /// in use Linux would BUG() in kmap_local_idx_push(); the model names the slot past the
    /// last and goes on.)
    fn poison_check_address(&self, pfn: u64) -> u64 {
        if self.layout.is_highmem_pfn(pfn) {
            self.layout
                .kmap_slot_addr(self.kmap_local_stack().len() as u64)
        } else {
            self.layout.page_offset + (pfn << PAGE_SHIFT)
        }
    }

    /// check_poison_mem() (mm/page_poison.c) for a page whose byte `first` is not
    /// PAGE_POISON: "pagealloc: single bit error" when that byte is the only bad one and
    /// differs from 0xaa in one bit, "pagealloc: memory corruption" otherwise; then the bad
    /// range, from the first bad byte to the last, as print_hex_dump(KERN_ERR, "",
    /// DUMP_PREFIX_ADDRESS, 16, 1, start, end - start + 1, 1) prints it; then dump_stack()
    /// and dump_page(page, "pagealloc: corrupted page details"). The memory is not repaired
    /// and nothing is tainted. At most 10 reports in 5 seconds (statements); the next window
    /// begins with "check_poison_mem: N callbacks suppressed".
    fn check_poison_mem(&mut self, pfn: u64, first: usize) {
        // static DEFINE_RATELIMIT_STATE(ratelimit, 5 * HZ, 10).
        let mut text = match self.log.ratelimit("check_poison_mem", 5 * SECOND, 10) {
            Ratelimit::Suppress => {
                self.log.silence(
                    ReportKind::PagePoisonOverwritten,
                    "check_poison_mem",
                    Silence::Ratelimit {
                        interval: 5 * SECOND,
                        burst: 10,
                    },
                );
                return;
            }
            Ratelimit::Print { missed: 0 } => String::new(),
            Ratelimit::Print { missed } => {
                format!("check_poison_mem: {missed} callbacks suppressed\n")
            }
        };
        if !self.log.texts() {
            self.log
                .report(ReportKind::PagePoisonOverwritten, String::new());
            return;
        }
        let mut buf = vec![0u8; PAGE_SIZE as usize];
        self.phys_read(pfn << PAGE_SHIFT, &mut buf);
        let start = first.min(buf.len() - 1);
        let end = buf
            .iter()
            .rposition(|&b| b != PAGE_POISON)
            .map_or(start, |e| e.max(start));
        let error = buf[start] ^ PAGE_POISON;
        text.push_str(if start == end && error.count_ones() == 1 {
            "pagealloc: single bit error"
        } else {
            "pagealloc: memory corruption"
        });
        let addr = self.poison_check_address(pfn) + start as u64;
        for line in hex_dump_lines("", addr, self.ptr_width(), &buf[start..=end]) {
            text.push('\n');
            text.push_str(&line);
        }
        text.push('\n');
        text.push_str(&self.dump_stack());
        text.push('\n');
        text.push_str(&self.dump_page(pfn, "pagealloc: corrupted page details", false));
        self.log.report(ReportKind::PagePoisonOverwritten, text);
    }

    /// warn_alloc() for a failed allocation: a warning, not a misuse report.
    pub(crate) fn warn_alloc(&mut self, gfp: Gfp, order: u32) {
        let msg = if self.log.texts() {
            format!("page allocation failure: order:{order}")
        } else {
            String::new()
        };
        self.warn_alloc_msg(gfp, &msg);
    }

    /// warn_alloc(gfp, NULL, msg): "comm: msg, mode:...(...), nodemask=(null)" and
    /// dump_stack() (the model's kernel has no cpusets; warn_alloc_show_mem()'s Mem-Info is
    /// not printed). Silent with __GFP_NOWARN, and past its rate limit: one in 10 seconds
    /// (statements), the next one preceded by "warn_alloc: N callbacks suppressed".
    pub(crate) fn warn_alloc_msg(&mut self, gfp: Gfp, msg: &str) {
        if gfp & __GFP_NOWARN != 0 {
            return;
        }
        let missed = match self.log.ratelimit("warn_alloc", 10 * SECOND, 1) {
            Ratelimit::Suppress => return,
            Ratelimit::Print { missed } => missed,
        };
        let mut text = String::new();
        if self.log.texts() {
            if missed != 0 {
                text = format!("warn_alloc: {missed} callbacks suppressed\n");
            }
            text.push_str(&format!(
                "{}: {msg}, mode:{:#x}({}), nodemask=(null)\n{}",
                crate::context::TASK_COMM,
                gfp,
                format_gfp(gfp),
                self.dump_stack()
            ));
        }
        self.log.warn_alloc(text);
    }

    /// alloc_pages(): a `struct page *` (0 for NULL).
    pub fn alloc_pages(&mut self, gfp: Gfp, order: u32) -> u64 {
        match self.alloc_pages_pfn(gfp, order) {
            Some(pfn) => self.layout.page_ptr(pfn),
            None => 0,
        }
    }

    /// alloc_pages() returning the pfn.
    pub fn alloc_pages_pfn(&mut self, gfp: Gfp, order: u32) -> Option<u64> {
        if gfpflags_allow_blocking(gfp) {
            self.might_sleep(MIGHT_ALLOC);
        }
        self.alloc_pages_warn(gfp, order)
    }

    /// alloc_pages() after its might_alloc(): an order above MAX_PAGE_ORDER warns once and
    /// fails, a failure goes through warn_alloc(). For layers that make the might_sleep()
    /// check themselves, or on a caller's behalf that made it (mempool's pool->alloc()).
    pub(crate) fn alloc_pages_warn(&mut self, gfp: Gfp, order: u32) -> Option<u64> {
        if order > MAX_PAGE_ORDER {
            // WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER, gfp) in __alloc_pages().
            if gfp & __GFP_NOWARN == 0 {
                self.warn_warning(&ALLOC_PAGES_ORDER, true, "", "");
            }
            return None;
        }
        let pfn = self.alloc_pages_nocheck(gfp, order);
        if pfn.is_none() {
            self.warn_alloc(gfp, order);
        }
        pfn
    }

    /// __get_free_pages(): the lowmem address of new pages (never highmem), 0 for NULL.
    pub fn __get_free_pages(&mut self, gfp: Gfp, order: u32) -> u64 {
        match self.alloc_pages_pfn(gfp & !__GFP_HIGHMEM, order) {
            Some(pfn) => self.layout.page_offset + (pfn << PAGE_SHIFT),
            None => 0,
        }
    }

    pub fn __get_free_page(&mut self, gfp: Gfp) -> u64 {
        self.__get_free_pages(gfp, 0)
    }

    pub fn get_zeroed_page(&mut self, gfp: Gfp) -> u64 {
        self.__get_free_pages(gfp | __GFP_ZERO, 0)
    }

    /// Validates a block being freed: page state, then page_owner's order. Returns whether
    /// the free may go ahead; reports and refuses otherwise, leaving the pages untouched.
    fn free_pages_check(&mut self, pfn: u64, order: u32) -> bool {
        let p = self.pages.get(pfn);
        if self.alloc.is_free(pfn)
            || (p.refcount == 0 && p.owner_order.is_none() && self.allocated_block(pfn).is_none())
        {
            // put_page_testzero() on a page whose _refcount is already 0.
            self.vm_bug_on_page(
                ReportKind::DoubleFree,
                pfn,
                "VM_BUG_ON_PAGE(page_ref_count(page) == 0)",
                "",
            );
            return false;
        }
        if let Some(o) = p
            .owner_order
            .filter(|&o| p.flags & PG_HEAD != 0 && o as u32 != order)
        {
            // free_pages_prepare(): VM_BUG_ON_PAGE(compound && compound_order(page) != order)
            // (CONFIG_DEBUG_VM, as the model's other VM_BUG_ONs), before the flags are checked.
            self.vm_bug_on_page_at(
                ReportKind::InvalidFree,
                pfn,
                FREE_PAGES_PREPARE_COMPOUND_BUG,
                "VM_BUG_ON_PAGE(compound && compound_order(page) != order)",
                &format!("__free_pages() of an order-{o} compound page with order {order}"),
            );
            return false;
        }
        if p.flags & PAGE_FLAGS_CHECK_AT_FREE != 0 {
            let kind = if p.flags & PG_RESERVED != 0 {
                ReportKind::BadPageState
            } else {
                ReportKind::InvalidFree
            };
            self.bad_page(kind, pfn, "PAGE_FLAGS_CHECK_AT_FREE flag(s) set");
            return false;
        }
        match p.owner_order {
            Some(o) if o as u32 == order => true,
            Some(o) => {
                self.refuse_free(
                    pfn,
                    &format!("order {order}, but page_owner recorded order {o}"),
                );
                false
            }
            None => {
                // A tail page of an allocated block: its _refcount is 0, and
                // put_page_testzero() stops there (CONFIG_DEBUG_VM).
                let head = self.allocated_block(pfn).map_or(pfn, |(h, _)| h);
                self.vm_bug_on_page(
                    ReportKind::InvalidFree,
                    pfn,
                    "VM_BUG_ON_PAGE(page_ref_count(page) == 0)",
                    &format!("__free_pages() of a tail page of the block at pfn {head:#x}"),
                );
                false
            }
        }
    }

    /// Returns a checked block to the buddy: free_pages_prepare() then __free_one_page().
    pub(crate) fn free_pages_nocheck(&mut self, pfn: u64, order: u32) {
        let n = 1u64 << order;
        for p in pfn..pfn + n {
            self.pages.set_free(p);
            if self.cfg.page_poison {
                self.mem.fill_page(p, PAGE_POISON);
            }
        }
        if let Some(ev) = self.page_events.as_mut() {
            ev.push(crate::machine::PageEvent::Free { pfn, order });
        }
        self.alloc.free(pfn, order);
    }

    /// Frees a block by pfn with every check: the path of __free_pages().
    pub fn free_pages_pfn(&mut self, pfn: u64, order: u32) {
        if pfn >= self.layout.max_pfn {
            let max = self.layout.max_pfn;
            self.refuse_free(pfn, &format!("beyond max_pfn {max:#x}"));
            return;
        }
        if order > MAX_PAGE_ORDER || pfn & ((1 << order) - 1) != 0 {
            self.refuse_free(pfn, &format!("order {order} does not fit the page"));
            return;
        }
        if self.free_pages_check(pfn, order) {
            self.free_pages_nocheck(pfn, order);
        }
    }

    /// __free_pages(page, order).
    pub fn __free_pages(&mut self, page: u64, order: u32) {
        match self.layout.pfn_of_page_ptr(page) {
            Some(pfn) => self.free_pages_pfn(pfn, order),
            None => {
                // PageHead(page) reads page->flags first: a read fault at the pointer.
                let oops = self.page_fault_oops(page, false);
                self.log.report_tainting(
                    ReportKind::InvalidFree,
                    format!(
                        "{oops}\nkmemfuzz: __free_pages() of {page:#x}, which is no struct page in mem_map"
                    ),
                    Taint::Die,
                );
            }
        }
    }

    /// free_pages(addr, order): `addr` must be the lowmem address returned by
    /// __get_free_pages() with the same order; 0 is ignored.
    pub fn free_pages(&mut self, addr: u64, order: u32) {
        if addr == 0 {
            return;
        }
        if !self.virt_addr_valid(addr) || addr & (PAGE_SIZE - 1) != 0 {
            // VM_BUG_ON(!virt_addr_valid((void *)addr)); an unaligned address would free the
            // page it lies in, which the model reports as the misuse it is.
            let w = self.ptr_width() + 2;
            let text = self.bug_text(
                "mm/page_alloc.c:4637",
                &format!(
                    "free_pages({addr:#0w$x}, {order}): not the start of a page in the direct map"
                ),
            );
            self.log
                .report_tainting(ReportKind::InvalidFree, text, Taint::Die);
            return;
        }
        // virt_to_page(): past the direct map (i386's gap after high_memory, the pkmap area)
        // __pa() BUGs under DEBUG_VIRTUAL; without it the page at addr - PAGE_OFFSET, a
        // highmem page, is the one freed.
        if !self.layout.is_direct_map(addr) && self.cfg.debug_virtual {
            self.virt_to_page(addr);
            return;
        }
        self.free_pages_pfn((addr - self.layout.page_offset) >> PAGE_SHIFT, order);
    }

    pub fn free_page(&mut self, addr: u64) {
        self.free_pages(addr, 0)
    }
}
