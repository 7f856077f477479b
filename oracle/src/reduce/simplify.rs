//! Simpler versions of one statement's operands and of the boot line, each strictly simpler
//! than what it replaces (so a reduction that keeps taking them ends), simplest first.

use kmem::gfp::{format_gfp, Gfp, GFP_KERNEL};
use kmem::{BootConfig, SlubDebug};

use crate::{Op, Operand};

/// What kind of number a field is, which decides its smaller candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// A size or a length: powers of two below it, from 1.
    Size,
    /// A page order: every smaller order, from 0.
    Order,
    /// An alignment: 0 (none asked), then powers of two below it.
    Align,
    /// A mempool's minimum: every smaller count, from 1.
    Min,
}

/// The numeric fields of an op, in operand order, as (kind, value).
pub fn fields(op: &Op) -> Vec<(Field, u64)> {
    let mut op = op.clone();
    fields_mut(&mut op)
        .into_iter()
        .map(|(k, v)| (k, v.get()))
        .collect()
}

/// A numeric field of either width, read and written as u64.
pub enum Num<'a> {
    U64(&'a mut u64),
    U32(&'a mut u32),
}

impl Num<'_> {
    pub fn get(&self) -> u64 {
        match self {
            Num::U64(v) => **v,
            Num::U32(v) => u64::from(**v),
        }
    }

    /// Sets the field; a value that does not fit is not set.
    pub fn set(&mut self, x: u64) -> bool {
        match self {
            Num::U64(v) => **v = x,
            Num::U32(v) => match u32::try_from(x) {
                Ok(x) => **v = x,
                Err(_) => return false,
            },
        }
        true
    }
}

/// The numeric fields of an op, mutable, in operand order.
pub fn fields_mut(op: &mut Op) -> Vec<(Field, Num<'_>)> {
    use Field::*;
    match op {
        Op::AllocPages { order, .. }
        | Op::GetFreePages { order, .. }
        | Op::FreePagesPage { order, .. }
        | Op::FreePages { order, .. } => vec![(Order, Num::U32(order))],
        Op::MempoolCreatePagePool { min, order } => {
            vec![(Min, Num::U32(min)), (Order, Num::U32(order))]
        }
        Op::KmemCacheCreate { size, align, .. } => {
            vec![(Size, Num::U32(size)), (Align, Num::U32(align))]
        }
        Op::Kmalloc { size, .. }
        | Op::Kzalloc { size, .. }
        | Op::Krealloc { size, .. }
        | Op::Vmalloc { size }
        | Op::Vzalloc { size }
        | Op::Vmalloc32 { size } => vec![(Size, Num::U64(size))],
        Op::VmallocNode { size, align, .. } => {
            vec![(Size, Num::U64(size)), (Align, Num::U64(align))]
        }
        Op::MempoolCreateKmallocPool { min, size } => {
            vec![(Min, Num::U32(min)), (Size, Num::U64(size))]
        }
        Op::MempoolCreateSlabPool { min, .. } => vec![(Min, Num::U32(min))],
        Op::Write { len, .. } | Op::Read { len, .. } => vec![(Size, Num::U64(len))],
        _ => vec![],
    }
}

/// Smaller values for a field, smallest first.
pub fn smaller(kind: Field, v: u64) -> Vec<u64> {
    let pow2 = |from: u64| {
        (0..64)
            .map(|s| 1u64 << s)
            .filter(move |&p| p >= from && p < v)
    };
    match kind {
        Field::Size => {
            let mut c: Vec<u64> = pow2(1).collect();
            // Also halfway, for a size that must stay above some bound.
            if v / 2 > 0 && !c.contains(&(v / 2)) {
                c.push(v / 2);
            }
            c.sort_unstable();
            c
        }
        Field::Order => (0..v).collect(),
        Field::Align => std::iter::once(0)
            .chain(pow2(1))
            .filter(|&a| a < v)
            .collect(),
        Field::Min => (1..v).collect(),
    }
}

/// How complicated a GFP mask reads: its printed names, whether it is not plain GFP_KERNEL,
/// then its bits. Candidates must lower it.
fn gfp_cost(g: Gfp) -> (usize, bool, u32) {
    let names = if g == 0 {
        1
    } else {
        format_gfp(g).split('|').count()
    };
    (names, g != GFP_KERNEL, g.count_ones())
}

/// Simpler masks: GFP_KERNEL, then the mask with one printed name taken out.
pub fn simpler_gfp(g: Gfp) -> Vec<Gfp> {
    let mut c = vec![GFP_KERNEL];
    let printed = format_gfp(g);
    let names: Vec<&str> = printed.split('|').collect();
    if names.len() > 1 {
        for skip in 0..names.len() {
            let rest: Vec<&str> = names
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != skip)
                .map(|(_, n)| *n)
                .collect();
            if let Ok(m) = kmem::gfp::parse_gfp(&rest.join("|")) {
                c.push(m);
            }
        }
    }
    let cost = gfp_cost(g);
    c.retain(|&m| gfp_cost(m) < cost);
    c.dedup();
    c
}

