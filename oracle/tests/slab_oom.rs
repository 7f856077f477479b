//! slab_out_of_memory()'s "SLUB: Unable to allocate memory" lines are judged: the scenario
//! corpus/regressions/warn-alloc-slab-and-large-kmalloc.kmem (a cache's allocation, a large
//! kmalloc and a kmalloc cache's allocation failing for want of memory, then a cache's
//! allocation with __GFP_NOWARN) prints them where SLUB does, and a machine whose count of
//! those lines at a call is changed fails at that call.

mod common;

const SLAB_AND_LARGE: &str =
    include_str!("../../corpus/regressions/warn-alloc-slab-and-large-kmalloc.kmem");

/// The `warning` failures about slab_out_of_memory(), as `line: message`, with the
/// machine's count of its lines at each call changed by `tamper(line, count)`.
fn judged(tamper: &dyn Fn(u32, u32) -> u32) -> Vec<String> {
    common::warning_failures(
        SLAB_AND_LARGE,
        &|m, line, _| tamper(line, m.take_slab_oom()),
        &|model, j, now, n| model.judge_slab_oom(j, now, n),
    )
}

#[test]
fn slab_allocations_that_fail_print_where_slub_does() {
    assert!(judged(&|_, n| n).is_empty());
    let printed = std::cell::RefCell::new(vec![]);
    judged(&|line, n| {
        printed.borrow_mut().extend((0..n).map(|_| line));
        n
    });
    // The cache's allocation and the kmalloc cache's last call; not the large kmalloc
    // (the page allocator's), not the allocation with __GFP_NOWARN.
    assert_eq!(printed.into_inner(), [21, 43]);
}

#[test]
fn a_missing_or_extra_line_is_caught() {
    let first = |tamper: &dyn Fn(u32, u32) -> u32| judged(tamper).into_iter().next();
    for line in [21, 43] {
        let f = first(&|l, n| if l == line { 0 } else { n });
        assert!(
            f.as_deref().is_some_and(
                |f| f.starts_with(&format!("{line}: ")) && f.contains("printed nothing")
            ),
            "{f:?}"
        );
    }
    // The page allocator's failure (line 10, the repeat's last call) and the large kmalloc
    // (32) allocate no slab; line 45 has __GFP_NOWARN.
    for (line, what) in [
        (10, "no slab allocation"),
        (32, "no slab allocation"),
        (45, "__GFP_NOWARN"),
    ] {
        let f = first(&|l, n| n + u32::from(l == line));
        assert!(
            f.as_deref()
                .is_some_and(|f| f.starts_with(&format!("{line}: ")) && f.contains(what)),
            "line {line}: {f:?}"
        );
    }
}
