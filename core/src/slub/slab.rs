//! Slabs: new_slab(), the free list kept in simulated memory, allocation from the partial
//! list, free_to_partial_list(), discard_slab(), shutdown and validation.

use super::freelist::{Freelist, SlabObjects};
use super::track::TrackItem;
use super::{Slab, POISON_INUSE, SLUB_RED_ACTIVE, SLUB_RED_INACTIVE};
use crate::gfp::*;
use crate::machine::Machine;
use crate::page::{PG_HEAD, PG_SLAB};
use crate::report::ReportKind;
use crate::slab_flags::*;
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// GFP_SLAB_BUG_MASK: bits a slab allocation must not carry (kmalloc_fix_flags()).
pub(crate) const GFP_SLAB_BUG_MASK: Gfp = __GFP_DMA32 | __GFP_HIGHMEM | !__GFP_BITS_MASK;

impl Machine {
    /// A word of an object's slot (at a direct-map address), as SLUB reads it.
    pub(super) fn read_word(&self, va: u64, width: u32) -> u64 {
        let mut b = [0u8; 8];
        let n = (width as usize).min(8);
        self.phys_read(self.slab_pa(va), &mut b[..n]);
        u64::from_le_bytes(b)
    }

    pub(super) fn write_word(&mut self, va: u64, width: u32, v: u64) {
        let n = (width as usize).min(8);
        let b = v.to_le_bytes();
        self.phys_write(self.slab_pa(va), &b[..n]);
    }

    /// get_freepointer(): the next free object, read from the object's slot.
    pub(crate) fn get_freepointer(&self, id: usize, obj: u64) -> u64 {
        let c = &self.slub.caches[id];
        self.read_word(obj.wrapping_add(c.layout.offset as u64), c.ptr_size)
    }

    pub(crate) fn set_freepointer(&mut self, id: usize, obj: u64, fp: u64) {
        let c = &self.slub.caches[id];
        let (off, w) = (c.layout.offset as u64, c.ptr_size);
        self.write_word(obj.wrapping_add(off), w, fp);
    }

    /// check_valid_pointer(): NULL, or the object pointer of one of the slab's slots.
    pub(crate) fn check_valid_pointer(&self, id: usize, pfn: u64, p: u64) -> bool {
        if p == 0 {
            return true;
        }
        let Some(slab) = self.slub.slabs.get(&pfn) else {
            return false;
        };
        let c = &self.slub.caches[id];
        let base = self.slab_address(pfn);
        let slot = p.wrapping_sub(c.layout.red_left_pad as u64);
        let size = c.layout.size as u64;
        slot >= base
            && slot < base + slab.objects as u64 * size
            && (slot - base).is_multiple_of(size)
    }

    /// Walks slab `pfn`'s free list silently, giving `visit` each object on it until it
    /// returns false: at most `objects + 1` entries (a cyclic list ends there), and never
    /// past a pointer that is no object of the slab. Returns false when the walk stopped at
    /// such a pointer.
    fn walk_freelist(&self, id: usize, pfn: u64, mut visit: impl FnMut(u64) -> bool) -> bool {
        let Some(slab) = self.slub.slabs.get(&pfn) else {
            return false;
        };
        let mut fp = slab.freelist;
        let mut nr = 0;
        while fp != 0 && nr <= slab.objects {
            if !self.check_valid_pointer(id, pfn, fp) {
                return false;
            }
            if !visit(fp) {
                break;
            }
            fp = self.get_freepointer(id, fp);
            nr += 1;
        }
        true
    }

    /// Whether `obj` (an object of slab `pfn`) is on its slab's free list; None when the
    /// list is corrupt before the object is found.
    pub(crate) fn object_is_free(&self, id: usize, pfn: u64, obj: u64) -> Option<bool> {
        let mut found = false;
        let intact = self.walk_freelist(id, pfn, |fp| {
            found = fp == obj;
            !found
        });
        (found || intact).then_some(found)
    }

