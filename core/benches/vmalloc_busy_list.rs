//! Linux's lib/test_vmalloc.c `long_busy_list_alloc_test` at full size on a 1 GiB machine:
//! vmalloc an array for 15000 pointers, fill it with 15000 one-page vmalloc areas (the busy
//! list), then `test_loop_count` (1000000 by default, as the module parameter) times:
//! vmalloc(100 pages), vmalloc(1 page), write a byte to each, vfree both; finally vfree the
//! 15000 areas and the array. Each iteration runs on a freshly booted machine.
//!
//! `cargo bench -p kmem --bench vmalloc_busy_list`
//! (`KMEM_TEST_LOOP_COUNT=N` runs a smaller inner loop.)
//!
//! On i386 a 1 GiB machine with the classic layout (kernel=2.6; 6.6's is 120 MiB) has about
//! 112 MiB of vmalloc space, less than the busy list's
//! 15000 * 8 KiB (a page and its guard page each): there the test fails as it does on a real
//! 32-bit kernel, after about 14300 areas, so the x86_64 machine is the one measured at full
//! size; the i386 case measures the run up to the failure.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use kmem::{BootConfig, Machine, PAGE_SIZE};

const BUSY: usize = 15000;

fn test_loop_count() -> u64 {
    std::env::var("KMEM_TEST_LOOP_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

/// long_busy_list_alloc_test(): 0 on success, -1 on failure, as the kernel module returns.
fn long_busy_list_alloc_test(m: &mut Machine, loops: u64) -> i32 {
    let ptr_size = if m.layout().arch == kmem::Arch::I386 {
        4
    } else {
        8
    };
    let ptr = m.vmalloc(ptr_size * BUSY as u64);
    if ptr == 0 {
        return -1;
    }
    // The pointers live in the model's memory only by value here; the test needs them back.
    let mut busy = Vec::with_capacity(BUSY);
    for _ in 0..BUSY {
        busy.push(m.vmalloc(PAGE_SIZE));
    }
    let mut rv = 0;
    for _ in 0..loops {
        let p1 = m.vmalloc(100 * PAGE_SIZE);
        if p1 == 0 {
            rv = -1;
            break;
        }
        let p2 = m.vmalloc(PAGE_SIZE);
        if p2 == 0 {
            m.vfree(p1);
            rv = -1;
            break;
        }
        m.write(p1, 1, 0);
        m.write(p2, 1, 1);
        m.vfree(p1);
        m.vfree(p2);
    }
    for p in busy {
        m.vfree(p);
    }
    m.vfree(ptr);
    rv
}

fn boot(words: &[&str]) -> Machine {
    let mut m = Machine::boot(&BootConfig::parse_words(words.iter().copied()).unwrap()).unwrap();
    // A benchmark never reads dmesg.
    m.log_mut().set_keep_lines(false);
    m
}

fn busy_list(c: &mut Criterion) {
    let loops = test_loop_count();
    let mut g = c.benchmark_group("long_busy_list_alloc_test");
    for (name, words, expect) in [
        ("x86_64_mem=1G", &["arch=x86_64", "mem=1G"][..], 0),
        ("i386_mem=1G", &["mem=1G", "kernel=2.6"][..], -1),
    ] {
        g.bench_function(format!("{name}/test_loop_count={loops}"), |b| {
            b.iter_batched(
                || boot(words),
                |mut m| {
                    let rv = long_busy_list_alloc_test(&mut m, black_box(loops));
                    assert_eq!(rv, expect);
                    m
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(5));
    targets = busy_list
}
criterion_main!(benches);
