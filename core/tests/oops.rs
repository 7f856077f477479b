//! The kernel texts of oopses, WARNs and dump_stack() as Linux 6.6 prints them: the
//! page-table walk of a page fault, the CPU / Hardware name / Call Trace lines, and the
//! model's own lines marked as its own.

use kmem::gfp::*;
use kmem::{BootConfig, Machine, ReportKind, PAGE_SIZE};

fn boot(words: &[&str]) -> Machine {
    Machine::boot(&BootConfig::parse_words(words.iter().copied()).unwrap()).unwrap()
}

/// The page-table walk line of the one page-fault report the last access raised.
fn walk(m: &mut Machine) -> String {
    let r = m.take_reports();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, ReportKind::PageFault);
    r[0].text
        .lines()
        .nth(3)
        .expect("the walk is the fourth line")
        .to_string()
}

#[test]
fn a_user_address_walks_to_an_empty_page_directory_entry() {
    let mut m = boot(&["mem=128M"]);
    assert!(m.read(0x10, 1).is_none());
    assert_eq!(walk(&mut m), "*pde = 00000000 ");
    let mut m = boot(&["mem=128M", "pae=1"]);
    assert!(m.read(0x10, 1).is_none());
    let w = walk(&mut m);
    assert!(
        w.starts_with("*pdpt = 00000000004f") && w.ends_with("001 *pde = 0000000000000000 "),
        "{w}"
    );
    let mut m = boot(&["arch=x86_64", "mem=1G"]);
    assert!(m.read(0x10, 1).is_none());
    assert_eq!(walk(&mut m), "PGD 0 P4D 0 ");
}

#[test]
fn a_vmalloc_guard_page_has_its_upper_levels_present() {
    for (words, want) in [
        (&["mem=128M"][..], "*pde = 004ff067 *pte = 00000000 "),
        (
            &["mem=128M", "pae=1"][..],
            "*pdpt = 00000000004fe001 *pde = 00000000004ff067 *pte = 0000000000000000 ",
        ),
        (
            &["arch=x86_64", "mem=1G"][..],
            "PGD 4ff067 P4D 4ff067 PUD 4fe067 PMD 4fd067 PTE 0",
        ),
    ] {
        let mut m = boot(words);
        let v = m.vmalloc(PAGE_SIZE);
        assert!(!m.write(v + PAGE_SIZE, 1, 1));
        assert_eq!(walk(&mut m), want, "{words:?}");
        // After vfree() the tables stay and the PTE is cleared.
        m.vfree(v);
        assert!(m.read(v, 1).is_none());
        assert_eq!(walk(&mut m), want, "{words:?}");
    }
}

#[test]
fn a_debug_pagealloc_page_keeps_its_frame_without_present_rw_and_global() {
    let mut m = boot(&["mem=128M", "debug_pagealloc=on"]);
    let p = m.__get_free_page(GFP_KERNEL);
    let pfn = (p - 0xc000_0000) >> 12;
    m.free_page(p);
    assert!(m.read(p, 1).is_none());
    let w = walk(&mut m);
    assert!(w.starts_with("*pde = ") && w.contains("067 *pte = "), "{w}");
    assert!(
        w.ends_with(&format!("*pte = {:08x} ", (pfn << 12) | 0x060)),
        "{w}"
    );
    let mut m = boot(&["arch=x86_64", "mem=1G", "debug_pagealloc=on"]);
    let p = m.__get_free_page(GFP_KERNEL);
    let pfn = (p - 0xffff_8880_0000_0000) >> 12;
    m.free_page(p);
    assert!(m.read(p, 1).is_none());
    let w = walk(&mut m);
    assert!(
        w.ends_with(&format!("PTE {:x}", (1u64 << 63) | (pfn << 12) | 0x060)),
        "{w}"
    );
}

#[test]
fn the_hole_above_high_memory_has_no_page_table() {
    // 6.6 with 128M: lowmem ends on a 4 MiB boundary, so the hole's directory entry is empty;
    // a pkmap address has the page table boot set up.
    let mut m = boot(&["mem=128M"]);
    assert!(m.read(0xc800_0000, 1).is_none());
    assert_eq!(walk(&mut m), "*pde = 00000000 ");
    let base = m.layout().pkmap_base;
    assert!(m.read(base + 5 * PAGE_SIZE, 1).is_none());
    let w = walk(&mut m);
    assert!(w.contains("067 *pte = 00000000 "), "{w}");
}

