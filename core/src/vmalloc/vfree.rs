//! vfree() and its deferred form from interrupt context: vfree_atomic()'s llist and the
//! delayed_vfree_work() item that drains it.

use super::{VFREE_SLEEP_SITE, VFREE_WARN, VM_ALLOC};
use crate::machine::Machine;

impl Machine {
    /// Runs the deferred vfree() work if the worker could run now (process context,
    /// preemption and interrupts enabled).
    pub(super) fn maybe_run_delayed_vfree(&mut self) {
        if !self.vmalloc.deferred.is_empty() && self.ctx.may_sleep() {
            self.delayed_vfree_work();
        }
    }

    /// delayed_vfree_work(): the workqueue item vfree_atomic() schedules. Frees every queued
    /// address as vfree() would in process context (in llist order: newest first). The
    /// kworker is its own task, so the current context's atomicity does not apply.
    pub fn delayed_vfree_work(&mut self) {
        let queued = std::mem::take(&mut self.vmalloc.deferred);
        for &addr in queued.iter().rev() {
            self.vfree_process(addr);
        }
    }
    // ----- vfree --------------------------------------------------------------------

    /// vfree(): frees a vmalloc area (a vmap area is only unmapped). From interrupt
    /// context the free is deferred (vfree_atomic()). NULL is ignored.
    pub fn vfree(&mut self, addr: u64) {
        if self.ctx.in_interrupt() {
            self.vfree_atomic(addr);
            return;
        }
        self.might_sleep(VFREE_SLEEP_SITE);
        self.maybe_run_delayed_vfree();
        self.vfree_process(addr);
    }

    /// vfree_atomic(): queues `addr` on the llist (whose node is the area's first word) for
    /// delayed_vfree_work().
    pub fn vfree_atomic(&mut self, addr: u64) {
        if addr == 0 {
            return;
        }
        // llist_add((struct llist_node *)addr, &p->list): writes the next pointer into the
        // freed memory, through the MMU: an unmapped address oopses here.
        let next = self.vmalloc.deferred.last().copied().unwrap_or(0);
        let bytes = next.to_le_bytes();
        let n = self.ptr_width() / 2;
        if !self.write_bytes(addr, &bytes[..n]) {
            return;
        }
        self.vmalloc.deferred.push(addr);
    }

    /// vfree() in process context, after its might_sleep().
    pub(super) fn vfree_process(&mut self, addr: u64) {
        if let Some(vm) = self.remove_vm_area_or_warn(addr, "vfree", &VFREE_WARN) {
            if vm.flags & VM_ALLOC != 0 {
                self.free_vm_pages(&vm, true);
            }
        }
    }
}
