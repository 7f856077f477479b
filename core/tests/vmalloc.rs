//! vmalloc, vmap and /proc/vmallocinfo end to end on a booted machine.

use kmem::gfp::*;
use kmem::{BootConfig, Machine, ReportKind, PAGE_SIZE};

fn boot(words: &[&str]) -> Machine {
    Machine::boot(&BootConfig::parse_words(words.iter().copied()).unwrap()).unwrap()
}

/// Moves the model's clock (jiffies: the statement index) past warn_alloc()'s rate limit of
/// one warning in 10 seconds.
fn later(m: &mut Machine) {
    let now = m.log().jiffies();
    m.set_caller(now + 11);
}

fn kinds(m: &mut Machine) -> Vec<ReportKind> {
    m.take_reports().into_iter().map(|r| r.kind).collect()
}

#[test]
fn areas_are_first_fit_with_a_guard_page_that_faults() {
    let mut m = boot(&["mem=1G"]);
    let start = m.layout().vmalloc_start;
    let a = m.vmalloc(3 * PAGE_SIZE);
    assert_eq!(a, start);
    let b = m.vmalloc(100);
    assert_eq!(b, start + 4 * PAGE_SIZE, "3 pages + 1 guard page");
    assert!(m.write(a, 3 * PAGE_SIZE, 0x11));
    assert!(m.take_reports().is_empty());
    // The guard page right after the area.
    assert!(!m.write(a + 3 * PAGE_SIZE, 1, 0x22));
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::PageFault);
    assert!(r[0]
        .text
        .starts_with("BUG: unable to handle page fault for address: f7801000"));
    // Reading across the end of b faults too.
    assert!(m.read(b, PAGE_SIZE + 1).is_none());
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
    // A freed area faults, and once the lazy list is purged its range is reused by first
    // fit.
    m.vfree(a);
    assert!(m.read(a, 1).is_none());
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
    m.vm_unmap_aliases();
    let c = m.vmalloc(2 * PAGE_SIZE);
    assert_eq!(c, start);
    let d = m.vmalloc(2 * PAGE_SIZE);
    assert_eq!(
        d,
        start + 6 * PAGE_SIZE,
        "the 1-page hole left is too small"
    );
    let areas: Vec<_> = m
        .vm_areas()
        .map(|v| (v.addr, v.size, v.pages.len()))
        .collect();
    assert_eq!(
        areas,
        [
            (c, 3 * PAGE_SIZE, 2),
            (b, 2 * PAGE_SIZE, 1),
            (d, 3 * PAGE_SIZE, 2)
        ]
    );
    assert!(m.vm_areas().all(|v| v.guard));
    assert_eq!(m.nr_vmalloc_pages(), 5);
    assert!(m.take_reports().is_empty());
}

#[test]
fn vmalloc_uses_highmem_and_vmalloc_32_lowmem_on_i386() {
    let mut m = boot(&["mem=1G"]);
    let a = m.vmalloc(8 * PAGE_SIZE);
    let v = m.find_vm_area(a).unwrap().clone();
    assert_eq!(v.pages.len(), 8);
    assert!(v.pages.iter().all(|&p| m.layout().is_highmem_pfn(p)));
    let b = m.vmalloc_32(8 * PAGE_SIZE);
    let v = m.find_vm_area(b).unwrap().clone();
    assert!(v.pages.iter().all(|&p| !m.layout().is_highmem_pfn(p)));
    assert!(v.pages.iter().all(|&p| p < m.layout().max_low_pfn));
    // x86_64: vmalloc_32 pages lie below 4 GiB.
    let mut m = boot(&["arch=x86_64", "mem=8G"]);
    let b = m.vmalloc_32(4 * PAGE_SIZE);
    let v = m.find_vm_area(b).unwrap().clone();
    assert!(v.pages.iter().all(|&p| p < (4u64 << 30) >> 12));
    assert!(m.take_reports().is_empty());
}

