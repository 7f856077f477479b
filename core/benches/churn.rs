//! Alloc/free churn of order 0-3 blocks: kmem's buddy (through its `PageAllocator` trait)
//! against `buddy_system_allocator::FrameAllocator` on the same frames and the same operation
//! sequence, and the full `Machine` page API (checks, `struct page` updates) for context.
//!
//! `cargo bench -p kmem --bench churn`; `KMEM_CHURN_ONCE=<side>` runs one untimed pass (see
//! [`once`]).

use std::hint::black_box;
use std::time::Duration;

use buddy_system_allocator::FrameAllocator;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use kmem::gfp::GFP_KERNEL;
use kmem::layout::Layout;
use kmem::zone::build_zones;
use kmem::{BootConfig, Buddy, Machine, PageAllocator, MAX_PAGE_ORDER};

/// Operations per iteration.
const OPS: usize = 100_000;
/// At most this many blocks are live at once.
const MAX_LIVE: usize = 2048;
const SEED: u64 = 0x2545_f491_4f6c_dd1d;
const BOOT: &str = "mem=1G";

#[derive(Clone, Copy, Debug)]
enum Op {
    Alloc(u32),
    /// Frees the live block at `r % live.len()`.
    Free(u32),
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// The operation sequence: allocations win 5 times in 8 until MAX_LIVE blocks are live, so
/// the live set climbs to MAX_LIVE within the first ~16k operations and then churns there.
fn ops() -> Vec<Op> {
    let mut x = SEED;
    let mut live = 0usize;
    (0..OPS)
        .map(|_| {
            let r = xorshift(&mut x);
            if live == 0 || (live < MAX_LIVE && r % 8 < 5) {
                live += 1;
                Op::Alloc(((r >> 3) & 3) as u32)
            } else {
                live -= 1;
                Op::Free((r >> 32) as u32)
            }
        })
        .collect()
}

/// One side of the comparison.
trait Churn {
    fn alloc(&mut self, order: u32) -> u64;
    fn free(&mut self, pfn: u64, order: u32);
}

impl Churn for Buddy {
    fn alloc(&mut self, order: u32) -> u64 {
        PageAllocator::alloc(self, GFP_KERNEL, order).expect("kmem buddy ran out")
    }
    fn free(&mut self, pfn: u64, order: u32) {
        PageAllocator::free(self, pfn, order)
    }
}

type Bsa = FrameAllocator<{ MAX_PAGE_ORDER as usize + 1 }>;

impl Churn for Bsa {
    fn alloc(&mut self, order: u32) -> u64 {
        FrameAllocator::alloc(self, 1 << order).expect("buddy_system_allocator ran out") as u64
    }
    fn free(&mut self, pfn: u64, order: u32) {
        self.dealloc(pfn as usize, 1 << order)
    }
}

impl Churn for Machine {
    fn alloc(&mut self, order: u32) -> u64 {
        self.alloc_pages_pfn(GFP_KERNEL, order)
            .expect("machine ran out")
    }
    fn free(&mut self, pfn: u64, order: u32) {
        self.free_pages_pfn(pfn, order)
    }
}

fn run<A: Churn>(a: &mut A, ops: &[Op], live: &mut Vec<(u64, u32)>) {
    for &op in ops {
        match op {
            Op::Alloc(order) => {
                let pfn = a.alloc(order);
                live.push((pfn, order));
            }
            Op::Free(r) => {
                let (pfn, order) = live.swap_remove(r as usize % live.len());
                a.free(pfn, order);
            }
        }
    }
}

fn cfg() -> BootConfig {
    BootConfig::parse_words([BOOT]).unwrap()
}

fn kmem_buddy() -> Buddy {
    let l = Layout::new(&cfg());
    let reserved: Vec<(u64, u64)> = l.reserved.iter().map(|&(s, e, _)| (s, e)).collect();
    Buddy::new(build_zones(&l), &reserved)
}

/// A FrameAllocator holding exactly the frames kmem's buddy starts with.
fn bsa(b: &Buddy) -> Bsa {
    let mut f = Bsa::new();
    for (_, pfn, order) in b.free_blocks() {
        f.add_frame(pfn as usize, (pfn + (1 << order)) as usize);
    }
    f
}

fn churn(c: &mut Criterion) {
    let ops = ops();
    let buddy = kmem_buddy();
    let cfg = cfg();
    {
        // Untimed sanity run: every allocation succeeds and the machine reports nothing.
        let mut live = vec![];
        run(&mut buddy.clone(), &ops, &mut live);
        let peak = ops
            .iter()
            .scan(0i64, |n, op| {
                *n += if matches!(op, Op::Alloc(_)) { 1 } else { -1 };
                Some(*n)
            })
            .max()
            .unwrap();
        let allocs = ops.iter().filter(|o| matches!(o, Op::Alloc(_))).count();
        println!(
            "churn: {OPS} ops ({allocs} allocs), peak {peak} live, {} live at the end, boot {BOOT}",
            live.len()
        );
        run(&mut bsa(&buddy), &ops, &mut vec![]);
        let mut m = Machine::boot(&cfg).unwrap();
        run(&mut m, &ops, &mut vec![]);
        assert!(m.take_reports().is_empty());
    }

    let mut g = c.benchmark_group("churn");
    g.throughput(Throughput::Elements(OPS as u64));
    g.bench_function("kmem_buddy", |b| {
        b.iter_batched(
            || (buddy.clone(), Vec::with_capacity(MAX_LIVE)),
            |(mut a, mut live)| {
                run(&mut a, black_box(&ops), &mut live);
                (a, live)
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("buddy_system_allocator", |b| {
        b.iter_batched(
            || (bsa(&buddy), Vec::with_capacity(MAX_LIVE)),
            |(mut a, mut live)| {
                run(&mut a, black_box(&ops), &mut live);
                (a, live)
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("kmem_machine_api", |b| {
        b.iter_batched(
            || (Machine::boot(&cfg).unwrap(), Vec::with_capacity(MAX_LIVE)),
            |(mut a, mut live)| {
                run(&mut a, black_box(&ops), &mut live);
                (a, live)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// One untimed pass of the sequence on one side, for instruction counts that do not depend
/// on the machine's load:
/// `KMEM_CHURN_ONCE=kmem_buddy valgrind --tool=callgrind --toggle-collect='churn::run*' <bench binary>`.
fn once(side: &str) {
    let ops = ops();
    let buddy = kmem_buddy();
    let mut live = Vec::with_capacity(MAX_LIVE);
    match side {
        "kmem_buddy" => run(&mut buddy.clone(), black_box(&ops), &mut live),
        "buddy_system_allocator" => run(&mut bsa(&buddy), black_box(&ops), &mut live),
        "kmem_machine_api" => run(
            &mut Machine::boot(&cfg()).unwrap(),
            black_box(&ops),
            &mut live,
        ),
        _ => panic!("KMEM_CHURN_ONCE: kmem_buddy, buddy_system_allocator or kmem_machine_api"),
    }
    println!("{side}: {} ops, {} live at the end", ops.len(), live.len());
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = churn
}

fn main() {
    if let Ok(side) = std::env::var("KMEM_CHURN_ONCE") {
        return once(&side);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
