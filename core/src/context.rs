//! Execution context: preempt_count (preemption, softirq and hardirq parts), the interrupt
//! flag and held spinlocks, and the might_sleep() check every sleeping function makes.

use crate::report::{KernelLog, ReportKind, Taint};

pub const PREEMPT_MASK: u32 = 0x0000_00ff;
pub const SOFTIRQ_MASK: u32 = 0x0000_ff00;
pub const HARDIRQ_MASK: u32 = 0x000f_0000;
pub const PREEMPT_OFFSET: u32 = 0x1;
pub const SOFTIRQ_OFFSET: u32 = 0x100;
pub const SOFTIRQ_DISABLE_OFFSET: u32 = 2 * SOFTIRQ_OFFSET;
pub const HARDIRQ_OFFSET: u32 = 0x1_0000;

/// The task every client operation runs as.
pub const TASK_COMM: &str = "init";
pub const TASK_PID: u32 = 1;

/// Where a sleeping function's might_sleep() sits in Linux 6.6: the file:line the BUG names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SleepSite {
    pub file: &'static str,
    pub line: u32,
}

/// might_alloc() in prepare_alloc_pages() and the slab, mempool and vmalloc entry points.
pub const MIGHT_ALLOC: SleepSite = SleepSite {
    file: "include/linux/sched/mm.h",
    line: 306,
};

#[derive(Clone, Debug, Default)]
pub struct Context {
    preempt_count: u32,
    irqs_disabled: bool,
    locks_held: u32,
    /// The interrupt flag saved by each irq_enter, restored by irq_exit.
    irq_saved: Vec<bool>,
}

impl Context {
    pub fn preempt_count(&self) -> u32 {
        self.preempt_count
    }
    pub fn irqs_disabled(&self) -> bool {
        self.irqs_disabled
    }
    pub fn in_atomic(&self) -> bool {
        self.preempt_count != 0
    }
    pub fn in_hardirq(&self) -> bool {
        self.preempt_count & HARDIRQ_MASK != 0
    }
    /// in_interrupt(): hardirq, softirq, or bottom halves disabled.
    pub fn in_interrupt(&self) -> bool {
        self.preempt_count & (HARDIRQ_MASK | SOFTIRQ_MASK) != 0
    }
    /// May the current context sleep?
    pub fn may_sleep(&self) -> bool {
        self.preempt_count == 0 && !self.irqs_disabled
    }

    /// __might_sleep(): reports a sleeping call from atomic context. Linux rate-limits this
    /// BUG to once a second; the model reports every offending call, once per API call.
    /// __might_resched() ends with add_taint(TAINT_WARN, LOCKDEP_STILL_OK).
    pub fn might_sleep(&self, site: SleepSite, log: &mut KernelLog) {
        if self.may_sleep() {
            return;
        }
        log.report_tainting(
            ReportKind::SleepInAtomic,
            format!(
                "BUG: sleeping function called from invalid context at {}:{}\n\
                 in_atomic(): {}, irqs_disabled(): {}, non_block: 0, pid: {}, name: {}\n\
                 preempt_count: {:x}, expected: 0\n\
                 RCU nest depth: 0, expected: 0",
                site.file,
                site.line,
                self.in_atomic() as u32,
                self.irqs_disabled as u32,
                TASK_PID,
                TASK_COMM,
                self.preempt_count
            ),
            Taint::Warn,
        );
    }

    /// preempt_count_sub() with DEBUG_PREEMPT: an underflow is a warning and is not applied.
    /// DEBUG_LOCKS_WARN_ON() turns lock debugging off, then WARN()s (TAINT_WARN). (Linux
    /// prints nothing once lock debugging is off; the model reports every underflow.)
    fn sub(&mut self, val: u32, mask: u32, log: &mut KernelLog, caller: &str) -> bool {
        if self.preempt_count & mask < val {
            log.debug_locks_off();
            log.report_tainting(
                ReportKind::ContextImbalance,
                format!(
                    "------------[ cut here ]------------\n\
                     DEBUG_LOCKS_WARN_ON(val > preempt_count())\n\
                     WARNING: CPU: 0 PID: {TASK_PID} at kernel/sched/core.c:5847 preempt_count_sub+0x5b/0x90\n\
                     Call Trace:\n {caller}"
                ),
                Taint::Warn,
            );
            return false;
        }
        self.preempt_count -= val;
        true
    }