#[test]
fn vzalloc_is_zeroed_and_vmalloc_to_page_matches_the_mapping() {
    let mut m = boot(&["mem=1G"]);
    let a = m.vzalloc(5 * PAGE_SIZE + 7);
    assert_ne!(a, 0);
    assert!(m.read(a, 6 * PAGE_SIZE).unwrap().iter().all(|&b| b == 0));
    let v = m.find_vm_area(a).unwrap().clone();
    assert_eq!(v.usable_size(), 6 * PAGE_SIZE);
    for (i, &pfn) in v.pages.iter().enumerate() {
        let va = a + i as u64 * PAGE_SIZE + 123;
        assert_eq!(m.vmalloc_to_page(va), m.layout().page_ptr(pfn));
        assert_eq!(m.vmalloc_to_pfn(va), pfn);
        assert_eq!(m.translate(va), Some((pfn << 12) + 123));
    }
    // The guard page maps nothing.
    assert_eq!(m.vmalloc_to_page(a + 6 * PAGE_SIZE), 0);
    assert!(m.is_vmalloc_addr(a));
    assert!(!m.is_vmalloc_addr(0xc000_0000));
    assert!(m.take_reports().is_empty());
}

#[test]
fn vmap_aliases_agree_with_page_address_and_kmap() {
    let mut m = boot(&["mem=1G"]);
    let low = m.alloc_pages(GFP_KERNEL, 0);
    let high = m.alloc_pages(GFP_HIGHUSER, 0);
    let v = m.vmap(&[low, high]);
    assert_ne!(v, 0);
    assert!(m.write(v, 2 * PAGE_SIZE, 0x5c));
    let la = m.page_address(low);
    assert_eq!(
        m.read(la, PAGE_SIZE).unwrap(),
        vec![0x5c; PAGE_SIZE as usize]
    );
    let ka = m.kmap(high);
    assert_eq!(
        m.read(ka, PAGE_SIZE).unwrap(),
        vec![0x5c; PAGE_SIZE as usize]
    );
    assert!(m.write(ka + 10, 1, 0x77));
    assert_eq!(m.read(v + PAGE_SIZE + 10, 1).unwrap(), [0x77]);
    m.kunmap(high);
    assert_eq!(m.vmalloc_to_page(v + PAGE_SIZE), high);
    assert!(m.proc_vmallocinfo().contains(" 12288 op_0+0x0/0x1 vmap\n"));
    // vunmap does not free the pages.
    m.vunmap(v);
    assert!(m.read(v, 1).is_none());
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
    assert_eq!(m.read(la, 1).unwrap(), [0x5c]);
    m.__free_pages(low, 0);
    m.__free_pages(high, 0);
    assert!(m.take_reports().is_empty());
    // A NULL page in the array: WARN, NULL, nothing left behind.
    let low = m.alloc_pages(GFP_KERNEL, 0);
    assert_eq!(m.vmap(&[low, 0]), 0);
    assert_eq!(m.take_warnings().len(), 1);
    assert_eq!(m.vm_areas().count(), 0);
    assert_eq!(m.vmalloc_to_page(v), 0, "no PTE left behind");
    assert_eq!(m.vmap(&[]), 0);
    assert!(m.take_reports().is_empty());
}

#[test]
fn bad_vfrees_are_reported() {
    let mut m = boot(&["mem=1G"]);
    let a = m.vmalloc(2 * PAGE_SIZE);
    m.vfree(a);
    assert!(m.take_reports().is_empty());
    m.vfree(a);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::DoubleFree);
    assert!(r[0]
        .text
        .contains(&format!("Trying to vfree() nonexistent vm area ({a:08x})")));
    assert!(r[0]
        .text
        .contains("WARNING: CPU: 0 PID: 1 at mm/vmalloc.c:"));
    // Interior addresses: page aligned, and not.
    let b = m.vmalloc(3 * PAGE_SIZE);
    m.vfree(b + PAGE_SIZE);
    assert_eq!(kinds(&mut m), [ReportKind::InvalidFree]);
    m.vfree(b + 5);
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::InvalidFree);
    assert!(r[0].text.contains("Trying to vfree() bad address"));
    assert!(r[0].text.contains("Trying to vfree() nonexistent vm area"));
    // The area is intact.
    assert!(m.write(b, 3 * PAGE_SIZE, 1));
    // Unknown addresses: a direct-map address, garbage.
    let p = m.__get_free_page(GFP_KERNEL);
    m.vfree(p);
    m.vfree(0x1234_5000);
    assert_eq!(
        kinds(&mut m),
        [ReportKind::InvalidFree, ReportKind::InvalidFree]
    );
    m.vfree(0);
    m.vunmap(b + PAGE_SIZE);
    let r = m.take_reports();
    assert!(r[0].text.contains("Trying to vunmap() nonexistent vm area"));
    m.vfree(b);
    m.vunmap(b);
    assert_eq!(kinds(&mut m), [ReportKind::DoubleFree]);
    // A reused address is live again, not "already freed".
    m.vm_unmap_aliases();
    let c = m.vmalloc(PAGE_SIZE);
    assert_eq!(c, a);
    m.vfree(c);
    assert!(m.take_reports().is_empty());
}

