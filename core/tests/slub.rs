//! SLUB caches end to end: geometry, fills, every debug report in the kernel's format,
//! shrink and destroy, and random sequences that must never panic.

use kmem::gfp::*;
use kmem::slab_flags::*;
use kmem::{BootConfig, Machine, ReportKind};

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
fn right_redzone_overwritten_on_validate() {
    // slub_kunit's test_clobber_zone.
    let mut m = boot(&[]);
    let c = m.kmem_cache_create("TestSlub_RZ_alloc", 64, 0, SLAB_RED_ZONE, None);
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.write(p + 64, 1, 0x12);
    m.validate_slab_cache(c);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::RedzoneOverwritten);
    let info = m.slab_object_info(p).unwrap();
    let base = info.slab_addr;
    let l = lines(&r[0].text);
    assert_eq!(l[0], RULE_EQ);
    assert_eq!(
        l[1],
        "BUG TestSlub_RZ_alloc (Not tainted): Right Redzone overwritten"
    );
    assert_eq!(l[2], RULE_DASH);
    assert_eq!(l[3], "");
    assert_eq!(
        l[4],
        format!(
            "0x{:08x}-0x{:08x} @offset={}. First byte 0x12 instead of 0xcc",
            p + 64,
            p + 64,
            p + 64 - base
        )
    );
    assert!(l[5].starts_with(&format!("Slab 0x{:08x} objects=", info.slab_page)));
    assert!(l[5].ends_with("flags=0x800(slab|zone=1)"), "{}", l[5]);
    assert!(l[6].starts_with(&format!("Object 0x{p:08x} @offset={} fp=0x", p - base)));
    assert_eq!(l[7], "");
    assert_eq!(
        l[8],
        format!(
            "Redzone  {:08x}: cc cc cc cc cc cc cc cc                          ........",
            p - 8
        )
    );
    assert!(l.contains(&format!("Redzone  {:08x}: {:<49}....", p + 64, "12 cc cc cc").as_str()));
    assert!(l.contains(&"CPU: 0 PID: 1 Comm: init Not tainted 6.6.0 #1"));
    assert!(l.contains(&"Hardware name: kmemfuzz model machine, BIOS none"));
    assert!(l.contains(&"Disabling lock debugging due to kernel taint"));
    assert_eq!(
        *l.last().unwrap(),
        format!(
            "FIX TestSlub_RZ_alloc: Restoring Right Redzone 0x{:08x}-0x{:08x}=0xcc",
            p + 64,
            p + 64
        )
    );
    // Repaired: validating again is clean; the next report says Tainted.
    m.validate_slab_cache(c);
    assert!(m.take_reports().is_empty());
    m.write(p - 1, 1, 0);
    m.validate_slab_cache(c);
    let r = m.take_reports();
    assert!(r[0].text.contains(
        "BUG TestSlub_RZ_alloc (Tainted: G    B             ): Left Redzone overwritten"
    ));
}

#[test]
fn poison_overwritten_after_use_after_free() {
    // slub_kunit's test_first_word and test_clobber_50th_byte, caught on allocation with F.
    let mut m = boot(&["arch=x86_64", "slub_debug=FP"]);
    let c = m.kmem_cache_create("TestSlub_1th_word_free", 64, 0, 0, None);
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.kmem_cache_free(c, p);
    m.write(p + 50, 1, 0x9a);
    let q = m.kmem_cache_alloc(c, GFP_KERNEL);
    let r = m.take_reports();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, ReportKind::PoisonOverwritten);
    let t = &r[0].text;
    assert!(t.contains("BUG TestSlub_1th_word_free (Not tainted): Poison overwritten"));
    assert!(t.contains(&format!(
        "0x{:016x}-0x{:016x} @offset=50. First byte 0x9a instead of 0x6b",
        p + 50,
        p + 50
    )));
    assert!(t.contains(&format!(
        "FIX TestSlub_1th_word_free: Restoring Poison 0x{:016x}-0x{:016x}=0x6b",
        p + 50,
        p + 50
    )));
    assert!(t.ends_with("FIX TestSlub_1th_word_free: Marking all objects used"));
    // The corrupted slab is isolated; the object came from a new slab.
    assert_ne!(q, 0);
    assert_ne!(
        m.slab_object_info(q).unwrap().slab_pfn,
        m.slab_object_info(p).unwrap().slab_pfn
    );
    // End poison.
    let c2 = m.kmem_cache_create("endp", 32, 0, 0, None);
    let p = m.kmem_cache_alloc(c2, GFP_KERNEL);
    m.kmem_cache_free(c2, p);
    m.write(p + 31, 1, 0x00);
    m.validate_slab_cache(c2);
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::PoisonOverwritten);
    assert!(r[0].text.contains("End Poison overwritten"));
    assert!(r[0].text.contains("First byte 0x0 instead of 0xa5"));
}