/// The op with one thing made simpler: each of its candidates, simplest first (numbers,
/// flags, constructor, offsets, vmap's page list).
pub fn simpler_ops(op: &Op) -> Vec<Op> {
    let mut out = vec![];
    // Numbers.
    for (i, (kind, v)) in fields(op).into_iter().enumerate() {
        for x in smaller(kind, v) {
            let mut o = op.clone();
            if fields_mut(&mut o)[i].1.set(x) {
                out.push(o);
            }
        }
    }
    // GFP masks.
    if let Some(g) = gfp(op) {
        for m in simpler_gfp(g) {
            let mut o = op.clone();
            set_gfp(&mut o, m);
            out.push(o);
        }
    }
    // Slab flags, one bit at a time, and the constructor.
    if let Op::KmemCacheCreate { flags, ctor, .. } = op {
        for bit in (0..32).map(|b| 1u32 << b).filter(|b| flags & b != 0) {
            let mut o = op.clone();
            if let Op::KmemCacheCreate { flags, .. } = &mut o {
                *flags &= !bit;
            }
            out.push(o);
        }
        if ctor.is_some() {
            let mut o = op.clone();
            if let Op::KmemCacheCreate { ctor, .. } = &mut o {
                *ctor = None;
            }
            out.push(o);
        }
    }
    // Offsets: none, then smaller powers of two the same way.
    for (i, operand) in op.operands().into_iter().enumerate() {
        let Operand::Name { offset, .. } = operand else {
            continue;
        };
        if *offset == 0 {
            continue;
        }
        let (off, sign) = (offset.unsigned_abs(), offset.signum());
        let smaller_offsets = std::iter::once(0).chain(
            (0..63)
                .map(|s| 1i64 << s)
                .filter(|&p| p.unsigned_abs() < off)
                .map(|p| p * sign),
        );
        for x in smaller_offsets {
            let mut o = op.clone();
            if let Some(Operand::Name { offset, .. }) = operands_mut(&mut o).into_iter().nth(i) {
                *offset = x;
            }
            out.push(o);
        }
    }
    // vmap: one page fewer.
    if let Op::Vmap { pages } = op {
        for i in 0..pages.len() {
            let mut p = pages.clone();
            p.remove(i);
            out.push(Op::Vmap { pages: p });
        }
    }
    out
}

pub fn gfp(op: &Op) -> Option<Gfp> {
    let mut o = op.clone();
    gfp_mut(&mut o).map(|g| *g)
}

fn set_gfp(op: &mut Op, m: Gfp) {
    if let Some(g) = gfp_mut(op) {
        *g = m;
    }
}

fn gfp_mut(op: &mut Op) -> Option<&mut Gfp> {
    match op {
        Op::AllocPages { gfp, .. }
        | Op::GetFreePages { gfp, .. }
        | Op::GetFreePage { gfp }
        | Op::GetZeroedPage { gfp }
        | Op::KmemCacheAlloc { gfp, .. }
        | Op::KmemCacheZalloc { gfp, .. }
        | Op::Kmalloc { gfp, .. }
        | Op::Kzalloc { gfp, .. }
        | Op::Krealloc { gfp, .. }
        | Op::VmallocNode { gfp, .. }
        | Op::MempoolAlloc { gfp, .. } => Some(gfp),
        _ => None,
    }
}

/// The address, page, cache and pool operands, mutable, in text order (as
/// [`Op::operands`]).
pub fn operands_mut(op: &mut Op) -> Vec<&mut Operand> {
    match op {
        Op::FreePagesPage { page: a, .. }
        | Op::FreePages { addr: a, .. }
        | Op::FreePage { addr: a }
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
        | Op::KmemCacheAlloc { cache: a, .. }
        | Op::KmemCacheZalloc { cache: a, .. }
        | Op::MempoolAlloc { pool: a, .. }
        | Op::Krealloc { addr: a, .. }
        | Op::MempoolCreateSlabPool { cache: a, .. }
        | Op::Write { addr: a, .. }
        | Op::Read { addr: a, .. } => vec![a],
        Op::KmemCacheFree { cache: a, addr: b } | Op::MempoolFree { addr: a, pool: b } => {
            vec![a, b]
        }
        Op::Vmap { pages } => pages.iter_mut().collect(),
        _ => vec![],
    }
}

