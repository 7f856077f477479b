//! kmalloc(), kzalloc(), krealloc(), ksize(), kfree() end to end.

use kmem::gfp::*;
use kmem::kmalloc::{kmalloc_size_class, ZERO_SIZE_PTR};
use kmem::layout::ZoneType;
use kmem::{BootConfig, Machine, ReportKind, PAGE_SIZE};

fn boot(words: &[&str]) -> Machine {
    Machine::boot(&BootConfig::parse_words(words.iter().copied()).unwrap()).unwrap()
}

fn kinds(m: &mut Machine) -> Vec<ReportKind> {
    m.take_reports().into_iter().map(|r| r.kind).collect()
}

fn cache_of(m: &Machine, p: u64) -> String {
    m.slab_object_info(p).unwrap().cache_name
}

#[test]
fn size_classes() {
    let mut m = boot(&[]);
    for (size, name) in [
        (1, "kmalloc-8"),
        (8, "kmalloc-8"),
        (9, "kmalloc-16"),
        (24, "kmalloc-32"),
        (64, "kmalloc-64"),
        (65, "kmalloc-96"),
        (96, "kmalloc-96"),
        (100, "kmalloc-128"),
        (129, "kmalloc-192"),
        (193, "kmalloc-256"),
        (512, "kmalloc-512"),
        (1000, "kmalloc-1k"),
        (1025, "kmalloc-2k"),
        (4096, "kmalloc-4k"),
        (8192, "kmalloc-8k"),
    ] {
        let p = m.kmalloc(size, GFP_KERNEL);
        assert_ne!(p, 0);
        assert_eq!(cache_of(&m, p), name, "kmalloc({size})");
        assert_eq!(
            kmalloc_size_class(size),
            m.kmem_cache_info(m.kmalloc_cache(size, GFP_KERNEL).unwrap())
                .unwrap()
                .object_size as u64
        );
        // Power-of-two classes are naturally aligned.
        let class = kmalloc_size_class(size);
        if class.is_power_of_two() {
            assert_eq!(p % class, 0);
        }
    }
    // GFP_DMA: dma-kmalloc caches with pages from ZONE_DMA.
    let d = m.kmalloc(100, GFP_KERNEL | GFP_DMA);
    assert_eq!(cache_of(&m, d), "dma-kmalloc-128");
    let pfn = m.slab_object_info(d).unwrap().slab_pfn;
    assert_eq!(m.layout().zone_of_pfn(pfn), Some(ZoneType::Dma));
    let r = m.kmalloc(100, GFP_KERNEL | __GFP_RECLAIMABLE);
    assert_eq!(cache_of(&m, r), "kmalloc-rcl-128");
    let c = m.kmalloc(100, GFP_KERNEL_ACCOUNT);
    assert_eq!(cache_of(&m, c), "kmalloc-cg-128");
    assert!(m.take_reports().is_empty());
}

