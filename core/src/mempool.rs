//! Memory pools (mm/mempool.c of Linux 6.6): a reserve of `min_nr` preallocated elements
//! that mempool_alloc() falls back on when the underlying allocator fails.
//!
//! - The pool (mempool_t) and its elements array are kmalloc()ed as in Linux, so the pool
//!   handle is a kmalloc address; the reserve's element pointers are kept by the model.
//! - Element poisoning (0x6b.. 0xa5 while in the reserve, checked on removal, then 0x5a) is
//!   Linux's CONFIG_SLUB_DEBUG_ON behaviour; the model turns it on when `slub_debug=` has P.
//! - A sleeping mask with an empty reserve and a failing allocator would make Linux wait for
//!   an element to come back (io_schedule_timeout() in a loop); the model cannot wait and
//!   returns NULL.
//! - Misuse Linux does not check, the model reports (kind mempool-misuse, model text): a
//!   handle that is no live pool, mempool_free() of an element the pool did not hand out
//!   (refused), mempool_destroy() with elements still out (Linux says nothing: they leak,
//!   and a later mempool_free() would use the freed pool).

use std::collections::BTreeMap;

use crate::dumpstack::Site;
use crate::gfp::*;
use crate::machine::Machine;
use crate::report::ReportKind;
use crate::slub::{POISON_END, POISON_FREE, POISON_INUSE};
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// VM_WARN_ON_ONCE(gfp_mask & __GFP_ZERO) in mempool_alloc() (line and offsets kept from the
/// earlier texts; no 6.6 log on record).
const MEMPOOL_ALLOC_ZERO: Site = Site {
    file: "mm/mempool.c",
    line: 386,
    func: "mempool_alloc",
    off: 0x1a4,
    size: 0x1c0,
};

/// What backs a pool: pool->alloc / pool->free and pool_data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MempoolKind {
    /// mempool_kmalloc / mempool_kfree with pool_data = size.
    Kmalloc { size: u64 },
    /// mempool_alloc_slab / mempool_free_slab with pool_data = the cache.
    Slab { cache: u64 },
    /// mempool_alloc_pages / mempool_free_pages with pool_data = the order; elements are
    /// `struct page *`.
    Page { order: u32 },
}

#[derive(Clone, Debug)]
pub(crate) struct Mempool {
    pub kind: MempoolKind,
    pub min_nr: u32,
    /// pool->elements[0..curr_nr].
    pub elements: Vec<u64>,
    /// The kmalloc()ed elements array.
    pub elements_array: u64,
    /// Elements handed out by mempool_alloc() and not yet given back, with their count
    /// (kmalloc(0) pools hand out ZERO_SIZE_PTR again and again).
    pub outstanding: BTreeMap<u64, u32>,
}

/// Every live pool, by handle.
#[derive(Clone, Debug, Default)]
pub struct Mempools {
    pub(crate) pools: BTreeMap<u64, Mempool>,
}

/// What the introspection API tells about a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolInfo {
    pub kind: MempoolKind,
    pub min_nr: u32,
    pub curr_nr: u32,
    /// The reserve, in pool->elements order.
    pub reserve: Vec<u64>,
    pub outstanding: Vec<u64>,
}

/// sizeof(mempool_t).
fn mempool_t_size(arch: crate::Arch) -> u64 {
    match arch {
        crate::Arch::I386 => 40,
        crate::Arch::X86_64 => 72,
    }
}

impl Machine {
    fn mempool_poisoning(&self) -> bool {
        self.cfg.slub_debug.is_some_and(|d| d.poison)
    }

    /// The physical address and size of an element's memory, for poisoning.
    fn element_span(&self, kind: MempoolKind, elem: u64) -> Option<(u64, u64)> {
        match kind {
            MempoolKind::Kmalloc { size } => (elem > crate::kmalloc::ZERO_SIZE_PTR
                && size > 0
                && self.layout.is_direct_map(elem))
            .then(|| (elem - self.layout.page_offset, size)),
            MempoolKind::Slab { cache } => {
                let size = self.kmem_cache_size(cache);
                (size > 0 && self.layout.is_direct_map(elem))
                    .then(|| (elem - self.layout.page_offset, size))
            }
            MempoolKind::Page { order } => {
                let pfn = self.layout.pfn_of_page_ptr(elem)?;
                let size = PAGE_SIZE << order;
                (pfn + (1 << order) <= self.layout.max_pfn).then_some((pfn << PAGE_SHIFT, size))
            }
        }
    }

