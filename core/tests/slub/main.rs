//! SLUB caches end to end: geometry, fills, every debug report in the kernel's format
//! (`debug`), shrink and destroy, and random sequences that must never panic (`random`).

use kmem::gfp::*;
use kmem::slab_flags::*;
use kmem::{BootConfig, Machine, ReportKind};

mod debug;
mod random;

fn boot(words: &[&str]) -> Machine {
    Machine::boot(&BootConfig::parse_words(words.iter().copied()).unwrap()).unwrap()
}

fn kinds(m: &mut Machine) -> Vec<ReportKind> {
    m.take_reports().into_iter().map(|r| r.kind).collect()
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

const RULE_EQ: &str =
    "=============================================================================";
const RULE_DASH: &str =
    "-----------------------------------------------------------------------------";

#[test]
fn geometry_follows_calculate_sizes() {
    let mut m = boot(&["arch=x86_64", "slub_debug"]);
    let p = m.kmalloc(20, GFP_KERNEL);
    let info = m.slab_object_info(p).unwrap();
    assert_eq!(info.cache_name, "kmalloc-32");
    let c = m.kmem_cache_info(info.cache).unwrap();
    assert_eq!(c.size, 160);
    assert_eq!(c.align, 32);
    let l = c.layout;
    assert_eq!((l.red_left_pad, l.inuse, l.offset), (32, 40, 40));
    assert_eq!((l.track_offset, l.orig_size_offset), (Some(48), Some(112)));
    assert_eq!((l.pad_offset, l.size_from_object), (116, 128));
    assert_eq!(c.flags & SLAB_DEBUG_FLAGS, SLAB_DEBUG_FLAGS);
    assert!(c.kmalloc);
    assert_eq!(info.offset_in_object, Some(0));
    assert_eq!(info.free, Some(false));

    // Without debugging: the free pointer sits in the middle of the object.
    let mut m = boot(&["arch=x86_64"]);
    let c = m.kmem_cache_create("plain", 64, 0, 0, None);
    let i = m.kmem_cache_info(c).unwrap();
    assert_eq!(
        (i.size, i.layout.offset, i.layout.red_left_pad),
        (64, 32, 0)
    );
    assert_eq!((i.order, i.objects_per_slab), (0, 64));
    let c = m.kmem_cache_create("hw", 20, 0, SLAB_HWCACHE_ALIGN, None);
    assert_eq!(m.kmem_cache_info(c).unwrap().align, 32);
    assert!(m.take_reports().is_empty());
}

#[test]
fn fills_are_linuxs() {
    let mut m = boot(&["arch=x86_64", "slub_debug=FZPU"]);
    let c = m.kmem_cache_create("fill", 64, 0, 0, None);
    let l = m.kmem_cache_info(c).unwrap().layout;
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    let rlp = l.red_left_pad as u64;
    // Allocated: red zones 0xcc, object 0x6b..0xa5, padding 0x5a.
    assert!(m.read(p - rlp, rlp).unwrap().iter().all(|&b| b == 0xcc));
    let obj = m.read(p, 64).unwrap();
    assert!(obj[..63].iter().all(|&b| b == 0x6b));
    assert_eq!(obj[63], 0xa5);
    let rz = m.read(p + 64, (l.inuse - 64) as u64).unwrap();
    assert!(rz.iter().all(|&b| b == 0xcc));
    let pad = m
        .read(
            p + l.pad_offset as u64,
            (l.size_from_object - l.pad_offset) as u64,
        )
        .unwrap();
    assert!(pad.iter().all(|&b| b == 0x5a));
    // Free: red zones 0xbb, object poisoned again.
    m.write(p, 64, 0x11);
    m.kmem_cache_free(c, p);
    assert!(m.take_reports().is_empty());
    assert!(m.read(p - rlp, rlp).unwrap().iter().all(|&b| b == 0xbb));
    let obj = m.read(p, 64).unwrap();
    assert!(obj[..63].iter().all(|&b| b == 0x6b) && obj[63] == 0xa5);
    // Zeroed allocation: the object is 0, red zones stay.
    let z = m.kmem_cache_zalloc(c, GFP_KERNEL);
    assert!(m.read(z, 64).unwrap().iter().all(|&b| b == 0));
    assert!(m.read(z + 64, 8).unwrap().iter().all(|&b| b == 0xcc));
    assert_eq!(m.validate_slab_cache(c), 1);
    assert!(m.take_reports().is_empty());
}

#[test]
fn ctor_fills_new_objects_and_keeps_poison_off() {
    let mut m = boot(&["slub_debug=P"]);
    let c = m.kmem_cache_create("ctor", 40, 0, 0, Some(0x42));
    let i = m.kmem_cache_info(c).unwrap();
    assert!(i.layout.freeptr_outside);
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    assert!(m.read(p, 40).unwrap().iter().all(|&b| b == 0x42));
    m.kmem_cache_free(c, p);
    m.validate_slab_cache(c);
    assert!(m.take_reports().is_empty());
}

#[test]
fn objects_are_aligned_and_never_overlap() {
    for arch in ["i386", "x86_64"] {
        let mut m = boot(&[&format!("arch={arch}")]);
        for (size, align, flags) in [
            (1u64, 0u64, 0),
            (24, 0, SLAB_HWCACHE_ALIGN),
            (100, 64, 0),
            (200, 256, SLAB_RED_ZONE),
            (700, 0, SLAB_POISON | SLAB_STORE_USER),
            (3000, 8, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE),
        ] {
            let c = m.kmem_cache_create("t", size, align, flags, None);
            assert_ne!(c, 0);
            let a = m.kmem_cache_info(c).unwrap().align as u64;
            assert!(a >= align.max(8));
            let mut objs: Vec<u64> = (0..300)
                .map(|_| m.kmem_cache_alloc(c, GFP_KERNEL))
                .collect();
            assert!(objs.iter().all(|&p| p != 0 && p % a == 0), "{size} {align}");
            objs.sort();
            for w in objs.windows(2) {
                assert!(w[0] + size <= w[1], "overlap {size}");
            }
            for p in objs {
                m.kmem_cache_free(c, p);
            }
            m.kmem_cache_destroy(c);
            assert!(m.take_reports().is_empty());
        }
    }
}

#[test]
fn shrink_and_destroy_return_every_page() {
    let mut m = boot(&["mem=64M"]);
    let c = m.kmem_cache_create("churn", 500, 0, 0, None);
    let before = m.proc_buddyinfo();
    let free0 = m.page_allocator().free_pages(1);
    let objs: Vec<u64> = (0..1000)
        .map(|_| m.kmem_cache_alloc(c, GFP_KERNEL))
        .collect();
    let i = m.kmem_cache_info(c).unwrap();
    assert_eq!(i.active_objects, 1000);
    assert!(m.page_allocator().free_pages(1) < free0);
    for p in objs {
        m.kmem_cache_free(c, p);
    }
    // min_partial empty slabs stay until shrink.
    assert!(m.kmem_cache_info(c).unwrap().nr_slabs > 0);
    m.kmem_cache_shrink(c);
    assert_eq!(m.kmem_cache_info(c).unwrap().nr_slabs, 0);
    assert_eq!(m.page_allocator().free_pages(1), free0);
    assert_eq!(m.proc_buddyinfo(), before);
    // Destroy with empty slabs returns them too.
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.kmem_cache_free(c, p);
    m.kmem_cache_destroy(c);
    assert_eq!(m.page_allocator().free_pages(1), free0);
    assert!(m.kmem_cache_info(c).is_none());
    assert!(!m.proc_slabinfo().contains("churn"));
    assert!(m.take_reports().is_empty());
}

#[test]
fn sleeping_allocation_in_atomic_context_is_reported_once() {
    let mut m = boot(&[]);
    let c = m.kmem_cache_create("sl", 32, 0, 0, None);
    m.spin_lock();
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    assert_ne!(p, 0);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    let q = m.kmem_cache_alloc(c, GFP_ATOMIC);
    assert_ne!(q, 0);
    assert!(m.take_reports().is_empty());
    m.spin_unlock();
}

#[test]
fn bad_arguments_fail_as_linux_does() {
    let mut m = boot(&[]);
    assert_eq!(m.kmem_cache_create("zero", 0, 0, 0, None), 0);
    assert_eq!(m.kmem_cache_create("huge", (4 << 20) + 1, 0, 0, None), 0);
    assert_eq!(m.kmem_cache_create("", 32, 0, 0, None), 0);
    assert_eq!(m.kmem_cache_create("al", 32, 3, 0, None), 0);
    assert_eq!(m.kmem_cache_create("fl", 32, 0, 0x1, None), 0);
    assert!(m.take_reports().is_empty());
    assert!(m
        .take_warnings()
        .iter()
        .any(|w| w.contains("failed with error -22")));
    // In an interrupt: the sleeping mutex_lock() is reported, then the sanity check fails.
    m.irq_enter();
    assert_eq!(m.kmem_cache_create("irq", 32, 0, 0, None), 0);
    m.irq_exit();
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    // A huge cache is fine up to KMALLOC_MAX_SIZE.
    let c = m.kmem_cache_create("big", 4 << 20, 0, 0, None);
    assert_ne!(c, 0);
    assert_eq!(m.kmem_cache_info(c).unwrap().order, 10);
    // Handles that are no cache.
    assert_eq!(m.kmem_cache_alloc(0, GFP_KERNEL), 0);
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
    assert_eq!(m.kmem_cache_alloc(0x1234, GFP_KERNEL), 0);
    assert_eq!(kinds(&mut m), [ReportKind::MempoolMisuse]);
}

#[test]
fn slabinfo_format() {
    let mut m = boot(&[]);
    let c = m.kmem_cache_create("nf_conntrack", 256, 0, SLAB_HWCACHE_ALIGN, None);
    let _p = m.kmem_cache_alloc(c, GFP_KERNEL);
    let s = m.proc_slabinfo();
    let l = lines(&s);
    assert_eq!(l[0], "slabinfo - version: 2.1");
    assert!(l[1].starts_with("# name            <active_objs> <num_objs> <objsize>"));
    assert_eq!(
        l[2],
        "nf_conntrack           1     16    256   16    1 : tunables    0    0    0 : slabdata      1      1      0"
    );
    assert!(l[3].starts_with("kmem_cache "));
    assert_eq!(m.kmem_caches()[0].name, "nf_conntrack");
}

#[test]
fn taint_flags_accumulate_in_every_header() {
    // print_tainted() prints one column per flag; each report adds its own flag after it.
    let mut m = boot(&[]);
    let c = m.kmem_cache_create("taints", 64, 0, SLAB_RED_ZONE, None);
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    assert_eq!(m.log().taint_str(), "Not tainted");

    // __might_resched(): TAINT_WARN, lock debugging still on.
    m.spin_lock();
    let q = m.kmalloc(32, GFP_KERNEL);
    m.spin_unlock();
    assert_eq!(kinds(&mut m), vec![ReportKind::SleepInAtomic]);
    assert_eq!(m.log().taint_str(), "Tainted: G        W         ");

    // A SLUB report shows W, then adds B and turns lock debugging off.
    m.write(p + 64, 1, 0x12);
    m.validate_slab_cache(c);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    let l = lines(&r[0].text);
    assert_eq!(
        l[1],
        "BUG taints (Tainted: G        W         ): Right Redzone overwritten"
    );
    assert!(l.contains(&"CPU: 0 PID: 1 Comm: init Tainted: G        W          6.6.0 #1"));
    assert!(l.contains(&"Disabling lock debugging due to kernel taint"));
    assert_eq!(m.log().taint_str(), "Tainted: G    B   W         ");

    // An oops prints the taint from before, then adds D.
    assert!(m.read(0x10, 4).is_none());
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::PageFault);
    assert!(r[0]
        .text
        .contains("\nCPU: 0 PID: 1 Comm: init Tainted: G    B   W          6.6.0 #1\n"));
    assert!(r[0]
        .text
        .ends_with("CR2: 0000000000000010\n---[ end trace 0000000000000000 ]---"));
    assert_eq!(m.log().taint_str(), "Tainted: G    B D W         ");

    // The next SLUB report shows all three; lock debugging is already off.
    m.write(p - 1, 1, 0);
    m.validate_slab_cache(c);
    let r = m.take_reports();
    assert!(r[0]
        .text
        .contains("BUG taints (Tainted: G    B D W         ): Left Redzone overwritten"));
    assert!(!r[0].text.contains("Disabling lock debugging"));
    m.kfree(q);
}

