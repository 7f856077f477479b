//! Random vmalloc and kmap scenarios through the checker, misuse-heavy: the real kernel model
//! must pass every one, and every misuse class these families can commit must be judged.

use kmem_oracle::{check_with, scenario_from_bytes, GenConfig, Options};
use rand::{Rng, SeedableRng};

fn seen_misuse(cfg: &GenConfig, seed: u64, n: usize) -> std::collections::BTreeSet<&'static str> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let make =
        |z, r: &[(u64, u64)]| -> Box<dyn kmem::PageAllocator> { Box::new(kmem::Buddy::new(z, r)) };
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
        assert!(
            v.pass(),
            "scenario {i} failed:\n{}{}",
            v.explain(),
            g.scenario
        );
        seen.extend(v.misuse.iter().map(|(_, k)| k.as_str()));
    }
    seen
}

#[test]
fn misuse_heavy_vmalloc_scenarios_pass_and_every_misuse_class_is_judged() {
    let mut cfg = GenConfig::vmalloc();
    cfg.misuse_percent = 40;
    let seen = seen_misuse(&cfg, 11, 600);
    for k in [
        "double-free",
        "invalid-free",
        "use-after-free",
        "out-of-bounds",
        "wild-access",
        "sleep-in-atomic",
        "bad-virt-to-phys",
    ] {
        assert!(
            seen.contains(k),
            "no vmalloc scenario had a {k} misuse judged; seen: {seen:?}"
        );
    }
}

#[test]
fn misuse_heavy_kmap_scenarios_pass_and_every_misuse_class_is_judged() {
    let mut cfg = GenConfig::kmap();
    cfg.misuse_percent = 40;
    // Highmem needs more than 896M on i386.
    cfg.boot = kmem::BootConfig::parse_words(["arch=i386", "mem=1G", "debug_virtual=1"]).ok();
    let seen = seen_misuse(&cfg, 12, 600);
    for k in [
        "kmap-misuse",
        "sleep-in-atomic",
        "use-after-free",
        "bad-virt-to-phys",
        "context-imbalance",
    ] {
        assert!(
            seen.contains(k),
            "no kmap scenario had a {k} misuse judged; seen: {seen:?}"
        );
    }
}
