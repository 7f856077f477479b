//! The object allocator of a slab, beneath SLUB's debugging: the seam [`SlabObjects`] that
//! decides how a slab's free objects are chained, which one is handed out and where a freed
//! one goes, and kmem's own implementation of it, [`LifoFreelist`].
//!
//! Every implementation keeps SLUB's representation, which SLUB's debugging reads and
//! repairs and /proc/slabinfo counts: struct slab's free list head and counters, and the
//! chain of free pointers stored inside the free objects ([`Freelist`]). What differs
//! between implementations is the order.

use super::Slab;
use crate::mem::PhysMem;

/// How the objects of a cache's slabs are handed out and taken back.
///
/// Real alternatives: SLUB chains a new slab's objects in address order and keeps each
/// free list last in, first out ([`LifoFreelist`]); with CONFIG_SLAB_FREELIST_RANDOM
/// (shuffle_freelist()) it chains a new slab's objects in a random order drawn from a
/// per-cache sequence; allocators of other kernels hand out the lowest free object.
/// A correct implementation hands out only free objects of the slab, each once, and
/// takes back every object it is given; the oracle predicts no order.
pub trait SlabObjects {
    /// new_slab(): chains every object of a fresh slab (none in use) on its free list.
    fn new_slab(&mut self, list: &mut Freelist<'_>);
    /// Takes one object off a free list whose head is not NULL and returns it.
    fn take(&mut self, list: &mut Freelist<'_>) -> u64;
    /// Puts `object`, an object of this slab not on its free list, back on it.
    fn give_back(&mut self, list: &mut Freelist<'_>, object: u64);
}

/// kmem's object allocator, SLUB's without CONFIG_SLAB_FREELIST_RANDOM: a new slab's
/// objects chained in address order, the head taken, a freed object pushed on the head.
#[derive(Clone, Copy, Debug, Default)]
pub struct LifoFreelist;

impl SlabObjects for LifoFreelist {
    fn new_slab(&mut self, list: &mut Freelist<'_>) {
        list.chain_in_address_order();
    }

    fn take(&mut self, list: &mut Freelist<'_>) -> u64 {
        let object = list.head();
        let next = list.get_freepointer(object);
        list.set_head(next);
        object
    }

    fn give_back(&mut self, list: &mut Freelist<'_>, object: u64) {
        list.set_freepointer(object, list.head());
        list.set_head(object);
    }
}

/// One slab's free list as a [`SlabObjects`] implementation sees it: struct slab's head,
/// and the free pointers in simulated memory (at the cache's free pointer offset in each
/// object), read and written as SLUB's get_freepointer() and set_freepointer() do.
pub struct Freelist<'a> {
    pub(super) slab: &'a mut Slab,
    pub(super) mem: &'a mut PhysMem,
    /// The object pointer of the slab's first slot, and the slot size.
    pub(super) first: u64,
    pub(super) size: u64,
    /// s->offset and sizeof(void *).
    pub(super) offset: u64,
    pub(super) width: usize,
    /// Direct-map virtual to physical.
    pub(super) page_offset: u64,
}

impl Freelist<'_> {
    /// The cache the slab belongs to (an index, stable for the machine's life).
    pub fn cache(&self) -> usize {
        self.slab.cache
    }

    /// The slab's objects, free or not.
    pub fn objects(&self) -> u32 {
        self.slab.objects
    }

    /// The objects in use (struct slab's inuse, which SLUB keeps).
    pub fn inuse(&self) -> u32 {
        self.slab.inuse
    }

    /// sizeof(void *): the width of a free pointer.
    pub fn ptr_size(&self) -> u64 {
        self.width as u64
    }

    /// The object pointer of slot `i` (address order).
    pub fn object(&self, i: u32) -> u64 {
        self.first + u64::from(i) * self.size
    }

    /// check_valid_pointer() for a non-NULL pointer: whether `p` is one of the slab's object
    /// pointers (a chain read from client-writable memory may hold anything).
    pub fn is_object(&self, p: u64) -> bool {
        p.checked_sub(self.first).is_some_and(|off| {
            off.is_multiple_of(self.size) && off / self.size < u64::from(self.slab.objects)
        })
    }

    /// The first free object, 0 for none.
    pub fn head(&self) -> u64 {
        self.slab.freelist
    }

    pub fn set_head(&mut self, object: u64) {
        self.slab.freelist = object;
    }

    /// Where `object`'s free pointer lies in physical memory (s->offset into it).
    fn freepointer_pa(&self, object: u64) -> u64 {
        object
            .wrapping_add(self.offset)
            .wrapping_sub(self.page_offset)
    }

    /// get_freepointer(): the free object after `object`, as stored in it.
    pub fn get_freepointer(&self, object: u64) -> u64 {
        let mut b = [0u8; 8];
        self.mem
            .read(self.freepointer_pa(object), &mut b[..self.width]);
        u64::from_le_bytes(b)
    }

    /// Chains every object of the slab on its free list in address order, each pointing at
    /// the next and the last at NULL, the first the head: set_freepointer() of each in turn,
    /// written a frame at a time.
    pub fn chain_in_address_order(&mut self) {
        let n = self.objects();
        let (first, size) = (self.first, self.size);
        // Object i's pointer lies i objects after the first's.
        let pa = self.freepointer_pa(first);
        let words = (0..n).map(|i| {
            let step = u64::from(i) * size;
            let next = if i + 1 < n { first + step + size } else { 0 };
            (pa.wrapping_add(step), next)
        });
        self.mem.write_words(self.width, words);
        self.set_head(if n > 0 { first } else { 0 });
    }

    /// set_freepointer(): stores `next` in `object`.
    pub fn set_freepointer(&mut self, object: u64, next: u64) {
        let pa = self.freepointer_pa(object);
        self.mem.write(pa, &next.to_le_bytes()[..self.width]);
    }
}
