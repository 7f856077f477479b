//! Execution context: preempt_count (preemption, softirq and hardirq parts), the interrupt
//! flag and held spinlocks, and the might_sleep() check every sleeping function makes.

use crate::dumpstack::{dump_stack, warn_text, Site};
use crate::report::{KernelLog, ReportKind, Silence, Taint};

/// The call trace of the running statement, worked out only when a report prints it.
pub type Trace<'a> = &'a dyn Fn() -> String;

pub const PREEMPT_MASK: u32 = 0x0000_00ff;
pub const SOFTIRQ_MASK: u32 = 0x0000_ff00;
pub const HARDIRQ_MASK: u32 = 0x000f_0000;
pub const PREEMPT_OFFSET: u32 = 0x1;
pub const SOFTIRQ_OFFSET: u32 = 0x100;
pub const SOFTIRQ_DISABLE_OFFSET: u32 = 2 * SOFTIRQ_OFFSET;
pub const HARDIRQ_OFFSET: u32 = 0x1_0000;

/// HZ on the model's clock: jiffies is the statement index, and a statement is a second.
pub const SECOND: u64 = 1;

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

/// might_sleep() in mutex_lock() (kernel/locking/mutex.c, 6.6 without lockdep): what
/// kmem_cache_create() names, taking slab_mutex.
pub const MUTEX_LOCK: SleepSite = SleepSite {
    file: "kernel/locking/mutex.c",
    line: 283,
};

/// might_sleep() in percpu_down_read(), which cpus_read_lock() is: what kmem_cache_destroy()
/// names, and kmem_cache_create() with a debug flag (static_branch_enable() of
/// slub_debug_enabled takes cpus_read_lock() before slab_mutex).
pub const PERCPU_DOWN_READ: SleepSite = SleepSite {
    file: "include/linux/percpu-rwsem.h",
    line: 49,
};

/// DEBUG_LOCKS_WARN_ON(val > preempt_count()) in preempt_count_sub() (offsets kept from the
/// earlier texts; no 6.6 log on record).
const PREEMPT_COUNT_SUB: Site = Site {
    file: "kernel/sched/core.c",
    line: 5847,
    func: "preempt_count_sub",
    off: 0x5b,
    size: 0x90,
};
/// WARN_ON_ONCE(in_hardirq() || irqs_disabled()) in __local_bh_enable_ip() (offsets kept
/// from the earlier texts; no 6.6 log on record).
const LOCAL_BH_ENABLE: Site = Site {
    file: "kernel/softirq.c",
    line: 362,
    func: "__local_bh_enable_ip",
    off: 0x8c,
    size: 0xa0,
};

#[derive(Clone, Debug, Default)]
pub struct Context {
    preempt_count: u32,
    irqs_disabled: bool,
    locks_held: u32,
    /// The interrupt flag saved by each irq_enter, restored by irq_exit.
    irq_saved: Vec<bool>,
    /// current->preempt_disable_ip (CONFIG_DEBUG_PREEMPT): where preempt_count last left 0.
    preempt_disable_ip: u64,
    /// __might_resched()'s prev_jiffy: when it last printed.
    prev_jiffy: u64,
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

    /// __might_sleep() -> __might_resched(): reports a sleeping call from atomic context,
    /// at most once a second (prev_jiffy; on the model's clock a statement is a second, so
    /// once per statement: a nested check in the same call prints nothing). The text ends
    /// with "Preemption disabled at:" (CONFIG_DEBUG_PREEMPT, when preempt_count is not 0),
    /// naming `disabled_at` (`[<ip>] symbol` of [`Context::preempt_disable_ip`]), and
    /// dump_stack() (`trace`), then add_taint(TAINT_WARN, LOCKDEP_STILL_OK). The model's
    /// kernel has no lockdep: no held locks or irq events are listed.
    pub fn might_sleep(
        &mut self,
        site: SleepSite,
        log: &mut KernelLog,
        trace: &str,
        disabled_at: &str,
    ) {
        if self.may_sleep() {
            return;
        }
        let now = log.jiffies();
        if now < self.prev_jiffy + SECOND && self.prev_jiffy != 0 {
            log.silence(
                ReportKind::SleepInAtomic,
                "__might_resched",
                Silence::Ratelimit {
                    interval: SECOND,
                    burst: 1,
                },
            );
            return;
        }
        self.prev_jiffy = now;
        if !log.texts() {
            log.report_tainting(ReportKind::SleepInAtomic, String::new(), Taint::Warn);
            return;
        }
        let mut text = format!(
            "BUG: sleeping function called from invalid context at {}:{}\n\
             in_atomic(): {}, irqs_disabled(): {}, non_block: 0, pid: {}, name: {}\n\
             preempt_count: {:x}, expected: 0\n\
             RCU nest depth: 0, expected: 0\n",
            site.file,
            site.line,
            self.in_atomic() as u32,
            self.irqs_disabled as u32,
            TASK_PID,
            TASK_COMM,
            self.preempt_count
        );
        if self.preempt_count != 0 {
            text.push_str(&format!("Preemption disabled at:\n{disabled_at}\n"));
        }
        text.push_str(&dump_stack(log, trace));
        log.report_tainting(ReportKind::SleepInAtomic, text, Taint::Warn);
    }

