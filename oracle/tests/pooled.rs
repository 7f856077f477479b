//! A machine reuses the storage of the machines dropped before it on its thread (kmem's
//! radix pools): a scenario must replay the same after any others as on a thread of its own,
//! every step, value, report text and verdict.

mod common;

use common::inputs;
use kmem_oracle::{check, scenario_from_bytes, GenConfig};

fn replay(bytes: &[u8], cfg: &GenConfig) -> String {
    check(&scenario_from_bytes(bytes, cfg).scenario).to_json()
}

#[test]
fn a_scenario_replays_the_same_after_others_as_alone() {
    for (i, cfg) in [GenConfig::buddy(), GenConfig::kmap(), GenConfig::kernel()]
        .into_iter()
        .enumerate()
    {
        let all = inputs(0x706f_6f6c + i as u64, 24);
        // One after another on this thread: each machine takes what the last ones left.
        let after: Vec<String> = all.iter().map(|b| replay(b, &cfg)).collect();
        for (b, want) in all.iter().zip(&after) {
            let (b, c) = (b.clone(), cfg.clone());
            let alone = std::thread::spawn(move || replay(&b, &c))
                .join()
                .expect("a replay on its own thread");
            assert_eq!(&alone, want);
        }
    }
}