    /// pool->alloc() with the caller's mask (no might_alloc(): mempool_alloc made it).
    fn pool_alloc(&mut self, kind: MempoolKind, gfp: Gfp) -> u64 {
        match kind {
            MempoolKind::Kmalloc { size } => self.do_kmalloc(size, gfp, false),
            MempoolKind::Slab { cache } => match self.cache_id(cache) {
                Some(id) => {
                    let size = self.slub.caches[id].layout.object_size;
                    let p = self.slab_alloc(id, gfp, size);
                    self.slub_flush();
                    p
                }
                None => {
                    self.bad_cache_handle("mempool_alloc_slab", cache);
                    0
                }
            },
            // mempool_alloc_pages(): alloc_pages(), its might_alloc() made by the caller; a
            // failure warns unless the mask says not to (mempool_alloc() adds __GFP_NOWARN,
            // mempool_create()'s GFP_KERNEL preallocation does not).
            MempoolKind::Page { order } => match self.alloc_pages_warn(gfp, order) {
                Some(pfn) => self.layout.page_ptr(pfn),
                None => 0,
            },
        }
    }

    /// pool->free().
    fn pool_free(&mut self, kind: MempoolKind, elem: u64) {
        match kind {
            MempoolKind::Kmalloc { .. } => self.kfree(elem),
            MempoolKind::Slab { cache } => self.kmem_cache_free(cache, elem),
            MempoolKind::Page { order } => self.__free_pages(elem, order),
        }
    }

    /// add_element() with poison_element().
    fn add_element(&mut self, pool: u64, elem: u64) {
        let Some(kind) = self.mempools.pools.get(&pool).map(|p| p.kind) else {
            return;
        };
        if self.mempool_poisoning() {
            if let Some((pa, size)) = self.element_span(kind, elem) {
                self.phys_fill(pa, size - 1, POISON_FREE);
                self.phys_fill(pa + size - 1, 1, POISON_END);
            }
        }
        if let Some(p) = self.mempools.pools.get_mut(&pool) {
            p.elements.push(elem);
        }
    }

    /// remove_element() with check_element().
    fn remove_element(&mut self, pool: u64) -> Option<u64> {
        let p = self.mempools.pools.get_mut(&pool)?;
        let elem = p.elements.pop()?;
        let (kind, nr) = (p.kind, p.elements.len());
        if self.mempool_poisoning() {
            if let Some((pa, size)) = self.element_span(kind, elem) {
                // check_element() checks a page element through kmap_atomic(), so a
                // report shows the mapped address, not the struct page pointer.
                let page = matches!(kind, MempoolKind::Page { .. });
                let shown = if page { self.kmap_atomic(elem) } else { elem };
                self.check_element(pool, shown, nr, pa, size);
                // (0: kmap_atomic() BUGged, all kmap_local slots in use; nothing to unmap.)
                if page && shown != 0 {
                    self.kunmap_atomic(shown);
                }
            }
        }
        Some(elem)
    }

    /// __check_element(): every byte 0x6b but the last 0xa5; then 0x5a. `elem` is the
    /// address the element is checked at (a page element's kmap_atomic() address). The whole
    /// element is checked in physical memory: Linux 6.6 maps only a page element's first page
    /// and reads the rest of a highmem element past that mapping (fixed upstream since).
    fn check_element(&mut self, pool: u64, elem: u64, nr: usize, pa: u64, size: u64) {
        // Found in place (O(1) for pages one byte fills); the bytes are read only for the
        // report.
        let last = size - 1;
        let bad = self.phys_find_not(pa, last, POISON_FREE).or_else(|| {
            let mut end = [0u8];
            self.phys_read(pa + last, &mut end);
            (end[0] != POISON_END).then_some(last)
        });
        let Some(byte) = bad else {
            self.phys_fill(pa, size, POISON_INUSE);
            return;
        };
        let byte = byte as usize;
        // poison_error().
        let w = self.ptr_width();
        let word = w / 2;
        let start = byte.saturating_sub(word);
        let end = (byte + word).min(size as usize);
        let mut line = format!(
            " nr={nr} @ {elem:0w$x}: {}0x",
            if start > 0 { "... " } else { "" }
        );
        let mut buf = vec![0u8; end - start];
        self.phys_read(pa + start as u64, &mut buf);
        for b in &buf {
            line.push_str(&format!("{b:x} "));
        }
        if end < size as usize {
            line.push_str("...");
        }
        // poison_error() ends with dump_stack() and adds no taint.
        self.log.report(
            ReportKind::PoisonOverwritten,
            format!(
                "BUG: mempool element poison mismatch\nMempool {pool:0w$x} size {size}\n{line}\n{}",
                self.dump_stack()
            ),
        );
    }