#[test]
fn zero_null_and_large() {
    let mut m = boot(&["mem=64M"]);
    assert_eq!(m.kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
    m.kfree(0);
    m.kfree(ZERO_SIZE_PTR);
    assert_eq!(m.ksize(ZERO_SIZE_PTR), 0);
    assert!(m.take_reports().is_empty());
    // Above 8k: whole pages from the buddy, order get_order(size).
    let free0 = m.page_allocator().free_pages(1);
    let p = m.kmalloc(8193, GFP_KERNEL);
    assert_eq!(p % PAGE_SIZE, 0);
    assert!(m.slab_object_info(p).is_none());
    assert_eq!(m.kmalloc_large_order(p), Some(2));
    assert_eq!(m.ksize(p), 4 * PAGE_SIZE);
    assert_eq!(m.page_allocator().free_pages(1), free0 - 4);
    m.kfree(p);
    assert_eq!(m.page_allocator().free_pages(1), free0);
    // KMALLOC_MAX_SIZE is 4 MiB.
    let big = m.kmalloc(4 << 20, GFP_KERNEL);
    assert_ne!(big, 0);
    m.kfree(big);
    assert_eq!(m.kmalloc((4 << 20) + 1, GFP_KERNEL), 0);
    assert!(m.take_reports().is_empty());
    // kmalloc_max=128K: older kernels' limit.
    let mut m = boot(&["kmalloc_max=128K"]);
    assert_ne!(m.kmalloc(128 << 10, GFP_KERNEL), 0);
    assert_eq!(m.kmalloc((128 << 10) + 1, GFP_KERNEL), 0);
    // kzalloc zeroes, large or small.
    let z = m.kzalloc(20000, GFP_KERNEL);
    assert!(m.read(z, 20000).unwrap().iter().all(|&b| b == 0));
    let z = m.kzalloc(50, GFP_KERNEL);
    assert!(m.read(z, 50).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn ksize_follows_slab_ksize() {
    let mut m = boot(&[]);
    let p = m.kmalloc(70, GFP_KERNEL);
    assert_eq!(m.ksize(p), 96);
    let mut m = boot(&["slub_debug=U"]);
    let p = m.kmalloc(70, GFP_KERNEL);
    let i = m
        .kmem_cache_info(m.slab_object_info(p).unwrap().cache)
        .unwrap();
    assert_eq!(m.ksize(p), i.layout.inuse as u64);
    let mut m = boot(&["slub_debug"]);
    let p = m.kmalloc(70, GFP_KERNEL);
    assert_eq!(m.ksize(p), 96);
}

#[test]
fn kmalloc_redzone() {
    // slub_kunit's test_kmalloc_redzone_access through kmalloc-32.
    let mut m = boot(&["arch=x86_64", "slub_debug"]);
    let p = m.kmalloc(18, GFP_KERNEL);
    // Bytes 18..32 are the kmalloc red zone (0xcc); the object's 18 bytes are poisoned.
    let b = m.read(p, 40).unwrap();
    assert!(b[..17].iter().all(|&x| x == 0x6b));
    assert_eq!(b[17], 0xa5);
    assert!(b[18..40].iter().all(|&x| x == 0xcc));
    m.write(p + 18, 2, 0xab);
    m.kfree(p);
    let r = m.take_reports();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, ReportKind::RedzoneOverwritten);
    let t = &r[0].text;
    assert!(t.contains("BUG kmalloc-32 (Not tainted): kmalloc Redzone overwritten"));
    assert!(t.contains(&format!("0x{:016x}-0x{:016x} @offset=", p + 18, p + 19)));
    assert!(t.contains("First byte 0xab instead of 0xcc"));
    assert!(t.contains(&format!(
        "FIX kmalloc-32: Restoring kmalloc Redzone 0x{:016x}-0x{:016x}=0xcc",
        p + 18,
        p + 19
    )));
    // ksize() hands the whole object to the caller: no kmalloc red zone any more.
    let q = m.kmalloc(18, GFP_KERNEL);
    assert_eq!(m.ksize(q), 32);
    m.write(q + 18, 14, 0x11);
    m.kfree(q);
    assert!(m.take_reports().is_empty());
    // kzalloc() zeroes only the requested bytes; the red zone stays.
    let z = m.kzalloc(18, GFP_KERNEL);
    let b = m.read(z, 32).unwrap();
    assert!(b[..18].iter().all(|&x| x == 0) && b[18..].iter().all(|&x| x == 0xcc));
}

#[test]
fn krealloc_keeps_contents() {
    let mut m = boot(&["slub_debug"]);
    let p = m.kmalloc(40, GFP_KERNEL);
    m.write(p, 40, 0x5c);
    // Within ksize: the same pointer.
    assert_eq!(m.krealloc(p, 60, GFP_KERNEL), p);
    assert_eq!(m.krealloc(p, 10, GFP_KERNEL), p);
    // Growth: a new object with the old contents.
    let q = m.krealloc(p, 3000, GFP_KERNEL);
    assert_ne!(q, p);
    assert_eq!(cache_of(&m, q), "kmalloc-4k");
    assert!(m.read(q, 40).unwrap().iter().all(|&b| b == 0x5c));
    assert_eq!(m.slab_object_info(p).unwrap().free, Some(true));
    // Into and out of the page allocator.
    let r = m.krealloc(q, 50000, GFP_KERNEL);
    assert_eq!(r % PAGE_SIZE, 0);
    assert!(m.read(r, 40).unwrap().iter().all(|&b| b == 0x5c));
    let s = m.krealloc(r, 100, GFP_KERNEL);
    assert_eq!(s, r, "shrinking keeps the block");
    // Size 0 frees; NULL allocates.
    assert_eq!(m.krealloc(s, 0, GFP_KERNEL), ZERO_SIZE_PTR);
    assert_eq!(m.kmalloc_large_order(s), None);
    let n = m.krealloc(0, 33, GFP_KERNEL);
    assert_eq!(cache_of(&m, n), "kmalloc-64");
    assert!(m.take_reports().is_empty());
}

#[test]
fn kfree_of_what_kmalloc_did_not_hand_out() {
    let mut m = boot(&["mem=1G"]);
    let page = m.__get_free_page(GFP_KERNEL);
    m.kfree(page);
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::InvalidFree);
    assert!(r[0].text.contains(&format!("object pointer: 0x{page:08x}")));
    let p = m.kmalloc(64, GFP_KERNEL);
    m.kfree(p + 8);
    assert_eq!(kinds(&mut m), [ReportKind::InvalidFree]);
    let big = m.kmalloc(20000, GFP_KERNEL);
    m.kfree(big + PAGE_SIZE);
    // free_large_kmalloc()'s WARN_ON_ONCE fired for the first kfree: raised, not printed.
    assert!(m.take_reports().is_empty());
    let q = m.take_silenced();
    assert_eq!((q.len(), q[0].kind), (1, ReportKind::InvalidFree));
    assert_eq!(q[0].site, "mm/slab_common.c:1001");
    let v = m.vmalloc(100);
    m.kfree(v);
    assert_eq!(kinds(&mut m), [ReportKind::InvalidFree]);
    m.kfree(0x1234_5678);
    assert_eq!(kinds(&mut m), [ReportKind::InvalidFree]);
    // Double free of a large block.
    m.kfree(big);
    m.kfree(big);
    assert_eq!(kinds(&mut m), [ReportKind::DoubleFree]);
    // free_pages() of a slab page is a bad page state.
    let a = m.kmalloc(64, GFP_KERNEL);
    m.free_page(a & !(PAGE_SIZE - 1));
    assert_eq!(kinds(&mut m), [ReportKind::InvalidFree]);
    m.kfree(a);
    assert!(m.take_reports().is_empty());
}

#[test]
fn sleeping_masks_in_atomic_context() {
    let mut m = boot(&[]);
    m.spin_lock();
    assert_ne!(m.kmalloc(100, GFP_KERNEL), 0);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    assert_ne!(m.kmalloc(100_000, GFP_KERNEL), 0);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    let p = m.kmalloc(10, GFP_ATOMIC);
    assert_eq!(kinds(&mut m), []);
    assert_ne!(m.krealloc(p, 5000, GFP_KERNEL), 0);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    m.spin_unlock();
    let r = m.kmalloc(10, GFP_KERNEL);
    assert_ne!(r, 0);
    assert!(m.take_reports().is_empty());
}

#[test]
fn exhaustion_returns_null() {
    let mut m = boot(&["mem=16M"]);
    let mut n = 0;
    while m.kmalloc(4096, GFP_KERNEL | __GFP_NOWARN) != 0 {
        n += 1;
        assert!(n < 10_000);
    }
    assert!(n > 100);
    assert_eq!(m.kmalloc(1 << 20, GFP_KERNEL | __GFP_NOWARN), 0);
    assert!(m.take_reports().is_empty());
}