    pub fn spin_lock(&mut self) {
        self.preempt_count += PREEMPT_OFFSET;
        self.locks_held += 1;
    }

    /// spin_unlock(); with DEBUG_SPINLOCK an unlock of an unlocked lock is spin_bug(): lock
    /// debugging off, the lock dumped, no taint. (Linux prints it only while lock debugging
    /// is on; the model reports every one.)
    pub fn spin_unlock(&mut self, log: &mut KernelLog) {
        if self.locks_held == 0 {
            log.debug_locks_off();
            log.report(
                ReportKind::ContextImbalance,
                format!(
                    "BUG: spinlock already unlocked on CPU#0, {TASK_COMM}/{TASK_PID}\n \
                     lock: 0xc1a2b3c0, .magic: dead4ead, .owner: <none>/-1, .owner_cpu: -1"
                ),
            );
            return;
        }
        self.locks_held -= 1;
        self.sub(PREEMPT_OFFSET, PREEMPT_MASK, log, "_raw_spin_unlock");
    }

    pub fn preempt_disable(&mut self) {
        self.preempt_count += PREEMPT_OFFSET;
    }

    pub fn preempt_enable(&mut self, log: &mut KernelLog) {
        self.sub(PREEMPT_OFFSET, PREEMPT_MASK, log, "preempt_enable");
    }

    /// local_irq_disable()/local_irq_enable() do not nest: enabling twice is legal and
    /// silent in Linux (lockdep counts it as redundant_hardirqs_on), so it is here too.
    pub fn local_irq_disable(&mut self) {
        self.irqs_disabled = true;
    }

    pub fn local_irq_enable(&mut self) {
        self.irqs_disabled = false;
    }

    pub fn local_bh_disable(&mut self) {
        self.preempt_count += SOFTIRQ_DISABLE_OFFSET;
    }

    pub fn local_bh_enable(&mut self, log: &mut KernelLog) {
        if self.in_hardirq() || self.irqs_disabled {
            // WARN_ON_ONCE(in_hardirq() || irqs_disabled()) in __local_bh_enable_ip().
            log.report_tainting(
                ReportKind::ContextImbalance,
                format!(
                    "------------[ cut here ]------------\n\
                     WARNING: CPU: 0 PID: {TASK_PID} at kernel/softirq.c:362 __local_bh_enable_ip+0x8c/0xa0"
                ),
                Taint::Warn,
            );
        }
        self.sub(
            SOFTIRQ_DISABLE_OFFSET,
            SOFTIRQ_MASK,
            log,
            "__local_bh_enable_ip",
        );
    }

    /// An interrupt arrives: the handler runs in hardirq context with interrupts off.
    pub fn irq_enter(&mut self) {
        self.irq_saved.push(self.irqs_disabled);
        self.irqs_disabled = true;
        self.preempt_count += HARDIRQ_OFFSET;
    }

    pub fn irq_exit(&mut self, log: &mut KernelLog) {
        if self.sub(HARDIRQ_OFFSET, HARDIRQ_MASK, log, "__irq_exit_rcu") {
            self.irqs_disabled = self.irq_saved.pop().unwrap_or(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_and_sleep_checks() {
        let mut log = KernelLog::new();
        let mut c = Context::default();
        c.might_sleep(MIGHT_ALLOC, &mut log);
        assert!(log.take_reports().is_empty());
        c.spin_lock();
        c.might_sleep(MIGHT_ALLOC, &mut log);
        let r = log.take_reports();
        assert_eq!(r[0].kind, ReportKind::SleepInAtomic);
        assert!(
            r[0].text.contains("in_atomic(): 1, irqs_disabled(): 0"),
            "{}",
            r[0].text
        );
        c.spin_unlock(&mut log);
        c.irq_enter();
        assert!(c.in_interrupt() && c.irqs_disabled());
        c.irq_exit(&mut log);
        assert!(c.may_sleep());
        assert!(log.take_reports().is_empty());
    }

    #[test]
    fn imbalance_is_reported_and_not_applied() {
        let mut log = KernelLog::new();
        let mut c = Context::default();
        c.spin_unlock(&mut log);
        c.preempt_enable(&mut log);
        c.local_bh_enable(&mut log);
        c.irq_exit(&mut log);
        let kinds: Vec<_> = log.take_reports().iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![ReportKind::ContextImbalance; 4]);
        assert_eq!(c.preempt_count(), 0);
        c.local_irq_enable();
        assert!(log.take_reports().is_empty());
    }
}
