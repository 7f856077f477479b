//! Properties across the language: printing and parsing are inverse on everything the
//! generator makes, the parser never panics, and the generator reaches every function and
//! every kind of misuse.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let len = rng.gen_range(0..=max);
    (0..len).map(|_| rng.gen()).collect()
}

fn configs() -> Vec<GenConfig> {
    vec![
        GenConfig::kernel(),
        GenConfig::buddy(),
        GenConfig::slab(),
        GenConfig::kmalloc(),
        GenConfig::mempool(),
        GenConfig::vmalloc(),
        GenConfig::kmap(),
    ]
}

#[test]
fn print_then_parse_is_the_identity() {
    let mut rng = StdRng::seed_from_u64(0x6b6b_6b6b);
    let configs = configs();
    for n in 0..3000 {
        let mut cfg = configs[n % configs.len()].clone();
        if n % 5 == 0 {
            cfg.misuse_percent = 40;
            cfg.max_ops = 200;
        }
        let data = random_bytes(&mut rng, 2048);
        let g = scenario_from_bytes(&data, &cfg);
        let text = g.scenario.to_string();
        assert_eq!(parse(&text).as_ref(), Ok(&g.scenario), "{text}");
        // The commented form (what `Debug` of the inputs shows) is the same scenario.
        assert_eq!(parse(&g.to_string()).as_ref(), Ok(&g.scenario));
        assert_eq!(g.misuse.len(), g.misuse_lines.len());
        let last_line = printed_line(g.scenario.stmts.len());
        for (line, _) in g.misuse_at() {
            assert!((2..last_line).contains(&line), "{line} in {text}");
        }
        for s in &g.scenario.stmts {
            assert!(cfg.families.contains(&s.op.family()), "{} in {text}", s.op);
        }
        assert!(g.scenario.stmts.len() <= cfg.max_ops + 8);
    }
}

#[test]
fn generation_is_deterministic_and_total() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..200 {
        let data = random_bytes(&mut rng, 1024);
        let a = scenario_from_bytes(&data, &GenConfig::kernel());
        let b = scenario_from_bytes(&data, &GenConfig::kernel());
        assert_eq!(a, b);
        let mut u = Unstructured::new(&data);
        assert_eq!(KernelInput::arbitrary(&mut u).unwrap().0, a);
    }
    let empty = scenario_from_bytes(&[], &GenConfig::kernel());
    assert_eq!(empty.scenario, Scenario::default());
    // Only a boot line and nothing else is fine too.
    let none = GenConfig {
        families: vec![],
        ..GenConfig::kernel()
    };
    let g = scenario_from_bytes(&[1, 2, 3, 4, 5, 6, 7, 8, 9], &none);
    assert!(g.scenario.stmts.is_empty());
}

#[test]
fn inputs_debug_print_the_scenario() {
    let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let input = KernelInput::arbitrary(&mut Unstructured::new(&data)).unwrap();
    let shown = format!("{input:?}");
    assert!(shown.starts_with("boot arch="), "{shown}");
    assert_eq!(parse(&shown), Ok(input.0.scenario.clone()));
    let buddy = BuddyInput::arbitrary(&mut Unstructured::new(&data)).unwrap();
    assert_eq!(format!("{buddy:?}"), buddy.0.to_string());
    let s = Scenario::arbitrary(&mut Unstructured::new(&data)).unwrap();
    assert_eq!(s, input.0.scenario);
}

/// Pieces that look like the language, to make garbage that gets far into the parser.
const VOCAB: &[&str] = &[
    "p",
    "q",
    "=",
    "NULL",
    "0",
    "0x",
    "0xffffffffffffffff",
    "18446744073709551616",
    "16M",
    "4G",
    "K",
    "+",
    "-",
    "p+16",
    "p-8",
    "p+",
    "|",
    "GFP_KERNEL",
    "GFP_KERNEL|__GFP_ZERO",
    "SLAB_POISON",
    "0x+1",
    "#",
    "boot",
    "arch=i386",
    "mem=",
    "mem=16M",
    "slub_debug",
    "vmap",
    "3",
    "é",
    "\t",
    " ",
    "\n",
    "\r",
    "==",
    "p=",
    "kmem_cache_create",
    "a.b-c",
    "255",
    "256",
    "-1",
];

