//! `kmem-vocab`: the vocabulary the kernel model (`kmem`) and the oracle (`kmem-rules`) share,
//! and nothing else: GFP bits and composites, slab flags, the boot configuration's syntax,
//! report kinds, the page allocator's tracepoint events and the placement rule a vmalloc
//! space declares.
//!
//! Every value here is pinned to Linux 6.6's headers by the golden tests in
//! `vocab/tests/linux_6_6.rs`, so that a wrong value cannot hide in both sides of the
//! differential check: the oracle derives everything else (layout, mem_map, reservations,
//! size classes) by its own rules.
#![forbid(unsafe_code)]

pub mod config;
pub mod event;
pub mod fit;
pub mod flags;
pub mod gfp;
pub mod report;
pub mod slab_flags;

pub use config::{
    Arch, BootConfig, BootKey, ConfigError, Kernel, KmallocMax, SlubDebug, BOOT_KEYS,
};
pub use event::PageEvent;
pub use fit::VmapFit;
pub use report::{Report, ReportKind, Silence, Silenced};

/// PAGE_SHIFT on x86 (4 KiB pages).
pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// MAX_PAGE_ORDER (formerly MAX_ORDER - 1): the largest buddy order.
pub const MAX_PAGE_ORDER: u32 = 10;
/// NR_PAGE_ORDERS: orders 0..=MAX_PAGE_ORDER.
pub const NR_PAGE_ORDERS: usize = MAX_PAGE_ORDER as usize + 1;
