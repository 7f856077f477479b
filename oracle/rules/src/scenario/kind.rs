//! The functions of the scenario language, one row of the table below per kernel function:
//! its name as written in text, its [`Family`], what it returns ([`Ret`]) and its operands,
//! each with its type and its syntax. The parser, the printer and the syntax tree's [`Op`]
//! all come from the rows.
//!
//! To add a function: add its row to its family's part of the table (the [`Op`] variant's
//! fields are the operands, named as Linux names them), its rule in `crate::model`, its call
//! in the machine adapter, and a line to the parser's `EVERY_FORM` test. docs/map.md lists
//! every place a function touches. The tests check that every name parses, prints and is
//! reached by the generator.

use std::fmt;

use kmem_vocab::gfp::Gfp;
use kmem_vocab::slab_flags::SlabFlags;

use super::ast::{Arg, Operand};
use super::operand::{
    Args, Byte, CacheName, GfpMask, LineError, Number, OptionalByte, PageList, Pointer, Size,
    Size32, SlabFlagSet, Syntax,
};

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

/// The table of functions: one row per kernel function of the scenario language. A row
/// gives the [`OpKind`] and [`Op`] variant, the name as written in text, the [`Family`],
/// what the function returns ([`Ret`]) and its operands in Linux's order, each a field of
/// the [`Op`] variant with its Rust type and its syntax (how it is read and printed, see
/// `operand.rs`). Attributes before a row (its doc comment) go to the [`Op`] variant.
///
/// From the rows come [`OpKind`] with its name, family, return kind and usage,
/// [`OP_NAMES`], the [`Op`] enum, [`Op::kind`], [`Op::args`] (which the printer prints) and
/// the parser's reading of each function's operands.
macro_rules! op_table {
    ($(
        $(#[$attr:meta])*
        $kind:ident = $name:literal, $family:ident, $ret:ident
            $({ $( $field:ident : $ty:ty as $syntax:ident ),* $(,)? })?;
    )*) => {
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

            /// The operands as docs/scenario.md writes them, e.g. `GFP ORDER` (empty for
            /// none): each operand's name in capitals, as its syntax shows it.
            pub fn usage(self) -> String {
                let words: Vec<String> = match self {
                    $( OpKind::$kind => vec![
                        $($( <$syntax as Syntax>::usage(stringify!($field)), )*)?
                    ], )*
                };
                words.join(" ")
            }

            pub fn from_name(name: &str) -> Option<OpKind> {
                match name {
                    $( $name => Some(OpKind::$kind), )*
                    _ => None,
                }
            }

            /// Reads the operands of a call of this function, left to right.
            pub(super) fn read(self, args: &mut Args<'_, '_>) -> Result<Op, LineError> {
                Ok(match self {
                    $( OpKind::$kind => Op::$kind $({
                        $( $field: <$syntax as Syntax>::read(args)?, )*
                    })?, )*
                })
            }
        }

        /// The name of every function, in the order of docs/scenario.md (for coverage tests).
        pub const OP_NAMES: &[&str] = &[$( $name, )*];

        /// One call, with its operands in Linux's order. Plain numbers are literals;
        /// addresses, pages, caches and pools are [`Operand`]s.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum Op {
            $(
                $(#[$attr])*
                $kind $({ $( $field: $ty, )* })?,
            )*
        }

        impl Op {
            pub fn kind(&self) -> OpKind {
                match self { $( Op::$kind { .. } => OpKind::$kind, )* }
            }

            /// The operands in text order (for `vmap`, the count first, then the pages).
            pub fn args(&self) -> Vec<Arg<'_>> {
                let mut out = Vec::new();
                match self {
                    $( Op::$kind $({ $( $field, )* })? => {
                        $($( <$syntax as Syntax>::print($field, &mut out); )*)?
                    } )*
                }
                out
            }
        }
    };
}

