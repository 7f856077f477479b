//! mempool: the reserve, refilling, destroy, poisoning and misuse.

use kmem::gfp::*;
use kmem::mempool::MempoolKind;
use kmem::{BootConfig, Machine, ReportKind};

fn boot(words: &[&str]) -> Machine {
    Machine::boot(&BootConfig::parse_words(words.iter().copied()).unwrap()).unwrap()
}

fn kinds(m: &mut Machine) -> Vec<ReportKind> {
    m.take_reports().into_iter().map(|r| r.kind).collect()
}

/// Takes every free page, reserves included: the allocator behind a pool now fails.
fn exhaust(m: &mut Machine) -> Vec<u64> {
    exhaust_down_to(m, 0)
}

/// Takes every free block of order `min` and above, reserves included.
fn exhaust_down_to(m: &mut Machine, min: u32) -> Vec<u64> {
    let mut held = Vec::new();
    for order in (min..=10).rev() {
        loop {
            let p = m.alloc_pages(GFP_ATOMIC | __GFP_MEMALLOC | __GFP_NOWARN, order);
            if p == 0 {
                break;
            }
            held.push(p);
        }
    }
    held
}

#[test]
fn reserve_serves_when_the_allocator_fails() {
    let mut m = boot(&["mem=16M"]);
    let pool = m.mempool_create_page_pool(4, 0);
    assert_ne!(pool, 0);
    let info = m.mempool_info(pool).unwrap();
    assert_eq!((info.min_nr, info.curr_nr), (4, 4));
    assert_eq!(info.kind, MempoolKind::Page { order: 0 });
    // Elements are struct page pointers.
    let pfn = m.page_to_pfn(info.reserve[0]);
    assert!(m.page_info(pfn).unwrap().refcount == 1);
    let _held = exhaust(&mut m);
    let mut got = Vec::new();
    for _ in 0..4 {
        let e = m.mempool_alloc(pool, GFP_KERNEL);
        assert_ne!(
            e, 0,
            "a sleeping mask never fails while the reserve can serve"
        );
        got.push(e);
    }
    assert_eq!(m.mempool_info(pool).unwrap().curr_nr, 0);
    // Reserve empty, allocator failing: Linux would wait; the model returns NULL.
    assert_eq!(m.mempool_alloc(pool, GFP_KERNEL), 0);
    assert_eq!(m.mempool_alloc(pool, GFP_ATOMIC), 0);
    // Frees refill the reserve first.
    m.mempool_free(got[0], pool);
    assert_eq!(m.mempool_info(pool).unwrap().curr_nr, 1);
    assert_eq!(m.mempool_alloc(pool, GFP_ATOMIC), got[0]);
    for e in got {
        m.mempool_free(e, pool);
    }
    assert_eq!(m.mempool_info(pool).unwrap().curr_nr, 4);
    m.mempool_destroy(pool);
    assert!(m.mempool_info(pool).is_none());
    assert!(m.take_reports().is_empty());
}

#[test]
fn allocator_first_then_free_beyond_min_goes_back() {
    let mut m = boot(&[]);
    let pool = m.mempool_create_kmalloc_pool(2, 100);
    let reserve = m.mempool_info(pool).unwrap().reserve;
    let a = m.mempool_alloc(pool, GFP_KERNEL);
    assert!(
        !reserve.contains(&a),
        "the allocator is tried before the reserve"
    );
    assert_eq!(m.slab_object_info(a).unwrap().cache_name, "kmalloc-128");
    assert_eq!(m.mempool_info(pool).unwrap().curr_nr, 2);
    m.mempool_free(a, pool);
    assert_eq!(m.mempool_info(pool).unwrap().curr_nr, 2);
    assert_eq!(m.slab_object_info(a).unwrap().free, Some(true));
    m.mempool_destroy(pool);
    for e in reserve {
        assert_eq!(m.slab_object_info(e).unwrap().free, Some(true));
    }
    assert!(m.take_reports().is_empty());
}

#[test]
fn slab_pool_and_destroy_misuse() {
    let mut m = boot(&[]);
    let c = m.kmem_cache_create("pool_objs", 200, 0, 0, None);
    let pool = m.mempool_create_slab_pool(3, c);
    let e = m.mempool_alloc(pool, GFP_NOIO);
    assert_eq!(m.slab_object_info(e).unwrap().cache, c);
    m.mempool_destroy(pool);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::MempoolMisuse);
    assert!(r[0]
        .text
        .contains("destroyed with 1 element(s) still allocated"));
    // Using the destroyed pool.
    m.mempool_free(e, pool);
    assert_eq!(kinds(&mut m), [ReportKind::MempoolMisuse]);
    assert_eq!(m.mempool_alloc(pool, GFP_KERNEL), 0);
    assert_eq!(kinds(&mut m), [ReportKind::MempoolMisuse]);
    // The element is still a live object of the cache: destroying it now is a leak report.
    m.kmem_cache_destroy(c);
    assert_eq!(kinds(&mut m), [ReportKind::ObjectsRemaining]);
    // Bad cache handle.
    assert_eq!(m.mempool_create_slab_pool(1, 0x4242), 0);
    assert_eq!(kinds(&mut m), [ReportKind::MempoolMisuse]);
    m.mempool_destroy(0);
    assert!(m.take_reports().is_empty());
}

