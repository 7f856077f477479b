//! Highmem mappings: kmap()/kunmap() through the LAST_PKMAP permanent slots, and
//! kmap_atomic()/kmap_local_page() through the per-CPU stack of KM_MAX_IDX fixmap slots
//! (mm/highmem.c, include/linux/highmem-internal.h).
//!
//! On i386 (CONFIG_HIGHMEM) a highmem page has no kernel address until it is mapped; a
//! lowmem page's address is its direct-map address, and the kmap functions return it without
//! taking a slot. On x86_64 there is no highmem: every kmap function is page_address().
//!
//! Simplifications:
//! - One CPU and one task: the kmap_local stack (task->kmap_ctrl) is the only one.
//! - When every pkmap slot is pinned, Linux sleeps in map_new_virtual() until a kunmap();
//!   nothing else runs in the model, so the sleep would never end: the model reports it as
//!   the hung task it would be (kind kmap-misuse) and kmap() returns NULL.
//! - After a BUG() (a kunmap of a page that is not kmapped, a kmap_local overflow or
//!   underflow) the model reports and leaves its state as it was, rather than killing the task.
//! - pagefault_disable() is counted (see [`Machine::pagefault_disabled`]) but changes
//!   nothing: kernel faults on kernel addresses oops either way.
//! - Line numbers in mm/highmem.c and highmem-internal.h for Linux 6.6 are not confirmed
//!   (docs/kernel-texts.md §12); they are gathered in the constants below.

use rustc_hash::FxHashMap;

use crate::config::Arch;
use crate::context::{SleepSite, TASK_COMM, TASK_PID};
use crate::dumpstack::Site;
use crate::layout::{Layout, KM_MAX_IDX, NR_CPUS};
use crate::machine::Machine;
use crate::mmu::PageTable;
use crate::report::{ReportKind, Taint};
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// might_sleep() in kmap() (include/linux/highmem-internal.h, 6.6; line unverified).
pub const KMAP_SLEEP_SITE: SleepSite = SleepSite {
    file: "include/linux/highmem-internal.h",
    line: 41,
};
/// BUG_ON(!vaddr) in kunmap_high() (line unverified).
const KUNMAP_HIGH_NOT_MAPPED_LINE: u32 = 341;
/// BUG() in kunmap_high() when the count would drop to 0 (line unverified).
const KUNMAP_HIGH_COUNT_LINE: u32 = 352;
/// BUG_ON(idx >= KM_MAX_IDX) in kmap_local_idx_push() (line unverified).
const KMAP_LOCAL_PUSH_LINE: u32 = 507;
/// BUG_ON(idx < 0) in kmap_local_idx_pop() (line unverified).
const KMAP_LOCAL_POP_LINE: u32 = 520;
/// WARN_ON_ONCE(addr != __fix_to_virt(FIX_KMAP_BEGIN + idx)) in kunmap_local_indexed():
/// mm/highmem.c:611 and `kunmap_local_indexed+0xd4/0xfc` as an x86_32 6.7-rc kernel printed it
/// (LKML, the nilfs2 kmap_local conversion, Nov 2023; 6.8-rc5 logs name the same line).
const KUNMAP_LOCAL_ORDER: Site = Site {
    file: "mm/highmem.c",
    line: 611,
    func: "kunmap_local_indexed",
    off: 0xd4,
    size: 0xfc,
};
/// WARN_ON_ONCE(addr < PAGE_OFFSET), six lines above; its ud2 is the one eight bytes after
/// the first in that log's `Code:` line.
const KUNMAP_LOCAL_USER_ADDR: Site = Site {
    file: "mm/highmem.c",
    line: 605,
    func: "kunmap_local_indexed",
    off: 0xdc,
    size: 0xfc,
};

/// One pkmap slot in use or awaiting a flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PkmapSlot {
    /// PKMAP_NR(addr).
    pub nr: u64,
    pub addr: u64,
    /// pkmap_count[nr]: 1 = unmapped but not yet flushed (the PTE is still there),
    /// n > 1 = mapped with n - 1 users.
    pub count: u32,
    /// The page the slot's PTE maps.
    pub pfn: u64,
}

/// One entry of the kmap_local / kmap_atomic stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KmapLocalSlot {
    /// The stack index (0 is the first mapping).
    pub idx: u64,
    /// __fix_to_virt(FIX_KMAP_BEGIN + idx).
    pub addr: u64,
    pub pfn: u64,
    /// Whether kmap_atomic() (rather than kmap_local_page()) made it; Linux does not record
    /// this, so it changes nothing.
    pub atomic: bool,
}

