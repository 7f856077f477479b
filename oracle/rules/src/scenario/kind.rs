//! The functions of the scenario language: one [`OpKind`] per function, with its name as
//! written in text, its [`Family`], what it returns ([`Ret`]) and its operands.
//!
//! To add a function: add a row to the table below, a variant with its operands to
//! [`Op`](super::Op), and a line to the parser and to [`Op::args`](super::Op::args). The tests
//! check that every name parses, prints and is reached by the generator.

use std::fmt;

/// The area of the kernel a function belongs to; the generator enables families per target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// The buddy allocator: alloc_pages, __get_free_pages and their frees.
    Pages,
    /// Address translation: page_address, virt_to_page, virt_to_phys and friends.
    Translate,
    /// Slab caches: kmem_cache_*.
    Slab,
    /// kmalloc and friends.
    Kmalloc,
    /// vmalloc, vmap and the vmalloc-area queries.
    Vmalloc,
    /// kmap, kmap_atomic, kmap_local_page.
    Highmem,
    /// mempool_*.
    Mempool,
    /// Locks, interrupts, softirqs and preemption.
    Context,
    /// The client touching memory: write and read.
    Access,
    /// The generic statements of an engine scenario (docs/engines.md): allocate, free and
    /// reallocate on another allocator. Not a kernel family, so not in [`Family::ALL`].
    Engine,
}

impl Family {
    /// The kernel's families (what a kernel scenario may call).
    pub const ALL: [Family; 9] = [
        Family::Pages,
        Family::Translate,
        Family::Slab,
        Family::Kmalloc,
        Family::Vmalloc,
        Family::Highmem,
        Family::Mempool,
        Family::Context,
        Family::Access,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Pages => "pages",
            Family::Translate => "translate",
            Family::Slab => "slab",
            Family::Kmalloc => "kmalloc",
            Family::Vmalloc => "vmalloc",
            Family::Highmem => "highmem",
            Family::Mempool => "mempool",
            Family::Context => "context",
            Family::Access => "access",
            Family::Engine => "engine",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a function returns, and so what a name bound to its result holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ret {
    /// Nothing: a name bound to it holds 0.
    Nothing,
    /// A `struct page *`.
    Page,
    /// A kernel virtual address. `mempool_alloc` returns the pool's element, which for a
    /// page pool is a `struct page *`.
    Addr,
    /// A physical address.
    Phys,
    /// A `struct kmem_cache *`.
    Cache,
    /// A `mempool_t *`.
    Pool,
    /// A plain number (a size, a count, a boolean).
    Value,
}

macro_rules! op_kinds {
    ($( $kind:ident = $name:literal, $family:ident, $ret:ident, $usage:literal; )*) => {
        /// One function of the scenario language, without its operands.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OpKind {
            $( $kind, )*
        }

        impl OpKind {
            /// Every function, in the order of docs/scenario.md.
            pub const ALL: &'static [OpKind] = &[$( OpKind::$kind, )*];

            /// The kernel function's name, as written in text.
            pub fn name(self) -> &'static str {
                match self { $( OpKind::$kind => $name, )* }
            }

            pub fn family(self) -> Family {
                match self { $( OpKind::$kind => Family::$family, )* }
            }

            pub fn returns(self) -> Ret {
                match self { $( OpKind::$kind => Ret::$ret, )* }
            }

            /// The operands as docs/scenario.md writes them, e.g. `GFP ORDER` (empty for none).
            pub fn usage(self) -> &'static str {
                match self { $( OpKind::$kind => $usage, )* }
            }

            pub fn from_name(name: &str) -> Option<OpKind> {
                match name {
                    $( $name => Some(OpKind::$kind), )*
                    _ => None,
                }
            }
        }

        /// The name of every function, in the order of docs/scenario.md (for coverage tests).
        pub const OP_NAMES: &[&str] = &[$( $name, )*];
    };
}

