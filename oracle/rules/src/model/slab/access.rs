//! Client access to slab memory: which bytes of a slot the client may touch (the size it
//! asked for), which misuse an access outside them is, and what a write into a checked area
//! (red zone, poison, padding) or into the free pointer does to the predictions.

use kmem_vocab::slab_flags::*;

use super::layout::Area;
use super::{CacheM, SlabModel, St};
use crate::model::facts::{PAGE_SHIFT, PAGE_SIZE};
use crate::model::pages::PageModel;
use crate::model::{Judgement, MisuseKind as M};

/// Client accesses longer than this into slab memory are not followed byte by byte: the
/// run is tainted instead.
pub(crate) const MAX_SLAB_ACCESS: u64 = 1 << 22;

impl SlabModel {
    /// Does [va, va+len) touch memory this model judges?
    pub fn touches(&self, pages: &PageModel, va: u64, len: u64) -> bool {
        let f = &pages.facts;
        let end = va.saturating_add(len);
        let mut p = va & !(PAGE_SIZE - 1);
        let mut n = 0;
        while p < end && n < 4096 {
            if f.is_lowmem_va(p) {
                let pfn = (p - self.page_offset) >> PAGE_SHIFT;
                // Slabs, large kmalloc blocks, and any other kernel-held page (a slab of
                // internal objects the oracle has not placed); not a page-pool element in
                // its reserve, which the page rules judge (mempool/reserve_pages.rs).
                if pages.block_of(pfn).is_some_and(|(_, b)| !b.client)
                    && self.reserve_page_element(f, pfn).is_none()
                {
                    return true;
                }
            }
            p += PAGE_SIZE;
            n += 1;
        }
        false
    }

    /// The client wrote through another mapping into physical page `pfn`: if a slab, a
    /// large kmalloc block or any other kernel-held page the oracle does not follow holds it
    /// (`followed`: a vmalloc area's page, whose bytes the oracle keeps; asked only of
    /// kernel-held pages, as it walks the vmalloc areas), what the write did is not
    /// followed (taint).
    pub fn alias_write(&mut self, pages: &PageModel, pfn: u64, followed: impl FnOnce() -> bool) {
        let Some((h, b)) = pages.block_of(pfn) else {
            return;
        };
        if b.client {
            return;
        }
        // Known slabs and large blocks, and the pages of slabs of internal objects (the
        // kmem_cache structures, for one) the oracle has not placed.
        let known =
            self.slabs.contains_key(&h) || self.kmalloc.large.contains_key(&self.slab_base(h));
        if known || !followed() {
            self.taint_next = true;
        }
    }

    /// A client access that touches slab or large kmalloc memory; the range is mapped.
    pub fn access(
        &mut self,
        j: &mut Judgement,
        pages: &mut PageModel,
        va: u64,
        len: u64,
        byte: Option<u8>,
        read: Option<&[u8]>,
    ) {
        if len > MAX_SLAB_ACCESS {
            j.misuse.push(M::OutOfBounds);
            if byte.is_some() {
                self.taint_next = true;
            }
            return;
        }
        let mut misuse: Option<M> = None;
        let mut note = |m: M| {
            if misuse.is_none() {
                misuse = Some(m);
            }
        };
        let mut i = 0u64;
        while i < len {
            let a = va + i;
            // Outside the slab allocator.
            let Some((head, slab)) = self.slab_of(pages, a) else {
                let run = (PAGE_SIZE - a % PAGE_SIZE).min(len - i);
                if let Some((base, _, req)) = self.large_of(a) {
                    let n = if a < base + req {
                        (base + req - a).min(run)
                    } else {
                        run
                    };
                    if a >= base + req {
                        note(M::OutOfBounds);
                    }
                    self.plain(
                        j,
                        pages,
                        a,
                        n,
                        byte,
                        read.map(|r| &r[i as usize..(i + n) as usize]),
                    );
                    i += n;
                    continue;
                }
                note(if i == 0 {
                    M::WildAccess
                } else {
                    M::OutOfBounds
                });
                let pfn = (a - self.page_offset) >> PAGE_SHIFT;
                match pages.block_of(pfn) {
                    Some((_, b)) if !b.client => {
                        if byte.is_some() {
                            // Kernel memory the oracle does not model.
                            self.taint_next = true;
                        }
                    }
                    Some(_) => self.plain(
                        j,
                        pages,
                        a,
                        run,
                        byte,
                        read.map(|r| &r[i as usize..(i + run) as usize]),
                    ),
                    None => {
                        if let Some(b) = byte {
                            pages.wrote(self.pa(a), run as usize, b);
                        }
                    }
                }
                i += run;
                continue;
            };
            let c = self.caches[slab.cache].clone();
            let l = c.l;
            let base = self.slab_base(head);
            let off = a - base;
            let idx = off / l.size as u64;
            if idx >= slab.objects as u64 {
                // The slab's tail.
                let run = (base + (PAGE_SIZE << slab.order) - a).min(len - i);
                note(M::OutOfBounds);
                if let Some(b) = byte {
                    // Only poisoning fills the tail (and slab_pad_check() checks it), so a
                    // write of POISON_INUSE over a dirtied byte restores it.
                    if c.has(SLAB_POISON) {
                        if let Some(s) = self.slabs.get_mut(&head) {
                            s.tail.set(a - base, a - base + run, b);
                        }
                    }
                    self.shadow(pages, a, run, None);
                }
                i += run;
                continue;
            }
            let slot = base + idx * l.size as u64;
            let r = (a - slot) as u32;
            let st = self.state(slab.cache, slot);
            let area = l.area(r);
            let o = r.wrapping_sub(l.rlp) as u64;
            match (area, st) {
                (
                    Area::Object,
                    St::Live {
                        req, client: true, ..
                    },
                ) if o < req => {
                    let n = (req - o).min(len - i).min(slot + l.size as u64 - a);
                    self.plain(
                        j,
                        pages,
                        a,
                        n,
                        byte,
                        read.map(|rd| &rd[i as usize..(i + n) as usize]),
                    );
                    i += n;
                    continue;
                }
                (_, St::Live { client: true, .. }) => note(M::OutOfBounds),
                (_, St::Live { client: false, .. }) | (_, St::Freed) => note(if i == 0 {
                    M::UseAfterFree
                } else {
                    M::OutOfBounds
                }),
                (_, St::Untouched) | (_, St::Unknown) => note(if i == 0 {
                    M::WildAccess
                } else {
                    M::OutOfBounds
                }),
            }
            // The rest of this area of the slot is judged as this byte is.
            let n = u64::from(l.area_end(r) - r).min(len - i);
            if let Some(b) = byte {
                self.wrote_bytes(pages, &c, slot, r, n as u32, area, st, b);
            }
            i += n;
        }
        if let Some(m) = misuse {
            j.misuse.push(m);
        }
    }