#[test]
fn foreign_and_double_frees_are_refused() {
    let mut m = boot(&[]);
    let pool = m.mempool_create_kmalloc_pool(1, 64);
    let other = m.kmalloc(64, GFP_KERNEL);
    m.mempool_free(other, pool);
    assert_eq!(kinds(&mut m), [ReportKind::MempoolMisuse]);
    assert_eq!(m.mempool_info(pool).unwrap().curr_nr, 1);
    let e = m.mempool_alloc(pool, GFP_KERNEL);
    m.mempool_free(e, pool);
    m.mempool_free(e, pool);
    assert_eq!(kinds(&mut m), [ReportKind::MempoolMisuse]);
    m.mempool_free(0, pool);
    assert!(m.take_reports().is_empty());
}

#[test]
fn reserved_elements_are_poisoned_and_checked() {
    let mut m = boot(&["mem=16M", "slub_debug=P"]);
    let pool = m.mempool_create_page_pool(2, 0);
    let reserve = m.mempool_info(pool).unwrap().reserve;
    let pa = m.page_to_phys(reserve[1]);
    let va = m.phys_to_virt(pa);
    let b = m.read(va, 4096).unwrap();
    assert!(b[..4095].iter().all(|&x| x == 0x6b) && b[4095] == 0xa5);
    // A write into a reserved element (use after mempool_free).
    m.write(va + 100, 1, 0);
    let _held = exhaust(&mut m);
    let e = m.mempool_alloc(pool, GFP_ATOMIC);
    assert_eq!(e, reserve[1]);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::PoisonOverwritten);
    let l: Vec<&str> = r[0].text.lines().collect();
    assert_eq!(l[0], "BUG: mempool element poison mismatch");
    assert_eq!(l[1], format!("Mempool {pool:08x} size 4096"));
    // check_element() reads a page element through kmap_atomic(): the address shown is
    // the mapping (here the direct map), not the struct page pointer.
    assert_eq!(
        l[2],
        format!(" nr=1 @ {va:08x}: ... 0x6b 6b 6b 6b 0 6b 6b 6b ...")
    );
    // A clean element comes out filled with 0x5a.
    let e2 = m.mempool_alloc(pool, GFP_ATOMIC);
    let pa2 = m.page_to_phys(e2);
    let va2 = m.phys_to_virt(pa2);
    assert!(m.read(va2, 4096).unwrap().iter().all(|&x| x == 0x5a));
    assert!(m.take_reports().is_empty());
}

#[test]
fn creation_in_atomic_context_and_failure() {
    let mut m = boot(&[]);
    m.spin_lock();
    let pool = m.mempool_create_kmalloc_pool(3, 32);
    assert_ne!(pool, 0);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    m.mempool_alloc(pool, GFP_KERNEL);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    m.spin_unlock();
    assert_eq!(m.mempool_create_page_pool(1, 11), 0);
    let mut m = boot(&["mem=16M"]);
    assert_eq!(m.mempool_create_page_pool(1 << 20, 0), 0);
    let free = m.page_allocator().free_pages(0) + m.page_allocator().free_pages(1);
    assert!(free > 0);
}

#[test]
fn a_large_element_that_fails_at_creation_goes_through_warn_alloc() {
    // mempool_create()'s preallocation is pool->alloc(GFP_KERNEL): a kmalloc above
    // KMALLOC_MAX_CACHE_SIZE is alloc_pages() of its order, and its failure is reported by
    // warn_alloc() like any GFP_KERNEL allocation's (mempool_alloc() adds __GFP_NOWARN).
    let mut m = boot(&["mem=16M"]);
    // A pool of small elements first: the kmalloc caches of a pool and of its array hold
    // free objects from then on.
    assert_ne!(m.mempool_create_kmalloc_pool(1, 64), 0);
    // Every block of order 4 and above taken: a 64 KiB kmalloc fails, small ones do not.
    let held = exhaust_down_to(&mut m, 4);
    assert_eq!(m.take_warn_alloc(), 0);
    assert_eq!(m.mempool_create_kmalloc_pool(1, 64 << 10), 0);
    assert_eq!(m.take_warn_alloc(), 1);
    let warnings = m.take_warnings();
    assert!(
        warnings.len() == 1
            && warnings[0]
                .contains("page allocation failure: order:4, mode:0x40cc0(GFP_KERNEL|__GFP_COMP)"),
        "{warnings:#?}"
    );
    assert!(m.take_reports().is_empty());
    drop(held);
}
