//! kmalloc/kfree throughput with SLUB debugging off and with slub_debug=FZPU, and so the
//! cost of debugging: each iteration allocates 64 objects of mixed sizes (8..2048 bytes,
//! several kmalloc caches) and frees them again, on a warm machine (slabs already made).
//!
//! `cargo bench -p kmem --bench kmalloc`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kmem::gfp::GFP_KERNEL;
use kmem::{BootConfig, Machine};

const SIZES: [u64; 8] = [8, 24, 64, 100, 192, 256, 700, 2048];
const N: usize = 64;

fn round(m: &mut Machine, ptrs: &mut Vec<u64>) {
    for i in 0..N {
        let p = m.kmalloc(SIZES[i % SIZES.len()], GFP_KERNEL);
        ptrs.push(black_box(p));
    }
    for p in ptrs.drain(..) {
        m.kfree(p);
    }
    m.take_reports();
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("kmalloc_kfree");
    // Each iteration: N kmalloc + N kfree.
    g.throughput(Throughput::Elements(2 * N as u64));
    for (name, words) in [
        ("debug_off", vec!["mem=256M"]),
        ("slub_debug=FZPU", vec!["mem=256M", "slub_debug=FZPU"]),
    ] {
        let mut m = Machine::boot(&BootConfig::parse_words(words).unwrap()).unwrap();
        m.log_mut().set_keep_lines(false);
        let mut ptrs = Vec::with_capacity(N);
        round(&mut m, &mut ptrs);
        g.bench_function(name, |b| b.iter(|| round(&mut m, &mut ptrs)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
