//! The simulated machine: boots from a configuration and owns every piece of state.

use crate::buddy::{Buddy, PageAllocator};
use crate::config::{BootConfig, ConfigError};
use crate::context::Context;
use crate::layout::Layout;
use crate::mem::{PhysMem, PowerOnFill};
use crate::mmu::PageTable;
use crate::page::{MemMap, Page};
use crate::report::{KernelLog, Report};
use crate::seams::{KmemSeams, Seams};
use crate::zone::{build_zones, Zone};

pub use kmem_vocab::PageEvent;

/// PAGE_POISON: what page poisoning fills freed pages with.
pub const PAGE_POISON: u8 = 0xaa;

pub struct Machine {
    pub(crate) cfg: BootConfig,
    pub(crate) layout: Layout,
    pub(crate) mem: PhysMem,
    pub(crate) pages: MemMap,
    pub(crate) alloc: Box<dyn PageAllocator>,
    pub(crate) pt: PageTable,
    pub(crate) ctx: Context,
    pub(crate) log: KernelLog,
    /// Page allocator traffic since last taken, when an observer asked for it.
    pub(crate) page_events: Option<Vec<PageEvent>>,
    pub(crate) vmalloc: crate::vmalloc::Vmalloc,
    pub(crate) highmem: crate::highmem::Highmem,
    pub(crate) slub: crate::slub::Slub,
    pub(crate) mempools: crate::mempool::Mempools,
    /// bad_page()'s rate limit.
    pub(crate) bad_page_rs: crate::page_alloc::BadPageRatelimit,
}

impl Machine {
    /// Boots a machine with the real buddy allocator.
    pub fn boot(cfg: &BootConfig) -> Result<Machine, ConfigError> {
        Machine::boot_with(cfg, |zones, reserved| Box::new(Buddy::new(zones, reserved)))
    }

    /// Boots a machine whose page allocator is built by `make` from the zones and the
    /// ranges boot reserved: the hook for broken and third-party allocators.
    pub fn boot_with(
        cfg: &BootConfig,
        make: impl FnOnce(Vec<Zone>, &[(u64, u64)]) -> Box<dyn PageAllocator>,
    ) -> Result<Machine, ConfigError> {
        Machine::boot_with_seams(cfg, make, &KmemSeams)
    }

    /// Boots a machine whose page allocator `make` builds and whose other seams `seams`
    /// builds (see [`crate::seams`]).
    pub fn boot_with_seams(
        cfg: &BootConfig,
        make: impl FnOnce(Vec<Zone>, &[(u64, u64)]) -> Box<dyn PageAllocator>,
        seams: &dyn Seams,
    ) -> Result<Machine, ConfigError> {
        cfg.validate()?;
        let layout = Layout::new(cfg);
        let reserved: Vec<(u64, u64)> = layout.reserved.iter().map(|&(s, e, _)| (s, e)).collect();
        let fill = if cfg.page_poison {
            PowerOnFill::Byte(PAGE_POISON)
        } else {
            PowerOnFill::Junk
        };
        let zones = build_zones(&layout);
        Ok(Machine {
            cfg: cfg.clone(),
            mem: PhysMem::new(layout.max_pfn, fill),
            pages: MemMap::new(layout.max_pfn, reserved.clone()),
            alloc: make(zones, &reserved),
            pt: PageTable::new(layout.paging),
            ctx: Context::default(),
            log: KernelLog::new(),
            page_events: None,
            vmalloc: crate::vmalloc::Vmalloc::new(
                seams.vmap_space(layout.vmalloc_start, layout.vmalloc_end),
                seams.vmap_pages(),
            ),
            highmem: crate::highmem::Highmem::new(
                layout.last_pkmap,
                seams.pkmap_slots(),
                seams.kmap_local_idx(),
            ),
            slub: crate::slub::Slub::new(
                seams.slab_objects(),
                seams.object_checks(),
                seams.kmalloc_sizes(),
            ),
            mempools: crate::mempool::Mempools::default(),
            bad_page_rs: Default::default(),
            layout,
        })
    }

    pub fn config(&self) -> &BootConfig {
        &self.cfg
    }
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
    pub fn zones(&self) -> &[Zone] {
        self.alloc.zones()
    }
    pub fn page_allocator(&self) -> &dyn PageAllocator {
        &*self.alloc
    }
    pub fn context(&self) -> &Context {
        &self.ctx
    }
    pub fn log(&self) -> &KernelLog {
        &self.log
    }
    pub fn log_mut(&mut self) -> &mut KernelLog {
        &mut self.log
    }
    /// The reports raised since the last call.
    pub fn take_reports(&mut self) -> Vec<Report> {
        self.log.take_reports()
    }
    /// Starts or stops recording page allocator traffic (for an oracle that must see the
    /// pages slab, vmalloc and mempool take and return).
    pub fn record_page_events(&mut self, on: bool) {
        self.page_events = on.then(Vec::new);
    }

