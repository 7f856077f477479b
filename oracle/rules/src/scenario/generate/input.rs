//! Per-target fuzzer inputs: each decodes its bytes with its own [`GenConfig`], and its
//! `Debug` prints the scenario text, so `cargo fuzz fmt` shows a readable reproducer.

use std::fmt;

use arbitrary::{Arbitrary, Result, Unstructured};

use super::super::ast::Scenario;
use super::{generate, GenConfig, Generated};

macro_rules! inputs {
    ($( $(#[$doc:meta])* $name:ident => $cfg:ident; )*) => { $(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(pub Generated);

        impl $name {
            /// The generator configuration of this input.
            pub fn config() -> GenConfig {
                GenConfig::$cfg()
            }
        }

        impl<'a> Arbitrary<'a> for $name {
            fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
                generate(u, &GenConfig::$cfg()).map($name)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    )* };
}

inputs! {
    /// The buddy allocator: pages, translation, context and access.
    BuddyInput => buddy;
    /// Slab caches.
    SlabInput => slab;
    /// kmalloc.
    KmallocInput => kmalloc;
    /// Mempools over kmalloc, slab caches and pages.
    MempoolInput => mempool;
    /// vmalloc and vmap.
    VmallocInput => vmalloc;
    /// Highmem mappings.
    KmapInput => kmap;
    /// Every family together.
    KernelInput => kernel;
}

/// A scenario of every family, as [`KernelInput`] generates it.
impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        generate(u, &GenConfig::kernel()).map(|g| g.scenario)
    }
}
