//! The harness proves it finds slab bugs: deliberately broken SLUB variants (kmem's
//! `SlubFaults`), each of which a bounded, seeded run of the checker must catch, while the
//! real SLUB passes the same scenarios.

mod common;
use common::inputs;
use kmem::{Buddy, Machine, PageAllocator, SlubFaults};
use kmem_oracle::{check_with_setup, scenario_from_bytes, GenConfig, Options};

/// How many of `n` generated scenarios fail on a machine with `faults`, and the first.
fn failing(cfg: &GenConfig, faults: SlubFaults, n: usize) -> (usize, String) {
    let make = |z, r: &[(u64, u64)]| -> Box<dyn PageAllocator> { Box::new(Buddy::new(z, r)) };
    let setup = move |m: &mut Machine| m.set_slub_faults(faults);
    let mut found = 0;
    let mut first = String::new();
    for bytes in inputs(0x736c_7562, n) {
        let g = scenario_from_bytes(&bytes, cfg);
        let v = check_with_setup(
            &g.scenario,
            Options {
                record_steps: false,
            },
            &make,
            &setup,
        );
        if !v.pass() {
            if found == 0 {
                first = format!("{}{}", v.explain(), g.scenario);
            }
            found += 1;
        }
    }
    (found, first)
}

const RUN: usize = 300;

/// Slab scenarios, misuse-heavy, every cache with full SLUB debugging.
fn debug_slab() -> GenConfig {
    let mut cfg = GenConfig::slab();
    cfg.misuse_percent = 30;
    cfg.max_ops = 120;
    let boot = kmem::BootConfig {
        slub_debug: Some(kmem::SlubDebug {
            consistency: true,
            red_zone: true,
            poison: true,
            store_user: true,
        }),
        ..Default::default()
    };
    cfg.boot = Some(boot);
    cfg
}

fn plain(mut cfg: GenConfig) -> GenConfig {
    cfg.max_ops = 120;
    cfg
}

fn assert_found(name: &str, cfg: &GenConfig, faults: SlubFaults) {
    let (found, first) = failing(cfg, SlubFaults::default(), RUN);
    assert_eq!(found, 0, "the real SLUB fails:\n{first}");
    let (found, first) = failing(cfg, faults, RUN);
    assert!(found > 0, "{name}: {RUN} scenarios found nothing");
    eprintln!("{name}: {found}/{RUN} scenarios fail, e.g.\n{first}");
}

#[test]
fn finds_overlapping_objects() {
    assert_found(
        "overlap_objects",
        &plain(GenConfig::slab()),
        SlubFaults {
            overlap_objects: true,
            ..Default::default()
        },
    );
}

#[test]
fn finds_a_red_zone_check_off_by_one() {
    assert_found(
        "redzone_off_by_one",
        &debug_slab(),
        SlubFaults {
            redzone_off_by_one: true,
            ..Default::default()
        },
    );
}

#[test]
fn finds_poison_never_checked() {
    assert_found(
        "poison_unchecked",
        &debug_slab(),
        SlubFaults {
            poison_unchecked: true,
            ..Default::default()
        },
    );
}

#[test]
fn finds_an_object_put_on_the_free_list_twice() {
    assert_found(
        "double_free_list",
        &plain(GenConfig::slab()),
        SlubFaults {
            double_free_list: true,
            ..Default::default()
        },
    );
}

#[test]
fn finds_the_wrong_size_class() {
    assert_found(
        "wrong_size_class",
        &plain(GenConfig::kmalloc()),
        SlubFaults {
            wrong_size_class: true,
            ..Default::default()
        },
    );
}
