//! Broken slab allocators: object allocators that chain or free objects wrongly, debug
//! checks that look at the wrong bytes, and a kmalloc that serves a size from too small a
//! class.

use kmem::kmalloc::kmalloc_index;
use kmem::seams::{
    CheckAreas, CheckedObject, Freelist, KmallocSizes, LifoFreelist, ObjectChecks, Seams,
    SlabObjects, SlubChecks,
};

/// new_slab() chains the second object of every slab one word into the first, so the two
/// overlap.
pub struct OverlapObjects;

struct Overlapping;

impl SlabObjects for Overlapping {
    fn new_slab(&mut self, list: &mut Freelist<'_>) {
        LifoFreelist.new_slab(list);
        if list.objects() > 1 {
            let (first, second) = (list.object(0), list.object(1));
            let inside = first + list.ptr_size();
            list.set_freepointer(inside, list.get_freepointer(second));
            list.set_freepointer(first, inside);
        }
    }
    fn take(&mut self, list: &mut Freelist<'_>) -> u64 {
        LifoFreelist.take(list)
    }
    fn give_back(&mut self, list: &mut Freelist<'_>, object: u64) {
        LifoFreelist.give_back(list, object)
    }
}

impl Seams for OverlapObjects {
    fn slab_objects(&self) -> Box<dyn SlabObjects> {
        Box::new(Overlapping)
    }
}

/// A freed object is linked to itself, as if put on the free list twice: it is handed out
/// again while live.
pub struct DoubleFreeList;

struct SelfLinked;

impl SlabObjects for SelfLinked {
    fn new_slab(&mut self, list: &mut Freelist<'_>) {
        LifoFreelist.new_slab(list)
    }
    fn take(&mut self, list: &mut Freelist<'_>) -> u64 {
        LifoFreelist.take(list)
    }
    fn give_back(&mut self, list: &mut Freelist<'_>, object: u64) {
        list.set_freepointer(object, object);
        list.set_head(object);
    }
}

impl Seams for DoubleFreeList {
    fn slab_objects(&self) -> Box<dyn SlabObjects> {
        Box::new(SelfLinked)
    }
}

/// check_object() starts the right red zone check one byte late.
pub struct RedzoneOffByOne;

struct LateRightRedzone;

impl ObjectChecks for LateRightRedzone {
    fn areas(&self, object: &CheckedObject, out: &mut CheckAreas) {
        let mut linux = CheckAreas::new();
        SlubChecks.areas(object, &mut linux);
        for mut a in linux.iter() {
            if a.what == "Right Redzone" {
                a.start += 1;
                a.len = a.len.saturating_sub(1);
            }
            out.push(a);
        }
    }
}

impl Seams for RedzoneOffByOne {
    fn object_checks(&self) -> Box<dyn ObjectChecks> {
        Box::new(LateRightRedzone)
    }
}

/// check_object() never checks the poison of a free object.
pub struct PoisonUnchecked;

struct NoPoisonCheck;

impl ObjectChecks for NoPoisonCheck {
    fn areas(&self, object: &CheckedObject, out: &mut CheckAreas) {
        let mut linux = CheckAreas::new();
        SlubChecks.areas(object, &mut linux);
        for a in linux.iter() {
            if a.what != "Poison" && a.what != "End Poison" {
                out.push(a);
            }
        }
    }
}

impl Seams for PoisonUnchecked {
    fn object_checks(&self) -> Box<dyn ObjectChecks> {
        Box::new(NoPoisonCheck)
    }
}

/// kmalloc serves 65..96 bytes from kmalloc-64.
pub struct WrongSizeClass;

struct SixtyFourForNinetySix;

impl KmallocSizes for SixtyFourForNinetySix {
    fn kmalloc_index(&self, size: u64) -> usize {
        if (65..=96).contains(&size) {
            kmalloc_index(64)
        } else {
            kmalloc_index(size)
        }
    }
}

impl Seams for WrongSizeClass {
    fn kmalloc_sizes(&self) -> Box<dyn KmallocSizes> {
        Box::new(SixtyFourForNinetySix)
    }
}
