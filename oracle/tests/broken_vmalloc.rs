//! The harness proves it finds vmalloc bugs: machines booted with one deliberately broken
//! vmalloc seam each (`broken::vmalloc`), which a bounded, seeded run of generated scenarios
//! must catch, while kmem's own implementations pass the same scenarios.

mod broken;
mod common;

use broken::vmalloc::{IgnoreAlign, NoGuardPage, SkipExactHole, WrongPte};
use kmem::{KmemSeams, Seams};
use kmem_oracle::GenConfig;

const RUN: usize = 300;
const SEED: u64 = 0x766d_616c;

fn cfg() -> GenConfig {
    let mut c = GenConfig::vmalloc();
    c.max_ops = 120;
    c
}

fn assert_found(name: &str, seams: &dyn Seams) {
    broken::assert_found(name, &cfg(), SEED, seams, RUN);
}

#[test]
fn the_real_vmalloc_passes() {
    let (found, first) = broken::failing(&cfg(), SEED, &KmemSeams, RUN);
    assert_eq!(found, 0, "{first}");
}

#[test]
fn finds_vmalloc_without_guard_pages() {
    assert_found("no_guard_page", &NoGuardPage);
}

#[test]
fn finds_a_vmalloc_pte_pointing_at_the_wrong_page() {
    assert_found("wrong_pte", &WrongPte);
}

#[test]
fn finds_vmalloc_ignoring_the_alignment() {
    assert_found("ignore_align", &IgnoreAlign);
}

/// Legal under the bounds (in the space, aligned, no overlap, no failure while a longer
/// range is free), caught only because the oracle predicts the lowest fit.
#[test]
fn finds_vmalloc_passing_over_a_hole_of_exactly_the_size() {
    assert_found("skip_exact_hole", &SkipExactHole);
}
