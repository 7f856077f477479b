//! warn_alloc() is judged: a scenario that makes allocations fail every way (without
//! __GFP_NOWARN, with it, inside the ratelimit's window, past it, from vmalloc; the
//! regression corpus/regressions/warn-alloc-nowarn-and-ratelimit.kmem; a slab cache and a
//! large kmalloc, warn-alloc-slab-and-large-kmalloc.kmem; vmalloc's failures,
//! warn-alloc-vmalloc.kmem) passes on the
//! machine, and fails at the right statement once the machine's count of warn_alloc()
//! prints at one call is changed, as a machine whose warn_alloc() were wrong would print.

mod common;

use kmem_oracle::{check, parse};

/// Memory exhausted by the repeat at line 5 (its last call fails and prints), then failures
/// with __GFP_NOWARN (6), inside the window (7, 8: vmalloc), eight statements that move the
/// clock, and a failure past the window (17, statement 13, more than 10 after statement 1).
const SCENARIO: &str =
    include_str!("../../corpus/regressions/warn-alloc-nowarn-and-ratelimit.kmem");

/// Changes the count of warn_alloc() prints of a call: (line, the call's value, count).
type Tamper<'a> = &'a dyn Fn(u32, u64, u32) -> u32;

/// Memory exhausted by the repeat at line 10, then a cache's allocation that needs a new
/// slab (21), a large kmalloc (32) and a repeat of kmallocs from a kmalloc cache made before
/// (43, its last call) failing past the window, each more than 10 statements after the
/// print before it; a cache's allocation with __GFP_NOWARN (45).
const SLAB_AND_LARGE: &str =
    include_str!("../../corpus/regressions/warn-alloc-slab-and-large-kmalloc.kmem");

/// vmalloc failing past the window each time: more than totalram_pages() (line 7), a bad
/// alignment (19), no pages left after the repeat at line 30 (41); a size of 0 (8) and
/// __GFP_NOWARN (42) print nothing.
const VMALLOC: &str = include_str!("../../corpus/regressions/warn-alloc-vmalloc.kmem");

/// The model's `warning` failures, as `line: message`, for [`SCENARIO`] run on the machine
/// with its warn_alloc() counts changed by `tamper`.
fn judged(tamper: Tamper<'_>) -> Vec<String> {
    judged_in(SCENARIO, tamper)
}

/// [`judged`] for the scenario `text`.
fn judged_in(text: &str, tamper: Tamper<'_>) -> Vec<String> {
    common::warning_failures(
        text,
        &|m, line, value| tamper(line, value, m.take_warn_alloc()),
        &|model, j, now, n| model.judge_warn_alloc(j, now, n),
    )
}

/// A machine that prints one warning more at line `at`.
fn add_at(at: u32) -> impl Fn(u32, u64, u32) -> u32 {
    move |line, _, n| n + u32::from(line == at)
}

/// A machine that prints nothing at line `at`.
fn drop_at(at: u32) -> impl Fn(u32, u64, u32) -> u32 {
    move |line, _, n| if line == at { 0 } else { n }
}

/// The failures with `tamper`: the first at `line`, about `what` (later ones may follow:
/// the window moves with what the machine printed).
fn caught(line: u32, what: &str, tamper: Tamper<'_>) {
    caught_in(SCENARIO, line, what, tamper)
}

/// [`caught`] for the scenario `text`.
fn caught_in(text: &str, line: u32, what: &str, tamper: Tamper<'_>) {
    let failures = judged_in(text, tamper);
    assert!(
        failures
            .first()
            .is_some_and(|f| f.starts_with(&format!("{line}: ")) && f.contains(what)),
        "expected a failure at line {line} about {what:?} first, got {failures:#?}"
    );
}

#[test]
fn the_scenario_passes_and_prints_where_linux_does() {
    let v = check(&parse(SCENARIO).unwrap());
    assert!(v.pass(), "{}", v.explain());
    assert!(judged(&|_, _, n| n).is_empty());
    // The machine's own prints: the repeat's failing call and the one past the window.
    let printed = std::cell::RefCell::new(vec![]);
    judged(&|line, _, n| {
        printed.borrow_mut().extend((0..n).map(|_| line));
        n
    });
    assert_eq!(printed.into_inner(), [5, 17]);
}

#[test]
fn a_missing_print_is_caught() {
    caught(5, "printed no warn_alloc()", &|line, value, n| {
        if line == 5 && value == 0 {
            0
        } else {
            n
        }
    });
    caught(17, "printed no warn_alloc()", &|line, _, n| {
        if line == 17 {
            0
        } else {
            n
        }
    });
}

#[test]
fn a_print_linux_would_not_make_is_caught() {
    caught(6, "__GFP_NOWARN", &add_at(6));
    caught(7, "holds back", &add_at(7));
    caught(8, "holds back", &add_at(8));
    // The repeat's first call, which succeeded.
    let first = std::cell::Cell::new(true);
    caught(5, "did not fail", &|line, _, n| {
        n + u32::from(line == 5 && first.replace(false))
    });
    caught(17, "in one call", &add_at(17));
    // A print the ratelimit's window does not allow is caught at the statement it comes
    // from, and moves the window: line 17 is then inside it, and its print is too.
    let failures = judged(&add_at(9));
    assert!(failures.len() == 2, "{failures:#?}");
    assert!(failures[0].starts_with("9: ") && failures[0].contains("did not fail"));
    assert!(failures[1].starts_with("17: ") && failures[1].contains("holds back"));
}

/// `text` passes, on the machine and with its prints judged, and the machine printed at
/// exactly the lines `at`.
fn passes_printing_at(text: &str, at: &[u32]) {
    let v = check(&parse(text).unwrap());
    assert!(v.pass(), "{}", v.explain());
    assert!(judged_in(text, &|_, _, n| n).is_empty());
    let printed = std::cell::RefCell::new(vec![]);
    judged_in(text, &|line, _, n| {
        printed.borrow_mut().extend((0..n).map(|_| line));
        n
    });
    assert_eq!(printed.into_inner(), at);
}

#[test]
fn slab_caches_and_a_large_kmalloc_that_fail_print_where_linux_does() {
    passes_printing_at(SLAB_AND_LARGE, &[10, 21, 32, 43]);
}

#[test]
fn a_slab_cache_or_kmalloc_that_fails_without_a_print_is_caught() {
    for line in [21, 32, 43] {
        caught_in(
            SLAB_AND_LARGE,
            line,
            "printed no warn_alloc()",
            &drop_at(line),
        );
    }
    caught_in(SLAB_AND_LARGE, 45, "__GFP_NOWARN", &add_at(45));
}

#[test]
fn vmalloc_failures_print_where_linux_does() {
    passes_printing_at(VMALLOC, &[7, 19, 30, 41]);
}

#[test]
fn a_vmalloc_that_fails_without_a_print_is_caught() {
    for line in [7, 19, 41] {
        caught_in(VMALLOC, line, "printed no warn_alloc()", &drop_at(line));
    }
    caught_in(VMALLOC, 8, "before it allocated anything", &add_at(8));
    caught_in(VMALLOC, 42, "__GFP_NOWARN", &add_at(42));
}