    /// current->preempt_disable_ip: the code address preempt_count last left 0 from.
    pub fn preempt_disable_ip(&self) -> u64 {
        self.preempt_disable_ip
    }

    /// preempt_count_add() and __local_bh_disable_ip() record where preemption was disabled
    /// when the count leaves 0 (`ip`: the caller).
    fn add(&mut self, val: u32, ip: u64) {
        self.preempt_count += val;
        if self.preempt_count == val {
            self.preempt_disable_ip = ip;
        }
    }

    /// preempt_count_sub() with DEBUG_PREEMPT: an underflow is a warning and is not applied.
    /// DEBUG_LOCKS_WARN_ON() turns lock debugging off, then WARN()s (TAINT_WARN). (Linux
    /// prints nothing once lock debugging is off; the model reports every underflow.)
    fn sub(&mut self, val: u32, mask: u32, log: &mut KernelLog, trace: Trace<'_>) -> bool {
        if self.preempt_count & mask < val {
            log.debug_locks_off();
            let text = warn_text(
                log,
                &PREEMPT_COUNT_SUB,
                "DEBUG_LOCKS_WARN_ON(val > preempt_count())",
                &trace(),
            );
            log.report_tainting_at(
                ReportKind::ContextImbalance,
                text,
                Taint::Warn,
                Some(PREEMPT_COUNT_SUB.at()),
            );
            return false;
        }
        self.preempt_count -= val;
        true
    }

    pub fn spin_lock(&mut self, ip: u64) {
        self.add(PREEMPT_OFFSET, ip);
        self.locks_held += 1;
    }

    /// spin_unlock(); with DEBUG_SPINLOCK an unlock of an unlocked lock is spin_bug(): lock
    /// debugging off, the lock dumped, dump_stack(), no taint. (Linux prints it only while
    /// lock debugging is on; the model reports every one.)
    pub fn spin_unlock(&mut self, log: &mut KernelLog, trace: Trace<'_>) {
        if self.locks_held == 0 {
            log.debug_locks_off();
            let mut text = String::new();
            if log.texts() {
                text = format!(
                    "BUG: spinlock already unlocked on CPU#0, {TASK_COMM}/{TASK_PID}\n \
                     lock: 0xc1a2b3c0, .magic: dead4ead, .owner: <none>/-1, .owner_cpu: -1\n{}",
                    dump_stack(log, &trace())
                );
            }
            log.report(ReportKind::ContextImbalance, text);
            return;
        }
        self.locks_held -= 1;
        self.sub(PREEMPT_OFFSET, PREEMPT_MASK, log, trace);
    }

    pub fn preempt_disable(&mut self, ip: u64) {
        self.add(PREEMPT_OFFSET, ip);
    }

    pub fn preempt_enable(&mut self, log: &mut KernelLog, trace: Trace<'_>) {
        self.sub(PREEMPT_OFFSET, PREEMPT_MASK, log, trace);
    }

    /// local_irq_disable()/local_irq_enable() do not nest: enabling twice is legal and
    /// silent in Linux (lockdep counts it as redundant_hardirqs_on), so it is here too.
    pub fn local_irq_disable(&mut self) {
        self.irqs_disabled = true;
    }

    pub fn local_irq_enable(&mut self) {
        self.irqs_disabled = false;
    }

    pub fn local_bh_disable(&mut self, ip: u64) {
        self.add(SOFTIRQ_DISABLE_OFFSET, ip);
    }

