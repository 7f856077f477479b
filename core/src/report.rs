//! The one report type every debug check speaks through, and the kernel log it lands in.

use std::fmt;

/// A stable identifier for what a report is about (SCENARIO.md, "Report kinds").
/// New kinds may be added; existing names never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportKind {
    RedzoneOverwritten,
    PoisonOverwritten,
    PaddingOverwritten,
    FreepointerCorrupt,
    PagePoisonOverwritten,
    DoubleFree,
    InvalidFree,
    ObjectsRemaining,
    PageFault,
    BadPageState,
    SleepInAtomic,
    BadVirtToPhys,
    KmapMisuse,
    /// An unlock or enable without its lock or disable (DEBUG_SPINLOCK, DEBUG_PREEMPT,
    /// lockdep's "bad unlock balance").
    ContextImbalance,
    /// A free to a cache the object does not belong to ("Wrong slab cache").
    WrongCache,
    /// A pool or cache destroyed with elements still out, or used after destroy.
    MempoolMisuse,
}

impl ReportKind {
    pub const ALL: &'static [ReportKind] = &[
        ReportKind::RedzoneOverwritten,
        ReportKind::PoisonOverwritten,
        ReportKind::PaddingOverwritten,
        ReportKind::FreepointerCorrupt,
        ReportKind::PagePoisonOverwritten,
        ReportKind::DoubleFree,
        ReportKind::InvalidFree,
        ReportKind::ObjectsRemaining,
        ReportKind::PageFault,
        ReportKind::BadPageState,
        ReportKind::SleepInAtomic,
        ReportKind::BadVirtToPhys,
        ReportKind::KmapMisuse,
        ReportKind::ContextImbalance,
        ReportKind::WrongCache,
        ReportKind::MempoolMisuse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::RedzoneOverwritten => "redzone-overwritten",
            ReportKind::PoisonOverwritten => "poison-overwritten",
            ReportKind::PaddingOverwritten => "padding-overwritten",
            ReportKind::FreepointerCorrupt => "freepointer-corrupt",
            ReportKind::PagePoisonOverwritten => "page-poison-overwritten",
            ReportKind::DoubleFree => "double-free",
            ReportKind::InvalidFree => "invalid-free",
            ReportKind::ObjectsRemaining => "objects-remaining",
            ReportKind::PageFault => "page-fault",
            ReportKind::BadPageState => "bad-page-state",
            ReportKind::SleepInAtomic => "sleep-in-atomic",
            ReportKind::BadVirtToPhys => "bad-virt-to-phys",
            ReportKind::KmapMisuse => "kmap-misuse",
            ReportKind::ContextImbalance => "context-imbalance",
            ReportKind::WrongCache => "wrong-cache",
            ReportKind::MempoolMisuse => "mempool-misuse",
        }
    }

    pub fn from_name(s: &str) -> Option<ReportKind> {
        ReportKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One kernel report: a stable kind and the text the kernel would print (several lines,
/// without trailing newline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportKind,
    pub text: String,
}

/// print_tainted() once a BUG set TAINT_BAD_PAGE (Linux 6.6 prints one column per taint
/// flag: 'G' for GPL modules only, 'B' for bad page).
pub const TAINTED_BAD_PAGE: &str = "Tainted: G    B             ";

/// The kernel log (dmesg): every line printed, reports and warnings alike, plus the reports
/// raised since the caller last took them.
#[derive(Clone, Debug, Default)]
pub struct KernelLog {
    lines: Vec<String>,
    pending: Vec<Report>,
    /// Warnings (not misuse reports) printed since last taken, e.g. page allocation failures.
    pending_warnings: Vec<String>,
    /// Whether anything was reported at all: the kernel is tainted after a BUG.
    tainted: bool,
    /// Whether lines are kept; a fuzzing loop that never reads dmesg turns this off.
    keep_lines: bool,
}

impl KernelLog {
    pub fn new() -> Self {
        KernelLog {
            keep_lines: true,
            ..Default::default()
        }
    }

    /// Keep or drop the text of dmesg (reports are always kept until taken).
    pub fn set_keep_lines(&mut self, keep: bool) {
        self.keep_lines = keep;
    }

    pub fn report(&mut self, kind: ReportKind, text: String) {
        if self.keep_lines {
            self.lines.extend(text.lines().map(String::from));
        }
        self.tainted = true;
        self.pending.push(Report { kind, text });
    }

    /// A warning: printed, but not a misuse report (e.g. "page allocation failure").
    pub fn warn(&mut self, text: String) {
        if self.keep_lines {
            self.lines.extend(text.lines().map(String::from));
        }
        self.pending_warnings.push(text);
    }

    /// A plain informational line.
    pub fn info(&mut self, line: String) {
        if self.keep_lines {
            self.lines.push(line);
        }
    }

    pub fn take_reports(&mut self) -> Vec<Report> {
        std::mem::take(&mut self.pending)
    }

    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.pending_warnings)
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    pub fn dmesg(&self) -> String {
        let mut s = self.lines.join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }

    /// "Not tainted" until the first BUG, then print_tainted()'s text for TAINT_BAD_PAGE.
    pub fn taint_str(&self) -> &'static str {
        if self.tainted {
            TAINTED_BAD_PAGE
        } else {
            "Not tainted"
        }
    }
}