#[test]
fn vmalloc_in_atomic_or_interrupt_context() {
    let mut m = boot(&["mem=1G"]);
    m.spin_lock();
    let a = m.vmalloc(PAGE_SIZE);
    assert_ne!(a, 0, "Linux goes on after the BUG message");
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, ReportKind::SleepInAtomic);
    assert!(r[0].text.starts_with(
        "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:306"
    ));
    m.vfree(a);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    m.spin_unlock();
    m.irq_enter();
    assert_eq!(m.vmalloc(PAGE_SIZE), 0);
    let r = m.take_reports();
    assert_eq!(r[0].kind, ReportKind::SleepInAtomic);
    assert!(r[0].text.contains("kernel BUG at mm/vmalloc.c:"));
    m.irq_exit();
    assert_eq!(m.vm_areas().count(), 0);
    // Sleeping under kmap_atomic.
    let page = m.alloc_pages(GFP_HIGHUSER, 0);
    let k = m.kmap_atomic(page);
    let b = m.vzalloc(PAGE_SIZE);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    m.kunmap_atomic(k);
    m.vfree(b);
    assert!(m.take_reports().is_empty());
}

#[test]
fn vfree_in_interrupt_is_deferred_then_done() {
    let mut m = boot(&["mem=1G"]);
    let a = m.vmalloc(2 * PAGE_SIZE);
    let b = m.vmalloc(PAGE_SIZE);
    let pages_before = m.nr_vmalloc_pages();
    m.irq_enter();
    m.vfree(a);
    m.vfree(b);
    assert!(
        m.take_reports().is_empty(),
        "vfree() from an interrupt is legal"
    );
    assert_eq!(m.deferred_vfrees(), [a, b]);
    assert!(m.find_vm_area(a).is_some(), "not freed yet");
    assert_eq!(m.nr_vmalloc_pages(), pages_before);
    // The llist node: b's first word points at a.
    assert_eq!(m.read(b, 4).unwrap(), (a as u32).to_le_bytes());
    m.irq_exit();
    // The next vmalloc-family call in process context runs the work first.
    let c = m.vmalloc(PAGE_SIZE);
    assert!(m.deferred_vfrees().is_empty());
    assert!(m.find_vm_area(b).is_none() || c == b);
    assert!(c > b, "a's and b's ranges wait on the lazy purge list");
    assert_eq!(m.vmap_lazy_ranges().len(), 2);
    assert_eq!(m.nr_vmalloc_pages(), 1);
    assert!(m.take_reports().is_empty());
    // Explicitly, and a bogus address queued from an interrupt is reported when the work runs.
    m.irq_enter();
    m.vfree(c);
    m.irq_exit();
    m.delayed_vfree_work();
    assert_eq!(m.vm_areas().count(), 0);
    let p = m.__get_free_page(GFP_KERNEL);
    m.irq_enter();
    m.vfree(p);
    m.irq_exit();
    assert!(m.take_reports().is_empty());
    m.delayed_vfree_work();
    assert_eq!(kinds(&mut m), [ReportKind::InvalidFree]);
    // An unmapped address oopses in llist_add().
    m.irq_enter();
    m.vfree(m.layout().vmalloc_start + 100 * PAGE_SIZE);
    m.irq_exit();
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
    assert!(m.deferred_vfrees().is_empty());
}

