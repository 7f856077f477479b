//! What dump_stack(), show_regs() and __warn() print (lib/dump_stack.c,
//! arch/x86/kernel/dumpstack.c, kernel/panic.c, 6.6), in one place, so that every report
//! that prints them prints the same lines:
//!
//! - dump_stack_print_info(): `CPU: 0 PID: 1 Comm: init <taint> 6.6.0 #1` and
//!   `Hardware name: ...`;
//! - show_trace_log_lvl(): `Call Trace:`, on x86_64 between ` <TASK>` and ` </TASK>` (x86_32
//!   names no stack type for a task's stack);
//! - __warn(): the WARNING line, `Modules linked in:`, show_regs(), the end-of-trace marker.
//!
//! Simplifications (docs/model.md, "Reports"): the model keeps no call stack, so the Call
//! Trace lists one frame, the scenario's statement (`op_<N>+0x0/0x1`, as SLUB's tracks name
//! it); it has no registers, so show_regs() prints no `EIP:`/`RIP:`, `Code:` or register
//! lines; no module is loaded.

use crate::config::Arch;
use crate::context::{TASK_COMM, TASK_PID};
use crate::machine::Machine;
use crate::report::{KernelLog, ReportKind, Silence, Taint};
use crate::slub::symbolize;

/// The kernel release and version dump_stack_print_info() prints (init_utsname()).
pub const UTS_RELEASE: &str = "6.6.0";
pub const UTS_VERSION: &str = "#1";
/// The DMI string the model's machine reports.
pub const HARDWARE_NAME: &str = "kmemfuzz model machine, BIOS none";
/// print_oops_end_marker().
pub const END_TRACE: &str = "---[ end trace 0000000000000000 ]---";

/// A WARN() site: where it is in the source (`file:line`, what the WARNING line names) and
/// the code address it prints as `%pS`. Linux prints the address of the `ud2` the WARN
/// compiled to; the model has no code, so each site carries a fixed offset and function
/// size: from a real x86 6.x log of that site where one is cited beside it, else the
/// model's own (docs/model.md, "Reports").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    pub file: &'static str,
    pub line: u32,
    /// The function the `ud2` is in, after inlining.
    pub func: &'static str,
    pub off: u32,
    pub size: u32,
}

impl Site {
    /// `file:line`.
    pub fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// `%pS` of the site.
    pub fn sym(&self) -> String {
        format!("{}+{:#x}/{:#x}", self.func, self.off, self.size)
    }
}

/// dump_stack_print_info(): the CPU line (with the taint as it is now) and the Hardware name
/// line.
pub(crate) fn cpu_lines(log: &KernelLog) -> String {
    format!(
        "CPU: 0 PID: {TASK_PID} Comm: {TASK_COMM} {} {UTS_RELEASE} {UTS_VERSION}\n\
         Hardware name: {HARDWARE_NAME}",
        log.taint_str()
    )
}

/// dump_stack() (and show_regs(), which prints no registers in the model): the CPU lines,
/// then `trace` ([`Machine::call_trace`]); nothing when the log wants no texts.
pub(crate) fn dump_stack(log: &KernelLog, trace: &str) -> String {
    if !log.texts() {
        return String::new();
    }
    format!("{}\n{trace}", cpu_lines(log))
}

/// show_trace_log_lvl() with `frame` as the one frame.
fn call_trace(arch: Arch, frame: &str) -> String {
    match arch {
        Arch::X86_64 => format!("Call Trace:\n <TASK>\n {frame}\n </TASK>"),
        Arch::I386 => format!("Call Trace:\n {frame}"),
    }
}

/// A WARN() as __warn() prints it: "cut here", the message of WARN(cond, fmt) if any, the
/// WARNING line, print_modules(), show_regs(), the end-of-trace marker. The caller adds
/// TAINT_WARN after it (LOCKDEP_STILL_OK: no "Disabling lock debugging" line). Nothing
/// when the log wants no texts.
pub(crate) fn warn_text(log: &KernelLog, site: &Site, msg: &str, trace: &str) -> String {
    if !log.texts() {
        return String::new();
    }
    let mut s = String::from("------------[ cut here ]------------\n");
    if !msg.is_empty() {
        s.push_str(msg);
        s.push('\n');
    }
    s.push_str(&format!(
        "WARNING: CPU: 0 PID: {TASK_PID} at {} {}\nModules linked in:\n{}\n{END_TRACE}",
        site.at(),
        site.sym(),
        dump_stack(log, trace)
    ));
    s
}

impl Machine {
    /// show_trace_log_lvl(): the call trace, the running statement as its one frame.
    pub(crate) fn call_trace(&self) -> String {
        if !self.log.texts() {
            return String::new();
        }
        call_trace(self.layout.arch, &self.symbolize(self.caller_ip()))
    }

    /// [`Machine::call_trace`] as a closure that works it out when called, for checks that
    /// print it only when they report (the machine stays free to borrow meanwhile).
    pub(crate) fn lazy_call_trace(&self) -> impl Fn() -> String {
        let (arch, ip, texts) = (self.layout.arch, self.caller_ip(), self.log.texts());
        move || {
            if texts {
                call_trace(arch, &symbolize(arch, ip))
            } else {
                String::new()
            }
        }
    }

    /// dump_stack().
    pub(crate) fn dump_stack(&self) -> String {
        dump_stack(&self.log, &self.call_trace())
    }

    /// show_regs() of a kernel-mode trap: the CPU lines and the call trace (the model has no
    /// registers to show between them).
    pub(crate) fn show_regs(&self) -> String {
        self.dump_stack()
    }

    /// [`warn_text`] for this machine, then `after` on lines of its own when it is not
    /// empty; nothing when the log wants no texts.
    pub(crate) fn warn_text(&self, site: &Site, msg: &str, after: &str) -> String {
        if !self.log.texts() {
            return String::new();
        }
        let mut text = warn_text(&self.log, site, msg, &self.call_trace());
        if !after.is_empty() {
            text.push('\n');
            text.push_str(after);
        }
        text
    }

    /// A once-only WARN (WARN_ON_ONCE, WARN_ONCE) at `site`: whether it prints this time.
    pub(crate) fn warn_once(&mut self, site: &Site) -> bool {
        self.log.once(&site.at())
    }

    /// A WARN that is the report of a misuse: printed and tainting, or, for a once-only WARN
    /// whose site fired before, held back (the check caught it; nothing is printed).
    /// `after` is printed under the WARN (e.g. kmemfuzz's own line), when it is printed.
    pub(crate) fn warn_report(
        &mut self,
        kind: ReportKind,
        site: &Site,
        once: bool,
        msg: &str,
        after: &str,
    ) {
        if once && !self.warn_once(site) {
            self.log.silence(kind, &site.at(), Silence::Once);
            return;
        }
        let text = self.warn_text(site, msg, after);
        self.log
            .report_tainting_at(kind, text, Taint::Warn, Some(site.at()));
    }

    /// A WARN that is no misuse report (a warning): printed and tainting, or nothing for a
    /// once-only WARN that fired before.
    pub(crate) fn warn_warning(&mut self, site: &Site, once: bool, msg: &str, after: &str) {
        if once && !self.warn_once(site) {
            return;
        }
        let text = self.warn_text(site, msg, after);
        self.log.warn_tainting(text, Taint::Warn);
    }
}
