//! Random sequences of SLUB calls under every debug option: the model never panics.

use super::*;

/// xorshift64*: a deterministic source for the random sequences.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

#[test]
fn random_sequences_never_panic() {
    let configs: &[&[&str]] = &[
        &["mem=32M"],
        &["arch=x86_64", "mem=32M", "slub_debug"],
        &["mem=16M", "slub_debug=P", "page_poison=1"],
        &[
            "mem=32M",
            "slub_debug=FZ",
            "debug_pagealloc=on",
            "kmalloc_max=128K",
        ],
        &["arch=x86_64", "mem=16M", "slub_debug=U"],
    ];
    let masks = [
        GFP_KERNEL,
        GFP_ATOMIC,
        GFP_KERNEL | __GFP_ZERO,
        GFP_KERNEL | GFP_DMA,
        GFP_NOWAIT | __GFP_HIGHMEM,
        GFP_KERNEL | __GFP_RECLAIMABLE,
        GFP_KERNEL | __GFP_ACCOUNT,
    ];
    let flag_bits = [
        SLAB_POISON,
        SLAB_RED_ZONE,
        SLAB_STORE_USER,
        SLAB_CONSISTENCY_CHECKS,
        SLAB_HWCACHE_ALIGN,
        SLAB_CACHE_DMA,
        SLAB_PANIC,
    ];
    for (ci, cfg) in configs.iter().enumerate() {
        for seed in 0..3u64 {
            let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ (seed * 7919 + ci as u64 + 1));
            let mut m = boot(cfg);
            let mut caches: Vec<u64> = Vec::new();
            let mut ptrs: Vec<u64> = Vec::new();
            let mut pools: Vec<u64> = Vec::new();
            for step in 0..800u64 {
                m.set_caller(step);
                let gfp = masks[r.below(masks.len() as u64) as usize];
                let pick = |r: &mut Rng, v: &Vec<u64>| -> u64 {
                    if v.is_empty() || r.below(10) == 0 {
                        r.next() & 0xffff_ffff
                    } else {
                        v[r.below(v.len() as u64) as usize]
                    }
                };
                match r.below(20) {
                    0 => {
                        let mut f = 0;
                        for b in flag_bits {
                            if r.below(3) == 0 {
                                f |= b;
                            }
                        }
                        let size = match r.below(4) {
                            0 => r.below(64),
                            1 => r.below(600),
                            2 => r.below(9000),
                            _ => r.below(1 << 20),
                        };
                        let align = if r.below(2) == 0 { 0 } else { 1 << r.below(13) };
                        let ctor = (r.below(4) == 0).then(|| r.next() as u8);
                        let c = m.kmem_cache_create("rnd", size, align, f, ctor);
                        if c != 0 {
                            caches.push(c);
                        }
                    }
                    1..=3 => {
                        let c = pick(&mut r, &caches);
                        let p = m.kmem_cache_alloc(c, gfp);
                        if p != 0 {
                            ptrs.push(p);
                        }
                    }
                    4..=5 => {
                        let c = pick(&mut r, &caches);
                        let p = pick(&mut r, &ptrs);
                        let p = if r.below(8) == 0 {
                            p.wrapping_add(r.below(64))
                        } else {
                            p
                        };
                        m.kmem_cache_free(c, p);
                    }
                    6..=8 => {
                        let size = match r.below(5) {
                            0 => 0,
                            1 => r.below(200),
                            2 => r.below(9000),
                            3 => r.below(300_000),
                            _ => r.below(6 << 20),
                        };
                        let p = m.kmalloc(size, gfp);
                        if p > 16 {
                            ptrs.push(p);
                        }
                    }
                    9..=10 => {
                        let p = pick(&mut r, &ptrs);
                        m.kfree(p);
                    }
                    11 => {
                        let p = pick(&mut r, &ptrs);
                        let n = m.krealloc(p, r.below(20000), gfp);
                        if n > 16 {
                            ptrs.push(n);
                        }
                    }
                    12 => {
                        let p = pick(&mut r, &ptrs);
                        m.ksize(p);
                    }
                    13 => {
                        // The client scribbling near its memory: over objects, red zones,
                        // free pointers, tracks.
                        let p = pick(&mut r, &ptrs);
                        let at = p.wrapping_add(r.below(256)).wrapping_sub(64);
                        m.write(at, r.below(96), r.next() as u8);
                    }
                    14 => {
                        let c = pick(&mut r, &caches);
                        match r.below(3) {
                            0 => {
                                m.validate_slab_cache(c);
                            }
                            1 => {
                                m.kmem_cache_shrink(c);
                            }
                            _ => m.kmem_cache_destroy(c),
                        }
                    }
                    15 => {
                        let p = match r.below(3) {
                            0 => m.mempool_create_kmalloc_pool(r.below(6), r.below(10000)),
                            1 => {
                                let c = pick(&mut r, &caches);
                                m.mempool_create_slab_pool(r.below(6), c)
                            }
                            _ => m.mempool_create_page_pool(r.below(6), r.below(12) as u32),
                        };
                        if p != 0 {
                            pools.push(p);
                        }
                    }
                    16 => {
                        let pool = pick(&mut r, &pools);
                        let e = m.mempool_alloc(pool, gfp);
                        if e != 0 {
                            ptrs.push(e);
                        }
                    }
                    17 => {
                        let pool = pick(&mut r, &pools);
                        let e = pick(&mut r, &ptrs);
                        m.mempool_free(e, pool);
                    }
                    18 => {
                        let pool = pick(&mut r, &pools);
                        m.mempool_destroy(pool);
                    }
                    _ => match r.below(6) {
                        0 => m.spin_lock(),
                        1 => m.spin_unlock(),
                        2 => m.irq_enter(),
                        3 => m.irq_exit(),
                        4 => {
                            let _ = m.proc_slabinfo();
                            let _ = m.kmem_caches();
                        }
                        _ => {
                            let p = pick(&mut r, &ptrs);
                            let _ = m.slab_object_info(p);
                        }
                    },
                }
                m.take_reports();
                m.take_warnings();
            }
        }
    }
}
