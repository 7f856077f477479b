//! The operation language: the `.kmem` scenario format of docs/scenario.md as a syntax tree
//! ([`Scenario`], [`Stmt`], [`Op`], [`Operand`]), its parser ([`parse`]), its printer (the
//! `Display` impls) and a generator that turns any byte string into a meaningful scenario
//! ([`generate`], and the per-target inputs that implement `Arbitrary`). The functions and
//! their operands are one table (`kind.rs`), from which [`Op`], the parser's reading of
//! operands and the printer's writing of them come.

mod ast;
pub mod encode;
mod generate;
mod kind;
/// The lexical layer, public for the engine scenario's `engine` line (`kmem_oracle::engine`).
pub mod lex;
mod operand;
mod parse;
mod print;
pub mod suggest;
#[cfg(test)]
mod tests;

pub use ast::{printed_line, Arg, Name, Op, Operand, Scenario, Stmt, MAX_REPEAT};
pub use generate::extremes;
pub use generate::{
    generate, scenario_from_bytes, BuddyInput, GenConfig, Generated, KernelInput, KmallocInput,
    KmapInput, MempoolInput, Misuse, SlabInput, VmallocInput,
};
pub use kind::{Family, OpKind, Ret, OP_NAMES};
pub use parse::{parse, ParseError};