    /// A misuse Linux has no check for: kmemfuzz's own text, so no taint.
    fn mempool_misuse(&mut self, text: String) {
        self.slub_flush();
        self.log
            .report(ReportKind::MempoolMisuse, format!("kmemfuzz: {text}"));
    }

    /// mempool_create(): the pool, its elements array, then min_nr elements with GFP_KERNEL.
    fn mempool_create(&mut self, min_nr: u64, kind: MempoolKind) -> u64 {
        // One might_alloc() for the whole call (kzalloc() of the pool is the first).
        self.slab_pre_alloc_hook(GFP_KERNEL);
        let ptr = crate::slub::ptr_size(self.layout.arch) as u64;
        let Some(array_size) = min_nr.checked_mul(ptr) else {
            return 0;
        };
        if min_nr > u32::MAX as u64 {
            return 0;
        }
        let pool = self.do_kmalloc(
            mempool_t_size(self.layout.arch),
            GFP_KERNEL | __GFP_ZERO,
            false,
        );
        if pool == 0 {
            return 0;
        }
        let array = self.do_kmalloc(array_size, GFP_KERNEL, false);
        if array == 0 {
            self.kfree(pool);
            return 0;
        }
        self.mempools.pools.insert(
            pool,
            Mempool {
                kind,
                min_nr: min_nr as u32,
                elements: Vec::new(),
                elements_array: array,
                outstanding: BTreeMap::new(),
            },
        );
        for _ in 0..min_nr {
            let e = self.pool_alloc(kind, GFP_KERNEL);
            if e == 0 {
                self.mempool_exit(pool);
                self.kfree(pool);
                return 0;
            }
            self.add_element(pool, e);
        }
        self.slub_flush();
        pool
    }

    /// mempool_create_kmalloc_pool(min_nr, size).
    pub fn mempool_create_kmalloc_pool(&mut self, min_nr: u64, size: u64) -> u64 {
        self.mempool_create(min_nr, MempoolKind::Kmalloc { size })
    }

    /// mempool_create_slab_pool(min_nr, cache).
    pub fn mempool_create_slab_pool(&mut self, min_nr: u64, cache: u64) -> u64 {
        if self.cache_id(cache).is_none() {
            self.bad_cache_handle("mempool_create_slab_pool", cache);
            return 0;
        }
        self.mempool_create(min_nr, MempoolKind::Slab { cache })
    }

    /// mempool_create_page_pool(min_nr, order): elements are `struct page *`.
    /// An order above MAX_PAGE_ORDER makes a pool whose every allocation fails: its
    /// preallocation warns (WARN_ON_ONCE_GFP in __alloc_pages()) and fails unless min_nr is
    /// 0.
    pub fn mempool_create_page_pool(&mut self, min_nr: u64, order: u32) -> u64 {
        self.mempool_create(min_nr, MempoolKind::Page { order })
    }