#[test]
fn exhaustion_returns_null_with_the_kernel_warning() {
    // Out of pages: the watermarks keep GFP_KERNEL from taking every managed page.
    let mut m = boot(&["mem=32M"]);
    let free_before: u64 = (0..m.zones().len())
        .map(|z| m.page_allocator().free_pages(z))
        .sum();
    let total: u64 = m.zones().iter().map(|z| z.managed).sum();
    assert_eq!(m.vmalloc(total * PAGE_SIZE), 0);
    let w = m.take_warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("init: vmalloc error: size ")
            && w[0].contains(", failed to allocate pages, mode:0xcc2(GFP_KERNEL|__GFP_HIGHMEM)"),
        "{}",
        w[0]
    );
    let free_after: u64 = (0..m.zones().len())
        .map(|z| m.page_allocator().free_pages(z))
        .sum();
    assert_eq!(free_before, free_after, "partial allocations are freed");
    assert_eq!(m.vm_areas().count(), 0);
    assert_eq!(m.nr_vmalloc_pages(), 0);
    // More than total RAM.
    later(&mut m);
    assert_eq!(m.vmalloc(64 << 20), 0);
    let w = m.take_warnings();
    assert!(
        w[0].contains("vmalloc error: size 67108864, exceeds total pages, mode:0xcc0(GFP_KERNEL)")
    );
    // Zero size: WARN_ON_ONCE, once per boot.
    assert_eq!(m.vmalloc(0), 0);
    assert_eq!(m.take_warnings().len(), 1);
    assert_eq!(m.vmalloc(0), 0);
    assert!(m.take_warnings().is_empty());
    // Out of address space: i386 1G has 120 MiB of vmalloc space.
    let mut m = boot(&["mem=1G"]);
    let space = m.layout().vmalloc_end - m.layout().vmalloc_start;
    // The whole space at once: the area fits, its page array's own area does not. The
    // array's vmalloc warns first, and warn_alloc()'s rate limit (one in 10 seconds) holds
    // back the outer "failed to allocated page array" that follows in the same call.
    assert_eq!(m.vmalloc(space - PAGE_SIZE), 0);
    let w = m.take_warnings();
    assert!(w.iter().any(|l| l.contains(&format!(
        "vmalloc error: size {}, vm_struct allocation failed",
        (space - PAGE_SIZE) / PAGE_SIZE * 4
    ))));
    assert!(!w
        .iter()
        .any(|l| l.contains("failed to allocated page array")));
    assert_eq!(m.vm_areas().count(), 0);
    let big = m.vmalloc(space - 64 * PAGE_SIZE);
    assert_ne!(big, 0);
    assert!(m.find_vm_area(big).unwrap().pages_array.is_some());
    let mut n = 0;
    later(&mut m);
    while m.vmalloc(PAGE_SIZE) != 0 {
        n += 1;
    }
    assert!(n > 0 && n < 64);
    let w = m.take_warnings();
    assert!(w
        .iter()
        .any(|l| l.starts_with("vmap allocation for size 8192 failed")));
    assert!(w
        .iter()
        .any(|l| l.contains("vmalloc error: size 4096, vm_struct allocation failed, mode:0xcc0")));
    assert!(m.take_reports().is_empty());
}

#[test]
fn proc_vmallocinfo_format() {
    let mut m = boot(&["mem=1G"]);
    m.set_vmalloc_caller(Some("kmem_test+0x25/0x80".into()));
    let a = m.vmalloc(2 * PAGE_SIZE);
    m.set_vmalloc_caller(None);
    let _b = m.vzalloc(1);
    // 2000 pages: the page array (8000 bytes) is itself vmalloc'ed.
    let c = m.vmalloc(2000 * PAGE_SIZE);
    let info = m.proc_vmallocinfo();
    let lines: Vec<&str> = info.lines().collect();
    assert_eq!(
        lines[0],
        "0xf77fe000-0xf7801000   12288 kmem_test+0x25/0x80 pages=2 vmalloc"
    );
    assert_eq!(
        lines[1],
        "0xf7801000-0xf7803000    8192 op_0+0x0/0x1 pages=1 vmalloc"
    );
    assert_eq!(
        lines[2],
        format!(
            "0x{c:08x}-0x{:08x} {:7} op_0+0x0/0x1 pages=2000 vmalloc vpages",
            c + 2001 * PAGE_SIZE,
            2001 * PAGE_SIZE
        )
    );
    // The page array's area follows, with the caller of the area it serves.
    assert_eq!(
        lines[3],
        format!(
            "0x{:08x}-0x{:08x}   12288 op_0+0x0/0x1 pages=2 vmalloc",
            c + 2001 * PAGE_SIZE,
            c + 2004 * PAGE_SIZE
        )
    );
    assert_eq!(lines.len(), 4);
    m.vfree(c);
    m.vfree(a);
    assert_eq!(m.proc_vmallocinfo().lines().count(), 1);
    // x86_64: 16 hex digits and the NUMA node counts.
    let mut m = boot(&["arch=x86_64", "mem=1G"]);
    m.vmalloc(PAGE_SIZE);
    assert_eq!(
        m.proc_vmallocinfo(),
        "0xffffc90000000000-0xffffc90000002000    8192 op_0+0x0/0x1 pages=1 vmalloc N0=1\n"
    );
}