op_table! {
    // Pages.
    AllocPages = "alloc_pages", Pages, Page { gfp: Gfp as GfpMask, order: u32 as Number };
    /// `__free_pages`.
    FreePagesPage = "__free_pages", Pages, Nothing
        { page: Operand as Pointer, order: u32 as Number };
    /// `__get_free_pages`.
    GetFreePages = "__get_free_pages", Pages, Addr { gfp: Gfp as GfpMask, order: u32 as Number };
    /// `__get_free_page`.
    GetFreePage = "__get_free_page", Pages, Addr { gfp: Gfp as GfpMask };
    GetZeroedPage = "get_zeroed_page", Pages, Addr { gfp: Gfp as GfpMask };
    FreePages = "free_pages", Pages, Nothing { addr: Operand as Pointer, order: u32 as Number };
    FreePage = "free_page", Pages, Nothing { addr: Operand as Pointer };
    // Translation.
    PageAddress = "page_address", Translate, Addr { page: Operand as Pointer };
    VirtToPage = "virt_to_page", Translate, Page { addr: Operand as Pointer };
    PageToPhys = "page_to_phys", Translate, Phys { page: Operand as Pointer };
    VirtToPhys = "virt_to_phys", Translate, Phys { addr: Operand as Pointer };
    PhysToVirt = "phys_to_virt", Translate, Addr { phys: Operand as Pointer };
    // Slab.
    /// `ctor`: the constructor, which stores this byte into every byte of a new object.
    KmemCacheCreate = "kmem_cache_create", Slab, Cache {
        name: String as CacheName,
        size: u32 as Size32,
        align: u32 as Size32,
        flags: SlabFlags as SlabFlagSet,
        ctor: Option<u8> as OptionalByte,
    };
    KmemCacheAlloc = "kmem_cache_alloc", Slab, Addr
        { cache: Operand as Pointer, gfp: Gfp as GfpMask };
    KmemCacheZalloc = "kmem_cache_zalloc", Slab, Addr
        { cache: Operand as Pointer, gfp: Gfp as GfpMask };
    KmemCacheFree = "kmem_cache_free", Slab, Nothing
        { cache: Operand as Pointer, addr: Operand as Pointer };
    KmemCacheDestroy = "kmem_cache_destroy", Slab, Nothing { cache: Operand as Pointer };
    KmemCacheShrink = "kmem_cache_shrink", Slab, Value { cache: Operand as Pointer };
    ValidateSlabCache = "validate_slab_cache", Slab, Value { cache: Operand as Pointer };
    // kmalloc.
    Kmalloc = "kmalloc", Kmalloc, Addr { size: u64 as Size, gfp: Gfp as GfpMask };
    Kzalloc = "kzalloc", Kmalloc, Addr { size: u64 as Size, gfp: Gfp as GfpMask };
    Krealloc = "krealloc", Kmalloc, Addr
        { addr: Operand as Pointer, size: u64 as Size, gfp: Gfp as GfpMask };
    Ksize = "ksize", Kmalloc, Value { addr: Operand as Pointer };
    Kfree = "kfree", Kmalloc, Nothing { addr: Operand as Pointer };
    // vmalloc.
    Vmalloc = "vmalloc", Vmalloc, Addr { size: u64 as Size };
    Vzalloc = "vzalloc", Vmalloc, Addr { size: u64 as Size };
    /// `vmalloc_32`.
    Vmalloc32 = "vmalloc_32", Vmalloc, Addr { size: u64 as Size };
    /// `__vmalloc_node SIZE ALIGN GFP`: Linux's node (NUMA_NO_NODE) and caller (the
    /// statement's line) are implied.
    VmallocNode = "__vmalloc_node", Vmalloc, Addr
        { size: u64 as Size, align: u64 as Size, gfp: Gfp as GfpMask };
    Vfree = "vfree", Vmalloc, Nothing { addr: Operand as Pointer };
    /// `vmap COUNT PAGE...`: COUNT is `pages.len()`.
    Vmap = "vmap", Vmalloc, Addr { pages: Vec<Operand> as PageList };
    Vunmap = "vunmap", Vmalloc, Nothing { addr: Operand as Pointer };
    VmallocToPage = "vmalloc_to_page", Vmalloc, Page { addr: Operand as Pointer };
    IsVmallocAddr = "is_vmalloc_addr", Vmalloc, Value { addr: Operand as Pointer };
    /// `vm_unmap_aliases`: purges the lazily freed vmap areas (their addresses free again).
    VmUnmapAliases = "vm_unmap_aliases", Vmalloc, Nothing;
    // Highmem.
    Kmap = "kmap", Highmem, Addr { page: Operand as Pointer };
    Kunmap = "kunmap", Highmem, Nothing { page: Operand as Pointer };
    KmapAtomic = "kmap_atomic", Highmem, Addr { page: Operand as Pointer };
    KunmapAtomic = "kunmap_atomic", Highmem, Nothing { addr: Operand as Pointer };
    KmapLocalPage = "kmap_local_page", Highmem, Addr { page: Operand as Pointer };
    KunmapLocal = "kunmap_local", Highmem, Nothing { addr: Operand as Pointer };
    // Mempool.
    MempoolCreateKmallocPool = "mempool_create_kmalloc_pool", Mempool, Pool
        { min: u32 as Number, size: u64 as Size };
    MempoolCreateSlabPool = "mempool_create_slab_pool", Mempool, Pool
        { min: u32 as Number, cache: Operand as Pointer };
    MempoolCreatePagePool = "mempool_create_page_pool", Mempool, Pool
        { min: u32 as Number, order: u32 as Number };
    MempoolAlloc = "mempool_alloc", Mempool, Addr { pool: Operand as Pointer, gfp: Gfp as GfpMask };
    MempoolFree = "mempool_free", Mempool, Nothing
        { addr: Operand as Pointer, pool: Operand as Pointer };
    MempoolDestroy = "mempool_destroy", Mempool, Nothing { pool: Operand as Pointer };
    // Context.
    SpinLock = "spin_lock", Context, Nothing;
    SpinUnlock = "spin_unlock", Context, Nothing;
    LocalIrqDisable = "local_irq_disable", Context, Nothing;
    LocalIrqEnable = "local_irq_enable", Context, Nothing;
    IrqEnter = "irq_enter", Context, Nothing;
    IrqExit = "irq_exit", Context, Nothing;
    LocalBhDisable = "local_bh_disable", Context, Nothing;
    LocalBhEnable = "local_bh_enable", Context, Nothing;
    PreemptDisable = "preempt_disable", Context, Nothing;
    PreemptEnable = "preempt_enable", Context, Nothing;
    // The client.
    /// `write ADDR LEN BYTE`: stores `len` copies of `byte` from `addr` on.
    Write = "write", Access, Nothing
        { addr: Operand as Pointer, len: u64 as Size, byte: u8 as Byte };
    /// `read ADDR LEN`: loads `len` bytes, which the oracle checks.
    Read = "read", Access, Nothing { addr: Operand as Pointer, len: u64 as Size };
    // An engine (docs/engines.md).
    /// `allocate SIZE ALIGN`: a block of `size` bytes at an `align`-aligned address.
    Allocate = "allocate", Engine, Addr { size: u64 as Size, align: u64 as Size };
    /// `free ADDR`: gives back the block `addr` names (with the size and alignment it was
    /// allocated with).
    Free = "free", Engine, Nothing { addr: Operand as Pointer };
    /// `reallocate ADDR SIZE`: resizes the block, keeping its alignment and first bytes.
    Reallocate = "reallocate", Engine, Addr { addr: Operand as Pointer, size: u64 as Size };
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

    /// The usage of every function as docs/scenario.md and docs/functions.md write it; the
    /// usage comes from each row's operand names and syntaxes.
    #[test]
    fn usage_is_the_documented_one() {
        let documented: &[(&str, &str)] = &[
            ("alloc_pages", "GFP ORDER"),
            ("__free_pages", "PAGE ORDER"),
            ("__get_free_pages", "GFP ORDER"),
            ("__get_free_page", "GFP"),
            ("get_zeroed_page", "GFP"),
            ("free_pages", "ADDR ORDER"),
            ("free_page", "ADDR"),
            ("page_address", "PAGE"),
            ("virt_to_page", "ADDR"),
            ("page_to_phys", "PAGE"),
            ("virt_to_phys", "ADDR"),
            ("phys_to_virt", "PHYS"),
            ("kmem_cache_create", "NAME SIZE ALIGN FLAGS [CTOR]"),
            ("kmem_cache_alloc", "CACHE GFP"),
            ("kmem_cache_zalloc", "CACHE GFP"),
            ("kmem_cache_free", "CACHE ADDR"),
            ("kmem_cache_destroy", "CACHE"),
            ("kmem_cache_shrink", "CACHE"),
            ("validate_slab_cache", "CACHE"),
            ("kmalloc", "SIZE GFP"),
            ("kzalloc", "SIZE GFP"),
            ("krealloc", "ADDR SIZE GFP"),
            ("ksize", "ADDR"),
            ("kfree", "ADDR"),
            ("vmalloc", "SIZE"),
            ("vzalloc", "SIZE"),
            ("vmalloc_32", "SIZE"),
            ("__vmalloc_node", "SIZE ALIGN GFP"),
            ("vfree", "ADDR"),
            ("vmap", "COUNT PAGE..."),
            ("vunmap", "ADDR"),
            ("vmalloc_to_page", "ADDR"),
            ("is_vmalloc_addr", "ADDR"),
            ("vm_unmap_aliases", ""),
            ("kmap", "PAGE"),
            ("kunmap", "PAGE"),
            ("kmap_atomic", "PAGE"),
            ("kunmap_atomic", "ADDR"),
            ("kmap_local_page", "PAGE"),
            ("kunmap_local", "ADDR"),
            ("mempool_create_kmalloc_pool", "MIN SIZE"),
            ("mempool_create_slab_pool", "MIN CACHE"),
            ("mempool_create_page_pool", "MIN ORDER"),
            ("mempool_alloc", "POOL GFP"),
            ("mempool_free", "ADDR POOL"),
            ("mempool_destroy", "POOL"),
            ("spin_lock", ""),
            ("spin_unlock", ""),
            ("local_irq_disable", ""),
            ("local_irq_enable", ""),
            ("irq_enter", ""),
            ("irq_exit", ""),
            ("local_bh_disable", ""),
            ("local_bh_enable", ""),
            ("preempt_disable", ""),
            ("preempt_enable", ""),
            ("write", "ADDR LEN BYTE"),
            ("read", "ADDR LEN"),
            ("allocate", "SIZE ALIGN"),
            ("free", "ADDR"),
            ("reallocate", "ADDR SIZE"),
        ];
        assert_eq!(documented.len(), OpKind::ALL.len());
        for &(name, usage) in documented {
            let kind = OpKind::from_name(name).unwrap();
            assert_eq!(kind.usage(), usage, "{name}");
        }
    }
}
