//! Random scenarios through the checker: quickcheck over arbitrary bytes, and a seeded
//! `rand` stress run. The real kernel model must pass every one.

mod common;

use kmem_oracle::{check_with, scenario_from_bytes, GenConfig, Options};
use quickcheck::{QuickCheck, TestResult};
use rand::{Rng, SeedableRng};

fn verdict(bytes: &[u8], cfg: &GenConfig) -> Result<(), String> {
    let g = scenario_from_bytes(bytes, cfg);
    let make =
        |z, r: &[(u64, u64)]| -> Box<dyn kmem::PageAllocator> { Box::new(kmem::Buddy::new(z, r)) };
    let v = check_with(
        &g.scenario,
        Options {
            record_steps: false,
        },
        &make,
    );
    if v.pass() {
        Ok(())
    } else {
        Err(format!("{}{}", v.explain(), g.scenario))
    }
}

#[test]
fn quickcheck_buddy_scenarios_pass() {
    fn prop(bytes: Vec<u8>) -> TestResult {
        match verdict(&bytes, &GenConfig::buddy()) {
            Ok(()) => TestResult::passed(),
            Err(e) => TestResult::error(e),
        }
    }
    QuickCheck::new()
        .tests(300)
        .max_tests(600)
        .quickcheck(prop as fn(Vec<u8>) -> TestResult);
}

#[test]
fn seeded_stress_of_buddy_scenarios() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6b6d656d);
    let mut cfg = GenConfig::buddy();
    cfg.max_ops = 150;
    for i in 0..1500 {
        let n = rng.gen_range(16..3000);
        let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
        if let Err(e) = verdict(&bytes, &cfg) {
            panic!("scenario {i} failed:\n{e}");
        }
    }
}

#[test]
fn misuse_heavy_scenarios_pass_and_every_misuse_class_is_judged() {
    let mut cfg = GenConfig::buddy();
    cfg.misuse_percent = 40;
    common::misuse_heavy(
        &cfg,
        7,
        800,
        &[
            "double-free",
            "invalid-free",
            "use-after-free",
            "out-of-bounds",
            "wild-access",
            "sleep-in-atomic",
            "bad-virt-to-phys",
            "context-imbalance",
        ],
    );
}
