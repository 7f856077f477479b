//! Runs one statement on a `kmem::Machine`: evaluates the operands and calls the kernel
//! function of that name.

use kmem::Machine;

use crate::scenario::{Op, Operand};

pub use kmem_rules::outcome::{word, Env, Outcome, MAX_ACCESS};

/// One call of a `walk` on `m`, by number: kmap() of `page` (its value), or the kunmap()
/// after it (`unmap`, 0): what [`execute`] does for `kmap PAGE` and `kunmap PAGE`.
pub fn walk_call(m: &mut Machine, page: u64, unmap: bool) -> u64 {
    if unmap {
        m.kunmap(page);
        0
    } else {
        m.kmap(page)
    }
}

/// Executes `op` on `m`.
pub fn execute(m: &mut Machine, env: &Env, op: &Op) -> Outcome {
    let i386 = m.layout().arch == kmem::Arch::I386;
    let ev = |o: &Operand| env.eval(o, i386);
    let val = |v: u64| Outcome {
        value: Some(v),
        ..Default::default()
    };
    let none = Outcome::default;
    match op {
        Op::AllocPages { gfp, order } => val(m.alloc_pages(*gfp, *order)),
        Op::FreePagesPage { page, order } => {
            m.__free_pages(ev(page), *order);
            none()
        }
        Op::GetFreePages { gfp, order } => val(m.__get_free_pages(*gfp, *order)),
        Op::GetFreePage { gfp } => val(m.__get_free_page(*gfp)),
        Op::GetZeroedPage { gfp } => val(m.get_zeroed_page(*gfp)),
        Op::FreePages { addr, order } => {
            m.free_pages(ev(addr), *order);
            none()
        }
        Op::FreePage { addr } => {
            m.free_page(ev(addr));
            none()
        }
        Op::PageAddress { page } => val(m.page_address(ev(page))),
        Op::VirtToPage { addr } => val(m.virt_to_page(ev(addr))),
        Op::PageToPhys { page } => val(m.page_to_phys(ev(page))),
        Op::VirtToPhys { addr } => val(m.virt_to_phys(ev(addr))),
        Op::PhysToVirt { phys } => val(m.phys_to_virt(ev(phys))),
        Op::SpinLock => {
            m.spin_lock();
            none()
        }
        Op::SpinUnlock => {
            m.spin_unlock();
            none()
        }
        Op::LocalIrqDisable => {
            m.local_irq_disable();
            none()
        }
        Op::LocalIrqEnable => {
            m.local_irq_enable();
            none()
        }
        Op::IrqEnter => {
            m.irq_enter();
            none()
        }
        Op::IrqExit => {
            m.irq_exit();
            none()
        }
        Op::LocalBhDisable => {
            m.local_bh_disable();
            none()
        }
        Op::LocalBhEnable => {
            m.local_bh_enable();
            none()
        }
        Op::PreemptDisable => {
            m.preempt_disable();
            none()
        }
        Op::PreemptEnable => {
            m.preempt_enable();
            none()
        }
        Op::Vmalloc { size } => val(m.vmalloc(*size)),
        Op::Vzalloc { size } => val(m.vzalloc(*size)),
        Op::Vmalloc32 { size } => val(m.vmalloc_32(*size)),
        Op::VmallocNode { size, align, gfp } => val(m.__vmalloc_node(*size, *align, *gfp)),
        Op::Vfree { addr } => {
            m.vfree(ev(addr));
            none()
        }
        Op::Vmap { pages } => {
            let pages: Vec<u64> = pages.iter().map(ev).collect();
            val(m.vmap(&pages))
        }
        Op::Vunmap { addr } => {
            m.vunmap(ev(addr));
            none()
        }
        Op::VmallocToPage { addr } => val(m.vmalloc_to_page(ev(addr))),
        Op::IsVmallocAddr { addr } => val(u64::from(m.is_vmalloc_addr(ev(addr)))),
        Op::VmUnmapAliases => {
            m.vm_unmap_aliases();
            none()
        }
        Op::Kmap { page } => val(m.kmap(ev(page))),
        Op::Kunmap { page } => {
            m.kunmap(ev(page));
            none()
        }
        Op::KmapAtomic { page } => val(m.kmap_atomic(ev(page))),
        Op::KunmapAtomic { addr } => {
            m.kunmap_atomic(ev(addr));
            none()
        }
        Op::KmapLocalPage { page } => val(m.kmap_local_page(ev(page))),
        Op::KunmapLocal { addr } => {
            m.kunmap_local(ev(addr));
            none()
        }
        Op::KmemCacheCreate {
            name,
            size,
            align,
            flags,
            ctor,
        } => val(m.kmem_cache_create(name, u64::from(*size), u64::from(*align), *flags, *ctor)),
        Op::KmemCacheAlloc { cache, gfp } => val(m.kmem_cache_alloc(ev(cache), *gfp)),
        Op::KmemCacheZalloc { cache, gfp } => val(m.kmem_cache_zalloc(ev(cache), *gfp)),
        Op::KmemCacheFree { cache, addr } => {
            m.kmem_cache_free(ev(cache), ev(addr));
            none()
        }
        Op::KmemCacheDestroy { cache } => {
            m.kmem_cache_destroy(ev(cache));
            none()
        }
        Op::KmemCacheShrink { cache } => val(m.kmem_cache_shrink(ev(cache)) as u64),
        Op::ValidateSlabCache { cache } => val(m.validate_slab_cache(ev(cache))),
        Op::Kmalloc { size, gfp } => val(m.kmalloc(*size, *gfp)),
        Op::Kzalloc { size, gfp } => val(m.kzalloc(*size, *gfp)),
        Op::Krealloc { addr, size, gfp } => val(m.krealloc(ev(addr), *size, *gfp)),
        Op::Ksize { addr } => val(m.ksize(ev(addr))),
        Op::Kfree { addr } => {
            m.kfree(ev(addr));
            none()
        }
        Op::MempoolCreateKmallocPool { min, size } => {
            val(m.mempool_create_kmalloc_pool(u64::from(*min), *size))
        }
        Op::MempoolCreateSlabPool { min, cache } => {
            val(m.mempool_create_slab_pool(u64::from(*min), ev(cache)))
        }
        Op::MempoolCreatePagePool { min, order } => {
            val(m.mempool_create_page_pool(u64::from(*min), *order))
        }
        Op::MempoolAlloc { pool, gfp } => val(m.mempool_alloc(ev(pool), *gfp)),
        Op::MempoolFree { addr, pool } => {
            m.mempool_free(ev(addr), ev(pool));
            none()
        }
        Op::MempoolDestroy { pool } => {
            m.mempool_destroy(ev(pool));
            none()
        }
        Op::Write { addr, len, byte } => {
            let wrote = m.write(ev(addr), (*len).min(MAX_ACCESS), *byte);
            Outcome {
                wrote,
                ..Default::default()
            }
        }
        Op::Read { addr, len } => {
            let read = m.read(ev(addr), (*len).min(MAX_ACCESS));
            Outcome {
                read,
                ..Default::default()
            }
        }
        // An engine scenario's statements call no kernel function; `kmemfuzz replay` runs
        // them on their engine (crate::engine), and refuses them in a kernel scenario.
        Op::Allocate { .. } | Op::Free { .. } | Op::Reallocate { .. } => none(),
    }
}
