//! The harness proves it finds bugs: deliberately broken page allocators behind the
//! `PageAllocator` trait, each of which a bounded, seeded run of the checker must catch.

mod common;
use common::inputs;
use kmem::{Buddy, BuddyFaults, PageAllocator};
use kmem_oracle::{check_with, scenario_from_bytes, GenConfig, Options};

/// How many of `n` generated buddy scenarios fail on an allocator with `faults`.
fn failing(faults: BuddyFaults, n: usize) -> (usize, String) {
    let make = move |z, r: &[(u64, u64)]| -> Box<dyn PageAllocator> {
        let mut b = Buddy::new(z, r);
        b.faults = faults;
        Box::new(b)
    };
    let mut cfg = GenConfig::buddy();
    cfg.max_ops = 200;
    let mut found = 0;
    let mut first = String::new();
    for bytes in inputs(0x5eed, n) {
        let g = scenario_from_bytes(&bytes, &cfg);
        let v = check_with(
            &g.scenario,
            Options {
                record_steps: false,
            },
            &make,
        );
        if !v.pass() {
            if found == 0 {
                first = v.explain();
            }
            found += 1;
        }
    }
    (found, first)
}

const RUN: usize = 400;

#[test]
fn the_real_buddy_passes() {
    let (found, first) = failing(BuddyFaults::default(), RUN);
    assert_eq!(found, 0, "{first}");
}

fn assert_found(name: &str, faults: BuddyFaults) {
    let (found, first) = failing(faults, RUN);
    assert!(found > 0, "{name}: {RUN} scenarios found nothing");
    eprintln!("{name}: {found}/{RUN} scenarios fail, e.g. {first}");
}

#[test]
fn finds_a_buddy_that_forgets_to_merge() {
    assert_found(
        "no_merge",
        BuddyFaults {
            no_merge: true,
            ..Default::default()
        },
    );
}

#[test]
fn finds_a_buddy_that_splits_off_by_one() {
    assert_found(
        "split_off_by_one",
        BuddyFaults {
            split_off_by_one: true,
            ..Default::default()
        },
    );
}

#[test]
fn finds_a_buddy_that_loses_top_order_merges() {
    assert_found(
        "lose_top_merge",
        BuddyFaults {
            lose_top_merge: true,
            ..Default::default()
        },
    );
}

#[test]
fn finds_a_buddy_that_hands_out_a_block_twice() {
    assert_found(
        "double_handout",
        BuddyFaults {
            double_handout: true,
            ..Default::default()
        },
    );
}

#[test]
fn finds_a_buddy_that_ignores_the_dma_zone() {
    assert_found(
        "ignore_zone_dma",
        BuddyFaults {
            ignore_zone_dma: true,
            ..Default::default()
        },
    );
}
