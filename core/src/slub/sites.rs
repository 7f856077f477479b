//! The WARN sites of the slab allocator and kmalloc (mm/slab.h, mm/slab_common.c in 6.6):
//! where each is and the code address the WARNING line prints. Lines and offsets are kept
//! from the earlier texts where they had them (no 6.6 log re-read); the rest are the model's
//! (docs/model.md, "Reports").

use crate::dumpstack::Site;

/// WARN_ONCE(!slab_equal_or_root(cachep, s), "%s: Wrong slab cache. ...") in
/// cache_from_obj(), inlined into kmem_cache_free().
pub(crate) const CACHE_FROM_OBJ: Site = Site {
    file: "mm/slab.h",
    line: 678,
    func: "kmem_cache_free",
    off: 0x1b5,
    size: 0x3c0,
};
/// WARN_ONCE(!slab, "%s: Object is not a Slab page!\n") in virt_to_cache(), inlined into
/// kmem_cache_free() and kfree() (one WARN_ONCE state for both: the same static).
pub(crate) const VIRT_TO_CACHE_KMEM_CACHE_FREE: Site = Site {
    file: "mm/slab.h",
    line: 649,
    func: "kmem_cache_free",
    off: 0x2c,
    size: 0x3c0,
};
pub(crate) const VIRT_TO_CACHE_KFREE: Site = Site {
    file: "mm/slab.h",
    line: 649,
    func: "kfree",
    off: 0x2c,
    size: 0x160,
};
/// WARN(err, "kmem_cache_destroy %s: Slab cache still has objects when called from %pS")
/// (6.6's line unverified: 5.14 has 520, 6.11 511; the offsets are from a 6.x log).
pub(crate) const KMEM_CACHE_DESTROY: Site = Site {
    file: "mm/slab_common.c",
    line: 510,
    func: "kmem_cache_destroy",
    off: 0x1dc,
    size: 0x1e4,
};
/// WARN_ON(strchr(name, ' ')) in kmem_cache_sanity_check(), inlined into
/// kmem_cache_create_usercopy().
pub(crate) const CACHE_NAME_SPACE: Site = Site {
    file: "mm/slab_common.c",
    line: 115,
    func: "kmem_cache_create_usercopy",
    off: 0x5c,
    size: 0x2b0,
};
/// WARN_ON_ONCE(order == 0) in free_large_kmalloc().
pub(crate) const FREE_LARGE_KMALLOC: Site = Site {
    file: "mm/slab_common.c",
    line: 1001,
    func: "free_large_kmalloc",
    off: 0x7a,
    size: 0x90,
};
/// WARN_ON(folio_size(folio) <= KMALLOC_MAX_CACHE_SIZE) in __ksize().
pub(crate) const KSIZE: Site = Site {
    file: "mm/slab_common.c",
    line: 1029,
    func: "__ksize",
    off: 0x9d,
    size: 0xb0,
};

/// BUG_ON(object == fp) in set_freepointer() (CONFIG_SLAB_FREELIST_HARDENED), inlined into
/// the free paths. The line is the model's (6.6's not verified).
pub(crate) const SET_FREEPOINTER: &str = "mm/slub.c:454";