/// map_new_virtual()'s choice of a pkmap slot for a highmem page: the seam beneath kmap().
///
/// The real alternative: on architectures whose data cache aliases (ARCH_PKMAP_COLORING, as
/// xtensa defines it) a page may only be mapped at a slot of its own cache colour, and
/// get_pkmap_color(), get_next_pkmap_nr(color), no_more_pkmaps() and
/// get_pkmap_entries_count() walk the slots of that colour. x86 has one colour: every slot
/// in turn, after the last one taken ([`NextPkmapNr`]).
pub trait PkmapSlots {
    /// A slot whose count is 0 for a new mapping of `pfn`, flushing the unused slots
    /// ([`Pkmap::flush_all_zero_pkmaps`]) where the search wraps around. None when every
    /// slot is pinned (where Linux sleeps until a kunmap()).
    fn choose(&mut self, pfn: u64, pkmap: &mut Pkmap<'_>) -> Option<u64>;
}

/// kmem's (and x86's) slot choice: get_next_pkmap_nr() without colours.
#[derive(Clone, Copy, Debug, Default)]
pub struct NextPkmapNr {
    /// get_next_pkmap_nr()'s static last_pkmap_nr: the slot taken last.
    pub last_pkmap_nr: u64,
}

impl PkmapSlots for NextPkmapNr {
    fn choose(&mut self, _pfn: u64, pkmap: &mut Pkmap<'_>) -> Option<u64> {
        let last = pkmap.len();
        if last == 0 {
            return None;
        }
        let mask = last - 1;
        let mut count = last;
        // The scan ends within two rounds: `count` runs out before the next wrap.
        for _ in 0..2 * last + 2 {
            self.last_pkmap_nr = (self.last_pkmap_nr + 1) & mask;
            let nr = self.last_pkmap_nr;
            if nr == 0 {
                pkmap.flush_all_zero_pkmaps();
                count = last;
            }
            if pkmap.count(nr) == 0 {
                return Some(nr);
            }
            count -= 1;
            if count == 0 {
                break;
            }
        }
        None
    }
}

/// The pkmap slots as a [`PkmapSlots`] implementation sees them while it chooses.
pub struct Pkmap<'a> {
    table: &'a mut PkmapTable,
    page_address: &'a mut FxHashMap<u64, u64>,
    pt: &'a mut PageTable,
    layout: &'a Layout,
}

impl Pkmap<'_> {
    /// LAST_PKMAP.
    pub fn len(&self) -> u64 {
        self.table.len as u64
    }

    pub fn is_empty(&self) -> bool {
        self.table.len == 0
    }

    /// `pkmap_count[nr]` (0 for a slot that does not exist).
    pub fn count(&self, nr: u64) -> u32 {
        self.table.count(nr)
    }

    /// flush_all_zero_pkmaps(): every slot with count 1 is unmapped and freed.
    pub fn flush_all_zero_pkmaps(&mut self) {
        // Slots past those ever used hold count 0: nothing to flush there.
        for nr in 0..self.table.count.len() {
            if self.table.count[nr] != 1 {
                continue;
            }
            self.table.count[nr] = 0;
            let addr = self.layout.pkmap_addr(nr as u64);
            self.pt.unmap(addr);
            if let Some(pfn) = self.table.page[nr].take() {
                // set_page_address(page, NULL), for the page this slot mapped.
                forget_address(self.page_address, pfn, addr);
            }
        }
    }
}

/// set_page_address(page, NULL) for the slot at `addr`: `pfn` loses its address if the
/// slot gave it (one lookup).
fn forget_address(page_address: &mut FxHashMap<u64, u64>, pfn: u64, addr: u64) {
    if let std::collections::hash_map::Entry::Occupied(e) = page_address.entry(pfn) {
        if *e.get() == addr {
            e.remove();
        }
    }
}

/// kmap_local_idx_push() / kmap_local_idx_pop(): which fixmap slot of the task's
/// kmap_local stack a new mapping takes, and which entry an unmap takes down.
///
/// The real alternative: with CONFIG_DEBUG_KMAP_LOCAL the stack index moves by two
/// (KM_INCR), so every second slot stays unmapped as a guard between mappings and
/// KM_MAX_IDX doubles; without it ([`KmapLocalStack`], the model's configuration) the
/// slots are used one after the other.
pub trait KmapLocalIdx {
    /// The slot index for a new mapping on top of `stack`; None when the stack is full
    /// (kmap_local_idx_push()'s BUG).
    fn push(&mut self, stack: &[KmapLocalSlot]) -> Option<u64>;
    /// The entry of `stack` (not empty) an unmap takes down.
    fn pop(&mut self, stack: &[KmapLocalSlot]) -> usize;
}

