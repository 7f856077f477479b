use super::*;
use crate::scenario::parse;

/// A byte string from a seed (a small LCG: deterministic, no dependency).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

fn configs() -> Vec<(&'static str, GenConfig)> {
    GenConfig::targets()
}

#[test]
fn generated_scenarios_come_back() {
    let mut failed = Vec::new();
    for (name, cfg) in configs() {
        for seed in 0..4 {
            let data = noise(seed, 40 + 20 * seed as usize);
            let s = scenario_from_bytes(&data, &cfg).scenario;
            match encode(&s, &cfg) {
                Ok(bytes) => {
                    let back = scenario_from_bytes(&bytes, &cfg).scenario;
                    assert!(
                        same_up_to_renaming(&back, &s),
                        "{name} seed {seed}:\n{s}\n{back}"
                    );
                }
                Err(e) => {
                    let line = s
                        .to_string()
                        .lines()
                        .nth(e.line as usize - 1)
                        .unwrap_or("")
                        .to_string();
                    failed.push(format!(
                        "{name} seed {seed}: {}:{}: {} [{line}]",
                        e.line, e.col, e.why
                    ));
                }
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn renamed_scenarios_come_back_with_the_generators_names() {
    let s = parse(
        "boot arch=i386 mem=128M\nbuf = kmalloc 100 GFP_KERNEL\nwrite buf+4 8 0xaa\nkfree buf\n",
    )
    .unwrap();
    let bytes = encode(&s, &GenConfig::kmalloc()).unwrap();
    let back = scenario_from_bytes(&bytes, &GenConfig::kmalloc()).scenario;
    assert!(same_up_to_renaming(&back, &s), "{back}");
    assert_eq!(back.stmts[0].bind.as_deref(), Some("k0"));
}

#[test]
fn what_a_target_does_not_call_is_refused_where_it_is_written() {
    let s = parse("boot arch=i386 mem=128M\nv = vmalloc 4096\n").unwrap();
    let e = encode(&s, &GenConfig::kmalloc()).unwrap_err();
    assert_eq!((e.line, e.col), (2, 1));
    assert!(e.why.contains("vmalloc"), "{}", e.why);
}

/// A `repeat` is written only by a generator that planned, before its first statement, to
/// run memory out: the boot step must be answered with that plan, and the turn with the
/// exhaustion, not the plain call of the same numbers.
#[test]
fn a_repeat_comes_from_the_plan_to_run_memory_out() {
    let s = parse(
        "boot arch=i386 mem=4G\nbuf = kmalloc 64 GFP_KERNEL\n\
         repeat 960 kmalloc 1048576 GFP_KERNEL\nkfree buf\n",
    )
    .unwrap();
    let cfg = GenConfig::kmalloc();
    let bytes = encode_with_budget(&s, &cfg, 5_000).unwrap();
    let back = scenario_from_bytes(&bytes, &cfg).scenario;
    assert!(same_up_to_renaming(&back, &s), "{back}");
    assert_eq!(back.stmts[1].repeat, Some(960), "{back}");
}