#[test]
fn padding_overwritten() {
    let mut m = boot(&["slub_debug=FZPU"]);
    let c = m.kmem_cache_create("pad", 64, 0, 0, None);
    let l = m.kmem_cache_info(c).unwrap().layout;
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.write(p + l.pad_offset as u64, 2, 0x77);
    m.kmem_cache_free(c, p);
    let r = m.take_reports();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, ReportKind::PaddingOverwritten);
    assert!(r[0]
        .text
        .contains("BUG pad (Not tainted): Object padding overwritten"));
    assert!(r[0].text.contains("First byte 0x77 instead of 0x5a"));
    assert!(r[0].text.contains("FIX pad: Restoring Object padding"));
    // Padding is repaired and does not fail the free.
    assert_eq!(m.slab_object_info(p).unwrap().free, Some(true));
    // Alignment padding (P without Z) and the slab's tail padding.
    let mut m = boot(&["slub_debug=P"]);
    // i386: 18 bytes, inuse 20 (2 bytes of alignment padding), slot 24: 16 bytes left over.
    let c = m.kmem_cache_create("align", 18, 0, 0, None);
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.write(p + 18, 1, 0x01);
    let i = m.slab_object_info(p).unwrap();
    let size = m.kmem_cache_info(c).unwrap().size as u64;
    let tail = i.slab_addr + 4096 - (4096 % size);
    m.write(tail, 1, 0x02);
    m.validate_slab_cache(c);
    let r = m.take_reports();
    let ks: Vec<_> = r.iter().map(|r| r.kind).collect();
    assert_eq!(
        ks,
        [
            ReportKind::PaddingOverwritten,
            ReportKind::PaddingOverwritten
        ]
    );
    assert!(r[0].text.contains(&format!(
        "BUG align (Not tainted): Padding overwritten. 0x{tail:08x}-0x{tail:08x} @offset={}",
        tail - i.slab_addr
    )));
    assert!(r[0].text.contains(&format!("Padding {tail:08x}: 02 5a")));
    assert!(r[0].text.contains("FIX align: Restoring slab padding"));
    assert!(r[1].text.contains("Alignment padding overwritten"));
}

#[test]
fn double_free_and_invalid_pointer() {
    let mut m = boot(&["slub_debug"]);
    let c = m.kmem_cache_create("df", 48, 0, 0, None);
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    let _keep = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.kmem_cache_free(c, p);
    m.kmem_cache_free(c, p);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::DoubleFree);
    assert!(r[0]
        .text
        .contains("BUG df (Not tainted): Object already free"));
    assert!(r[0]
        .text
        .contains("Allocated in op_0+0x0/0x1 age=0 cpu=0 pid=1"));
    assert!(r[0]
        .text
        .contains("Freed in op_0+0x0/0x1 age=0 cpu=0 pid=1"));
    assert!(r[0]
        .text
        .ends_with(&format!("FIX df: Object at 0x{p:08x} not freed")));
    // An interior pointer.
    let q = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.kmem_cache_free(c, q + 4);
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::InvalidFree);
    assert!(r[0].text.contains(&format!(
        "BUG df (Tainted: G    B             ): Invalid object pointer 0x{:08x}",
        q + 4
    )));
    // Not a slab page at all.
    let page = m.__get_free_page(GFP_KERNEL);
    m.kmem_cache_free(c, page);
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::InvalidFree);
    assert!(r[0]
        .text
        .contains("virt_to_cache: Object is not a Slab page!"));
    // Double free of an emptied slab's object without F: "Slab has 0 allocated objects".
    let mut m = boot(&["slub_debug=Z"]);
    let c = m.kmem_cache_create("z", 48, 0, 0, None);
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.kmem_cache_free(c, p);
    m.kmem_cache_free(c, p);
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::DoubleFree);
    assert!(r[0].text.contains(
        "BUG z (Not tainted): Slab has 0 allocated objects but 1 are to be freed\n\n-----"
    ));
}

