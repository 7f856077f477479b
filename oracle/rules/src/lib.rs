//! `kmem-rules`: the oracle's side of the differential check, independent of `kmem` by
//! construction: it depends on the shared vocabulary (`kmem-vocab`) alone.
//!
//! - [`scenario`]: the `.kmem` language (syntax tree, parser, printer) and the generator that
//!   turns any bytes into a meaningful scenario;
//! - [`model`]: the reference rules, one module per allocator, which predict what Linux must
//!   do and judge each statement;
//! - [`verdict`]: what a check concludes.
//!
//! It predicts; it never allocates. The one place that drives a `kmem::Machine` is the
//! checker's adapter in `kmem-oracle`.
#![forbid(unsafe_code)]

pub mod model;
pub mod outcome;
pub mod scenario;
pub mod verdict;

pub use scenario::{
    generate, parse, scenario_from_bytes, BuddyInput, Family, GenConfig, Generated, KernelInput,
    KmallocInput, KmapInput, MempoolInput, Misuse, Op, OpKind, Operand, ParseError, Ret, Scenario,
    SlabInput, Stmt, VmallocInput,
};
pub use verdict::Verdict;
