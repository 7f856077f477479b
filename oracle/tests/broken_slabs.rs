//! The harness proves it finds slab bugs: machines booted with one deliberately broken SLUB
//! seam each (`broken::slab`), which a bounded, seeded run of the checker must catch, while
//! kmem's own implementations pass the same scenarios.

mod broken;
mod common;

use broken::slab::{
    DoubleFreeList, OverlapObjects, PoisonUnchecked, RedzoneOffByOne, ShortChain, WrongSizeClass,
};
use kmem::{KmemSeams, Seams};
use kmem_oracle::GenConfig;

const RUN: usize = 300;
const SEED: u64 = 0x736c_7562;

/// Slab scenarios, misuse-heavy, every cache with full SLUB debugging.
fn debug_slab() -> GenConfig {
    let mut cfg = GenConfig::slab();
    cfg.misuse_percent = 30;
    cfg.max_ops = 120;
    cfg.boot = Some(common::full_slub_debug());
    cfg
}

fn plain(mut cfg: GenConfig) -> GenConfig {
    cfg.max_ops = 120;
    cfg
}

fn assert_found(name: &str, cfg: &GenConfig, seams: &dyn Seams) {
    let (found, first) = broken::failing(cfg, SEED, &KmemSeams, RUN);
    assert_eq!(found, 0, "the real SLUB fails:\n{first}");
    broken::assert_found(name, cfg, SEED, seams, RUN);
}

#[test]
fn finds_overlapping_objects() {
    assert_found(
        "overlap_objects",
        &plain(GenConfig::slab()),
        &OverlapObjects,
    );
}

#[test]
fn finds_a_red_zone_check_off_by_one() {
    assert_found("redzone_off_by_one", &debug_slab(), &RedzoneOffByOne);
}

#[test]
fn finds_poison_never_checked() {
    assert_found("poison_unchecked", &debug_slab(), &PoisonUnchecked);
}

#[test]
fn finds_an_object_put_on_the_free_list_twice() {
    assert_found(
        "double_free_list",
        &plain(GenConfig::slab()),
        &DoubleFreeList,
    );
}

#[test]
fn finds_the_wrong_size_class() {
    assert_found(
        "wrong_size_class",
        &plain(GenConfig::kmalloc()),
        &WrongSizeClass,
    );
}

/// Every object it hands out is a free one: caught because the oracle predicts when a cache
/// takes a new slab (only when it has no free object).
#[test]
fn finds_a_new_slab_taken_while_an_object_is_free() {
    let mut cfg = plain(GenConfig::kmalloc());
    cfg.misuse_percent = 0;
    cfg.boot = Some(kmem::BootConfig::default());
    assert_found("short_chain", &cfg, &ShortChain);
}
