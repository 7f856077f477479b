//! Legal variants of kmem's seams (`kmem::seams`): implementations that choose differently
//! from kmem's and are still correct Linux behaviour. The checker must pass them exactly
//! as it passes kmem's own, which shows it judges the contract and not kmem's choices.
#![allow(dead_code)]

pub mod slab;
pub mod vmalloc;

/// xorshift64: the variants' seeded, deterministic source of choices.
#[derive(Clone, Copy, Debug)]
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