#[test]
fn wrong_cache() {
    let mut m = boot(&["slub_debug=U"]);
    let a = m.kmem_cache_create("cache_a", 64, 0, 0, None);
    let b = m.kmem_cache_create("cache_b", 64, 0, 0, None);
    m.set_caller(7);
    let p = m.kmem_cache_alloc(b, GFP_KERNEL);
    m.set_caller(9);
    m.kmem_cache_free(a, p);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::WrongCache);
    let l = lines(&r[0].text);
    assert_eq!(l[0], "------------[ cut here ]------------");
    assert_eq!(
        l[1],
        "kmem_cache_free: Wrong slab cache. cache_a but object is from cache_b"
    );
    assert!(l[2].starts_with("WARNING: CPU: 0 PID: 1 at mm/slab.h:"));
    assert!(l.contains(&"Allocated in op_7+0x0/0x1 age=2 cpu=0 pid=1"));
    // The object went back to the cache it came from.
    assert_eq!(m.slab_object_info(p).unwrap().free, Some(true));
    assert_eq!(m.kmem_cache_info(b).unwrap().active_objects, 0);
}

/// The objects-remaining listing names every object its slab's free list does not reach,
/// also when the list is cut short by a free pointer overwritten in a free object: the list
/// is walked once for the slab (get_map()), and the listing agrees with the free state each
/// object reports on its own.
#[test]
fn objects_remaining_lists_what_a_cut_free_list_does_not_reach() {
    let mut m = boot(&["arch=x86_64"]);
    let c = m.kmem_cache_create("cut", 64, 0, 0, None);
    let objs: Vec<u64> = (0..10).map(|_| m.kmem_cache_alloc(c, GFP_KERNEL)).collect();
    for i in [1, 3, 5, 7] {
        m.kmem_cache_free(c, objs[i]);
    }
    // Object 3 is free and on the list after 7 and 5: its free pointer now leaves the slab.
    m.write(objs[3], 64, 0x41);
    m.take_reports();
    let info = m.slab_object_info(objs[0]).unwrap();
    let per_slab = m.kmem_cache_info(c).unwrap().objects_per_slab as u64;
    let size = m.kmem_cache_info(c).unwrap().size as u64;
    let all: Vec<u64> = (0..per_slab)
        .map(|i| info.object.unwrap() + i * size)
        .collect();
    let unreached: Vec<u64> = all
        .iter()
        .copied()
        .filter(|&o| m.slab_object_info(o).unwrap().free != Some(true))
        .collect();
    // 7, 5 and 3 are reached before the cut; 1 and the never-used objects are not.
    assert_eq!(all.len() - unreached.len(), 3);
    assert!(unreached.contains(&objs[1]) && !unreached.contains(&objs[3]));
    m.kmem_cache_destroy(c);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::ObjectsRemaining);
    let listed: Vec<&str> = lines(&r[0].text)
        .into_iter()
        .filter(|l| l.starts_with("Object 0x"))
        .collect();
    let want: Vec<String> = unreached
        .iter()
        .map(|&o| format!("Object 0x{o:016x} @offset={}", o - info.slab_addr))
        .collect();
    assert_eq!(listed, want);
}

#[test]
fn objects_remaining_on_destroy() {
    let mut m = boot(&["arch=x86_64"]);
    let c = m.kmem_cache_create("leaky", 128, 0, 0, None);
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.kmem_cache_destroy(c);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::ObjectsRemaining);
    let i = m.slab_object_info(p).unwrap();
    let l = lines(&r[0].text);
    assert_eq!(
        l[1],
        "BUG leaky (Not tainted): Objects remaining in leaky on __kmem_cache_shutdown()"
    );
    assert!(l.contains(&format!("Object 0x{p:016x} @offset={}", p - i.slab_addr).as_str()));
    assert!(l.contains(
        &"kmem_cache_destroy leaky: Slab cache still has objects when called from op_0+0x0/0x1"
    ));
    // The cache stays, usable, listed; a second destroy is silent (refcount below zero).
    assert!(m.proc_slabinfo().contains("leaky"));
    m.kmem_cache_free(c, p);
    m.kmem_cache_destroy(c);
    assert!(m.take_reports().is_empty());
}