#[test]
fn a_warn_prints_the_warning_line_modules_stack_and_end_marker_once_per_site() {
    let mut m = boot(&["mem=1G"]);
    let h = m.alloc_pages(GFP_HIGHUSER, 0);
    m.set_caller(7);
    let a = m.kmap_local_page(h);
    let _b = m.kmap_local_page(h);
    m.kunmap_local(a);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::KmapMisuse);
    assert_eq!(
        r[0].text,
        "------------[ cut here ]------------\n\
         WARNING: CPU: 0 PID: 1 at mm/highmem.c:611 kunmap_local_indexed+0xd4/0xfc\n\
         Modules linked in:\n\
         CPU: 0 PID: 1 Comm: init Not tainted 6.6.0 #1\n\
         Hardware name: kmemfuzz model machine, BIOS none\n\
         Call Trace:\n \
         op_7+0x0/0x1\n\
         ---[ end trace 0000000000000000 ]---\n\
         kmemfuzz: kunmap_local(0xfffbb000) out of order: the last mapping is 0xfffba000"
    );
    // WARN_ON_ONCE: the same misuse again is raised and not printed.
    let c = m.kmap_local_page(h);
    let _d = m.kmap_local_page(h);
    m.kunmap_local(c);
    assert!(m.take_reports().is_empty());
    let q = m.take_silenced();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].kind, q[0].site.as_str(), q[0].why),
        (
            ReportKind::KmapMisuse,
            "mm/highmem.c:611",
            kmem::Silence::Once
        )
    );
}

#[test]
fn an_oops_ends_with_cr2_and_the_end_marker_and_x86_64_brackets_the_task_stack() {
    let mut m = boot(&["arch=x86_64", "mem=1G"]);
    m.set_caller(2);
    assert!(m.read(0x10, 1).is_none());
    let t = m.take_reports().remove(0).text;
    assert!(
        t.ends_with(
            "Oops: 0000 [#1] PREEMPT SMP\n\
             CPU: 0 PID: 1 Comm: init Not tainted 6.6.0 #1\n\
             Hardware name: kmemfuzz model machine, BIOS none\n\
             Call Trace:\n <TASK>\n op_2+0x0/0x1\n </TASK>\n\
             Modules linked in:\n\
             CR2: 0000000000000010\n\
             ---[ end trace 0000000000000000 ]---"
        ),
        "{t}"
    );
}

#[test]
fn the_sleeping_function_report_has_the_cpu_lines_and_where_preemption_was_disabled() {
    let mut m = boot(&["mem=128M"]);
    m.set_caller(3);
    m.spin_lock();
    m.set_caller(4);
    let p = m.kmalloc(32, GFP_KERNEL);
    let t = m.take_reports().remove(0).text;
    assert!(
        t.ends_with(
            "preempt_count: 1, expected: 0\n\
             RCU nest depth: 0, expected: 0\n\
             Preemption disabled at:\n\
             [<c1000003>] op_3+0x0/0x1\n\
             CPU: 0 PID: 1 Comm: init Not tainted 6.6.0 #1\n\
             Hardware name: kmemfuzz model machine, BIOS none\n\
             Call Trace:\n op_4+0x0/0x1"
        ),
        "{t}"
    );
    m.spin_unlock();
    // With interrupts off only, preempt_count is 0: no "Preemption disabled at:".
    m.local_irq_disable();
    m.set_caller(6);
    m.kfree(p);
    let q = m.kmalloc(32, GFP_KERNEL);
    let t = m.take_reports().remove(0).text;
    assert!(t.contains("irqs_disabled(): 1") && !t.contains("Preemption disabled at:"));
    m.local_irq_enable();
    m.kfree(q);
}

#[test]
fn the_models_own_words_are_marked_as_its_own() {
    let mut m = boot(&["mem=128M", "debug_virtual=1"]);
    m.virt_to_phys(0x1000);
    let t = m.take_reports().remove(0).text;
    assert!(t.starts_with(
        "------------[ cut here ]------------\nkernel BUG at arch/x86/mm/physaddr.c:88!\n"
    ));
    assert!(
        t.ends_with("---[ end trace 0000000000000000 ]---\nkmemfuzz: virt_to_phys(0x00001000)"),
        "{t}"
    );
    // A free Linux would not check is reported in kmemfuzz's words and does not taint.
    let a = m.__get_free_pages(GFP_KERNEL, 2);
    m.free_pages(a, 1);
    let t = m.take_reports().remove(0).text;
    assert!(t.starts_with("kmemfuzz: freeing pfn "), "{t}");
    assert!(!m.log().test_taint(kmem::report::Taint::BadPage));
    m.free_pages(a, 2);
}