    pub fn local_bh_enable(&mut self, log: &mut KernelLog, trace: Trace<'_>) {
        if self.in_hardirq() || self.irqs_disabled {
            // WARN_ON_ONCE(in_hardirq() || irqs_disabled()) in __local_bh_enable_ip().
            let site = LOCAL_BH_ENABLE;
            if log.once(&site.at()) {
                let text = warn_text(log, &site, "", &trace());
                log.report_tainting_at(
                    ReportKind::ContextImbalance,
                    text,
                    Taint::Warn,
                    Some(site.at()),
                );
            } else {
                log.silence(ReportKind::ContextImbalance, &site.at(), Silence::Once);
            }
        }
        self.sub(SOFTIRQ_DISABLE_OFFSET, SOFTIRQ_MASK, log, trace);
    }

    /// An interrupt arrives: the handler runs in hardirq context with interrupts off.
    pub fn irq_enter(&mut self, ip: u64) {
        self.irq_saved.push(self.irqs_disabled);
        self.irqs_disabled = true;
        self.add(HARDIRQ_OFFSET, ip);
    }

    pub fn irq_exit(&mut self, log: &mut KernelLog, trace: Trace<'_>) {
        if self.sub(HARDIRQ_OFFSET, HARDIRQ_MASK, log, trace) {
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
        c.might_sleep(MIGHT_ALLOC, &mut log, "Call Trace:", "");
        assert!(log.take_reports().is_empty());
        log.set_jiffies(3);
        c.spin_lock(0xc100_0003);
        assert_eq!(c.preempt_disable_ip(), 0xc100_0003);
        log.set_jiffies(4);
        c.might_sleep(
            MIGHT_ALLOC,
            &mut log,
            "Call Trace:\n op_4+0x0/0x1",
            "[<c1000003>] op_3",
        );
        let r = log.take_reports();
        assert_eq!(r[0].kind, ReportKind::SleepInAtomic);
        assert!(
            r[0].text.contains("in_atomic(): 1, irqs_disabled(): 0"),
            "{}",
            r[0].text
        );
        assert!(r[0]
            .text
            .contains("\nPreemption disabled at:\n[<c1000003>] op_3\nCPU: 0"));
        assert!(
            r[0].text.ends_with("Call Trace:\n op_4+0x0/0x1"),
            "{}",
            r[0].text
        );
        // Once a second: the same statement's second check prints nothing.
        c.might_sleep(MIGHT_ALLOC, &mut log, "", "");
        assert!(log.take_reports().is_empty());
        assert_eq!(log.take_silenced()[0].kind, ReportKind::SleepInAtomic);
        log.set_jiffies(5);
        c.might_sleep(MIGHT_ALLOC, &mut log, "", "");
        assert_eq!(log.take_reports().len(), 1);
        c.spin_unlock(&mut log, &String::new);
        c.irq_enter(0);
        assert!(c.in_interrupt() && c.irqs_disabled());
        c.irq_exit(&mut log, &String::new);
        assert!(c.may_sleep());
        assert!(log.take_reports().is_empty());
    }

    #[test]
    fn imbalance_is_reported_and_not_applied() {
        let mut log = KernelLog::new();
        let mut c = Context::default();
        c.spin_unlock(&mut log, &String::new);
        c.preempt_enable(&mut log, &String::new);
        c.local_bh_enable(&mut log, &String::new);
        c.irq_exit(&mut log, &String::new);
        let kinds: Vec<_> = log.take_reports().iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![ReportKind::ContextImbalance; 4]);
        assert_eq!(c.preempt_count(), 0);
        c.local_irq_enable();
        assert!(log.take_reports().is_empty());
        // __local_bh_enable_ip()'s WARN_ON_ONCE fires once per boot.
        c.local_irq_disable();
        c.local_bh_disable(0);
        c.local_bh_enable(&mut log, &String::new);
        let r = log.take_reports();
        assert_eq!(r.len(), 1);
        assert!(r[0]
            .text
            .contains("at kernel/softirq.c:362 __local_bh_enable_ip+0x8c/0xa0"));
        c.local_bh_disable(0);
        c.local_bh_enable(&mut log, &String::new);
        assert!(log.take_reports().is_empty());
        assert_eq!(log.take_silenced().len(), 1);
    }
}
