#![forbid(unsafe_code)]
//! The `kmemfuzz` command: replay scenarios, show fuzzer inputs as scenarios, print a
//! machine's layout, and drive the checker in-process.

pub mod cli;
pub mod engines;
pub mod stress;