#[test]
fn x86_64_vmalloc() {
    let mut m = boot(&["arch=x86_64", "mem=1G"]);
    let a = m.vmalloc(10 * PAGE_SIZE);
    assert_eq!(a, 0xffff_c900_0000_0000);
    assert!(m.write(a, 10 * PAGE_SIZE, 3));
    assert!(!m.write(a + 10 * PAGE_SIZE, 1, 3));
    let r = m.take_reports();
    assert!(r[0]
        .text
        .starts_with("BUG: unable to handle page fault for address: ffffc9000000a000"));
    m.vfree(a);
    m.vfree(a);
    let r = m.take_reports();
    assert!(r[0]
        .text
        .contains("Trying to vfree() nonexistent vm area (ffffc90000000000)"));
}

#[test]
fn debug_virtual_rejects_vmalloc_to_page_of_the_direct_map() {
    let mut m = boot(&["mem=128M", "debug_virtual=1"]);
    assert_eq!(m.vmalloc_to_page(0xc100_0000), 0);
    assert_eq!(kinds(&mut m), [ReportKind::BadVirtToPhys]);
    let a = m.vmalloc(PAGE_SIZE);
    assert_ne!(m.vmalloc_to_page(a), 0);
    assert!(m.take_reports().is_empty());
}

/// A small xorshift generator: the test needs no dependency and stays deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[test]
fn random_sequences_never_panic() {
    for (seed, arch) in [(1u64, "i386"), (2, "x86_64"), (3, "i386"), (4, "i386")] {
        let mem = if seed == 4 { "mem=48M" } else { "mem=1G" };
        let mut m = boot(&[&format!("arch={arch}"), mem]);
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut addrs: Vec<u64> = vec![0];
        let mut pages: Vec<u64> = vec![0];
        for _ in 0..3000 {
            let pick = |rng: &mut Rng, v: &Vec<u64>| v[rng.below(v.len() as u64) as usize];
            let fuzz = |rng: &mut Rng, v: u64| match rng.below(6) {
                0 => v.wrapping_add(rng.below(3 * PAGE_SIZE)),
                1 => v.wrapping_sub(rng.below(PAGE_SIZE)),
                2 => rng.next(),
                _ => v,
            };
            match rng.below(22) {
                0 => addrs.push(m.vmalloc(rng.below(64 * PAGE_SIZE))),
                1 => addrs.push(m.vzalloc(rng.below(8 * PAGE_SIZE))),
                2 if rng.below(2) == 0 => addrs.push(m.vmalloc_32(rng.below(8 * PAGE_SIZE))),
                2 => {
                    let align = match rng.below(4) {
                        0 => rng.next(),
                        _ => 1 << rng.below(64),
                    };
                    let size = rng.below(16 * PAGE_SIZE);
                    addrs.push(m.__vmalloc_node(size, align, GFP_KERNEL | __GFP_ZERO))
                }
                3 => {
                    let a = pick(&mut rng, &addrs);
                    let a = fuzz(&mut rng, a);
                    m.vfree(a)
                }
                4 => {
                    let n = rng.below(5) as usize;
                    let ps: Vec<u64> = (0..n)
                        .map(|_| {
                            let p = pick(&mut rng, &pages);
                            fuzz(&mut rng, p)
                        })
                        .collect();
                    addrs.push(m.vmap(&ps))
                }
                5 => {
                    let a = pick(&mut rng, &addrs);
                    m.vunmap(fuzz(&mut rng, a))
                }
                6 => {
                    let a = pick(&mut rng, &addrs);
                    let a = fuzz(&mut rng, a);
                    pages.push(m.vmalloc_to_page(a))
                }
                7 => pages.push(m.alloc_pages(GFP_HIGHUSER, rng.below(2) as u32)),
                8 => {
                    let p = pick(&mut rng, &pages);
                    m.__free_pages(p, 0)
                }
                9 => {
                    let p = pick(&mut rng, &pages);
                    addrs.push(m.kmap(fuzz(&mut rng, p)))
                }
                10 => {
                    let p = pick(&mut rng, &pages);
                    m.kunmap(fuzz(&mut rng, p))
                }
                11 => {
                    let p = pick(&mut rng, &pages);
                    addrs.push(m.kmap_atomic(fuzz(&mut rng, p)))
                }
                12 => {
                    let a = pick(&mut rng, &addrs);
                    m.kunmap_atomic(fuzz(&mut rng, a))
                }
                13 => {
                    let p = pick(&mut rng, &pages);
                    addrs.push(m.kmap_local_page(fuzz(&mut rng, p)))
                }
                14 => {
                    let a = pick(&mut rng, &addrs);
                    m.kunmap_local(fuzz(&mut rng, a))
                }
                15 => {
                    let a = pick(&mut rng, &addrs);
                    let a = fuzz(&mut rng, a);
                    m.write(a, rng.below(2 * PAGE_SIZE), 0x42);
                }
                16 => {
                    let a = pick(&mut rng, &addrs);
                    m.read(a, rng.below(64));
                }
                17 => match rng.below(6) {
                    0 => m.irq_enter(),
                    1 => m.irq_exit(),
                    2 => m.spin_lock(),
                    3 => m.spin_unlock(),
                    4 => m.preempt_disable(),
                    _ => m.preempt_enable(),
                },
                18 => m.delayed_vfree_work(),
                19 => {
                    let p = pick(&mut rng, &pages);
                    let a = m.page_address(p);
                    addrs.push(a)
                }
                20 => m.kmap_flush_unused(),
                _ => {
                    let _ = m.proc_vmallocinfo();
                    let _ = m.pkmap_slots();
                }
            }
            m.take_reports();
            m.take_warnings();
        }
        // The bookkeeping stays consistent: areas do not overlap and lie in the range.
        let l = m.layout().clone();
        let mut prev_end = l.vmalloc_start;
        for v in m.vm_areas() {
            assert!(v.addr >= prev_end && v.end() <= l.vmalloc_end);
            prev_end = v.end();
        }
        let free: u64 = m.vmalloc_free_ranges().map(|(s, e)| e - s).sum();
        let used: u64 = m.vm_areas().map(|v| v.size).sum();
        let lazy: u64 = m.vmap_lazy_ranges().iter().map(|(s, e)| e - s).sum();
        assert_eq!(lazy, m.vmap_lazy_nr() * PAGE_SIZE);
        assert_eq!(free + used + lazy, l.vmalloc_end - l.vmalloc_start);
    }
}