#[test]
fn parse_never_panics_on_garbage() {
    let mut rng = StdRng::seed_from_u64(0xdead_beef);
    let mut vocab: Vec<&str> = VOCAB.to_vec();
    vocab.extend_from_slice(OP_NAMES);
    for _ in 0..20_000 {
        let text: String = match rng.gen_range(0..3) {
            0 => String::from_utf8_lossy(&random_bytes(&mut rng, 200)).into_owned(),
            1 => (0..rng.gen_range(0..40))
                .map(|_| {
                    let w = vocab[rng.gen_range(0..vocab.len())];
                    let sep = [" ", " ", "\t", "\n", ""][rng.gen_range(0..5)];
                    format!("{w}{sep}")
                })
                .collect(),
            _ => {
                let g = scenario_from_bytes(&random_bytes(&mut rng, 512), &GenConfig::kernel());
                let mut bytes = g.scenario.to_string().into_bytes();
                for _ in 0..rng.gen_range(1..6) {
                    if bytes.is_empty() {
                        break;
                    }
                    let i = rng.gen_range(0..bytes.len());
                    match rng.gen_range(0..3) {
                        0 => bytes[i] = rng.gen(),
                        1 => {
                            bytes.remove(i);
                        }
                        _ => bytes.insert(i, b"=+-|# \n0xK"[rng.gen_range(0..10)]),
                    }
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
        };
        if let Ok(s) = parse(&text) {
            // Whatever parses prints as something that parses to the same statements.
            let mut again = parse(&s.to_string()).unwrap();
            let mut s = s;
            s.renumber();
            again.renumber();
            assert_eq!(again, s, "{text:?}");
        }
    }
}

#[test]
fn pathological_lines_do_not_panic() {
    let long = "a".repeat(1 << 20);
    assert!(parse(&long).is_err());
    let many = "kfree NULL ".repeat(100_000);
    assert!(parse(&many).is_err());
    let flags = format!("kmalloc 8 {}", "GFP_KERNEL|".repeat(50_000));
    assert!(parse(&flags).is_err());
    let vmap = format!("p = alloc_pages 0 0\nvmap 100000 {}", "p ".repeat(100_000));
    assert!(parse(&vmap).is_ok());
    let lines = "\n".repeat(1_000_000) + "frob";
    assert_eq!(parse(&lines).unwrap_err().line, 1_000_001);
}

#[test]
fn the_generator_reaches_every_function_and_every_misuse() {
    let cfg = KernelInput::config();
    let mut rng = StdRng::seed_from_u64(42);
    let mut ops: BTreeSet<&str> = BTreeSet::new();
    let mut misuse: BTreeSet<Misuse> = BTreeSet::new();
    let mut inputs = 0;
    let kernel_ops = || OpKind::ALL.iter().filter(|k| k.family() != Family::Engine);
    while inputs < 3000 && (ops.len() < kernel_ops().count() || misuse.len() < Misuse::ALL.len()) {
        let len = rng.gen_range(64..=4096);
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let g = scenario_from_bytes(&data, &cfg);
        ops.extend(g.scenario.stmts.iter().map(|s| s.op.name()));
        misuse.extend(g.misuse.iter().copied());
        inputs += 1;
    }
    // The engine statements are the engine generator's (crate::engine).
    let missing_ops: Vec<&str> = kernel_ops()
        .map(|k| k.name())
        .filter(|n| !ops.contains(n))
        .collect();
    let missing_misuse: Vec<Misuse> = Misuse::ALL
        .iter()
        .copied()
        .filter(|m| !misuse.contains(m))
        .collect();
    assert!(missing_ops.is_empty(), "never generated: {missing_ops:?}");
    assert!(
        missing_misuse.is_empty(),
        "never injected: {missing_misuse:?}"
    );
}

#[test]
fn without_misuse_nothing_is_recorded() {
    let mut rng = StdRng::seed_from_u64(3);
    for cfg in configs() {
        let cfg = GenConfig {
            misuse_percent: 0,
            ..cfg
        };
        for _ in 0..100 {
            let g = scenario_from_bytes(&random_bytes(&mut rng, 2048), &cfg);
            assert!(g.misuse.is_empty());
        }
    }
}
