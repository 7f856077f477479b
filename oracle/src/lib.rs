#![forbid(unsafe_code)]
//! `kmem-oracle`: the differential checker for `kmem`. The rules (scenario language, generator,
//! reference model) are in `kmem-rules`, which does not depend on `kmem`; this crate adds the
//! one adapter that drives a `kmem::Machine` ([`run`]), the checker that runs both side by side
//! ([`checker`]) and what the fuzz targets call ([`fuzz`]).

pub use kmem_rules::{
    generate, parse, scenario_from_bytes, BuddyInput, Family, GenConfig, Generated, KernelInput,
    KmallocInput, KmapInput, MempoolInput, Misuse, Op, OpKind, Operand, ParseError, Ret, Scenario,
    SlabInput, Stmt, VmallocInput,
};
pub use kmem_rules::{model, outcome, scenario, verdict};
pub use scenario::suggest;
pub mod checker;
pub mod engine;
pub mod fuzz;
pub mod reduce;
pub mod run;

pub use checker::{check, check_with, check_with_seams, execute_only, Options};
pub use verdict::{ReadBytes, TaintCause, Verdict};