    /// __fill_map(): which of slab `pfn`'s objects are on its free list, by index, from one
    /// walk of the list: an object is marked exactly when [`Self::object_is_free`] finds it.
    pub(crate) fn free_map(&self, id: usize, pfn: u64) -> Vec<bool> {
        let Some(slab) = self.slub.slabs.get(&pfn) else {
            return Vec::new();
        };
        let c = &self.slub.caches[id];
        let first = self.slab_address(pfn) + c.layout.red_left_pad as u64;
        let size = (c.layout.size as u64).max(1);
        let mut map = vec![false; slab.objects as usize];
        self.walk_freelist(id, pfn, |fp| {
            // A pointer on the walk is an object's: its index is below slab.objects.
            if let Some(free) = usize::try_from(fp.wrapping_sub(first) / size)
                .ok()
                .and_then(|i| map.get_mut(i))
            {
                *free = true;
            }
            true
        });
        map
    }

    /// Runs `f` with the machine's object allocator on the free list of slab `pfn`, whose
    /// objects are laid out as cache `id`'s.
    fn with_freelist<R>(
        &mut self,
        id: usize,
        pfn: u64,
        f: impl FnOnce(&mut dyn SlabObjects, &mut Freelist<'_>) -> R,
    ) -> Option<R> {
        let page_offset = self.layout.page_offset;
        let slub = &mut self.slub;
        let slab = slub.slabs.get_mut(&pfn)?;
        let c = &slub.caches[id];
        let mut list = Freelist {
            first: page_offset + (pfn << PAGE_SHIFT) + c.layout.red_left_pad as u64,
            size: c.layout.size as u64,
            offset: c.layout.offset as u64,
            width: (c.ptr_size as usize).min(8),
            page_offset,
            slab,
            mem: &mut self.mem,
        };
        Some(f(&mut *slub.objects, &mut list))
    }

    /// The object pointers of a slab, in address order.
    pub(crate) fn slab_objects(&self, id: usize, pfn: u64) -> Vec<u64> {
        let Some(slab) = self.slub.slabs.get(&pfn) else {
            return Vec::new();
        };
        let c = &self.slub.caches[id];
        let base = self.slab_address(pfn) + c.layout.red_left_pad as u64;
        (0..slab.objects as u64)
            .map(|i| base + i * c.layout.size as u64)
            .collect()
    }

    /// kmalloc_fix_flags(): "Unexpected gfp" and the bad bits dropped.
    pub(crate) fn kmalloc_fix_flags(&mut self, gfp: Gfp) -> Gfp {
        let invalid = gfp & GFP_SLAB_BUG_MASK;
        let fixed = gfp & !GFP_SLAB_BUG_MASK;
        self.slub_flush();
        self.log.warn(format!(
            "Unexpected gfp: {:#x} ({}). Fixing up to gfp: {:#x} ({}). Fix your code!\n{}",
            invalid,
            format_gfp(invalid),
            fixed,
            format_gfp(fixed),
            self.dump_stack()
        ));
        fixed
    }

    /// new_slab() / allocate_slab(): pages from the buddy, PG_slab, debug fill, every object
    /// set up (init_object(), tracks zeroed, ctor) and chained on the free list in address
    /// order. None when the buddy has nothing.
    fn new_slab(&mut self, id: usize, gfp: Gfp) -> Option<u64> {
        let mut flags = gfp;
        if flags & GFP_SLAB_BUG_MASK != 0 {
            flags = self.kmalloc_fix_flags(flags);
        }
        // allocate_slab(s, flags & (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK)): the caller's
        // zone bits and __GFP_ZERO (for the object, not the slab) go; the cache's allocflags
        // bring its zone.
        let c = &self.slub.caches[id];
        flags = (flags & (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK)) | c.allocflags;
        let (order, min_order) = (c.order, c.min_order);
        let mut alloc_gfp = (flags | __GFP_NOWARN | __GFP_NORETRY) & !__GFP_NOFAIL;
        if alloc_gfp & __GFP_DIRECT_RECLAIM != 0 && order > min_order {
            alloc_gfp = (alloc_gfp | __GFP_NOMEMALLOC) & !__GFP_RECLAIM;
        }
        self.slub_flush();
        // alloc_slab_page() is alloc_pages() (its might_alloc() made by the caller), so a
        // failure warns unless the mask has __GFP_NOWARN, as the first try's always does.
        let (pfn, order) = match self.alloc_pages_warn(alloc_gfp, order) {
            Some(p) => (p, order),
            None => match self.alloc_pages_warn(flags, min_order) {
                Some(p) => (p, min_order),
                None => {
                    self.slab_out_of_memory(id, gfp);
                    return None;
                }
            },
        };
        let size = self.slub.caches[id].layout.size;
        let objects = super::cache::order_objects(order, size);
        {
            let p = self.pages.get_mut(pfn);
            p.flags |= PG_SLAB | if order > 0 { PG_HEAD } else { 0 };
            p.owner_tag = id as u64 + 1;
        }
        self.slub.slabs.insert(
            pfn,
            Slab {
                cache: id,
                order,
                objects,
                inuse: 0,
                freelist: 0,
            },
        );
        let c = &mut self.slub.caches[id];
        c.slabs.insert(pfn);
        c.total_objects += objects as u64;
        let c = &self.slub.caches[id];
        let setup_debug = c.has(SLAB_STORE_USER | SLAB_RED_ZONE) || c.object_poison;
        let (ctor, osize, toff, tsize) = (
            c.ctor,
            c.layout.object_size as u64,
            c.layout.track_offset,
            c.layout.track_size as u64,
        );
        if c.has(SLAB_POISON) {
            // setup_slab_debug(): the whole slab POISON_INUSE.
            self.phys_fill(
                self.slab_pa(self.slab_address(pfn)),
                PAGE_SIZE << order,
                POISON_INUSE,
            );
        }
        for obj in self.slab_objects(id, pfn) {
            if setup_debug {
                self.init_object(id, obj, SLUB_RED_INACTIVE);
                if let Some(t) = toff {
                    self.phys_fill(self.slab_pa(obj + t as u64), 2 * tsize, 0);
                }
            }
            if let Some(b) = ctor {
                self.phys_fill(self.slab_pa(obj), osize, b);
            }
        }
        self.with_freelist(id, pfn, |objects, list| objects.new_slab(list));
        Some(pfn)
    }

    /// slab_out_of_memory(): the SLUB lines after a failed slab allocation, rate limited to
    /// 10 in 5 seconds (statements) by slub_oom_rs.
    fn slab_out_of_memory(&mut self, id: usize, gfp: Gfp) {
        if gfp & __GFP_NOWARN != 0 {
            return;
        }
        let missed = match self
            .log
            .ratelimit("slab_out_of_memory", 5 * crate::context::SECOND, 10)
        {
            crate::report::Ratelimit::Suppress => return,
            crate::report::Ratelimit::Print { missed } => missed,
        };
        let c = &self.slub.caches[id];
        let (slabs, objs) = (c.slabs.len(), c.total_objects);
        let free: u64 = c
            .partial
            .iter()
            .filter_map(|p| self.slub.slabs.get(p))
            .map(|s| s.objects.saturating_sub(s.inuse) as u64)
            .sum();
        let suppressed = if missed == 0 {
            String::new()
        } else {
            format!("slab_out_of_memory: {missed} callbacks suppressed\n")
        };
        let text = format!(
            "{suppressed}SLUB: Unable to allocate memory on node -1, gfp={:#x}({})\n  cache: {}, object size: {}, buffer size: {}, default order: {}, min order: {}\n  node 0: slabs: {}, objs: {}, free: {}",
            gfp,
            format_gfp(gfp),
            c.name,
            c.layout.object_size,
            c.layout.size,
            c.order,
            c.min_order,
            slabs,
            objs,
            free
        );
        self.log.slab_oom(text);
    }

    pub(crate) fn remove_partial(&mut self, id: usize, pfn: u64) {
        self.slub.caches[id].partial.retain(|&p| p != pfn);
    }

    fn add_partial(&mut self, id: usize, pfn: u64, tail: bool) {
        let c = &mut self.slub.caches[id];
        if c.partial.contains(&pfn) {
            return;
        }
        if tail {
            c.partial.push(pfn);
        } else {
            c.partial.insert(0, pfn);
        }
    }

    /// Takes the first free object of a slab (alloc_single_from_partial() /
    /// alloc_single_from_new_slab()), with alloc_debug_processing(). None when this slab
    /// cannot give one (it is then off the partial list).
    fn alloc_from_slab(&mut self, id: usize, pfn: u64, orig_size: u32) -> Option<u64> {
        let slab = self.slub.slabs.get(&pfn)?;
        if slab.freelist == 0 || slab.inuse >= slab.objects {
            // A free list longer than the slab (a double free made it cyclic): Linux would
            // keep handing out the same objects; the model stops at `objects`.
            if let Some(s) = self.slub.slabs.get_mut(&pfn) {
                s.freelist = 0;
            }
            self.remove_partial(id, pfn);
            return None;
        }
        let (object, next) = self.with_freelist(id, pfn, |objects, list| {
            let object = objects.take(list);
            list.slab.inuse += 1;
            (object, list.head())
        })?;
        let c = &self.slub.caches[id];
        let f = c.has(SLAB_CONSISTENCY_CHECKS);
        if c.debug() && !self.alloc_debug_processing(id, pfn, object, orig_size) {
            self.remove_partial(id, pfn);
            return None;
        }
        // With F, check_object() above has already vetted the free pointer.
        if !f && !self.check_valid_pointer(id, pfn, next) {
            // The model never follows an invalid free pointer: reported as the deactivate
            // path's freelist_corrupted() does, and the rest of the chain is isolated.
            self.object_err(
                id,
                pfn,
                object,
                "Freechain corrupt",
                ReportKind::FreepointerCorrupt,
            );
            self.slab_fix(id, "Isolate corrupted freechain");
            if let Some(s) = self.slub.slabs.get_mut(&pfn) {
                s.freelist = 0;
                s.inuse = s.objects;
            }
        }
        let full = self
            .slub
            .slabs
            .get(&pfn)
            .is_some_and(|s| s.inuse >= s.objects || s.freelist == 0);
        if full {
            self.remove_partial(id, pfn);
        }
        Some(object)
    }

    /// alloc_debug_processing().
    fn alloc_debug_processing(&mut self, id: usize, pfn: u64, object: u64, orig_size: u32) -> bool {
        if self.slub.caches[id].has(SLAB_CONSISTENCY_CHECKS)
            && !self.alloc_consistency_checks(id, pfn, object)
        {
            self.slab_fix(id, "Marking all objects used");
            if let Some(s) = self.slub.slabs.get_mut(&pfn) {
                s.inuse = s.objects;
                s.freelist = 0;
            }
            return false;
        }
        self.set_orig_size(id, object, orig_size);
        self.init_object(id, object, SLUB_RED_ACTIVE);
        true
    }

    /// slab_alloc_node() without slab_pre_alloc_hook(): an object of cache `id`, or 0.
    /// `orig_size` is the size the caller asked for (kmalloc), object_size otherwise.
    pub(crate) fn slab_alloc(&mut self, id: usize, gfp: Gfp, orig_size: u32) -> u64 {
        let mut object = None;
        // get_partial(): the partial slabs in list order.
        let mut tried = 0;
        while object.is_none() {
            let Some(&pfn) = self.slub.caches[id].partial.first() else {
                break;
            };
            object = self.alloc_from_slab(id, pfn, orig_size);
            tried += 1;
            if tried > 1 << 20 {
                break;
            }
        }
        // new_objects: a new slab; a slab that fails its checks at once is left isolated
        // and another is tried (bounded).
        let mut attempts = 0;
        while object.is_none() && attempts < 4 {
            attempts += 1;
            let Some(pfn) = self.new_slab(id, gfp) else {
                return 0;
            };
            object = self.alloc_from_slab(id, pfn, orig_size);
            let keep = self
                .slub
                .slabs
                .get(&pfn)
                .is_some_and(|s| s.inuse < s.objects && s.freelist != 0);
            if keep {
                self.add_partial(id, pfn, false);
            }
        }
        let Some(object) = object else { return 0 };
        let c = &self.slub.caches[id];
        if c.has(SLAB_STORE_USER) {
            self.set_track(id, object, TrackItem::Alloc);
        }
        if gfp & __GFP_ZERO != 0 {
            // slab_post_alloc_hook(): kmalloc caches with U or Z zero only orig_size (the
            // kmalloc red zone stays).
            let c = &self.slub.caches[id];
            let zero = if c.kmalloc && c.has(SLAB_STORE_USER | SLAB_RED_ZONE) {
                orig_size.min(c.layout.object_size)
            } else {
                c.layout.object_size
            };
            self.phys_fill(self.slab_pa(object), zero as u64, 0);
        }
        object
    }

    /// Frees `addr` to cache `id` (whose slab it lies in): the pointer is validated, then
    /// free_debug_processing() for debug caches, then free_to_partial_list().
    pub(crate) fn slab_free(&mut self, id: usize, addr: u64) {
        let Some(pfn) = self.find_slab(addr) else {
            self.slub_flush();
            self.report_not_slab_page("kfree", addr);
            return;
        };
        if !self.check_valid_pointer(id, pfn, addr) {
            // free_consistency_checks()'s first check; the model makes it on every free.
            let w = self.ptr_width();
            self.slab_err(
                id,
                pfn,
                &format!("Invalid object pointer 0x{addr:0w$x}"),
                ReportKind::InvalidFree,
            );
            self.slab_fix(id, &format!("Object at 0x{addr:0w$x} not freed"));
            return;
        }
        let c = &self.slub.caches[id];
        if c.debug() && !self.free_debug_processing(id, pfn, addr) {
            let w = self.ptr_width();
            self.slab_fix(id, &format!("Object at 0x{addr:0w$x} not freed"));
            return;
        }
        // set_freepointer()'s BUG_ON(object == fp) under CONFIG_SLAB_FREELIST_HARDENED: the
        // object must not be the head of the free list it is pushed on (a double free with
        // nothing freed between; the model's one list per slab stands for the CPU freelist
        // and the slab's own).
        let Some(pushed) = self.with_freelist(id, pfn, |objects, list| {
            if list.head() == addr {
                return None;
            }
            objects.give_back(list, addr);
            list.slab.inuse = list.slab.inuse.saturating_sub(1);
            Some(list.slab.inuse)
        }) else {
            return;
        };
        let Some(inuse) = pushed else {
            let w = self.ptr_width();
            let text = self.bug_text(
                crate::slub::sites::SET_FREEPOINTER,
                &format!("free of 0x{addr:0w$x}, the head of its slab's free list"),
            );
            self.log
                .report_tainting(ReportKind::DoubleFree, text, crate::report::Taint::Die);
            return;
        };
        let c = &self.slub.caches[id];
        let nr_partial = c.partial.len() as u32;
        let discard = inuse == 0 && nr_partial >= c.min_partial;
        let on_partial = c.partial.contains(&pfn);
        if !on_partial {
            if !discard {
                self.add_partial(id, pfn, true);
            }
        } else if discard {
            self.remove_partial(id, pfn);
        }
        if discard {
            self.discard_slab(pfn);
        }
    }

    /// free_debug_processing() for one object.
    fn free_debug_processing(&mut self, id: usize, pfn: u64, object: u64) -> bool {
        let c = &self.slub.caches[id];
        let f = c.has(SLAB_CONSISTENCY_CHECKS);
        if f && !self.check_slab(id, pfn) {
            return false;
        }
        let inuse = self.slub.slabs.get(&pfn).map_or(0, |s| s.inuse);
        if inuse < 1 {
            self.slab_err(
                id,
                pfn,
                &format!("Slab has {inuse} allocated objects but 1 are to be freed\n"),
                ReportKind::DoubleFree,
            );
            return false;
        }
        if f && !self.free_consistency_checks(id, pfn, object) {
            return false;
        }
        if self.slub.caches[id].has(SLAB_STORE_USER) {
            self.set_track(id, object, TrackItem::Free);
        }
        self.init_object(id, object, SLUB_RED_INACTIVE);
        true
    }

    /// free_consistency_checks() after the pointer check: double free, then the object.
    fn free_consistency_checks(&mut self, id: usize, pfn: u64, object: u64) -> bool {
        if self.on_freelist(id, pfn, object) {
            self.object_err(
                id,
                pfn,
                object,
                "Object already free",
                ReportKind::DoubleFree,
            );
            return false;
        }
        self.check_object(id, pfn, object, SLUB_RED_ACTIVE)
    }

    /// alloc_consistency_checks().
    fn alloc_consistency_checks(&mut self, id: usize, pfn: u64, object: u64) -> bool {
        if !self.check_slab(id, pfn) {
            return false;
        }
        if !self.check_valid_pointer(id, pfn, object) {
            self.object_err(
                id,
                pfn,
                object,
                "Freelist Pointer check fails",
                ReportKind::FreepointerCorrupt,
            );
            return false;
        }
        self.check_object(id, pfn, object, SLUB_RED_INACTIVE)
    }

    /// discard_slab() / free_slab(): with F every object is checked as free first; then the
    /// pages go back to the buddy.
    pub(crate) fn discard_slab(&mut self, pfn: u64) {
        let Some(slab) = self.slub.slabs.get(&pfn).cloned() else {
            return;
        };
        let id = slab.cache;
        if self.slub.caches[id].has(SLAB_CONSISTENCY_CHECKS) {
            self.slab_pad_check(id, pfn);
            for obj in self.slab_objects(id, pfn) {
                self.check_object(id, pfn, obj, SLUB_RED_INACTIVE);
            }
        }
        self.slub.slabs.remove(&pfn);
        let c = &mut self.slub.caches[id];
        c.slabs.remove(&pfn);
        c.partial.retain(|&p| p != pfn);
        c.total_objects = c.total_objects.saturating_sub(slab.objects as u64);
        {
            let p = self.pages.get_mut(pfn);
            p.flags &= !(PG_SLAB | PG_HEAD);
            p.owner_tag = 0;
        }
        self.slub_flush();
        self.free_pages_nocheck(pfn, slab.order);
    }

    /// __kmem_cache_shutdown(): empty partial slabs are discarded; a partial slab with
    /// objects is listed ("Objects remaining"); true when the cache has no slab left.
    pub(crate) fn kmem_cache_shutdown(&mut self, id: usize) -> bool {
        let partial = self.slub.caches[id].partial.clone();
        let mut listing = Vec::new();
        for pfn in partial {
            let inuse = self.slub.slabs.get(&pfn).map_or(0, |s| s.inuse);
            if inuse == 0 {
                self.remove_partial(id, pfn);
                self.discard_slab(pfn);
            } else {
                listing.push(pfn);
            }
        }
        let busy = !self.slub.caches[id].slabs.is_empty();
        if busy {
            self.report_objects_remaining(id, &listing);
        }
        !busy
    }

    /// validate_slab_cache(): the partial slabs, then (with SLAB_STORE_USER) the full ones.
    pub(crate) fn validate_cache(&mut self, id: usize) -> u64 {
        let c = &self.slub.caches[id];
        let partial = c.partial.clone();
        let full: Vec<u64> = if c.has(SLAB_STORE_USER) {
            c.slabs
                .iter()
                .copied()
                .filter(|p| !partial.contains(p))
                .collect()
        } else {
            Vec::new()
        };
        let mut count = 0;
        for pfn in partial.iter().chain(full.iter()).copied() {
            self.validate_slab(id, pfn);
            count += 1;
        }
        count
    }

    /// validate_slab(): the slab, its free list, then every object against its state.
    fn validate_slab(&mut self, id: usize, pfn: u64) {
        if !self.check_slab(id, pfn) || !self.on_freelist(id, pfn, 0) {
            return;
        }
        let objs = self.slab_objects(id, pfn);
        // The free objects, by walking the (now valid) free list once.
        let free = self.free_map(id, pfn);
        for (obj, free) in objs.into_iter().zip(free) {
            let val = if free {
                SLUB_RED_INACTIVE
            } else {
                SLUB_RED_ACTIVE
            };
            if !self.check_object(id, pfn, obj, val) {
                break;
            }
        }
    }
}
