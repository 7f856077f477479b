//! The seams: the places beneath Linux's policies where another implementation of the same
//! mechanism plugs in, each a narrow trait with kmem's own implementation behind it.
//!
//! A machine is booted with one implementation of each ([`Machine::boot_with_seams`]); a
//! [`Seams`] value builds them, one boxed object per machine and seam, so a call through a
//! seam costs one indirect call and no allocation. Every method of [`Seams`] defaults to
//! kmem's own implementation: an implementation that changes one seam overrides one method.
//!
//! | seam | trait | kmem's implementation |
//! |---|---|---|
//! | the vmalloc address space (alloc_vmap_area()) | [`VmapSpace`] | [`FreeRanges`] |
//! | an area's page-table entries (vmap_pages_range()) | [`VmapPages`] | [`PtePerPage`] |
//! | a slab's free objects (new_slab(), allocation, free) | [`SlabObjects`] | [`LifoFreelist`] |
//! | the areas SLUB's check_object() compares | [`ObjectChecks`] | [`SlubChecks`] |
//! | kmalloc's size classes (kmalloc_slab()) | [`KmallocSizes`] | [`SizeIndex`] |
//! | kmap()'s pkmap slot (map_new_virtual()) | [`PkmapSlots`] | [`NextPkmapNr`] |
//! | the kmap_local stack (kmap_local_idx_push/pop()) | [`KmapLocalIdx`] | [`KmapLocalStack`] |
//!
//! [`Machine::boot_with_seams`]: crate::Machine::boot_with_seams

pub use crate::highmem::{KmapLocalIdx, KmapLocalStack, NextPkmapNr, Pkmap, PkmapSlots};
pub use crate::kmalloc::{KmallocSizes, SizeIndex};
pub use crate::slub::{
    CheckArea, CheckAreas, CheckedObject, Freelist, LifoFreelist, ObjectChecks, SlabObjects,
    SlubChecks,
};
pub use crate::vmalloc::{FreeRanges, PtePerPage, VmapFit, VmapPages, VmapSpace};

/// Builds the implementation of each seam for a machine being booted.
pub trait Seams {
    /// The allocator of the vmalloc address space [start, end).
    fn vmap_space(&self, start: u64, end: u64) -> Box<dyn VmapSpace> {
        Box::new(FreeRanges::new(start, end))
    }
    /// The page-table mapping of vmalloc and vmap areas.
    fn vmap_pages(&self) -> Box<dyn VmapPages> {
        Box::new(PtePerPage)
    }
    /// The object allocator of every cache's slabs.
    fn slab_objects(&self) -> Box<dyn SlabObjects> {
        Box::new(LifoFreelist)
    }
    /// The areas SLUB's debugging checks in an object.
    fn object_checks(&self) -> Box<dyn ObjectChecks> {
        Box::new(SlubChecks)
    }
    /// kmalloc's size classes.
    fn kmalloc_sizes(&self) -> Box<dyn KmallocSizes> {
        Box::new(SizeIndex)
    }
    /// The choice of a pkmap slot for kmap().
    fn pkmap_slots(&self) -> Box<dyn PkmapSlots> {
        Box::new(NextPkmapNr::default())
    }
    /// The indexing of the kmap_local stack.
    fn kmap_local_idx(&self) -> Box<dyn KmapLocalIdx> {
        Box::new(KmapLocalStack)
    }
}

/// kmem's own implementation of every seam.
#[derive(Clone, Copy, Debug, Default)]
pub struct KmemSeams;

impl Seams for KmemSeams {}
