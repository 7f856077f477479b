//! Bulk accesses through the simulated MMU on the direct map: fills (`Machine::write`),
//! copies in (`Machine::write_bytes`) and out (`Machine::read`) of a 4 MiB block from
//! `__get_free_pages(GFP_KERNEL, 10)`, as one access, as 4 KiB accesses and as 64 B
//! accesses; and the first touch of never-written frames.
//!
//! `cargo bench -p kmem --bench mmu`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kmem::gfp::GFP_KERNEL;
use kmem::{BootConfig, Machine};

const ORDER: u32 = 10;
/// 4 MiB: an order-10 block.
const LEN: u64 = 4096 << ORDER;
const BOOT: &str = "mem=1G";

fn machine() -> (Machine, u64) {
    let mut m = Machine::boot(&BootConfig::parse_words([BOOT]).unwrap()).unwrap();
    let va = m.__get_free_pages(GFP_KERNEL, ORDER);
    assert_ne!(va, 0);
    (m, va)
}

fn mmu(c: &mut Criterion) {
    let (mut m, va) = machine();
    // Materialise every frame of the block once, so the steady-state cases measure
    // accesses, not first touch.
    assert!(m.write(va, LEN, 0x5a));
    let data: Vec<u8> = (0..LEN).map(|i| (i * 7) as u8).collect();

    let mut g = c.benchmark_group("mmu");
    g.throughput(Throughput::Bytes(LEN));

    // One access of the whole 4 MiB.
    g.bench_function("write_fill/4MiB_x1", |b| {
        b.iter(|| assert!(m.write(black_box(va), LEN, 0x11)))
    });
    g.bench_function("write_bytes/4MiB_x1", |b| {
        b.iter(|| assert!(m.write_bytes(black_box(va), &data)))
    });
    g.bench_function("read/4MiB_x1", |b| {
        b.iter(|| m.read(black_box(va), LEN).unwrap())
    });

    // The same 4 MiB as page-sized and as cache-line-sized accesses.
    for step in [4096u64, 64] {
        let n = LEN / step;
        let name = |op: &str| format!("{op}/{}_x{n}", if step == 4096 { "4KiB" } else { "64B" });
        g.bench_function(name("write_fill"), |b| {
            b.iter(|| {
                for i in 0..n {
                    assert!(m.write(black_box(va + i * step), step, 0x22));
                }
            })
        });
        g.bench_function(name("write_bytes"), |b| {
            b.iter(|| {
                for i in 0..n {
                    let off = (i * step) as usize;
                    assert!(
                        m.write_bytes(black_box(va + i * step), &data[off..off + step as usize])
                    );
                }
            })
        });
        g.bench_function(name("read"), |b| {
            b.iter(|| {
                for i in 0..n {
                    black_box(m.read(black_box(va + i * step), step).unwrap());
                }
            })
        });
    }

    // First touch: a new machine each time, so every frame is materialised by the access.
    g.bench_function("first_touch_write_fill/4MiB_x1", |b| {
        b.iter_batched(
            machine,
            |(mut m, va)| {
                assert!(m.write(va, LEN, 0x33));
                m
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("first_touch_read/4MiB_x1", |b| {
        b.iter_batched(
            machine,
            |(mut m, va)| {
                black_box(m.read(va, LEN).unwrap());
                m
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = mmu
}
criterion_main!(benches);
