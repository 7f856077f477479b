//! The page allocator API end to end on a booted machine.

use kmem::gfp::*;
use kmem::layout::ZoneType;
use kmem::{BootConfig, Machine, ReportKind, PAGE_SIZE};

fn boot(words: &[&str]) -> Machine {
    Machine::boot(&BootConfig::parse_words(words.iter().copied()).unwrap()).unwrap()
}

fn kinds(m: &mut Machine) -> Vec<ReportKind> {
    m.take_reports().into_iter().map(|r| r.kind).collect()
}

#[test]
fn first_pages_are_reserved_and_alloc_free_round_trips() {
    let mut m = boot(&["mem=128M"]);
    let free0 = m.page_allocator().free_pages(1);
    let a = m.__get_free_pages(GFP_KERNEL, 2);
    assert_ne!(a, 0);
    assert_eq!(a % (4 * PAGE_SIZE), 0);
    let pfn = (a - 0xc000_0000) >> 12;
    assert!(pfn >= 1280, "first 1M and the kernel image are reserved");
    assert_eq!(m.layout().zone_of_pfn(pfn), Some(ZoneType::Normal));
    assert_eq!(m.page_allocator().free_pages(1), free0 - 4);
    m.free_pages(a, 2);
    assert_eq!(m.page_allocator().free_pages(1), free0);
    assert!(m.take_reports().is_empty());
}

#[test]
fn zone_choice_follows_the_mask() {
    let mut m = boot(&["mem=1G"]);
    let dma = m.alloc_pages_pfn(GFP_KERNEL | GFP_DMA, 0).unwrap();
    assert!(dma < 4096);
    let high = m.alloc_pages_pfn(GFP_HIGHUSER, 0).unwrap();
    assert!(m.layout().is_highmem_pfn(high));
    let addr = m.__get_free_pages(GFP_HIGHUSER, 0);
    assert!(
        m.layout().is_direct_map(addr),
        "__get_free_pages never returns highmem"
    );
    let page = m.layout().page_ptr(high);
    assert_eq!(
        m.page_address(page),
        0,
        "an unmapped highmem page has no address"
    );
}

#[test]
fn exhaustion_returns_null_with_a_warning_and_atomic_dips_into_reserves() {
    let mut m = boot(&["mem=16M"]);
    let mut n = 0;
    while m.alloc_pages_pfn(GFP_KERNEL, 0).is_some() {
        n += 1;
    }
    let w = m.take_warnings();
    assert!(
        w[0].contains("page allocation failure: order:0, mode:0xcc0(GFP_KERNEL)"),
        "{}",
        w[0]
    );
    assert!(m.take_reports().is_empty());
    let z = &m.zones()[0];
    assert!(m.page_allocator().free_pages(0) >= z.wmark_min);
    assert!(n > 1000);
    assert!(
        m.alloc_pages_pfn(GFP_ATOMIC, 0).is_some(),
        "GFP_ATOMIC may use part of the reserve"
    );
    assert!(m.alloc_pages_pfn(GFP_KERNEL | __GFP_NOWARN, 0).is_none());
    assert!(m.take_warnings().is_empty());
}

#[test]
fn double_free_wrong_order_and_reserved_are_refused() {
    let mut m = boot(&["mem=64M"]);
    let p = m.alloc_pages(GFP_KERNEL, 1);
    m.__free_pages(p, 1);
    let free = m.page_allocator().free_pages(1);
    m.__free_pages(p, 1);
    assert_eq!(kinds(&mut m), vec![ReportKind::DoubleFree]);
    assert_eq!(
        m.page_allocator().free_pages(1),
        free,
        "the second free changed nothing"
    );
    let a = m.__get_free_pages(GFP_KERNEL, 2);
    m.free_pages(a, 1);
    assert_eq!(kinds(&mut m), vec![ReportKind::InvalidFree]);
    m.free_pages(a + 16, 2);
    assert_eq!(kinds(&mut m), vec![ReportKind::InvalidFree]);
    m.free_pages(a + PAGE_SIZE, 0);
    assert_eq!(kinds(&mut m), vec![ReportKind::InvalidFree]);
    m.free_pages(a, 2);
    assert!(m.take_reports().is_empty());
    m.free_page(0xc000_0000 + (2 << 20));
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::BadPageState);
    assert!(
        r[0].text
            .starts_with("BUG: Bad page state in process init  pfn:00200"),
        "{}",
        r[0].text
    );
}

