//! `kmem`: an executable model of Linux kernel memory management on 32-bit x86 (the 3G/1G
//! split, with highmem) and x86_64.
//!
//! A [`Machine`] is booted from a [`BootConfig`] and owns physical memory, the `struct page`
//! array, the zones with their buddy allocators, a kernel page table behind a simulated MMU,
//! and the allocators built on them. Every client access goes through the MMU; misuse is
//! reported the way Linux reports it, into the machine's kernel log, and never panics.
#![forbid(unsafe_code)]

// The vocabulary shared with the oracle lives in its own crate (kmem-vocab); kmem speaks it
// under the same paths as before.
pub use kmem_vocab::{config, flags, gfp, slab_flags};
pub use kmem_vocab::{MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SHIFT, PAGE_SIZE};

pub mod report;

pub use config::{Arch, BootConfig, BootKey, ConfigError, Kernel, SlubDebug, BOOT_KEYS};
pub use report::{KernelLog, Report, ReportKind, Silence, Silenced};

mod access;
pub mod buddy;
pub mod context;
pub mod dumpstack;
pub mod highmem;
pub mod kmalloc;
pub mod layout;
pub mod machine;
pub mod mem;
pub mod mempool;
pub mod mmu;
pub mod page;
mod page_alloc;
mod pagewalk;
mod proc;
mod pte;
mod radix;
pub mod seams;
pub mod slub;
mod translate;
pub mod vmalloc;
pub mod zone;

pub use buddy::{Buddy, FreeAreas, FreeBlocks, FreeBlocksFactory, PageAllocator};
pub use machine::{Machine, PageEvent};
pub use seams::{KmemSeams, Seams};
