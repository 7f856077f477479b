//! The scenario's syntax tree: a boot configuration and a list of statements, each a call of
//! one kernel function with its operands in Linux's order.

use kmem_vocab::gfp::Gfp;
use kmem_vocab::slab_flags::SlabFlags;
use kmem_vocab::BootConfig;

use super::kind::{Family, OpKind, Ret};

/// An operand that is an address, a page, a cache or a pool.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operand {
    /// `p`, `p+16`, `p-8`: the value bound to `name`, plus `offset` bytes.
    Name { name: String, offset: i64 },
    /// `0xd0000000`.
    Lit(u64),
    /// `NULL`.
    Null,
}

impl Operand {
    /// `name` with no offset.
    pub fn name(name: impl Into<String>) -> Operand {
        Operand::Name {
            name: name.into(),
            offset: 0,
        }
    }

    /// The bound name this operand refers to, if any.
    pub fn bound_name(&self) -> Option<&str> {
        match self {
            Operand::Name { name, .. } => Some(name),
            Operand::Lit(_) | Operand::Null => None,
        }
    }
}

/// One call, with its operands in Linux's order. Plain numbers are literals; addresses,
/// pages, caches and pools are [`Operand`]s.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    // Pages.
    AllocPages {
        gfp: Gfp,
        order: u32,
    },
    /// `__free_pages`.
    FreePagesPage {
        page: Operand,
        order: u32,
    },
    /// `__get_free_pages`.
    GetFreePages {
        gfp: Gfp,
        order: u32,
    },
    /// `__get_free_page`.
    GetFreePage {
        gfp: Gfp,
    },
    GetZeroedPage {
        gfp: Gfp,
    },
    FreePages {
        addr: Operand,
        order: u32,
    },
    FreePage {
        addr: Operand,
    },
    // Translation.
    PageAddress {
        page: Operand,
    },
    VirtToPage {
        addr: Operand,
    },
    PageToPhys {
        page: Operand,
    },
    VirtToPhys {
        addr: Operand,
    },
    PhysToVirt {
        phys: Operand,
    },
    // Slab.
    /// `ctor`: the constructor, which stores this byte into every byte of a new object.
    KmemCacheCreate {
        name: String,
        size: u32,
        align: u32,
        flags: SlabFlags,
        ctor: Option<u8>,
    },
    KmemCacheAlloc {
        cache: Operand,
        gfp: Gfp,
    },
    KmemCacheZalloc {
        cache: Operand,
        gfp: Gfp,
    },
    KmemCacheFree {
        cache: Operand,
        addr: Operand,
    },
    KmemCacheDestroy {
        cache: Operand,
    },
    KmemCacheShrink {
        cache: Operand,
    },
    ValidateSlabCache {
        cache: Operand,
    },
    // kmalloc.
    Kmalloc {
        size: u64,
        gfp: Gfp,
    },
    Kzalloc {
        size: u64,
        gfp: Gfp,
    },
    Krealloc {
        addr: Operand,
        size: u64,
        gfp: Gfp,
    },
    Ksize {
        addr: Operand,
    },
    Kfree {
        addr: Operand,
    },
    // vmalloc.
    Vmalloc {
        size: u64,
    },
    Vzalloc {
        size: u64,
    },
    /// `vmalloc_32`.
    Vmalloc32 {
        size: u64,
    },
    /// `__vmalloc_node SIZE ALIGN GFP`: Linux's node (NUMA_NO_NODE) and caller (the
    /// statement's line) are implied.
    VmallocNode {
        size: u64,
        align: u64,
        gfp: Gfp,
    },
    Vfree {
        addr: Operand,
    },
    /// `vmap COUNT PAGE...`: COUNT is `pages.len()`.
    Vmap {
        pages: Vec<Operand>,
    },
    Vunmap {
        addr: Operand,
    },
    VmallocToPage {
        addr: Operand,
    },
    IsVmallocAddr {
        addr: Operand,
    },
    // Highmem.
    Kmap {
        page: Operand,
    },
    Kunmap {
        page: Operand,
    },
    KmapAtomic {
        page: Operand,
    },
    KunmapAtomic {
        addr: Operand,
    },
    KmapLocalPage {
        page: Operand,
    },
    KunmapLocal {
        addr: Operand,
    },
    // Mempool.
    MempoolCreateKmallocPool {
        min: u32,
        size: u64,
    },
    MempoolCreateSlabPool {
        min: u32,
        cache: Operand,
    },
    MempoolCreatePagePool {
        min: u32,
        order: u32,
    },
    MempoolAlloc {
        pool: Operand,
        gfp: Gfp,
    },
    MempoolFree {
        addr: Operand,
        pool: Operand,
    },
    MempoolDestroy {
        pool: Operand,
    },
    // Context.
    SpinLock,
    SpinUnlock,
    LocalIrqDisable,
    LocalIrqEnable,
    IrqEnter,
    IrqExit,
    LocalBhDisable,
    LocalBhEnable,
    PreemptDisable,
    PreemptEnable,
    // The client.
    /// `write ADDR LEN BYTE`: stores `len` copies of `byte` from `addr` on.
    Write {
        addr: Operand,
        len: u64,
        byte: u8,
    },
    /// `read ADDR LEN`: loads `len` bytes, which the oracle checks.
    Read {
        addr: Operand,
        len: u64,
    },
    // An engine (docs/engines.md).
    /// `allocate SIZE ALIGN`: a block of `size` bytes at an `align`-aligned address.
    Allocate {
        size: u64,
        align: u64,
    },
    /// `free ADDR`: gives back the block `addr` names (its size and alignment are the ones
    /// it was allocated with).
    Free {
        addr: Operand,
    },
    /// `reallocate ADDR SIZE`: resizes the block, keeping its alignment and its first bytes.
    Reallocate {
        addr: Operand,
        size: u64,
    },
}

