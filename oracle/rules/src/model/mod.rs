//! The reference model: deliberately simple, sharing no code with `kmem`. It knows which
//! allocations are live, which pages they own, what bytes they must hold, the zone and GFP
//! rules, and which misuse each enabled debug option must catch. It predicts; it never
//! allocates.
//!
//! One module per family of the scenario language, each holding that allocator's state and
//! the rules of its statements: [`pages`] (the buddy allocator), [`translate`], [`context`],
//! [`highmem`] (kmap), [`vmalloc`], [`slab`], [`kmalloc`], [`mempool`], and [`access`] (the
//! client's reads and writes); [`warn_alloc`] judges the one warning every allocator
//! shares. [`step`] only dispatches a statement to them; [`facts`] is
//! what the boot configuration fixes (zones, layout), [`shadow`] the bytes memory must hold.

pub mod access;
pub mod context;
pub mod facts;
pub mod highmem;
mod i386_areas;
pub mod kmalloc;
pub mod mempool;
pub mod pages;
pub mod runs;
pub mod shadow;
pub mod slab;
pub mod slab_oom;
pub mod step;
pub mod translate;
pub mod vmalloc;
pub mod warn_alloc;

pub use step::{Model, WalkCall};

use kmem_vocab::ReportKind;

/// Why a step failed: stable names used in replay output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureKind {
    Overlap,
    Misaligned,
    WrongZone,
    Content,
    NotZeroed,
    WrongTranslation,
    WrongValue,
    SpuriousFailure,
    Watermark,
    Buddyinfo,
    MissedReport,
    FalseReport,
    Fault,
    Panic,
    Warning,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Overlap => "overlap",
            FailureKind::Misaligned => "misaligned",
            FailureKind::WrongZone => "wrong-zone",
            FailureKind::Content => "content",
            FailureKind::NotZeroed => "not-zeroed",
            FailureKind::WrongTranslation => "wrong-translation",
            FailureKind::WrongValue => "wrong-value",
            FailureKind::SpuriousFailure => "spurious-failure",
            FailureKind::Watermark => "watermark",
            FailureKind::Buddyinfo => "buddyinfo",
            FailureKind::MissedReport => "missed-report",
            FailureKind::FalseReport => "false-report",
            FailureKind::Fault => "fault",
            FailureKind::Panic => "panic",
            FailureKind::Warning => "warning",
        }
    }
}

/// What the client did wrong: report kinds where one fits, and the access kinds below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MisuseKind {
    Report(ReportKind),
    UseAfterFree,
    OutOfBounds,
    WildAccess,
}

impl MisuseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MisuseKind::Report(k) => k.as_str(),
            MisuseKind::UseAfterFree => "use-after-free",
            MisuseKind::OutOfBounds => "out-of-bounds",
            MisuseKind::WildAccess => "wild-access",
        }
    }
}

/// The model's judgement of one step.
#[derive(Clone, Debug, Default)]
pub struct Judgement {
    pub misuse: Vec<MisuseKind>,
    /// Reports the kernel must print for this step, in any order.
    pub expect: Vec<ReportKind>,
    /// Reports the kernel may print for this step though the model cannot say whether it
    /// must; if one is printed, the kernel's state is no longer predictable (taint).
    pub allow: Vec<ReportKind>,
    pub failures: Vec<(FailureKind, String)>,
    /// What the call may do with warn_alloc() (judged by [`Model::judge_warn_alloc`]).
    pub warn_alloc: warn_alloc::WarnAlloc,
    /// What the call may do with slab_out_of_memory() (judged by [`Model::judge_slab_oom`]).
    pub slab_oom: warn_alloc::WarnAlloc,
}

impl Judgement {
    pub fn misuse(&mut self, kind: MisuseKind, report: Option<ReportKind>) {
        self.misuse.push(kind);
        if let Some(r) = report {
            self.expect.push(r);
        }
    }
    pub fn fail(&mut self, kind: FailureKind, msg: String) {
        self.failures.push((kind, msg));
    }

    /// Nothing found, nothing expected, nothing allowed: the common judgement.
    pub fn is_empty(&self) -> bool {
        // One test of the four lengths (and the one judgement of an empty call that can
        // fail): this runs for every call a scenario makes.
        (self.misuse.len() | self.expect.len() | self.allow.len() | self.failures.len()) == 0
            && self.warn_alloc != warn_alloc::WarnAlloc::Must
    }

    /// Empties the judgement for the next call, keeping its buffers.
    pub fn clear(&mut self) {
        self.misuse.clear();
        self.expect.clear();
        self.allow.clear();
        self.failures.clear();
        self.warn_alloc = Default::default();
        self.slab_oom = Default::default();
    }
}
