//! The sizes and orders where allocators change their minds: every kmalloc size class
//! boundary and power of two with its neighbours, the largest size or order each function
//! serves on the machine being generated for, and the first one past it (whose correct answer
//! is NULL). Uniform draws almost never land on these.

use super::choose::Draw;
use arbitrary::Result;
use kmem_vocab::config::KmallocMax;
use kmem_vocab::{Arch, BootConfig, MAX_PAGE_ORDER, PAGE_SIZE};

use super::choose::{one_of, pick};
use crate::model::facts::{Facts, PAGE_SHIFT};

/// The kmalloc size classes (kmalloc_info[] of Linux 6.6: 8 to 8192 with 96 and 192).
pub const KMALLOC_CLASSES: [u64; 13] = [
    8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
];

/// What the generator knows of the machine's limits, worked out from the boot line.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// KMALLOC_MAX_SIZE of the boot's kmalloc_max.
    pub kmalloc_max: u64,
    /// Pages the page allocator manages (totalram_pages()).
    pub totalram: u64,
    /// Bytes of the vmalloc address space.
    pub vmalloc_space: u64,
    /// sizeof(void *): a vmalloc of more than PAGE_SIZE / this many pages vmallocs its page
    /// array too.
    pub ptr: u64,
    /// The `struct page` of every extreme pfn ([`EXTREME_PFNS`] of them): the first and the
    /// last pfn, the first pfn of every zone and the last of each, the first pfn at or above
    /// 4 GiB (the last pfn when memory ends below), the first pfn above lowmem.
    pub pages: [u64; EXTREME_PFNS],
}

/// How many extreme pfns [`Limits::pages`] holds (a zone missing repeats the last pfn).
pub const EXTREME_PFNS: usize = 10;

/// What [`Limits`] depend on in a boot line: the memory layout's inputs (what
/// [`Facts::new`] reads) and the kmalloc limit.
type LimitsKey = (Arch, u64, kmem_vocab::Kernel, bool, KmallocMax);

/// How many boot lines' limits each thread remembers: generated boot lines draw their
/// memory sizes from short lists, so a few dozen layouts cover nearly every input.
const REMEMBERED: usize = 32;

