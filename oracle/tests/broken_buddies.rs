//! The harness proves it finds bugs and judges the contract rather than kmem's habits:
//! free-block mechanisms beneath kmem's zone policy (and one broken zone policy), each
//! deliberately broken one of which a bounded, seeded run of the checker must catch, while
//! the legal variant (a buddy that hands out the highest free block instead of the lowest)
//! must pass the seeded runs and the whole regression corpus.

mod broken;
mod common;
use broken::free_blocks::{Bug, Pick};
use broken::page_allocator::{
    ignores_zone_dma, list_buddy, lowmem_first, quiet_pages_dip_into_reserves,
};
use common::inputs;
use kmem::zone::Zone;
use kmem::{Buddy, PageAllocator};
use kmem_oracle::{check_with, parse, scenario_from_bytes, GenConfig, Options};

type Make = dyn Fn(Vec<Zone>, &[(u64, u64)]) -> Box<dyn PageAllocator>;

/// How many of `n` generated scenarios of `cfg` fail on the allocator `make` builds.
fn failing_with(make: &Make, cfg: &GenConfig, n: usize) -> (usize, String) {
    let mut found = 0;
    let mut first = String::new();
    for bytes in inputs(0x5eed, n) {
        let g = scenario_from_bytes(&bytes, cfg);
        let v = check_with(
            &g.scenario,
            Options {
                record_steps: false,
            },
            make,
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

fn buddy_cfg() -> GenConfig {
    let mut cfg = GenConfig::buddy();
    cfg.max_ops = 200;
    cfg
}

fn failing(make: &Make, n: usize) -> (usize, String) {
    failing_with(make, &buddy_cfg(), n)
}

const RUN: usize = 400;

#[test]
fn the_real_buddy_passes() {
    let (found, first) = failing(&|z, r| Box::new(Buddy::new(z, r)), RUN);
    assert_eq!(found, 0, "{first}");
}

#[test]
fn the_plain_list_buddy_passes() {
    let (found, first) = failing(&|z, r| list_buddy(z, r, Pick::Lowest, None), RUN);
    assert_eq!(found, 0, "{first}");
}

/// A legal variant: the highest free block of the smallest fitting order. The oracle
/// predicts /proc/buddyinfo from the set of free pages (maximal buddies, whichever block was
/// chosen), so it must not care which block comes back.
#[test]
fn a_buddy_that_hands_out_the_highest_block_passes() {
    let make = |z, r: &[(u64, u64)]| list_buddy(z, r, Pick::Highest, None);
    let (found, first) = failing(&make, RUN);
    assert_eq!(found, 0, "{first}");
    let (found, first) = failing_with(&make, &GenConfig::kernel(), 150);
    assert_eq!(found, 0, "{first}");
}

#[test]
fn the_legal_variant_passes_the_regression_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/regressions");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "kmem"))
        .collect();
    files.sort();
    assert!(files.len() > 20);
    let make = |z, r: &[(u64, u64)]| list_buddy(z, r, Pick::Highest, None);
    for f in files {
        let s = parse(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let v = check_with(&s, Options::default(), &make);
        assert!(v.pass(), "{}: {}", f.display(), v.explain());
    }
}

fn assert_found(name: &str, make: &Make) {
    let (found, first) = failing(make, RUN);
    assert!(found > 0, "{name}: {RUN} scenarios found nothing");
    eprintln!("{name}: {found}/{RUN} scenarios fail, e.g. {first}");
}

fn broken(bug: Bug) -> impl Fn(Vec<Zone>, &[(u64, u64)]) -> Box<dyn PageAllocator> {
    move |z, r| list_buddy(z, r, Pick::Lowest, Some(bug))
}

#[test]
fn finds_a_buddy_that_forgets_to_merge() {
    assert_found("no_merge", &broken(Bug::NoMerge));
}

#[test]
fn finds_a_buddy_that_splits_off_by_one() {
    assert_found("split_off_by_one", &broken(Bug::SplitOffByOne));
}

#[test]
fn finds_a_buddy_that_loses_top_order_merges() {
    assert_found("lose_top_merge", &broken(Bug::LoseTopMerge));
}

#[test]
fn finds_a_buddy_that_hands_out_a_block_twice() {
    assert_found("double_handout", &broken(Bug::DoubleHandout));
}

#[test]
fn finds_a_zone_policy_that_ignores_the_dma_zone() {
    assert_found("ignore_zone_dma", &|z, r| {
        Box::new(ignores_zone_dma(Buddy::new(z, r)))
    });
}

#[test]
fn finds_a_zonelist_that_tries_lowmem_before_highmem() {
    assert_found("lowmem_first", &|z, r| {
        Box::new(lowmem_first(Buddy::new(z, r)))
    });
}

/// vmalloc's pages below the min watermark: caught because the oracle holds each page a
/// vmalloc takes to its mask's watermark (the vmalloc runs; page-family statements with
/// __GFP_NOWARN may catch it too).
#[test]
fn finds_vmalloc_pages_taken_below_the_watermark() {
    let mut cfg = GenConfig::vmalloc();
    cfg.max_ops = 120;
    let make = |z, r: &[(u64, u64)]| -> Box<dyn PageAllocator> {
        Box::new(quiet_pages_dip_into_reserves(Buddy::new(z, r)))
    };
    let (found, first) = failing_with(&make, &cfg, 300);
    assert!(found > 0, "300 vmalloc scenarios found nothing");
    eprintln!("quiet_pages_dip_into_reserves: {found}/300 scenarios fail, e.g. {first}");
}
