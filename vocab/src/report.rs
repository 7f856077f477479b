//! Report kinds: the stable names of what a kernel report is about, shared by the model and
//! the oracle (docs/scenario.md, "Report kinds").

use std::fmt;

/// A stable identifier for what a report is about (docs/scenario.md, "Report kinds").
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
/// without trailing newline; empty when the machine was told to skip texts, as a fuzzing
/// loop that compares only kinds does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportKind,
    pub text: String,
    /// For a report printed by a WARN(): its site, `file:line` as its WARNING line names it
    /// and as a later [`Silenced`] report of a once-only site names it (the last WARN's,
    /// when one report holds two).
    pub site: Option<String>,
}

/// Why the kernel printed nothing for a report its check raised: the print is once per boot
/// or rate limited (on the model's clock: one statement is one second, docs/model.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Silence {
    /// WARN_ON_ONCE(), WARN_ONCE(), pr_*_once(): the site printed before in this boot.
    Once,
    /// A rate limit let `burst` reports through in `interval` statements and holds the rest.
    Ratelimit { interval: u64, burst: u64 },
}

impl Silence {
    pub fn as_str(self) -> &'static str {
        match self {
            Silence::Once => "once",
            Silence::Ratelimit { .. } => "ratelimit",
        }
    }
}

/// A report the kernel's check raised and did not print ([`Silence`]): `site` names the
/// printer (`file:line` of a WARN, or the rate-limited function).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silenced {
    pub kind: ReportKind,
    pub site: String,
    pub why: Silence,
}