#[test]
fn corrupt_free_pointer_is_reported_never_followed() {
    // slub_kunit's test_next_pointer: with P the free pointer is outside the object.
    let mut m = boot(&["arch=x86_64"]);
    let c = m.kmem_cache_create("TestSlub_next_ptr_free", 64, 0, SLAB_POISON, None);
    let off = m.kmem_cache_info(c).unwrap().layout.offset as u64;
    assert_eq!(off, 64);
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.kmem_cache_free(c, p);
    let b = m.read(p + off, 1).unwrap()[0];
    m.write(p + off, 1, !b);
    m.validate_slab_cache(c);
    let r = m.take_reports();
    let ks: Vec<_> = r.iter().map(|r| r.kind).collect();
    assert_eq!(
        ks,
        [
            ReportKind::FreepointerCorrupt,
            ReportKind::FreepointerCorrupt
        ]
    );
    assert!(r[0].text.contains("Freechain corrupt"));
    let counted = m.kmem_cache_info(c).unwrap().objects_per_slab - 1;
    assert!(
        r[1].text.contains(&format!(
            "Wrong object count. Counter is 0 but counted were {counted}"
        )),
        "{}",
        r[1].text
    );
    assert!(r[1]
        .text
        .ends_with("FIX TestSlub_next_ptr_free: Object count adjusted"));

    // Without any debugging: the corrupt pointer is caught when the allocator reaches it.
    let mut m = boot(&[]);
    let c = m.kmem_cache_create("nodebug", 64, 0, 0, None);
    let off = m.kmem_cache_info(c).unwrap().layout.offset as u64;
    let p = m.kmem_cache_alloc(c, GFP_KERNEL);
    m.kmem_cache_free(c, p);
    m.write(p + off, 4, 0x41);
    let a = m.kmem_cache_alloc(c, GFP_KERNEL);
    assert_eq!(a, p);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::FreepointerCorrupt);
    assert!(r[0]
        .text
        .contains("BUG nodebug (Not tainted): Freechain corrupt"));
    assert!(r[0]
        .text
        .ends_with("FIX nodebug: Isolate corrupted freechain"));
    // The slab is isolated: the next object comes from a fresh slab.
    let b2 = m.kmem_cache_alloc(c, GFP_KERNEL);
    assert_ne!(b2, 0);
    assert_ne!(
        m.slab_object_info(b2).unwrap().slab_pfn,
        m.slab_object_info(p).unwrap().slab_pfn
    );
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
    m.irq_enter();
    assert_eq!(m.kmem_cache_create("irq", 32, 0, 0, None), 0);
    m.irq_exit();
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

/// xorshift64*: a deterministic source for the random sequences.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

