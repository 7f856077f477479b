//! The lazy freeing of vmap areas: a freed range waits on the purge list until
//! vm_unmap_aliases(), lazy_max_pages() or a search that finds no room purges it.

use kmem::vmalloc::LAZY_MAX_PAGES;
use kmem::{BootConfig, Machine, ReportKind, PAGE_SIZE};

fn boot(words: &[&str]) -> Machine {
    Machine::boot(&BootConfig::parse_words(words.iter().copied()).unwrap()).unwrap()
}

fn kinds(m: &mut Machine) -> Vec<ReportKind> {
    m.take_reports().into_iter().map(|r| r.kind).collect()
}

#[test]
fn freed_areas_wait_on_the_lazy_purge_list() {
    let mut m = boot(&["mem=1G"]);
    let start = m.layout().vmalloc_start;
    // A freed area's range is not reused at once: the next area goes above it, and a stale
    // pointer into it faults.
    let a = m.vmalloc(PAGE_SIZE);
    m.vfree(a);
    assert_eq!(m.vmap_lazy_ranges(), [(a, a + 2 * PAGE_SIZE)]);
    assert_eq!(m.vmap_lazy_nr(), 2);
    let b = m.vmalloc(PAGE_SIZE);
    assert_eq!(b, start + 2 * PAGE_SIZE);
    assert!(!m.write(a, 1, 1));
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
    // vm_unmap_aliases() purges: the range is free again.
    m.vm_unmap_aliases();
    assert!(m.vmap_lazy_ranges().is_empty());
    assert_eq!(m.vmalloc(PAGE_SIZE), a);
    // Past lazy_max_pages() queued, the purge runs by itself.
    let big = m.vmalloc(LAZY_MAX_PAGES * PAGE_SIZE);
    assert_ne!(big, 0);
    m.vfree(big);
    // Its LAZY_MAX_PAGES + 1 pages (the guard's too) purged the list; its page array
    // (8 pages of pointers and a guard page), freed after it, waits.
    assert_eq!(m.vmap_lazy_nr(), 9);
    assert_eq!(m.vmalloc(PAGE_SIZE), big);
    // With no room left, a search purges and tries again before it fails.
    let l = m.layout().clone();
    let mut last = 0;
    loop {
        let v = m.vmalloc(64 * PAGE_SIZE);
        if v == 0 {
            break;
        }
        last = v;
    }
    m.take_warnings();
    m.vfree(last);
    assert_eq!(m.vmap_lazy_nr(), 65);
    assert_eq!(m.vmalloc(64 * PAGE_SIZE), last, "purged, then found");
    assert!(last + 65 * PAGE_SIZE <= l.vmalloc_end);
    assert!(m.take_warnings().is_empty());
}
