//! kmap / kunmap, kmap_atomic and kmap_local_page end to end on a booted machine.

use kmem::gfp::*;
use kmem::layout::KM_MAX_IDX;
use kmem::{BootConfig, Machine, ReportKind, PAGE_SIZE};

fn boot(words: &[&str]) -> Machine {
    Machine::boot(&BootConfig::parse_words(words.iter().copied()).unwrap()).unwrap()
}

fn kinds(m: &mut Machine) -> Vec<ReportKind> {
    m.take_reports().into_iter().map(|r| r.kind).collect()
}

#[test]
fn kmap_takes_a_pkmap_slot_and_counts_users() {
    let mut m = boot(&["mem=1G"]);
    let page = m.alloc_pages(GFP_HIGHUSER, 0);
    let pfn = m.page_to_pfn(page);
    assert!(m.layout().is_highmem_pfn(pfn));
    assert_eq!(
        m.page_address(page),
        0,
        "a highmem page has no address until kmapped"
    );
    let a = m.kmap(page);
    assert_eq!(
        a,
        m.layout().pkmap_addr(1),
        "get_next_pkmap_nr() starts after 0"
    );
    assert_eq!(m.page_address(page), a);
    assert_eq!(m.translate(a + 5), Some((pfn << 12) + 5));
    assert_eq!(m.kmap(page), a, "a second kmap shares the slot");
    assert_eq!(m.pkmap_count(1), 3);
    let slots = m.pkmap_slots();
    assert_eq!(slots.len(), 1);
    assert_eq!((slots[0].nr, slots[0].count, slots[0].pfn), (1, 3, pfn));
    assert_eq!(m.kmap_to_page(a), page);
    assert!(m.write(a, PAGE_SIZE, 0xab));
    m.kunmap(page);
    m.kunmap(page);
    // Count 1: unused but not flushed; the mapping (and page_address) stays until a flush.
    assert_eq!(m.pkmap_count(1), 1);
    assert_eq!(m.page_address(page), a);
    assert_eq!(m.read(a, 1).unwrap(), [0xab]);
    m.kmap_flush_unused();
    assert_eq!(m.pkmap_count(1), 0);
    assert_eq!(m.page_address(page), 0);
    assert!(m.read(a, 1).is_none());
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
    // Lowmem pages: their direct-map address, no slot.
    let low = m.alloc_pages(GFP_KERNEL, 0);
    let la = m.kmap(low);
    assert_eq!(la, m.page_address(low));
    m.kunmap(low);
    assert!(m.pkmap_slots().is_empty());
    assert!(m.take_reports().is_empty());
}

#[test]
fn kunmap_of_an_unmapped_page_is_a_bug() {
    let mut m = boot(&["mem=1G"]);
    let page = m.alloc_pages(GFP_HIGHUSER, 0);
    m.kunmap(page);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::KmapMisuse);
    assert!(r[0].text.contains("kernel BUG at mm/highmem.c:"));
    assert!(r[0].text.contains("invalid opcode: 0000 [#1] PREEMPT SMP"));
    // One kunmap too many: the count would fall to 0.
    m.kmap(page);
    m.kunmap(page);
    m.kunmap(page);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::KmapMisuse);
    assert!(
        r[0].text.contains(
            "invalid opcode: 0000 [#2] PREEMPT SMP\nCPU: 0 PID: 1 Comm: init Tainted: G      D           "
        ),
        "the second oops of the run, after the first tainted 'D': {}",
        r[0].text
    );
    assert_eq!(m.pkmap_count(1), 1, "state left as it was");
    // A pointer that is no struct page.
    m.kunmap(0);
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::PageFault);
    assert!(r[0]
        .text
        .starts_with("BUG: kernel NULL pointer dereference"));
    assert!(r[0].text.contains("\nOops: 0000 [#3] PREEMPT SMP\n"));
    assert_eq!(m.kmap(0x1234), 0);
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
}

#[test]
fn pkmap_exhaustion_flushes_then_reports_the_hang() {
    let mut m = boot(&["mem=2G"]);
    let last = m.layout().last_pkmap;
    let pages: Vec<u64> = (0..last + 1)
        .map(|_| m.alloc_pages(GFP_HIGHUSER, 0))
        .collect();
    // Map and unmap: the slots go to count 1 and are reused only after the wrap-around flush.
    for &p in &pages[..(last - 1) as usize] {
        assert_ne!(m.kmap(p), 0);
        m.kunmap(p);
    }
    assert_eq!(m.pkmap_slots().len() as u64, last - 1);
    assert!(m.pkmap_slots().iter().all(|s| s.count == 1));
    // Slots 1..last are at count 1: the scan wraps to 0, flushes them all, takes 0.
    let a = m.kmap(pages[(last - 1) as usize]);
    assert_eq!(a, m.layout().pkmap_addr(0));
    let b = m.kmap(pages[last as usize]);
    assert_eq!(b, m.layout().pkmap_addr(1));
    assert_eq!(
        m.pkmap_slots().len(),
        2,
        "the flush freed every count-1 slot"
    );
    assert_eq!(m.page_address(pages[0]), 0);
    // Pin every slot: the next kmap would sleep forever.
    let mut held = vec![pages[(last - 1) as usize], pages[last as usize]];
    for &p in &pages[..(last - 2) as usize] {
        assert_ne!(m.kmap(p), 0);
        held.push(p);
    }
    assert_eq!(m.pkmap_slots().len() as u64, last);
    let extra = m.alloc_pages(GFP_HIGHUSER, 0);
    assert_eq!(m.kmap(extra), 0);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::KmapMisuse);
    assert!(r[0]
        .text
        .starts_with("INFO: task init:1 blocked for more than 120 seconds."));
    // An already mapped page still gets its address.
    assert_ne!(m.kmap(held[5]), 0);
    // One kunmap frees a slot (after the next flush).
    m.kunmap(held[0]);
    assert_ne!(m.kmap(extra), 0);
    assert!(m.take_reports().is_empty());
}