    /// The page allocator traffic since the last call.
    pub fn take_page_events(&mut self) -> Vec<PageEvent> {
        self.page_events
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The page allocator traffic recorded since the last [`Machine::clear_page_events`]
    /// (or take), in order; empty while not recording.
    pub fn page_events(&self) -> &[PageEvent] {
        self.page_events.as_deref().unwrap_or_default()
    }

    /// Forgets the recorded page events, keeping the buffer for the next statement's.
    pub fn clear_page_events(&mut self) {
        if let Some(e) = self.page_events.as_mut() {
            e.clear();
        }
    }

    /// Reports raised and not printed (once-only, rate limited) since the last call.
    pub fn take_silenced(&mut self) -> Vec<kmem_vocab::Silenced> {
        self.log.take_silenced()
    }

    /// Warnings (not misuse) printed since the last call.
    pub fn take_warnings(&mut self) -> Vec<String> {
        self.log.take_warnings()
    }

    /// How many of the warnings waiting to be taken are warn_alloc()'s ("page allocation
    /// failure", a vmalloc failure): ask before [`Self::take_warnings`], which forgets them.
    pub fn take_warn_alloc(&mut self) -> u32 {
        self.log.take_warn_alloc()
    }

    /// How many "SLUB: Unable to allocate memory" prints (slab_out_of_memory()) the last call
    /// made; the warnings themselves stay pending.
    pub fn take_slab_oom(&mut self) -> u32 {
        self.log.take_slab_oom()
    }

    /// Whether a report, a warning or a silenced report is waiting to be taken: false after
    /// a call that printed nothing (the common case, which a caller can then skip).
    pub fn has_pending_output(&self) -> bool {
        self.log.has_pending()
    }

    /// The `struct page` of a pfn as the kernel would see it, buddy state included.
    pub fn page_info(&self, pfn: u64) -> Option<Page> {
        if pfn >= self.layout.max_pfn {
            return None;
        }
        let mut p = self.pages.get(pfn);
        if let Some(order) = self.free_block_order(pfn) {
            p.private = order as u64;
        }
        p.virtual_addr = if self.layout.is_highmem_pfn(pfn) {
            self.highmem_page_address(pfn)
        } else {
            self.layout.page_offset + (pfn << crate::PAGE_SHIFT)
        };
        Some(p)
    }

    /// The order of the free block `pfn` heads, if it heads one (its allocator's answer).
    pub fn free_block_order(&self, pfn: u64) -> Option<u32> {
        self.alloc.free_block_order(pfn)
    }

    /// Frames and pages materialised so far: what the run has cost.
    pub fn materialised(&self) -> (usize, usize) {
        (self.mem.materialised(), self.pages.materialised())
    }

    // Execution context, as the scenario's context statements drive it.
    pub fn spin_lock(&mut self) {
        let ip = self.caller_ip();
        self.ctx.spin_lock(ip)
    }
    pub fn spin_unlock(&mut self) {
        let trace = self.lazy_call_trace();
        self.ctx.spin_unlock(&mut self.log, &trace)
    }
    pub fn local_irq_disable(&mut self) {
        self.ctx.local_irq_disable()
    }
    pub fn local_irq_enable(&mut self) {
        self.ctx.local_irq_enable()
    }
    pub fn irq_enter(&mut self) {
        let ip = self.caller_ip();
        self.ctx.irq_enter(ip)
    }
    pub fn irq_exit(&mut self) {
        let trace = self.lazy_call_trace();
        self.ctx.irq_exit(&mut self.log, &trace)
    }
    pub fn local_bh_disable(&mut self) {
        let ip = self.caller_ip();
        self.ctx.local_bh_disable(ip)
    }
    pub fn local_bh_enable(&mut self) {
        let trace = self.lazy_call_trace();
        self.ctx.local_bh_enable(&mut self.log, &trace)
    }
    pub fn preempt_disable(&mut self) {
        let ip = self.caller_ip();
        self.ctx.preempt_disable(ip)
    }
    pub fn preempt_enable(&mut self) {
        let trace = self.lazy_call_trace();
        self.ctx.preempt_enable(&mut self.log, &trace)
    }

    /// might_sleep() at `site`: the check, with the stack and the preempt_disable_ip line
    /// worked out only when it reports.
    pub(crate) fn might_sleep(&mut self, site: crate::context::SleepSite) {
        if self.ctx.may_sleep() {
            return;
        }
        let trace = self.call_trace();
        let mut disabled_at = String::new();
        if self.log.texts() {
            let ip = self.ctx.preempt_disable_ip();
            let w = self.ptr_width();
            disabled_at = format!("[<{ip:0w$x}>] {}", self.symbolize(ip));
        }
        self.ctx
            .might_sleep(site, &mut self.log, &trace, &disabled_at);
    }
}