op_kinds! {
    AllocPages = "alloc_pages", Pages, Page, "GFP ORDER";
    FreePagesPage = "__free_pages", Pages, Nothing, "PAGE ORDER";
    GetFreePages = "__get_free_pages", Pages, Addr, "GFP ORDER";
    GetFreePage = "__get_free_page", Pages, Addr, "GFP";
    GetZeroedPage = "get_zeroed_page", Pages, Addr, "GFP";
    FreePages = "free_pages", Pages, Nothing, "ADDR ORDER";
    FreePage = "free_page", Pages, Nothing, "ADDR";
    PageAddress = "page_address", Translate, Addr, "PAGE";
    VirtToPage = "virt_to_page", Translate, Page, "ADDR";
    PageToPhys = "page_to_phys", Translate, Phys, "PAGE";
    VirtToPhys = "virt_to_phys", Translate, Phys, "ADDR";
    PhysToVirt = "phys_to_virt", Translate, Addr, "PHYS";
    KmemCacheCreate = "kmem_cache_create", Slab, Cache, "NAME SIZE ALIGN FLAGS [CTOR]";
    KmemCacheAlloc = "kmem_cache_alloc", Slab, Addr, "CACHE GFP";
    KmemCacheZalloc = "kmem_cache_zalloc", Slab, Addr, "CACHE GFP";
    KmemCacheFree = "kmem_cache_free", Slab, Nothing, "CACHE ADDR";
    KmemCacheDestroy = "kmem_cache_destroy", Slab, Nothing, "CACHE";
    KmemCacheShrink = "kmem_cache_shrink", Slab, Value, "CACHE";
    ValidateSlabCache = "validate_slab_cache", Slab, Value, "CACHE";
    Kmalloc = "kmalloc", Kmalloc, Addr, "SIZE GFP";
    Kzalloc = "kzalloc", Kmalloc, Addr, "SIZE GFP";
    Krealloc = "krealloc", Kmalloc, Addr, "ADDR SIZE GFP";
    Ksize = "ksize", Kmalloc, Value, "ADDR";
    Kfree = "kfree", Kmalloc, Nothing, "ADDR";
    Vmalloc = "vmalloc", Vmalloc, Addr, "SIZE";
    Vzalloc = "vzalloc", Vmalloc, Addr, "SIZE";
    Vmalloc32 = "vmalloc_32", Vmalloc, Addr, "SIZE";
    VmallocNode = "__vmalloc_node", Vmalloc, Addr, "SIZE ALIGN GFP";
    Vfree = "vfree", Vmalloc, Nothing, "ADDR";
    Vmap = "vmap", Vmalloc, Addr, "COUNT PAGE...";
    Vunmap = "vunmap", Vmalloc, Nothing, "ADDR";
    VmallocToPage = "vmalloc_to_page", Vmalloc, Page, "ADDR";
    IsVmallocAddr = "is_vmalloc_addr", Vmalloc, Value, "ADDR";
    Kmap = "kmap", Highmem, Addr, "PAGE";
    Kunmap = "kunmap", Highmem, Nothing, "PAGE";
    KmapAtomic = "kmap_atomic", Highmem, Addr, "PAGE";
    KunmapAtomic = "kunmap_atomic", Highmem, Nothing, "ADDR";
    KmapLocalPage = "kmap_local_page", Highmem, Addr, "PAGE";
    KunmapLocal = "kunmap_local", Highmem, Nothing, "ADDR";
    MempoolCreateKmallocPool = "mempool_create_kmalloc_pool", Mempool, Pool, "MIN SIZE";
    MempoolCreateSlabPool = "mempool_create_slab_pool", Mempool, Pool, "MIN CACHE";
    MempoolCreatePagePool = "mempool_create_page_pool", Mempool, Pool, "MIN ORDER";
    MempoolAlloc = "mempool_alloc", Mempool, Addr, "POOL GFP";
    MempoolFree = "mempool_free", Mempool, Nothing, "ADDR POOL";
    MempoolDestroy = "mempool_destroy", Mempool, Nothing, "POOL";
    SpinLock = "spin_lock", Context, Nothing, "";
    SpinUnlock = "spin_unlock", Context, Nothing, "";
    LocalIrqDisable = "local_irq_disable", Context, Nothing, "";
    LocalIrqEnable = "local_irq_enable", Context, Nothing, "";
    IrqEnter = "irq_enter", Context, Nothing, "";
    IrqExit = "irq_exit", Context, Nothing, "";
    LocalBhDisable = "local_bh_disable", Context, Nothing, "";
    LocalBhEnable = "local_bh_enable", Context, Nothing, "";
    PreemptDisable = "preempt_disable", Context, Nothing, "";
    PreemptEnable = "preempt_enable", Context, Nothing, "";
    Write = "write", Access, Nothing, "ADDR LEN BYTE";
    Read = "read", Access, Nothing, "ADDR LEN";
    Allocate = "allocate", Engine, Addr, "SIZE ALIGN";
    Free = "free", Engine, Nothing, "ADDR";
    Reallocate = "reallocate", Engine, Addr, "ADDR SIZE";
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        assert_eq!(OP_NAMES.len(), OpKind::ALL.len());
        for (&k, &n) in OpKind::ALL.iter().zip(OP_NAMES) {
            assert_eq!(k.name(), n);
            assert_eq!(OpKind::from_name(n), Some(k));
        }
        let mut names: Vec<&str> = OP_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OP_NAMES.len());
        assert_eq!(OpKind::from_name("boot"), None);
    }

    #[test]
    fn every_family_has_a_function() {
        for fam in Family::ALL {
            assert!(OpKind::ALL.iter().any(|k| k.family() == fam), "{fam}");
        }
    }
}
