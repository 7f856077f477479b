//! Where an area must go, when the machine's vmalloc space declares Linux's lowest fit
//! ([`VmapFit::Lowest`]): the oracle places every area itself, in its own bookkeeping of the
//! free ranges ([`FreeSpace`]), the page arrays a large vmalloc vmallocs included, and judges
//! each address the machine returns and each failure for want of address space.
//!
//! A freed area's range goes on the lazy purge list, free again only when the list holds
//! more than lazy_max_pages() or when a search finds no room (alloc_vmap_area() purges and
//! searches once more before it fails): [`FreeSpace`] keeps the list, and every search here
//! purges first when it would find no room.

use kmem_vocab::VmapFit;

use super::space::FreeSpace;
use super::VmallocModel;
use crate::model::facts::{Facts, PAGE_SHIFT, PAGE_SIZE};
use crate::model::{FailureKind as F, Judgement};

/// What the lowest-fit rule says of an area of `len` bytes (guard included).
pub(super) struct Fits {
    /// The addresses the search may return, lowest first: one, or none, for page alignment.
    pub at: Vec<u64>,
    /// Whether the search must succeed.
    pub must: bool,
}

impl VmallocModel {
    /// Takes the placement rule the machine's space declares: from now on, under
    /// [`VmapFit::Lowest`], every address is predicted.
    pub fn set_fit(&mut self, f: &Facts, fit: VmapFit) {
        self.space = match fit {
            VmapFit::Lowest => Some(FreeSpace::new(f.vmalloc_start, f.vmalloc_end)),
            VmapFit::Any => None,
        };
    }

    /// Where the search may place `len` bytes at an `align`ed start; None when no rule is
    /// assumed. A search that would find no room purges the lazy list first, as
    /// alloc_vmap_area() does, and looks again.
    pub(super) fn fits(&mut self, len: u64, align: u64) -> Option<Fits> {
        let space = self.space.as_mut()?;
        let (at, must) = space.search(len, align);
        Some(Fits { at, must })
    }

    /// __purge_vmap_area_lazy().
    pub(crate) fn purge_lazy(&mut self) {
        if let Some(space) = self.space.as_mut() {
            space.purge();
        }
    }

    /// The areas of the page arrays (`levels` pages each, outermost first) vmalloc'ed after
    /// an area of `len` bytes at `at`: each the lowest fit once the ones before it are
    /// placed, the lazy list purged first where a search would find no room. With whether
    /// a search purged; None when one does not fit (the vmalloc then fails), or no rule is
    /// assumed. Decided on a copy: [`Self::place_arrays`] makes it so.
    pub(super) fn array_areas(
        &self,
        at: u64,
        len: u64,
        levels: &[u64],
    ) -> Option<(Vec<(u64, u64)>, bool)> {
        let mut space = self.space.clone()?;
        let mut purged = false;
        let areas = Self::arrays_in(&mut space, at, len, levels, &mut purged)?;
        Some((areas, purged))
    }

    /// The page arrays' places in `space`, purging it where a search would find no room
    /// (`purged` says so, whether or not every array then found its place).
    fn arrays_in(
        space: &mut FreeSpace,
        at: u64,
        len: u64,
        levels: &[u64],
        purged: &mut bool,
    ) -> Option<Vec<(u64, u64)>> {
        if !space.take(at, at.checked_add(len)?) {
            return None;
        }
        let mut out = Vec::with_capacity(levels.len());
        for &pages in levels {
            let l = pages.checked_add(1)?.checked_mul(PAGE_SIZE)?;
            let s = match space.lowest_fit(l) {
                Some(s) => s,
                None if space.has_lazy() => {
                    space.purge();
                    *purged = true;
                    space.lowest_fit(l)?
                }
                None => return None,
            };
            space.take(s, s + l);
            out.push((s, s + l));
        }
        Some(out)
    }

    /// What the page arrays' searches leave behind when the area went to `at`: the purge one
    /// of them made, whether or not the vmalloc went on to succeed. `at` None: the area's
    /// place is not known (one of several aligned fits), and if a purge may follow the
    /// oracle stops predicting addresses (no rule is assumed from here).
    pub(super) fn place_arrays(&mut self, at: Option<u64>, len: u64, levels: &[u64]) {
        let Some(space) = self.space.as_mut() else {
            return;
        };
        if levels.is_empty() || !space.has_lazy() {
            return;
        }
        match at {
            Some(at) => {
                let mut purged = false;
                Self::arrays_in(&mut space.clone(), at, len, levels, &mut purged);
                if purged {
                    space.purge();
                }
            }
            None => self.space = None,
        }
    }

    /// Judges the address `got` the machine returned for `len` bytes against the rule;
    /// false (after a failure) when it breaks it.
    pub(super) fn judge_fit(
        &self,
        j: &mut Judgement,
        what: &str,
        got: u64,
        len: u64,
        fits: &Fits,
    ) -> bool {
        if fits.at.contains(&got) {
            return true;
        }
        let msg = match fits.at.as_slice() {
            [] => format!(
                "{what} returned {got:#x}, but no free range of the vmalloc space holds {len:#x} bytes (guard page included) so aligned: it must fail"
            ),
            [one] => format!(
                "{what} placed its {len:#x} bytes (guard page included) at {got:#x}; the lowest free range that fits starts the area at {one:#x}"
            ),
            many => format!(
                "{what} placed its {len:#x} bytes (guard page included) at {got:#x}, not one of the aligned fits the search may return: {}",
                many.iter()
                    .take(4)
                    .map(|a| format!("{a:#x}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        j.fail(F::WrongValue, msg);
        false
    }

    /// An area and its page arrays now live: their ranges leave the free space.
    pub(super) fn take_ranges(&mut self, start: u64, end: u64, arrays: &[(u64, u64)]) {
        if let Some(space) = self.space.as_mut() {
            space.take(start, end);
            for &(s, e) in arrays {
                space.take(s, e);
            }
        }
    }

    /// An area and its page arrays freed: their ranges onto the lazy purge list, the area's
    /// first (remove_vm_area(), then vfree()'s kvfree() of the page array).
    pub(super) fn give_ranges(&mut self, start: u64, end: u64, arrays: &[(u64, u64)]) {
        if let Some(space) = self.space.as_mut() {
            space.free_lazy(start, end);
            for &(s, e) in arrays {
                space.free_lazy(s, e);
            }
        }
    }
}

/// The bytes an area of `pages` pages spans with its guard page.
pub(super) fn area_len(pages: u64) -> u64 {
    pages.saturating_add(1).saturating_mul(1 << PAGE_SHIFT)
}
