//! `kmemfuzz stress`: many seeded random scenarios through the checker in one process, for
//! long runs without a fuzzing engine and for measuring the oracle's cost.

use std::time::Instant;

use kmem_oracle::{check_with, execute_only, scenario_from_bytes, GenConfig, Options};

use crate::cli::UsageError;

pub const TARGETS: &[&str] = &[
    "buddy", "slab", "kmalloc", "mempool", "vmalloc", "kmap", "kernel",
];

pub fn gen_config(target: &str) -> Result<GenConfig, UsageError> {
    Ok(match target {
        "buddy" => GenConfig::buddy(),
        "slab" => GenConfig::slab(),
        "kmalloc" => GenConfig::kmalloc(),
        "mempool" => GenConfig::mempool(),
        "vmalloc" => GenConfig::vmalloc(),
        "kmap" => GenConfig::kmap(),
        "kernel" => GenConfig::kernel(),
        t => {
            return Err(UsageError(format!(
                "unknown target '{t}' (one of {})",
                TARGETS.join(" ")
            )))
        }
    })
}

/// splitmix64: a seeded byte source, so every run of the same seed sees the same inputs.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n.div_ceil(8))
            .flat_map(|_| self.next_u64().to_le_bytes())
            .take(n)
            .collect()
    }
}

fn parse_num(flag: &str, v: Option<&String>) -> Result<u64, UsageError> {
    let v = v.ok_or_else(|| UsageError(format!("{flag} needs a number")))?;
    kmem::config::parse_number(v).ok_or_else(|| UsageError(format!("{flag}: bad number '{v}'")))
}

pub fn command(args: &[String]) -> Result<i32, UsageError> {
    let (mut target, mut seed, mut iters, mut oracle) =
        ("buddy".to_string(), 1u64, 2000u64, "both".to_string());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => {
                target = it
                    .next()
                    .ok_or_else(|| UsageError("--target needs a NAME".into()))?
                    .clone()
            }
            "--seed" => seed = parse_num("--seed", it.next())?,
            "--iters" => iters = parse_num("--iters", it.next())?,
            "--oracle" => {
                oracle = it
                    .next()
                    .ok_or_else(|| UsageError("--oracle needs on, off or both".into()))?
                    .clone()
            }
            s => return Err(UsageError(format!("unknown option '{s}' for stress"))),
        }
    }
    let cfg = gen_config(&target)?;
    if !["on", "off", "both"].contains(&oracle.as_str()) {
        return Err(UsageError(format!(
            "--oracle takes on, off or both, not '{oracle}'"
        )));
    }
    let mut rng = SplitMix(seed);
    let inputs: Vec<Vec<u8>> = (0..iters)
        .map(|_| {
            let n = 64 + (rng.next_u64() % 1024) as usize;
            rng.bytes(n)
        })
        .collect();
    let t = Instant::now();
    let scenarios: Vec<_> = inputs
        .iter()
        .map(|b| scenario_from_bytes(b, &cfg).scenario)
        .collect();
    let decode_secs = t.elapsed().as_secs_f64();
    let ops: usize = scenarios.iter().map(|s| s.stmts.len()).sum();
    println!("target {target}, seed {seed}: {iters} scenarios, {ops} operations");
    println!(
        "decoding:         {:>10.0} ops/s  ({ops} ops in {decode_secs:.3} s)",
        ops as f64 / decode_secs
    );
    let mut alone = None;
    if oracle != "on" {
        let t = Instant::now();
        let ran: usize = scenarios.iter().map(execute_only).sum();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "model alone:      {:>10.0} ops/s  ({ran} ops in {secs:.3} s)",
            ran as f64 / secs
        );
        alone = Some(ran as f64 / secs);
    }
    let mut found = 0;
    if oracle != "off" {
        let t = Instant::now();
        let make = |z, r: &[(u64, u64)]| -> Box<dyn kmem::PageAllocator> {
            Box::new(kmem::Buddy::new(z, r))
        };
        for s in &scenarios {
            let v = check_with(
                s,
                Options {
                    record_steps: false,
                },
                &make,
            );
            if !v.pass() {
                if found == 0 {
                    println!("FAILED verdict on this scenario:\n{s}{}", v.explain());
                }
                found += 1;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let rate = ops as f64 / secs;
        println!("model + oracle:   {rate:>10.0} ops/s  ({ops} ops in {secs:.3} s), {found} failing scenarios");
        if let Some(a) = alone {
            println!("oracle overhead:  {:.2}x the model alone", a / rate);
        }
    }
    Ok(if found > 0 { 1 } else { 0 })
}
