//! SLUB's debug reports in the kernel's format: red zones, poison, padding, double and
//! invalid frees, wrong caches, the objects-remaining listing, corrupt free pointers.

use super::*;

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