#[test]
fn warn_taints_but_allocation_failure_does_not() {
    // warn_alloc() is a warning that leaves the kernel untainted.
    let mut m = boot(&[]);
    let mut n = 0;
    while m.alloc_pages(GFP_KERNEL | __GFP_DMA, 10) != 0 && n < 1000 {
        n += 1;
    }
    assert!(m.take_warnings()[0].contains("page allocation failure: order:10"));
    assert_eq!(m.log().taint_str(), "Not tainted");
    // A WARN() taints W though the model logs it as a warning: here __alloc_pages()'s
    // WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER), then __ksize()'s WARN_ON().
    assert_eq!(m.kmalloc(1 << 30, GFP_KERNEL), 0);
    assert!(m.take_warnings()[0].contains("WARNING: CPU: 0 PID: 1 at mm/page_alloc.c"));
    assert_eq!(m.log().taint_str(), "Tainted: G        W         ");
    assert_eq!(m.ksize(0xc000_1000), 0);
    assert!(m.take_warnings()[0].contains("WARNING: CPU: 0 PID: 1 at mm/slab_common.c"));
    assert_eq!(m.log().taint_str(), "Tainted: G        W         ");
}

/// __kmem_cache_do_shrink() promotes the partial slabs filled up most to the head of the
/// list (one free object first): the next allocations come from them, not from the slab that
/// was first on the list.
#[test]
fn shrink_promotes_the_fullest_partial_slabs() {
    let mut m = boot(&["mem=64M"]);
    let c = m.kmem_cache_create("promote", 256, 0, 0, None);
    let n = m.kmem_cache_info(c).unwrap().objects_per_slab as usize;
    assert!(n > 3, "{n} objects a slab");
    let objs: Vec<u64> = (0..3 * n)
        .map(|_| m.kmem_cache_alloc(c, GFP_KERNEL))
        .collect();
    assert!(objs.iter().all(|&p| p != 0));
    // Three full slabs, in allocation order; free 3, 1 and 2 objects of them, the slab with
    // three free going onto the partial list first.
    let (a, b, cc) = (&objs[..n], &objs[n..2 * n], &objs[2 * n..]);
    for &p in &a[..3] {
        m.kmem_cache_free(c, p);
    }
    m.kmem_cache_free(c, b[0]);
    m.kmem_cache_free(c, cc[0]);
    m.kmem_cache_free(c, cc[1]);
    m.kmem_cache_shrink(c);
    // The slab with one free object heads the list, then the one with two.
    assert_eq!(m.kmem_cache_alloc(c, GFP_KERNEL), b[0]);
    assert_eq!(m.kmem_cache_alloc(c, GFP_KERNEL), cc[1]);
    assert_eq!(m.kmem_cache_alloc(c, GFP_KERNEL), cc[0]);
    assert!(a[..3].contains(&m.kmem_cache_alloc(c, GFP_KERNEL)));
    assert!(m.take_reports().is_empty());
}