#[test]
fn page_poisoning_catches_writes_to_free_pages() {
    let mut m = boot(&["mem=32M", "page_poison=1"]);
    let a = m.__get_free_page(GFP_KERNEL);
    m.free_page(a);
    assert!(
        m.write(a + 100, 4, 0x41),
        "without debug_pagealloc the page stays mapped"
    );
    let b = m.__get_free_page(GFP_KERNEL);
    assert_eq!(a, b, "lowest free block first");
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::PagePoisonOverwritten);
    // check_poison_mem(): the dump runs from the first bad byte to the last, with the ASCII
    // column, then dump_stack() and dump_page().
    assert_eq!(
        r[0].text,
        "pagealloc: memory corruption\n\
         c1f80064: 41 41 41 41                                      AAAA\n\
         CPU: 0 PID: 1 Comm: init Not tainted 6.6.0 #1\n\
         Hardware name: kmemfuzz model machine, BIOS none\n\
         Call Trace:\n \
         op_0+0x0/0x1\n\
         page:c1fff000 refcount:1 mapcount:0 mapping:00000000 index:0x0 pfn:0x1f80\n\
         flags: 0x0(zone=1)\n\
         page dumped because: pagealloc: corrupted page details"
    );
    assert_eq!(m.log().taints(), 0, "check_poison_mem() does not taint");
}

/// Frees a page, corrupts it with `writes` (offset, byte), allocates it again and returns
/// the one report.
fn poison_report(writes: &[(u64, u8)]) -> String {
    let mut m = boot(&["mem=32M", "page_poison=1"]);
    let a = m.__get_free_page(GFP_KERNEL);
    m.free_page(a);
    for &(off, byte) in writes {
        assert!(m.write(a + off, 1, byte));
    }
    assert_eq!(m.__get_free_page(GFP_KERNEL), a);
    let mut r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::PagePoisonOverwritten);
    r.remove(0).text
}

#[test]
fn page_poisoning_tells_a_single_bit_error_from_corruption() {
    // One byte, one bit off 0xaa.
    let t = poison_report(&[(5, 0xab)]);
    assert!(
        t.starts_with(
            "pagealloc: single bit error\n\
             c1f80005: ab                                               .\n\
             CPU: 0 PID: 1 Comm: init Not tainted 6.6.0 #1\n"
        ),
        "{t}"
    );
    // One byte, two bits off.
    let t = poison_report(&[(5, 0xa9)]);
    assert!(
        t.starts_with("pagealloc: memory corruption\nc1f80005: a9 "),
        "{t}"
    );
    // Two bytes, each one bit off: the range is two bytes long.
    let t = poison_report(&[(5, 0xab), (6, 0x2a)]);
    assert!(
        t.starts_with("pagealloc: memory corruption\nc1f80005: ab 2a "),
        "{t}"
    );
}

#[test]
fn page_poison_dump_runs_from_the_first_bad_byte_to_the_last() {
    let t = poison_report(&[
        (100, 0x41),
        (101, 0x41),
        (102, 0x41),
        (103, 0x41),
        (130, 0x42),
    ]);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "pagealloc: memory corruption",
            "c1f80064: 41 41 41 41 aa aa aa aa aa aa aa aa aa aa aa aa  AAAA............",
            "c1f80074: aa aa aa aa aa aa aa aa aa aa aa aa aa aa 42     ..............B",
        ]
    );
    assert!(lines[3].starts_with("CPU: 0 PID: 1 Comm: init "));
}