#[test]
fn kmap_atomic_is_a_lifo_stack_of_fixmap_slots() {
    let mut m = boot(&["mem=1G"]);
    let p: Vec<u64> = (0..3).map(|_| m.alloc_pages(GFP_HIGHUSER, 0)).collect();
    let a0 = m.kmap_atomic(p[0]);
    assert_eq!(a0, m.layout().kmap_slot_addr(0));
    assert_eq!(m.context().preempt_count(), 1);
    assert_eq!(m.pagefault_disabled(), 1);
    let a1 = m.kmap_local_page(p[1]);
    assert_eq!(a1, m.layout().kmap_slot_addr(1));
    assert_eq!(
        m.context().preempt_count(),
        1,
        "kmap_local keeps preemption enabled"
    );
    assert_eq!(
        m.page_address(p[0]),
        0,
        "kmap_atomic slots do not set page_address"
    );
    assert_eq!(m.kmap_local_stack().len(), 2);
    assert!(m.kmap_local_stack()[0].atomic && !m.kmap_local_stack()[1].atomic);
    // Aliases: the same bytes through kmap.
    assert!(m.write(a1, 16, 0x3c));
    let k = m.kmap(p[1]);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic], "kmap sleeps");
    assert_eq!(m.read(k, 16).unwrap(), vec![0x3c; 16]);
    m.kunmap(p[1]);
    // Out of order: WARN, and the top slot (a1) is the one torn down.
    m.kunmap_atomic(a0);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::KmapMisuse);
    assert!(r[0]
        .text
        .contains("WARNING: CPU: 0 PID: 1 at mm/highmem.c:"));
    assert!(m.read(a1, 1).is_none());
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
    assert!(m.read(a0, 1).is_some());
    assert_eq!(m.context().preempt_count(), 0);
    m.kunmap_local(a0);
    assert!(m.kmap_local_stack().is_empty());
    // Underflow.
    m.kunmap_local(a0);
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::KmapMisuse);
    assert!(r[0].text.contains("kernel BUG at mm/highmem.c:"));
    // Not a kernel address.
    m.kunmap_local(0x1000);
    assert_eq!(kinds(&mut m), [ReportKind::KmapMisuse]);
    // A lowmem address is silently ignored.
    m.kunmap_local(0xc100_0000);
    assert!(m.take_reports().is_empty());
}

#[test]
fn kmap_local_overflow_is_a_bug() {
    let mut m = boot(&["mem=1G"]);
    let page = m.alloc_pages(GFP_HIGHUSER, 0);
    let mut addrs = Vec::new();
    for i in 0..KM_MAX_IDX {
        let a = m.kmap_local_page(page);
        assert_eq!(a, m.layout().kmap_slot_addr(i));
        addrs.push(a);
    }
    assert_eq!(m.kmap_local_page(page), 0);
    assert_eq!(kinds(&mut m), [ReportKind::KmapMisuse]);
    assert_eq!(m.kmap_atomic(page), 0);
    assert_eq!(kinds(&mut m), [ReportKind::KmapMisuse]);
    assert_eq!(
        m.context().preempt_count(),
        1,
        "kmap_atomic disabled preemption first"
    );
    m.preempt_enable();
    for &a in addrs.iter().rev() {
        m.kunmap_local(a);
    }
    assert!(m.kmap_local_stack().is_empty());
    assert!(m.take_reports().is_empty());
}

#[test]
fn lowmem_pages_take_no_slot_but_kmap_atomic_still_disables_preemption() {
    let mut m = boot(&["mem=1G"]);
    let low = m.alloc_pages(GFP_KERNEL, 0);
    let a = m.kmap_atomic(low);
    assert_eq!(a, m.page_address(low));
    assert!(m.kmap_local_stack().is_empty());
    assert_eq!(m.context().preempt_count(), 1);
    let l = m.kmap_local_page(low);
    assert_eq!(l, a);
    m.kunmap_local(l);
    m.kunmap_atomic(a);
    assert_eq!(m.context().preempt_count(), 0);
    assert!(m.take_reports().is_empty());
}