/// Boot lines with one option back at its default (or slub_debug with a letter fewer).
pub fn simpler_boots(b: &BootConfig) -> Vec<BootConfig> {
    let d = BootConfig::default();
    let mut out = vec![];
    let mut with = |f: &dyn Fn(&mut BootConfig)| {
        let mut c = b.clone();
        f(&mut c);
        if c != *b {
            out.push(c);
        }
    };
    with(&|c| c.slub_debug = None);
    if let Some(s) = b.slub_debug {
        let fewer = [
            SlubDebug {
                consistency: false,
                ..s
            },
            SlubDebug {
                red_zone: false,
                ..s
            },
            SlubDebug { poison: false, ..s },
            SlubDebug {
                store_user: false,
                ..s
            },
        ];
        for f in fewer {
            if f != s && f != SlubDebug::default() {
                with(&|c| c.slub_debug = Some(f));
            }
        }
    }
    with(&|c| c.page_poison = d.page_poison);
    with(&|c| c.debug_pagealloc = d.debug_pagealloc);
    with(&|c| c.debug_virtual = d.debug_virtual);
    with(&|c| c.kmalloc_max = d.kmalloc_max);
    with(&|c| c.kernel = d.kernel);
    // PAE back off, with the default memory size when its memory needs PAE.
    with(&|c| {
        c.pae = d.pae;
        if c.validate().is_err() {
            c.mem = d.mem;
        }
    });
    with(&|c| c.mem = d.mem);
    with(&|c| c.arch = d.arch);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmem::gfp::{__GFP_DMA, __GFP_ZERO, GFP_ATOMIC};

    #[test]
    fn smaller_numbers_come_smallest_first() {
        assert_eq!(smaller(Field::Size, 100), vec![1, 2, 4, 8, 16, 32, 50, 64]);
        assert_eq!(smaller(Field::Size, 1), Vec::<u64>::new());
        assert_eq!(smaller(Field::Order, 3), vec![0, 1, 2]);
        assert_eq!(smaller(Field::Align, 16), vec![0, 1, 2, 4, 8]);
        assert_eq!(smaller(Field::Min, 3), vec![1, 2]);
    }

    #[test]
    fn simpler_masks_read_simpler() {
        let m = simpler_gfp(GFP_KERNEL | __GFP_ZERO | __GFP_DMA);
        assert_eq!(m[0], GFP_KERNEL);
        assert!(m.contains(&(GFP_KERNEL | __GFP_ZERO)));
        assert!(m.contains(&(GFP_KERNEL | __GFP_DMA)));
        assert!(simpler_gfp(GFP_KERNEL).is_empty());
        // GFP_ATOMIC is one name too, but not GFP_KERNEL: GFP_KERNEL is simpler.
        assert_eq!(simpler_gfp(GFP_ATOMIC), vec![GFP_KERNEL]);
    }

    #[test]
    fn every_candidate_op_differs_and_prints() {
        let s = crate::parse(
            "boot mem=32M\n\
             c = kmem_cache_create c 100 8 SLAB_POISON|SLAB_RED_ZONE 0x5a\n\
             p = alloc_pages GFP_KERNEL|__GFP_ZERO 3\n\
             v = vmap 2 p p+4096\n\
             write v+100 64 0xaa\n",
        )
        .unwrap();
        for st in &s.stmts {
            let c = simpler_ops(&st.op);
            assert!(!c.is_empty(), "{}", st.op);
            for o in &c {
                assert_ne!(o, &st.op);
                assert_eq!(o.name(), st.op.name());
            }
        }
        let w = simpler_ops(&s.stmts[3].op);
        assert!(w.iter().any(|o| o.to_string() == "write v 64 0xaa"));
        assert!(w.iter().any(|o| o.to_string() == "write v+100 1 0xaa"));
        let v = simpler_ops(&s.stmts[2].op);
        assert!(v.iter().any(|o| o.to_string() == "vmap 1 p+4096"));
        assert!(v.iter().any(|o| o.to_string() == "vmap 2 p p"));
    }

    #[test]
    fn boot_options_go_back_to_their_defaults() {
        let b =
            kmem::BootConfig::parse_words(["mem=32M", "slub_debug=FZ", "page_poison=1"]).unwrap();
        let c = simpler_boots(&b);
        assert!(c.iter().any(|c| c.slub_debug.is_none()));
        assert!(c
            .iter()
            .any(|c| c.slub_debug.map(|d| d.letters()) == Some("Z".into())));
        assert!(c.iter().any(|c| !c.page_poison && c.slub_debug.is_some()));
        assert!(c.iter().any(|c| c.mem == 128 << 20));
        assert!(simpler_boots(&BootConfig::default()).is_empty());
        // The kernel profile and PAE go back too; PAE with its memory when that needs it.
        let b = kmem::BootConfig::parse_words(["mem=8G", "pae=1", "kernel=2.6"]).unwrap();
        let c = simpler_boots(&b);
        assert!(c.iter().any(|c| c.kernel == kmem::Kernel::V6_6 && c.pae));
        assert!(c
            .iter()
            .any(|c| !c.pae && c.mem == 128 << 20 && c.validate().is_ok()));
    }
}