/// One operand of a call, as text shows it (see [`Op::args`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg<'a> {
    /// An address, page, cache or pool.
    Operand(&'a Operand),
    /// A plain number: a size, an order, a count (printed in decimal).
    Num(u64),
    /// A byte value (printed in hex).
    Byte(u8),
    Gfp(Gfp),
    SlabFlags(SlabFlags),
    /// A bare word, such as a cache's name.
    Word(&'a str),
}

impl Op {
    pub fn kind(&self) -> OpKind {
        match self {
            Op::AllocPages { .. } => OpKind::AllocPages,
            Op::FreePagesPage { .. } => OpKind::FreePagesPage,
            Op::GetFreePages { .. } => OpKind::GetFreePages,
            Op::GetFreePage { .. } => OpKind::GetFreePage,
            Op::GetZeroedPage { .. } => OpKind::GetZeroedPage,
            Op::FreePages { .. } => OpKind::FreePages,
            Op::FreePage { .. } => OpKind::FreePage,
            Op::PageAddress { .. } => OpKind::PageAddress,
            Op::VirtToPage { .. } => OpKind::VirtToPage,
            Op::PageToPhys { .. } => OpKind::PageToPhys,
            Op::VirtToPhys { .. } => OpKind::VirtToPhys,
            Op::PhysToVirt { .. } => OpKind::PhysToVirt,
            Op::KmemCacheCreate { .. } => OpKind::KmemCacheCreate,
            Op::KmemCacheAlloc { .. } => OpKind::KmemCacheAlloc,
            Op::KmemCacheZalloc { .. } => OpKind::KmemCacheZalloc,
            Op::KmemCacheFree { .. } => OpKind::KmemCacheFree,
            Op::KmemCacheDestroy { .. } => OpKind::KmemCacheDestroy,
            Op::KmemCacheShrink { .. } => OpKind::KmemCacheShrink,
            Op::ValidateSlabCache { .. } => OpKind::ValidateSlabCache,
            Op::Kmalloc { .. } => OpKind::Kmalloc,
            Op::Kzalloc { .. } => OpKind::Kzalloc,
            Op::Krealloc { .. } => OpKind::Krealloc,
            Op::Ksize { .. } => OpKind::Ksize,
            Op::Kfree { .. } => OpKind::Kfree,
            Op::Vmalloc { .. } => OpKind::Vmalloc,
            Op::Vzalloc { .. } => OpKind::Vzalloc,
            Op::Vmalloc32 { .. } => OpKind::Vmalloc32,
            Op::VmallocNode { .. } => OpKind::VmallocNode,
            Op::Vfree { .. } => OpKind::Vfree,
            Op::Vmap { .. } => OpKind::Vmap,
            Op::Vunmap { .. } => OpKind::Vunmap,
            Op::VmallocToPage { .. } => OpKind::VmallocToPage,
            Op::IsVmallocAddr { .. } => OpKind::IsVmallocAddr,
            Op::Kmap { .. } => OpKind::Kmap,
            Op::Kunmap { .. } => OpKind::Kunmap,
            Op::KmapAtomic { .. } => OpKind::KmapAtomic,
            Op::KunmapAtomic { .. } => OpKind::KunmapAtomic,
            Op::KmapLocalPage { .. } => OpKind::KmapLocalPage,
            Op::KunmapLocal { .. } => OpKind::KunmapLocal,
            Op::MempoolCreateKmallocPool { .. } => OpKind::MempoolCreateKmallocPool,
            Op::MempoolCreateSlabPool { .. } => OpKind::MempoolCreateSlabPool,
            Op::MempoolCreatePagePool { .. } => OpKind::MempoolCreatePagePool,
            Op::MempoolAlloc { .. } => OpKind::MempoolAlloc,
            Op::MempoolFree { .. } => OpKind::MempoolFree,
            Op::MempoolDestroy { .. } => OpKind::MempoolDestroy,
            Op::SpinLock => OpKind::SpinLock,
            Op::SpinUnlock => OpKind::SpinUnlock,
            Op::LocalIrqDisable => OpKind::LocalIrqDisable,
            Op::LocalIrqEnable => OpKind::LocalIrqEnable,
            Op::IrqEnter => OpKind::IrqEnter,
            Op::IrqExit => OpKind::IrqExit,
            Op::LocalBhDisable => OpKind::LocalBhDisable,
            Op::LocalBhEnable => OpKind::LocalBhEnable,
            Op::PreemptDisable => OpKind::PreemptDisable,
            Op::PreemptEnable => OpKind::PreemptEnable,
            Op::Write { .. } => OpKind::Write,
            Op::Read { .. } => OpKind::Read,
            Op::Allocate { .. } => OpKind::Allocate,
            Op::Free { .. } => OpKind::Free,
            Op::Reallocate { .. } => OpKind::Reallocate,
        }
    }

    /// The kernel function's name, as written in text.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    pub fn family(&self) -> Family {
        self.kind().family()
    }

    pub fn returns(&self) -> Ret {
        self.kind().returns()
    }

    /// The operands in text order (for `vmap`, the count first, then the pages).
    pub fn args(&self) -> Vec<Arg<'_>> {
        use Arg::{Byte, Gfp as G, Num, Operand as O, SlabFlags as F, Word};
        let n = |v: u32| Num(u64::from(v));
        match self {
            Op::AllocPages { gfp, order } | Op::GetFreePages { gfp, order } => {
                vec![G(*gfp), n(*order)]
            }
            Op::FreePagesPage { page: a, order } | Op::FreePages { addr: a, order } => {
                vec![O(a), n(*order)]
            }
            Op::GetFreePage { gfp } | Op::GetZeroedPage { gfp } => vec![G(*gfp)],
            Op::FreePage { addr: a }
            | Op::PageAddress { page: a }
            | Op::VirtToPage { addr: a }
            | Op::PageToPhys { page: a }
            | Op::VirtToPhys { addr: a }
            | Op::PhysToVirt { phys: a }
            | Op::KmemCacheDestroy { cache: a }
            | Op::KmemCacheShrink { cache: a }
            | Op::ValidateSlabCache { cache: a }
            | Op::Ksize { addr: a }
            | Op::Kfree { addr: a }
            | Op::Vfree { addr: a }
            | Op::Vunmap { addr: a }
            | Op::VmallocToPage { addr: a }
            | Op::IsVmallocAddr { addr: a }
            | Op::Kmap { page: a }
            | Op::Kunmap { page: a }
            | Op::KmapAtomic { page: a }
            | Op::KunmapAtomic { addr: a }
            | Op::KmapLocalPage { page: a }
            | Op::KunmapLocal { addr: a }
            | Op::MempoolDestroy { pool: a }
            | Op::Free { addr: a } => vec![O(a)],
            Op::KmemCacheCreate {
                name,
                size,
                align,
                flags,
                ctor,
            } => {
                let mut v = vec![Word(name), n(*size), n(*align), F(*flags)];
                v.extend(ctor.map(Byte));
                v
            }
            Op::KmemCacheAlloc { cache: a, gfp }
            | Op::KmemCacheZalloc { cache: a, gfp }
            | Op::MempoolAlloc { pool: a, gfp } => vec![O(a), G(*gfp)],
            Op::KmemCacheFree { cache: a, addr: b } | Op::MempoolFree { addr: a, pool: b } => {
                vec![O(a), O(b)]
            }
            Op::Kmalloc { size, gfp } | Op::Kzalloc { size, gfp } => vec![Num(*size), G(*gfp)],
            Op::Krealloc { addr, size, gfp } => vec![O(addr), Num(*size), G(*gfp)],
            Op::Vmalloc { size } | Op::Vzalloc { size } | Op::Vmalloc32 { size } => {
                vec![Num(*size)]
            }
            Op::VmallocNode { size, align, gfp } => vec![Num(*size), Num(*align), G(*gfp)],
            Op::Vmap { pages } => {
                let count = u64::try_from(pages.len()).unwrap_or(u64::MAX);
                let mut v = vec![Num(count)];
                v.extend(pages.iter().map(O));
                v
            }
            Op::MempoolCreateKmallocPool { min, size } => vec![n(*min), Num(*size)],
            Op::MempoolCreateSlabPool { min, cache } => vec![n(*min), O(cache)],
            Op::MempoolCreatePagePool { min, order } => vec![n(*min), n(*order)],
            Op::SpinLock
            | Op::SpinUnlock
            | Op::LocalIrqDisable
            | Op::LocalIrqEnable
            | Op::IrqEnter
            | Op::IrqExit
            | Op::LocalBhDisable
            | Op::LocalBhEnable
            | Op::PreemptDisable
            | Op::PreemptEnable => vec![],
            Op::Write { addr, len, byte } => vec![O(addr), Num(*len), Byte(*byte)],
            Op::Read { addr, len } => vec![O(addr), Num(*len)],
            Op::Allocate { size, align } => vec![Num(*size), Num(*align)],
            Op::Reallocate { addr, size } => vec![O(addr), Num(*size)],
        }
    }

    /// The operands that are addresses, pages, caches or pools, in text order.
    pub fn operands(&self) -> Vec<&Operand> {
        self.args()
            .into_iter()
            .filter_map(|a| match a {
                Arg::Operand(o) => Some(o),
                _ => None,
            })
            .collect()
    }
}

/// One statement: `[bind =] function operand...`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stmt {
    /// 1-based source line.
    pub line: u32,
    /// 1-based column (in characters) of the statement's first token.
    pub col: u32,
    /// The name bound to the result, if any.
    pub bind: Option<String>,
    pub op: Op,
}

/// A whole scenario: how the machine boots, then the statements in order.
///
/// Equality is exact, source positions included. Printing puts the boot line on line 1 and
/// statement `i` on line `i + 2`, each at column 1, so `parse(&s.to_string()) == Ok(s)` holds
/// for every scenario whose positions are those ([`Scenario::renumber`] sets them) and whose
/// names are bound before use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scenario {
    pub boot: BootConfig,
    pub stmts: Vec<Stmt>,
}

impl Scenario {
    /// Sets every statement's position to where printing puts it: line `i + 2`, column 1.
    pub fn renumber(&mut self) {
        for (i, s) in self.stmts.iter_mut().enumerate() {
            s.line = printed_line(i);
            s.col = 1;
        }
    }
}

/// The line on which the printer puts statement `index` (the boot line is line 1).
pub fn printed_line(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX).saturating_add(2)
}