#[test]
fn random_sequences_never_panic() {
    let configs: &[&[&str]] = &[
        &["mem=32M"],
        &["arch=x86_64", "mem=32M", "slub_debug"],
        &["mem=16M", "slub_debug=P", "page_poison=1"],
        &[
            "mem=32M",
            "slub_debug=FZ",
            "debug_pagealloc=on",
            "kmalloc_max=128K",
        ],
        &["arch=x86_64", "mem=16M", "slub_debug=U"],
    ];
    let masks = [
        GFP_KERNEL,
        GFP_ATOMIC,
        GFP_KERNEL | __GFP_ZERO,
        GFP_KERNEL | GFP_DMA,
        GFP_NOWAIT | __GFP_HIGHMEM,
        GFP_KERNEL | __GFP_RECLAIMABLE,
        GFP_KERNEL | __GFP_ACCOUNT,
    ];
    let flag_bits = [
        SLAB_POISON,
        SLAB_RED_ZONE,
        SLAB_STORE_USER,
        SLAB_CONSISTENCY_CHECKS,
        SLAB_HWCACHE_ALIGN,
        SLAB_CACHE_DMA,
        SLAB_PANIC,
    ];
    for (ci, cfg) in configs.iter().enumerate() {
        for seed in 0..3u64 {
            let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ (seed * 7919 + ci as u64 + 1));
            let mut m = boot(cfg);
            let mut caches: Vec<u64> = Vec::new();
            let mut ptrs: Vec<u64> = Vec::new();
            let mut pools: Vec<u64> = Vec::new();
            for step in 0..800u64 {
                m.set_caller(step);
                let gfp = masks[r.below(masks.len() as u64) as usize];
                let pick = |r: &mut Rng, v: &Vec<u64>| -> u64 {
                    if v.is_empty() || r.below(10) == 0 {
                        r.next() & 0xffff_ffff
                    } else {
                        v[r.below(v.len() as u64) as usize]
                    }
                };
                match r.below(20) {
                    0 => {
                        let mut f = 0;
                        for b in flag_bits {
                            if r.below(3) == 0 {
                                f |= b;
                            }
                        }
                        let size = match r.below(4) {
                            0 => r.below(64),
                            1 => r.below(600),
                            2 => r.below(9000),
                            _ => r.below(1 << 20),
                        };
                        let align = if r.below(2) == 0 { 0 } else { 1 << r.below(13) };
                        let ctor = (r.below(4) == 0).then(|| r.next() as u8);
                        let c = m.kmem_cache_create("rnd", size, align, f, ctor);
                        if c != 0 {
                            caches.push(c);
                        }
                    }
                    1..=3 => {
                        let c = pick(&mut r, &caches);
                        let p = m.kmem_cache_alloc(c, gfp);
                        if p != 0 {
                            ptrs.push(p);
                        }
                    }
                    4..=5 => {
                        let c = pick(&mut r, &caches);
                        let p = pick(&mut r, &ptrs);
                        let p = if r.below(8) == 0 {
                            p.wrapping_add(r.below(64))
                        } else {
                            p
                        };
                        m.kmem_cache_free(c, p);
                    }
                    6..=8 => {
                        let size = match r.below(5) {
                            0 => 0,
                            1 => r.below(200),
                            2 => r.below(9000),
                            3 => r.below(300_000),
                            _ => r.below(6 << 20),
                        };
                        let p = m.kmalloc(size, gfp);
                        if p > 16 {
                            ptrs.push(p);
                        }
                    }
                    9..=10 => {
                        let p = pick(&mut r, &ptrs);
                        m.kfree(p);
                    }
                    11 => {
                        let p = pick(&mut r, &ptrs);
                        let n = m.krealloc(p, r.below(20000), gfp);
                        if n > 16 {
                            ptrs.push(n);
                        }
                    }
                    12 => {
                        let p = pick(&mut r, &ptrs);
                        m.ksize(p);
                    }
                    13 => {
                        // The client scribbling near its memory: over objects, red zones,
                        // free pointers, tracks.
                        let p = pick(&mut r, &ptrs);
                        let at = p.wrapping_add(r.below(256)).wrapping_sub(64);
                        m.write(at, r.below(96), r.next() as u8);
                    }
                    14 => {
                        let c = pick(&mut r, &caches);
                        match r.below(3) {
                            0 => {
                                m.validate_slab_cache(c);
                            }
                            1 => {
                                m.kmem_cache_shrink(c);
                            }
                            _ => m.kmem_cache_destroy(c),
                        }
                    }
                    15 => {
                        let p = match r.below(3) {
                            0 => m.mempool_create_kmalloc_pool(r.below(6), r.below(10000)),
                            1 => {
                                let c = pick(&mut r, &caches);
                                m.mempool_create_slab_pool(r.below(6), c)
                            }
                            _ => m.mempool_create_page_pool(r.below(6), r.below(12) as u32),
                        };
                        if p != 0 {
                            pools.push(p);
                        }
                    }
                    16 => {
                        let pool = pick(&mut r, &pools);
                        let e = m.mempool_alloc(pool, gfp);
                        if e != 0 {
                            ptrs.push(e);
                        }
                    }
                    17 => {
                        let pool = pick(&mut r, &pools);
                        let e = pick(&mut r, &ptrs);
                        m.mempool_free(e, pool);
                    }
                    18 => {
                        let pool = pick(&mut r, &pools);
                        m.mempool_destroy(pool);
                    }
                    _ => match r.below(6) {
                        0 => m.spin_lock(),
                        1 => m.spin_unlock(),
                        2 => m.irq_enter(),
                        3 => m.irq_exit(),
                        4 => {
                            let _ = m.proc_slabinfo();
                            let _ = m.kmem_caches();
                        }
                        _ => {
                            let p = pick(&mut r, &ptrs);
                            let _ = m.slab_object_info(p);
                        }
                    },
                }
                m.take_reports();
                m.take_warnings();
            }
        }
    }
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
