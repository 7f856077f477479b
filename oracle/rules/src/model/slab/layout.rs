//! The slot layout of a cache, worked out by the oracle from calculate_sizes()'s rules
//! (mm/slub.c, 6.6) with no code shared with `kmem`: where the left red zone, the object,
//! the right red zone, the free pointer, the tracks, orig_size and the padding lie.

use kmem_vocab::slab_flags::*;
use kmem_vocab::Arch;

pub(crate) const CACHE_LINE: u32 = 64;

/// A slot layout, from calculate_sizes() (mm/slub.c, 6.6). Offsets are from the slot start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub rlp: u32,
    pub object_size: u32,
    pub inuse: u32,
    /// Free pointer offset from the object, and whether it is outside the object.
    pub offset: u32,
    pub fp_outside: bool,
    pub track: Option<(u32, u32)>,
    pub orig: Option<u32>,
    pub pad_offset: u32,
    pub size_from_object: u32,
    pub size: u32,
    pub align: u32,
    /// sizeof(void *).
    pub ptr: u32,
}

pub(crate) fn align_up(v: u64, a: u64) -> u64 {
    if a <= 1 {
        v
    } else {
        v.div_ceil(a).saturating_mul(a)
    }
}

/// calculate_alignment() (mm/slab_common.c).
pub fn alignment(flags: SlabFlags, align: u32, size: u32, ptr: u32) -> u32 {
    let mut a = align;
    if flags & SLAB_HWCACHE_ALIGN != 0 {
        let mut r = CACHE_LINE;
        while size <= r / 2 {
            r /= 2;
        }
        a = a.max(r);
    }
    a = a.max(8);
    align_up(a as u64, ptr as u64).min(1 << 30) as u32
}

/// calculate_sizes() for effective `flags`.
pub fn layout(
    object_size: u32,
    align: u32,
    flags: SlabFlags,
    ctor: bool,
    kmalloc: bool,
    arch: Arch,
) -> Layout {
    let (ptr, trk) = match arch {
        Arch::I386 => (4u64, 20u64),
        Arch::X86_64 => (8, 32),
    };
    let z = flags & SLAB_RED_ZONE != 0;
    let u = flags & SLAB_STORE_USER != 0;
    let p = flags & SLAB_POISON != 0;
    let os = object_size as u64;
    let mut size = align_up(os, ptr);
    if z && size == os {
        size += ptr;
    }
    let inuse = size;
    let outside = (u && kmalloc) || p || (z && os < ptr) || ctor;
    let offset = if outside {
        let o = size;
        size += ptr;
        o
    } else {
        (os / 2) & !(ptr - 1)
    };
    let mut track = None;
    let mut orig = None;
    if u {
        track = Some((size as u32, (2 * trk) as u32));
        size += 2 * trk;
        if kmalloc {
            orig = Some(size as u32);
            size += 4;
        }
    }
    let pad_offset = size;
    let mut rlp = 0;
    if z {
        size += ptr;
        rlp = align_up(ptr, align as u64);
        size += rlp;
    }
    size = align_up(size, align as u64);
    Layout {
        rlp: rlp as u32,
        object_size,
        inuse: inuse as u32,
        offset: offset as u32,
        fp_outside: outside,
        track,
        orig,
        pad_offset: pad_offset as u32,
        size_from_object: (size - rlp) as u32,
        size: size.min(u32::MAX as u64) as u32,
        align,
        ptr: ptr as u32,
    }
}

/// Where a byte lies in a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    LeftRz,
    Object,
    RightRz,
    FreePtr,
    Track,
    Orig,
    Padding,
}

impl Layout {
    /// The first offset after `r` (below the slot's size) where [`Layout::area`] may answer
    /// differently: the bytes [r, area_end(r)) all lie in one area.
    pub fn area_end(&self, r: u32) -> u32 {
        let l = self;
        let o = |x: u32| l.rlp.saturating_add(x);
        // Every place an area may begin or end (some twice, which changes nothing).
        let (t, n) = l.track.unwrap_or((0, 0));
        let orig = l.orig.unwrap_or(0);
        [
            l.rlp,
            o(l.object_size),
            o(l.inuse),
            o(l.offset),
            o(l.offset.saturating_add(l.ptr)),
            o(t),
            o(t.saturating_add(n)),
            o(orig),
            o(orig.saturating_add(4)),
        ]
        .into_iter()
        .filter(|&e| e > r)
        .fold(l.size.max(r.saturating_add(1)), u32::min)
    }

    /// The area of slot-relative offset `r`.
    pub fn area(&self, r: u32) -> Area {
        let l = self;
        if r < l.rlp {
            return Area::LeftRz;
        }
        let o = r - l.rlp;
        if o < l.object_size {
            return Area::Object;
        }
        if o < l.inuse {
            return Area::RightRz;
        }
        if l.fp_outside && o >= l.offset && o < l.offset + l.ptr {
            return Area::FreePtr;
        }
        if let Some((t, n)) = l.track {
            if o >= t && o < t + n {
                return Area::Track;
            }
        }
        if let Some(or) = l.orig {
            if o >= or && o < or + 4 {
                return Area::Orig;
            }
        }
        Area::Padding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte from `r` up to `area_end(r)` lies in `r`'s area, for layouts with and
    /// without each debug flag, a constructor and kmalloc's original size.
    #[test]
    fn an_area_run_holds_one_area() {
        let debug = [SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER];
        for arch in [Arch::I386, Arch::X86_64] {
            for size in [1u32, 8, 24, 60, 100, 192, 4096, 5000] {
                for mask in 0..8usize {
                    let flags = (0..3)
                        .filter(|&k| mask >> k & 1 != 0)
                        .fold(0, |f, k| f | debug[k]);
                    for (ctor, kmalloc) in [(false, false), (true, false), (false, true)] {
                        let l = layout(size, 8, flags, ctor, kmalloc, arch);
                        for r in 0..l.size {
                            let end = l.area_end(r);
                            assert!(end > r && end <= l.size, "{l:?} r {r} end {end}");
                            assert!(
                                (r..end).all(|x| l.area(x) == l.area(r)),
                                "{l:?} r {r} end {end}"
                            );
                        }
                    }
                }
            }
        }
    }
}
