//! Decoding alone, for measuring the generator and for checking that a change to it keeps
//! every input decoding to the same scenario.
//!
//! `decode bench TARGET N`: decodes the first N inputs of `kmemfuzz stress --seed 1` (the
//! same splitmix64 bytes) with TARGET's configuration, and nothing else; run it under
//! `valgrind --tool=callgrind` to count the instructions decoding costs.
//!
//! `decode corpus TARGET N`: decodes every file of corpus/TARGET N times.
//!
//! `decode dump`: prints, for every target, the decoded scenario (with its misuse lines) of
//! every file under corpus/, of 1,500 stress inputs and of 800 inputs of up to 4 KiB, every
//! third with 40% misuse and 200 operations, every seventh exhausting more often. Two builds
//! decode alike when their dumps are byte-identical.
use std::io::Write;

use kmem_rules::{scenario_from_bytes, GenConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct SplitMix(u64);
impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn input(&mut self) -> Vec<u8> {
        let n = 64 + (self.next_u64() % 1024) as usize;
        let mut out = Vec::new();
        while out.len() < n {
            let w = self.next_u64().to_le_bytes();
            out.extend_from_slice(&w[..(n - out.len()).min(8)]);
        }
        out
    }
}

fn configs() -> Vec<(&'static str, GenConfig)> {
    GenConfig::targets()
}

fn main() {
    // Arguments: `bench TARGET N` or `dump` (the default).
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("dump");
    if mode == "bench" {
        let target = &args[2];
        let n: u64 = args[3].parse().unwrap();
        let cfg = configs().into_iter().find(|(t, _)| t == target).unwrap().1;
        let mut rng = SplitMix(1);
        let mut stmts = 0usize;
        let mut bytes = 0usize;
        for _ in 0..n {
            let data = rng.input();
            bytes += data.len();
            let g = scenario_from_bytes(&data, &cfg);
            stmts += g.scenario.stmts.len();
        }
        println!("{n} inputs, {bytes} bytes, {stmts} statements");
        return;
    }
    if mode == "corpus" {
        let target = &args[2];
        let n: u64 = args[3].parse().unwrap();
        let cfg = configs().into_iter().find(|(t, _)| t == target).unwrap().1;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../corpus")
            .join(target);
        let files: Vec<Vec<u8>> = walk(&dir)
            .iter()
            .map(|f| std::fs::read(f).unwrap())
            .collect();
        let bytes: usize = files.iter().map(Vec::len).sum();
        let mut stmts = 0usize;
        for _ in 0..n {
            for data in &files {
                stmts += scenario_from_bytes(data, &cfg).scenario.stmts.len();
            }
        }
        println!("{} files, {bytes} bytes, {stmts} statements", files.len());
        return;
    }
    let out = std::io::stdout();
    let mut out = out.lock();
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus");
    let mut files: Vec<_> = walk(&corpus);
    files.sort();
    for (name, cfg) in configs() {
        for f in &files {
            let data = std::fs::read(f).unwrap();
            writeln!(out, "=== {name} {}", f.display()).unwrap();
            write!(out, "{}", scenario_from_bytes(&data, &cfg)).unwrap();
        }
        let mut sm = SplitMix(1);
        for i in 0..1500 {
            let data = sm.input();
            writeln!(out, "=== {name} splitmix {i}").unwrap();
            write!(out, "{}", scenario_from_bytes(&data, &cfg)).unwrap();
        }
        let mut rng = StdRng::seed_from_u64(0x6b6b_6b6b);
        for i in 0..800 {
            let mut cfg = cfg.clone();
            if i % 3 == 0 {
                cfg.misuse_percent = 40;
                cfg.max_ops = 200;
            }
            if i % 7 == 0 {
                cfg.exhaust_percent = 60;
            }
            let len = rng.gen_range(0..=4096);
            let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            writeln!(out, "=== {name} stdrng {i}").unwrap();
            write!(out, "{}", scenario_from_bytes(&data, &cfg)).unwrap();
        }
    }
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}
