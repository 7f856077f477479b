//! Slab seams in the tests. Broken: object allocators that chain or free objects wrongly,
//! debug checks that look at the wrong bytes, a kmalloc that serves a size from too small a
//! class. Legal variants: slabs that hand objects out in another order than kmem's SLUB,
//! a new slab chained in a seeded random order as CONFIG_SLAB_FREELIST_RANDOM's
//! shuffle_freelist() does, and a free list kept in address order so the lowest free object
//! always goes first.
//!
//! The oracle assumes no object order: any free object of the cache may be handed out, and
//! every check it predicts (red zones, poison, free pointers, double frees) is a check of
//! the object the allocator took. So the legal variants declare nothing more.

use std::collections::BTreeMap;

use kmem::kmalloc::kmalloc_index;
use kmem::seams::{
    CheckAreas, CheckedObject, Freelist, KmallocSizes, LifoFreelist, ObjectChecks, Seams,
    SlabObjects, SlubChecks,
};

use super::XorShift;

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

/// new_slab() leaves the slab's last object off the chain (a loop that stops one short):
/// every object handed out is still a free object of the slab, but the slab runs dry one
/// object early and the cache takes a new slab while that object is free.
pub struct ShortChain;

struct LastObjectLost;

impl SlabObjects for LastObjectLost {
    fn new_slab(&mut self, list: &mut Freelist<'_>) {
        LifoFreelist.new_slab(list);
        let n = list.objects();
        if n > 1 {
            list.set_freepointer(list.object(n - 2), 0);
        }
    }
    fn take(&mut self, list: &mut Freelist<'_>) -> u64 {
        LifoFreelist.take(list)
    }
    fn give_back(&mut self, list: &mut Freelist<'_>, object: u64) {
        LifoFreelist.give_back(list, object)
    }
}

impl Seams for ShortChain {
    fn slab_objects(&self) -> Box<dyn SlabObjects> {
        Box::new(LastObjectLost)
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

/// A legal variant: slabs that are [`RandomFreelist`]s, drawn from this seed.
pub struct FreelistRandom(pub u64);

impl Seams for FreelistRandom {
    fn slab_objects(&self) -> Box<dyn SlabObjects> {
        Box::new(RandomFreelist {
            rng: XorShift(self.0),
            random_seq: BTreeMap::new(),
        })
    }
}

/// CONFIG_SLAB_FREELIST_RANDOM's order: each cache draws a random permutation of its slots
/// once (init_cache_random_seq()); each new slab is chained along it from a random start
/// (shuffle_freelist()); frees push on the head as SLUB's always do.
pub struct RandomFreelist {
    rng: XorShift,
    /// The permutation of each cache, by cache and object count (a slab of a lower order,
    /// the fallback when the preferred one failed, has fewer objects).
    random_seq: BTreeMap<(usize, u32), Vec<u32>>,
}

impl SlabObjects for RandomFreelist {
    fn new_slab(&mut self, list: &mut Freelist<'_>) {
        let n = list.objects();
        if n < 2 {
            return LifoFreelist.new_slab(list);
        }
        let rng = &mut self.rng;
        let seq = self.random_seq.entry((list.cache(), n)).or_insert_with(|| {
            let mut seq: Vec<u32> = (0..n).collect();
            for i in (1..seq.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                seq.swap(i, j);
            }
            seq
        });
        let pos = self.rng.below(u64::from(n)) as usize;
        let order: Vec<u64> = (0..n as usize)
            .map(|i| list.object(seq[(pos + i) % n as usize]))
            .collect();
        for (i, &obj) in order.iter().enumerate() {
            list.set_freepointer(obj, order.get(i + 1).copied().unwrap_or(0));
        }
        list.set_head(order[0]);
    }

    fn take(&mut self, list: &mut Freelist<'_>) -> u64 {
        LifoFreelist.take(list)
    }

    fn give_back(&mut self, list: &mut Freelist<'_>, object: u64) {
        LifoFreelist.give_back(list, object)
    }
}

/// A legal variant: slabs that are [`AddressOrderedFreelist`]s.
pub struct AddressOrder;

impl Seams for AddressOrder {
    fn slab_objects(&self) -> Box<dyn SlabObjects> {
        Box::new(AddressOrderedFreelist)
    }
}

/// A free list kept sorted by address: a freed object is linked in before the first free
/// object above it, so the lowest free object is always the one handed out.
pub struct AddressOrderedFreelist;

impl SlabObjects for AddressOrderedFreelist {
    fn new_slab(&mut self, list: &mut Freelist<'_>) {
        LifoFreelist.new_slab(list)
    }

    fn take(&mut self, list: &mut Freelist<'_>) -> u64 {
        LifoFreelist.take(list)
    }

    fn give_back(&mut self, list: &mut Freelist<'_>, object: u64) {
        // The chain lives in memory a client can overwrite: follow only object pointers,
        // and no further than the slab has objects.
        let (mut prev, mut cur) = (0, list.head());
        let mut steps = 0;
        while cur != 0 && cur < object && list.is_object(cur) && steps <= list.objects() {
            prev = cur;
            cur = list.get_freepointer(cur);
            steps += 1;
        }
        list.set_freepointer(object, cur);
        if prev == 0 {
            list.set_head(object);
        } else {
            list.set_freepointer(prev, object);
        }
    }
}