#[test]
fn sleeping_under_kmap_atomic_is_reported() {
    let mut m = boot(&["mem=1G"]);
    let page = m.alloc_pages(GFP_HIGHUSER, 0);
    let a = m.kmap_atomic(page);
    let p = m.alloc_pages(GFP_KERNEL, 0);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::SleepInAtomic);
    assert!(r[0].text.contains("in_atomic(): 1, irqs_disabled(): 0"));
    m.alloc_pages(GFP_ATOMIC, 0);
    assert!(m.take_reports().is_empty());
    m.kunmap_atomic(a);
    m.__free_pages(p, 0);
    m.kmap(page);
    assert!(m.take_reports().is_empty());
    // kmap_local does not make sleeping illegal.
    let l = m.kmap_local_page(page);
    let v = m.vmalloc(PAGE_SIZE);
    m.vfree(v);
    m.kunmap_local(l);
    assert!(m.take_reports().is_empty());
}

#[test]
fn x86_64_has_no_highmem_slots() {
    let mut m = boot(&["arch=x86_64", "mem=8G"]);
    let page = m.alloc_pages(GFP_HIGHUSER, 0);
    let pa = m.page_address(page);
    assert_ne!(pa, 0);
    assert_eq!(m.kmap(page), pa);
    m.kunmap(page);
    m.kunmap(page);
    assert_eq!(m.kmap_local_page(page), pa);
    m.kunmap_local(0x1234);
    let a = m.kmap_atomic(page);
    assert_eq!(a, pa);
    assert_eq!(m.context().preempt_count(), 1);
    m.kunmap_atomic(a);
    assert_eq!(m.context().preempt_count(), 0);
    assert!(m.pkmap_slots().is_empty());
    assert!(m.kmap_local_stack().is_empty());
    assert!(m.take_reports().is_empty());
}

#[test]
fn small_i386_without_highmem_maps_everything_directly() {
    let mut m = boot(&["mem=128M"]);
    let page = m.alloc_pages(GFP_HIGHUSER, 0);
    let pa = m.page_address(page);
    assert_eq!(m.kmap(page), pa);
    assert_eq!(m.kmap_local_page(page), pa);
    m.kunmap_local(pa);
    m.kunmap(page);
    assert!(m.take_reports().is_empty());
}

/// page_address() of a highmem page lives in page_address_htable, not in struct page: a page
/// freed while its pkmap slot awaits the flush keeps its address, and a kmap after it is
/// allocated again reuses that slot (kmap_high() finds it through page_address()).
#[test]
fn an_unflushed_pkmap_address_survives_free_and_reallocation() {
    let mut m = boot(&["mem=1G"]);
    let page = m.alloc_pages(GFP_HIGHUSER, 0);
    let a = m.kmap(page);
    m.kunmap(page);
    m.__free_pages(page, 0);
    assert_eq!(m.page_address(page), a, "the slot is not flushed yet");
    let again = m.alloc_pages(GFP_HIGHUSER, 0);
    assert_eq!(again, page, "the buddy hands the same page out again");
    assert_eq!(m.kmap(again), a);
    assert_eq!(m.pkmap_count(1), 2);
    assert!(m.take_reports().is_empty());
}

#[test]
fn page_info_presents_virtual_as_page_address_does() {
    let mut m = Machine::boot(&BootConfig::parse_words(["mem=1G"]).unwrap()).unwrap();
    let low = m.alloc_pages_pfn(kmem::gfp::GFP_KERNEL, 0).unwrap();
    assert_eq!(
        m.page_info(low).unwrap().virtual_addr,
        0xc000_0000 + (low << 12)
    );
    let high = m.alloc_pages_pfn(kmem::gfp::GFP_HIGHUSER, 0).unwrap();
    assert_eq!(m.page_info(high).unwrap().virtual_addr, 0, "not kmapped");
    let page = m.layout().page_ptr(high);
    let va = m.kmap(page);
    assert_ne!(va, 0);
    assert_eq!(m.page_info(high).unwrap().virtual_addr, va);
    m.kunmap(page);
}

/// __virt_addr_valid() on i386: PAGE_OFFSET up to FIXADDR_START, outside the vmalloc area,
/// where `addr - PAGE_OFFSET` is a page that exists: the gap after high_memory and a pkmap
/// address pass on a machine with that much memory, not on a small one.
#[test]
fn virt_addr_valid_takes_what_pfn_valid_takes_past_lowmem() {
    let m = boot(&["mem=1G"]);
    let l = m.layout().clone();
    assert!(m.virt_addr_valid(l.page_offset));
    assert!(!m.virt_addr_valid(l.page_offset - PAGE_SIZE));
    assert!(m.virt_addr_valid(l.high_memory));
    assert!(!m.virt_addr_valid(l.vmalloc_start));
    assert!(m.virt_addr_valid(l.pkmap_base));
    assert!(!m.virt_addr_valid(l.fixaddr_start));
    let small = boot(&["mem=16M"]);
    let s = small.layout().clone();
    assert!(!small.virt_addr_valid(s.high_memory));
    assert!(!small.virt_addr_valid(s.pkmap_base));
}
