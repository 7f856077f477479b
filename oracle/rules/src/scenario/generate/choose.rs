//! Small choices drawn from the fuzzer's bytes. None of them panics, and every one gives its
//! first (most ordinary) answer when the bytes run out.

use arbitrary::{Result, Unstructured};
use kmem_vocab::gfp::*;

/// A list of at most `N` values kept without allocating, to draw from with [`one_of`].
#[derive(Clone, Copy, Debug)]
pub struct Few<T: Copy, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy, const N: usize> Few<T, N> {
    /// An empty list (`fill` only fills the unused room).
    pub fn new(fill: T) -> Self {
        Few {
            items: [fill; N],
            len: 0,
        }
    }

    /// Appends `x` (nothing when the list is full).
    pub fn push(&mut self, x: T) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = x;
            self.len += 1;
        }
    }

    pub fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or_default()
    }
}

/// Where the generator's choices come from. Every choice is one draw of a number in a range;
/// the fuzzer's bytes ([`Unstructured`]) are the source the targets use, and the encoder
/// (`scenario::encode`) steers the generator with a source of its own that writes down the
/// draws it answers.
pub trait Draw {
    /// A number in `lo..=hi`, `lo < hi`.
    fn draw(&mut self, lo: u64, hi: u64) -> Result<u64>;
    /// Whether the source is used up: the generator then makes no more statements.
    fn is_empty(&self) -> bool;
}

/// `Unstructured::int_in_range(lo..=hi)`'s answer for `u64` from the front of `data`, and how
/// many bytes it takes: the fewest big-endian bytes that span `hi - lo` (fewer when the input
/// ends), reduced modulo the range's size. The remainder is skipped when the bytes already
/// fall in the range and taken in 32 bits when they fit: a draw is the generator's commonest
/// step, and a 64-bit division most of its time. (`arbitrary` panics on `lo > hi`; this
/// gives `lo`.)
fn int_in_range(data: &[u8], lo: u64, hi: u64) -> (u64, usize) {
    let Some(delta) = hi.checked_sub(lo).filter(|&d| d > 0) else {
        return (lo, 0);
    };
    let need = (u64::BITS - delta.leading_zeros()).div_ceil(8) as usize;
    let bytes = data.get(..need).unwrap_or(data);
    let x = bytes.iter().fold(0u64, |x, &b| (x << 8) | u64::from(b));
    let offset = match delta.checked_add(1) {
        None => x,
        Some(_) if x <= delta => x,
        Some(n) => match (u32::try_from(x), u32::try_from(n)) {
            (Ok(x), Ok(n)) => u64::from(x % n),
            _ => x % n,
        },
    };
    (lo.wrapping_add(offset), bytes.len())
}

impl Draw for Unstructured<'_> {
    fn draw(&mut self, lo: u64, hi: u64) -> Result<u64> {
        let (x, n) = int_in_range(self.peek_bytes(self.len()).unwrap_or_default(), lo, hi);
        self.bytes(n)?;
        Ok(x)
    }

    fn is_empty(&self) -> bool {
        Unstructured::is_empty(self)
    }
}

/// The fuzzer's bytes as the generator reads them: what is left of the input, drawn from
/// as [`Unstructured`] draws (the same bytes give the same answers), without its calls.
pub struct Bytes<'a> {
    pub rest: &'a [u8],
}