#[test]
fn page_poison_check_of_a_highmem_page_dumps_its_kmap_local_address() {
    let mut m = boot(&["mem=1G", "page_poison=1"]);
    let page = m.alloc_pages(GFP_HIGHUSER, 0);
    let addr = m.kmap_local_page(page);
    m.__free_pages(page, 0);
    assert!(m.write(addr + 8, 1, 0), "still mapped: a use after free");
    m.kunmap_local(addr);
    assert!(m.take_reports().is_empty());
    assert_eq!(m.alloc_pages(GFP_HIGHUSER, 0), page);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    // unpoison_page() maps the page with kmap_local_page(): the first free slot, which is
    // the one `addr` was.
    assert!(
        r[0].text.starts_with(&format!(
            "pagealloc: memory corruption\n{:08x}: 00  ",
            addr + 8
        )),
        "{}",
        r[0].text
    );
}

/// The first report taken now, which must contain `needle`.
fn report_containing(m: &mut Machine, needle: &str) -> kmem::Report {
    let mut r = m.take_reports();
    assert!(
        r.first().is_some_and(|r| r.text.contains(needle)),
        "{needle:?} not in {r:#?}"
    );
    r.remove(0)
}

#[test]
fn every_oops_takes_the_next_die_counter() {
    let mut m = boot(&["mem=32M"]);
    assert!(!m.write(0, 4, 1));
    report_containing(
        &mut m,
        "\nOops: 0002 [#1] PREEMPT SMP\nCPU: 0 PID: 1 Comm: init Not tainted",
    );
    // A double free is VM_BUG_ON_PAGE(): BUG() is die("invalid opcode"), the second oops.
    let a = m.__get_free_page(GFP_KERNEL);
    m.free_page(a);
    m.free_page(a);
    let r = report_containing(
        &mut m,
        "kernel BUG at include/linux/mm.h:1129!\ninvalid opcode: 0000 [#2] PREEMPT SMP\n\
         CPU: 0 PID: 1 Comm: init Tainted: G      D           ",
    );
    assert_eq!(r.kind, ReportKind::DoubleFree);
    // Reports that are no oops do not count: bad_page() (a reserved page freed).
    m.free_page(0xc000_0000);
    assert_eq!(kinds(&mut m), [ReportKind::BadPageState]);
    let b = m.__get_free_page(GFP_KERNEL);
    m.free_pages(b + 1, 0);
    report_containing(
        &mut m,
        "kernel BUG at mm/page_alloc.c:4637!\ninvalid opcode: 0000 [#3] PREEMPT SMP\n",
    );
    assert!(m.read(0x10, 4).is_none());
    report_containing(&mut m, "\nOops: 0000 [#4] PREEMPT SMP\n");
    assert_eq!(m.log().die_counter(), 4);
}

#[test]
fn debug_pagealloc_unmaps_freed_pages() {
    let mut m = boot(&["mem=32M", "debug_pagealloc=on"]);
    let a = m.__get_free_page(GFP_KERNEL);
    assert!(m.write(a, 8, 1));
    m.free_page(a);
    assert!(!m.write(a, 8, 1));
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::PageFault);
    assert!(
        r[0].text.starts_with(&format!(
            "BUG: unable to handle page fault for address: {:08x}",
            a
        )),
        "{}",
        r[0].text
    );
    assert!(r[0]
        .text
        .contains("#PF: supervisor write access in kernel mode"));
    // The oops header names debug_pagealloc while it is on.
    assert!(
        r[0].text
            .contains("\nOops: 0002 [#1] PREEMPT SMP DEBUG_PAGEALLOC\n"),
        "{}",
        r[0].text
    );
}

