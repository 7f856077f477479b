#![forbid(unsafe_code)]
//! `kmem-oracle`: the operation language, the reference model and the differential checker
//! for `kmem`.

pub mod scenario;

pub use scenario::{
    generate, parse, scenario_from_bytes, BuddyInput, Family, GenConfig, Generated, KernelInput,
    KmallocInput, KmapInput, MempoolInput, Misuse, Op, OpKind, Operand, ParseError, Ret, Scenario,
    SlabInput, Stmt, VmallocInput,
};
pub mod checker;
pub mod engine;
pub mod fuzz;
pub mod model;
pub mod run;
pub mod verdict;

pub use checker::{check, check_with, check_with_setup, execute_only, MachineSetup, Options};
pub use verdict::Verdict;
