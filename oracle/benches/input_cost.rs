//! How the cost of checking one input grows: with its length (statements), with the
//! machine's memory size, and with the bytes its statements touch. The checker as the fuzz
//! targets run it (`kmem_oracle::fuzz::check_scenario`: boot, every statement on the machine
//! and the model side by side, drop).
//!
//! `cargo bench -p kmem-oracle --bench input_cost` (docs/performance.md has the figures).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kmem_oracle::{fuzz::check_scenario, parse, Scenario};

/// `groups` times five statements (alloc_pages, page_address, write, read, __free_pages of
/// one page, 64 bytes written and read) on a machine booted with `boot`.
fn page_churn(boot: &str, groups: usize) -> Scenario {
    let mut text = format!("boot {boot}\n");
    for i in 0..groups {
        text.push_str(&format!(
            "p{i} = alloc_pages GFP_KERNEL 0\na{i} = page_address p{i}\nwrite a{i} 64 0x5a\n\
             read a{i} 64\n__free_pages p{i} 0\n"
        ));
    }
    parse(&text).expect("bench scenario")
}

/// One order-`order` block, zeroed, written and read whole, then freed (mem=1G).
fn touch(order: u32) -> Scenario {
    let bytes = 4096u64 << order;
    parse(&format!(
        "boot mem=1G\na = __get_free_pages GFP_KERNEL|__GFP_ZERO {order}\nwrite a {bytes} 0x5a\n\
         read a {bytes}\nfree_pages a {order}\n"
    ))
    .expect("bench scenario")
}

fn input_cost(c: &mut Criterion) {
    let mut g = c.benchmark_group("length");
    for stmts in [25usize, 100, 400, 1600] {
        let s = page_churn("mem=256M", stmts / 5);
        assert!(check_scenario(&s).pass());
        g.bench_with_input(BenchmarkId::from_parameter(stmts), &s, |b, s| {
            b.iter(|| check_scenario(black_box(s)))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("memory");
    for boot in [
        "mem=16M",
        "mem=256M",
        "mem=1G",
        "mem=4G",
        "arch=x86_64 mem=4G",
        "arch=x86_64 mem=64G",
    ] {
        let s = page_churn(boot, 20);
        assert!(check_scenario(&s).pass());
        g.bench_with_input(BenchmarkId::from_parameter(boot), &s, |b, s| {
            b.iter(|| check_scenario(black_box(s)))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("touched");
    for order in [0u32, 2, 4, 6, 8, 10] {
        let s = touch(order);
        assert!(check_scenario(&s).pass());
        g.bench_with_input(BenchmarkId::from_parameter(order), &s, |b, s| {
            b.iter(|| check_scenario(black_box(s)))
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
    targets = input_cost
}
criterion_main!(benches);