#[test]
fn sleeping_allocation_in_atomic_context_is_reported() {
    let mut m = boot(&[]);
    m.spin_lock();
    assert_ne!(
        m.alloc_pages(GFP_KERNEL, 0),
        0,
        "the allocation still goes ahead"
    );
    assert_ne!(m.alloc_pages(GFP_ATOMIC, 0), 0);
    m.spin_unlock();
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert!(r[0].text.starts_with(
        "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:"
    ));
    m.irq_enter();
    m.alloc_pages(GFP_KERNEL, 0);
    m.irq_exit();
    assert!(m.take_reports()[0]
        .text
        .contains("in_atomic(): 1, irqs_disabled(): 1"));
}

#[test]
fn translations_are_exact_on_the_direct_map() {
    let mut m = boot(&["mem=256M", "debug_virtual=1"]);
    let a = m.__get_free_page(GFP_KERNEL);
    let phys = m.virt_to_phys(a);
    assert_eq!(phys, a - 0xc000_0000);
    assert_eq!(m.phys_to_virt(phys), a);
    let page = m.virt_to_page(a);
    assert_eq!(m.page_to_phys(page), phys);
    assert_eq!(m.page_address(page), a);
    assert!(m.take_reports().is_empty());
    let vm = m.layout().vmalloc_start + 0x1000;
    m.virt_to_phys(vm);
    assert_eq!(kinds(&mut m), vec![ReportKind::BadVirtToPhys]);
    m.virt_to_phys(0x1000);
    assert_eq!(kinds(&mut m), vec![ReportKind::BadVirtToPhys]);
}

#[test]
fn accesses_go_through_the_mmu() {
    let mut m = boot(&[]);
    let a = m.__get_free_pages(GFP_KERNEL, 1);
    assert!(m.write(a + 4090, 10, 0x5c));
    assert_eq!(m.read(a + 4088, 14).unwrap()[2..12], [0x5c; 10]);
    let gap = m.layout().high_memory + 0x100;
    assert!(m.read(gap, 4).is_none());
    assert_eq!(kinds(&mut m), vec![ReportKind::PageFault]);
    assert!(m.read(0x10, 1).is_none());
    assert!(m.take_reports()[0]
        .text
        .starts_with("BUG: kernel NULL pointer dereference, address: 00000010"));
    assert!(m.read(u64::MAX - 2, 8).is_none());
    assert_eq!(kinds(&mut m), vec![ReportKind::PageFault]);
    let z = m.get_zeroed_page(GFP_KERNEL);
    assert_eq!(m.read(z, 4096).unwrap(), vec![0; 4096]);
}

#[test]
fn proc_formats() {
    let m = boot(&["mem=1G"]);
    let bi = m.proc_buddyinfo();
    let lines: Vec<&str> = bi.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("Node 0, zone      DMA "), "{bi}");
    assert!(lines[2].starts_with("Node 0, zone  HighMem "), "{bi}");
    assert!(lines[0].ends_with(' '));
    let mi = m.proc_meminfo();
    assert!(mi.starts_with("MemTotal:        "), "{mi}");
    let total: u64 = mi
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(total < 1 << 20 && total > 1_000_000 - 50_000, "{total}");
    assert!(mi.contains("\nHighTotal:       "));
}

#[test]
fn big_machines_boot_lazily() {
    for words in [&["mem=4G"][..], &["arch=x86_64", "mem=64G"][..]] {
        let mut m = boot(words);
        assert_eq!(m.materialised(), (0, 0));
        let a = m.__get_free_pages(GFP_KERNEL, 10);
        assert_ne!(a, 0);
        assert!(m.write(a, 4 << 20, 7));
        assert_eq!(m.materialised().0, 1024);
    }
}