/// kmem's kmap_local stack: KM_INCR 1, the top entry popped.
#[derive(Clone, Copy, Debug, Default)]
pub struct KmapLocalStack;

impl KmapLocalIdx for KmapLocalStack {
    fn push(&mut self, stack: &[KmapLocalSlot]) -> Option<u64> {
        let idx = stack.len() as u64;
        (idx < KM_MAX_IDX).then_some(idx)
    }

    fn pop(&mut self, stack: &[KmapLocalSlot]) -> usize {
        stack.len().saturating_sub(1)
    }
}

/// How many slots [`PkmapTable`] grows by at least.
const PKMAP_CHUNK: usize = 64;

/// pkmap_count[] (LAST_PKMAP entries, none on x86_64) and the pfn each pkmap PTE maps
/// (mirrors pkmap_page_table). Held only a little past the highest slot ever mapped: the
/// slots past it have count 0 and map nothing, so a boot allocates nothing for them.
#[derive(Clone, Debug, Default)]
struct PkmapTable {
    /// LAST_PKMAP.
    len: usize,
    count: Vec<u32>,
    page: Vec<Option<u64>>,
}

impl PkmapTable {
    fn new(len: usize) -> Self {
        PkmapTable {
            len,
            ..Default::default()
        }
    }

    /// pkmap_count[nr] (0 for a slot that does not exist).
    fn count(&self, nr: u64) -> u32 {
        usize::try_from(nr)
            .ok()
            .and_then(|i| self.count.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The page slot `nr` maps, if any.
    fn page(&self, nr: usize) -> Option<u64> {
        self.page.get(nr).copied().flatten()
    }

    /// pkmap_count[nr] for changing, held from now on; None past LAST_PKMAP.
    fn count_mut(&mut self, nr: usize) -> Option<&mut u32> {
        if nr >= self.len {
            return None;
        }
        if nr >= self.count.len() {
            // Grown a chunk at a time: a walk maps the slots in turn.
            let len = (nr + 1).max(self.count.len() + PKMAP_CHUNK).min(self.len);
            self.count.resize(len, 0);
            self.page.resize(len, None);
        }
        Some(&mut self.count[nr])
    }

    /// Maps slot `nr` (below LAST_PKMAP) to `pfn` with count 1.
    fn set(&mut self, nr: usize, pfn: u64) {
        if let Some(c) = self.count_mut(nr) {
            *c = 1;
            self.page[nr] = Some(pfn);
        }
    }
}

/// The highmem mapping state of a machine.
pub struct Highmem {
    pkmap: PkmapTable,
    /// How a slot is chosen for a new mapping.
    slots: Box<dyn PkmapSlots>,
    /// current->kmap_ctrl: the slots in use, bottom first.
    local: Vec<KmapLocalSlot>,
    /// How the kmap_local stack is indexed.
    local_idx: Box<dyn KmapLocalIdx>,
    /// current->pagefault_disabled.
    pagefault_disabled: u32,
    /// page_address_htable (mm/highmem.c, without WANT_PAGE_VIRTUAL as on x86): the pkmap
    /// address of each highmem page that has one, by pfn. It lives outside struct page, so a
    /// page freed while its slot awaits the flush keeps its address, as in Linux. Only
    /// looked up, never walked, so its order decides nothing.
    page_address: FxHashMap<u64, u64>,
}

impl Highmem {
    pub fn new(
        last_pkmap: u64,
        slots: Box<dyn PkmapSlots>,
        local_idx: Box<dyn KmapLocalIdx>,
    ) -> Highmem {
        let n = last_pkmap.min(1 << 16) as usize;
        Highmem {
            pkmap: PkmapTable::new(n),
            slots,
            local: Vec::new(),
            local_idx,
            pagefault_disabled: 0,
            page_address: FxHashMap::default(),
        }
    }
}

impl Machine {
    // ----- introspection -------------------------------------------------------------

    /// The pkmap slots whose count is not 0, in slot order.
    pub fn pkmap_slots(&self) -> Vec<PkmapSlot> {
        let h = &self.highmem;
        h.pkmap
            .count
            .iter()
            .zip(&h.pkmap.page)
            .enumerate()
            .filter(|(_, (&c, _))| c != 0)
            .map(|(nr, (&count, pfn))| PkmapSlot {
                nr: nr as u64,
                addr: self.layout.pkmap_addr(nr as u64),
                count,
                pfn: pfn.unwrap_or(0),
            })
            .collect()
    }

    /// pkmap_count[nr] (0 for a slot that does not exist).
    pub fn pkmap_count(&self, nr: u64) -> u32 {
        self.highmem.pkmap.count(nr)
    }

    /// The kmap_local / kmap_atomic stack, bottom first.
    pub fn kmap_local_stack(&self) -> &[KmapLocalSlot] {
        &self.highmem.local
    }

    /// current->pagefault_disabled: raised by kmap_atomic(), lowered by kunmap_atomic().
    pub fn pagefault_disabled(&self) -> u32 {
        self.highmem.pagefault_disabled
    }

    /// page_address() of a highmem page: its pkmap address, 0 when it has none.
    pub fn highmem_page_address(&self, pfn: u64) -> u64 {
        self.highmem.page_address.get(&pfn).copied().unwrap_or(0)
    }

    // ----- helpers ------------------------------------------------------------------

    /// The pfn of a `struct page *`; for anything that is no struct page of this machine,
    /// the oops reading page->flags would raise, and None.
    fn kmap_page_pfn(&mut self, page: u64) -> Option<u64> {
        if let Some(pfn) = self.layout.pfn_of_page_ptr(page) {
            return Some(pfn);
        }
        let text = self.page_fault_oops(page, false);
        self.log
            .report_tainting(ReportKind::PageFault, text, Taint::Die);
        None
    }

    fn lowmem_page_address(&self, pfn: u64) -> u64 {
        self.layout.page_offset + (pfn << PAGE_SHIFT)
    }

    fn highmem_bug_text(&mut self, line: u32, what: &str) -> String {
        self.bug_text(&format!("mm/highmem.c:{line}"), what)
    }

    fn pkmap_nr(&self, vaddr: u64) -> Option<usize> {
        if !self.layout.is_pkmap_addr(vaddr) {
            return None;
        }
        usize::try_from((vaddr - self.layout.pkmap_base) >> PAGE_SHIFT).ok()
    }

    // ----- pkmap --------------------------------------------------------------------

    /// The pkmap slots, for a [`PkmapSlots`] implementation.
    fn pkmap(&mut self) -> (&mut Box<dyn PkmapSlots>, Pkmap<'_>) {
        let h = &mut self.highmem;
        (
            &mut h.slots,
            Pkmap {
                table: &mut h.pkmap,
                page_address: &mut h.page_address,
                pt: &mut self.pt,
                layout: &self.layout,
            },
        )
    }

    /// kmap_flush_unused().
    pub fn kmap_flush_unused(&mut self) {
        self.pkmap().1.flush_all_zero_pkmaps();
    }

    /// map_new_virtual(): the slot the seam chooses, mapped. None when every slot is
    /// pinned (where Linux sleeps).
    fn map_new_virtual(&mut self, pfn: u64) -> Option<u64> {
        let (slots, mut pkmap) = self.pkmap();
        let nr = slots.choose(pfn, &mut pkmap)?;
        let i = usize::try_from(nr).ok().filter(|&i| i < pkmap.table.len)?;
        let vaddr = self.layout.pkmap_addr(nr);
        let h = &mut self.highmem;
        // A correct choice is a slot the flush emptied; one still naming a page (handed out
        // again while in use) takes that page's address away, as set_page_address() would.
        if let Some(old) = h.pkmap.page(i) {
            forget_address(&mut h.page_address, old, vaddr);
        }
        self.pt.map(vaddr, pfn);
        h.pkmap.set(i, pfn);
        // No more pages than slots have an address: room for them all at the first, so
        // the table never grows (a rehash each time it would).
        if h.page_address.capacity() == 0 {
            h.page_address.reserve(h.pkmap.len);
        }
        h.page_address.insert(pfn, vaddr);
        Some(vaddr)
    }

    /// kmap_high().
    fn kmap_high(&mut self, pfn: u64) -> u64 {
        let cur = self.highmem_page_address(pfn);
        let vaddr = match self.pkmap_nr(cur) {
            Some(nr) if self.highmem.pkmap.page(nr) == Some(pfn) => cur,
            _ => match self.map_new_virtual(pfn) {
                Some(v) => v,
                None => {
                    let text = format!(
                        "INFO: task {TASK_COMM}:{TASK_PID} blocked for more than 120 seconds.\n      \
                         {} 6.6.0 #1\n\
                         \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n\
                         task:{TASK_COMM:<15} state:D stack:0     pid:{TASK_PID:<5} ppid:0      flags:0x00000000\n\
                         Call Trace:\n __schedule\n schedule\n kmap_high\n\
                         (every one of the {} pkmap slots is kmapped and nothing will kunmap one)",
                        self.log.taint_str(),
                        self.highmem.pkmap.len
                    );
                    // check_hung_task() adds no taint.
                    self.log.report(ReportKind::KmapMisuse, text);
                    return 0;
                }
            },
        };
        if let Some(nr) = self.pkmap_nr(vaddr) {
            if let Some(c) = self.highmem.pkmap.count_mut(nr) {
                *c = c.saturating_add(1);
            }
        }
        vaddr
    }

    /// kmap(): the page's kernel address, mapping a highmem page into a pkmap slot (may
    /// sleep). 0 when nothing could be mapped.
    pub fn kmap(&mut self, page: u64) -> u64 {
        self.might_sleep(KMAP_SLEEP_SITE);
        let Some(pfn) = self.kmap_page_pfn(page) else {
            return 0;
        };
        if !self.layout.is_highmem_pfn(pfn) {
            return self.lowmem_page_address(pfn);
        }
        self.kmap_high(pfn)
    }

    /// kunmap(): drops one kmap() of a highmem page; nothing for a lowmem page.
    pub fn kunmap(&mut self, page: u64) {
        let Some(pfn) = self.kmap_page_pfn(page) else {
            return;
        };
        if !self.layout.is_highmem_pfn(pfn) {
            return;
        }
        // kunmap_high().
        let w = self.ptr_width() + 2;
        let vaddr = self.highmem_page_address(pfn);
        let Some(nr) = self.pkmap_nr(vaddr) else {
            let t = self.highmem_bug_text(
                KUNMAP_HIGH_NOT_MAPPED_LINE,
                &format!("kunmap_high({page:#0w$x}): page is not kmapped"),
            );
            self.log
                .report_tainting(ReportKind::KmapMisuse, t, Taint::Die);
            return;
        };
        // A slot never mapped has count 0, as a slot that exists and was flushed.
        let Some(c) = self.highmem.pkmap.count_mut(nr) else {
            return;
        };
        if *c <= 1 {
            // switch (--pkmap_count[nr]) { case 0: BUG(); ... }
            let t = self.highmem_bug_text(
                KUNMAP_HIGH_COUNT_LINE,
                &format!("kunmap_high({page:#0w$x}): page has no kmap left to drop"),
            );
            self.log
                .report_tainting(ReportKind::KmapMisuse, t, Taint::Die);
            return;
        }
        *c -= 1;
    }

    // ----- kmap_local / kmap_atomic -------------------------------------------------

    /// __kmap_local_page_prot(): lowmem pages by their direct-map address, highmem pages in
    /// the next stack slot.
    fn kmap_local_page_prot(&mut self, page: u64, atomic: bool) -> u64 {
        let Some(pfn) = self.kmap_page_pfn(page) else {
            return 0;
        };
        if !self.layout.is_highmem_pfn(pfn) {
            return self.lowmem_page_address(pfn);
        }
        // __kmap_local_pfn_prot(): kmap_local_idx_push().
        let h = &mut self.highmem;
        let Some(idx) = h.local_idx.push(&h.local) else {
            let w = self.ptr_width() + 2;
            let t = self.highmem_bug_text(
                KMAP_LOCAL_PUSH_LINE,
                &format!(
                    "{}({page:#0w$x}): all {KM_MAX_IDX} kmap_local slots are in use",
                    if atomic {
                        "kmap_atomic"
                    } else {
                        "kmap_local_page"
                    }
                ),
            );
            self.log
                .report_tainting(ReportKind::KmapMisuse, t, Taint::Die);
            return 0;
        };
        let addr = self.layout.kmap_slot_addr(idx);
        self.pt.map(addr, pfn);
        self.highmem.local.push(KmapLocalSlot {
            idx,
            addr,
            pfn,
            atomic,
        });
        addr
    }

    /// kunmap_local_indexed(): pops the top slot (the one `addr` must be). Any address
    /// between FIX_KMAP_END and FIX_KMAP_BEGIN counts as a kmap_local slot, another CPU's
    /// included (the fixmap holds KM_MAX_IDX slots for each of NR_CPUS): it warns unless it
    /// is the top slot, and the top slot goes.
    fn kunmap_local_indexed(&mut self, addr: u64) {
        let a = addr & !(PAGE_SIZE - 1);
        let lo = self.layout.kmap_slot_addr(KM_MAX_IDX * NR_CPUS - 1);
        let hi = self.layout.kmap_slot_addr(0);
        let w = self.ptr_width() + 2;
        if a < lo || a > hi {
            if a < self.layout.page_offset {
                self.warn_report(
                    ReportKind::KmapMisuse,
                    &KUNMAP_LOCAL_USER_ADDR,
                    true,
                    "",
                    &format!("kmemfuzz: kunmap_local({addr:#0w$x}): not a kernel address"),
                );
            }
            return;
        }
        let Some(top) = self.highmem.local.last().copied() else {
            // WARN_ON_ONCE(addr != __fix_to_virt(FIX_KMAP_BEGIN - 1)), then
            // kmap_local_idx_pop()'s BUG_ON(idx < 0).
            let mut t = String::new();
            let mut site = None;
            if self.warn_once(&KUNMAP_LOCAL_ORDER) {
                t = self.warn_text(&KUNMAP_LOCAL_ORDER, "", "");
                // The WARN taints before the BUG prints its CPU line.
                self.log.add_taint(Taint::Warn, &mut t);
                t.push('\n');
                site = Some(KUNMAP_LOCAL_ORDER.at());
            }
            let what = if self.log.texts() {
                format!("kunmap_local({addr:#0w$x}): no kmap_local mapping is active")
            } else {
                String::new()
            };
            t.push_str(&self.highmem_bug_text(KMAP_LOCAL_POP_LINE, &what));
            self.log
                .report_tainting_at(ReportKind::KmapMisuse, t, Taint::Die, site);
            return;
        };
        if a != top.addr {
            self.warn_report(
                ReportKind::KmapMisuse,
                &KUNMAP_LOCAL_ORDER,
                true,
                "",
                &format!(
                    "kmemfuzz: kunmap_local({addr:#0w$x}) out of order: the last mapping is {:#0w$x}",
                    top.addr
                ),
            );
        }
        // kmap_local_idx_pop(): the top slot is torn down whatever address was passed.
        let h = &mut self.highmem;
        let i = h.local_idx.pop(&h.local).min(h.local.len() - 1);
        let gone = h.local.remove(i);
        self.pt.unmap(gone.addr);
    }

    /// kmap_atomic(): disables preemption and page faults, then maps like kmap_local_page().
    pub fn kmap_atomic(&mut self, page: u64) -> u64 {
        self.preempt_disable();
        self.highmem.pagefault_disabled = self.highmem.pagefault_disabled.saturating_add(1);
        if self.layout.arch == Arch::X86_64 {
            return match self.kmap_page_pfn(page) {
                Some(pfn) => self.lowmem_page_address(pfn),
                None => 0,
            };
        }
        self.kmap_local_page_prot(page, true)
    }

    /// kunmap_atomic(): unmaps, then re-enables page faults and preemption.
    pub fn kunmap_atomic(&mut self, addr: u64) {
        if self.layout.arch == Arch::I386 {
            self.kunmap_local_indexed(addr);
        }
        self.highmem.pagefault_disabled = self.highmem.pagefault_disabled.saturating_sub(1);
        self.preempt_enable();
    }

    /// kmap_local_page(): a short-lived mapping in the task's slot stack; preemption stays
    /// enabled.
    pub fn kmap_local_page(&mut self, page: u64) -> u64 {
        if self.layout.arch == Arch::X86_64 {
            return match self.kmap_page_pfn(page) {
                Some(pfn) => self.lowmem_page_address(pfn),
                None => 0,
            };
        }
        self.kmap_local_page_prot(page, false)
    }

    /// kunmap_local().
    pub fn kunmap_local(&mut self, addr: u64) {
        if self.layout.arch == Arch::I386 {
            self.kunmap_local_indexed(addr);
        }
    }

    /// kmap_to_page(): the page behind a kmap() (or direct-map) address.
    pub fn kmap_to_page(&mut self, addr: u64) -> u64 {
        if self.layout.is_pkmap_addr(addr) {
            return match self.pt.lookup(addr) {
                Some(pfn) => self.layout.page_ptr(pfn),
                None => 0,
            };
        }
        self.virt_to_page(addr)
    }
}
