//! The kinds of client misuse the generator injects on purpose.

use std::fmt;

/// A misuse the generator injected deliberately. Whether the kernel must report it depends on
/// the boot options; that is the oracle's judgement, not the generator's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Misuse {
    /// Freeing an allocation a second time.
    DoubleFree,
    /// `free_pages`/`__free_pages` with an order other than the allocation's.
    WrongOrder,
    /// Writing or reading an allocation after freeing it.
    UseAfterFree,
    /// Freeing a pointer that never came from the allocator.
    WildFree,
    /// Freeing a pointer into the middle of an allocation.
    InteriorFree,
    /// Writing or reading past the end (or before the start) of an allocation.
    OutOfBounds,
    /// A call that may sleep inside a spinlock, with interrupts off, or in an interrupt.
    SleepInAtomic,
    /// `virt_to_phys`/`virt_to_page` of an address outside the direct map.
    WrongTranslation,
    /// `kmem_cache_free` to a cache the object does not belong to.
    WrongCache,
    /// `kmem_cache_destroy`/`mempool_destroy` with objects still allocated.
    DestroyWithLive,
    /// `kunmap_atomic`/`kunmap_local` out of order, or `kunmap` of a page not mapped.
    KmapUnbalanced,
    /// An unlock or enable without its lock or disable.
    ContextImbalance,
}

impl Misuse {
    pub const ALL: &'static [Misuse] = &[
        Misuse::DoubleFree,
        Misuse::WrongOrder,
        Misuse::UseAfterFree,
        Misuse::WildFree,
        Misuse::InteriorFree,
        Misuse::OutOfBounds,
        Misuse::SleepInAtomic,
        Misuse::WrongTranslation,
        Misuse::WrongCache,
        Misuse::DestroyWithLive,
        Misuse::KmapUnbalanced,
        Misuse::ContextImbalance,
    ];

    /// A stable identifier, in the style of the report kinds of docs/scenario.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Misuse::DoubleFree => "double-free",
            Misuse::WrongOrder => "wrong-order",
            Misuse::UseAfterFree => "use-after-free",
            Misuse::WildFree => "wild-free",
            Misuse::InteriorFree => "interior-free",
            Misuse::OutOfBounds => "out-of-bounds",
            Misuse::SleepInAtomic => "sleep-in-atomic",
            Misuse::WrongTranslation => "wrong-translation",
            Misuse::WrongCache => "wrong-cache",
            Misuse::DestroyWithLive => "destroy-with-live",
            Misuse::KmapUnbalanced => "kmap-unbalanced",
            Misuse::ContextImbalance => "context-imbalance",
        }
    }
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
