//! Every adapter against the engine oracle: seeded runs that must pass (known bugs kept
//! out as fuzzing keeps them out, docs/engines.md), and the generator's extremes reached
//! for each engine.

use kmem_oracle::engine::{check_engine, engine_scenario_from_bytes, EngineOptions};
use kmem_oracle::scenario::Op;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn inputs(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..rng.gen_range(16..1024)).map(|_| rng.gen()).collect())
        .collect()
}

#[test]
fn every_adapter_passes_seeded_runs() {
    for r in kmemfuzz_engines::registry() {
        for (i, data) in inputs(5, 120).iter().enumerate() {
            let s = engine_scenario_from_bytes(data, &r.info);
            let v = check_engine(&s, &r.make, EngineOptions::FUZZ);
            assert!(v.pass(), "{} input {i}:\n{}\n{s}", r.target, v.explain());
        }
    }
}

#[test]
fn the_generator_reaches_the_extremes_for_every_adapter() {
    for r in kmemfuzz_engines::registry() {
        let (mut zero, mut huge, mut over, mut odd) = (false, false, false, false);
        for data in inputs(9, 200) {
            let s = engine_scenario_from_bytes(&data, &r.info);
            for st in &s.scenario.stmts {
                if let Op::Allocate { size, align } = st.op {
                    zero |= size == 0;
                    huge |= size > s.arena;
                    over |= align.is_power_of_two() && align > s.arena;
                    odd |= align.is_power_of_two() && size % align != 0 && size < s.arena;
                }
            }
        }
        assert!(zero && huge && over && odd, "{}", r.target);
    }
}

#[test]
fn every_engine_target_is_registered_once() {
    let reg = kmemfuzz_engines::registry();
    let mut names: Vec<&str> = reg.iter().map(|r| r.info.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), reg.len());
    for r in &reg {
        let target = format!(
            "{}/../fuzz/fuzz_targets/{}.rs",
            env!("CARGO_MANIFEST_DIR"),
            r.target
        );
        let text = std::fs::read_to_string(&target).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert!(text.contains(&format!("fuzz(\"{}\"", r.target)), "{target}");
        assert_eq!(text.lines().count(), 3, "{target}");
    }
}
