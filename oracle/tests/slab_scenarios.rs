//! Random slab, kmalloc and mempool scenarios through the checker: seeded and bounded,
//! misuse-heavy, on the real kernel model. Every verdict must pass, and every class of
//! misuse the generator injects for these families must be judged.

use kmem_oracle::{check_with, scenario_from_bytes, GenConfig, Options};
use rand::{Rng, SeedableRng};

fn run(
    cfg: &GenConfig,
    seed: u64,
    n: usize,
) -> (Vec<String>, std::collections::BTreeSet<&'static str>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let make =
        |z, r: &[(u64, u64)]| -> Box<dyn kmem::PageAllocator> { Box::new(kmem::Buddy::new(z, r)) };
    let mut fails = vec![];
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..n {
        let bytes: Vec<u8> = (0..rng.gen_range(64..2048)).map(|_| rng.gen()).collect();
        let g = scenario_from_bytes(&bytes, cfg);
        let v = check_with(
            &g.scenario,
            Options {
                record_steps: false,
            },
            &make,
        );
        if !v.pass() {
            fails.push(format!(
                "scenario {i} failed:\n{}{}",
                v.explain(),
                g.scenario
            ));
        }
        seen.extend(v.misuse.iter().map(|(_, k)| k.as_str()));
    }
    (fails, seen)
}

fn check_family(mut cfg: GenConfig, seed: u64, kinds: &[&str]) {
    cfg.misuse_percent = 30;
    cfg.max_ops = 120;
    let (fails, seen) = run(&cfg, seed, 600);
    assert!(
        fails.is_empty(),
        "{} of 600 failed; first:\n{}",
        fails.len(),
        fails[0]
    );
    for k in kinds {
        assert!(
            seen.contains(k),
            "no generated scenario had a {k} misuse judged; seen: {seen:?}"
        );
    }
}

#[test]
fn misuse_heavy_slab_scenarios_pass_and_each_misuse_is_judged() {
    check_family(
        GenConfig::slab(),
        11,
        &[
            "double-free",
            "invalid-free",
            "use-after-free",
            "out-of-bounds",
            "wrong-cache",
            "objects-remaining",
            "sleep-in-atomic",
        ],
    );
}

#[test]
fn misuse_heavy_kmalloc_scenarios_pass_and_each_misuse_is_judged() {
    check_family(
        GenConfig::kmalloc(),
        12,
        &[
            "double-free",
            "invalid-free",
            "use-after-free",
            "out-of-bounds",
            "sleep-in-atomic",
        ],
    );
}

#[test]
fn misuse_heavy_mempool_scenarios_pass_and_each_misuse_is_judged() {
    check_family(
        GenConfig::mempool(),
        13,
        &[
            "mempool-misuse",
            "use-after-free",
            "out-of-bounds",
            "sleep-in-atomic",
        ],
    );
}
