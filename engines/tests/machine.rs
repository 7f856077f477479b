//! The whole machine on other people's frame allocators: the regression corpus and seeded
//! kernel scenarios pass on every frame engine that promises completeness.

use kmem_oracle::{parse, scenario_from_bytes, GenConfig, Options};
use kmemfuzz_engines::machine::{check_on, machine_engine, machine_engines};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn regressions() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/regressions");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "kmem"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_regression_corpus_passes_on_every_complete_frame_engine() {
    let corpus = regressions();
    assert!(corpus.len() > 10);
    // kmem's own is tests/regressions.rs; here the others.
    for m in machine_engines().into_iter().skip(1).filter(|m| m.complete) {
        for (path, text) in &corpus {
            let s = parse(text).unwrap();
            let v = check_on(&s, &m, Options::default());
            assert!(v.pass(), "{path} on {}:\n{}", m.name, v.explain());
        }
    }
}

#[test]
fn seeded_kernel_scenarios_pass_on_every_complete_frame_engine() {
    for m in machine_engines().into_iter().filter(|m| m.complete) {
        let mut rng = StdRng::seed_from_u64(3);
        for cfg in [GenConfig::buddy(), GenConfig::kernel()] {
            for _ in 0..12 {
                let data: Vec<u8> = (0..rng.gen_range(64..2048)).map(|_| rng.gen()).collect();
                let g = scenario_from_bytes(&data, &cfg);
                let v = check_on(
                    &g.scenario,
                    &m,
                    Options {
                        record_steps: false,
                    },
                );
                assert!(v.pass(), "on {}:\n{}\n{g}", m.name, v.explain());
            }
        }
    }
}

#[test]
fn an_unknown_engine_is_a_one_line_error() {
    let e = machine_engine("talc").err().unwrap();
    assert!(
        e.contains("no frame engine 'talc'") && !e.contains('\n'),
        "{e}"
    );
}
