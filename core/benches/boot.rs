//! Boot cost: `Machine::boot` for a small i386 machine, a 4 GiB i386 machine (with highmem)
//! and a 64 GiB x86_64 machine. Boot is meant to be lazy, so the big machines should cost
//! about what the small one does.
//!
//! `cargo bench -p kmem --bench boot`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use kmem::{BootConfig, Machine};

fn boot(c: &mut Criterion) {
    let configs: [(&str, &[&str]); 3] = [
        ("i386_mem=16M", &["mem=16M"]),
        ("i386_mem=4G", &["mem=4G"]),
        ("x86_64_mem=64G", &["arch=x86_64", "mem=64G"]),
    ];
    let mut g = c.benchmark_group("boot");
    for (name, words) in configs {
        let cfg = BootConfig::parse_words(words.iter().copied()).unwrap();
        g.bench_function(name, |b| {
            b.iter_with_large_drop(|| Machine::boot(black_box(&cfg)).unwrap())
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = boot
}
criterion_main!(benches);
