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

/// Asserts that some of `n` scenarios generated from `seed` by `cfg` fail on a machine booted
/// with `seams`, and prints how many and the head of the first failure.
pub fn assert_found(name: &str, cfg: &GenConfig, seed: u64, seams: &dyn Seams, n: usize) {
    let (found, first) = failing(cfg, seed, seams, n);
    assert!(found > 0, "{name}: {n} scenarios found nothing");
    let head: String = first.lines().take(3).collect::<Vec<_>>().join("\n");
    eprintln!("{name}: {found}/{n} scenarios fail, e.g.\n{head}");
}

/// xorshift64: the seeded, deterministic source of the legal variants' choices.
#[derive(Clone, Copy, Debug)]
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