impl Draw for Bytes<'_> {
    #[inline]
    fn draw(&mut self, lo: u64, hi: u64) -> Result<u64> {
        let (x, n) = int_in_range(self.rest, lo, hi);
        self.rest = self.rest.get(n..).unwrap_or_default();
        Ok(x)
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// A number in `lo..=hi` (`lo` when the range is empty, without drawing).
pub fn pick(u: &mut impl Draw, lo: u64, hi: u64) -> Result<u64> {
    if hi <= lo {
        return Ok(lo);
    }
    u.draw(lo, hi)
}

/// An index below `len` (0 when `len` is 0).
pub fn index(u: &mut impl Draw, len: usize) -> Result<usize> {
    let hi = u64::try_from(len.saturating_sub(1)).unwrap_or(u64::MAX);
    Ok(usize::try_from(pick(u, 0, hi)?).unwrap_or(0))
}

/// One of `xs`, or `None` when it is empty.
pub fn one_of<T: Copy>(u: &mut impl Draw, xs: &[T]) -> Result<Option<T>> {
    if xs.is_empty() {
        return Ok(None);
    }
    let i = index(u, xs.len())?;
    Ok(xs.get(i).copied())
}

/// True with probability `percent`/100; false when the bytes have run out.
pub fn chance(u: &mut impl Draw, percent: u8) -> Result<bool> {
    let p = u64::from(percent.min(100));
    Ok(pick(u, 0, 99)? >= 100 - p)
}

pub fn byte(u: &mut impl Draw) -> Result<u8> {
    Ok(u8::try_from(pick(u, 0, 255)?).unwrap_or(0))
}

/// A buddy order: mostly 0-3, occasionally up to MAX_PAGE_ORDER.
pub fn order(u: &mut impl Draw) -> Result<u32> {
    let r = pick(u, 0, 63)?;
    let o = match r {
        0..=31 => 0,
        32..=47 => 1,
        48..=55 => 2,
        56..=60 => 3,
        61..=62 => pick(u, 4, 6)?,
        _ => pick(u, 7, u64::from(kmem_vocab::MAX_PAGE_ORDER))?,
    };
    Ok(u32::try_from(o).unwrap_or(0))
}

/// A kmalloc size: mostly small, sometimes a class boundary, occasionally large.
pub fn kmalloc_size(u: &mut impl Draw) -> Result<u64> {
    const CLASSES: [u64; 15] = [
        8, 16, 32, 64, 65, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192, 8193,
    ];
    Ok(match pick(u, 0, 63)? {
        0..=39 => pick(u, 1, 256)?,
        40..=53 => one_of(u, &CLASSES)?.unwrap_or(8),
        54..=59 => pick(u, 257, 8192)?,
        60..=62 => pick(u, 8193, 64 << 10)?,
        _ => pick(u, (64 << 10) + 1, 4 << 20)?,
    })
}

/// A vmalloc size: mostly a page or a few, sometimes odd, occasionally large.
pub fn vmalloc_size(u: &mut impl Draw) -> Result<u64> {
    Ok(match pick(u, 0, 63)? {
        0..=31 => pick(u, 1, 4)? * 4096,
        32..=51 => pick(u, 1, 16384)?,
        52..=59 => pick(u, 16385, 256 << 10)?,
        _ => pick(u, (256 << 10) + 1, 2 << 20)?,
    })
}

/// An alignment for __vmalloc_node: what fits (`Ok((align, true))`: a power of two up to
/// 4 MiB) or, now and then, one that is not a power of two or is too large to be sure of.
pub fn vmalloc_align(u: &mut impl Draw) -> Result<(u64, bool)> {
    Ok(match pick(u, 0, 31)? {
        0..=11 => (1 << pick(u, 0, 12)?, true),
        12..=28 => (1 << pick(u, 13, 22)?, true),
        29 => (one_of(u, &[0, 3, 0x3000, 0x10001])?.unwrap_or(0), false),
        _ => (1 << pick(u, 23, 63)?, false),
    })
}

/// A mask __vmalloc_node supports: GFP_KERNEL, GFP_NOFS or GFP_NOIO, with __GFP_ZERO,
/// __GFP_NOWARN or the 32-bit zone (vmalloc_32's GFP_DMA32) now and then.
pub fn gfp_vmalloc(u: &mut impl Draw) -> Result<Gfp> {
    let mut g = one_of(u, &[GFP_KERNEL, GFP_KERNEL, GFP_NOFS, GFP_NOIO])?.unwrap_or(GFP_KERNEL);
    if chance(u, 50)? {
        g |= __GFP_ZERO;
    }
    if chance(u, 20)? {
        g |= __GFP_NOWARN;
    }
    if chance(u, 20)? {
        g |= GFP_DMA32;
    }
    Ok(g)
}

/// A GFP mask for the slab, kmalloc and mempool: no zone modifiers unless `dma` allows
/// GFP_DMA; never sleeping when `atomic`.
pub fn gfp_object(u: &mut impl Draw, atomic: bool, dma: bool) -> Result<Gfp> {
    const SLEEPING: [Gfp; 9] = [
        GFP_KERNEL,
        GFP_KERNEL | __GFP_ZERO,
        GFP_ATOMIC,
        GFP_NOWAIT,
        GFP_NOFS,
        GFP_NOIO,
        GFP_KERNEL_ACCOUNT,
        GFP_KERNEL | __GFP_NOWARN,
        GFP_KERNEL | __GFP_RETRY_MAYFAIL,
    ];
    const ATOMIC: [Gfp; 4] = [
        GFP_ATOMIC,
        GFP_NOWAIT,
        GFP_ATOMIC | __GFP_ZERO,
        GFP_ATOMIC | __GFP_NOWARN,
    ];
    let set: &[Gfp] = if atomic { &ATOMIC } else { &SLEEPING };
    let mut g = one_of(u, set)?.unwrap_or(GFP_ATOMIC);
    if dma && chance(u, 5)? {
        g |= GFP_DMA;
    }
    Ok(g)
}

/// A GFP mask for the page allocator, which may also ask for highmem (when `highmem`) or DMA.
pub fn gfp_pages(u: &mut impl Draw, atomic: bool, highmem: bool) -> Result<Gfp> {
    let zone = pick(u, 0, 15)?;
    let mut g = gfp_object(u, atomic, false)?;
    match zone {
        12..=13 if highmem => g |= __GFP_HIGHMEM,
        14 if highmem && !atomic => g = GFP_HIGHUSER_MOVABLE,
        15 => g |= GFP_DMA,
        11 => g |= __GFP_COMP,
        // The emergency reserves: no watermark at all (ALLOC_NO_WATERMARKS).
        10 => g |= __GFP_MEMALLOC,
        _ => {}
    }
    Ok(g)
}

/// A mask that may sleep, for the sleeping-in-atomic misuse.
pub fn gfp_sleeping(u: &mut impl Draw) -> Result<Gfp> {
    Ok(one_of(
        u,
        &[GFP_KERNEL, GFP_KERNEL | __GFP_ZERO, GFP_NOFS, GFP_NOIO],
    )?
    .unwrap_or(GFP_KERNEL))
}
