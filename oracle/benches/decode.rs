//! Decoding alone: the time a fuzz target spends turning its input bytes into a scenario
//! (`scenario_from_bytes`, what each target's `Arbitrary` impl runs), over every seed of
//! `corpus/<target>/`. Criterion reports inputs per second (the throughput is one element
//! per seed file), so one input's decoding time is its inverse.
//!
//! `cargo bench -p kmem-oracle --bench decode` (docs/performance.md has the figures).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kmem_oracle::{scenario_from_bytes, GenConfig};

/// Every file of `corpus/<target>/`, in name order.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read(f).expect("seed"))
        .collect()
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (target, cfg) in GenConfig::targets() {
        let inputs = seeds(target);
        let mean = inputs.iter().map(Vec::len).sum::<usize>() / inputs.len().max(1);
        g.throughput(Throughput::Elements(inputs.len() as u64));
        let id = BenchmarkId::new(target, format!("{} seeds, mean {mean} bytes", inputs.len()));
        g.bench_with_input(id, &inputs, |b, inputs| {
            b.iter(|| {
                for data in inputs {
                    black_box(scenario_from_bytes(black_box(data), &cfg));
                }
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = decode
}
criterion_main!(benches);