#[test]
fn page_info_shows_the_buddy_order_of_free_block_heads_only() {
    let m = boot(&["mem=32M"]);
    // DMA after the first 1M and the 4M image: blocks at 1280 (order 8), 1536 (order 9),
    // then 2048 and 3072 (order 10, untouched).
    assert_eq!(m.free_block_order(1280), Some(8));
    assert_eq!(m.free_block_order(1536), Some(9));
    assert_eq!(m.free_block_order(2048), Some(10));
    assert_eq!(m.free_block_order(3072), Some(10));
    assert_eq!(
        m.free_block_order(1281),
        None,
        "inside a free block, not its head"
    );
    assert_eq!(m.free_block_order(1024), None, "reserved");
    assert_eq!(m.page_info(1536).unwrap().private, 9);
    assert_eq!(m.page_info(1537).unwrap().private, 0);
}

#[test]
fn bad_page_taints_b_after_its_stack_and_shows_the_dropped_refcount() {
    let mut m = boot(&[]);
    m.set_caller(3);
    m.free_page(0xc000_0000 + (2 << 20));
    let r = m.take_reports();
    let l: Vec<&str> = r[0].text.lines().collect();
    assert_eq!(l[0], "BUG: Bad page state in process init  pfn:00200");
    // bad_page() runs after put_page_testzero() took the reserved page's refcount to 0.
    assert!(l[1].contains(" refcount:0 mapcount:0 "), "{}", l[1]);
    assert_eq!(
        l[l.len() - 6..],
        [
            "Modules linked in:",
            "CPU: 0 PID: 1 Comm: init Not tainted 6.6.0 #1",
            "Hardware name: kmemfuzz model machine, BIOS none",
            "Call Trace:",
            " op_3+0x0/0x1",
            "Disabling lock debugging due to kernel taint"
        ]
    );
    // Lock debugging is off now: the second report ends with its stack.
    m.free_page(0xc000_0000 + (2 << 20));
    let r = m.take_reports();
    let tainted = kmem::report::print_tainted(kmem::report::Taint::BadPage.mask());
    assert!(r[0].text.contains(&format!(
        "CPU: 0 PID: 1 Comm: init {tainted} 6.6.0 #1\nHardware name: "
    )));
    assert!(r[0].text.ends_with("Call Trace:\n op_3+0x0/0x1"));
}

#[test]
fn bad_page_lets_60_through_in_a_minute_then_says_how_many_it_held_back() {
    let mut m = boot(&[]);
    let reserved = 0xc000_0000 + (2 << 20);
    m.set_caller(1);
    for _ in 0..62 {
        m.free_page(reserved);
    }
    assert_eq!(m.take_reports().len(), 60);
    let q = m.take_silenced();
    assert_eq!(q.len(), 2);
    assert_eq!(q[0].site, "bad_page");
    // 60 statements after the burst began, the next report says what was held back.
    m.set_caller(61);
    m.free_page(reserved);
    let r = m.take_reports();
    assert!(r[0].text.starts_with(
        "BUG: Bad page state: 2 messages suppressed\nBUG: Bad page state in process init"
    ));
    assert!(m.log().test_taint(kmem::report::Taint::BadPage));
}

#[test]
fn page_poisoning_reports_10_pages_in_5_seconds() {
    let mut m = boot(&["mem=32M", "page_poison=1"]);
    m.set_caller(1);
    let a = m.__get_free_pages(GFP_KERNEL, 4);
    m.free_pages(a, 4);
    m.write(a, 16 * PAGE_SIZE, 0x41);
    assert_eq!(m.__get_free_pages(GFP_KERNEL, 4), a);
    assert_eq!(m.take_reports().len(), 10);
    assert_eq!(m.take_silenced().len(), 6);
    m.free_pages(a, 4);
    m.write(a, PAGE_SIZE, 0x42);
    m.set_caller(7);
    assert_eq!(m.__get_free_pages(GFP_KERNEL, 4), a);
    let r = m.take_reports();
    assert!(r[0]
        .text
        .starts_with("check_poison_mem: 6 callbacks suppressed\npagealloc: memory corruption"));
}
