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
