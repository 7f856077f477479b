//! `kmem`: an executable model of Linux kernel memory management on 32-bit x86 (the 3G/1G
//! split, with highmem) and x86_64.
//!
//! A [`Machine`] is booted from a [`BootConfig`] and owns physical memory, the `struct page`
//! array, the zones with their buddy allocators, a kernel page table behind a simulated MMU,
//! and the allocators built on them. Every client access goes through the MMU; misuse is
//! reported the way Linux reports it, into the machine's kernel log, and never panics.
#![forbid(unsafe_code)]

pub mod config;
pub mod flags;
pub mod gfp;
pub mod report;
pub mod slab_flags;

pub use config::{Arch, BootConfig, ConfigError, SlubDebug};
pub use report::{KernelLog, Report, ReportKind};

pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// MAX_PAGE_ORDER (formerly MAX_ORDER - 1): the largest buddy order.
pub const MAX_PAGE_ORDER: u32 = 10;
/// NR_PAGE_ORDERS: orders 0..=MAX_PAGE_ORDER.
pub const NR_PAGE_ORDERS: usize = MAX_PAGE_ORDER as usize + 1;

mod access;
pub mod buddy;
pub mod context;
pub mod highmem;
pub mod kmalloc;
pub mod layout;
pub mod machine;
pub mod mem;
pub mod mempool;
pub mod mmu;
pub mod page;
mod page_alloc;
mod proc;
mod radix;
pub mod seams;
pub mod slub;
mod translate;
pub mod vmalloc;
pub mod zone;

pub use buddy::{Buddy, BuddyFaults, PageAllocator};
pub use machine::{Machine, PageEvent};
pub use seams::{KmemSeams, Seams};
pub use slub::SlubFaults;
