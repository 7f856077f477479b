//! Implementations of kmem's seams that live in the tests: deliberately broken ones (each
//! what a buggy allocator would do), which a seeded run must catch, and legal variants, which
//! the checker must pass. Each test crate that declares this module uses part of it.
#![allow(dead_code)]

pub mod free_blocks;
pub mod highmem;
pub mod page_allocator;
pub mod slab;
pub mod vmalloc;

use kmem::{Buddy, PageAllocator, Seams};
use kmem_oracle::{check_with_seams, scenario_from_bytes, GenConfig, Options};

use crate::common::inputs;

/// How many of `n` scenarios generated from `seed` by `cfg` fail on a machine booted with
/// `seams`, and the first failure explained, followed by its scenario.
pub fn failing(cfg: &GenConfig, seed: u64, seams: &dyn Seams, n: usize) -> (usize, String) {
    let make = |z, r: &[(u64, u64)]| -> Box<dyn PageAllocator> { Box::new(Buddy::new(z, r)) };
    let mut found = 0;
    let mut first = String::new();
    for bytes in inputs(seed, n) {
        let g = scenario_from_bytes(&bytes, cfg);
        let v = check_with_seams(
            &g.scenario,
            Options {
                record_steps: false,
            },
            &make,
            seams,
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
