//! The harness proves it finds vmalloc and highmem bugs: machines booted with one deliberate
//! bug each ([`VmallocFaults`], [`HighmemFaults`]), which a bounded, seeded run of generated
//! scenarios must catch, while the real model passes the same scenarios.

mod common;
use common::inputs;
use kmem::{Buddy, HighmemFaults, Machine, PageAllocator, VmallocFaults};
use kmem_oracle::{check_with_setup, scenario_from_bytes, GenConfig, Options};

/// How many of `n` scenarios of `cfg` fail on a machine prepared by `setup`, and the first
/// explanation.
fn failing(cfg: &GenConfig, setup: &dyn Fn(&mut Machine), n: usize) -> (usize, String) {
    let make = |z, r: &[(u64, u64)]| -> Box<dyn PageAllocator> { Box::new(Buddy::new(z, r)) };
    let mut found = 0;
    let mut first = String::new();
    for bytes in inputs(0x766d_616c, n) {
        let g = scenario_from_bytes(&bytes, cfg);
        let v = check_with_setup(
            &g.scenario,
            Options {
                record_steps: false,
            },
            &make,
            setup,
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

fn cfg(kmap: bool) -> GenConfig {
    let mut c = if kmap {
        GenConfig::kmap()
    } else {
        GenConfig::vmalloc()
    };
    c.max_ops = 120;
    if kmap {
        // Highmem needs more than 896M on i386; most generated boots have none.
        c.boot = kmem::BootConfig::parse_words(["arch=i386", "mem=1G"]).ok();
    }
    c
}

fn assert_found(name: &str, kmap: bool, setup: &dyn Fn(&mut Machine)) {
    let (found, first) = failing(&cfg(kmap), setup, RUN);
    assert!(found > 0, "{name}: {RUN} scenarios found nothing");
    let head: String = first.lines().take(3).collect::<Vec<_>>().join("\n");
    eprintln!("{name}: {found}/{RUN} scenarios fail, e.g.\n{head}");
}

#[test]
fn the_real_vmalloc_and_kmap_pass() {
    for kmap in [false, true] {
        let (found, first) = failing(&cfg(kmap), &|_| {}, RUN);
        assert_eq!(found, 0, "{first}");
    }
}

#[test]
fn finds_vmalloc_without_guard_pages() {
    assert_found("no_guard_page", false, &|m| {
        m.set_vmalloc_faults(VmallocFaults {
            no_guard_page: true,
            ..Default::default()
        })
    });
}

#[test]
fn finds_a_vmalloc_pte_pointing_at_the_wrong_page() {
    assert_found("wrong_pte", false, &|m| {
        m.set_vmalloc_faults(VmallocFaults {
            wrong_pte: true,
            ..Default::default()
        })
    });
}

#[test]
fn finds_a_pkmap_slot_reused_while_in_use() {
    assert_found("pkmap_reuse_in_use", true, &|m| {
        m.set_highmem_faults(HighmemFaults {
            pkmap_reuse_in_use: true,
            ..Default::default()
        })
    });
}

#[test]
fn finds_kunmap_atomic_popping_the_wrong_slot() {
    assert_found("kunmap_pops_wrong_slot", true, &|m| {
        m.set_highmem_faults(HighmemFaults {
            kunmap_pops_wrong_slot: true,
            ..Default::default()
        })
    });
}

#[test]
fn finds_vmalloc_ignoring_the_alignment() {
    assert_found("ignore_align", false, &|m| {
        m.set_vmalloc_faults(VmallocFaults {
            ignore_align: true,
            ..Default::default()
        })
    });
}
