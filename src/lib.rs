#![forbid(unsafe_code)]
//! The `kmemfuzz` command: replay scenarios, show fuzzer inputs as scenarios, print a
//! machine's layout, list what a scenario can name, and drive the checker in-process.

pub mod campaign;
pub mod caught;
pub mod cli;
pub mod encode;
pub mod engines;
pub mod functions;
pub mod input;
pub mod json;
pub mod layout;
pub mod out;
pub mod reduce;
pub mod render;
pub mod replay;
pub mod show;
pub mod stress;