    /// mempool_alloc(pool, gfp): the underlying allocator first (without direct reclaim),
    /// then the reserve, then the allocator with the full mask; NULL when all fail (where a
    /// sleeping caller would wait in Linux; see the module comment).
    pub fn mempool_alloc(&mut self, pool: u64, gfp: Gfp) -> u64 {
        let Some(kind) = self.mempools.pools.get(&pool).map(|p| p.kind) else {
            self.mempool_misuse(format!(
                "mempool_alloc: 0x{pool:0w$x} is not a live mempool (destroyed, or never created)",
                w = self.ptr_width()
            ));
            return 0;
        };
        if gfp & __GFP_ZERO != 0 {
            // VM_WARN_ON_ONCE(gfp_mask & __GFP_ZERO).
            self.warn_warning(&MEMPOOL_ALLOC_ZERO, true, "", "");
        }
        if gfpflags_allow_blocking(gfp) {
            self.might_sleep(crate::context::MIGHT_ALLOC);
        }
        let gfp_mask = gfp | __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN;
        let mut gfp_temp = gfp_mask & !(__GFP_DIRECT_RECLAIM | __GFP_IO);
        loop {
            let e = self.pool_alloc(kind, gfp_temp);
            if e != 0 {
                if let Some(p) = self.mempools.pools.get_mut(&pool) {
                    *p.outstanding.entry(e).or_insert(0) += 1;
                }
                return e;
            }
            if let Some(e) = self.remove_element(pool) {
                if let Some(p) = self.mempools.pools.get_mut(&pool) {
                    *p.outstanding.entry(e).or_insert(0) += 1;
                }
                return e;
            }
            if gfp_temp != gfp_mask {
                gfp_temp = gfp_mask;
                continue;
            }
            // !__GFP_DIRECT_RECLAIM: NULL. With it Linux would sleep until an element is
            // freed; the model cannot wait.
            return 0;
        }
    }

    /// mempool_free(elem, pool): refills the reserve while it is below min_nr, else frees
    /// to the underlying allocator. NULL is ignored.
    pub fn mempool_free(&mut self, elem: u64, pool: u64) {
        if elem == 0 {
            return;
        }
        let w = self.ptr_width();
        let Some(p) = self.mempools.pools.get_mut(&pool) else {
            self.mempool_misuse(format!(
                "mempool_free: 0x{pool:0w$x} is not a live mempool (destroyed, or never created)"
            ));
            return;
        };
        let handed_out = match p.outstanding.get_mut(&elem) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => p.outstanding.remove(&elem).is_some(),
            None => false,
        };
        if !handed_out {
            let in_reserve = p.elements.contains(&elem);
            self.mempool_misuse(format!(
                "mempool_free: element 0x{elem:0w$x} was not handed out by mempool 0x{pool:0w$x}{}",
                if in_reserve {
                    " (it is in the reserve already: a double free)"
                } else {
                    ""
                }
            ));
            return;
        }
        let (kind, below) = (p.kind, (p.elements.len() as u64) < p.min_nr as u64);
        if below {
            self.add_element(pool, elem);
            return;
        }
        self.pool_free(kind, elem);
    }

    /// mempool_exit(): every reserved element back to the allocator, the array freed.
    fn mempool_exit(&mut self, pool: u64) {
        while let Some(e) = self.remove_element(pool) {
            if let Some(kind) = self.mempools.pools.get(&pool).map(|p| p.kind) {
                self.pool_free(kind, e);
            }
        }
        if let Some(p) = self.mempools.pools.remove(&pool) {
            self.kfree(p.elements_array);
        }
    }

    /// mempool_destroy(pool). NULL is ignored.
    pub fn mempool_destroy(&mut self, pool: u64) {
        if pool == 0 {
            return;
        }
        let w = self.ptr_width();
        let Some(p) = self.mempools.pools.get(&pool) else {
            self.mempool_misuse(format!(
                "mempool_destroy: 0x{pool:0w$x} is not a live mempool (destroyed, or never created)"
            ));
            return;
        };
        if !p.outstanding.is_empty() {
            let list: Vec<String> = p
                .outstanding
                .iter()
                .flat_map(|(e, &n)| std::iter::repeat_n(format!("0x{e:0w$x}"), n as usize))
                .collect();
            self.mempool_misuse(format!(
                "mempool_destroy: mempool 0x{pool:0w$x} destroyed with {} element(s) still allocated: {}",
                list.len(),
                list.join(" ")
            ));
        }
        self.mempool_exit(pool);
        self.kfree(pool);
    }

    /// A live pool's state.
    pub fn mempool_info(&self, pool: u64) -> Option<MempoolInfo> {
        let p = self.mempools.pools.get(&pool)?;
        Some(MempoolInfo {
            kind: p.kind,
            min_nr: p.min_nr,
            curr_nr: p.elements.len() as u32,
            reserve: p.elements.clone(),
            outstanding: p
                .outstanding
                .iter()
                .flat_map(|(&e, &n)| std::iter::repeat_n(e, n as usize))
                .collect(),
        })
    }
}
