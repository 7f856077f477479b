//! `kmemfuzz stress`: many seeded random scenarios through the checker in one process, for
//! long runs without a fuzzing engine and for measuring the oracle's cost.

use std::time::Instant;

use kmem_oracle::{check_with, execute_only, scenario_from_bytes, GenConfig, Options};

use crate::cli::{OracleMode, StressArgs, Target};
use crate::out::{Out, Outcome};

pub fn gen_config(target: Target) -> GenConfig {
    match target {
        Target::Buddy => GenConfig::buddy(),
        Target::Slab => GenConfig::slab(),
        Target::Kmalloc => GenConfig::kmalloc(),
        Target::Mempool => GenConfig::mempool(),
        Target::Vmalloc => GenConfig::vmalloc(),
        Target::Kmap => GenConfig::kmap(),
        Target::Kernel => GenConfig::kernel(),
    }
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

/// `N ops/s`, right-aligned; `-` when nothing ran or no time passed (never NaN or inf).
fn rate(ops: usize, secs: f64) -> String {
    if ops == 0 || secs <= 0.0 {
        format!("{:>10}", "-")
    } else {
        format!("{:>10.0}", ops as f64 / secs)
    }
}

pub fn command(a: &StressArgs, out: &mut Out) -> Outcome {
    let (target, seed, iters) = (a.target.name(), a.seed, a.iters);
    let cfg = gen_config(a.target);
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
    out.line(&format!(
        "target {target}, seed {seed}: {iters} scenarios, {ops} operations"
    ))?;
    out.line(&format!(
        "decoding:         {} ops/s  ({ops} ops in {decode_secs:.3} s)",
        rate(ops, decode_secs)
    ))?;
    let mut alone = None;
    if a.oracle != OracleMode::On {
        let t = Instant::now();
        let ran: usize = scenarios.iter().map(execute_only).sum();
        let secs = t.elapsed().as_secs_f64();
        out.line(&format!(
            "model alone:      {} ops/s  ({ran} ops in {secs:.3} s)",
            rate(ran, secs)
        ))?;
        alone = Some((ran, secs));
    }
    let mut found = 0;
    if a.oracle != OracleMode::Off {
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
                    out.line(&format!(
                        "FAILED verdict on this scenario:\n{s}{}",
                        v.explain()
                    ))?;
                }
                found += 1;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        out.line(&format!(
            "model + oracle:   {} ops/s  ({ops} ops in {secs:.3} s), {found} failing scenarios",
            rate(ops, secs)
        ))?;
        // The overhead is the ratio of the two times per operation.
        if let Some((ran, alone_secs)) = alone {
            if ran > 0 && ops > 0 && alone_secs > 0.0 && secs > 0.0 {
                let overhead = (secs / ops as f64) / (alone_secs / ran as f64);
                out.line(&format!("oracle overhead:  {overhead:.2}x the model alone"))?;
            }
        }
    }
    Ok(if found > 0 { 1 } else { 0 })
}