    /// Bytes with no allocator meaning: the shadow records writes and checks reads.
    pub(crate) fn plain(
        &self,
        j: &mut Judgement,
        pages: &mut PageModel,
        va: u64,
        n: u64,
        byte: Option<u8>,
        read: Option<&[u8]>,
    ) {
        if let Some(b) = byte {
            self.wrote(pages, va, n, b);
            return;
        }
        for (off, k) in page_pieces(va, n) {
            if let Some(got) = read.and_then(|r| r.get(off as usize..(off + k) as usize)) {
                pages.check_read(j, va + off, self.pa(va + off), got);
            }
        }
    }

    /// The client wrote `n` copies of `b` from `va` on: recorded page by page.
    fn wrote(&self, pages: &mut PageModel, va: u64, n: u64, b: u8) {
        for (off, k) in page_pieces(va, n) {
            pages.wrote(self.pa(va + off), k as usize, b);
        }
    }

    /// Bytes [r, r + n) of `slot`, all in `area`, that the client wrote outside what it may
    /// use.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn wrote_bytes(
        &mut self,
        pages: &mut PageModel,
        c: &CacheM,
        slot: u64,
        r: u32,
        n: u32,
        area: Area,
        st: St,
        b: u8,
    ) {
        let l = c.l;
        let z = c.has(SLAB_RED_ZONE);
        let p = c.has(SLAB_POISON);
        let live = matches!(st, St::Live { .. });
        let in_fp = |o: u32| o >= l.offset && o < l.offset + l.ptr;
        let mut taint = false;
        // The checked bytes, recorded a run at a time: [run, r) so far.
        let mut run: Option<u32> = None;
        let end = r.saturating_add(n);
        for r in r..end {
            let o = r.wrapping_sub(l.rlp);
            let mut checked = false;
            match st {
                St::Unknown => taint = true,
                _ => match area {
                    Area::LeftRz | Area::RightRz => checked = z || (p && area == Area::RightRz),
                    Area::Object => {
                        if live {
                            if let St::Live { orig, client, .. } = st {
                                if z && c.orig_on() && o >= orig {
                                    checked = true;
                                }
                                if !client && self.poisoning {
                                    if let Some(s) = self.slots.get_mut(&slot) {
                                        s.pool_dirty = true;
                                    }
                                }
                            }
                        } else if !l.fp_outside && in_fp(o) {
                            taint = true;
                        } else if c.object_poison() {
                            checked = true;
                        }
                    }
                    Area::FreePtr => taint = true,
                    Area::Orig => taint = live,
                    Area::Track => {}
                    Area::Padding => checked = p,
                },
            }
            match (checked, run) {
                (true, None) => run = Some(r),
                (false, Some(s)) => {
                    self.slot_mut(slot).dirty.set(u64::from(s), u64::from(r), b);
                    run = None;
                }
                _ => {}
            }
        }
        if let Some(s) = run {
            self.slot_mut(slot)
                .dirty
                .set(u64::from(s), u64::from(end), b);
        }
        if taint {
            self.taint_next = true;
        }
        // Object bytes of a free object in a ctor cache keep what is written; everything
        // else is no longer predicted.
        let (a, n) = (slot + u64::from(r), u64::from(n));
        if area == Area::Object && c.ctor.is_some() && !live {
            self.wrote(pages, a, n, b);
        } else {
            self.shadow(pages, a, n, None);
        }
    }
}

/// The pieces of [va, va + n) that lie in one page each: (offset from `va`, length).
fn page_pieces(va: u64, n: u64) -> impl Iterator<Item = (u64, u64)> {
    let mut off = 0u64;
    std::iter::from_fn(move || {
        (off < n).then(|| {
            let k = (PAGE_SIZE - (va + off) % PAGE_SIZE).min(n - off);
            off += k;
            (off - k, k)
        })
    })
}