thread_local! {
    /// The limits of the boot lines seen last, so that decoding an input does not lay out
    /// the whole machine again (they depend on the boot line alone).
    static REMEMBER: std::cell::RefCell<Vec<(LimitsKey, Limits)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl Limits {
    /// The limits of the machine `boot` describes (remembered per thread for the last
    /// [`REMEMBERED`] layouts).
    pub fn new(boot: &BootConfig) -> Limits {
        let key = (boot.arch, boot.mem, boot.kernel, boot.pae, boot.kmalloc_max);
        REMEMBER.with(|r| {
            let mut r = r.borrow_mut();
            if let Some(&(_, l)) = r.iter().find(|(k, _)| *k == key) {
                return l;
            }
            let l = Limits::lay_out(boot);
            if r.len() >= REMEMBERED {
                r.remove(0);
            }
            r.push((key, l));
            l
        })
    }

    /// The limits worked out from the machine's layout.
    fn lay_out(boot: &BootConfig) -> Limits {
        let f = Facts::new(boot);
        Limits {
            kmalloc_max: match boot.kmalloc_max {
                KmallocMax::Current => 4 << 20,
                KmallocMax::Legacy => 128 << 10,
            },
            totalram: f.zones.iter().map(|z| z.managed).sum(),
            vmalloc_space: f.vmalloc_end.saturating_sub(f.vmalloc_start),
            ptr: match boot.arch {
                Arch::I386 => 4,
                Arch::X86_64 => 8,
            },
            pages: extreme_pages(&f),
        }
    }
}

/// The `struct page *` of each extreme pfn of the machine (see [`Limits::pages`]).
fn extreme_pages(f: &Facts) -> [u64; EXTREME_PFNS] {
    let last = f.max_pfn.saturating_sub(1);
    let mut pfns = [last; EXTREME_PFNS];
    pfns[0] = 0;
    pfns[2] = (1u64 << (32 - PAGE_SHIFT)).min(last);
    pfns[3] = f.lowmem_end_pfn.min(last);
    for (k, z) in f.zones.iter().take(3).enumerate() {
        pfns[4 + 2 * k] = z.start.min(last);
        pfns[5 + 2 * k] = z.end.saturating_sub(1).min(last);
    }
    pfns.map(|pfn| f.page_ptr(pfn))
}

/// A size at or next to a kmalloc class boundary or a power of two up to `max`, now and then
/// `max` itself or one byte past it.
pub fn kmalloc_boundary(u: &mut impl Draw, max: u64) -> Result<u64> {
    let b = match pick(u, 0, 15)? {
        0..=10 => one_of(u, &KMALLOC_CLASSES)?.unwrap_or(8),
        11..=14 => {
            let top = 63 - u64::from(max.max(2).leading_zeros());
            1u64 << pick(u, 13, top.max(13))?
        }
        _ => max,
    };
    Ok(match pick(u, 0, 2)? {
        0 => b.saturating_sub(1).max(1),
        1 => b,
        _ => b.saturating_add(1),
    })
}

/// One order past the largest the page allocator serves (MAX_PAGE_ORDER itself is drawn
/// with the others, and kept when it fits the budget).
pub const PAST_MAX_ORDER: u32 = MAX_PAGE_ORDER + 1;

/// A vmalloc size at a boundary: a page multiple, a byte either side of one, and the sizes
/// whose page array no longer fits in a page (so it is vmalloc'ed too) with their
/// neighbours; only sizes of at most `room` bytes (and [`VMALLOC_PAGES_BUDGET`]). The
/// second level of page arrays, from 1 GiB on x86_64, is [`vmalloc_extreme`]'s.
pub fn vmalloc_boundary(u: &mut impl Draw, l: &Limits, room: u64) -> Result<u64> {
    let per_page = PAGE_SIZE / l.ptr;
    let pages: u64 = match pick(u, 0, 3)? {
        0 | 1 => pick(u, 1, 8)?,
        2 => per_page,
        _ => 1 << pick(u, 0, 8)?,
    };
    let base = pages.saturating_mul(PAGE_SIZE);
    let size = match pick(u, 0, 2)? {
        0 => base - 1,
        1 => base,
        _ => base + 1,
    };
    let room = room.min(VMALLOC_PAGES_BUDGET);
    Ok(if size <= room { size } else { room.max(1) })
}

/// The most bytes a vmalloc may take page by page in a generated scenario: more costs the
/// run more than the rest of it.
pub const VMALLOC_PAGES_BUDGET: u64 = 32 << 20;

/// The largest vmalloc the machine could serve and the first size past it: on i386 the
/// vmalloc space bounds it (an area and its guard page), on x86_64 the memory (more pages
/// than totalram_pages() is NULL at once). The largest itself only where it is small enough
/// to allocate page by page (see [`VMALLOC_PAGES_BUDGET`]); now and then, on an x86_64
/// machine that has the memory, just over the 1 GiB where a page array needs an array of
/// its own.
///
/// Past the memory means a whole page more than totalram_pages(): __vmalloc_node_range()
/// compares `size >> PAGE_SHIFT`, so a byte more than the memory still tries (and takes
/// everything before it fails).
pub fn vmalloc_extreme(u: &mut impl Draw, l: &Limits) -> Result<u64> {
    let space = l.vmalloc_space.saturating_sub(PAGE_SIZE);
    let ram = l.totalram.saturating_mul(PAGE_SIZE);
    let largest = space.min(ram);
    Ok(match pick(u, 0, 15)? {
        0..=5 if largest <= VMALLOC_PAGES_BUDGET => largest,
        // No room for the area and its guard page: NULL before any page is taken.
        0..=9 if space < ram => space + 1,
        15 if l.ptr == 8 && ram > 2 << 30 => (1 << 30) + PAGE_SIZE,
        _ => ram + PAGE_SIZE,
    })
}
