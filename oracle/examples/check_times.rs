#![forbid(unsafe_code)]
//! Where checking a working corpus spends its time, input by input: every file of DIR decoded
//! with TARGET's configuration and checked as the fuzz targets check it
//! (`kmem_oracle::fuzz::check_scenario`, no coverage instrumentation), five times each. Prints
//! the mean and median time an input, the share of the time the costliest inputs take, the
//! costliest ones, the share of inputs with a `repeat`, and what booting and dropping an
//! empty machine costs.
//!
//! `cargo run --release -p kmem-oracle --example check_times -- TARGET DIR`
//! (docs/performance.md has the figures).

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use kmem_oracle::{fuzz::check_scenario, parse, scenario_from_bytes, GenConfig};

/// One input's cost and shape.
struct Cost {
    file: String,
    us: f64,
    stmts: usize,
    repeats: usize,
    bytes: usize,
    mem_mib: u64,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, dir] = args.as_slice() else {
        eprintln!("check_times: usage: check_times TARGET DIR");
        return ExitCode::from(2);
    };
    let Some(cfg) = GenConfig::targets()
        .into_iter()
        .find(|(t, _)| t == target)
        .map(|(_, c)| c)
    else {
        eprintln!("check_times: no kmem target named '{target}'");
        return ExitCode::from(2);
    };
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("check_times: {dir}: {e}");
            return ExitCode::from(2);
        }
    };
    files.sort();
    let mut costs = vec![];
    for f in &files {
        let Ok(data) = std::fs::read(f) else { continue };
        let g = scenario_from_bytes(&data, &cfg);
        const REPS: u32 = 5;
        let t = Instant::now();
        for _ in 0..REPS {
            black_box(check_scenario(black_box(&g.scenario)));
        }
        costs.push(Cost {
            file: f.display().to_string(),
            us: t.elapsed().as_secs_f64() * 1e6 / f64::from(REPS),
            stmts: g.scenario.stmts.len(),
            repeats: g
                .scenario
                .stmts
                .iter()
                .filter(|s| s.repeat.is_some())
                .count(),
            bytes: data.len(),
            mem_mib: g.scenario.boot.mem >> 20,
        });
    }
    if costs.is_empty() {
        eprintln!("check_times: {dir} holds no inputs");
        return ExitCode::from(2);
    }
    costs.sort_by(|a, b| a.us.total_cmp(&b.us));
    // Written at the end, once: a closed pipe is no failure of the measurement.
    let mut out = String::new();
    macro_rules! w {
        ($o:expr, $($t:tt)*) => {
            let _ = writeln!($o, $($t)*);
        };
    }
    let total: f64 = costs.iter().map(|c| c.us).sum();
    let n = costs.len();
    w!(
        out,
        "{n} inputs: mean {:.1} us, median {:.1} us",
        total / n as f64,
        costs[n / 2].us
    );
    for pct in [1usize, 5, 10, 25] {
        let k = (n * pct).div_ceil(100);
        let top: f64 = costs[n - k..].iter().map(|c| c.us).sum();
        w!(
            out,
            "the costliest {pct}% ({k} inputs): {:.1}% of the time",
            top / total * 100.0
        );
    }
    for c in costs.iter().rev().take(5) {
        w!(
            out,
            "  {:.0} us: {} statements, {} repeats, {} bytes, mem={}M: {}",
            c.us,
            c.stmts,
            c.repeats,
            c.bytes,
            c.mem_mib,
            c.file
        );
    }
    let rep: Vec<&Cost> = costs.iter().filter(|c| c.repeats > 0).collect();
    let rep_us: f64 = rep.iter().map(|c| c.us).sum();
    w!(
        out,
        "inputs with a repeat: {} of {n}, {:.1}% of the time",
        rep.len(),
        rep_us / total * 100.0
    );
    for boot in [
        "boot",
        "boot mem=1G",
        "boot arch=x86_64 mem=4G",
        "boot mem=16G pae=1",
    ] {
        let Ok(s) = parse(boot) else { continue };
        let t = Instant::now();
        for _ in 0..2000 {
            black_box(check_scenario(black_box(&s)));
        }
        w!(
            out,
            "no statements, `{boot}`: {:.2} us (boot and drop)",
            t.elapsed().as_secs_f64() * 1e6 / 2000.0
        );
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    ExitCode::SUCCESS
}