#[test]
fn vmalloc_node_aligns_the_area_start() {
    let mut m = boot(&["mem=1G"]);
    let start = m.layout().vmalloc_start;
    // Alignments up to PAGE_SIZE change nothing: lowest first fit.
    let a = m.__vmalloc_node(PAGE_SIZE, 1, GFP_KERNEL);
    assert_eq!(a, start);
    let b = m.__vmalloc_node(PAGE_SIZE, PAGE_SIZE, GFP_KERNEL);
    assert_eq!(b, start + 2 * PAGE_SIZE);
    // 64K: the lowest block of size + 64K - 1 bytes, its start rounded up.
    let c = m.__vmalloc_node(5 * PAGE_SIZE, 0x10000, GFP_KERNEL | __GFP_ZERO);
    assert_eq!(c, (start + 4 * PAGE_SIZE).next_multiple_of(0x10000));
    assert_eq!(
        m.read(c, 5 * PAGE_SIZE).unwrap(),
        vec![0; 5 * PAGE_SIZE as usize]
    );
    // The hole left below the aligned area is used by the next small request.
    let d = m.vmalloc(PAGE_SIZE);
    assert_eq!(d, start + 4 * PAGE_SIZE);
    // The guard page follows the aligned area.
    assert!(!m.write(c + 5 * PAGE_SIZE, 1, 1));
    assert_eq!(kinds(&mut m), [ReportKind::PageFault]);
    for p in [a, b, c, d] {
        m.vfree(p);
    }
    assert_eq!(m.vm_areas().count(), 0);
    m.vm_unmap_aliases();
    assert_eq!(
        m.vmalloc_free_ranges().collect::<Vec<_>>(),
        [(start, m.layout().vmalloc_end)]
    );
    assert!(m.take_reports().is_empty() && m.take_warnings().is_empty());
}

