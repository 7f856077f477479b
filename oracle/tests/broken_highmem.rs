//! The harness proves it finds highmem bugs: i386 machines with highmem booted with one
//! deliberately broken kmap seam each (`broken::highmem`), which a bounded, seeded run of
//! generated scenarios must catch, while kmem's own implementations pass the same scenarios.

mod broken;
mod common;

use broken::highmem::{KunmapPopsWrongSlot, PkmapReuseInUse};
use kmem::{KmemSeams, Seams};
use kmem_oracle::GenConfig;

const RUN: usize = 300;
const SEED: u64 = 0x766d_616c;

fn cfg() -> GenConfig {
    let mut c = GenConfig::kmap();
    c.max_ops = 120;
    // Highmem needs more than MAXMEM (879M with 6.6's layout) on i386; most generated boots have none.
    c.boot = kmem::BootConfig::parse_words(["arch=i386", "mem=1G"]).ok();
    c
}

fn assert_found(name: &str, seams: &dyn Seams) {
    broken::assert_found(name, &cfg(), SEED, seams, RUN);
}

#[test]
fn the_real_kmap_passes() {
    let (found, first) = broken::failing(&cfg(), SEED, &KmemSeams, RUN);
    assert_eq!(found, 0, "{first}");
}

#[test]
fn finds_a_pkmap_slot_reused_while_in_use() {
    assert_found("pkmap_reuse_in_use", &PkmapReuseInUse);
}

#[test]
fn finds_kunmap_atomic_popping_the_wrong_slot() {
    assert_found("kunmap_pops_wrong_slot", &KunmapPopsWrongSlot);
}