#[test]
fn vmalloc_node_rejects_bad_and_impossible_alignments() {
    let mut m = boot(&["mem=1G"]);
    // Not a power of two: alloc_vmap_area()'s -EINVAL, no vmap warning.
    for align in [0, 3, 0x3000] {
        later(&mut m);
        assert_eq!(m.__vmalloc_node(PAGE_SIZE, align, GFP_KERNEL), 0);
        let w = m.take_warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with(
            "init: vmalloc error: size 4096, vm_struct allocation failed, mode:0xcc0(GFP_KERNEL)"
        ));
    }
    // An alignment no free block can honour (i386: 120 MiB of vmalloc space): the
    // search for size + align - 1 bytes fails, as align_shift_alloc_test expects.
    assert_eq!(m.__vmalloc_node(PAGE_SIZE, 1 << 31, GFP_KERNEL), 0);
    let w = m.take_warnings();
    assert!(
        w[0].starts_with("vmap allocation for size 8192 failed"),
        "{w:?}"
    );
    // 1 << 32 is 0 as an unsigned long on i386: not a power of two.
    assert_eq!(
        m.__vmalloc_node(PAGE_SIZE, 1 << 32, GFP_KERNEL | __GFP_NOWARN),
        0
    );
    assert!(m.take_warnings().is_empty());
    // The largest alignment that fits still works.
    let a = m.__vmalloc_node(PAGE_SIZE, 1 << 26, GFP_KERNEL);
    assert_ne!(a, 0);
    assert_eq!(a % (1 << 26), 0);
    m.vfree(a);
    // x86_64: up to 1 << 63 never overflows the search length.
    let mut m = boot(&["arch=x86_64", "mem=1G"]);
    assert_eq!(
        m.__vmalloc_node(PAGE_SIZE, 1 << 63, GFP_KERNEL | __GFP_NOWARN),
        0
    );
    let a = m.__vmalloc_node(PAGE_SIZE, 1 << 40, GFP_KERNEL);
    assert_eq!(a % (1 << 40), 0);
    assert_ne!(a, 0);
    assert!(m.take_reports().is_empty());
}

#[test]
fn vmalloc_node_sleeps_even_with_a_non_blocking_mask() {
    let mut m = boot(&["mem=1G"]);
    m.spin_lock();
    // GFP_ATOMIC: the vm_struct's kzalloc does not check, alloc_vmap_area()'s might_sleep does.
    let a = m.__vmalloc_node(PAGE_SIZE, 1, GFP_ATOMIC);
    assert_ne!(a, 0);
    let r = m.take_reports();
    assert_eq!(r.len(), 1);
    assert!(r[0].text.contains("at mm/vmalloc.c:"), "{}", r[0].text);
    // A bad alignment fails before that might_sleep.
    assert_eq!(m.__vmalloc_node(PAGE_SIZE, 3, GFP_ATOMIC), 0);
    assert!(m.take_reports().is_empty());
    // With GFP_KERNEL the vm_struct's allocation reports first, whatever the alignment.
    assert_eq!(m.__vmalloc_node(PAGE_SIZE, 3, GFP_KERNEL), 0);
    assert_eq!(kinds(&mut m), [ReportKind::SleepInAtomic]);
    m.spin_unlock();
    m.vfree(a);
    assert!(m.take_reports().is_empty());
}
